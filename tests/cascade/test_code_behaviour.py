"""Code answers compared by behaviour: the child process, the validator in a real agent, plans and calibration."""

from __future__ import annotations

import pytest

from cascadeflow import CascadeAgent, ModelConfig
from cascadeflow.calibrate.plan_search import _Prepared
from cascadeflow.cascade.plan_config import plan_from_dict, tier_validator
from cascadeflow.cascade.quality.agreement import collect_draft
from cascadeflow.cascade.quality.code_behaviour import (
    BehaviourAgreementValidator,
    BehaviourReport,
    BehaviourRunner,
    ExecutionLimits,
    arun_behaviour,
    run_behaviour,
)
from cascadeflow.cascade.quality.sandbox import Sandbox, SandboxLimits, SandboxResult
from cascadeflow.providers.fakes import ScriptedProvider
from cascadeflow.providers.replay import RecordedAnswer, RecordedPrompt

ADD_WITH_EXAMPLE = "def add(a, b):\n    return a + b\n\nprint(add(2, 3))\nadd(-1, 1)\n"
PLUS_NO_EXAMPLE = 'def plus(x, y):\n    """Sum."""\n    total = y\n    total += x\n    return total\n'
SUB_WITH_EXAMPLE = "def add(a, b):\n    return a - b\n\nadd(10, 1)\n"
TASK = "Write a function to add two numbers."


def test_same_behaviour_agrees_whatever_the_names_and_text() -> None:
    report = run_behaviour({"a": ADD_WITH_EXAMPLE, "b": PLUS_NO_EXAMPLE, "c": SUB_WITH_EXAMPLE})
    assert report.failure is None
    assert set(report.inputs) == {"(2, 3)", "(-1, 1)", "(10, 1)"}
    assert report.agree("a", "b") is True  # on a's own examples, (2, 3) and (-1, 1)
    assert report.agree("a", "c") is False and report.agree("b", "c") is False
    assert report.describe("a", "b") == "2 example inputs"


def test_undecidable_without_inputs_or_a_function() -> None:
    report = run_behaviour({"b": PLUS_NO_EXAMPLE, "x": "print('no function here')\n", "broken": "def f(:\n"})
    assert report.agree("b", "x") is None  # x defines nothing to call
    assert report.agree("b", "b") is None  # nobody supplied an input
    assert report.outputs["broken"] is None
    assert run_behaviour({}) == BehaviourReport()


def test_runaway_code_is_contained() -> None:
    endless = "def f(n):\n    while True:\n        n += 1\n\nf(1)\n"
    reads_stdin = "def g(n):\n    return input()\n\ng(2)\n"
    report = run_behaviour({"loop": endless, "stdin": reads_stdin}, ExecutionLimits(call_timeout_s=0.3))
    assert report.failure is None
    assert report.outputs["loop"] is not None and set(report.outputs["loop"]) <= {"error:_Timeout", "error:TypeError"}
    assert report.outputs["stdin"] is not None and "error:EOFError" in report.outputs["stdin"]
    greedy = "def big(n):\n    return len(bytearray(n))\n\nbig(3_000_000_000)\n"
    limited = run_behaviour({"big": greedy}, ExecutionLimits(memory_mb=256))
    assert limited.outputs["big"] == ("error:MemoryError",)  # the child's own memory limit, not ours
    unbound = "import resource\n\ndef lift(n):\n    resource.setrlimit(resource.RLIMIT_AS, (-1, -1))\n\nlift(1)\n"
    assert run_behaviour({"lift": unbound}).outputs["lift"] == ("error:ValueError",)  # cannot raise it back
    hard = run_behaviour({"loop": endless}, ExecutionLimits(wall_s=0.5, call_timeout_s=5.0))
    assert hard.failure is not None and "longer than" in hard.failure and hard.agree("loop", "loop") is None


def test_the_child_sees_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    leak = "import os\n\ndef key(name):\n    return os.environ.get(name)\n\nkey('OPENAI_API_KEY')\n"
    report = run_behaviour({"leak": leak})
    assert report.outputs["leak"] == ("None",)


