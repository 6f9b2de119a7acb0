"""Embedding-based domain detection (opt-in, ``pip install 'cascadeflow[routing]'``).

    agent = CascadeAgent(models=[...], enable_domain_routing=True, domain_detector=EmbeddingDomainDetector())

The request is embedded (:mod:`cascadeflow.cascade.embedding`, all-MiniLM-L6-v2 from a PyPI package by default)
and compared with labelled exemplars: the ``k`` most similar vote for their domain, weighted by similarity, and
the rule detector's normalised scores are added with weight ``rule_weight`` (so its task rules — "translate
...", "write a function ..." — still count, and a tie between two topics goes to the one the rules see). Default
exemplars: the labelled set's ``dev`` split (the split the rules were tuned on), shipped as precomputed vectors
(``data/domain_exemplars.npz``, written by ``python -m cascadeflow.bench.domain_embed_eval --write``), so
building a detector embeds nothing. On the held-out ``test`` split it is measured against the rules' 90.1%
(numbers in the README; ``python -m cascadeflow.bench.domain_embed_eval``). Each call costs one embedding (a few
milliseconds on a CPU) instead of the rules' ~40 µs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from cascadeflow.cascade.domain import DOMAINS, DomainDetector, DomainResult
from cascadeflow.cascade.embedding import Embedder, PackagedMiniLM, require_semantic
from cascadeflow.errors import ConfigError
from cascadeflow.validate import check_int, check_number

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

EXEMPLARS: Final = Path(__file__).parent / "data" / "domain_exemplars.npz"
DEFAULT_K: Final = 7
"""Votes from the seven nearest exemplars: enough to outvote one mislabelled or odd neighbour, few enough that
small domains (38 code exemplars) are not drowned by big ones."""
DEFAULT_RULE_WEIGHT: Final = 0.5
"""The rules' normalised scores count half as much as the neighbours' votes: embeddings lead, rules break ties."""


class EmbeddingDomainDetector:
    """``detect(text) -> DomainResult`` from nearest labelled exemplars plus the rule detector's scores."""

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        labels: Sequence[str] | None = None,
        vectors: NDArray[np.float32] | None = None,
        k: int = DEFAULT_K,
        rule_weight: float = DEFAULT_RULE_WEIGHT,
        rules: DomainDetector | None = None,
    ) -> None:
        import numpy as np

        check_int("k", k, lo=1)
        check_number("rule_weight", rule_weight)
        if embedder is None:
            require_semantic("EmbeddingDomainDetector")
        self.embedder: Embedder = embedder or PackagedMiniLM()
        if (labels is None) != (vectors is None):
            raise ConfigError("labels", "give labels and vectors together (or neither, for the shipped exemplars)")
        if labels is None:
            with np.load(EXEMPLARS) as data:
                labels, vectors = [str(x) for x in data["labels"]], data["vectors"].astype(np.float32)
        assert vectors is not None
        unknown = sorted(set(labels) - set(DOMAINS))
        if unknown or len(labels) != len(vectors) or not len(labels):
            raise ConfigError("labels", f"need one known domain per vector ({', '.join(DOMAINS)}); got {unknown}")
        self.labels = np.array([DOMAINS.index(x) for x in labels])
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.k = min(k, len(labels))
        self.rule_weight = rule_weight
        self.rules = rules or DomainDetector()

    @classmethod
    def from_examples(cls, prompts: Sequence[str], labels: Sequence[str], embedder: Embedder | None = None,
                      **kwargs: object) -> EmbeddingDomainDetector:
        """Exemplars of your own (e.g. your traffic, labelled): embedded once, here."""
        if len(prompts) != len(labels) or not prompts:
            raise ConfigError("prompts", "give one label per prompt, at least one")
        model = embedder or PackagedMiniLM()
        return cls(model, labels=labels, vectors=model.embed(list(prompts)), **kwargs)  # type: ignore[arg-type]

    def detect(self, text: str) -> DomainResult:
        import numpy as np

        query = self.embedder.embed([text])[0]
        similarity = self.vectors @ query
        nearest = np.argpartition(-similarity, self.k - 1)[: self.k]
        votes = np.zeros(len(DOMAINS))
        for i in nearest:
            votes[self.labels[i]] += max(float(similarity[i]), 0.0)
        votes = votes / votes.sum() if votes.sum() > 0 else votes
        ruled = self.rules.detect(text)
        rule_scores = np.array([ruled.scores.get(d, 0.0) for d in DOMAINS])
        if rule_scores.sum() > 0:
            votes = votes + self.rule_weight * rule_scores / rule_scores.sum()
        best = int(votes.argmax())
        confidence = float(votes[best] / votes.sum()) if votes.sum() > 0 else 0.0
        top = max(nearest, key=lambda i: similarity[i])
        signals = (f"embedding:nearest {DOMAINS[self.labels[top]]} ({float(similarity[top]):.2f})", *ruled.signals)
        return DomainResult(DOMAINS[best], round(confidence, 4), signals,
                            {d: round(float(v), 4) for d, v in zip(DOMAINS, votes, strict=True)})
