"""Refit a plan offline from shadow records (``cascadeflow calibrate --from-traces URL``).

The same fit a running :class:`~cascadeflow.shadow.agent.ShadowAgent` makes (:func:`~cascadeflow.shadow.learner.
fit_policy`: a scorer per cheap tier, thresholds certified by a bound on the disagreement with the top tier),
written as a YAML plan: each cheap tier with a fitted scorer becomes a ``learned`` tier (``collect`` when it is
never to keep its drafts), a tier without enough labels keeps the rule checks, the top tier is last.
"""

from __future__ import annotations

import math
from typing import Any

from cascadeflow.cascade.plan_config import CascadePlan, TierPlan
from cascadeflow.config import COMPLEXITY_LEVELS
from cascadeflow.errors import ConfigError
from cascadeflow.shadow.learner import fit_policy
from cascadeflow.shadow.policy import FittedPolicy
from cascadeflow.shadow.settings import ShadowSettings
from cascadeflow.shadow.stores import ShadowStore, open_shadow_store


def plan_from_traces(store: str | ShadowStore, settings: ShadowSettings | None = None, *,
                     provider: str = "openai") -> tuple[CascadePlan, FittedPolicy]:
    """The plan fitted on the store's most recent records, and the fitted policy it came from."""
    settings = settings or ShadowSettings()
    opened = open_shadow_store(store)
    try:
        records = opened.records(settings.window)
    finally:
        if isinstance(store, str):
            opened.close()
    if not records:
        raise ConfigError("from_traces", "the store holds no shadow records")
    chain = records[-1].chain
    records = [r for r in records if r.chain == chain]  # a store shared across chains: the latest chain only
    policy = fit_policy(records, chain, settings)
    base: dict[str, Any] = {"provider": provider}
    tiers: list[TierPlan] = []
    for tier in chain[:-1]:
        fitted = policy.tiers.get(tier)
        if fitted is None:
            tiers.append(TierPlan(tier, "rule", None, base))
        elif math.isinf(fitted.threshold):
            tiers.append(TierPlan(tier, "collect", None, base))
        else:
            tiers.append(TierPlan(tier, "learned", fitted.threshold, base,
                                  params={"learned": fitted.scorer.to_dict()}))
    tiers.append(TierPlan(chain[-1], "rule", None, base))
    calibration = {
        "source": "shadow traces", "records": policy.records, "labelled_drafts": policy.labelled,
        "target_agreement": settings.target_quality, "delta": settings.delta,
        "disagreement_upper_bound": round(policy.plan_bound, 5),
        "expected_cost_per_run": None if math.isinf(policy.expected_cost) else round(policy.expected_cost, 8),
        "configured_validators_disagreement_bound": None if policy.active else round(policy.loss_bound, 5),
        "in_force_online": "this plan" if policy.active else "the configured validators", "reason": policy.reason,
    }
    plan = CascadePlan(tuple(tiers), dict.fromkeys(COMPLEXITY_LEVELS, 0), None, calibration, tier_order="given")
    return plan, policy
