"""The gateway's YAML file, checked once at start-up: every mistake is a ``ConfigError`` naming the field.

    models:
      - name: auto                      # a cascade exposed as one model
        cascade:
          - {name: small, provider: openai, base_url: "http://…/v1", api_key: x, cost: 0.0002}
          - {name: big, provider: openai, base_url: "http://…/v1", api_key: x, cost: 0.002}
      - {name: fast, provider: openai, base_url: "http://…/v1", api_key: x, cost: 0.0002}  # passed through
      - {name: tuned, config: plan.yaml}  # a calibrated plan (CascadeAgent.from_config)
    keys:
      - {key: sk-test-a, budget: {daily: 10.0}, rpm: 600}   # or key_sha256: / key_env: instead of key:
    store: sqlite:///gateway.db         # or memory://, redis://…, postgresql://…

Extensions (none renames a key above): a model entry may say ``model:`` (the upstream's name when it differs from
the exposed one), ``api_key_env:`` (read the key from that variable), ``deadline_s``, ``tier_order``,
``max_escalations``; a key may say ``id:`` (its name in budgets, limits, logs and metrics) and ``models:`` (the
models it may use); ``rate_limit_store`` (default: ``store`` when it is Redis, else in-process), ``server:``,
``logging:`` and ``telemetry:`` (see :mod:`cascadeflow.server.settings`). ``${NAME}`` in ``store`` and
``rate_limit_store`` is read from the environment (so a database password can live in a Secret).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Final

from cascadeflow.config import TIER_ORDERS, ModelConfig
from cascadeflow.errors import ConfigError
from cascadeflow.secret import Secret, redact_url
from cascadeflow.server.keys import KeyEntry, parse_key
from cascadeflow.server.settings import ServerSettings, parse_settings
from cascadeflow.validate import check_int, check_number, check_text

_TOP_KEYS: Final = frozenset({"models", "keys", "store", "rate_limit_store", "server", "logging", "telemetry"})
_MODEL_FIELDS: Final = frozenset(f.name for f in fields(ModelConfig))
_ENTRY_EXTRAS: Final = frozenset({"model", "api_key_env", "cascade", "config", "deadline_s", "tier_order",
                                  "max_escalations"})
_TIER_EXTRAS: Final = frozenset({"api_key_env"})
STORE_SCHEMES: Final = ("memory://", "sqlite:///", "redis://", "rediss://", "unix://", "postgresql://",
                         "postgres://")
_VAR: Final = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_DEADLINE_S: Final = 3600.0
"""Same bound as every other time limit (cascadeflow.config.MAX_TIMEOUT_S): an hour is a unit slip."""


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """One model the gateway exposes: a cascade of tiers, one model passed through, or a calibrated plan."""

    name: str
    tiers: tuple[ModelConfig, ...] = ()
    plan: Path | None = None
    deadline_s: float | None = None
    tier_order: str = "price"
    max_escalations: int | None = None

    @property
    def passthrough(self) -> bool:
        """One upstream model, no cascade: its answer is final and is not judged."""
        return self.plan is None and len(self.tiers) == 1


@dataclass(frozen=True)
class GatewayConfig:
    """The whole gateway: exposed models, virtual keys, where budgets and limits live, server settings."""

    models: tuple[ModelEntry, ...]
    keys: tuple[KeyEntry, ...]
    store: str = "memory://"
    rate_limit_store: str = "memory://"
    settings: ServerSettings = field(default_factory=ServerSettings)

    def model(self, name: str) -> ModelEntry | None:
        return next((m for m in self.models if m.name == name), None)

    @classmethod
    def load(cls, path: str | Path, environ: Mapping[str, str] | None = None) -> GatewayConfig:
        """Read and check a YAML file; relative paths in it (plans, SQLite files) are taken from its folder."""
        import yaml

        source = Path(path)
        try:
            data = yaml.safe_load(source.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError("config", f"cannot read {source}: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            raise ConfigError("config", f"{source} is not valid YAML: {exc}") from None
        return cls.from_dict(data, base_dir=source.resolve().parent, environ=environ)

    @classmethod
    def from_dict(
        cls, data: Any, *, base_dir: Path | None = None, environ: Mapping[str, str] | None = None
    ) -> GatewayConfig:
        env = os.environ if environ is None else environ
        root = base_dir or Path.cwd()
        if not isinstance(data, Mapping):
            raise ConfigError("config", f"must be a mapping with models and keys, got {type(data).__name__}")
        unknown = sorted(set(data) - _TOP_KEYS, key=str)
        if unknown:
            raise ConfigError(str(unknown[0]), f"unknown top-level key; known: {sorted(_TOP_KEYS)}")
        models = _models(data.get("models"), root, env)
        keys = _keys(data.get("keys"), {m.name for m in models}, env)
        store = _store(data.get("store", "memory://"), root, "store", env)
        limits_default = store if store.startswith(("redis://", "rediss://")) else "memory://"
        rate_store = data.get("rate_limit_store", limits_default)
        if isinstance(rate_store, str):
            rate_store = _expand(rate_store, "rate_limit_store", env)
        if not isinstance(rate_store, str) or not rate_store.startswith(("memory://", "redis://", "rediss://")):
            raise ConfigError("rate_limit_store", "must be memory:// or a redis:// URL")
        settings = parse_settings(data.get("server"), data.get("logging"), data.get("telemetry"))
        return cls(models=models, keys=keys, store=store, rate_limit_store=rate_store, settings=settings)


def _expand(value: str, where: str, env: Mapping[str, str]) -> str:
    """``${NAME}`` in a store URL is read from the environment (a password kept in a Kubernetes Secret)."""

    def var(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigError(where, f"environment variable {name} (used as ${{{name}}}) is not set")
        return env[name]

    return _VAR.sub(var, value)


def _store(value: object, root: Path, where: str, env: Mapping[str, str]) -> str:
    if isinstance(value, str):
        value = _expand(value, where, env)
    if not isinstance(value, str) or not value.startswith(STORE_SCHEMES):
        shown = redact_url(value) if isinstance(value, str) else repr(value)
        raise ConfigError(where, "must be a URL (memory://, sqlite:///file.db, redis://…, postgresql://…), "
                          f"got {shown}")
    relative = value.startswith("sqlite:///") and not value.startswith("sqlite:////")
    return f"sqlite:///{root / value[len('sqlite:///'):]}" if relative else value


def _mapping(raw: object, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise ConfigError(where, f"must be a mapping, got {type(raw).__name__}")
    return raw


def _list(raw: object, where: str) -> Sequence[Any]:
    if isinstance(raw, str | bytes | Mapping) or not isinstance(raw, Sequence) or not raw:
        raise ConfigError(where, "must be a non-empty list")
    return raw


def _model_config(raw: Mapping[str, Any], where: str, env: Mapping[str, str], extra: frozenset[str]) -> ModelConfig:
    data = {k: v for k, v in raw.items() if k not in extra}
    unknown = sorted(set(data) - _MODEL_FIELDS, key=str)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}", f"unknown key; model keys: {sorted(_MODEL_FIELDS | extra)}")
    variable = raw.get("api_key_env")
    if variable is not None:
        check_text(f"{where}.api_key_env", variable)
        if "api_key" in raw:
            raise ConfigError(f"{where}.api_key_env", "give api_key or api_key_env, not both")
        value = env.get(variable, "").strip()
        if not value:
            raise ConfigError(f"{where}.api_key_env", f"environment variable {variable} is not set")
        data["api_key"] = Secret(value, source=variable)
    try:
        return ModelConfig(**data)
    except ConfigError as exc:
        raise ConfigError(f"{where}.{exc.field.removeprefix('ModelConfig.')}", str(exc).split(": ", 1)[-1]) from None
    except TypeError as exc:  # a required field (name) is missing
        raise ConfigError(where, f"incomplete model entry ({exc})") from None


def _entry(raw: object, where: str, root: Path, env: Mapping[str, str]) -> ModelEntry:
    entry = _mapping(raw, where)
    name = check_text(f"{where}.name", entry.get("name"))
    common: dict[str, Any] = {"name": name}
    if entry.get("deadline_s") is not None:
        check_number(f"{where}.deadline_s", entry["deadline_s"], lo=0.001, hi=MAX_DEADLINE_S)
        common["deadline_s"] = float(entry["deadline_s"])
    if "tier_order" in entry:
        if entry["tier_order"] not in TIER_ORDERS:
            raise ConfigError(f"{where}.tier_order",
                              f"must be one of {list(TIER_ORDERS)}, got {entry['tier_order']!r}")
        common["tier_order"] = entry["tier_order"]
    if entry.get("max_escalations") is not None:
        check_int(f"{where}.max_escalations", entry["max_escalations"], lo=0)
        common["max_escalations"] = entry["max_escalations"]
    if "config" in entry:
        extra = sorted(set(entry) - {"name", "config", "deadline_s"}, key=str)
        if extra:
            raise ConfigError(f"{where}.{extra[0]}",
                              "a model with config: (a plan file) takes only name and deadline_s")
        plan = Path(check_text(f"{where}.config", entry["config"]))
        plan = plan if plan.is_absolute() else root / plan
        if not plan.is_file():
            raise ConfigError(f"{where}.config", f"plan file {plan} does not exist")
        return ModelEntry(**common, plan=plan)
    if "cascade" in entry:
        extra = sorted(set(entry) - {"name", "cascade", "deadline_s", "tier_order", "max_escalations"}, key=str)
        if extra:
            raise ConfigError(f"{where}.{extra[0]}", "a cascade entry takes name, cascade, deadline_s, tier_order, "
                              "max_escalations; model settings go into each tier")
        tiers = tuple(
            _model_config(_mapping(t, f"{where}.cascade[{i}]"), f"{where}.cascade[{i}]", env, _TIER_EXTRAS)
            for i, t in enumerate(_list(entry["cascade"], f"{where}.cascade"))
        )
        names = [t.name for t in tiers]
        if len(set(names)) != len(names):
            raise ConfigError(f"{where}.cascade", f"tier names must differ, got {names}")
        return ModelEntry(**common, tiers=tiers)
    data = {k: v for k, v in entry.items() if k not in {"deadline_s", "tier_order", "max_escalations"}}
    data["name"] = entry.get("model", name)
    tier = _model_config(data, where, env, _ENTRY_EXTRAS - {"deadline_s", "tier_order", "max_escalations"})
    return ModelEntry(**common, tiers=(tier,))


def _models(raw: object, root: Path, env: Mapping[str, str]) -> tuple[ModelEntry, ...]:
    entries = tuple(_entry(m, f"models[{i}]", root, env) for i, m in enumerate(_list(raw, "models")))
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        if entry.name in seen:
            raise ConfigError(f"models[{i}].name", f"duplicate model name {entry.name!r}")
        seen.add(entry.name)
    return entries


def _keys(raw: object, model_names: set[str], env: Mapping[str, str]) -> tuple[KeyEntry, ...]:
    keys = tuple(parse_key(k, f"keys[{i}]", model_names, env) for i, k in enumerate(_list(raw, "keys")))
    ids: set[str] = set()
    digests: set[bytes] = set()
    for i, key in enumerate(keys):
        if key.digest in digests:
            raise ConfigError(f"keys[{i}]", "the same key is listed twice")
        if key.id in ids:
            raise ConfigError(f"keys[{i}].id", f"duplicate key id {key.id!r}")
        ids.add(key.id)
        digests.add(key.digest)
    return keys

