"""Checks register themselves: discovery finds every check module of the package, a check file added to a
package is picked up with no list or core config to edit, and overrides by check name are resolved strictly."""

from __future__ import annotations

import ast
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

import cascadeflow.cascade.quality.checks as checks_package
from cascadeflow.cascade.quality.base import ValidationContext, Verdict
from cascadeflow.cascade.quality.checks.completeness import SPEC as COMPLETENESS
from cascadeflow.cascade.quality.checks.completeness import CompletenessSettings
from cascadeflow.cascade.quality.checks.refusal import RefusalSettings
from cascadeflow.cascade.quality.checks.registry import CheckSpec, discover_checks, ordered
from cascadeflow.cascade.quality.composite import CompositeValidator, build_validator
from cascadeflow.config import CheckSettings, QualityConfig
from cascadeflow.errors import ConfigError
from cascadeflow.types import Completion, CompletionRequest, Message

PACKAGE_DIR = Path(checks_package.__file__).parent
BUILTIN_ORDER = ("completeness", "refusal", "degeneration", "tool_calls", "answer_type", "relevance", "confidence")
CTX = ValidationContext(threshold=0.7)


def request(query: str) -> CompletionRequest:
    return CompletionRequest(messages=(Message(role="user", content=query),))


def draft(content: str, **kw: Any) -> Completion:
    return Completion(content=content, model="small", **kw)


def verdict_of(validator: CompositeValidator, query: str, answer: str, **kw: Any) -> Verdict:
    verdict = validator(request(query), draft(answer, **kw), CTX)
    assert isinstance(verdict, Verdict)
    return verdict


def _defines_spec(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    targets = [t for node in tree.body if isinstance(node, ast.Assign) for t in node.targets]
    targets += [node.target for node in tree.body if isinstance(node, ast.AnnAssign)]
    return any(isinstance(t, ast.Name) and t.id == "SPEC" for t in targets)


# --------------------------------------------------------------------------- discovery of the package
def test_discovery_finds_exactly_the_modules_that_define_spec() -> None:
    specs = discover_checks()
    modules = {sys.modules[spec.run.__module__].__file__ for spec in specs}
    expected = {str(path) for path in PACKAGE_DIR.glob("*.py") if _defines_spec(path)}
    assert modules == expected and len(specs) == len(expected)
    assert "custom" not in {spec.name for spec in specs}  # the user-validator adapter is a helper


def test_builtin_checks_keep_their_run_order_and_weights() -> None:
    specs = discover_checks()
    names = [spec.name for spec in specs]
    assert names[0] == "completeness" and len(names) == len(set(names))
    assert [n for n in names if n in BUILTIN_ORDER] == list(BUILTIN_ORDER)
    weights = {spec.name: spec.weight for spec in specs}
    assert {n: weights[n] for n in BUILTIN_ORDER} == {
        "completeness": 2.0, "refusal": 2.0, "degeneration": 2.0, "tool_calls": 2.0, "answer_type": 1.5,
        "relevance": 1.0, "confidence": 1.5,
    }  # fmt: skip
    assert [spec.order for spec in specs] == sorted(spec.order for spec in specs)


def test_every_check_setting_is_frozen_and_says_why() -> None:
    """Each field of each check's settings has a default (SPEC built it) and a docstring right below it."""
    for spec in discover_checks():
        assert getattr(spec.settings, "__dataclass_params__").frozen, spec.name  # noqa: B009
        assert all(f.init for f in fields(spec.settings)), spec.name
        source = Path(str(sys.modules[spec.run.__module__].__file__)).read_text(encoding="utf-8")
        name = spec.settings.__name__
        body = next(n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == name).body
        for i, node in enumerate(body):
            if isinstance(node, ast.AnnAssign):
                doc = body[i + 1] if i + 1 < len(body) else None
                assert isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant), (spec.name, node.target)


