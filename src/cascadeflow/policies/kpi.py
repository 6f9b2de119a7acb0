"""``kpi_weights=``: where each agent run's cascade starts, by weighted quality, cost and latency.

The cascade's own KPI routing (:class:`~cascadeflow.cascade.routing.RoutingPolicy`) scores the tiers; this
policy applies it to the first answer of each cascade run inside the governed run, so one agent can weigh cost
and another quality (``@cascadeflow.agent(kpi_weights=...)``). The cascade goes on from the chosen start
(``switch_model``, not final); calls that are not a cascade's first answer are left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from cascadeflow.cascade.routing import KpiWeights, RoutingPolicy
from cascadeflow.policies.protocol import BasePolicy, Outcome

if TYPE_CHECKING:
    from cascadeflow.cascade.hooks import CallStart
    from cascadeflow.harness.session import RunSession


class KpiPolicy(BasePolicy):
    name = "kpi_weights"

    def __init__(self, weights: Mapping[str, object] | KpiWeights) -> None:
        self.weights = KpiWeights.parse(weights)
        self._routing = RoutingPolicy(self.weights)

    def before(self, call: CallStart, run: RunSession) -> Outcome | None:
        if call.kind not in ("complete", "stream") or call.position != 0 or len(call.tiers) < 2:
            return None
        decision = self._routing.decide(call.tiers, call.complexity or "moderate", None, call.tier)
        start = decision.plan[0]
        if start == call.tier:
            return None
        return Outcome("switch_model", f"KPI weights {self.weights.describe()} start at {call.tiers[start].model}",
                       tier=start, final=False)
