"""Replay recorded model outputs: "calling" model M on a recorded prompt returns M's recorded answer.

This lets the real :class:`~cascadeflow.agent.CascadeAgent` (its validators, escalation and accounting) run
over benchmark data such as RouterBench without any network. The recorded USD cost of each call must come out
of the engine's own accounting (``price × usage``), so a replayed completion reports its cost as *cost units*:
``Usage.input_tokens`` counts units of :data:`COST_UNIT_USD`, and :func:`replay_model_config` prices every
replayed model at exactly one unit per token. Equal prices also keep the tiers in the order you gave them.
Recorded token counts, when the data has them, stay on :class:`RecordedAnswer` for reports.

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

COST_UNIT_USD: Final = Decimal("1e-12")
"""One replayed "token" is a pico-dollar: fine enough that every recorded cost (RouterBench stores USD floats
with ~1e-10 resolution) is reproduced exactly after rounding, small enough to fit an int for any real call."""
REPLAY_PRICE_PER_1M: Final = float(COST_UNIT_USD * 1_000_000)
"""USD per 1M cost units: the ModelConfig price that turns cost units back into the recorded USD."""
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
    def cost_units(self) -> int:
        """The recorded cost in :data:`COST_UNIT_USD` units, rounded half-even."""
        exact = Decimal(repr(float(self.cost_usd))) / COST_UNIT_USD
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))

    @property
    def cost(self) -> Decimal:
        """The USD cost the engine will account for this call (the recorded cost, rounded to a unit)."""
        return self.cost_units * COST_UNIT_USD


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


def replay_model_config(name: str, **overrides: object) -> ModelConfig:
    """A ModelConfig for a replayed model, priced so that the engine's cost equals the recorded cost."""
    return ModelConfig(
        name=name,
        provider=PROVIDER_NAME,
        input_price=REPLAY_PRICE_PER_1M,
        output_price=REPLAY_PRICE_PER_1M,
        **overrides,  # type: ignore[arg-type]
    )


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
            usage=Usage(input_tokens=recorded.cost_units, output_tokens=0),
        )

    async def stream(self, request: CompletionRequest) -> AsyncIterator[Chunk]:
        completion = await self.complete(request)
        yield Chunk(text=completion.content)
        yield Chunk(finish_reason=completion.finish_reason, usage=completion.usage)

    async def aclose(self) -> None:
        return None
