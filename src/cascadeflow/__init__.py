"""cascadeflow: send each LLM call to the cheapest model that can do the job.

    from cascadeflow import CascadeAgent, ModelConfig, QualityConfig

Public names are loaded lazily (PEP 562) so ``import cascadeflow`` stays cheap; see ``__all__``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: Mapping[str, str] = MappingProxyType({
    "AllTiersFailedError": "cascadeflow.errors",
    "AuthenticationError": "cascadeflow.errors",
    "BadRequestError": "cascadeflow.errors",
    "BudgetConfig": "cascadeflow.budget.config",
    "BudgetExceededError": "cascadeflow.errors",
    "CascadeAgent": "cascadeflow.agent",
    "CascadeFlowError": "cascadeflow.errors",
    "CascadeResult": "cascadeflow.cascade.result",
    "CheckResult": "cascadeflow.cascade.quality.base",
    "CircuitOpenError": "cascadeflow.errors",
    "Completion": "cascadeflow.types",
    "CompletionRequest": "cascadeflow.types",
    "ConfigError": "cascadeflow.errors",
    "CostTracker": "cascadeflow.budget.tracker",
    "EnforcementCallbacks": "cascadeflow.budget.enforcement",
    "EnforcementContext": "cascadeflow.budget.enforcement",
    "FunctionProvider": "cascadeflow.providers.fakes",
    "MalformedResponseError": "cascadeflow.errors",
    "Message": "cascadeflow.types",
    "ModelConfig": "cascadeflow.config",
    "PermanentProviderError": "cascadeflow.errors",
    "Provider": "cascadeflow.providers.protocol",
    "ProviderError": "cascadeflow.errors",
    "QualityConfig": "cascadeflow.config",
    "RateLimitError": "cascadeflow.errors",
    "RateLimitExceededError": "cascadeflow.errors",
    "RetriableProviderError": "cascadeflow.errors",
    "ScriptedProvider": "cascadeflow.providers.fakes",
    "StepRecord": "cascadeflow.cascade.result",
    "ToolCall": "cascadeflow.types",
    "ToolSpec": "cascadeflow.types",
    "UnknownModelError": "cascadeflow.errors",
    "Usage": "cascadeflow.types",
    "ValidationContext": "cascadeflow.cascade.quality.base",
    "Verdict": "cascadeflow.cascade.quality.base",
    "local_agent": "cascadeflow.local_defaults",
})

__all__ = [
    "AllTiersFailedError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetConfig",
    "BudgetExceededError",
    "CascadeAgent",
    "CascadeFlowError",
    "CascadeResult",
    "CheckResult",
    "CircuitOpenError",
    "Completion",
    "CompletionRequest",
    "ConfigError",
    "CostTracker",
    "EnforcementCallbacks",
    "EnforcementContext",
    "FunctionProvider",
    "MalformedResponseError",
    "Message",
    "ModelConfig",
    "PermanentProviderError",
    "Provider",
    "ProviderError",
    "QualityConfig",
    "RateLimitError",
    "RateLimitExceededError",
    "RetriableProviderError",
    "ScriptedProvider",
    "StepRecord",
    "ToolCall",
    "ToolSpec",
    "UnknownModelError",
    "Usage",
    "ValidationContext",
    "Verdict",
    "__version__",
    "local_agent",
]

if TYPE_CHECKING:
    from cascadeflow.agent import CascadeAgent
    from cascadeflow.budget.config import BudgetConfig
    from cascadeflow.budget.enforcement import EnforcementCallbacks, EnforcementContext
    from cascadeflow.budget.tracker import CostTracker
    from cascadeflow.cascade.quality.base import CheckResult, ValidationContext, Verdict
    from cascadeflow.cascade.result import CascadeResult, StepRecord
    from cascadeflow.config import ModelConfig, QualityConfig
    from cascadeflow.errors import (
        AllTiersFailedError,
        AuthenticationError,
        BadRequestError,
        BudgetExceededError,
        CascadeFlowError,
        CircuitOpenError,
        ConfigError,
        MalformedResponseError,
        PermanentProviderError,
        ProviderError,
        RateLimitError,
        RateLimitExceededError,
        RetriableProviderError,
        UnknownModelError,
    )
    from cascadeflow.local_defaults import local_agent
    from cascadeflow.providers.fakes import FunctionProvider, ScriptedProvider
    from cascadeflow.providers.protocol import Provider
    from cascadeflow.types import Completion, CompletionRequest, Message, ToolCall, ToolSpec, Usage


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cascadeflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
