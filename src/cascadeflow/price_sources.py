"""Where catalogue prices come from: genai-prices (default) and, optionally, LiteLLM's price map.

A model priced in its :class:`~cascadeflow.config.ModelConfig` never reaches a catalogue. For the others the
agent asks its sources in order and takes the first answer::

    CascadeAgent(models=[...], price_sources=("genai-prices", "litellm"))   # LiteLLM fills genai-prices' gaps

``litellm`` (``pip install "cascadeflow[litellm]"``, pinned to 1.81.0) knows many models genai-prices does not
(Bedrock, Vertex and other hosted variants). Importing it costs ~3 s, so it is imported only when an earlier
source had no price, and its price map is the one shipped in the installed package: it is told not to fetch a
newer one over the network (``LITELLM_LOCAL_MODEL_COST_MAP`` while it imports, unless you set it yourself).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from cascadeflow.errors import ConfigError
from cascadeflow.price_cache import CatalogueRate, PriceCache

LITELLM_INSTALL_HINT = 'price source "litellm" needs the litellm package: pip install "cascadeflow[litellm]"'
_LOCAL_MAP_ENV = "LITELLM_LOCAL_MODEL_COST_MAP"
_PER_MILLION = Decimal(1_000_000)


@runtime_checkable
class PriceSource(Protocol):
    """Answers "what does this model cost per 1M input/output tokens", or None when it does not know."""

    name: str

    def lookup(self, model: str, provider: str) -> CatalogueRate | None: ...


class LiteLLMPrices:
    """LiteLLM's price map (``litellm.model_cost``), per token, turned into USD per 1M tokens.

    ``module`` stands in for the imported litellm (tests); by default litellm is imported on first lookup.
    """

    name = "litellm"

    def __init__(self, module: Any | None = None) -> None:
        self._module = module

    def _costs(self) -> Mapping[str, Any]:
        if self._module is None:
            self._module = _import_litellm()
        costs = getattr(self._module, "model_cost", None)
        return costs if isinstance(costs, Mapping) else {}

    def lookup(self, model: str, provider: str) -> CatalogueRate | None:
        costs = self._costs()
        for key in (f"{provider}/{model}", model):
            entry = costs.get(key)
            if isinstance(entry, Mapping):
                rate = _rate(entry)
                if rate is not None:
                    return rate
        return None


def _import_litellm() -> Any:
    """Import litellm with its shipped price map: it reads this variable once, at import, and would otherwise
    fetch a newer map over the network. The variable is restored afterwards (a user's own setting wins)."""
    previous = os.environ.get(_LOCAL_MAP_ENV)
    os.environ[_LOCAL_MAP_ENV] = previous or "True"
    try:
        import litellm
    except ImportError as exc:
        raise ConfigError("price_sources", LITELLM_INSTALL_HINT) from exc
    finally:
        if previous is None:
            os.environ.pop(_LOCAL_MAP_ENV, None)
    return litellm


def _rate(entry: Mapping[str, Any]) -> CatalogueRate | None:
    try:
        per_in = Decimal(str(entry["input_cost_per_token"])) * _PER_MILLION
        per_out = Decimal(str(entry["output_cost_per_token"])) * _PER_MILLION
    except (KeyError, InvalidOperation):
        return None
    return CatalogueRate(per_in.normalize(), per_out.normalize(), source="litellm")


class PriceSources:
    """Several sources asked in order; the first that knows the model answers."""

    name = "chain"

    def __init__(self, sources: Iterable[PriceSource]) -> None:
        self.sources = tuple(sources)

    def lookup(self, model: str, provider: str) -> CatalogueRate | None:
        for source in self.sources:
            rate = source.lookup(model, provider)
            if rate is not None:
                return rate
        return None


DEFAULT_PRICE_SOURCES: tuple[str, ...] = ("genai-prices",)
_BUILDERS = MappingProxyType({"genai-prices": PriceCache, "litellm": LiteLLMPrices})


def build_price_sources(spec: Sequence[str | PriceSource] = DEFAULT_PRICE_SOURCES) -> PriceSources:
    """Names (``"genai-prices"``, ``"litellm"``) or ready sources, in the order they are asked."""
    if isinstance(spec, str):
        spec = (spec,)
    built: list[PriceSource] = []
    for i, item in enumerate(spec):
        if isinstance(item, str):
            builder = _BUILDERS.get(item)
            if builder is None:
                raise ConfigError(f"price_sources[{i}]", f"unknown price source {item!r}; known: {sorted(_BUILDERS)}")
            built.append(builder())
        elif isinstance(item, PriceSource):
            built.append(item)
        else:
            raise ConfigError(f"price_sources[{i}]", f"must be a source name or a PriceSource, got {item!r}")
    if not built:
        raise ConfigError("price_sources", "give at least one price source")
    return PriceSources(built)
