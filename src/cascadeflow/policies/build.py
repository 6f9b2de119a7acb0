"""The policies of a run from ``cascadeflow.run(...)``'s keyword arguments, each validated and named."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from cascadeflow.errors import ConfigError
from cascadeflow.policies.protocol import Policy
from cascadeflow.validate import check_int, check_number

POLICY_ARGUMENTS = ("budget", "max_tool_calls", "compliance", "kpi_weights", "time_budget_ms", "safety", "policies")


def money(value: object, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal) or not math.isfinite(float(value)):
        raise ConfigError(field, f"must be a number of USD >= 0, got {value!r}")
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    if amount < 0:
        raise ConfigError(field, f"must be >= 0, got {value!r}")
    return amount


def build_policies(
    *,
    budget: float | Decimal | None = None,
    max_tool_calls: int | None = None,
    compliance: object = None,
    kpi_weights: Mapping[str, float] | None = None,
    time_budget_ms: float | None = None,
    safety: object = None,
    policies: Sequence[Policy] = (),
    known_latency_ms: Mapping[str, float] | None = None,
) -> tuple[Decimal | None, tuple[Policy, ...]]:
    """``(budget, policies)``: budget first (it decides cost), then compliance and safety (they may stop or move a
    call), then the rest. Unknown packs and bad values are ConfigErrors naming the argument."""
    found: list[Policy] = []
    amount = None if budget is None else money(budget, "budget")
    if compliance is not None:
        from cascadeflow.policies.compliance import compliance_policy

        found.append(compliance_policy(compliance))
    if safety is not None and safety is not False:
        from cascadeflow.policies.safety import safety_policy

        found.append(safety_policy(safety))
    if amount is not None:
        from cascadeflow.policies.budget import BudgetPolicy

        found.append(BudgetPolicy(amount))
    if max_tool_calls is not None:
        from cascadeflow.policies.tool_calls import ToolCallPolicy

        check_int("max_tool_calls", max_tool_calls, lo=0)
        found.append(ToolCallPolicy(max_tool_calls))
    if kpi_weights is not None:
        from cascadeflow.policies.kpi import KpiPolicy

        found.append(KpiPolicy(kpi_weights))
    if time_budget_ms is not None:
        from cascadeflow.policies.time_budget import TimeBudgetPolicy

        check_number("time_budget_ms", time_budget_ms, lo=1)
        found.append(TimeBudgetPolicy(time_budget_ms, known_latency_ms))
    if isinstance(policies, str) or not isinstance(policies, Sequence):
        raise ConfigError("policies", f"must be a list of policies, got {policies!r}")
    for i, policy in enumerate(policies):
        if not isinstance(policy, Policy):
            raise ConfigError(f"policies[{i}]", f"must implement before/answer/after and a name, got {policy!r}")
        found.append(policy)
    return amount, tuple(found)


def check_arguments(kwargs: Mapping[str, Any]) -> None:
    unknown = sorted(set(kwargs) - set(POLICY_ARGUMENTS) - {"name", "user_id"})
    if unknown:
        raise ConfigError(unknown[0], f"unknown run argument; use {', '.join(POLICY_ARGUMENTS)}, name, user_id")