# --------------------------------------------------------------------------- a check added as a file
SHOUT_CHECK = '''
from dataclasses import dataclass
from typing import Final

from cascadeflow.cascade.quality.base import CheckResult
from cascadeflow.cascade.quality.checks.registry import CheckSpec
from cascadeflow.validate import check_number


@dataclass(frozen=True)
class ShoutSettings:
    max_caps_share: float = 0.5
    """An answer written mostly in capitals is shouting."""

    def __post_init__(self) -> None:
        check_number("ShoutSettings.max_caps_share", self.max_caps_share, hi=1.0)


def check_shout(request, draft, context, settings):
    letters = [c for c in draft.content if c.isalpha()]
    share = sum(c.isupper() for c in letters) / len(letters) if letters else 0.0
    return CheckResult("shout", 0.0 if share > settings.max_caps_share else 1.0, f"shout: {share:.0%} capitals")


SPEC: Final = CheckSpec(name="shout", run=check_shout, settings=ShoutSettings, weight=1.0, order=15)
'''
QUIET_CHECK = '''
from dataclasses import dataclass

from cascadeflow.cascade.quality.base import CheckResult
from cascadeflow.cascade.quality.checks.registry import CheckSpec


@dataclass(frozen=True)
class QuietSettings:
    """No tunables."""


def check_quiet(request, draft, context, settings):
    return CheckResult("quiet", 0.0, "quiet: always vetoes")


SPEC = CheckSpec(name="quiet", run=check_quiet, settings=QuietSettings, weight=0.0, order=99)
'''


