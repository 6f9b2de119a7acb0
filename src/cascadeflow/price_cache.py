"""Catalogue prices without paying for the catalogue on every start.

``genai-prices`` stays the source of truth, but importing it loads pydantic and a 1.6 MB data module: ~0.5 s on
a 2-core machine, which a CLI or a serverless function pays on every cold start. So each lookup's answer (USD per
1M input and output tokens, or "unknown") is written to a small JSON file keyed by the installed genai-prices
release; later processes read that file (a few ms) and import genai-prices only for a model they have not seen.

An entry is kept only while its answer cannot change: genai-prices has prices that start on a given date (the
entry expires then) and prices that depend on the time of day (those are never cached).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

PRICE_CACHE_ENV = "CASCADEFLOW_PRICE_CACHE"
"""A directory for the cache file, or ``off`` to always ask genai-prices."""
DEFAULT_PRICE_CACHE = Path("~/.cache/cascadeflow/prices")
_MILLION = 1_000_000


@dataclass(frozen=True, slots=True)
class CatalogueRate:
    """USD per 1M input and output tokens, as a catalogue (genai-prices unless ``source`` says) prices them today."""

    input_per_1m: Decimal
    output_per_1m: Decimal
    source: str = "genai-prices"


def _today() -> date:
    return datetime.now(UTC).date()


def _catalogue_fingerprint() -> str | None:
    """Size and mtime of genai-prices' data module: a new release (or data) gets a new cache file. Cheaper than
    ``importlib.metadata``, which alone costs ~45 ms to import."""
    spec = importlib.util.find_spec("genai_prices")
    if spec is None or not spec.submodule_search_locations:
        return None
    data = Path(next(iter(spec.submodule_search_locations))) / "data.py"
    try:
        stat = data.stat()
    except OSError:
        return None
    return f"{stat.st_size}-{stat.st_mtime_ns}"


def _cache_file() -> Path | None:
    setting = os.environ.get(PRICE_CACHE_ENV, "").strip()
    if setting.lower() == "off":
        return None
    fingerprint = _catalogue_fingerprint()
    if fingerprint is None:
        return None
    return Path(setting or DEFAULT_PRICE_CACHE).expanduser() / f"genai-prices-{fingerprint}.json"


class PriceCache:
    """Lookups of ``(model, provider)`` in genai-prices, remembered on disk. One per agent; no module state."""

    name = "genai-prices"

    def __init__(self, path: Path | bool | None = True, *, today: date | None = None) -> None:
        self.path = _cache_file() if path is True else (path or None)
        self._today = today or _today()
        self._entries: dict[str, Any] | None = None

    def lookup(self, model: str, provider: str) -> CatalogueRate | None:
        """The catalogue rate of ``model`` (tried with ``provider`` first, then any provider), or None."""
        key = f"{provider}\x1f{model}"
        entries = self._load()
        cached = entries.get(key)
        if isinstance(cached, dict) and self._fresh(cached):
            return _rate(cached)
        found, valid_until, cacheable = _ask_catalogue(model, provider, self._today)
        if cacheable:
            entries[key] = {
                "in": None if found is None else str(found.input_per_1m),
                "out": None if found is None else str(found.output_per_1m),
                "until": None if valid_until is None else valid_until.isoformat(),
            }
            self._save(key, entries[key])
        return found

    def _fresh(self, entry: dict[str, Any]) -> bool:
        until = entry.get("until")
        return until is None or self._today < date.fromisoformat(str(until))

    def _load(self) -> dict[str, Any]:
        if self._entries is None:
            self._entries = {}
            if self.path is not None:
                with contextlib.suppress(OSError, ValueError):
                    data = json.loads(self.path.read_text())
                    if isinstance(data, dict):
                        self._entries = data
        return self._entries

    def _save(self, key: str, entry: dict[str, Any]) -> None:
        """Merge one entry into the file (re-read first: other processes may have added theirs)."""
        if self.path is None:
            return
        with contextlib.suppress(OSError, ValueError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            current: dict[str, Any] = {}
            with contextlib.suppress(OSError, ValueError):
                loaded = json.loads(self.path.read_text())
                current = loaded if isinstance(loaded, dict) else {}
            current[key] = entry
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(current, sort_keys=True))
            os.replace(tmp, self.path)


def _rate(entry: dict[str, Any]) -> CatalogueRate | None:
    if entry.get("in") is None or entry.get("out") is None:
        return None
    return CatalogueRate(Decimal(str(entry["in"])), Decimal(str(entry["out"])))


def _ask_catalogue(model: str, provider: str, today: date) -> tuple[CatalogueRate | None, date | None, bool]:
    """Ask genai-prices: the rate, the date it may change (a future start date), and whether it may be cached."""
    try:
        from genai_prices import Usage, calc_price
        from genai_prices.data_snapshot import get_snapshot
    except ImportError:  # pragma: no cover - genai-prices is a core dependency
        return None, None, False
    snapshot = get_snapshot()
    for provider_id in (provider, None):
        try:
            calc_in = calc_price(Usage(input_tokens=_MILLION, output_tokens=0), model_ref=model,
                                 provider_id=provider_id)
            calc_out = calc_price(Usage(input_tokens=0, output_tokens=_MILLION), model_ref=model,
                                  provider_id=provider_id)
            _, info = snapshot.find_provider_model(model, None, provider_id, None)
        except (LookupError, ValueError):
            continue
        until, cacheable = _validity(info, today)
        rate = CatalogueRate(Decimal(calc_in.total_price), Decimal(calc_out.total_price))
        return rate, until, cacheable and not snapshot.from_auto_update
    return None, None, not snapshot.from_auto_update


def _validity(info: Any, today: date) -> tuple[date | None, bool]:
    """When a model's price may next change, and whether it depends on the time of day (then: never cache)."""
    prices = getattr(info, "prices", None)
    if not isinstance(prices, list):
        return None, True
    starts = []
    for conditional in prices:
        constraint = getattr(conditional, "constraint", None)
        start = getattr(constraint, "start_date", None)
        if constraint is not None and start is None:  # a time-of-day price: changes within the day
            return None, False
        if isinstance(start, date) and start > today:
            starts.append(start)
    return (min(starts) if starts else None), True
