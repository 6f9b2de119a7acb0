"""The read side of a ``CostTracker``: spending per window, records, totals, exports, forecasts, anomalies."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from cascadeflow.budget import exports
from cascadeflow.budget.anomalies import Anomaly, find_anomalies
from cascadeflow.budget.forecast import ForecastPoint, forecast_daily
from cascadeflow.budget.money import usd
from cascadeflow.budget.policy import BudgetPolicy
from cascadeflow.budget.records import ALL_USERS, BucketCheck, BucketRef, LedgerRecord, user_account
from cascadeflow.budget.stores import LedgerStore
from cascadeflow.budget.windows import check_window


class LedgerReads:
    """Mixed into :class:`CostTracker`; everything here reads the shared store, nothing holds or spends."""

    _store: LedgerStore
    _policy: BudgetPolicy
    _clock: Callable[[], datetime]

    def spent(self, user_id: str | None = None, window: str = "daily") -> Decimal:
        """Committed USD in the current ``window`` (hourly/daily/weekly/monthly/total); ``None``: all users."""
        kind = check_window(window)
        account = ALL_USERS if user_id is None else user_account(user_id)
        bucket = BucketRef(account, self._policy.keys(kind, self._clock()))
        (state,) = self._store.usage([BucketCheck(bucket, None)])
        return usd(state.committed_units)

    def records(self, user_id: str | None = None) -> list[LedgerRecord]:
        """One record per settled call (time, user, model, tokens in/out, cost, request id), oldest first."""
        return self._store.records(user_id)

    @property
    def total_cost(self) -> Decimal:
        return self.spent(None, "total")

    @property
    def by_model(self) -> dict[str, Decimal]:
        return {k: usd(v) for k, v in sorted(self._store.totals("model").items())}

    @property
    def by_user(self) -> dict[str, Decimal]:
        return {k: usd(v) for k, v in sorted(self._store.totals("user_id").items())}

    def export_json(self, path: str | Path, *, user_id: str | None = None) -> int:
        """Write the records as a JSON array; returns the number of rows. Costs are exact decimal strings."""
        return exports.write_json(self.records(user_id), Path(path))

    def export_csv(self, path: str | Path, *, user_id: str | None = None) -> int:
        return exports.write_csv(self.records(user_id), Path(path))

    def export_sqlite(self, path: str | Path, *, user_id: str | None = None) -> int:
        return exports.write_sqlite(self.records(user_id), Path(path))

    def export_parquet(self, path: str | Path, *, user_id: str | None = None) -> int:
        """Needs pyarrow (ImportError naming it otherwise)."""
        return exports.write_parquet(self.records(user_id), Path(path))

    def daily_costs(self, user_id: str | None = None) -> dict[date, Decimal]:
        """Settled USD per local calendar day (the tracker's time zone), days without spending included."""
        return daily_series(self.records(user_id), self._policy)

    def forecast(self, user_id: str | None = None, days: int = 7) -> list[ForecastPoint]:
        """Expected spending per coming day with an interval, from the daily history (any model, any user)."""
        series = self.daily_costs(user_id)
        return forecast_daily(series, days)

    def anomalies(self) -> list[Anomaly]:
        """Users and days whose spending stands out from their own history or from other users."""
        per_user: dict[str, list[LedgerRecord]] = defaultdict(list)
        for record in self.records():
            per_user[record.user_id].append(record)
        return find_anomalies({user: daily_series(recs, self._policy) for user, recs in per_user.items()})


def daily_series(records: list[LedgerRecord], policy: BudgetPolicy) -> dict[date, Decimal]:
    totals: dict[date, Decimal] = defaultdict(Decimal)
    for record in records:
        totals[record.time.astimezone(policy.tz).date()] += record.cost
    if not totals:
        return {}
    first, last = min(totals), max(totals)
    out: dict[date, Decimal] = {}
    day = first
    while day <= last:
        out[day] = totals.get(day, Decimal(0))
        day = date.fromordinal(day.toordinal() + 1)
    return out