@pytest.fixture
def extra_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A package of check files outside cascadeflow, importable for the test only."""
    name = f"extra_checks_{tmp_path.name.replace('-', '_')}"
    root = tmp_path / name
    root.mkdir()
    (root / "__init__.py").write_text('"""Extra checks."""\n')
    (root / "shout.py").write_text(textwrap.dedent(SHOUT_CHECK))
    (root / "quiet.py").write_text(textwrap.dedent(QUIET_CHECK))
    (root / "helpers.py").write_text("VALUE = 1\n")  # no SPEC: not a check
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[module]


def test_a_check_file_in_a_package_is_discovered_and_runs(extra_package: str) -> None:
    extra = discover_checks(extra_package)
    assert [spec.name for spec in extra] == ["shout", "quiet"]
    validator = CompositeValidator([*discover_checks(), *extra])
    assert validator.check_names[:2] == ("completeness", "shout")  # order 15 runs between 10 and 20
    assert "quiet" not in validator.check_names  # weight 0 in its SPEC: shipped off
    loud = verdict_of(validator, "Why is the sky blue?", "THE SKY IS BLUE BECAUSE AIR SCATTERS BLUE LIGHT.")
    assert not loud.passed and loud.decided_by == "shout"
    calm = verdict_of(validator, "Why is the sky blue?", "The sky is blue because air scatters blue light.")
    assert calm.passed and calm.scores["shout"] == 1.0


def test_a_discovered_check_is_tuned_and_switched_by_name(extra_package: str) -> None:
    extra = discover_checks(extra_package)
    settings = CheckSettings(weights={"quiet": 1.0}, options={"shout": {"max_caps_share": 1.0}})
    validator = CompositeValidator([*discover_checks(), *extra], settings=settings)
    verdict = verdict_of(validator, "Why is the sky blue?", "THE SKY IS BLUE BECAUSE AIR SCATTERS BLUE LIGHT.")
    assert verdict.scores["shout"] == 1.0 and verdict.decided_by == "quiet"
    with pytest.raises(ConfigError) as info:
        CompositeValidator(extra, settings=CheckSettings(options={"shout": {"max_caps_share": 2}}))
    assert info.value.field == "ShoutSettings.max_caps_share"


def test_discovery_refuses_what_is_not_a_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"bad_checks_{tmp_path.name.replace('-', '_')}"
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / name / "odd.py").write_text("SPEC = 5\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.raises(ConfigError, match="must be a CheckSpec"):
            discover_checks(name)
        with pytest.raises(ConfigError, match="not a package"):
            discover_checks(f"{name}.odd")
    finally:
        for module in [m for m in sys.modules if m.startswith(name)]:
            del sys.modules[module]


def test_two_checks_of_one_name_are_refused() -> None:
    with pytest.raises(ConfigError, match="two checks have this name"):
        ordered([COMPLETENESS, COMPLETENESS])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "CheckSpec.name"),
        ({"weight": -1.0}, "CheckSpec['x'].weight"),
        ({"order": -1}, "CheckSpec['x'].order"),
        ({"settings": dict}, "CheckSpec['x'].settings"),
        ({"run": 5}, "CheckSpec['x'].run"),
    ],
)
def test_a_malformed_spec_is_refused(kwargs: dict[str, Any], field: str) -> None:
    spec: dict[str, Any] = {"name": "x", "run": COMPLETENESS.run, "settings": CompletenessSettings, "weight": 1.0,
                            "order": 1, **kwargs}  # fmt: skip
    with pytest.raises(ConfigError) as info:
        CheckSpec(**spec)
    assert info.value.field == field


# --------------------------------------------------------------------------- overrides by check name
def test_weights_default_to_each_checks_own() -> None:
    """"Blue." scores relevance 0.6 (lenient), three other checks 1.0 at weight 2: (6 + 0.6) / 7."""
    default = verdict_of(build_validator(QualityConfig.for_cascade()), "What color is the sky?", "Blue.")
    assert default.score == pytest.approx(6.6 / 7)
    heavier = build_validator(QualityConfig.for_cascade(checks=CheckSettings(weights={"relevance": 3.0})))
    assert verdict_of(heavier, "What color is the sky?", "Blue.").score == pytest.approx(7.8 / 9)


@pytest.mark.parametrize(
    "option", [{"truncated_score": 0.2}, CompletenessSettings(truncated_score=0.2)], ids=["mapping", "instance"]
)
def test_options_tune_a_check_by_name(option: object) -> None:
    validator = CompositeValidator(settings=CheckSettings(options={"completeness": option}))
    verdict = verdict_of(validator, "Explain photosynthesis.", "Plants turn light into", finish_reason="length")
    assert verdict.scores["completeness"] == 0.2 and verdict.decided_by == "completeness"


def test_a_refusal_setting_changes_the_verdict() -> None:
    late = "Paris is the capital of France and its largest city. " * 4 + "I'm not sure about its exact population."
    strict = verdict_of(CompositeValidator(), "What is the capital of France?", late)
    assert strict.scores["refusal"] == 0.0  # one hedge in 47 words is above the density of 1 in 50
    lenient = CompositeValidator(settings=CheckSettings(options={"refusal": RefusalSettings(max_density=0.05)}))
    assert verdict_of(lenient, "What is the capital of France?", late).scores["refusal"] == 0.8


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        (CheckSettings(options={"refusl": {}}), "CheckSettings.options['refusl']"),
        (CheckSettings(options={"refusal": {"lead_char": 5}}), "CheckSettings.options['refusal']['lead_char']"),
        (CheckSettings(options={"refusal": {"lead_chars": 0}}), "RefusalSettings.lead_chars"),
        (CheckSettings(options={"refusal": CompletenessSettings()}), "CheckSettings.options['refusal']"),
        (CheckSettings(weights={"refusl": 0.0}), "CheckSettings.weights['refusl']"),
    ],
)
def test_unknown_names_and_bad_values_are_config_errors(settings: CheckSettings, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_validator(QualityConfig.for_cascade(checks=settings))
    assert info.value.field == field


def test_options_of_a_check_turned_off_are_still_checked() -> None:
    settings = CheckSettings(weights={"refusal": 0.0}, options={"refusal": {"lead_chars": -1}})
    with pytest.raises(ConfigError, match=r"RefusalSettings\.lead_chars"):
        CompositeValidator(settings=settings)


def test_a_weight_may_name_a_user_validator() -> None:
    def polite(request: CompletionRequest, draft: Completion, context: ValidationContext) -> float:
        return 0.5

    settings = CheckSettings(weights={"polite": 0.5})
    validator = build_validator(QualityConfig.for_cascade(checks=settings, validators=[polite]))
    assert validator.check_names[-1] == "polite"
