"""Shared pieces of the framework-adapter tests: a two-tier cascade of public fakes and a small governor.

The frameworks are the real packages; only the models behind the cascade are scripted, so a tool call can be
made to happen on demand (a 135M model will not call tools reliably; the llama.cpp tests check the rest).
"""

from __future__ import annotations

import importlib
import os
from decimal import Decimal
from types import ModuleType

import pytest

from cascadeflow import (
    BudgetExceededError,
    CascadeAgent,
    Completion,
    ModelConfig,
    Provider,
    ScriptedProvider,
    ToolCall,
)
from cascadeflow.integrations.governance import CallSource
from cascadeflow.types import Usage

SMALL, LARGE = "small-model", "large-model"
GOOD = "The sky is blue on a clear day, because air scatters blue sunlight the most (Rayleigh scattering)."
HEDGE = "I'm not sure, I don't know."
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def require(module: str) -> ModuleType:
    """Import a framework; skip without it on a developer machine, fail in CI (where test.sh installs it)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"{module} is not installed in CI: {exc}", pytrace=False)
        pytest.skip(f"{module} is not installed")


def tool_call(name: str = "get_weather", arguments: str = '{"city": "Paris"}', call_id: str = "call_1") -> Completion:
    return Completion(content="", model=SMALL, finish_reason="tool_calls", usage=Usage(20, 8),
                      tool_calls=(ToolCall(id=call_id, name=name, arguments=arguments),))


def cascade_of(cheap: Provider, dear: Provider) -> CascadeAgent:
    """A cheap and a dear tier over the given providers."""
    return CascadeAgent(
        models=[ModelConfig(name=SMALL, provider="fake", cost=0.0001),
                ModelConfig(name=LARGE, provider="fake", cost=0.01)],
        providers={SMALL: cheap, LARGE: dear},
    )


def two_tier(small: list[object], large: list[object]) -> tuple[CascadeAgent, ScriptedProvider, ScriptedProvider]:
    """A cheap and a dear tier, both scripted; the dear one answers whatever the cheap one could not."""
    cheap = ScriptedProvider(small, model=SMALL)  # type: ignore[arg-type]
    dear = ScriptedProvider(large, model=LARGE)  # type: ignore[arg-type]
    return cascade_of(cheap, dear), cheap, dear


class BudgetGovernor:
    """The smallest governor: a USD budget and a tool-call cap, enforced. Records what it was told."""

    def __init__(self, budget: Decimal | None = None, max_tool_calls: int | None = None) -> None:
        self.budget = budget
        self.max_tool_calls = max_tool_calls
        self.spent = Decimal(0)
        self.started: list[str] = []
        self.calls: list[tuple[str, Usage, Decimal | None, CallSource]] = []
        self.tool_calls: list[tuple[str, CallSource, bool]] = []

    def before_call(self, model: str) -> None:
        self.started.append(model)
        if self.budget is not None and self.spent >= self.budget:
            raise BudgetExceededError(f"budget {self.budget} spent before calling {model}",
                                      window="run", limit=self.budget, spent=self.spent)

    def record_call(self, model: str, usage: Usage, cost: Decimal | None, *, source: CallSource) -> None:
        self.calls.append((model, usage, cost, source))
        self.spent += cost or Decimal(0)
        if self.budget is not None and self.spent > self.budget:
            raise BudgetExceededError(f"budget {self.budget} exceeded by {model}",
                                      window="run", limit=self.budget, spent=self.spent)

    def allow_tool_call(self, name: str, *, source: CallSource) -> bool:
        allowed = self.max_tool_calls is None or sum(ok for *_, ok in self.tool_calls) < self.max_tool_calls
        self.tool_calls.append((name, source, allowed))
        return allowed
