"""A cascade as a YAML file: the tiers (model, provider, prices) and each tier's acceptance strategy.

    version: 1
    start_tiers: {trivial: 0, simple: 0, moderate: 0, hard: 0, expert: 0}
    tiers:
      - {model: mistral-7b, provider: together, input_price: 0.2, output_price: 0.2, strategy: collect}
      - {model: yi-34b, provider: together, strategy: agreement, threshold: 1.0, agreement: {kind: choice}}
      # agreement: {execute: true} compares code answers by running them (opt-in: runs model-written code)
      - {model: gpt-4-1106-preview, provider: openai}

Strategies (:mod:`cascadeflow.cascade.strategies`, looked up by name, each reading its own settings block):
``rule`` (the built-in composite checks; the default), ``agreement`` (same answer as earlier drafts),
``learned`` (a trained :class:`~cascadeflow.cascade.quality.learned.LearnedScorer`, inline) and ``collect`` (never
accept: only keep the draft for later tiers to agree with). ``tier_order: given`` keeps
the tiers in the listed order (calibrated plans use it: asking a strong cheap model first can be cheaper
overall); the default ``price`` sorts them cheapest first. ``threshold`` becomes the tier's
``ModelConfig.quality_threshold``; any other ``ModelConfig`` field may be given per tier. ``cascadeflow
calibrate`` writes such files; :func:`load_cascade_config` turns one into ``CascadeAgent`` keyword arguments.

The v0.2.0 plan's shape is read too: a ``models:`` list (each entry a ``ModelConfig`` by its field names,
``name:`` included) instead of ``tiers:``, and a ``routing:`` block — ``enable_domain_routing`` and
``domain_rules: {code: {simple: [...], medium: [...], high: [...]}}`` (see
:class:`~cascadeflow.cascade.routing.RoutingPolicy`; plus ``kpi_weights``). A model a rule names that is not
in ``models`` becomes a tier of its own with the default provider (``openai``) and its catalogue price, as a
bare name in ``CASCADEFLOW_<DOMAIN>_MODELS`` does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Final

from cascadeflow.cascade.quality.base import Validator
from cascadeflow.cascade.strategies import StrategyContext, StrategyRegistry
from cascadeflow.config import COMPLEXITY_LEVELS, TIER_ORDERS, ModelConfig, QualityConfig
from cascadeflow.errors import ConfigError
from cascadeflow.validate import check_int, check_number

VERSION: Final = 1
_TIER_KEYS: Final = frozenset({"model", "strategy", "threshold"})
_MODEL_KEYS: Final = frozenset(f.name for f in fields(ModelConfig)) - {"name", "quality_threshold"}
_TOP_KEYS: Final = frozenset({"version", "tiers", "models", "routing", "tier_order", "start_tiers", "max_escalations",
                              "calibration"})
_ROUTING_KEYS: Final = frozenset({"enable_domain_routing", "domain_rules", "kpi_weights"})
_THRESHOLD_SCALE: Final = 1_000_000  # thresholds are written with 6 decimals


@dataclass(frozen=True)
class TierPlan:
    """One tier: the model's settings, how its draft is judged, and the acceptance threshold."""

    model: str
    strategy: str = "rule"
    threshold: float | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    """ModelConfig fields other than the name and threshold (provider, prices, base_url, ...)."""
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Strategy settings blocks by their tier key (``agreement: {...}``, ``learned: {...}``, ...)."""

    def block(self, key: str | None) -> Mapping[str, Any]:
        """The settings block stored under ``key`` (empty when absent)."""
        return {} if key is None else self.params.get(key, {})

    @property
    def agreement(self) -> Mapping[str, Any]:
        return self.block("agreement")

    @property
    def learned(self) -> Mapping[str, Any] | None:
        return self.params.get("learned")

    def model_config(self) -> ModelConfig:
        data = {"name": self.model, **self.settings, "quality_threshold": self.threshold}
        return ModelConfig.from_dict(data)


@dataclass(frozen=True)
class CascadePlan:
    """A whole cascade: the tiers and their order, where each complexity level starts, and how it was made."""

    tiers: tuple[TierPlan, ...]
    start_tiers: Mapping[str, int] = field(default_factory=lambda: dict.fromkeys(COMPLEXITY_LEVELS, 0))
    max_escalations: int | None = None
    calibration: Mapping[str, Any] = field(default_factory=dict)
    tier_order: str = "price"
    """``price``: the agent sorts the tiers cheapest first; ``given``: it tries them exactly as listed."""
    routing: Mapping[str, Any] = field(default_factory=dict)
    """``enable_domain_routing``, ``domain_rules`` and ``kpi_weights`` for the agent (checked)."""

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(t.model for t in self.tiers)


def _mapping(raw: Any, where: str) -> dict[str, Any]:
    """A YAML mapping (absent/empty reads as empty); anything else names the field."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(where, f"must be a mapping, got {type(raw).__name__} {raw!r:.80}")
    return dict(raw)


