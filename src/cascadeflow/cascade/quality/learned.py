"""Learned scorer: P(draft is correct) from a logistic regression over cheap, explainable features.

Features of one draft (query and answer shape, arithmetic consistency of worked answers, whether code parses,
the rule checks' scores) are combined with its agreement with earlier tiers' drafts. The weights are trained
on labelled outcomes (:func:`cascadeflow.calibrate.fit.fit_scorer`, offline, via scikit-learn) and stored as plain JSON
coefficients, so loading a scorer never unpickles code and scoring needs nothing beyond ``math``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from cascadeflow.cascade.quality.agreement import (
    detect_kind,
    extract_python,
    final_number,
    normalize_answer,
    parse_options,
)
from cascadeflow.cascade.quality.arithmetic import close, worked_steps
from cascadeflow.cascade.quality.base import CheckResult, ValidationContext, Validator, Verdict, previous_drafts
from cascadeflow.errors import ConfigError
from cascadeflow.types import Completion, CompletionRequest

if TYPE_CHECKING:
    from cascadeflow.cascade.plan_config import TierPlan
    from cascadeflow.cascade.strategies import StrategyContext

NAME: Final = "learned"
FORMAT: Final = "cascadeflow.learned.logistic/1"

_MARKER_RE: Final = re.compile(r"####|\\boxed\{|(?i:the (?:final )?answer is)")
_HEDGE_RE: Final = re.compile(
    r"(?i:\b(?:however|approximately|assum(?:e|ing)|not possible|cannot be|can't be|unclear|round(?:ed|ing)? "
    r"(?:up|down)|doesn't make sense|i'm not sure|it depends)\b)"
)
_LABEL_RE: Final = re.compile(r"^\(?(?:[A-H]|[1-9])\)?[.:)]?$")
_NUMBER_RE: Final = re.compile(r"\d+(?:\.\d+)?")
_QUANTITY_RE: Final = re.compile(r"\d[\d,]*(?:\.\d+)?")
SHAPE_FEATURES: Final = frozenset({"query_log_chars", "query_log_numbers", "answer_log_chars", "answer_log_lines"})
"""Features of a draft's *shape* (lengths): they fit the prompts a scorer was trained on more than they
generalise, so calibration and shadow learning leave them out by default."""
MAX_POSITION: Final = 4
"""Option positions from here on (the fifth option and later) share one ``choice_position`` feature."""


# ------------------------------------------------------------------------------------------ features
def arithmetic_steps(answer: str) -> tuple[int, int, float | None]:
    """``(correct, wrong, last_result)`` over the worked steps of an answer (see
    :func:`~cascadeflow.cascade.quality.arithmetic.worked_steps`). A wrong step is strong evidence of a wrong
    final answer."""
    steps = worked_steps(answer)
    ok = sum(1 for step in steps if step.ok)
    return ok, len(steps) - ok, steps[-1].claimed if steps else None


def draft_features(query: str, answer: str, kind: str = "auto") -> dict[str, float]:
    """Features of one draft that do not depend on other drafts (names are stable: scorers store them)."""
    resolved = detect_kind(query) if kind == "auto" else kind
    text = answer.strip()
    normalised = normalize_answer(answer, query, resolved)
    out = {
        "query_log_chars": math.log1p(len(query)),
        "query_log_numbers": math.log1p(len(_NUMBER_RE.findall(query))),
        "answer_log_chars": math.log1p(len(text)),
        "answer_log_lines": math.log1p(text.count("\n")),
        "readable": float(normalised is not None),
        "hedge": float(_HEDGE_RE.search(text) is not None),
    }
    if resolved == "choice":
        out["n_options"] = float(len(parse_options(query)))
        out["bare_label"] = float(_LABEL_RE.match(text) is not None)
        out.update(_position_features(normalised))
    elif resolved == "number":
        out.update(_math_features(query, text))
    elif resolved == "code":
        out["code_parses"] = float(extract_python(text) is not None)
    return out


def _position_features(normalised: str | None) -> dict[str, float]:
    """Which option the draft picked (from its normalised ``choice:<position>``), one-hot:
    ``choice_position:0`` is the first option. Models have label-position biases (one that over-picks "B" is
    more often wrong when it says "B"), so the position is a prior on correctness that the scorer can learn
    per model. Positions from :data:`MAX_POSITION` on share the last slot."""
    if normalised is None:
        return {}
    position = int(normalised.rpartition(":")[2])
    return {f"choice_position:{min(position, MAX_POSITION)}": 1.0}


def _numbers_in(text: str) -> set[str]:
    return {n.replace(",", "") for n in _QUANTITY_RE.findall(text)}


def _math_features(query: str, text: str) -> dict[str, float]:
    ok, bad, last = arithmetic_steps(text)
    given = _numbers_in(query)
    final = final_number(text)
    value = None if final is None else float(final)
    consistent = value is not None and last is not None and close(value, last)
    return {
        "math_steps_log": math.log1p(ok + bad),
        "math_wrong_frac": bad / (ok + bad) if ok + bad else 0.0,
        "final_marker": float(_MARKER_RE.search(text) is not None),
        "final_integer": float(value is not None and value == int(value)),
        "final_consistent": float(consistent),
        # A worked answer that never uses one of the question's quantities has usually misread the problem.
        "numbers_used": len(given & _numbers_in(text)) / len(given) if given else 1.0,
    }


def agreement_features(
    mine: str | None, previous: Sequence[tuple[str, str | None]], peers: Sequence[str]
) -> dict[str, float]:
    """How the draft's normalised answer relates to earlier drafts ``(model, normalised answer)``."""
    count = len(previous)
    agreeing = [model for model, other in previous if mine is not None and other == mine]
    rivals: dict[str, int] = {}
    for _, other in previous:
        if other is not None and other != mine:
            rivals[other] = rivals.get(other, 0) + 1
    out = {
        "agree_count": float(len(agreeing)),
        "agree_frac": len(agreeing) / count if count else 0.0,
        "rival_frac": max(rivals.values()) / count if rivals else 0.0,
    }
    for peer in peers:
        out[f"agree:{peer}"] = float(peer in agreeing)
    return out


