"""Routing policy: which tiers one request may use, and which of them to try first.

Two inputs shape the plan besides the complexity-derived default start:

* **Domain routing** (``enable_domain_routing=True``): a tier whose ``ModelConfig.domains`` lists the detected
  domain is a specialist for it. The plan starts at the cheapest specialist (or higher, if the complexity
  default asks for it); tiers that declare *other* domains only are skipped for this request; tiers that
  declare no domains, or ``general`` among them, are generalists and stay available. With no specialist, only
  generalists are used (all tiers if there are none), so a plan is never empty.
* **Domain rules** (the v0.2.0 plan's ``routing.domain_rules``: ``{code: {simple: [...], medium: [...], high:
  [...]}}``): when the detected domain has a rule for the query's complexity, the plan is exactly the listed
  models, in the listed order — a cascade over them whose last one answers finally. ``simple`` covers the
  trivial and simple levels, ``medium`` moderate, ``high`` hard and expert; the five level names work too and
  win over the coarse ones. Domains or levels without a rule fall back to the domain routing above.
* **KPI weights** (``{"quality": .., "cost": .., "latency": ..}``, normalised to sum 1): the start among the
  allowed tiers maximises ``quality·Q − cost·C − latency·L`` (see :meth:`RoutingPolicy.decide`).

The policy is pure: the same tiers, complexity, domain and default give the same plan, with a reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from cascadeflow.config import COMPLEXITY_LEVELS, ModelConfig
from cascadeflow.errors import ConfigError
from cascadeflow.pricing import Price

KPI_NAMES = ("quality", "cost", "latency")
GENERALIST = "general"
"""A tier declaring this domain serves every domain (and is the specialist for general requests)."""
RULE_LEVELS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "simple": ("trivial", "simple"), "medium": ("moderate",), "high": ("hard", "expert"),
    **{level: (level,) for level in COMPLEXITY_LEVELS if level != "simple"},
})
"""Rule keys → complexity levels: the plan's three coarse names, and each of the five levels by its own name."""
# Utilities closer than this are equal, and the cheaper start wins: float noise must not pick a dearer tier.
UTILITY_TIE = 1e-9


class TierLike(Protocol):
    """What the policy reads from a tier (``cascadeflow.cascade.engine.Tier`` satisfies it)."""

    @property
    def config(self) -> ModelConfig: ...

    @property
    def price(self) -> Price: ...


@dataclass(frozen=True)
class KpiWeights:
    """How much quality, cost and latency matter; always non-negative and summing to 1."""

    quality: float
    cost: float
    latency: float

    @classmethod
    def parse(cls, raw: Mapping[str, object] | KpiWeights, *, field: str = "kpi_weights") -> KpiWeights:
        """Validate and normalise a mapping; missing KPIs weigh 0. Errors name ``field`` and the key."""
        if isinstance(raw, KpiWeights):
            return raw
        if not isinstance(raw, Mapping):
            raise ConfigError(field, f"must be a mapping like {{'quality': 0.5, 'cost': 0.3, 'latency': 0.2}}, "
                                     f"got {type(raw).__name__}")
        values: dict[str, float] = dict.fromkeys(KPI_NAMES, 0.0)
        for key, value in raw.items():
            if key not in KPI_NAMES:
                raise ConfigError(f"{field}[{key!r}]", f"unknown KPI; use {', '.join(KPI_NAMES)}")
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"{field}[{key!r}]", f"must be a finite number >= 0, got {value!r}")
            values[key] = float(value)
        total = sum(values.values())
        if total <= 0:
            raise ConfigError(field, "at least one of quality, cost, latency must be > 0")
        return cls(**{k: v / total for k, v in values.items()})

    def describe(self) -> str:
        return f"quality={self.quality:.2f} cost={self.cost:.2f} latency={self.latency:.2f}"


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """The plan (tier indices in the order to try), the tiers allowed at all, and why."""

    plan: tuple[int, ...]
    allowed: tuple[int, ...]
    reason: str
    utilities: Mapping[int, float] | None = None


