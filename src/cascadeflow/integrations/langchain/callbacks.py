"""Feed LangChain/LangGraph model calls into a governed run, and let the run stop the chain.

LangChain logs and swallows an exception raised in a callback unless the handler sets ``raise_error``; this
handler sets it (and ``run_inline``, so it runs in the caller's task and context, not an executor), so a
:class:`~cascadeflow.BudgetExceededError` raised by the governor really ends ``invoke``/``ainvoke`` — of the
model, of a chain, or of a LangGraph graph.

    handler = CascadeflowCallbackHandler()                  # governor: the active run (see governance.py)
    chain.invoke(inputs, config={"callbacks": [handler]})
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult

from cascadeflow.integrations._decisions import METADATA_KEY
from cascadeflow.integrations.governance import CallSource, RunGovernor, resolve_governor
from cascadeflow.types import Usage

_MODEL_NAME_KEYS = ("model_used", "model_name", "model")


class CascadeflowCallbackHandler(BaseCallbackHandler):
    """Reports every chat-model call of a LangChain run to a :class:`RunGovernor`.

    ``before_call`` runs before each model call (raise there to stop before spending), ``record_call`` after
    it with the answering model, its tokens and — for :class:`CascadeChatModel` answers — the cascade's exact
    cost (``source="cascade"``); other models are reported with ``source="framework"`` and no cost.
    """

    raise_error: bool = True
    run_inline: bool = True

    def __init__(self, governor: RunGovernor | None = None) -> None:
        self.governor = governor

    def _governor(self) -> RunGovernor | None:
        return resolve_governor(self.governor)

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        invocation_params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        governor = self._governor()
        if governor is not None:
            governor.before_call(_requested_model(serialized, invocation_params or {}))

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        invocation_params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        governor = self._governor()
        if governor is not None:
            governor.before_call(_requested_model(serialized, invocation_params or {}))

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        governor = self._governor()
        if governor is None:
            return
        fallback_model = str((response.llm_output or {}).get("model_name", "unknown"))
        for generations in response.generations:
            for generation in generations:
                if isinstance(generation, ChatGeneration) and isinstance(generation.message, AIMessage):
                    model, usage, cost, source = _call_facts(generation.message, fallback_model)
                    governor.record_call(model, usage, cost, source=source)


def _requested_model(serialized: Mapping[str, Any], params: Mapping[str, Any]) -> str:
    for key in ("model", "model_name"):
        value = params.get(key)
        if isinstance(value, str) and value:
            return value
    if params.get("_type") == "cascadeflow":
        return "cascadeflow"
    names = serialized.get("id") if isinstance(serialized, Mapping) else None
    return str(names[-1]) if isinstance(names, list) and names else "unknown"


def _call_facts(message: AIMessage, fallback_model: str) -> tuple[str, Usage, Decimal | None, CallSource]:
    meta = message.response_metadata or {}
    model = next((str(meta[k]) for k in _MODEL_NAME_KEYS if meta.get(k)), fallback_model)
    tokens = message.usage_metadata
    usage = Usage(tokens["input_tokens"], tokens["output_tokens"]) if tokens else Usage()
    if METADATA_KEY not in meta:
        return model, usage, None, "framework"
    try:
        cost: Decimal | None = Decimal(str(meta.get("cost_usd")))
    except InvalidOperation:
        cost = None
    return model, usage, cost, "cascade"