def test_a_runner_remembers_what_the_same_answers_did(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = BehaviourRunner(Sandbox.detect(), ExecutionLimits(wall_s=1.0, call_timeout_s=5.0))
    runs: list[bytes] = []
    real = Sandbox.run

    async def counting(self: Sandbox, program: str, data: bytes, limits: SandboxLimits) -> SandboxResult:
        runs.append(data)
        return await real(self, program, data, limits)

    monkeypatch.setattr(Sandbox, "run", counting)
    first = runner.run({"a": ADD_WITH_EXAMPLE, "b": PLUS_NO_EXAMPLE})
    assert len(runs) == 3  # a harvests and keeps its outputs; b harvests nothing, then runs on a's inputs
    again = runner.run({"draft": ADD_WITH_EXAMPLE, "peer": PLUS_NO_EXAMPLE})  # the next tier, the same answers
    assert len(runs) == 3 and again.agree("draft", "peer") is first.agree("a", "b") is True
    endless = "def f(n):\n    while True:\n        n += 1\n\nf(1)\n"
    assert runner.run({"loop": endless}).failures["loop"] == "it ran longer than 1 s"
    runner.run({"loop": endless})
    assert len(runs) == 5  # a timeout may be the machine's load: never remembered


async def test_async_run_matches_the_blocking_one() -> None:
    codes = {"a": ADD_WITH_EXAMPLE, "b": PLUS_NO_EXAMPLE}
    assert await arun_behaviour(codes) == run_behaviour(codes)


def _agent(small: str, medium: str) -> tuple[CascadeAgent, ScriptedProvider]:
    top = ScriptedProvider(["```python\ndef add(a, b):\n    return a + b\n```"], model="top")
    providers = {"small": ScriptedProvider([small], model="small"), "medium": ScriptedProvider([medium]), "top": top}
    models = [ModelConfig(n, provider="openai", input_price=p, output_price=p, quality_threshold=1.0)
              for n, p in (("small", 0.1), ("medium", 0.2), ("top", 10.0))]
    agent = CascadeAgent(models, providers=providers, start_tiers=dict.fromkeys(
        ("trivial", "simple", "moderate", "hard", "expert"), 0),
        tier_validators={"small": collect_draft, "medium": BehaviourAgreementValidator(peers=("small",))})
    return agent, top


async def test_validator_accepts_code_that_behaves_alike_in_a_real_cascade() -> None:
    agent, top = _agent(f"Here you go:\n```python\n{ADD_WITH_EXAMPLE}```", f"```python\n{PLUS_NO_EXAMPLE}```")
    result = await agent.run(TASK)
    assert result.model_used == "medium" and result.draft_accepted and top.calls == []
    verdict = result.steps[-1].verdict
    assert verdict is not None and "behave the same (small on 2 example inputs)" in verdict.reason


async def test_validator_escalates_code_that_behaves_differently() -> None:
    agent, top = _agent(f"```python\n{ADD_WITH_EXAMPLE}```", f"```python\n{SUB_WITH_EXAMPLE}```")
    result = await agent.run(TASK)
    assert result.model_used == "top" and len(top.calls) == 1
    verdict = result.steps[1].verdict
    assert verdict is not None and "0 of 1 earlier drafts behave the same" in verdict.reason


async def test_non_code_questions_fall_back_to_normalised_agreement() -> None:
    agent, _ = _agent("B", "B)")
    result = await agent.run("Which is bigger?\nA) mouse\nB) elephant\nAnswer:")
    assert result.model_used == "medium" and result.draft_accepted


def test_plans_turn_it_on_per_tier() -> None:
    plan = plan_from_dict({"tiers": [
        {"model": "a", "provider": "openai", "strategy": "collect"},
        {"model": "b", "provider": "openai", "strategy": "agreement", "threshold": 1.0,
         "agreement": {"execute": True, "peers": ["a"]}},
        {"model": "c", "provider": "openai"},
    ]})
    validator = tier_validator(plan.tiers[1])
    assert isinstance(validator, BehaviourAgreementValidator) and validator.peers == ("a",)


def test_calibration_counts_behavioural_agreement() -> None:
    answers = {"a": RecordedAnswer(f"```python\n{ADD_WITH_EXAMPLE}```", 1e-4, True),
               "b": RecordedAnswer(f"```python\n{PLUS_NO_EXAMPLE}```", 2e-4, True),
               "top": RecordedAnswer("```python\ndef add(a, b):\n    return b + a\n```", 1e-2, True)}
    prompts = [RecordedPrompt("p1", TASK, answers)]
    by_text = _Prepared(prompts, ["a", "b", "top"], "auto", checks=False)
    by_behaviour = _Prepared(prompts, ["a", "b", "top"], "auto", checks=False, execute=True)
    assert by_text.agreement_scores(("a", "b"), 1).tolist() == [0.0]  # different function text
    assert by_behaviour.agreement_scores(("a", "b"), 1).tolist() == [1.0]
