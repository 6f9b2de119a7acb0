"""``LLMComplexityAnalyzer`` (opt-in): a small model classifies how hard a request is.

    agent = CascadeAgent(models=[...], complexity_detector=LLMComplexityAnalyzer(
        ModelConfig(name="gpt-4o-mini", provider="openai")))

Any provider works (a preset, a local llama.cpp server, a fake). The agent awaits :meth:`adetect` before the
cascade and hands the level to the engine; the rule detector is the fallback whenever the classifier fails,
times out or answers something that is not a level (the signals say which happened), so a run never fails
because of its classifier. The classifier's calls are extra calls outside the cascade: their cost is not in
``result.steps`` (it is one short prompt and a one-word answer; :attr:`LLMComplexityAnalyzer.calls` counts them).
The rule detector stays the default: free, microseconds, and explained signal by signal.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any, Final

from cascadeflow.cascade.complexity import ComplexityDetector, ComplexityResult
from cascadeflow.config import COMPLEXITY_LEVELS, Complexity, ModelConfig
from cascadeflow.errors import CascadeFlowError, ConfigError
from cascadeflow.providers.protocol import Provider
from cascadeflow.types import CompletionRequest, Message

INSTRUCTION: Final = (
    "Classify how hard the user's request is for an AI assistant. Answer with exactly one word: trivial "
    "(a lookup or greeting), simple (one short fact or step), moderate (explanation or a few steps), hard "
    "(multi-step reasoning, non-trivial code or analysis) or expert (proofs, research-level or specialist work)."
)
MAX_QUERY_CHARS: Final = 2000
"""Enough of a request to judge it; a pasted document's tail does not change the verdict but costs tokens."""
MAX_ANSWER_TOKENS: Final = 8
"""One word, with room for a tokenizer that splits it or a model that adds a full stop."""
_SYNONYMS: Final = MappingProxyType({
    "easy": "simple", "basic": "simple", "medium": "moderate", "intermediate": "moderate",
    "difficult": "hard", "complex": "hard", "advanced": "hard", "high": "hard",
})
_WORD_RE: Final = re.compile(r"[a-z]+")


def parse_level(text: str) -> Complexity | None:
    """The first level (or common synonym) named in a classifier's answer."""
    for word in _WORD_RE.findall(text.lower()):
        level = str(_SYNONYMS.get(word, word))
        for known in COMPLEXITY_LEVELS:
            if level == known:
                return known
    return None


class LLMComplexityAnalyzer:
    """Ask ``model`` for a level; fall back to ``fallback`` (the rule detector) when that fails."""

    def __init__(self, model: ModelConfig | Provider, *, fallback: ComplexityDetector | None = None,
                 temperature: float = 0.0) -> None:
        if isinstance(model, ModelConfig):
            from cascadeflow.providers.registry import default_registry
            from cascadeflow.resilience.provider import wrap_resilient

            model = wrap_resilient(default_registry().build(model), model)
        if not callable(getattr(model, "complete", None)):
            raise ConfigError("model", f"must be a ModelConfig or a provider, got {type(model).__name__}")
        self.provider: Provider = model
        self.fallback = fallback or ComplexityDetector()
        self.temperature = temperature
        self.calls = 0

    def detect(self, text: str) -> ComplexityResult:
        """The synchronous path (``agent.stream``, which does not await a classifier): the rules."""
        return self.fallback.detect(text)

    async def adetect(self, text: str) -> ComplexityResult:
        request = CompletionRequest(
            messages=(Message(role="system", content=INSTRUCTION),
                      Message(role="user", content=text[:MAX_QUERY_CHARS])),
            max_tokens=MAX_ANSWER_TOKENS, temperature=self.temperature,
        )
        self.calls += 1
        try:
            answer = (await self.provider.complete(request)).content
        except CascadeFlowError as exc:
            return self._fallback(text, f"llm:failed ({type(exc).__name__})")
        level = parse_level(answer)
        if level is None:
            return self._fallback(text, f"llm:unparsable {answer.strip()[:20]!r}")
        rules = self.fallback.detect(text)
        return ComplexityResult(level, (f"llm:{level}", *rules.signals), rules.score)

    async def analyze(self, query: str) -> dict[str, Any]:
        """The plan's shape: ``{"complexity": level, "source": "llm" | "rules", "signals": [...]}``."""
        found = await self.adetect(query)
        source = "llm" if found.signals and found.signals[0] == f"llm:{found.level}" else "rules"
        return {"complexity": found.level, "source": source, "signals": list(found.signals)}

    def _fallback(self, text: str, why: str) -> ComplexityResult:
        rules = self.fallback.detect(text)
        return ComplexityResult(rules.level, (why, *rules.signals), rules.score)

    async def aclose(self) -> None:
        await self.provider.aclose()