def _tier_from_dict(raw: Any, where: str, strategies: StrategyRegistry) -> TierPlan:
    if not isinstance(raw, Mapping):
        raise ConfigError(where, f"must be a mapping, got {type(raw).__name__}")
    blocks = strategies.settings_keys()
    keys = _TIER_KEYS | blocks | _MODEL_KEYS
    unknown = sorted(set(raw) - keys, key=str)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}", f"unknown key; tier keys: {sorted(keys)}")
    model = raw.get("model")
    if not isinstance(model, str) or not model.strip():
        raise ConfigError(f"{where}.model", f"must be a model name, got {model!r}")
    name = raw.get("strategy", "rule")
    if not isinstance(name, str) or name not in strategies.names():
        raise ConfigError(f"{where}.strategy", f"must be one of {strategies.names()}, got {name!r}")
    strategy = strategies.get(name)
    params: dict[str, Mapping[str, Any]] = {}
    for owner_name in strategies.names():  # every block present is checked by the strategy that reads it
        owner = strategies.get(owner_name)
        key = owner.settings_key
        if key and (key in raw or owner is strategy):
            block = owner.check(_mapping(raw.get(key), f"{where}.{key}"), f"{where}.{key}")
            if key in raw:
                params[key] = block
    threshold = raw.get("threshold")
    if threshold is not None:  # a number here; its range is checked as the tier's quality_threshold below
        check_number(f"{where}.threshold", threshold, lo=-math.inf)
    tier = TierPlan(
        model=model,
        strategy=name,
        threshold=None if threshold is None else float(threshold),
        settings={k: v for k, v in raw.items() if k in _MODEL_KEYS},
        params=params,
    )
    try:
        tier.model_config()  # validates prices, threshold range, provider name shape
    except ConfigError as exc:
        raise ConfigError(f"{where}.{exc.field.removeprefix('ModelConfig.')}", str(exc).split(": ", 1)[-1]) from None
    return tier


def _start_tiers(raw: Any) -> dict[str, int]:
    start = _mapping(raw, "start_tiers") or dict.fromkeys(COMPLEXITY_LEVELS, 0)
    bad = sorted(set(start) - set(COMPLEXITY_LEVELS), key=str)
    if bad:
        raise ConfigError(f"start_tiers.{bad[0]}", f"unknown complexity level; use {list(COMPLEXITY_LEVELS)}")
    for level, index in start.items():
        check_int(f"start_tiers.{level}", index, lo=-(2**31))
    return start