class RoutingPolicy:
    """Chooses the tiers to try for one request, cheapest suitable first. Stateless; safe to share."""

    def __init__(
        self,
        kpi_weights: Mapping[str, object] | KpiWeights | None = None,
        *,
        enable_domain_routing: bool = False,
        domain_rules: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
        models: Sequence[str] | None = None,
    ) -> None:
        self.kpi_weights = None if kpi_weights is None else KpiWeights.parse(kpi_weights)
        self.enable_domain_routing = bool(enable_domain_routing)
        self.domain_rules = parse_domain_rules(domain_rules, models)
        """domain → complexity level → model names, in the order to try."""

    def plan(
        self, tiers: Sequence[TierLike], complexity: str, domain: str | None, default_start: int
    ) -> tuple[int, ...]:
        """Tier indices to try, in order (see :meth:`decide`)."""
        return self.decide(tiers, complexity, domain, default_start).plan

    def decide(
        self, tiers: Sequence[TierLike], complexity: str, domain: str | None, default_start: int
    ) -> RoutingDecision:
        """Plan one request.

        ``tiers`` are ordered cheapest first; ``default_start`` is the tier index the complexity alone would
        start at (negative counts from the top). Objective, over the allowed tiers at positions ``j = 0..m-1``
        with ``r(j) = j / (m-1)``:

        * ``Q(j) = (r(j) + A(j)) / 2`` — dearer tiers are assumed stronger (that is why they cost more), and
          ``A(j) = 1 - max(0, b - j) / (m-1)`` says how adequate tier ``j`` is for the complexity, whose
          default start is position ``b``;
        * ``C(j)`` = price / the dearest allowed price (0 when all are free);
        * ``L(j)`` = ``speed_ms`` / the slowest allowed ``speed_ms`` if every allowed tier declares one,
          else ``r(j)`` (bigger models answer slower).

        The start maximises ``w_quality·Q − w_cost·C − w_latency·L`` (ties: the cheaper start). Without KPI
        weights the start is ``b``. The plan is that start and every allowed tier above it.
        """
        if not tiers:
            raise ConfigError("models", "a cascade needs at least one model")
        ruled = self._ruled(tiers, complexity, domain)
        if ruled is not None:
            return ruled
        allowed, floor, why = self._allowed(tiers, domain)
        top = len(tiers) - 1
        start_index = min(max(default_start + len(tiers) if default_start < 0 else default_start, 0), top)
        # The complexity default, moved up to the domain floor and onto an allowed tier.
        b = next((p for p, i in enumerate(allowed) if i >= max(start_index, floor)), len(allowed) - 1)
        if self.kpi_weights is None:
            start = b
            why.append(f"{complexity} query starts at {tiers[allowed[b]].config.name}")
            utilities = None
        else:
            utilities = self._utilities(tiers, allowed, b, self.kpi_weights)
            best = max(utilities.values())
            start = min(p for p, u in utilities.items() if u >= best - UTILITY_TIE)
            why.append(
                f"KPI weights {self.kpi_weights.describe()} pick {tiers[allowed[start]].config.name} "
                f"(utility {utilities[start]:.3f}; the {complexity} default was {tiers[allowed[b]].config.name})"
            )
        plan = allowed[start:]
        return RoutingDecision(
            plan=plan,
            allowed=allowed,
            reason="; ".join(why) + ".",
            utilities=None if utilities is None else {allowed[p]: round(u, 6) for p, u in utilities.items()},
        )

    def _ruled(self, tiers: Sequence[TierLike], complexity: str, domain: str | None) -> RoutingDecision | None:
        """The plan a domain rule gives this request, or None when no rule covers it."""
        if not self.enable_domain_routing or not domain:
            return None
        names = self.domain_rules.get(domain, {}).get(complexity)
        if not names:
            return None
        index = {t.config.name: i for i, t in enumerate(tiers)}
        missing = [n for n in names if n not in index]
        if missing:
            raise ConfigError(f"domain_rules[{domain!r}]", f"names models that are not tiers: {missing}")
        plan = tuple(index[n] for n in names)
        return RoutingDecision(plan=plan, allowed=plan,
                               reason=f"{domain} rule for {complexity} queries: {' → '.join(names)}.")

    def _allowed(self, tiers: Sequence[TierLike], domain: str | None) -> tuple[tuple[int, ...], int, list[str]]:
        """Tier indices this request may use, the lowest index to start from, and the reasons."""
        everything = tuple(range(len(tiers)))
        if not self.enable_domain_routing or not domain:
            return everything, 0, []
        specialists = [i for i in everything if domain in tiers[i].config.domains]
        generalists = [i for i in everything
                       if not tiers[i].config.domains or GENERALIST in tiers[i].config.domains]
        skipped = [tiers[i].config.name for i in everything if tiers[i].config.domains and i not in specialists]
        skip_note = f" (skipping {', '.join(skipped)}: other domains only)" if skipped else ""
        if specialists:
            first = specialists[0]
            allowed = tuple(sorted(i for i in {*specialists, *generalists} if i >= first))
            below = [tiers[i].config.name for i in generalists if i < first]
            below_note = f" (cheaper {', '.join(below)} not used)" if below else ""
            name = tiers[first].config.name
            return allowed, first, [f"{domain} request: cheapest {domain} tier is {name}{below_note}{skip_note}"]
        if generalists:
            return tuple(generalists), 0, [f"no tier declares {domain!r}: generalists only{skip_note}"]
        return everything, 0, [f"no tier declares {domain!r} and none is a generalist: all tiers allowed"]

    @staticmethod
    def _utilities(
        tiers: Sequence[TierLike], allowed: tuple[int, ...], b: int, weights: KpiWeights
    ) -> dict[int, float]:
        m = len(allowed)
        span = max(m - 1, 1)
        prices = [float(tiers[i].price.blended_per_1m) for i in allowed]
        speeds = [tiers[i].config.speed_ms for i in allowed]
        max_price = max(prices)
        ranks = [p / span if m > 1 else 1.0 for p in range(m)]
        known = [s for s in speeds if s is not None]
        if len(known) == m:
            slowest = max(known)
            latencies = [s / slowest if slowest > 0 else 0.0 for s in known]
        else:
            latencies = ranks
        utilities: dict[int, float] = {}
        for p in range(m):
            adequacy = 1.0 - max(0, b - p) / span
            quality = (ranks[p] + adequacy) / 2.0
            cost = prices[p] / max_price if max_price > 0 else 0.0
            utilities[p] = weights.quality * quality - weights.cost * cost - weights.latency * latencies[p]
        return utilities