def rule_scores(query: str, answer: str, validator: Validator | None = None) -> dict[str, float]:
    """The rule checks' scores of a draft (what ``check:<name>`` features hold), outside a cascade; the
    built-in composite validator unless ``validator`` is given (pass one when scoring many drafts)."""
    from cascadeflow.types import Message

    if validator is None:
        from cascadeflow.cascade.quality.composite import build_validator
        from cascadeflow.config import QualityConfig

        validator = build_validator(QualityConfig.for_cascade())
    request = CompletionRequest(messages=(Message(role="user", content=query),))
    verdict = validator(request, Completion(answer, "draft"), ValidationContext())
    if not isinstance(verdict, Verdict):  # only user validators are async; the built-in checks never are
        raise ConfigError("learned.checks", "rule_scores needs the synchronous built-in checks")
    return verdict.scores


# ------------------------------------------------------------------------------------------ scorer
def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True)
class LearnedScorer:
    """Logistic regression over named features; missing features count as 0."""

    weights: Mapping[str, float]
    bias: float
    peers: tuple[str, ...] = ()
    kind: str = "auto"
    checks: bool = False
    """Whether the rule validator's check scores are features (``check:<name>``)."""
    meta: Mapping[str, Any] = field(default_factory=dict)

    def probability(self, features: Mapping[str, float]) -> float:
        z = self.bias + sum(w * features.get(name, 0.0) for name, w in self.weights.items())
        return _sigmoid(z)

    def features(
        self,
        query: str,
        answer: str,
        previous: Sequence[tuple[str, str]],
        checks: Mapping[str, float] | None = None,
    ) -> dict[str, float]:
        """All features of a draft given earlier drafts ``(model, answer text)``."""
        mine = normalize_answer(answer, query, self.kind)
        normalised = [(model, normalize_answer(text, query, self.kind)) for model, text in previous]
        out = draft_features(query, answer, self.kind)
        out.update(agreement_features(mine, normalised, self.peers))
        if self.checks and checks:
            out.update({f"check:{name}": score for name, score in checks.items()})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "kind": self.kind, "peers": list(self.peers), "checks": self.checks,
            "bias": self.bias, "weights": dict(self.weights), "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LearnedScorer:
        if data.get("format") != FORMAT:
            raise ConfigError("learned.format", f"expected {FORMAT!r}, got {data.get('format')!r}")
        try:
            weights = {str(k): float(v) for k, v in dict(data["weights"]).items()}
            return cls(weights=weights, bias=float(data["bias"]), peers=tuple(str(p) for p in data.get("peers", ())),
                       kind=str(data.get("kind", "auto")), checks=bool(data.get("checks", False)),
                       meta=dict(data.get("meta", {})))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError("learned", f"malformed scorer: {exc!r}") from exc

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> LearnedScorer:
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError("learned.path", f"cannot read scorer {path}: {exc}") from exc


