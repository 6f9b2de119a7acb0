"""LiteLLMProvider with a stand-in litellm module (litellm itself is an optional extra, not installed in tests)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from cascadeflow.config import ModelConfig
from cascadeflow.errors import BadRequestError, ConfigError, ProviderTimeoutError, RateLimitError
from cascadeflow.providers.litellm_adapter import LiteLLMProvider
from cascadeflow.providers.registry import default_registry
from cascadeflow.types import CompletionRequest, Message, ToolCall


class FakeLiteLLM:
    """Records acompletion kwargs; answers with the scripted object or raises it."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []

    async def acompletion(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        item = self.answers.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


class Dumpable:
    """Mimics litellm's pydantic ModelResponse: only ``model_dump()`` gives the dict."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def model_dump(self) -> dict[str, Any]:
        return self._data


class StatusError(Exception):
    def __init__(self, message: str, status_code: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.response = SimpleNamespace(headers=headers or {})


def request(**kw: Any) -> CompletionRequest:
    return CompletionRequest(messages=(Message(role="system", content="brief"), Message(role="user", content="hi")),
                             **kw)


def test_missing_litellm_tells_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "litellm", None)  # makes `import litellm` raise ImportError
    with pytest.raises(ConfigError, match=r'pip install "cascadeflow\[litellm\]"'):
        default_registry().build(ModelConfig(name="anthropic/claude-3-haiku", provider="litellm", cost=0.001))


async def test_complete_maps_request_and_response() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    data = {
        "model": "groq/llama3",
        "choices": [{"message": {"role": "assistant", "content": "hello", "tool_calls": [call]},
                     "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1},
    }
    fake = FakeLiteLLM(Dumpable(data))
    provider = LiteLLMProvider("groq/llama3", module=fake, api_key="k", base_url="http://127.0.0.1:1/v1")
    completion = await provider.complete(request(max_tokens=10, temperature=0.0))
    sent = fake.calls[0]
    assert sent["model"] == "groq/llama3" and sent["max_tokens"] == 10 and sent["temperature"] == 0.0
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert sent["api_key"] == "k" and sent["api_base"] == "http://127.0.0.1:1/v1"
    assert completion.content == "hello" and completion.finish_reason == "tool_calls"
    assert completion.tool_calls == (ToolCall(id="c1", name="f", arguments="{}"),)
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (5, 1)
    assert completion.cost_usd is None


async def test_litellm_computed_cost_is_the_call_cost() -> None:
    data = {"model": "groq/llama3", "choices": [{"message": {"role": "assistant", "content": "hello"},
                                                 "finish_reason": "stop"}]}
    answer = Dumpable(data)
    answer._hidden_params = {"response_cost": 1.5e-05}  # type: ignore[attr-defined]  # where litellm keeps it
    provider = LiteLLMProvider("groq/llama3", module=FakeLiteLLM(answer))
    completion = await provider.complete(request())
    assert completion.cost_usd == Decimal("0.000015")


@pytest.mark.parametrize(
    ("exc", "error"),
    [
        (StatusError("rate limited", 429, {"retry-after": "4"}), RateLimitError),
        (StatusError("bad model", 400), BadRequestError),
        (TimeoutError("slow"), ProviderTimeoutError),
    ],
)
async def test_litellm_errors_are_mapped(exc: Exception, error: type[Exception]) -> None:
    provider = LiteLLMProvider("m", module=FakeLiteLLM(exc))
    with pytest.raises(error) as info:
        await provider.complete(request())
    if isinstance(info.value, RateLimitError):
        assert info.value.retry_after == 4.0


async def test_other_exceptions_are_not_disguised() -> None:
    provider = LiteLLMProvider("m", module=FakeLiteLLM(KeyError("bug")))
    with pytest.raises(KeyError):
        await provider.complete(request())


async def test_stream_maps_chunks() -> None:
    async def chunks() -> AsyncIterator[Any]:
        yield {"choices": [{"delta": {"content": "Hel"}, "finish_reason": None}]}
        yield Dumpable({"choices": [{"delta": {"content": "lo"}, "finish_reason": "stop"}]})
        yield {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}

    fake = FakeLiteLLM(chunks())
    out = [c async for c in LiteLLMProvider("m", module=fake).stream(request())]
    assert "".join(c.text for c in out) == "Hello"
    assert out[-1].finish_reason == "stop" and out[-1].usage is not None and out[-1].usage.output_tokens == 2
    assert fake.calls[0]["stream"] is True
