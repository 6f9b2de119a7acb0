"""Turning code execution on: ``execute`` takes only real booleans, and without a usable sandbox nothing runs
(a ConfigError naming the setting when the validator or plan is built, never a weaker fallback)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cascadeflow.calibrate import plan_search as calibrate
from cascadeflow.cascade.plan_config import TierPlan, plan_agent_kwargs, plan_from_dict, read_plan, tier_validator
from cascadeflow.cascade.quality import sandbox as sandbox_module
from cascadeflow.cascade.quality.agreement import AgreementValidator
from cascadeflow.cascade.quality.code_behaviour import BehaviourAgreementValidator, run_behaviour
from cascadeflow.cascade.quality.sandbox import Sandbox
from cascadeflow.errors import ConfigError
from cascadeflow.providers.replay import RecordedAnswer, RecordedPrompt

SRC = Path(__file__).resolve().parents[2] / "src"


def _plan(execute: Any) -> dict[str, Any]:
    return {"tiers": [
        {"model": "a", "provider": "openai", "strategy": "collect"},
        {"model": "b", "provider": "openai", "strategy": "agreement", "agreement": {"execute": execute}},
        {"model": "c", "provider": "openai"},
    ]}


@pytest.mark.parametrize("value", ["false", "no", "0", "true", "", 0, 1, None, [], "off"])
def test_execute_accepts_only_real_booleans(value: Any) -> None:
    with pytest.raises(ConfigError, match=r"must be true or false, got") as caught:
        plan_from_dict(_plan(value))
    assert caught.value.field == "tiers[1].agreement.execute" and repr(value) in str(caught.value)


def test_execute_false_in_yaml_compares_text_and_a_quoted_false_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text("tiers:\n  - {model: a, provider: openai, strategy: collect}\n"
                    "  - {model: b, provider: openai, strategy: agreement, agreement: {execute: false}}\n"
                    "  - {model: c, provider: openai}\n")
    validator = tier_validator(read_plan(path).tiers[1])
    assert isinstance(validator, AgreementValidator)  # never runs code
    path.write_text(path.read_text().replace("execute: false", 'execute: "false"'))
    with pytest.raises(ConfigError, match=r"tiers\[1\]\.agreement\.execute: must be true or false, got 'false'"):
        read_plan(path)


def test_a_plan_built_in_code_is_checked_too() -> None:
    tier = TierPlan(model="b", strategy="agreement", params={"agreement": {"execute": "no"}})
    with pytest.raises(ConfigError, match=r"^agreement\.execute: must be true or false, got 'no'"):
        tier_validator(tier)


def test_execute_true_builds_the_behaviour_validator() -> None:
    validator = tier_validator(plan_from_dict(_plan(True)).tiers[1])
    assert isinstance(validator, BehaviourAgreementValidator) and validator.runner.sandbox == Sandbox.detect()


@pytest.fixture
def no_bwrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_module, "find_bwrap", lambda: None)


@pytest.fixture
def refusing_bwrap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """A bwrap that fails the way it does where unprivileged user namespaces are turned off."""
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace, likely because the kernel "
                    "does not allow non-privileged user namespaces.' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sandbox_module, "find_bwrap", lambda: str(fake))
    yield


@pytest.mark.usefixtures("no_bwrap")
def test_without_bubblewrap_every_way_to_turn_execution_on_fails_at_configuration() -> None:
    with pytest.raises(ConfigError, match=r"^execute: running model-written code needs bubblewrap"):
        Sandbox.detect()
    with pytest.raises(ConfigError, match=r"^execute: .*apt-get install bubblewrap"):
        BehaviourAgreementValidator()
    with pytest.raises(ConfigError, match=r"^agreement\.execute: .*bubblewrap"):
        plan_agent_kwargs(plan_from_dict(_plan(True)))
    assert isinstance(plan_agent_kwargs(plan_from_dict(_plan(False)))["tier_validators"]["b"], AgreementValidator)
    answers = {m: RecordedAnswer("```python\ndef f(x):\n    return x\n\nf(1)\n```", 1e-4, True) for m in "ab"}
    prompts = [RecordedPrompt("p1", "Write a function to return x.", answers)]
    with pytest.raises(ConfigError, match=r"^execute_code: "):
        calibrate._Prepared(prompts, ["a", "b"], "auto", checks=False, execute=True)
    with pytest.raises(ConfigError):
        run_behaviour({"a": "def f(x):\n    return x\n"})  # nothing runs without a sandbox


@pytest.mark.usefixtures("refusing_bwrap")
def test_a_bubblewrap_that_cannot_create_namespaces_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"not usable here: bwrap exited with 1 \(bwrap: No permissions to creating"):
        BehaviourAgreementValidator(setting="agreement.execute")


def test_other_systems_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    with pytest.raises(ConfigError, match=r"^execute: running model-written code needs the Linux sandbox"):
        Sandbox.detect()


_UNPRIVILEGED_PROBE = """
import asyncio, json, os
from cascadeflow.cascade.quality.sandbox import Sandbox, SandboxLimits
sandbox = Sandbox.detect()
program = '''
import json, os, time
children = 0
for _ in range(300):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    children += 1
print(json.dumps({"children": children, "uid": os.getuid(), "passwd": os.path.exists("/etc/passwd"),
                  "pids": len([p for p in os.listdir("/proc") if p.isdigit()])}))
'''
result = asyncio.run(sandbox.run(program, b"", SandboxLimits(max_processes=8)))
print(json.dumps({"privileged": sandbox.privileged, "stdout": result.stdout.decode(), "failure": result.failure}))
"""


@pytest.fixture
def readable_src() -> Iterator[Path]:
    """The modules the probe needs, copied where an unprivileged user can read them."""
    root = Path(tempfile.mkdtemp(prefix="cascadeflow-sandbox-src-"))
    try:
        for name in ("__init__.py", "errors.py", "cascade/__init__.py", "cascade/quality/__init__.py",
                     "cascade/quality/sandbox.py"):
            target = root / "cascadeflow" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(SRC / "cascadeflow" / name, target)
        for path in (root, *root.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield root
    finally:
        shutil.rmtree(root)


def _system_python() -> str | None:
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.access(candidate, os.X_OK):
            done = subprocess.run([candidate, "-c", "import sys; print(sys.version_info >= (3, 11))"],
                                  capture_output=True, text=True, check=False)
            if done.stdout.strip() == "True":
                return candidate
    return None


@pytest.mark.skipif(not sys.platform.startswith("linux") or os.geteuid() != 0,
                    reason="needs root to start the check as an unprivileged user")
def test_started_by_an_unprivileged_user_it_uses_a_user_namespace(readable_src: Path) -> None:
    python = _system_python()
    if python is None:
        pytest.skip("no system Python >= 3.11 that an unprivileged user can run")
    done = subprocess.run([python, "-I", "-c", f"import sys; sys.path.insert(0, {str(readable_src)!r})\n"
                           + _UNPRIVILEGED_PROBE], user=65534, group=65534, extra_groups=[], cwd="/", env={},
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout.strip().splitlines()[-1])
    assert facts["privileged"] is False and facts["failure"] is None
    seen = json.loads(facts["stdout"])
    assert 0 < seen["children"] < 8 and seen["pids"] <= 8  # the process limit holds in the user namespace too
    assert seen["uid"] == 65534 and seen["passwd"] is False
