"""What one ``agent.run`` returns: the final answer plus one immutable :class:`StepRecord` per model call.

Results, traces, ledgers and metrics all consume the same step records, so the numbers always agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, TypeAlias

from cascadeflow.cascade.quality.base import Verdict
from cascadeflow.types import Completion, ToolCall, Usage

Action: TypeAlias = Literal["accept", "escalate", "final", "fallback", "verify", "shadow"]
"""accept: a draft passed validation and is the answer. escalate: it failed, the next tier is asked.
final: the last tier's answer (or the last allowed one) is returned as is. fallback: the call itself failed
(error, open circuit) and the next tier is asked. verify: a call made to judge a draft (verify-by-scoring).
shadow: a call made off the answer's path to learn from (self-calibration)."""
CallKind: TypeAlias = Literal["complete", "stream", "score", "shadow"]
ANSWER_KINDS: frozenset[str] = frozenset({"complete", "stream"})
"""Records of calls that produced (or failed to produce) a tier's answer, as opposed to verify/shadow calls."""


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One provider call inside a cascade run: what was called, what it cost, and what was decided.

    ``kind`` says what the call was for (``complete``/``stream``: a tier's answer; ``score``: judging a draft;
    ``shadow``: learning off the answer's path); ``run_id``, ``started_at`` (UNIX seconds) and ``user_id`` tie it to
    its run for traces and ledgers.
    """

    tier: int
    model: str
    provider: str
    action: Action
    reason: str
    usage: Usage = field(default_factory=Usage)
    cost: Decimal = Decimal(0)
    latency_ms: float = 0.0
    verdict: Verdict | None = None
    finish_reason: str | None = None
    error: str | None = None
    usage_estimated: bool = False
    kind: CallKind = "complete"
    run_id: str = ""
    started_at: float = 0.0
    user_id: str | None = None
    cached: bool = False
    """The answer came from a response cache: no model was called and it cost nothing."""

    @property
    def is_answer(self) -> bool:
        """A tier's answer (or its failed attempt), not a verify or shadow call."""
        return self.kind in ANSWER_KINDS

    @property
    def input_tokens(self) -> int:
        return self.usage.input_tokens

    @property
    def output_tokens(self) -> int:
        return self.usage.output_tokens

    def to_dict(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "model": self.model,
            "provider": self.provider,
            "action": self.action,
            "reason": self.reason,
            "input_tokens": self.usage.input_tokens,
            "output_tokens": self.usage.output_tokens,
            "cost": str(self.cost),
            "latency_ms": round(self.latency_ms, 3),
            "quality_score": None if self.verdict is None else round(self.verdict.score, 4),
            "checks": {} if self.verdict is None else self.verdict.scores,
            "finish_reason": self.finish_reason,
            "error": self.error,
            "usage_estimated": self.usage_estimated,
            "kind": self.kind,
            "run_id": self.run_id,
            "started_at": self.started_at,
            "user_id": self.user_id,
            "cached": self.cached,
        }


@dataclass(frozen=True, slots=True)
class CascadeResult:
    """The answer of a cascade run and how it was reached.

    ``cost_saved`` compares with sending the same request straight to the top tier: the accepted call's real
    token counts priced at the top tier's prices (or, when the top tier ran, nothing saved minus the drafts).
    """

    content: str
    model_used: str
    steps: tuple[StepRecord, ...]
    completion: Completion
    draft_accepted: bool
    complexity: str
    reason: str
    latency_ms: float
    cost: Decimal
    baseline_cost: Decimal
    complexity_signals: tuple[str, ...] = ()
    domain: str | None = None

    @property
    def total_cost(self) -> float:
        """USD spent on every call of this run, drafts included."""
        return float(self.cost)

    @property
    def cost_saved(self) -> float:
        """USD saved against sending the request to the top tier only (negative if escalation cost more)."""
        return float(self.baseline_cost - self.cost)

    @property
    def answers(self) -> tuple[StepRecord, ...]:
        """The records of tier answers (and failed attempts), without verify/shadow calls."""
        return tuple(s for s in self.steps if s.is_answer)

    @property
    def cached(self) -> bool:
        """The final answer came from a response cache (it cost nothing)."""
        return self.completion.cached

    @property
    def cascaded(self) -> bool:
        """True when more than one tier was asked for an answer."""
        return len(self.answers) > 1

    @property
    def quality_score(self) -> float | None:
        verdict = self.answers[-1].verdict
        return None if verdict is None else verdict.score

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return self.completion.tool_calls

    @property
    def usage(self) -> Usage:
        total = Usage()
        for step in self.steps:
            total = total + step.usage
        return total

    @property
    def input_tokens(self) -> int:
        return self.usage.input_tokens

    @property
    def output_tokens(self) -> int:
        return self.usage.output_tokens

    @property
    def finish_reason(self) -> str:
        return self.completion.finish_reason

    def to_dict(self) -> dict[str, Any]:
        return {
            "content": self.content,
            "model_used": self.model_used,
            "draft_accepted": self.draft_accepted,
            "cascaded": self.cascaded,
            "complexity": self.complexity,
            "domain": self.domain,
            "quality_score": self.quality_score,
            "reason": self.reason,
            "latency_ms": round(self.latency_ms, 3),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_cost": str(self.cost),
            "cost_saved": str(self.baseline_cost - self.cost),
            "tool_calls": [tc.to_openai() for tc in self.tool_calls],
            "steps": [s.to_dict() for s in self.steps],
        }
