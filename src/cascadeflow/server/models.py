"""One :class:`CascadeAgent` per exposed model, all sharing the gateway's cost tracker and run hooks.

A cascade entry becomes a multi-tier agent with the default quality checks; a plan entry is
``CascadeAgent.from_config``'s agent; a passed-through model is a one-tier agent whose answer is final and is not
judged (the validator and the complexity detector are skipped: nothing would act on them). Tiers that speak
OpenAI's wire API get the gateway's fast upstream client unless ``server.upstream_client: httpx``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from cascadeflow.agent import CascadeAgent
from cascadeflow.budget.tracker import CostTracker
from cascadeflow.cascade.hooks import RunHooks
from cascadeflow.cascade.quality.base import ValidationContext, Verdict
from cascadeflow.config import ModelConfig
from cascadeflow.providers.protocol import Provider
from cascadeflow.providers.registry import ProviderRegistry, default_registry
from cascadeflow.server.config import GatewayConfig, ModelEntry
from cascadeflow.server.upstream_provider import UpstreamOpenAIProvider
from cascadeflow.types import Completion, CompletionRequest

_OPENAI_WIRE: Final = ":OpenAICompatibleProvider"
_PASSTHROUGH: Final = Verdict(score=1.0, passed=True, reasons=("passed through",), decided_by="passthrough")


def accept_passthrough(request: CompletionRequest, draft: Completion, context: ValidationContext) -> Verdict:
    """A passed-through model's answer is final: nothing to judge."""
    return _PASSTHROUGH


class _Unclassified:
    level = "simple"
    signals: tuple[str, ...] = ()


class NoComplexity:
    """One tier has one plan whatever the query: skip reading it."""

    _result = _Unclassified()

    def detect(self, text: str) -> _Unclassified:
        return self._result


def _providers(models: Sequence[ModelConfig], registry: ProviderRegistry, fast: bool) -> dict[str, Provider]:
    if not fast:
        return {}
    out: dict[str, Provider] = {}
    for config in models:
        preset = registry.get(config.provider)
        if preset.wire.endswith(_OPENAI_WIRE):
            out[config.name] = UpstreamOpenAIProvider.from_config(config, preset)
    return out


def build_agent(entry: ModelEntry, config: GatewayConfig, tracker: CostTracker | None,
                hooks: Sequence[RunHooks]) -> CascadeAgent:
    registry = default_registry()
    fast = config.settings.upstream_client == "fast"
    common: dict[str, Any] = {"cost_tracker": tracker, "hooks": list(hooks), "deadline_s": entry.deadline_s}
    if entry.plan is not None:
        from cascadeflow.cascade.plan_config import load_cascade_config

        kwargs = load_cascade_config(entry.plan)
        return CascadeAgent(**kwargs, providers=_providers(kwargs["models"], registry, fast), **common)
    providers = _providers(entry.tiers, registry, fast)
    if entry.passthrough:
        return CascadeAgent(list(entry.tiers), providers=providers, validator=accept_passthrough,
                            complexity_detector=NoComplexity(), **common)
    return CascadeAgent(list(entry.tiers), providers=providers, tier_order=entry.tier_order,
                        max_escalations=entry.max_escalations, **common)


def build_tracker(config: GatewayConfig) -> CostTracker | None:
    """One tracker over the shared store, with each key's budget under its id; None when no key has a budget."""
    budgets = {k.id: k.budget for k in config.keys if k.budget is not None}
    if not budgets:
        return None
    return CostTracker(user_budgets=budgets, enforcement_mode="enforce", store=config.store)
