"""Catalogue prices remembered on disk: the same answers as genai-prices, without importing it again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from cascadeflow import ModelConfig
from cascadeflow.errors import UnknownModelError
from cascadeflow.price_cache import PRICE_CACHE_ENV, PriceCache, _validity
from cascadeflow.pricing import resolve_price


def test_a_cached_lookup_equals_genai_prices(tmp_path: Path) -> None:
    from genai_prices import Usage, calc_price

    cache_file = tmp_path / "prices.json"
    first = PriceCache(cache_file).lookup("gpt-4o-mini", "openai")
    expected = calc_price(Usage(input_tokens=1_000_000, output_tokens=0), model_ref="gpt-4o-mini",
                          provider_id="openai")
    assert first is not None and first.input_per_1m == Decimal(expected.total_price)
    again = PriceCache(cache_file).lookup("gpt-4o-mini", "openai")
    assert again == first
    assert "openai\x1fgpt-4o-mini" in json.loads(cache_file.read_text())


def test_unknown_models_are_remembered_as_unknown(tmp_path: Path) -> None:
    cache_file = tmp_path / "prices.json"
    assert PriceCache(cache_file).lookup("no-such-model-xyz", "openai") is None
    entry = json.loads(cache_file.read_text())["openai\x1fno-such-model-xyz"]
    assert entry == {"in": None, "out": None, "until": None}


def test_a_fresh_process_answers_from_the_file_without_importing_the_catalogue(tmp_path: Path) -> None:
    PriceCache(tmp_path / "genai-prices-x.json").lookup("gpt-4o", "openai")  # warm a cache dir
    env = {**os.environ, PRICE_CACHE_ENV: str(tmp_path / "dir")}
    code = (
        "import sys\n"
        "from cascadeflow import CascadeAgent, ModelConfig\n"
        "m = [ModelConfig(name='gpt-4o-mini', provider='openai', api_key='k'),"
        " ModelConfig(name='gpt-4o', provider='openai', api_key='k')]\n"
        "CascadeAgent(models=m)\n"
        "print('genai_prices' in sys.modules, 'pydantic' in sys.modules)\n"
    )
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert first.stdout.split() == ["True", "True"]  # the first process asks the catalogue
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert second.stdout.split() == ["False", "False"]  # later ones read the file


def test_entries_expire_when_a_new_price_starts(tmp_path: Path) -> None:
    cache_file = tmp_path / "prices.json"
    cache_file.write_text(json.dumps({"openai\x1fgpt-4o": {"in": "1", "out": "2", "until": "2026-01-01"}}))
    fresh = PriceCache(cache_file, today=date(2025, 12, 31)).lookup("gpt-4o", "openai")
    assert fresh is not None and fresh.input_per_1m == Decimal(1)  # still valid: served from the file
    renewed = PriceCache(cache_file, today=date(2026, 1, 1)).lookup("gpt-4o", "openai")
    assert renewed is not None and renewed.input_per_1m != Decimal(1)  # expired: asked genai-prices again


def test_validity_of_conditional_prices() -> None:
    dated = SimpleNamespace(prices=[SimpleNamespace(constraint=None),
                                    SimpleNamespace(constraint=SimpleNamespace(start_date=date(2027, 3, 1)))])
    assert _validity(dated, date(2026, 12, 1)) == (date(2027, 3, 1), True)
    assert _validity(dated, date(2027, 3, 2)) == (None, True)
    by_hour = SimpleNamespace(prices=[SimpleNamespace(constraint=SimpleNamespace(start_time="16:30"))])
    assert _validity(by_hour, date(2026, 12, 1)) == (None, False)
    assert _validity(SimpleNamespace(prices=SimpleNamespace()), date(2026, 12, 1)) == (None, True)


def test_cache_off_and_unknown_model_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PRICE_CACHE_ENV, "off")
    assert PriceCache().path is None
    with pytest.raises(UnknownModelError, match="no price known for model 'nope-1'"):
        resolve_price(ModelConfig(name="nope-1", provider="openai"))


def test_httpx_cli_is_deferred_but_still_callable() -> None:
    code = (
        "import sys\n"
        "from cascadeflow.providers.httpx_cli import defer_httpx_cli\n"
        "defer_httpx_cli()\n"
        "import httpx\n"
        "print('rich' in sys.modules, 'click' in sys.modules)\n"
        "try:\n"
        "    httpx.main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('click' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = done.stdout.split()
    assert lines[:2] == ["False", "False"]  # httpx imported without its CLI's dependencies
    assert "Usage" in done.stdout and lines[-1] == "True"  # the real CLI loads when called
