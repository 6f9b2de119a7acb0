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
    "CascadeAgent": "cascadeflow.cascade_agent",
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
    "StoreUnavailableError": "cascadeflow.errors",
    "ToolCall": "cascadeflow.types",
    "ToolSpec": "cascadeflow.types",
    "UnknownModelError": "cascadeflow.errors",
    "Usage": "cascadeflow.types",
    "ValidationContext": "cascadeflow.cascade.quality.base",
    "Verdict": "cascadeflow.cascade.quality.base",
    "local_agent": "cascadeflow.local_defaults",
    "agent": "cascadeflow.harness.api",
    "init": "cascadeflow.harness.api",
    "run": "cascadeflow.harness.api",
    "stats": "cascadeflow.harness.api",
    "reset": "cascadeflow.harness.api",
    "Harness": "cascadeflow.harness.api",
    "RunSession": "cascadeflow.harness.session",
    "Decision": "cascadeflow.harness.decisions",
    "PolicyStopError": "cascadeflow.errors",
    "CompliancePack": "cascadeflow.policies.compliance",
    "SafetyPack": "cascadeflow.policies.safety",
    "SafetyRule": "cascadeflow.policies.safety",
    "CircuitBreaker": "cascadeflow.resilience.breaker",
    "CodeComplexityAnalyzer": "cascadeflow.cascade.complexity_analyzers",
    "EmbeddingDomainDetector": "cascadeflow.cascade.domain_embed",
    "ErrorClassifier": "cascadeflow.production.classify",
    "HealthMonitor": "cascadeflow.production.health",
    "LLMComplexityAnalyzer": "cascadeflow.cascade.llm_complexity",
    "QualityValidator": "cascadeflow.cascade.quality.quality_validator",
    "QueryComplexityAnalyzer": "cascadeflow.cascade.complexity_analyzers",
    "RetryConfig": "cascadeflow.resilience.retry_config",
    "execute_with_retry": "cascadeflow.production.run_retry",
    "health_check": "cascadeflow.production.health",
    "load_dotenv": "cascadeflow.dotenv",
    "query_with_fallback": "cascadeflow.production.run_retry",
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
    "CircuitBreaker",
    "CircuitOpenError",
    "CodeComplexityAnalyzer",
    "Completion",
    "CompletionRequest",
    "CompliancePack",
    "ConfigError",
    "CostTracker",
    "Decision",
    "EmbeddingDomainDetector",
    "EnforcementCallbacks",
    "EnforcementContext",
    "ErrorClassifier",
    "FunctionProvider",
    "Harness",
    "HealthMonitor",
    "LLMComplexityAnalyzer",
    "MalformedResponseError",
    "Message",
    "ModelConfig",
    "PermanentProviderError",
    "PolicyStopError",
    "Provider",
    "ProviderError",
    "QualityConfig",
    "QualityValidator",
    "QueryComplexityAnalyzer",
    "RateLimitError",
    "RateLimitExceededError",
    "RetriableProviderError",
    "RetryConfig",
    "RunSession",
    "SafetyPack",
    "SafetyRule",
    "ScriptedProvider",
    "StepRecord",
    "StoreUnavailableError",
    "ToolCall",
    "ToolSpec",
    "UnknownModelError",
    "Usage",
    "ValidationContext",
    "Verdict",
    "__version__",
    "agent",
    "execute_with_retry",
    "health_check",
    "init",
    "load_dotenv",
    "local_agent",
    "query_with_fallback",
    "reset",
    "run",
    "stats",
]

if TYPE_CHECKING:
    from cascadeflow.budget.config import BudgetConfig
    from cascadeflow.budget.enforcement import EnforcementCallbacks, EnforcementContext
    from cascadeflow.budget.tracker import CostTracker
    from cascadeflow.cascade.complexity_analyzers import CodeComplexityAnalyzer, QueryComplexityAnalyzer
    from cascadeflow.cascade.domain_embed import EmbeddingDomainDetector
    from cascadeflow.cascade.llm_complexity import LLMComplexityAnalyzer
    from cascadeflow.cascade.quality.base import CheckResult, ValidationContext, Verdict
    from cascadeflow.cascade.quality.quality_validator import QualityValidator
    from cascadeflow.cascade.result import CascadeResult, StepRecord
    from cascadeflow.cascade_agent import CascadeAgent
    from cascadeflow.config import ModelConfig, QualityConfig
    from cascadeflow.dotenv import load_dotenv
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
        PolicyStopError,
        ProviderError,
        RateLimitError,
        RateLimitExceededError,
        RetriableProviderError,
        StoreUnavailableError,
        UnknownModelError,
    )
    from cascadeflow.harness.api import Harness, agent, init, reset, run, stats
    from cascadeflow.harness.decisions import Decision
    from cascadeflow.harness.session import RunSession
    from cascadeflow.local_defaults import local_agent
    from cascadeflow.policies.compliance import CompliancePack
    from cascadeflow.policies.safety import SafetyPack, SafetyRule
    from cascadeflow.production.classify import ErrorClassifier
    from cascadeflow.production.health import HealthMonitor, health_check
    from cascadeflow.production.run_retry import execute_with_retry, query_with_fallback
    from cascadeflow.providers.fakes import FunctionProvider, ScriptedProvider
    from cascadeflow.providers.protocol import Provider
    from cascadeflow.resilience.breaker import CircuitBreaker
    from cascadeflow.resilience.retry_config import RetryConfig
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
