"""A cascade as a YAML file: the tiers (model, provider, prices) and each tier's acceptance strategy.

    version: 1
    start_tiers: {trivial: 0, simple: 0, moderate: 0, hard: 0, expert: 0}
    tiers:
      - {model: mistral-7b, provider: together, input_price: 0.2, output_price: 0.2, strategy: collect}
      - {model: yi-34b, provider: together, strategy: agreement, threshold: 1.0, agreement: {kind: choice}}
      # agreement: {execute: true} compares code answers by running them (opt-in: runs model-written code)
      - {model: gpt-4-1106-preview, provider: openai}

Strategies: ``rule`` (the built-in composite checks; the default), ``agreement`` (same answer as earlier
drafts), ``learned`` (a trained :class:`~cascadeflow.cascade.quality.learned.LearnedScorer`, inline) and
``collect`` (never accept: only keep the draft for later tiers to agree with). ``tier_order: given`` keeps
the tiers in the listed order (calibrated plans use it: asking a strong cheap model first can be cheaper
overall); the default ``price`` sorts them cheapest first. ``threshold`` becomes the tier's
``ModelConfig.quality_threshold``; any other ``ModelConfig`` field may be given per tier. ``cascadeflow
calibrate`` writes such files; :func:`load_cascade_config` turns one into ``CascadeAgent`` keyword arguments.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from cascadeflow.cascade.quality.base import Validator
from cascadeflow.config import COMPLEXITY_LEVELS, TIER_ORDERS, ModelConfig
from cascadeflow.errors import ConfigError
from cascadeflow.validate import check_int, check_number

if TYPE_CHECKING:
    from cascadeflow.cascade.quality.code_behaviour import BehaviourRunner

VERSION: Final = 1
STRATEGIES: Final[tuple[str, ...]] = ("rule", "agreement", "learned", "collect")
_TIER_KEYS: Final = frozenset({"model", "strategy", "threshold", "agreement", "learned"})
_MODEL_KEYS: Final = frozenset(f.name for f in fields(ModelConfig)) - {"name", "quality_threshold"}
_TOP_KEYS: Final = frozenset({"version", "tiers", "tier_order", "start_tiers", "max_escalations", "calibration"})
_THRESHOLD_SCALE: Final = 1_000_000  # thresholds are written with 6 decimals
_AGREEMENT_KEYS: Final = frozenset({"kind", "min_agree", "peers", "execute"})


@dataclass(frozen=True)
class TierPlan:
    """One tier: the model's settings, how its draft is judged, and the acceptance threshold."""

    model: str
    strategy: str = "rule"
    threshold: float | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    """ModelConfig fields other than the name and threshold (provider, prices, base_url, ...)."""
    agreement: Mapping[str, Any] = field(default_factory=dict)
    learned: Mapping[str, Any] | None = None

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

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(t.model for t in self.tiers)


def _execute_switch(agreement: Mapping[str, Any], where: str) -> bool:
    """``agreement.execute``: a real boolean only (a truthiness test would run code for ``execute: "false"``)."""
    execute = agreement.get("execute", False)
    if not isinstance(execute, bool):
        raise ConfigError(where, f"must be true or false, got {execute!r}")
    return execute


