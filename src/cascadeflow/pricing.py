"""Prices and per-call cost, in ``Decimal`` USD.

A call's cost is always its *reported* token usage times the model's input/output prices. Prices come from
the :class:`~cascadeflow.config.ModelConfig` (blended ``cost`` per 1K, or input/output per 1M); otherwise from
the maintained ``genai-prices`` catalogue (imported lazily: it takes ~0.4 s to load); otherwise the model is
free only if its provider is declared free (local and self-hosted servers).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from cascadeflow.config import ModelConfig
from cascadeflow.errors import UnknownModelError
from cascadeflow.types import Usage

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


def _catalogue_price(model: str, provider: str) -> Price | None:
    try:
        from genai_prices import Usage as GPUsage
        from genai_prices import calc_price
    except ImportError:  # pragma: no cover - optional at runtime
        return None
    try:
        # Price one million tokens of each kind to read the per-1M rates, whatever tiering the catalogue has.
        calc_in = calc_price(GPUsage(input_tokens=1_000_000, output_tokens=0), model_ref=model, provider_id=provider)
        calc_out = calc_price(GPUsage(input_tokens=0, output_tokens=1_000_000), model_ref=model, provider_id=provider)
    except (LookupError, ValueError):
        try:
            calc_in = calc_price(GPUsage(input_tokens=1_000_000, output_tokens=0), model_ref=model)
            calc_out = calc_price(GPUsage(input_tokens=0, output_tokens=1_000_000), model_ref=model)
        except (LookupError, ValueError):
            return None
    return Price(Decimal(calc_in.total_price), Decimal(calc_out.total_price), source="genai-prices")


def resolve_price(config: ModelConfig, *, provider_is_free: bool = False) -> Price:
    """The price of one model, or :class:`UnknownModelError` telling the user how to supply it."""
    if config.cost is not None:
        per_1m = Decimal(str(config.cost)) * _PER_THOUSAND_TO_PER_MILLION
        return Price(per_1m, per_1m, source="config:cost")
    if config.input_price is not None and config.output_price is not None:
        return Price(Decimal(str(config.input_price)), Decimal(str(config.output_price)), source="config:prices")
    if provider_is_free:
        return FREE
    found = _catalogue_price(config.name, config.provider)
    if found is None:
        raise UnknownModelError(
            "ModelConfig.cost",
            f"no price known for model {config.name!r} (provider {config.provider!r}); pass cost= (USD per 1K "
            "tokens) or input_price=/output_price= (USD per 1M tokens)",
        )
    return found
