"""Prices and per-call cost, in ``Decimal`` USD.

A call's cost is always its *reported* token usage times the model's input/output prices. Prices come from
the :class:`~cascadeflow.config.ModelConfig` (blended ``cost`` per 1K, or input/output per 1M); else the model is
free if its provider is declared free (local and self-hosted servers); else from the maintained ``genai-prices``
catalogue, through :class:`~cascadeflow.price_cache.PriceCache` (importing the catalogue takes ~0.5 s, so its
answers are remembered on disk).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from cascadeflow.config import ModelConfig
from cascadeflow.errors import UnknownModelError
from cascadeflow.types import Usage

if TYPE_CHECKING:
    from cascadeflow.price_sources import PriceSource

_PER_MILLION = Decimal(1_000_000)
_PER_THOUSAND_TO_PER_MILLION = Decimal(1000)


@dataclass(frozen=True, slots=True)
class Price:
    """USD per 1M input and output tokens."""

    input_per_1m: Decimal
    output_per_1m: Decimal
    source: str = "config"

    def cost(self, usage: Usage) -> Decimal:
        return (usage.input_tokens * self.input_per_1m + usage.output_tokens * self.output_per_1m) / _PER_MILLION

    @property
    def blended_per_1m(self) -> Decimal:
        """Mean of input and output price; used only to order tiers from cheapest to dearest."""
        return (self.input_per_1m + self.output_per_1m) / 2


FREE = Price(Decimal(0), Decimal(0), source="free")


def resolve_price(
    config: ModelConfig, *, provider_is_free: bool = False, catalogue: PriceSource | None = None
) -> Price:
    """The price of one model, or :class:`UnknownModelError` telling the user how to supply it.

    ``catalogue`` answers what the config does not say: by default genai-prices through its on-disk cache (one
    per agent; a fresh one if None); :mod:`cascadeflow.price_sources` chains more (LiteLLM's price map).
    """
    if config.cost is not None:
        per_1m = Decimal(str(config.cost)) * _PER_THOUSAND_TO_PER_MILLION
        return Price(per_1m, per_1m, source="config:cost")
    if config.input_price is not None and config.output_price is not None:
        return Price(Decimal(str(config.input_price)), Decimal(str(config.output_price)), source="config:prices")
    if provider_is_free:
        return FREE
    from cascadeflow.price_cache import PriceCache

    rate = (catalogue or PriceCache()).lookup(config.name, config.provider)
    if rate is None:
        raise UnknownModelError(
            "ModelConfig.cost",
            f"no price known for model {config.name!r} (provider {config.provider!r}); pass cost= (USD per 1K "
            "tokens) or input_price=/output_price= (USD per 1M tokens)",
        )
    return Price(rate.input_per_1m, rate.output_per_1m, source=rate.source)
