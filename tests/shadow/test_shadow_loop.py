"""The shadow loop end to end with fake providers: record, shadow (through the run hooks), refit, take over,
resume after a restart; the learner's rules on hand-made records; the online replay and --from-traces."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cascadeflow.agent import CascadeAgent
from cascadeflow.bench.online import run_online
from cascadeflow.bench.replay_run import default_agent_kwargs
from cascadeflow.cascade.hooks import CallDirective, CallStart
from cascadeflow.cascade.result import StepRecord
from cascadeflow.cli.main import build_app
from cascadeflow.config import ModelConfig
from cascadeflow.errors import ConfigError
from cascadeflow.providers.fakes import FunctionProvider
from cascadeflow.providers.replay import RecordedAnswer, RecordedPrompt
from cascadeflow.shadow.agent import POLICY_KEY, ShadowAgent
from cascadeflow.shadow.learner import fit_policy, shadow_rate
from cascadeflow.shadow.policy import FittedPolicy
from cascadeflow.shadow.records import DraftObservation, Outcome, ShadowRecord
from cascadeflow.shadow.settings import ShadowSettings
from cascadeflow.types import Completion, CompletionRequest

FAST = ShadowSettings(target_quality=0.95, max_rate=1.0, min_rate=0.5, min_records=20, refit_every=10,
                      min_labels=10, half_labels=10_000)
"""Shadows every accepted draft at first (labels come fast) and refits every ten runs."""


def question(i: int) -> str:
    return f"Question {i}: which one?\nA) first {i}\nB) second {i}\nAnswer:"


class Recorder:
    """A run hook that keeps every call it is told about."""

    def __init__(self) -> None:
        self.started: list[CallStart] = []
        self.ended: list[StepRecord] = []

    async def on_call_start(self, call: CallStart) -> CallDirective | None:
        self.started.append(call)
        return None

    async def on_call_end(self, call: CallStart, record: StepRecord | None) -> None:
        if record is not None:
            self.ended.append(record)

    def on_answer(self, call: CallStart, completion: Completion) -> Completion | None:
        return None

    def on_decision(self, record: StepRecord) -> None:
        return None


def agent(hooks: list[Recorder] | None = None) -> CascadeAgent:
    """small answers A on even questions (the top tier's answer) and B on odd ones; the top always says A."""
    def small(request: CompletionRequest) -> str:
        return "A" if int(request.query.split()[1].rstrip(":")) % 2 == 0 else "B"

    models = [ModelConfig(name="small", provider="fake", cost=0.1), ModelConfig(name="top", provider="fake", cost=1)]
    providers = {"small": FunctionProvider(small, model="small"), "top": FunctionProvider(lambda r: "A", model="top")}
    return CascadeAgent(models, providers=providers, hooks=hooks or [])


async def test_the_loop_learns_to_escalate_what_disagrees_and_bills_every_shadow_call() -> None:
    recorder = Recorder()
    shadow = ShadowAgent(agent([recorder]), settings=FAST, rng=random.Random(0), inline=True)
    first = await shadow.run(question(1))
    assert first.model_used == "small"  # the rules alone cannot tell B is wrong: the default keeps it
    shadows = [r for r in recorder.ended if r.kind == "shadow"]
    assert len(shadows) == 1 and shadows[0].action == "shadow" and shadows[0].cost > 0
    assert [c.kind for c in recorder.started].count("shadow") == 1
    assert shadow.shadow_cost == shadows[0].cost and shadow.shadow_records == shadows
    for i in range(2, 120):
        await shadow.run(question(i))
    assert shadow.policy.active and "small" in shadow.policy.tiers
    odd, even = await shadow.run(question(201)), await shadow.run(question(202))
    assert odd.model_used == "top" and even.model_used == "small" and even.draft_accepted
    labels = [d.label for r in shadow.store.records() for d in r.drafts if d.label is not None]
    assert labels.count(True) and labels.count(False)
    await shadow.aclose()


async def test_background_learning_and_a_restart_that_resumes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shadow.db'}"
    shadow = ShadowAgent(agent(), settings=FAST, store=url, rng=random.Random(1))
    for i in range(40):
        await shadow.run(question(i))
    await shadow.drain()
    fitted = shadow.policy
    assert fitted.records >= FAST.min_records and shadow.store.count() == 40
    await shadow.aclose()
    again = ShadowAgent(agent(), settings=FAST, store=url)
    assert again.policy.to_json() == fitted.to_json() and again.store.load_state(POLICY_KEY) is not None
    await again.aclose()


def test_a_shadow_agent_needs_a_cheap_tier() -> None:
    single = CascadeAgent([ModelConfig(name="top", provider="fake", cost=1)],
                          providers={"top": FunctionProvider(lambda r: "A", model="top")})
    with pytest.raises(ConfigError, match="cheap tier"):
        ShadowAgent(single)


# --------------------------------------------------------------------------- the learner's rules
def run_record(n: int, *, agrees: bool, accepted: bool, shadowed: bool, score: float | None = None) -> ShadowRecord:
    label = agrees if (shadowed or not accepted) else None
    draft = DraftObservation("small", {"signal": 1.0 if agrees else 0.0}, score, accepted, label, 0.1)
    outcome: Outcome = "accepted" if accepted else "top"
    return ShadowRecord(f"r{n}", float(n), ("small", "top"), (draft,), outcome, 0.3 if accepted else 1.0,
                        shadowed and accepted, Decimal("0.1") if accepted else Decimal("1.1"),
                        Decimal(1) if (shadowed or not accepted) else Decimal(0))


def test_configured_validators_that_surely_let_through_too_much_are_replaced() -> None:
    # The configured validators kept everything; shadows show one draft in three disagrees.
    records = [run_record(n, agrees=n % 3 != 0, accepted=True, shadowed=True) for n in range(300)]
    policy = fit_policy(records, ("small", "top"), ShadowSettings(min_labels=10))
    assert policy.active and "surely" in policy.reason
    tier = policy.tiers["small"]
    assert tier.keeps({"signal": 1.0})[0] and not tier.keeps({"signal": 0.0})[0]
    assert FittedPolicy.from_json(policy.to_json()).to_json() == policy.to_json()


def test_a_sound_default_keeps_deciding_until_a_certified_plan_is_cheaper() -> None:
    # Few shadow labels, all agreeing: nothing certifies a cheaper plan, nothing shows the default is wrong.
    records = [run_record(n, agrees=True, accepted=True, shadowed=n < 12) for n in range(100)]
    records += [run_record(100 + n, agrees=False, accepted=False, shadowed=False) for n in range(12)]
    policy = fit_policy(records, ("small", "top"), ShadowSettings(min_labels=10))
    assert not policy.active and "configured validators decide" in policy.reason


def test_the_shadow_rate_falls_as_labels_accumulate() -> None:
    settings = ShadowSettings(max_rate=0.2, min_rate=0.02, half_labels=10)
    rates = [shadow_rate(labels, settings) for labels in (0, 10, 30, 1000)]
    assert rates == [0.2, 0.1, 0.05, 0.02]


# --------------------------------------------------------------------------- online replay and --from-traces
def recorded(n: int) -> list[RecordedPrompt]:
    out = []
    for i in range(n):
        small = "A" if i % 2 == 0 else "B"
        out.append(RecordedPrompt(f"p{i}", question(i), {
            "small": RecordedAnswer(small, 0.001, small == "A"),
            "top": RecordedAnswer("A", 0.01, True),
        }))
    return out


def test_the_online_replay_reports_quality_cost_and_shadow_share(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'traces.db'}"
    report = run_online(recorded(80), default_agent_kwargs(["small", "top"]), FAST, seed=3, store=url)
    assert report["prompts"] == 80 and 0 < report["shadow_rate"] <= 1
    assert report["cost_ratio"] > report["shadow_cost_ratio"] > 0 and report["series"][-1]["prompts"] == 80
    assert report["quality_ratio"] is not None and set(report["answered_by"]) == {"small", "top"}
    out = tmp_path / "plan.yaml"
    result = CliRunner().invoke(build_app(), ["calibrate", "--from-traces", url, "--out", str(out),
                                              "--target-quality", "0.95"])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "source: shadow traces" in text and "model: small" in text and "model: top" in text
    bad = CliRunner().invoke(build_app(), ["calibrate", "--out", str(out)])
    assert bad.exit_code != 0
    json.dumps(report)  # the report is plain JSON
