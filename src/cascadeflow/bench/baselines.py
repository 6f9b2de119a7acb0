"""Baselines on the same prompts and tiers as the cascade under test.

* ``always_cheapest`` — the cheapest tier (least total cost on these prompts) answers everything.
* ``always_first`` — the cascade's entry tier answers everything (listed only when it is not the cheapest,
  i.e. a plan with ``tier_order: given`` that asks a pricier model first).
* ``always_top`` — the top model answers everything (the reference for every ratio).
* ``random`` — a router that sends a random share of prompts straight to the top model and the rest to the
  first tier (the cascade's entry model, not always the cheapest with ``tier_order: given``), at the
  cascade's own top-model rate (expected values: no sampling noise). It never pays for a draft it throws
  away, so it is a fair, not a straw-man, comparison.
* ``oracle`` — per prompt, the cheapest tier whose recorded answer is correct (the cheapest tier when none
  is): the headroom.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class Baseline:
    name: str
    accuracy: float
    cost: float
    quality_ratio: float
    cost_ratio: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy": round(self.accuracy, 5), "cost": round(self.cost, 6),
            "quality_ratio": round(self.quality_ratio, 5), "cost_ratio": round(self.cost_ratio, 5),
        }


def _baseline(name: str, accuracy: float, cost: float, top_accuracy: float, top_cost: float) -> Baseline:
    return Baseline(
        name, accuracy, cost,
        accuracy / top_accuracy if top_accuracy else 0.0,
        cost / top_cost if top_cost else 0.0,
    )


def baselines(cost: np.ndarray, correct: np.ndarray, top_rate: float) -> dict[str, Baseline]:
    """All four baselines from cost and correctness matrices (prompts × tiers, top tier last)."""
    n = max(len(cost), 1)
    top_acc, top_cost = float(correct[:, -1].mean()), float(cost[:, -1].sum())
    first_acc, first_cost = float(correct[:, 0].mean()), float(cost[:, 0].sum())
    cheapest = int(np.argmin(cost.sum(axis=0)))
    cheap_acc, cheap_cost = float(correct[:, cheapest].mean()), float(cost[:, cheapest].sum())
    any_right = correct.max(axis=1) > 0
    # Per prompt, the cheapest correct tier: wrong tiers are priced out with +inf before the argmin.
    priced = np.where(correct > 0, cost, np.inf)
    oracle_pick = np.where(any_right, np.argmin(priced, axis=1), cheapest)
    oracle_cost = float(cost[np.arange(len(cost)), oracle_pick].sum())
    rate = min(max(top_rate, 0.0), 1.0)
    first = {} if cheapest == 0 else {"always_first": _baseline("always_first", first_acc, first_cost, top_acc,
                                                                 top_cost)}
    return {
        "always_cheapest": _baseline("always_cheapest", cheap_acc, cheap_cost, top_acc, top_cost),
        **first,
        "always_top": _baseline("always_top", top_acc, top_cost, top_acc, top_cost),
        "random": _baseline(
            "random", (1 - rate) * first_acc + rate * top_acc, (1 - rate) * first_cost + rate * top_cost,
            top_acc, top_cost,
        ),
        "oracle": _baseline("oracle", float(any_right.sum() / n), oracle_cost, top_acc, top_cost),
    }
