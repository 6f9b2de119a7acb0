"""Loaders for RouterBench and RouteLLM recordings, the hashed split, and the real files' headers."""

from __future__ import annotations

from pathlib import Path

import pytest

from cascadeflow.bench.datasets import (
    LIST_PRICES,
    common_models,
    load_records,
    load_routellm,
    load_routerbench,
    split_records,
)
from cascadeflow.errors import ConfigError

SHARED = Path(__file__).resolve().parents[3] / "shared" / "bench"


def test_routerbench_rows_become_records(routerbench_csv: Path) -> None:
    records, stats = load_routerbench(routerbench_csv)
    assert stats.kept == 120 and stats.duplicates == 1
    first = records[0]
    assert first.prompt_id == "toy.test.0" and first.dataset == "toy"
    assert first.prompt.startswith("Which one fits item 0000?") and "\nD) choice 3" in first.prompt
    assert first.models == ("tiny-7b", "mid-34b", "big-gpt")
    assert first.answers["tiny-7b"].answer.endswith("\n")  # the literal list is unwrapped, text kept exactly
    assert records[5].answers["tiny-7b"].correct is False  # NaN grade
    assert 0 < first.answers["big-gpt"].cost_usd < 1e-2


def test_routellm_priced_at_list_prices_without_contaminated_prompts(routellm_csv: Path) -> None:
    records, stats = load_routellm(routellm_csv)
    assert stats.contaminated == 1 and stats.kept == 39
    weak = records[0].answers["mistralai/Mixtral-8x7B-Instruct-v0.1"]
    assert weak.input_tokens is not None and weak.output_tokens is not None
    price_in, price_out = LIST_PRICES["mistralai/Mixtral-8x7B-Instruct-v0.1"]
    assert weak.cost_usd == pytest.approx((weak.input_tokens * price_in + weak.output_tokens * price_out) / 1e6)
    strong = records[0].answers["gpt-4-1106-preview"]
    assert strong.correct is True and strong.cost_usd > weak.cost_usd
    listed = routellm_csv.parent / "gsm8k_contaminated_prompts.jsonl"
    explicit, explicit_stats = load_routellm(routellm_csv, contaminated=listed)
    assert explicit_stats.contaminated == 1 and len(explicit) == 39
    with pytest.raises(ConfigError, match="contamination list"):
        load_routellm(routellm_csv, contaminated=routellm_csv.parent / "missing.jsonl")


def test_load_records_detects_formats_and_rejects_others(routerbench_csv: Path, routellm_csv: Path,
                                                          tmp_path: Path) -> None:
    records, stats = load_records([routerbench_csv, routellm_csv])
    assert len(records) == 120 + 39 and [s.kept for s in stats] == [120, 39]
    assert common_models(records) == []  # no model answers both files
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError, match="unknown format"):
        load_records([other])
    with pytest.raises(ConfigError, match="cannot read"):
        load_records([tmp_path / "missing.csv"])


def test_split_is_stable_and_disjoint(routerbench_csv: Path) -> None:
    records, _ = load_routerbench(routerbench_csv)
    test = split_records(records, holdout=0.3, part="test", seed=1)
    train = split_records(records, holdout=0.3, part="train", seed=1)
    assert {r.prompt_id for r in test}.isdisjoint(r.prompt_id for r in train)
    assert len(test) + len(train) == len(records) and 10 < len(test) < 60
    ids = [r.prompt_id for r in test]
    assert [r.prompt_id for r in split_records(records, holdout=0.3, part="test", seed=1)] == ids
    assert [r.prompt_id for r in split_records(records, holdout=0.3, part="test", seed=2)] != ids
    with pytest.raises(ConfigError, match="holdout"):
        split_records(records, holdout=1.5, part="test")


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared benchmark data not present")
def test_real_files_parse() -> None:
    routerbench = SHARED / "routerbench" / "winograde_train.csv"
    records, stats = load_routerbench(routerbench)
    assert stats.kept > 100 and len(records[0].models) == 11
    assert "gpt-4-1106-preview" in records[0].models and records[0].prompt.rstrip().endswith("Answer:")
    gsm, gsm_stats = load_routellm(SHARED / "routellm" / "gsm8k_responses.csv")
    assert gsm_stats.contaminated > 0 and len(gsm[0].models) == 2
