"""The fitted policy: per cheap tier a scorer and a threshold, the bound that certifies them, and the shadow rate.

It is plain data (JSON in the store), so replicas sharing a store share the policy and a restarted process
starts from the last one instead of from nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cascadeflow.cascade.quality.learned import LearnedScorer
from cascadeflow.errors import ConfigError


@dataclass(frozen=True)
class TierPolicy:
    """How one cheap tier decides: keep a draft when ``scorer``'s P(agrees with the top tier) >= ``threshold``
    (``inf``: never keep it here; its draft only informs the next tiers)."""

    scorer: LearnedScorer
    threshold: float

    def keeps(self, features: Mapping[str, float]) -> tuple[bool, float]:
        p = self.scorer.probability(features)
        return p >= self.threshold, p


@dataclass(frozen=True)
class FittedPolicy:
    """The outcome of one fit.

    ``active`` says whether the fitted tiers decide (their certified plan is cheaper than the configured
    validators, or those validators let through more disagreement than allowed); otherwise the configured
    validators keep deciding and the fit only sets the shadow rate.
    """

    tiers: Mapping[str, TierPolicy] = field(default_factory=dict)
    active: bool = False
    rate: float = 1.0
    loss_bound: float = 1.0
    """Upper confidence bound of the share of answers that disagree with the top tier, under the policy in force
    (the fitted plan when ``active``, else the configured validators)."""
    loss_estimate: float = 1.0
    expected_cost: float = math.inf
    """Mean cost per run under the fitted plan (USD), from the recorded costs of each tier's calls."""
    plan_bound: float = 0.0
    """The fitted plan's own disagreement bound (whether or not it is in force)."""
    records: int = 0
    labelled: int = 0
    reason: str = ""

    def to_json(self) -> str:
        return json.dumps({
            "tiers": {name: {"scorer": t.scorer.to_dict(), "threshold": None if math.isinf(t.threshold)
                             else t.threshold} for name, t in self.tiers.items()},
            "active": self.active, "rate": self.rate, "loss_bound": self.loss_bound,
            "loss_estimate": self.loss_estimate,
            "expected_cost": None if math.isinf(self.expected_cost) else self.expected_cost,
            "plan_bound": self.plan_bound,
            "records": self.records, "labelled": self.labelled, "reason": self.reason,
        }, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> FittedPolicy:
        try:
            data: dict[str, Any] = json.loads(text)
            tiers = {str(name): TierPolicy(LearnedScorer.from_dict(t["scorer"]),
                                           math.inf if t["threshold"] is None else float(t["threshold"]))
                     for name, t in dict(data["tiers"]).items()}
            cost = data.get("expected_cost")
            return cls(tiers, bool(data["active"]), float(data["rate"]), float(data["loss_bound"]),
                       float(data["loss_estimate"]), math.inf if cost is None else float(cost),
                       float(data.get("plan_bound", 0.0)), int(data["records"]), int(data["labelled"]),
                       str(data.get("reason", "")))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError("shadow.state", f"malformed fitted policy: {exc!r}") from exc
