"""How the composite finds its checks: every module of the checks package that defines ``SPEC``.

A check is one file holding the check function, its frozen settings dataclass (each default with its reason)
and ``SPEC = CheckSpec(...)``: its name, function, settings class, default weight and place in the run order.
Adding a check is adding that file; neither core config nor any list changes. ``CheckSettings`` (core config)
only carries overrides by check name, resolved here against the specs, so a misspelt check or field name is a
:class:`~cascadeflow.errors.ConfigError`, never silently ignored.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from cascadeflow.cascade.quality.base import CheckResult, ValidationContext
from cascadeflow.errors import ConfigError
from cascadeflow.types import Completion, CompletionRequest
from cascadeflow.validate import check_int, check_number, check_text

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

S = TypeVar("S", bound="DataclassInstance")

CHECKS_PACKAGE: Final = "cascadeflow.cascade.quality.checks"
"""The package searched by default: the built-in checks, and any check file added to it."""


@dataclass(frozen=True)
class CheckSpec(Generic[S]):
    """One check as the composite sees it: ``run(request, draft, context, settings) -> CheckResult``."""

    name: str
    """The check's name in verdicts, ``CheckSettings.weights`` and ``CheckSettings.options``."""
    run: Callable[[CompletionRequest, Completion, ValidationContext, S], CheckResult]
    settings: type[S]
    """The check's frozen settings dataclass; every field has a default."""
    weight: float
    """Default weight in the composite score; ``CheckSettings.weights`` overrides it, 0 turns the check off
    (a check can ship off by default and be opted into)."""
    order: int
    """Run order, lowest first. When two checks veto with the same score, the earlier one is named as
    deciding; the built-ins are spaced by 10 so a new check can slot in between."""
    defaults: S = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_text("CheckSpec.name", self.name)
        where = f"CheckSpec[{self.name!r}]"
        if not callable(self.run):
            raise ConfigError(f"{where}.run", f"must be callable, got {type(self.run).__name__}")
        if not (isinstance(self.settings, type) and is_dataclass(self.settings)):
            raise ConfigError(f"{where}.settings", f"must be a dataclass type, got {self.settings!r}")
        check_number(f"{where}.weight", self.weight)
        check_int(f"{where}.order", self.order, lo=0)
        try:
            defaults = self.settings()
        except TypeError as exc:
            raise ConfigError(f"{where}.settings", f"every field needs a default ({exc})") from None
        object.__setattr__(self, "defaults", defaults)

    def resolve(self, option: object = None) -> S:
        """This check's settings from ``CheckSettings.options[name]``: absent → the defaults; an instance of
        the settings class → itself; a mapping → the defaults with those fields replaced (validated by the
        settings class, whose error names e.g. ``RefusalSettings.lead_chars``)."""
        where = f"CheckSettings.options[{self.name!r}]"
        if option is None:
            return self.defaults
        if isinstance(option, self.settings):
            return option
        if not isinstance(option, Mapping):
            raise ConfigError(where, f"must be a {self.settings.__name__} or a mapping of its fields, "
                                     f"got {type(option).__name__}")
        known = sorted(f.name for f in fields(self.settings) if f.init)
        for key in option:
            if key not in known:
                raise ConfigError(f"{where}[{key!r}]", f"unknown field of {self.settings.__name__}; known: {known}")
        return self.settings(**option)


def discover_checks(package: str | ModuleType = CHECKS_PACKAGE) -> tuple[CheckSpec[Any], ...]:
    """Every ``SPEC`` defined by a module of ``package``, in run order (then by name).

    Modules are found on the package's path (``pkgutil``), so a check file dropped into the package is picked
    up with no list to edit; modules without ``SPEC`` (helpers, this registry) are skipped. Python's module
    cache makes a repeated call cost a directory listing, so nothing is memoised here.
    """
    import pkgutil  # only agents and validators being built need it, not ``import cascadeflow``

    pkg = importlib.import_module(package) if isinstance(package, str) else package
    path = getattr(pkg, "__path__", None)
    if path is None:
        raise ConfigError("checks package", f"{pkg.__name__} is a module, not a package of check modules")
    specs: list[CheckSpec[Any]] = []
    for info in pkgutil.iter_modules(path, prefix=f"{pkg.__name__}."):
        spec = getattr(importlib.import_module(info.name), "SPEC", None)
        if spec is None:
            continue
        if not isinstance(spec, CheckSpec):
            raise ConfigError(f"{info.name}.SPEC", f"must be a CheckSpec, got {type(spec).__name__}")
        specs.append(spec)
    return ordered(specs)


def ordered(specs: Iterable[CheckSpec[Any]]) -> tuple[CheckSpec[Any], ...]:
    """``specs`` in run order, refusing two checks of one name (which weights and options could not tell
    apart)."""
    result = tuple(sorted(specs, key=_run_order))
    names = [spec.name for spec in result]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"CheckSpec[{name!r}]", "two checks have this name; each needs its own")
    return result


def _run_order(spec: CheckSpec[Any]) -> tuple[int, str]:
    return spec.order, spec.name
