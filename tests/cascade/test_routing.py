"""Routing policy: KPI weight validation, domain routing, and how KPI weights move the start tier."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cascadeflow.cascade.engine import Tier
from cascadeflow.cascade.routing import KpiWeights, RoutingPolicy
from cascadeflow.config import ModelConfig
from cascadeflow.errors import ConfigError
from cascadeflow.pricing import Price
from cascadeflow.providers.fakes import FunctionProvider


def tier(name: str, per_1m: str, *, domains: tuple[str, ...] = (), speed_ms: float | None = None) -> Tier:
    """A real engine Tier (so the policy's protocol is checked against it) with a flat price per 1M tokens."""
    config = ModelConfig(name=name, provider="fake", domains=domains, speed_ms=speed_ms)
    price = Price(Decimal(per_1m), Decimal(per_1m))
    return Tier(config=config, provider=FunctionProvider(lambda r: "ok", model=name), price=price)


def names(tiers: list[Tier], plan: tuple[int, ...]) -> list[str]:
    return [tiers[i].name for i in plan]


LADDER = [tier("mini", "0.15"), tier("mid", "2.5"), tier("big", "10")]


# ------------------------------------------------------------------ KPI weights
def test_kpi_weights_are_normalised_and_missing_ones_weigh_zero() -> None:
    weights = KpiWeights.parse({"quality": 5, "cost": 3, "latency": 2})
    assert (weights.quality, weights.cost, weights.latency) == pytest.approx((0.5, 0.3, 0.2))
    assert KpiWeights.parse({"cost": 7}) == KpiWeights(quality=0.0, cost=1.0, latency=0.0)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"quality": 1, "speed": 1}, "kpi_weights['speed']"),
        ({"quality": -0.5}, "kpi_weights['quality']"),
        ({"cost": float("nan")}, "kpi_weights['cost']"),
        ({"latency": True}, "kpi_weights['latency']"),
        ({"latency": "0.3"}, "kpi_weights['latency']"),
        ({"quality": 0, "cost": 0}, "kpi_weights"),
        ({}, "kpi_weights"),
        ([("quality", 1)], "kpi_weights"),
    ],
)
def test_invalid_kpi_weights_name_the_field(raw: object, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        RoutingPolicy(raw)  # type: ignore[arg-type]
    assert info.value.field == field


# ------------------------------------------------------------------ defaults
@pytest.mark.parametrize(("default_start", "expected"), [(0, (0, 1, 2)), (1, (1, 2)), (-1, (2,)), (9, (2,))])
def test_without_weights_or_domains_the_plan_is_the_complexity_default(
    default_start: int, expected: tuple[int, ...]
) -> None:
    assert RoutingPolicy().plan(LADDER, "moderate", None, default_start) == expected


def test_domain_declarations_are_ignored_unless_domain_routing_is_on() -> None:
    tiers = [tier("mini", "0.1"), tier("coder", "1", domains=("code",)), tier("big", "10")]
    assert RoutingPolicy().plan(tiers, "moderate", "code", 0) == (0, 1, 2)
    assert RoutingPolicy(enable_domain_routing=True).plan(tiers, "moderate", None, 0) == (0, 1, 2)


def test_no_tiers_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        RoutingPolicy().plan([], "moderate", None, 0)


# ------------------------------------------------------------------ domain routing
DOMAIN_TIERS = [
    tier("mini", "0.15"),
    tier("coder", "1.0", domains=("code",)),
    tier("medic", "2.5", domains=("medical",)),
    tier("big", "10"),
]


def test_domain_request_starts_at_the_cheapest_tier_declaring_it_and_skips_other_specialists() -> None:
    policy = RoutingPolicy(enable_domain_routing=True)
    decision = policy.decide(DOMAIN_TIERS, "moderate", "code", 0)
    assert names(DOMAIN_TIERS, decision.plan) == ["coder", "big"]
    assert "coder" in decision.reason and "medic" in decision.reason
    assert names(DOMAIN_TIERS, policy.plan(DOMAIN_TIERS, "moderate", "medical", 0)) == ["medic", "big"]


def test_a_tier_may_declare_several_domains() -> None:
    tiers = [tier("mini", "0.1"), tier("multi", "1", domains=("code", "math")), tier("big", "10")]
    policy = RoutingPolicy(enable_domain_routing=True)
    assert names(tiers, policy.plan(tiers, "moderate", "math", 0)) == ["multi", "big"]


def test_without_a_specialist_only_generalists_answer() -> None:
    policy = RoutingPolicy(enable_domain_routing=True)
    assert names(DOMAIN_TIERS, policy.plan(DOMAIN_TIERS, "moderate", "legal", 0)) == ["mini", "big"]
    assert names(DOMAIN_TIERS, policy.plan(DOMAIN_TIERS, "moderate", "general", 0)) == ["mini", "big"]


def test_when_every_tier_is_a_specialist_of_other_domains_all_tiers_stay_available() -> None:
    tiers = [tier("coder", "1", domains=("code",)), tier("medic", "2", domains=("medical",))]
    decision = RoutingPolicy(enable_domain_routing=True).decide(tiers, "moderate", "legal", 0)
    assert decision.plan == (0, 1)
    assert "all tiers" in decision.reason


def test_a_higher_complexity_default_still_applies_above_the_specialist() -> None:
    policy = RoutingPolicy(enable_domain_routing=True)
    assert names(DOMAIN_TIERS, policy.plan(DOMAIN_TIERS, "expert", "code", -1)) == ["big"]


# ------------------------------------------------------------------ KPI trade-offs
def test_quality_heavy_weights_start_higher_than_the_default() -> None:
    default = RoutingPolicy().plan(LADDER, "moderate", None, 0)
    quality = RoutingPolicy({"quality": 0.7, "cost": 0.2, "latency": 0.1}).plan(LADDER, "moderate", None, 0)
    assert quality[0] > default[0]
    assert RoutingPolicy({"quality": 1}).plan(LADDER, "moderate", None, 0) == (2,)


def test_cost_heavy_weights_start_at_the_cheapest_even_for_hard_queries() -> None:
    assert RoutingPolicy({"cost": 1}).plan(LADDER, "expert", None, -1) == (0, 1, 2)
    assert RoutingPolicy({"quality": 0.1, "cost": 0.9}).plan(LADDER, "expert", None, -1)[0] == 0


def test_latency_heavy_weights_start_at_the_fastest_tier() -> None:
    tiers = [tier("slow-cheap", "0.1", speed_ms=900), tier("fast", "1", speed_ms=150), tier("big", "10", speed_ms=1200)]
    decision = RoutingPolicy({"latency": 0.9, "quality": 0.1}).decide(tiers, "moderate", None, 0)
    assert names(tiers, decision.plan) == ["fast", "big"]
    assert decision.utilities is not None and set(decision.utilities) == {0, 1, 2}


def test_without_speeds_latency_assumes_cheaper_tiers_answer_faster() -> None:
    assert RoutingPolicy({"latency": 1}).plan(LADDER, "expert", None, -1) == (0, 1, 2)


def test_balanced_weights_keep_cheap_first_for_easy_queries() -> None:
    policy = RoutingPolicy({"quality": 0.5, "cost": 0.3, "latency": 0.2})
    assert policy.plan(LADDER, "simple", None, 0) == (0, 1, 2)


def test_kpi_weights_choose_only_among_tiers_domain_routing_allows() -> None:
    policy = RoutingPolicy({"cost": 1}, enable_domain_routing=True)
    decision = policy.decide(DOMAIN_TIERS, "moderate", "medical", 0)
    assert names(DOMAIN_TIERS, decision.plan) == ["medic", "big"]
    assert "KPI weights" in decision.reason and "medical" in decision.reason


def test_free_tiers_have_no_cost_term() -> None:
    tiers = [tier("local-small", "0"), tier("local-big", "0")]
    assert RoutingPolicy({"cost": 0.5, "quality": 0.5}).plan(tiers, "moderate", None, 0) == (1,)


def test_the_policy_is_pure() -> None:
    policy = RoutingPolicy({"quality": 0.6, "cost": 0.4}, enable_domain_routing=True)
    first = policy.decide(DOMAIN_TIERS, "hard", "code", 0)
    assert policy.decide(DOMAIN_TIERS, "hard", "code", 0) == first
