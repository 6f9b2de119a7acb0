"""The default validator: run the built-in checks plus the user's validators and combine them into one
:class:`Verdict`.

The checks are those :func:`~cascadeflow.cascade.quality.checks.registry.discover_checks` finds (each declares
its settings, default weight and run order beside itself); ``CheckSettings`` overrides weights and settings by
check name, resolved here so that an unknown name is a ``ConfigError``. Score = weighted mean of the applicable
checks. The draft passes when that score reaches the context's threshold and no check vetoed it (scored below
``CheckSettings.veto``, or a user validator said no). A failed verdict names the deciding check (the vetoing or
lowest one) and the reasons of every low check, so an escalation can always be explained.

The built-in checks are synchronous and take microseconds, so without async user validators the composite
answers synchronously (the engine accepts a Verdict or an awaitable). User validators run only when the
built-in checks have not already rejected the draft: a rejected draft needs no (often costly) second opinion.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any, Final, cast

from cascadeflow.cascade.quality.base import CheckResult, ValidationContext, Verdict
from cascadeflow.cascade.quality.checks.custom import user_check, validator_name
from cascadeflow.cascade.quality.checks.registry import CheckSpec, discover_checks, ordered
from cascadeflow.config import CheckSettings, QualityConfig, ValidatorLike
from cascadeflow.errors import ConfigError
from cascadeflow.types import Completion, CompletionRequest

PASSED_BY: Final = "composite"
_ALL_PASSED: Final = ("all checks passed",)
_NOTHING_APPLIED: Final = ("no check applied to this draft",)

_Run = Callable[[CompletionRequest, Completion, ValidationContext, Any], CheckResult]


class CompositeValidator:
    """Weighted checks plus user validators; ``(request, draft, context) -> Verdict``.

    ``checks`` defaults to every check the registry discovers. A check whose weight is 0 is not run at all
    (its ``options`` are still checked, so a typo shows before it is switched on).
    """

    __slots__ = ("_checks", "_names", "_users", "settings")

    def __init__(
        self,
        checks: Sequence[CheckSpec[Any]] | None = None,
        *,
        settings: CheckSettings | None = None,
        validators: Sequence[ValidatorLike] = (),
    ) -> None:
        self.settings = settings or CheckSettings()
        specs = discover_checks() if checks is None else ordered(checks)
        known = [spec.name for spec in specs]
        weights, options = self.settings.weights, self.settings.options
        _reject_unknown("options", options, known)
        enabled: list[tuple[str, _Run, object, float]] = []
        for spec in specs:
            tuned = spec.resolve(options.get(spec.name))
            weight = float(weights.get(spec.name, spec.weight))
            if weight > 0:
                enabled.append((spec.name, spec.run, tuned, weight))
        self._names = tuple(name for name, _, _, _ in enabled)
        self._checks = tuple((run, tuned, weight) for _, run, tuned, weight in enabled)
        users: list[tuple[str, ValidatorLike, float]] = []
        for validator in validators:
            name = validator_name(validator)
            if name in self._names or any(name == n for n, _, _ in users):  # two lambdas: "<lambda>#2"
                name = f"{name}#{len(users) + 1}"
            users.append((name, validator, float(weights.get(name, self.settings.user_weight))))
        self._users = tuple(users)
        _reject_unknown("weights", weights, [*known, *(name for name, _, _ in users)])

    @property
    def check_names(self) -> tuple[str, ...]:
        """Names of the checks this validator runs, built-in first, in order."""
        return self._names + tuple(name for name, _, _ in self._users)

    def __call__(
        self, request: CompletionRequest, draft: Completion, context: ValidationContext
    ) -> Verdict | Coroutine[Any, Any, Verdict]:
        settings = self.settings
        results: list[CheckResult] = []
        total = weighted = 0.0
        lowest = 1.0
        for check, tuned, weight in self._checks:
            result = check(request, draft, context, tuned)
            if result.applicable:
                results.append(result)
                total += weight
                weighted += weight * result.score
                if result.score < lowest:
                    lowest = result.score
        if not self._users or lowest < settings.veto:
            return self._verdict(results, weighted, total, context.threshold, ())
        outcomes = [validator(request, draft, context) for _, validator, _ in self._users]
        if any([hasattr(outcome, "__await__") for outcome in outcomes]):
            return self._finish_async(outcomes, results, weighted, total, context.threshold)
        return self._with_users(outcomes, results, weighted, total, context.threshold)

    async def _finish_async(
        self, outcomes: list[Any], results: list[CheckResult], weighted: float, total: float, threshold: float
    ) -> Verdict:
        import asyncio  # already loaded whenever a coroutine runs; kept off the sync import path

        pending = [cast("Awaitable[object]", o) for o in outcomes if hasattr(o, "__await__")]
        done = iter(await asyncio.gather(*pending))
        resolved = [next(done) if hasattr(o, "__await__") else o for o in outcomes]
        return self._with_users(resolved, results, weighted, total, threshold)

    def _with_users(
        self, outcomes: list[Any], results: list[CheckResult], weighted: float, total: float, threshold: float
    ) -> Verdict:
        failed: list[str] = []
        for (name, _, weight), outcome in zip(self._users, outcomes, strict=True):
            result, passed = user_check(name, outcome, threshold)
            results.append(result)
            total += weight
            weighted += weight * result.score
            if not passed:
                failed.append(name)
        return self._verdict(results, weighted, total, threshold, tuple(failed))

    def _verdict(
        self, results: list[CheckResult], weighted: float, total: float, threshold: float, failed: tuple[str, ...]
    ) -> Verdict:
        if not total:
            return Verdict(1.0, True, _NOTHING_APPLIED, tuple(results), PASSED_BY, threshold)
        score = weighted / total
        veto = self.settings.veto
        vetoes = [r for r in results if r.score < veto or r.name in failed]
        if not vetoes and score >= threshold:
            low = [r.reason for r in results if r.score < threshold]
            return Verdict(score, True, tuple(low) if low else _ALL_PASSED, tuple(results), PASSED_BY, threshold)
        decider = min(vetoes or results, key=_score_of)
        reasons = tuple([r.reason for r in results if r.score < threshold or r.score < veto or r.name in failed])
        return Verdict(score, False, reasons, tuple(results), decider.name, threshold)


def _score_of(result: CheckResult) -> float:
    return result.score


def _reject_unknown(setting: str, given: Mapping[str, object], known: Sequence[str]) -> None:
    """A name in ``CheckSettings.weights``/``options`` that no check (or user validator) has is a typo."""
    for name in given:
        if name not in known:
            raise ConfigError(f"CheckSettings.{setting}[{name!r}]", f"no check by this name; known: {sorted(known)}")


def build_validator(quality: QualityConfig) -> CompositeValidator:
    """The default validator for a cascade: the discovered checks tuned by ``quality.checks`` plus
    ``quality.validators``."""
    return CompositeValidator(settings=quality.checks, validators=quality.validators)