def _mapping(raw: Any, where: str) -> dict[str, Any]:
    """A YAML mapping (absent/empty reads as empty); anything else names the field."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(where, f"must be a mapping, got {type(raw).__name__} {raw!r:.80}")
    return dict(raw)


def _agreement_from_dict(raw: Any, where: str) -> dict[str, Any]:
    """The ``agreement:`` settings of a tier, each checked by type (``min_agree: x`` or ``peers: 5`` fail here,
    naming the field, instead of deep inside the validator)."""
    agreement = _mapping(raw, where)
    bad = sorted(set(agreement) - _AGREEMENT_KEYS, key=str)
    if bad:
        raise ConfigError(f"{where}.{bad[0]}", f"unknown key; use {sorted(_AGREEMENT_KEYS)}")
    if "kind" in agreement and not isinstance(agreement["kind"], str):
        raise ConfigError(f"{where}.kind", f"must be a string, got {agreement['kind']!r}")
    if "min_agree" in agreement:
        check_int(f"{where}.min_agree", agreement["min_agree"], lo=1)
    peers = agreement.get("peers", [])
    if isinstance(peers, str) or not isinstance(peers, Sequence) or not all(isinstance(p, str) for p in peers):
        raise ConfigError(f"{where}.peers", f"must be a list of model names, got {peers!r}")
    _execute_switch(agreement, f"{where}.execute")
    return agreement


def _tier_from_dict(raw: Any, where: str) -> TierPlan:
    if not isinstance(raw, Mapping):
        raise ConfigError(where, f"must be a mapping, got {type(raw).__name__}")
    unknown = sorted(set(raw) - _TIER_KEYS - _MODEL_KEYS, key=str)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}", f"unknown key; tier keys: {sorted(_TIER_KEYS | _MODEL_KEYS)}")
    model = raw.get("model")
    if not isinstance(model, str) or not model.strip():
        raise ConfigError(f"{where}.model", f"must be a model name, got {model!r}")
    strategy = raw.get("strategy", "rule")
    if strategy not in STRATEGIES:
        raise ConfigError(f"{where}.strategy", f"must be one of {list(STRATEGIES)}, got {strategy!r}")
    agreement = _agreement_from_dict(raw.get("agreement"), f"{where}.agreement")
    learned = raw.get("learned")
    if strategy == "learned" and not isinstance(learned, Mapping):
        raise ConfigError(f"{where}.learned", "strategy 'learned' needs the scorer's coefficients under 'learned'")
    threshold = raw.get("threshold")
    if threshold is not None:  # a number here; its range is checked as the tier's quality_threshold below
        check_number(f"{where}.threshold", threshold, lo=-math.inf)
    tier = TierPlan(
        model=model,
        strategy=strategy,
        threshold=None if threshold is None else float(threshold),
        settings={k: v for k, v in raw.items() if k in _MODEL_KEYS},
        agreement=agreement,
        learned=dict(learned) if isinstance(learned, Mapping) else None,
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


def plan_from_dict(data: Mapping[str, Any]) -> CascadePlan:
    """Validate a parsed YAML/JSON mapping into a :class:`CascadePlan`; errors name the field."""
    unknown = sorted(set(data) - _TOP_KEYS, key=str)
    if unknown:
        raise ConfigError(str(unknown[0]), f"unknown key; top-level keys: {sorted(_TOP_KEYS)}")
    if data.get("version", VERSION) != VERSION:
        raise ConfigError("version", f"unsupported version {data.get('version')!r}; this build reads {VERSION}")
    raw_tiers = data.get("tiers")
    if not isinstance(raw_tiers, Sequence) or isinstance(raw_tiers, str) or not raw_tiers:
        raise ConfigError("tiers", "give a non-empty list of tiers (the top model last)")
    tiers = tuple(_tier_from_dict(t, f"tiers[{i}]") for i, t in enumerate(raw_tiers))
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
    )


def plan_to_dict(plan: CascadePlan) -> dict[str, Any]:
    """The YAML-ready mapping of a plan (inverse of :func:`plan_from_dict`)."""
    tiers: list[dict[str, Any]] = []
    for tier in plan.tiers:
        out: dict[str, Any] = {"model": tier.model, **dict(tier.settings), "strategy": tier.strategy}
        if tier.threshold is not None:
            # Rounded *down*: a score equal to the calibrated threshold must still pass after the round trip.
            out["threshold"] = math.floor(float(tier.threshold) * _THRESHOLD_SCALE) / _THRESHOLD_SCALE
        if tier.agreement:
            out["agreement"] = dict(tier.agreement)
        if tier.learned is not None:
            out["learned"] = dict(tier.learned)
        tiers.append(out)
    data: dict[str, Any] = {"version": VERSION}
    if plan.tier_order != "price":
        data["tier_order"] = plan.tier_order
    data.update({"start_tiers": dict(plan.start_tiers), "tiers": tiers})
    if plan.max_escalations is not None:
        data["max_escalations"] = plan.max_escalations
    if plan.calibration:
        data["calibration"] = dict(plan.calibration)
    return data


def read_plan(path: str | Path) -> CascadePlan:
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
    return plan_from_dict(data)


def write_plan(plan: CascadePlan, path: str | Path) -> None:
    import yaml

    text = yaml.safe_dump(plan_to_dict(plan), sort_keys=False, width=110)
    Path(path).write_text("# cascadeflow cascade config; see docs/benchmarks.md\n" + text, encoding="utf-8")


def _runs_code(tier: TierPlan) -> bool:
    return tier.strategy == "agreement" and _execute_switch(tier.agreement, "agreement.execute")


def tier_validator(tier: TierPlan, *, runner: BehaviourRunner | None = None) -> Validator | None:
    """The tier's own validator, or None for ``rule`` (the agent's default composite validator). ``runner``:
    the sandboxed code runner to share, for tiers that run code (else the validator checks for its own)."""
    if _runs_code(tier):
        from cascadeflow.cascade.quality.code_behaviour import BehaviourAgreementValidator

        spec = tier.agreement
        return BehaviourAgreementValidator(  # checks the sandbox now: a ConfigError here, not at the first draft
            min_agree=int(spec.get("min_agree", 1)), peers=tuple(str(p) for p in spec.get("peers", ())),
            setting="agreement.execute", runner=runner,
        )
    if tier.strategy == "agreement":
        from cascadeflow.cascade.quality.agreement import AgreementValidator

        spec = tier.agreement
        return AgreementValidator(
            kind=str(spec.get("kind", "auto")),
            min_agree=int(spec.get("min_agree", 1)),
            peers=tuple(str(p) for p in spec.get("peers", ())),
        )
    if tier.strategy == "collect":
        from cascadeflow.cascade.quality.agreement import collect_draft

        return collect_draft
    if tier.strategy == "learned" and tier.learned is not None:
        from cascadeflow.cascade.quality.learned import LearnedScorer, LearnedValidator

        scorer = LearnedScorer.from_dict(tier.learned)
        base = None
        if scorer.checks:
            from cascadeflow.cascade.quality.composite import build_validator
            from cascadeflow.config import QualityConfig

            base = build_validator(QualityConfig.for_cascade())
        return LearnedValidator(scorer, base=base)
    return None


def plan_agent_kwargs(plan: CascadePlan) -> dict[str, Any]:
    """``CascadeAgent`` keyword arguments for a plan: models, tier_order, tier_validators, start_tiers,
    max_escalations."""
    runner = None
    if any(_runs_code(t) for t in plan.tiers):  # one sandbox check, and one memory of results, for all tiers
        from cascadeflow.cascade.quality.code_behaviour import BehaviourRunner
        from cascadeflow.cascade.quality.sandbox import Sandbox

        runner = BehaviourRunner(Sandbox.detect("agreement.execute"))
    validators = {t.model: v for t in plan.tiers for v in (tier_validator(t, runner=runner),) if v is not None}
    return {
        "models": [t.model_config() for t in plan.tiers],
        "tier_order": plan.tier_order,
        "tier_validators": validators,
        "start_tiers": dict(plan.start_tiers),
        "max_escalations": plan.max_escalations,
    }


def load_cascade_config(path: str | Path) -> dict[str, Any]:
    """Read a cascade YAML file into ``CascadeAgent(**kwargs)`` keyword arguments."""
    return plan_agent_kwargs(read_plan(path))
