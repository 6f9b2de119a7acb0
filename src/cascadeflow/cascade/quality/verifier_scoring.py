"""Verify-by-scoring: the next (stronger) tier reads the draft in one prefill pass and says how likely it finds it.

Scoring costs one prefill of prompt + draft instead of a generation: cheaper than having the verifier answer,
though on 2 CPU cores prefill is only ~2.5x faster than generation, so for short answers it costs about as
much. Hence the order: cheap rule checks first (a refusal, an empty, truncated or looping answer is rejected
without asking anyone); then, for trivial queries only, a short draft its own model was near-certain of is kept
as is; everything else is scored. When the next tier cannot score (an API model, a wrapper that hides
``score``, or the call fails), the rule verdict stands on its own.

Signals, per draft token under the verifier: the geometric-mean probability (how fluent/plausible the whole
draft is), the share of tokens that are the verifier's own top choice (does it agree token by token), and a low
quantile of token probability (one confidently wrong fact is a single very unlikely token).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from cascadeflow.cascade.quality.base import CheckResult, ValidationContext, Validator, Verdict
from cascadeflow.errors import ConfigError, ProviderError
from cascadeflow.providers.wrapper import supports
from cascadeflow.types import Completion, CompletionRequest, TokenLogprob


@dataclass(frozen=True)
class ScoringSettings:
    """Acceptance thresholds for verify-by-scoring, each with the reason for its default."""

    min_likelihood: float = 0.70
    """Geometric-mean token probability under the verifier. Fluent correct drafts score ~0.75-0.99; drafts the
    verifier would not have written (wrong approach, garbled text) fall well below 0.6."""
    min_agreement: float = 0.80
    """Share of draft tokens that are the verifier's own greedy choice. Paraphrases cost a few points;
    a different answer or method costs many."""
    tail_quantile: float = 0.05
    """Which low quantile of token probabilities to check: near the minimum, but not one odd formatting token
    in a long answer."""
    min_tail: float = 0.01
    """Probability floor at that quantile: a token the verifier gives under 1% is usually a wrong fact or
    number, not a matter of style."""
    self_check_levels: tuple[str, ...] = ("trivial",)
    """Complexity levels where a draft its own model is sure of is kept without asking the verifier. On CPU,
    scoring costs the verifier a prefill of prompt + draft, about as long as answering a short question itself,
    so it is skipped only for trivial queries: on "simple"-rated puzzles the 0.5B was confidently wrong."""
    self_min_likelihood: float = 0.90
    """Drafter's own geometric-mean token probability needed for that shortcut: near-certain, not merely
    fluent (its correct short answers scored 0.83-0.96, its wrong ones 0.62-0.73)."""
    self_min_tail: float = 0.50
    """Drafter's own tail-quantile token probability for the shortcut: no token it hesitated over (a guessed
    number or name shows up here first)."""
    self_max_tokens: int = 32
    """The shortcut is only for short answers (a name, a number, a one-liner): a long answer to a "trivial" query is
    reasoning, where the drafter was confidently wrong in the benchmark (sum of even numbers, 245 tokens)."""
    rule_gate_threshold: float = 0.5
    """The rule checks only gate obvious defects when a verifier is available, so they run with this lower
    threshold (the verifier judges the rest); without a verifier the configured threshold applies."""

    def __post_init__(self) -> None:
        names = ("min_likelihood", "min_agreement", "tail_quantile", "min_tail", "self_min_likelihood",
                 "self_min_tail", "rule_gate_threshold")
        for name in names:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ConfigError(f"ScoringSettings.{name}", f"must be a number between 0 and 1, got {value!r}")
        if isinstance(self.self_max_tokens, bool) or not isinstance(self.self_max_tokens, int):
            raise ConfigError("ScoringSettings.self_max_tokens", f"must be an integer, got {self.self_max_tokens!r}")


@dataclass(frozen=True, slots=True)
class ScoreStats:
    """Summary of one scored draft."""

    tokens: int
    likelihood: float
    agreement: float | None
    tail: float


def summarize(tokens: Sequence[TokenLogprob], quantile: float) -> ScoreStats:
    """Reduce per-token logprobs to the three signals; ``agreement`` is None when the scorer gave no top choices."""
    if not tokens:
        raise ValueError("no tokens to summarize")
    logprobs = [t.logprob for t in tokens]
    ordered = sorted(logprobs)
    tail_lp = ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]
    tops = [getattr(t, "top_logprob", None) for t in tokens]
    agreement = None
    if all(isinstance(top, float) for top in tops):
        hits = [t.logprob >= float(top) for t, top in zip(tokens, tops, strict=True) if top is not None]
        agreement = sum(hits) / len(tokens)
    return ScoreStats(len(tokens), math.exp(sum(logprobs) / len(logprobs)), agreement, math.exp(tail_lp))


def _can_score(provider: Any) -> bool:
    return provider is not None and supports(provider, "score")


class ScoringVerifier:
    """A validator: rules first, then the next tier scores the draft; falls back to the rules alone.

    Usage: ``tier_validators={"drafter": ScoringVerifier(build_validator(quality))}``.
    """

    def __init__(self, rules: Validator, settings: ScoringSettings | None = None) -> None:
        self.rules = rules
        self.settings = settings or ScoringSettings()

    async def _rules(self, request: CompletionRequest, draft: Completion, context: ValidationContext) -> Verdict:
        verdict = self.rules(request, draft, context)
        if not isinstance(verdict, Verdict):
            verdict = await verdict
        return verdict

    async def __call__(self, request: CompletionRequest, draft: Completion, context: ValidationContext) -> Verdict:
        scorer = context.next_provider
        if not _can_score(scorer) or draft.tool_calls or not draft.content.strip():
            return _note(await self._rules(request, draft, context), "next tier cannot score this draft; rules decide")
        gate_context = replace(context, threshold=min(context.threshold, self.settings.rule_gate_threshold))
        gate = await self._rules(request, draft, gate_context)
        if not gate.passed:
            return _note(gate, "rejected by the rule checks before scoring")
        own = self._own_confidence(draft, context, gate)
        if own.passed:
            return own
        gate = replace(gate, checks=own.checks)
        try:
            tokens = await scorer.score(request.messages, draft.content)  # type: ignore[union-attr]
            stats = summarize(tokens, self.settings.tail_quantile)
        except (ProviderError, ValueError) as exc:
            verdict = await self._rules(request, draft, context)
            return _note(verdict, f"verifier scoring failed ({type(exc).__name__}: {exc}); rules decide")
        return self._verdict(stats, gate, getattr(scorer, "model", ""))

    def _own_confidence(self, draft: Completion, context: ValidationContext, gate: Verdict) -> Verdict:
        """Keep a trivial query's short draft when its own model was near-certain of it (no verifier call)."""
        s = self.settings
        if not draft.logprobs:
            return replace(gate, passed=False)
        stats = summarize(draft.logprobs, s.tail_quantile)
        checks = (
            *gate.checks,
            CheckResult("draft_likelihood", stats.likelihood, f"drafter's token probability {stats.likelihood:.3f}"),
            CheckResult("draft_tail", stats.tail, f"drafter's own {s.tail_quantile:.0%}-quantile {stats.tail:.3f}"),
        )
        sure = stats.likelihood >= s.self_min_likelihood and stats.tail >= s.self_min_tail
        short = draft.usage.output_tokens <= s.self_max_tokens and stats.tokens <= s.self_max_tokens
        if not (sure and short) or context.complexity not in s.self_check_levels:
            return replace(gate, passed=False, checks=checks)
        reason = (f"{context.complexity} query and the drafter is sure of its answer (token probability "
                  f"{stats.likelihood:.3f}, tail {stats.tail:.3f}); not sent to the verifier")
        return Verdict(stats.likelihood, True, (reason,), checks, "draft_confidence", s.self_min_likelihood)

    def _verdict(self, stats: ScoreStats, gate: Verdict, scorer: str) -> Verdict:
        s = self.settings
        signals: list[tuple[str, float | None, float, str]] = [
            ("likelihood", stats.likelihood, s.min_likelihood, "geometric-mean token probability"),
            ("agreement", stats.agreement, s.min_agreement, "share of tokens that are its own top choice"),
            ("tail", stats.tail, s.min_tail, f"{s.tail_quantile:.0%}-quantile token probability"),
        ]
        checks = [
            CheckResult(f"verifier_{name}", value, f"{what} under {scorer or 'the verifier'}: {value:.3f}")
            for name, value, _, what in signals
            if value is not None
        ]
        for name, value, floor, what in signals:
            if value is not None and value < floor:
                reason = f"{scorer or 'verifier'} finds the draft unlikely: {what} {value:.3f} < {floor:.3f}"
                return Verdict(value, False, (reason,), (*gate.checks, *checks), f"verifier:{name}", floor)
        agree = "n/a" if stats.agreement is None else f"{stats.agreement:.0%}"
        reason = (
            f"{scorer or 'verifier'} finds the draft likely over {stats.tokens} tokens: probability "
            f"{stats.likelihood:.3f}, agreement {agree}, tail {stats.tail:.3f}"
        )
        return Verdict(stats.likelihood, True, (reason,), (*gate.checks, *checks), "verifier", s.min_likelihood)


def _note(verdict: Verdict, note: str) -> Verdict:
    return replace(verdict, reasons=(*verdict.reasons, note), decided_by=verdict.decided_by or "rules")
