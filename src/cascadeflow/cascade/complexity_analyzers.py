"""The v0.2.0 plan's complexity analyzers, as names over the rule-based detector (:mod:`.complexity`).

* :class:`CodeComplexityAnalyzer` — Python code itself: cyclomatic complexity from the same ``ast`` walk the
  detector scores code with (1 + branches + loops), bucketed simple (< 5) / medium (< 15) / high.
* :class:`QueryComplexityAnalyzer` — a question's text: the detector's five levels, also bucketed into the
  plan's simple / medium / high (trivial+simple, moderate, hard+expert — the buckets ``domain_rules`` uses).

Either can name a model per bucket (``models={"simple": "gpt-4o-mini", ...}``); without one, ``model`` is left
out, since the analyzer does not know your tiers. The opt-in LLM classifier is
:class:`~cascadeflow.cascade.llm_complexity.LLMComplexityAnalyzer`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from cascadeflow.cascade.complexity import ComplexityDetector, ComplexitySettings, _ast_stats
from cascadeflow.errors import ConfigError

BUCKETS: Final = ("simple", "medium", "high")
LEVEL_BUCKET: Final = MappingProxyType({"trivial": "simple", "simple": "simple", "moderate": "medium",
                                        "hard": "high", "expert": "high"})
CYCLOMATIC_MEDIUM: Final = 5
"""McCabe's classic bands: 1-4 is simple code a small model rewrites reliably, 5-14 needs care."""
CYCLOMATIC_HIGH: Final = 15
"""15 and up is hard to test and to reason about (McCabe suggested splitting functions above 10-15)."""


def _check_models(models: Mapping[str, str] | None) -> dict[str, str]:
    if models is None:
        return {}
    if not isinstance(models, Mapping) or any(k not in BUCKETS or not isinstance(v, str) for k, v in models.items()):
        raise ConfigError("models", f"must map {list(BUCKETS)} to model names, got {models!r}")
    return dict(models)


class CodeComplexityAnalyzer:
    """``analyze_code(code)`` → ``{"complexity", "cyclomatic", "branches", "loops", "depth", "functions"}``."""

    def __init__(self, models: Mapping[str, str] | None = None) -> None:
        self.models = _check_models(models)

    def analyze_code(self, code: str) -> dict[str, Any]:
        stats = _ast_stats(code)
        if stats is None:
            raise ConfigError("code", "does not parse as Python (analyze the question with QueryComplexityAnalyzer)")
        cyclomatic = 1 + stats.branches + stats.loops
        bucket = "simple" if cyclomatic < CYCLOMATIC_MEDIUM else "medium" if cyclomatic < CYCLOMATIC_HIGH else "high"
        result: dict[str, Any] = {"complexity": bucket, "cyclomatic": cyclomatic, "branches": stats.branches,
                                  "loops": stats.loops, "depth": stats.depth, "functions": stats.functions}
        if bucket in self.models:
            result["model"] = self.models[bucket]
        return result


class QueryComplexityAnalyzer:
    """``analyze_query(query)`` → ``{"complexity": simple|medium|high, "level", "score", "signals"}``."""

    def __init__(self, models: Mapping[str, str] | None = None, settings: ComplexitySettings | None = None) -> None:
        self.models = _check_models(models)
        self.detector = ComplexityDetector(settings)

    def analyze_query(self, query: str) -> dict[str, Any]:
        found = self.detector.detect(query)
        bucket = LEVEL_BUCKET[found.level]
        result: dict[str, Any] = {"complexity": bucket, "level": found.level, "score": round(found.score, 3),
                                  "signals": list(found.signals)}
        if bucket in self.models:
            result["model"] = self.models[bucket]
        return result