def parse_domain_rules(
    raw: Mapping[str, Mapping[str, Sequence[str]]] | None, models: Sequence[str] | None = None
) -> dict[str, dict[str, tuple[str, ...]]]:
    """Check ``domain_rules`` and expand its keys to complexity levels (see :data:`RULE_LEVELS`); a level
    named directly wins over a coarse key. With ``models``, every name must be one of them."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError("domain_rules", f"must map domains to {{simple|medium|high: [models]}}, got {raw!r}")
    rules: dict[str, dict[str, tuple[str, ...]]] = {}
    for domain, by_level in raw.items():
        where = f"domain_rules[{domain!r}]"
        if not isinstance(domain, str) or not isinstance(by_level, Mapping):
            raise ConfigError(where, f"must map simple/medium/high to lists of model names, got {by_level!r}")
        expanded: dict[str, tuple[str, ...]] = {}
        for key in sorted(by_level, key=_rule_priority):  # coarse keys first, so exact level names win
            if key not in RULE_LEVELS:
                raise ConfigError(f"{where}[{key!r}]", f"unknown level; use {sorted(RULE_LEVELS)}")
            names = by_level[key]
            if isinstance(names, str) or not isinstance(names, Sequence) or not names \
                    or not all(isinstance(n, str) and n for n in names):
                raise ConfigError(f"{where}[{key!r}]", f"must be a non-empty list of model names, got {names!r}")
            unknown = [n for n in names if models is not None and n not in models]
            if unknown:
                raise ConfigError(f"{where}[{key!r}]", f"names models that are not tiers: {unknown}")
            for level in RULE_LEVELS[key]:
                expanded[level] = tuple(names)
        rules[domain.strip().lower()] = expanded
    return rules


def _rule_priority(key: str) -> int:
    """``simple`` also covers trivial, so it goes after ``medium``/``high`` and before the exact levels."""
    return 0 if key in ("medium", "high") else 1 if key == "simple" else 2
