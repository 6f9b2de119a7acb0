"""Refit from shadow records: a scorer per cheap tier, thresholds certified by a bound, and the shadow rate.

**Labels.** A draft's label is whether it agrees with the top tier's answer, known when the run escalated to the
top tier (every draft of it is labelled, for free) or when a shadow call asked the top tier after a cheap tier's
draft was accepted (at the shadow rate). Scorers are fitted on labelled drafts weighted by 1 / P(labelled), so
the escalated drafts, all labelled, do not outweigh the accepted ones, labelled only when shadowed.

**Risk.** For a threshold ``t`` at tier ``i``, the disagreement a policy lets through at that tier is counted
exactly among runs the top tier answered, and bounded among the others from the shadowed ones (Clopper-Pearson,
:func:`~cascadeflow.shadow.bounds.binomial_upper`; shadowing is random, so under stationary traffic the shadowed
runs are a fair sample). Per reached run that gives an upper bound ``rho_i(t)``; with the share ``a_i(t)`` of
reached drafts kept, a chain of thresholds lets through at most ``sum_i reach_i * rho_i`` disagreement, with
``reach_{i+1} = reach_i * (1 - a_i)``. The cheapest chain of thresholds whose bound stays within ``1 - target``
wins (every combination is tried: a few tiers × ~30 thresholds).

**Takeover.** The fitted tiers decide only when their certified plan is cheaper than the configured validators
were, or when those validators *surely* (lower bound) let through more disagreement than allowed; otherwise the
configured validators keep deciding while labels accumulate. The shadow rate falls as shadow labels accumulate
(:func:`shadow_rate`): the estimate's error falls like 1 / sqrt(labels), and so does what one more label is worth.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from cascadeflow.cascade.quality.learned import LearnedScorer
from cascadeflow.shadow.bounds import binomial_upper
from cascadeflow.shadow.logistic import fit_logistic
from cascadeflow.shadow.policy import FittedPolicy, TierPolicy
from cascadeflow.shadow.records import DraftObservation, ShadowRecord
from cascadeflow.shadow.settings import ShadowSettings


@dataclass(frozen=True, slots=True)
class _Seen:
    """One reached draft: its run's observation facts and the draft."""

    inline: bool  # the top tier answered in the run: the label is known for sure
    shadowed: bool
    observed: float
    draft: DraftObservation


@dataclass(frozen=True, slots=True)
class Option:
    """One threshold of one tier and what it does per reached run."""

    threshold: float
    keep: float
    """Share of reached drafts kept."""
    bound: float
    """Upper bound of the disagreement let through, per reached run."""
    estimate: float
    floor: float = 0.0
    """Lower bound of the same (to tell a policy that surely lets through too much)."""


class _Bounds:
    """Clopper-Pearson upper bounds, remembered by their counts (a search asks for the same ones often)."""

    def __init__(self, delta: float) -> None:
        self.delta = delta
        self._known: dict[tuple[int, int], float] = {}

    def upper(self, k: int, m: int) -> float:
        if m == 0:
            return 1.0
        if (k, m) not in self._known:
            self._known[(k, m)] = binomial_upper(k, m, self.delta)
        return self._known[(k, m)]

    def lower(self, k: int, m: int) -> float:
        return 0.0 if m == 0 else 1.0 - self.upper(m - k, m)


def _reached(records: Sequence[ShadowRecord], tier: str) -> list[_Seen]:
    return [_Seen(r.outcome == "top", r.shadowed, r.observed, d) for r in records for d in r.drafts if d.tier == tier]


def fit_scorer(seen: Sequence[_Seen], peers: Sequence[str], settings: ShadowSettings) -> LearnedScorer | None:
    """P(agrees with the top tier) from the labelled drafts (weighted by 1 / P(labelled)), or None when there
    are too few of them or only one kind."""
    labelled = [s for s in seen if s.draft.label is not None]
    labels = [bool(s.draft.label) for s in labelled]
    if len(labelled) < settings.min_labels or all(labels) or not any(labels):
        return None
    weights = [1.0 / max(s.observed, settings.min_rate) for s in labelled]
    coef, bias = fit_logistic([s.draft.features for s in labelled], labels, weights, l2=settings.l2)
    return LearnedScorer(coef, bias, tuple(peers), "auto", True, {"trained_on": len(labelled)})


def options(
    seen: Sequence[_Seen], scores: Sequence[float], candidates: Sequence[float], bounds: _Bounds
) -> list[Option]:
    """Keep share and disagreement bound per reached run for each candidate threshold."""
    n = len(seen)
    out = [Option(math.inf, 0.0, 0.0, 0.0)]
    for t in sorted(set(candidates)):
        e = u = m = k = kept = 0
        for s, score in zip(seen, scores, strict=True):
            if score < t:
                continue
            kept += 1
            if s.inline:
                e += s.draft.label is False
            else:
                u += 1
                if s.shadowed and s.draft.label is not None:
                    m += 1
                    k += s.draft.label is False
        estimate = (e + u * (k / m if m else 1.0)) / n
        out.append(Option(t, kept / n, (e + u * bounds.upper(k, m)) / n, estimate, (e + u * bounds.lower(k, m)) / n))
    return out