def plan_from_dict(data: Mapping[str, Any], strategies: StrategyRegistry | None = None) -> CascadePlan:
    """Validate a parsed YAML/JSON mapping into a :class:`CascadePlan`; errors name the field."""
    strategies = strategies or StrategyRegistry()
    unknown = sorted(set(data) - _TOP_KEYS, key=str)
    if unknown:
        raise ConfigError(str(unknown[0]), f"unknown key; top-level keys: {sorted(_TOP_KEYS)}")
    if data.get("version", VERSION) != VERSION:
        raise ConfigError("version", f"unsupported version {data.get('version')!r}; this build reads {VERSION}")
    key = "models" if "models" in data else "tiers"
    if "models" in data and "tiers" in data:
        raise ConfigError("models", "give either tiers: or models:, not both")
    raw_tiers = data.get(key)
    if not isinstance(raw_tiers, Sequence) or isinstance(raw_tiers, str) or not raw_tiers:
        raise ConfigError(key, "give a non-empty list of models (the top model last)")
    if key == "models":
        raw_tiers = [_model_entry(t, f"models[{i}]") for i, t in enumerate(raw_tiers)]
    routing = _routing(data.get("routing"))
    raw_tiers = [*raw_tiers, *_rule_only_models(routing, raw_tiers)]
    tiers = tuple(_tier_from_dict(t, f"{key}[{i}]", strategies) for i, t in enumerate(raw_tiers))
    escalations = data.get("max_escalations")
    if escalations is not None:
        check_int("max_escalations", escalations, lo=0)
    order = data.get("tier_order", "price")
    if order not in TIER_ORDERS:
        raise ConfigError("tier_order", f"must be one of {list(TIER_ORDERS)}, got {order!r}")
    return CascadePlan(
        tiers=tiers,
        tier_order=str(order),
        start_tiers=_start_tiers(data.get("start_tiers")),
        max_escalations=escalations,
        calibration=_mapping(data.get("calibration"), "calibration"),
        routing=routing,
    )


def _model_entry(raw: Any, where: str) -> Mapping[str, Any]:
    """A ``models:`` entry (ModelConfig field names) as a tier entry (``model:`` instead of ``name:``)."""
    if not isinstance(raw, Mapping):
        raise ConfigError(where, f"must be a mapping, got {type(raw).__name__}")
    if "model" in raw:
        raise ConfigError(f"{where}.model", "a models: entry names its model with name:")
    entry = {k: v for k, v in raw.items() if k != "name"}
    entry["model"] = raw.get("name")
    return entry


def _routing(raw: Any) -> dict[str, Any]:
    """The ``routing:`` block, checked now so a typo fails at load time with the YAML path."""
    from cascadeflow.cascade.routing import KpiWeights, parse_domain_rules

    routing = _mapping(raw, "routing")
    unknown = sorted(set(routing) - _ROUTING_KEYS, key=str)
    if unknown:
        raise ConfigError(f"routing.{unknown[0]}", f"unknown key; routing keys: {sorted(_ROUTING_KEYS)}")
    enabled = routing.get("enable_domain_routing", False)
    if not isinstance(enabled, bool):
        raise ConfigError("routing.enable_domain_routing", f"must be true or false, got {enabled!r}")
    try:
        parse_domain_rules(routing.get("domain_rules"))
        if routing.get("kpi_weights") is not None:
            KpiWeights.parse(routing["kpi_weights"])
    except ConfigError as exc:
        raise ConfigError(f"routing.{exc.field}", str(exc).split(": ", 1)[-1]) from None
    return routing


def _rule_only_models(routing: Mapping[str, Any], tiers: Sequence[Any]) -> list[dict[str, Any]]:
    """Tier entries for models the domain rules name but the list does not (default provider, catalogue
    price): the v0.2.0 plan's example routes simple code queries to gpt-3.5-turbo without listing it."""
    listed = {t.get("model") for t in tiers if isinstance(t, Mapping)}
    extra: list[str] = []
    for by_level in (routing.get("domain_rules") or {}).values():
        for names in by_level.values():
            extra += [n for n in names if n not in listed and n not in extra]
    return [{"model": name} for name in extra]


