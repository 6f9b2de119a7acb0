"""Budgets and cost tracking: ``CostTracker``, ``BudgetConfig``, enforcement callbacks, shared ledger stores.

    from cascadeflow.budget import CostTracker, BudgetConfig
    tracker = CostTracker(user_budgets={"u1": BudgetConfig(daily=10)}, store="sqlite:///costs.db")

Names load lazily (PEP 562): Redis/PostgreSQL drivers are imported only by the store that uses them.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

_EXPORTS: Mapping[str, str] = MappingProxyType({
    "Anomaly": "cascadeflow.budget.anomalies",
    "BudgetAlert": "cascadeflow.budget.enforcement",
    "BudgetConfig": "cascadeflow.budget.config",
    "BudgetManager": "cascadeflow.budget.manager",
    "CallPlan": "cascadeflow.budget.planner",
    "CannotAfford": "cascadeflow.budget.planner",
    "CostTracker": "cascadeflow.budget.tracker",
    "Decision": "cascadeflow.budget.enforcement",
    "EnforcementCallbacks": "cascadeflow.budget.enforcement",
    "EnforcementContext": "cascadeflow.budget.enforcement",
    "ForecastPoint": "cascadeflow.budget.forecast",
    "LedgerRecord": "cascadeflow.budget.records",
    "LedgerStore": "cascadeflow.budget.stores.protocol",
    "MemoryLedgerStore": "cascadeflow.budget.stores.memory",
    "PostgresLedgerStore": "cascadeflow.budget.stores.postgres",
    "RedisLedgerStore": "cascadeflow.budget.stores.redis",
    "Reservation": "cascadeflow.budget.reservation",
    "SqliteLedgerStore": "cascadeflow.budget.stores.sqlite",
    "TokenPrice": "cascadeflow.budget.planner",
    "TrackerStats": "cascadeflow.budget.tracker",
    "open_store": "cascadeflow.budget.stores",
    "plan_call": "cascadeflow.budget.planner",
    "prompt_tokens_upper_bound": "cascadeflow.budget.planner",
})

__all__ = [
    "Anomaly",
    "BudgetAlert",
    "BudgetConfig",
    "BudgetManager",
    "CallPlan",
    "CannotAfford",
    "CostTracker",
    "Decision",
    "EnforcementCallbacks",
    "EnforcementContext",
    "ForecastPoint",
    "LedgerRecord",
    "LedgerStore",
    "MemoryLedgerStore",
    "PostgresLedgerStore",
    "RedisLedgerStore",
    "Reservation",
    "SqliteLedgerStore",
    "TokenPrice",
    "TrackerStats",
    "open_store",
    "plan_call",
    "prompt_tokens_upper_bound",
]

if TYPE_CHECKING:
    from cascadeflow.budget.anomalies import Anomaly
    from cascadeflow.budget.config import BudgetConfig
    from cascadeflow.budget.enforcement import BudgetAlert, Decision, EnforcementCallbacks, EnforcementContext
    from cascadeflow.budget.forecast import ForecastPoint
    from cascadeflow.budget.manager import BudgetManager
    from cascadeflow.budget.planner import CallPlan, CannotAfford, TokenPrice, plan_call, prompt_tokens_upper_bound
    from cascadeflow.budget.records import LedgerRecord
    from cascadeflow.budget.reservation import Reservation
    from cascadeflow.budget.stores import open_store
    from cascadeflow.budget.stores.memory import MemoryLedgerStore
    from cascadeflow.budget.stores.postgres import PostgresLedgerStore
    from cascadeflow.budget.stores.protocol import LedgerStore
    from cascadeflow.budget.stores.redis import RedisLedgerStore
    from cascadeflow.budget.stores.sqlite import SqliteLedgerStore
    from cascadeflow.budget.tracker import CostTracker, TrackerStats


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cascadeflow.budget' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