def _grid(scores: Sequence[float], points: int) -> list[float]:
    ordered = sorted(scores)
    if not ordered:
        return []
    return sorted({ordered[min(len(ordered) - 1, int(q * len(ordered) / points))] for q in range(points)})


@dataclass(frozen=True, slots=True)
class Plan:
    chosen: tuple[Option, ...]
    cost: float
    bound: float
    estimate: float
    floor: float = 0.0


def best_plan(tiers: Sequence[list[Option]], costs: Sequence[float], top_cost: float, budget: float) -> Plan:
    """The cheapest combination of one option per tier whose disagreement bound stays within ``budget``."""
    best: Plan | None = None
    for combo in itertools.product(*tiers):
        reach, cost, bound, estimate, floor = 1.0, 0.0, 0.0, 0.0, 0.0
        for option, tier_cost in zip(combo, costs, strict=True):
            cost += reach * tier_cost
            bound += reach * option.bound
            estimate += reach * option.estimate
            floor += reach * option.floor
            reach *= 1.0 - option.keep
        cost += reach * top_cost
        if bound <= budget and (best is None or cost < best.cost):
            best = Plan(tuple(combo), cost, bound, estimate, floor)
    assert best is not None  # keeping nothing anywhere is always within budget
    return best


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def fit_policy(records: Sequence[ShadowRecord], chain: Sequence[str], settings: ShadowSettings) -> FittedPolicy:
    """Fit scorers and certified thresholds on the most recent records (see the module docstring)."""
    recent = list(records)[-settings.window:]
    cheap = list(chain[:-1])
    bounds = _Bounds(settings.delta / max(len(cheap), 1))
    seen = {tier: _reached(recent, tier) for tier in cheap}
    costs = [_mean([s.draft.cost for s in seen[t]]) for t in cheap]
    top_cost = _mean([float(r.top_cost) for r in recent if r.top_cost > 0])
    labelled = sum(1 for t in cheap for s in seen[t] if s.draft.label is not None)
    fitted: dict[str, TierPolicy] = {}
    per_tier: list[list[Option]] = []
    for i, tier in enumerate(cheap):
        scorer = fit_scorer(seen[tier], cheap[:i], settings)
        if scorer is None or not seen[tier]:
            per_tier.append([Option(math.inf, 0.0, 0.0, 0.0)])
            continue
        scores = [scorer.probability(s.draft.features) for s in seen[tier]]
        per_tier.append(options(seen[tier], scores, _grid(scores, settings.grid), bounds))
        fitted[tier] = TierPolicy(scorer, math.inf)
    plan = best_plan(per_tier, costs, top_cost, settings.budget)
    tiers = {t: TierPolicy(fitted[t].scorer, o.threshold) for t, o in zip(cheap, plan.chosen, strict=True)
             if t in fitted}
    return _decide(recent, cheap, costs, top_cost, bounds, settings, tiers, plan, labelled)


def _fallback(recent: Sequence[ShadowRecord], cheap: Sequence[str], costs: Sequence[float], top_cost: float,
              bounds: _Bounds, budget: float) -> tuple[Plan | None, float]:
    """The configured validators' own record (runs they decided): their bound and their mean run cost."""
    decided = [r for r in recent if all(d.score is None for d in r.drafts)]
    if not decided:
        return None, math.inf
    per_tier = []
    for tier in cheap:
        seen = _reached(decided, tier)
        flags = [1.0 if s.draft.accepted else 0.0 for s in seen]
        per_tier.append([o for o in options(seen, flags, [0.5], bounds) if o.threshold == 0.5] if seen
                        else [Option(math.inf, 0.0, 0.0, 0.0)])
    plan = best_plan(per_tier, costs, top_cost, math.inf)
    return plan, _mean([float(r.cost) for r in decided])


def shadow_rate(labels: int, settings: ShadowSettings) -> float:
    """The share of accepted drafts to shadow after ``labels`` shadow labels: halves every time the labels grow
    by ``half_labels`` beyond the last halving (``max * half / (half + labels)``): the standard error of the
    estimate falls like 1 / sqrt(labels), and so does the value of one more label."""
    rate = settings.max_rate * settings.half_labels / (settings.half_labels + labels)
    return round(min(settings.max_rate, max(settings.min_rate, rate)), 4)


def _decide(recent: Sequence[ShadowRecord], cheap: Sequence[str], costs: Sequence[float], top_cost: float,
            bounds: _Bounds, settings: ShadowSettings, tiers: dict[str, TierPolicy], plan: Plan,
            labelled: int) -> FittedPolicy:
    budget = settings.budget
    fallback, fallback_cost = _fallback(recent, cheap, costs, top_cost, bounds, budget)
    violates = fallback is not None and fallback.floor > budget
    cheaper = plan.cost < fallback_cost
    active = bool(tiers) and (cheaper or violates)
    in_force = plan if active or fallback is None else fallback
    rate = shadow_rate(sum(1 for r in recent if r.shadowed), settings)
    if active:
        why = ("the configured validators surely let through more disagreement than allowed" if violates else
               f"certified plan costs {plan.cost:.3g} per run against {fallback_cost:.3g}")
    else:
        why = "the configured validators decide until a certified plan is cheaper"
    return FittedPolicy(tiers, active, rate, in_force.bound, in_force.estimate, plan.cost, plan.bound, len(recent),
                        labelled, why)
