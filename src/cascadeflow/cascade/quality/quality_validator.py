"""``QualityValidator``: the v0.2.0 plan's switches over the composite validator.

    QualityValidator(enable_hedging_check=True, enable_coherence_check=True,
                     enable_semantic_similarity=False, enable_toxicity_detection=False)

It *is* a :class:`~cascadeflow.cascade.quality.composite.CompositeValidator` (same checks, vetoes and verdicts);
each flag sets the weight of the checks it names, on top of ``quality_config.checks``:

=============================  ======================================================  ==================
flag                           checks                                                  when on
=============================  ======================================================  ==================
``enable_hedging_check``       ``refusal`` (refusals and first-person hedging)         its default weight
``enable_coherence_check``     ``degeneration`` (loops, gibberish, broken characters)  its default weight
``enable_semantic_similarity`` ``semantic`` (question/answer embeddings, ``[semantic]``)  ``SEMANTIC_WEIGHT``
``enable_toxicity_detection``  ``toxicity`` (rule-based scorer unless you pass one)    ``TOXICITY_WEIGHT``
=============================  ======================================================  ==================

A flag set to False gives its checks weight 0 (not run). The rule checks not named by a flag (completeness,
relevance, answer type, tool calls, token confidence) keep their settings. Use it as ``CascadeAgent(validator=
QualityValidator(...))``; its thresholds still come from the agent's ``QualityConfig``.
"""

from __future__ import annotations

from typing import Final

from cascadeflow.cascade.embedding import Embedder, require_semantic
from cascadeflow.cascade.quality.checks.degeneration import SPEC as DEGENERATION
from cascadeflow.cascade.quality.checks.refusal import SPEC as REFUSAL
from cascadeflow.cascade.quality.checks.semantic import SemanticSettings
from cascadeflow.cascade.quality.checks.toxicity import ToxicityScorer, ToxicitySettings
from cascadeflow.cascade.quality.composite import CompositeValidator
from cascadeflow.config import CheckSettings, QualityConfig
from cascadeflow.errors import ConfigError

SEMANTIC_WEIGHT: Final = 1.5
"""Like relevance: topicality matters, but a terse correct answer can score a middling similarity."""
TOXICITY_WEIGHT: Final = 2.0
"""Like refusal: its vetoes decide, its mild findings only shave the score."""


class QualityValidator(CompositeValidator):
    """The composite validator with the plan's ``enable_*`` switches (see the module docstring for the map)."""

    def __init__(
        self,
        *,
        enable_hedging_check: bool = True,
        enable_coherence_check: bool = True,
        enable_semantic_similarity: bool = False,
        enable_toxicity_detection: bool = False,
        quality_config: QualityConfig | None = None,
        embedder: Embedder | None = None,
        toxicity_scorer: ToxicityScorer | None = None,
    ) -> None:
        flags = {"enable_hedging_check": enable_hedging_check, "enable_coherence_check": enable_coherence_check,
                 "enable_semantic_similarity": enable_semantic_similarity,
                 "enable_toxicity_detection": enable_toxicity_detection}
        for name, value in flags.items():
            if not isinstance(value, bool):
                raise ConfigError(name, f"must be True or False, got {value!r}")
        quality = quality_config or QualityConfig.for_cascade()
        base = quality.checks
        weights = dict(base.weights)
        options = dict(base.options)
        weights[REFUSAL.name] = base.weights.get(REFUSAL.name, REFUSAL.weight) if enable_hedging_check else 0.0
        weights[DEGENERATION.name] = (base.weights.get(DEGENERATION.name, DEGENERATION.weight)
                                      if enable_coherence_check else 0.0)
        weights["semantic"] = SEMANTIC_WEIGHT if enable_semantic_similarity else 0.0
        weights["toxicity"] = TOXICITY_WEIGHT if enable_toxicity_detection else 0.0
        if enable_semantic_similarity:
            if embedder is None:
                require_semantic("enable_semantic_similarity")
                options.setdefault("semantic", SemanticSettings())  # a lazy model of this validator's own
            else:
                options["semantic"] = SemanticSettings(embedder=embedder)
        if toxicity_scorer is not None:
            options["toxicity"] = ToxicitySettings(scorer=toxicity_scorer)
        settings = CheckSettings(weights=weights, veto=base.veto, user_weight=base.user_weight, options=options)
        super().__init__(settings=settings, validators=quality.validators)
        self.flags = flags
