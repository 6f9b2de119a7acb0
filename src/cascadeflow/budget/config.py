"""``BudgetConfig``: spending limits per calendar window, in exact Decimal USD."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from cascadeflow.budget.money import MAX_UNITS, MoneyLike, to_decimal, units_down
from cascadeflow.budget.windows import WINDOWS, Window
from cascadeflow.errors import ConfigError


@dataclass(frozen=True, slots=True, init=False)
class BudgetConfig:
    """Limits in USD per hourly / daily / weekly / monthly calendar window and for all time (``total``).

    Accepts floats, ints, strings or Decimals; floats are read through ``str`` so ``daily=10.10`` is exactly
    10.10. A window left as ``None`` is not limited (its spending is still recorded and readable).
    """

    hourly: Decimal | None
    daily: Decimal | None
    weekly: Decimal | None
    monthly: Decimal | None
    total: Decimal | None

    def __init__(
        self,
        hourly: MoneyLike | None = None,
        daily: MoneyLike | None = None,
        weekly: MoneyLike | None = None,
        monthly: MoneyLike | None = None,
        total: MoneyLike | None = None,
    ) -> None:
        given = {"hourly": hourly, "daily": daily, "weekly": weekly, "monthly": monthly, "total": total}
        if all(value is None for value in given.values()):
            raise ConfigError("BudgetConfig", "set at least one of hourly, daily, weekly, monthly, total")
        for name, value in given.items():
            object.__setattr__(self, name, None if value is None else _limit(name, value))

    def limit(self, window: Window) -> Decimal | None:
        """The limit of one window, or ``None`` when that window is not limited."""
        value: Decimal | None = getattr(self, window)
        return value

    def limits(self) -> tuple[tuple[Window, Decimal], ...]:
        """The limited windows, shortest first."""
        return tuple((w, v) for w in WINDOWS if (v := self.limit(w)) is not None)


def _limit(name: str, value: MoneyLike) -> Decimal:
    field = f"BudgetConfig.{name}"
    amount = to_decimal(value, field)
    if amount < 0:
        raise ConfigError(field, f"must be >= 0 USD, got {value!r}")
    if units_down(amount) >= MAX_UNITS:
        raise ConfigError(field, f"must be below 9,000,000 USD per window, got {value!r}")
    return amount
