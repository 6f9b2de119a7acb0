"""Shadow records round-trip through every store; the bounds and the logistic fit the learner relies on."""

from __future__ import annotations

import math
import random
from decimal import Decimal

import pytest

from cascadeflow.errors import ConfigError
from cascadeflow.shadow.bounds import betainc, binomial_lower, binomial_upper, quality_bound
from cascadeflow.shadow.logistic import fit_logistic
from cascadeflow.shadow.records import DraftObservation, ShadowRecord
from cascadeflow.shadow.stores import MemoryShadowStore, open_shadow_store


def record(n: int, *, label: bool | None = True) -> ShadowRecord:
    draft = DraftObservation("small", {"agree_frac": 1.0, "check:choice": 1.0}, 0.8, True, label, 0.001)
    return ShadowRecord(f"r{n}", 1000.0 + n, ("small", "top"), (draft,), "accepted", 0.25, label is not None,
                        Decimal("0.001"), Decimal("0.01"), Decimal("0.01"), {"n": n})


def test_every_store_keeps_records_in_order_and_the_policy_state(shadow_store_url: str) -> None:
    store = open_shadow_store(shadow_store_url)
    try:
        assert store.records() == [] and store.count() == 0 and store.load_state("policy") is None
        for n in range(5):
            store.append(record(n))
        if not shadow_store_url.startswith("memory"):
            store.append(record(4))  # a retried append of the same record is kept once
        kept = store.records()
        assert [r.record_id for r in kept] == ["r0", "r1", "r2", "r3", "r4"] and store.count() == 5
        assert [r.record_id for r in store.records(2)] == ["r3", "r4"] and store.records(0) == []
        assert kept[0] == record(0) and kept[0].drafts[0].features["agree_frac"] == 1.0
        store.save_state("policy", '{"a": 1}')
        store.save_state("policy", '{"a": 2}')
        assert store.load_state("policy") == '{"a": 2}'
    finally:
        store.close()


def test_a_sqlite_store_survives_a_restart(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/resume.db"
    first = open_shadow_store(url)
    first.append(record(1))
    first.save_state("policy", "{}")
    first.close()
    again = open_shadow_store(url)
    assert again.count() == 1 and again.load_state("policy") == "{}"
    again.close()


def test_store_urls_and_records_are_checked() -> None:
    assert isinstance(open_shadow_store(None), MemoryShadowStore)
    with pytest.raises(ConfigError, match="unknown store URL"):
        open_shadow_store("ftp://x")
    with pytest.raises(ConfigError, match="needs a file"):
        open_shadow_store("sqlite:///")
    with pytest.raises(ConfigError, match="malformed shadow record"):
        ShadowRecord.from_json('{"format": 1}')


# --------------------------------------------------------------------------- bounds
@pytest.mark.parametrize(("k", "n", "delta", "upper", "lower"), [
    (0, 10, 0.05, 0.2588655508930522, 0.0),  # scipy.stats.beta.ppf values
    (5, 100, 0.05, 0.1022533776432745, 0.019905563662171832),
    (45, 1300, 0.05, 0.04416289978884048, 0.026684562720803752),
])
def test_clopper_pearson_matches_the_beta_quantiles(k: int, n: int, delta: float, upper: float, lower: float) -> None:
    assert binomial_upper(k, n, delta) == pytest.approx(upper, rel=1e-9)
    assert binomial_lower(k, n, delta) == pytest.approx(lower, rel=1e-9, abs=1e-12)
    assert betainc(2.0, 3.0, 0.0) == 0.0 and betainc(2.0, 3.0, 1.0) == 1.0


def test_the_quality_bound_is_below_the_estimate_and_tightens_with_data() -> None:
    small, large = quality_bound(4, 1, 90, 100, 0.1), quality_bound(40, 10, 900, 1000, 0.1)
    assert small.quality == pytest.approx(large.quality) == pytest.approx(1 - 30 / 900)
    assert small.lower < large.lower < large.quality
    assert quality_bound(0, 0, 0, 0, 0.1).lower == 0.0


# --------------------------------------------------------------------------- logistic fit
def test_the_pure_python_fit_recovers_the_weights_of_a_known_model() -> None:
    rng = random.Random(0)
    rows, labels = [], []
    for _ in range(3000):
        a, b = rng.random(), float(rng.random() < 0.3)
        rows.append({"a": a, "b": b})
        labels.append(rng.random() < 1 / (1 + math.exp(-(-1 + 3 * a - 2 * b))))
    weights, bias = fit_logistic(rows, labels, l2=1e-3)
    assert weights["a"] == pytest.approx(3, abs=0.35) and weights["b"] == pytest.approx(-2, abs=0.3)
    assert bias == pytest.approx(-1, abs=0.3)


def test_weights_count_like_repeated_rows_and_one_class_gives_the_base_rate() -> None:
    rows = [{"x": 0.0}, {"x": 1.0}, {"x": 1.0}]
    twice = fit_logistic([*rows, rows[0]], [False, True, False, False])
    weighted = fit_logistic(rows, [False, True, False], [2.0, 1.0, 1.0])
    assert twice[0]["x"] == pytest.approx(weighted[0]["x"], rel=1e-6)
    weights, bias = fit_logistic(rows, [True, True, True])
    assert weights == {} and bias == pytest.approx(math.log(0.999 / 0.001))
    with pytest.raises(ConfigError):
        fit_logistic(rows, [True])
