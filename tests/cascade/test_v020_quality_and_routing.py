"""The v0.2.0 plan's names: QualityValidator's switches over the composite checks, the opt-in semantic and
toxicity checks, the complexity analyzers (AST, query, LLM) and embedding domain detection — with fake
embedders and providers here; the packaged model itself in tests/seeds/test_packaged_model.py."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np
import pytest
from numpy.typing import NDArray

from cascadeflow import CascadeAgent, FunctionProvider, ModelConfig
from cascadeflow.cascade.complexity_analyzers import CodeComplexityAnalyzer, QueryComplexityAnalyzer
from cascadeflow.cascade.domain_embed import EmbeddingDomainDetector
from cascadeflow.cascade.llm_complexity import LLMComplexityAnalyzer, parse_level
from cascadeflow.cascade.quality.base import ValidationContext, Verdict
from cascadeflow.cascade.quality.checks.toxicity import RuleToxicityScorer
from cascadeflow.cascade.quality.quality_validator import QualityValidator
from cascadeflow.config import CheckSettings, QualityConfig
from cascadeflow.errors import ConfigError, ProviderUnavailableError
from cascadeflow.types import Completion, CompletionRequest, Message

CONTEXT = ValidationContext(complexity="simple", threshold=0.7)


def _judge(validator: QualityValidator, question: str, answer: str) -> Verdict:
    request = CompletionRequest(messages=(Message(role="user", content=question),))
    verdict = validator(request, Completion(content=answer, model="m"), CONTEXT)
    assert isinstance(verdict, Verdict)
    return verdict


class BagOfWords:
    """A stand-in embedder: one dimension per known word, L2-normalised (topic words decide similarity)."""

    VOCAB = ("sky", "blue", "color", "quicksort", "pivot", "array", "python", "recipe", "pasta")

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        rows = np.array([[float(w in t.lower()) for w in self.VOCAB] + [0.01] for t in texts], dtype=np.float32)
        normalised: NDArray[np.float32] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        return normalised


def test_flags_map_onto_the_composite_checks() -> None:
    default = QualityValidator()
    assert "refusal" in default.check_names and "degeneration" in default.check_names
    assert "semantic" not in default.check_names and "toxicity" not in default.check_names
    off = QualityValidator(enable_hedging_check=False, enable_coherence_check=False)
    assert "refusal" not in off.check_names and "degeneration" not in off.check_names
    assert _judge(default, "Is it safe?", "I'm not sure, I don't know.").passed is False
    assert _judge(off, "Is it safe?", "I'm not sure, I don't know.").decided_by != "refusal"
    with pytest.raises(ConfigError, match="enable_toxicity_detection"):
        QualityValidator(enable_toxicity_detection="yes")  # type: ignore[arg-type]


def test_semantic_check_vetoes_an_off_topic_answer() -> None:
    validator = QualityValidator(enable_semantic_similarity=True, embedder=BagOfWords())
    on = _judge(validator, "What color is the sky?", "The sky is blue because of Rayleigh scattering of light.")
    off = _judge(validator, "What color is the sky?", "Boil the pasta for nine minutes, then add the recipe's sauce.")
    assert on.passed and off.passed is False and off.decided_by == "semantic"


def test_toxicity_check_with_the_rule_scorer_and_a_plugged_in_one() -> None:
    scorer = RuleToxicityScorer()
    assert scorer.score("Quicksort picks a pivot and partitions the array.") == 0.0
    assert scorer.score("You are an idiot for asking this.") == 0.8
    assert scorer.score("I will kill you.") == 1.0
    assert scorer.score("Scunthorpe is a town; assess the class of classic assets.") == 0.0
    validator = QualityValidator(enable_toxicity_detection=True)
    rude = _judge(validator, "How do I sort a list?", "You're a complete moron. Use sorted(items) in Python.")
    assert rude.passed is False and rude.decided_by == "toxicity"

    class Always:
        def score(self, text: str) -> float:
            return 0.9

    assert _judge(QualityValidator(enable_toxicity_detection=True, toxicity_scorer=Always()),
                  "Hi", "Hello! How can I help you today?").decided_by == "toxicity"
    # the same checks by name through CheckSettings, as every other check
    by_name = QualityConfig.for_cascade(checks=CheckSettings(weights={"toxicity": 2.0}))
    agent = CascadeAgent(models=[ModelConfig(name="a", cost=0.001), ModelConfig(name="b", cost=0.01)],
                         providers={"a": FunctionProvider(lambda r: "Shut up, you idiot.", model="a"),
                                    "b": FunctionProvider(lambda r: "Sure, here is how.", model="b")},
                         quality_config=by_name, resilience=False, env_file=None)
    result = asyncio.run(agent.run("hi"))  # trivial: kept unless a check vetoes, and toxicity does
    assert result.model_used == "b" and result.steps[0].verdict is not None
    assert result.steps[0].verdict.decided_by == "toxicity"


def test_code_and_query_complexity_analyzers() -> None:
    code = CodeComplexityAnalyzer(models={"simple": "gpt-3.5-turbo", "high": "gpt-4"})
    assert code.analyze_code("print('hi')") == {"complexity": "simple", "cyclomatic": 1, "branches": 0,
                                                 "loops": 0, "depth": 0, "functions": 0, "model": "gpt-3.5-turbo"}
    branchy = "\n".join(["def f(x):"] + [f"    if x == {i}:\n        return {i}" for i in range(16)])
    assert code.analyze_code(branchy)["complexity"] == "high"
    with pytest.raises(ConfigError, match="code"):
        code.analyze_code("def (:")
    query = QueryComplexityAnalyzer()
    assert query.analyze_query("What color is the sky?")["complexity"] == "simple"
    hard = query.analyze_query("Prove that there are infinitely many primes, rigorously, step by step.")
    assert hard["complexity"] == "high" and hard["level"] in ("hard", "expert")


async def test_llm_complexity_analyzer_classifies_and_falls_back_to_the_rules() -> None:
    assert parse_level("Expert.") == "expert" and parse_level("it is medium") == "moderate"
    assert parse_level("no idea") is None
    seen: list[CompletionRequest] = []

    def classify(request: CompletionRequest) -> str:
        seen.append(request)
        return "hard"

    analyzer = LLMComplexityAnalyzer(FunctionProvider(classify, model="tiny"))
    assert await analyzer.analyze("What color is the sky?") == {
        "complexity": "hard", "source": "llm", "signals": ["llm:hard", "short:5 words"]}
    assert seen[0].max_tokens == 8 and seen[0].messages[0].role == "system"

    def down(request: CompletionRequest) -> str:
        raise ProviderUnavailableError("503")

    broken = LLMComplexityAnalyzer(FunctionProvider(down, model="tiny"))
    found = await broken.adetect("What color is the sky?")
    assert found.level == "trivial" and found.signals[0] == "llm:failed (ProviderUnavailableError)"
    # the agent awaits the classifier and the engine uses its level
    agent = CascadeAgent(models=[ModelConfig(name="a", cost=0.001), ModelConfig(name="b", cost=0.01)],
                         providers={"a": FunctionProvider(lambda r: "Blue.", model="a"),
                                    "b": FunctionProvider(lambda r: "Blue, usually.", model="b")},
                         complexity_detector=LLMComplexityAnalyzer(FunctionProvider(lambda r: "expert", model="t")),
                         resilience=False, env_file=None)
    result = await agent.run("What color is the sky?")
    assert result.complexity == "expert" and result.model_used == "b"  # expert goes straight to the top tier
    with pytest.raises(ConfigError, match="metadata"):
        await agent.run("hi", metadata={"complexity": "galactic"})


def test_embedding_domain_detector_votes_with_neighbours_and_rules() -> None:
    prompts = ["Implement quicksort with a pivot", "Sort an array in python", "Why is the sky blue?",
               "What color is the sky at noon?"]
    detector = EmbeddingDomainDetector.from_examples(prompts, ["code", "code", "factual", "factual"],
                                                     BagOfWords(), k=2)
    assert detector.detect("How does quicksort choose its pivot?").domain == "code"
    assert detector.detect("Is the sky blue at dusk?").domain == "factual"
    with pytest.raises(ConfigError, match="labels"):
        EmbeddingDomainDetector(BagOfWords(), labels=["code"], vectors=None)
    with pytest.raises(ConfigError, match="labels"):
        EmbeddingDomainDetector.from_examples(["x"], ["galactic"], BagOfWords())