# ------------------------------------------------------------------------------------------ validator
class LearnedValidator:
    """Accept when the scorer's P(correct) reaches the tier's threshold. With ``base`` (the rule validator)
    and a scorer trained with check features, the base verdict's check scores feed the scorer."""

    __slots__ = ("base", "scorer")

    def __init__(self, scorer: LearnedScorer, *, base: Validator | None = None) -> None:
        self.scorer = scorer
        self.base = base

    def __call__(
        self, request: CompletionRequest, draft: Completion, context: ValidationContext
    ) -> Verdict | Awaitable[Verdict]:
        if self.base is None or not self.scorer.checks:
            return self._decide(request, draft, context, None)
        outcome = self.base(request, draft, context)
        if isinstance(outcome, Verdict):
            return self._decide(request, draft, context, outcome)
        return self._decide_later(request, draft, context, outcome)

    async def _decide_later(
        self, request: CompletionRequest, draft: Completion, context: ValidationContext, pending: Awaitable[Verdict]
    ) -> Verdict:
        return self._decide(request, draft, context, await pending)

    def _decide(
        self, request: CompletionRequest, draft: Completion, context: ValidationContext, base: Verdict | None
    ) -> Verdict:
        previous = [(tier, c.content) for tier, c in previous_drafts(context)]
        features = self.scorer.features(request.query, draft.content, previous, base.scores if base else None)
        p = self.scorer.probability(features)
        passed = p >= context.threshold
        reason = f"learned: P(correct) {p:.2f} {'>=' if passed else '<'} {context.threshold:.2f}"
        top = _strongest(self.scorer, features)
        if top:
            reason += f" (strongest evidence: {top})"
        checks = (CheckResult(NAME, p, reason), *(base.checks if base else ()))
        return Verdict(p, passed, (reason,), checks, NAME, context.threshold)


def _strongest(scorer: LearnedScorer, features: Mapping[str, float]) -> str:
    contributions = [(w * features.get(n, 0.0), n) for n, w in scorer.weights.items() if features.get(n, 0.0)]
    if not contributions:
        return ""
    value, name = max(contributions, key=lambda c: abs(c[0]))
    return f"{name} {'+' if value >= 0 else ''}{value:.2f}"


# ------------------------------------------------------------------------------------------ plan strategy
@dataclass(frozen=True, slots=True)
class LearnedStrategy:
    """``strategy: learned`` with ``learned: {...}`` (the scorer's coefficients, as ``calibrate`` writes them).
    A scorer trained on rule-check scores is given the plan's composite checks (its ``QualityConfig``)."""

    name: str = "learned"
    settings_key: str | None = "learned"

    def check(self, settings: Mapping[str, Any], where: str) -> Mapping[str, Any]:
        if not settings:
            raise ConfigError(where, "strategy 'learned' needs the scorer's coefficients under 'learned'")
        LearnedScorer.from_dict(settings)  # a malformed scorer fails when the plan is read, naming the field
        return settings

    def runs_code(self, settings: Mapping[str, Any]) -> bool:
        return False

    def build(self, tier: TierPlan, settings: Mapping[str, Any], context: StrategyContext) -> Validator | None:
        scorer = LearnedScorer.from_dict(settings)
        base = None
        if scorer.checks:
            from cascadeflow.cascade.quality.composite import build_validator

            base = build_validator(context.quality)
        return LearnedValidator(scorer, base=base)


LEARNED: Final = LearnedStrategy()