def plan_to_dict(plan: CascadePlan) -> dict[str, Any]:
    """The YAML-ready mapping of a plan (inverse of :func:`plan_from_dict`)."""
    tiers: list[dict[str, Any]] = []
    for tier in plan.tiers:
        out: dict[str, Any] = {"model": tier.model, **dict(tier.settings), "strategy": tier.strategy}
        if tier.threshold is not None:
            # Rounded *down*: a score equal to the calibrated threshold must still pass after the round trip.
            out["threshold"] = math.floor(float(tier.threshold) * _THRESHOLD_SCALE) / _THRESHOLD_SCALE
        for key, block in tier.params.items():
            if block or key == "learned":
                out[key] = dict(block)
        tiers.append(out)
    data: dict[str, Any] = {"version": VERSION}
    if plan.tier_order != "price":
        data["tier_order"] = plan.tier_order
    data.update({"start_tiers": dict(plan.start_tiers), "tiers": tiers})
    if plan.max_escalations is not None:
        data["max_escalations"] = plan.max_escalations
    if plan.calibration:
        data["calibration"] = dict(plan.calibration)
    if plan.routing:
        data["routing"] = dict(plan.routing)
    return data


def read_plan(path: str | Path, strategies: StrategyRegistry | None = None) -> CascadePlan:
    """Read a cascade YAML file (UTF-8: a file in another encoding is an error saying so, never mojibake)."""
    import yaml

    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError("config", f"cannot read cascade config {path}: {exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            "config",
            f"{path} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); cascade configs are "
            "read as UTF-8: re-save the file in that encoding (e.g. `iconv -f latin1 -t utf-8`)",
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError("config", f"cannot parse cascade config {path}: {exc}") from exc
    if not isinstance(data, Mapping):
        raise ConfigError("config", f"{path} must hold a mapping with a 'tiers' list")
    return plan_from_dict(data, strategies)


def write_plan(plan: CascadePlan, path: str | Path) -> None:
    import yaml

    text = yaml.safe_dump(plan_to_dict(plan), sort_keys=False, width=110)
    Path(path).write_text("# cascadeflow cascade config; see docs/benchmarks.md\n" + text, encoding="utf-8")


def tier_validator(
    tier: TierPlan, context: StrategyContext | None = None, strategies: StrategyRegistry | None = None
) -> Validator | None:
    """The tier's own validator from its strategy, or None (``rule``: the agent's default composite checks)."""
    registry = strategies or StrategyRegistry()
    strategy = registry.get(tier.strategy)
    context = context or StrategyContext(QualityConfig.for_cascade())
    return strategy.build(tier, tier.block(strategy.settings_key), context)


def plan_agent_kwargs(
    plan: CascadePlan, *, quality: QualityConfig | None = None, strategies: StrategyRegistry | None = None
) -> dict[str, Any]:
    """``CascadeAgent`` keyword arguments for a plan: models, tier_order, tier_validators, start_tiers,
    max_escalations (and ``quality_config`` when given; strategies that build on the composite checks use it)."""
    registry = strategies or StrategyRegistry()
    runner = None
    if any(registry.get(t.strategy).runs_code(t.block(registry.get(t.strategy).settings_key)) for t in plan.tiers):
        # one sandbox check (a ConfigError now, not at the first draft) and one memory of results for all tiers
        from cascadeflow.cascade.quality.code_behaviour import BehaviourRunner
        from cascadeflow.cascade.quality.sandbox import Sandbox

        runner = BehaviourRunner(Sandbox.detect("agreement.execute"))
    context = StrategyContext(quality or QualityConfig.for_cascade(), runner)
    validators = {t.model: v for t in plan.tiers for v in (tier_validator(t, context, registry),) if v is not None}
    kwargs: dict[str, Any] = {
        "models": [t.model_config() for t in plan.tiers],
        "tier_order": plan.tier_order,
        "tier_validators": validators,
        "start_tiers": dict(plan.start_tiers),
        "max_escalations": plan.max_escalations,
    }
    for name in ("enable_domain_routing", "domain_rules", "kpi_weights"):
        if plan.routing.get(name) is not None:
            kwargs[name] = plan.routing[name]
    if quality is not None:
        kwargs["quality_config"] = quality
    return kwargs


def load_cascade_config(
    path: str | Path, *, quality: QualityConfig | None = None, strategies: StrategyRegistry | None = None
) -> dict[str, Any]:
    """Read a cascade YAML file into ``CascadeAgent(**kwargs)`` keyword arguments."""
    registry = strategies or StrategyRegistry()
    return plan_agent_kwargs(read_plan(path, registry), quality=quality, strategies=registry)
