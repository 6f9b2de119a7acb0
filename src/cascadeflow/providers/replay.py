"""Replay recorded model outputs: "calling" model M on a recorded prompt returns M's recorded answer.

This lets the real :class:`~cascadeflow.cascade_agent.CascadeAgent` (its validators, escalation and accounting) run
over benchmark data such as RouterBench without any network. A replayed completion reports the recorded USD
cost as :attr:`~cascadeflow.types.Completion.cost_usd` (what a provider's own bill says), which the engine
accounts instead of price × usage, and the recorded token counts, when the data has them, as its usage.
As the top tier, a replay provider also tells the engine what the top model's recorded answer cost
(:meth:`ReplayProvider.estimate_cost`), so ``CascadeResult.cost_saved`` is exact even when the top model was
never asked. :func:`replay_model_config` prices replayed tiers at zero per token: all cost comes from the data.

Prompts are looked up by ``request.metadata["prompt_id"]`` when given, else by the text of the last user
message. A prompt or model that is not in the recording raises :class:`~cascadeflow.errors.ReplayError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

from cascadeflow.config import ModelConfig
from cascadeflow.errors import ReplayError
from cascadeflow.types import Chunk, Completion, CompletionRequest, Usage

COST_RESOLUTION_USD: Final = Decimal("1e-12")
"""Recorded costs are rounded to a pico-dollar: far below any real call's cost (RouterBench's cheapest calls
cost ~1e-5 USD), far above the float noise of summed per-token prices."""
PROVIDER_NAME: Final = "replay"
_QUERY_PREVIEW: Final = 80


@dataclass(frozen=True, slots=True)
class RecordedAnswer:
    """One recorded call: the answer text, its USD cost, whether it was graded correct (when known) and the
    token counts (when the recording has them)."""

    answer: str
    cost_usd: float
    correct: bool | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None

    @property
    def cost(self) -> Decimal:
        """The recorded USD cost as the engine accounts it, rounded half-even to :data:`COST_RESOLUTION_USD`
        (recordings carry float noise such as ``0.00014579999999999997``; this gives ``0.0001458``)."""
        return Decimal(repr(float(self.cost_usd))).quantize(COST_RESOLUTION_USD, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True, slots=True)
class RecordedPrompt:
    """A prompt with every model's recorded answer; the common record of all benchmark loaders."""

    prompt_id: str
    prompt: str
    answers: Mapping[str, RecordedAnswer] = field(default_factory=dict)
    dataset: str = ""

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(self.answers)


def as_replayed(config: ModelConfig) -> ModelConfig:
    """The same tier served by a replay provider at zero per-token price: every call's cost comes from the
    recording (``Completion.cost_usd``)."""
    return config.with_(provider=PROVIDER_NAME, cost=None, input_price=0.0, output_price=0.0)


def replay_model_config(name: str, **overrides: object) -> ModelConfig:
    """A ModelConfig for a replayed model (see :func:`as_replayed`)."""
    return as_replayed(ModelConfig(name=name, **overrides))  # type: ignore[arg-type]


class ReplayProvider:
    """A provider whose answers are one model's recorded answers, keyed by prompt id and by prompt text."""

    provider = PROVIDER_NAME

    def __init__(self, model: str, recorded: Iterable[RecordedPrompt]) -> None:
        self.model = model
        self._by_id: dict[str, RecordedAnswer] = {}
        self._by_text: dict[str, RecordedAnswer] = {}
        seen_any = False
        for record in recorded:
            answer = record.answers.get(model)
            if answer is None:
                continue
            seen_any = True
            self._by_id[record.prompt_id] = answer
            self._by_text.setdefault(record.prompt, answer)
        if not seen_any:
            raise ReplayError(f"model {model!r} has no recorded answers in this data")
        self.calls = 0

    def __len__(self) -> int:
        return len(self._by_id)

    def lookup(self, request: CompletionRequest) -> RecordedAnswer:
        """The recorded answer for this request, or :class:`ReplayError` saying what was missing."""
        prompt_id = request.metadata.get("prompt_id")
        if prompt_id is not None:
            found = self._by_id.get(str(prompt_id))
            if found is None:
                raise ReplayError(f"model {self.model!r} has no recorded answer for prompt id {prompt_id!r}")
            return found
        query = request.query
        found = self._by_text.get(query)
        if found is None:
            preview = " ".join(query.split())[:_QUERY_PREVIEW]
            raise ReplayError(f"model {self.model!r} has no recorded answer for the prompt {preview!r}")
        return found

    async def complete(self, request: CompletionRequest) -> Completion:
        recorded = self.lookup(request)
        self.calls += 1
        return Completion(
            content=recorded.answer,
            model=self.model,
            finish_reason="stop",
            usage=Usage(input_tokens=recorded.input_tokens or 0, output_tokens=recorded.output_tokens or 0),
            cost_usd=recorded.cost,
        )

    def estimate_cost(self, request: CompletionRequest) -> Decimal | None:
        """What this model's recorded answer to ``request`` cost (without counting a call); None if unknown."""
        try:
            return self.lookup(request).cost
        except ReplayError:
            return None

    async def stream(self, request: CompletionRequest) -> AsyncIterator[Chunk]:
        completion = await self.complete(request)
        yield Chunk(text=completion.content)
        yield Chunk(finish_reason=completion.finish_reason, usage=completion.usage, cost_usd=completion.cost_usd)

    async def aclose(self) -> None:
        return None
