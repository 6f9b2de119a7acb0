"""Money in the ledgers: exact ``Decimal`` USD at the API, integer nano-dollars in every store.

Stores keep integers because every backend can add and compare them atomically (SQL ``BIGINT``, Redis
``INCRBY``, Lua numbers) without rounding drift. Nano-dollars rather than micro-dollars: the cheapest catalogue
prices are ~1e-8 USD per token, so micro-dollars would round a short call's cost by more than the cost itself.
Range: Redis' Lua compares numbers as doubles, exact up to 2**53 nano-dollars (~9 million USD per bucket).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation

from cascadeflow.errors import ConfigError

UNITS_PER_USD = 10**9
MAX_UNITS = 2**53
_QUANTUM = Decimal(1) / UNITS_PER_USD

MoneyLike = Decimal | float | int | str


def to_decimal(value: MoneyLike, field: str) -> Decimal:
    """Exact Decimal from user input; floats go through ``str`` so ``10.10`` means 10.10, not its binary value."""
    if isinstance(value, bool):
        raise ConfigError(field, "expected an amount in USD, got a bool")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ConfigError(field, f"not an amount in USD: {value!r}") from exc
    if not amount.is_finite():
        raise ConfigError(field, f"amount must be finite, got {value!r}")
    return amount


def units_up(amount: Decimal) -> int:
    """USD → nano-dollars, rounded up: what we reserve or charge is never less than the true cost."""
    return int((amount * UNITS_PER_USD).to_integral_value(rounding=ROUND_CEILING))


def units_down(amount: Decimal) -> int:
    """USD → nano-dollars, rounded down: a limit is never loosened by rounding."""
    return int((amount * UNITS_PER_USD).to_integral_value(rounding=ROUND_FLOOR))


def usd(units: int) -> Decimal:
    """Nano-dollars → exact Decimal USD (9 decimal places)."""
    return (Decimal(units) / UNITS_PER_USD).quantize(_QUANTUM)


def fmt_usd(amount: Decimal) -> str:
    """For messages: ``1.95``, ``100``, ``0`` (no exponent, no trailing zeros)."""
    return f"{amount.normalize():f}" if amount.is_finite() else str(amount)
