"""Plan strategies: how a tier of a YAML plan judges its draft, looked up by name — no if/elif on names.

A strategy names the settings block it reads from a tier (``agreement: {...}``, ``learned: {...}``, or its own),
checks that block when the plan is read, and builds the tier's validator (or None for the agent's default
composite checks). The built-in ones are listed by import path and loaded only when a plan uses them; register
your own with :meth:`StrategyRegistry.register` and pass the registry to ``CascadeAgent.from_config(...,
strategies=...)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

from cascadeflow.errors import ConfigError

if TYPE_CHECKING:
    from cascadeflow.cascade.plan_config import TierPlan
    from cascadeflow.cascade.quality.base import Validator
    from cascadeflow.cascade.quality.code_behaviour import BehaviourRunner
    from cascadeflow.config import QualityConfig

BUILTIN: Final[tuple[str, ...]] = (
    "cascadeflow.cascade.strategies:RULE",
    "cascadeflow.cascade.quality.agreement:AGREEMENT",
    "cascadeflow.cascade.quality.agreement:COLLECT",
    "cascadeflow.cascade.quality.learned:LEARNED",
)


@dataclass(frozen=True, slots=True)
class StrategyContext:
    """What a strategy may use to build a validator: the plan's quality settings and shared resources."""

    quality: QualityConfig
    runner: BehaviourRunner | None = None
    """The sandboxed code runner all tiers of the plan share (created only when a tier runs code)."""


@runtime_checkable
class PlanStrategy(Protocol):
    """One named way of judging a tier's draft."""

    @property
    def name(self) -> str: ...

    @property
    def settings_key(self) -> str | None:
        """The tier key holding this strategy's settings (None: it takes none)."""
        ...

    def check(self, settings: Mapping[str, Any], where: str) -> Mapping[str, Any]:
        """Validate the settings block when the plan is read; ConfigError naming ``where.<field>``."""
        ...

    def runs_code(self, settings: Mapping[str, Any]) -> bool:
        """Whether the validator will execute model-written code (then the plan creates a sandboxed runner)."""
        ...

    def build(self, tier: TierPlan, settings: Mapping[str, Any], context: StrategyContext) -> Validator | None:
        ...


@dataclass(frozen=True, slots=True)
class FixedStrategy:
    """A strategy without settings whose validator is always the same: ``rule`` (None: the agent's composite
    checks with the tier's threshold), ``collect`` (never accept; keep the draft for later tiers to agree with)."""

    name: str
    validator: Validator | None = None
    settings_key: str | None = None

    def check(self, settings: Mapping[str, Any], where: str) -> Mapping[str, Any]:
        return settings

    def runs_code(self, settings: Mapping[str, Any]) -> bool:
        return False

    def build(self, tier: TierPlan, settings: Mapping[str, Any], context: StrategyContext) -> Validator | None:
        return self.validator


RULE: Final = FixedStrategy("rule")


class StrategyRegistry:
    """Name → strategy. Each plan load holds its own registry (no module-level mutable state)."""

    def __init__(self, strategies: Iterable[PlanStrategy | str] = BUILTIN) -> None:
        self._strategies: dict[str, PlanStrategy | str] = {}
        for strategy in strategies:
            self.register(strategy)

    def register(self, strategy: PlanStrategy | str) -> None:
        """Add a strategy object, or a ``"module:ATTR"`` path loaded on first use (its name is the attribute's
        ``name``; a path is registered under the lowercased attribute name until loaded)."""
        if isinstance(strategy, str):
            self._strategies[strategy.rpartition(":")[2].lower()] = strategy
        elif isinstance(strategy, PlanStrategy):
            self._strategies[strategy.name] = strategy
        else:
            raise ConfigError("strategies", f"must be a PlanStrategy or 'module:ATTR', got {strategy!r}")

    def names(self) -> list[str]:
        return sorted(self._strategies)

    def settings_keys(self) -> frozenset[str]:
        return frozenset(k for name in self._strategies for k in (self.get(name).settings_key,) if k)

    def get(self, name: str) -> PlanStrategy:
        found = self._strategies.get(name)
        if found is None:
            raise ConfigError("strategy", f"must be one of {self.names()}, got {name!r}")
        if isinstance(found, str):
            module, _, attr = found.partition(":")
            found = getattr(importlib.import_module(module), attr)
            if not isinstance(found, PlanStrategy):
                raise ConfigError("strategy", f"{name!r}: {module}:{attr} is not a PlanStrategy")
            self._strategies[name] = found
        return found
