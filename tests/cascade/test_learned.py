"""The learned scorer: its features, training, JSON round trip, and its validator in a real cascade."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from cascadeflow import CascadeAgent, ModelConfig
from cascadeflow.calibrate.fit import fit_scorer
from cascadeflow.cascade.quality.arithmetic import safe_eval
from cascadeflow.cascade.quality.base import CheckResult, ValidationContext, Verdict
from cascadeflow.cascade.quality.learned import (
    LearnedScorer,
    LearnedValidator,
    agreement_features,
    arithmetic_steps,
    draft_features,
    rule_scores,
)
from cascadeflow.errors import ConfigError
from cascadeflow.providers.fakes import ScriptedProvider
from cascadeflow.types import Completion, CompletionRequest, Message

MATH_Q = "Tom has 3 boxes of 12 eggs and eats 5. How many eggs are left?"


def test_safe_eval_does_arithmetic_only() -> None:
    assert safe_eval("3 * 12 - 5") == 31.0
    assert safe_eval("2^3 + 1,000") == 1008.0
    assert safe_eval("4 x 2") == 8.0
    assert safe_eval("__import__('os').getcwd()") is None
    assert safe_eval("2 ** 100000") is None  # refused, not computed
    assert safe_eval("1 / 0") is None


def test_arithmetic_steps_find_wrong_worked_steps() -> None:
    good = "3 * 12 = <<3*12=36>>36 eggs, 36 - 5 = <<36-5=31>>31.\n#### 31"
    bad = "3 * 12 = <<3*12=38>>38 eggs, 38 - 5 = <<38-5=33>>33.\n#### 33"
    inline = "3 * 12 = 36 and 36 - 5 = 30, so 30."
    assert arithmetic_steps(good) == (2, 0, 31.0)
    assert arithmetic_steps(bad) == (1, 1, 33.0)
    assert arithmetic_steps(inline) == (1, 1, 30.0)


def test_draft_features_by_kind() -> None:
    math_f = draft_features(MATH_Q, "3 * 12 = <<3*12=36>>36, 36 - 5 = <<36-5=31>>31\n#### 31")
    assert math_f["final_consistent"] == 1.0 and math_f["final_integer"] == 1.0 and math_f["math_wrong_frac"] == 0
    assert math_f["numbers_used"] == 1.0
    assert draft_features(MATH_Q, "3 * 12 = 36 eggs.\n#### 36")["numbers_used"] == pytest.approx(2 / 3)
    choice_f = draft_features("Pick.\nA) yes\nB) no\nAnswer:", "B")
    assert choice_f["bare_label"] == 1.0 and choice_f["n_options"] == 2.0 and choice_f["readable"] == 1.0
    assert choice_f["choice_position:1"] == 1.0 and "choice_position:0" not in choice_f
    many = "Pick.\n" + "\n".join(f"{c}) option {c}" for c in "ABCDEFG") + "\nAnswer:"
    assert draft_features(many, "G")["choice_position:4"] == 1.0  # the fifth option and later share a slot
    assert not any(k.startswith("choice_position") for k in draft_features(many, "no idea"))
    code_f = draft_features("Write a function to add two numbers.", "```js\nlet f = (a, b) => a + b\n```")
    assert code_f["code_parses"] == 0.0


def test_agreement_features() -> None:
    feats = agreement_features("choice:1", [("a", "choice:1"), ("b", "choice:0"), ("c", "choice:0")], ["a", "b"])
    assert feats["agree_count"] == 1.0 and math.isclose(feats["agree_frac"], 1 / 3)
    assert math.isclose(feats["rival_frac"], 2 / 3)
    assert feats["agree:a"] == 1.0 and feats["agree:b"] == 0.0
    assert agreement_features(None, [], [])["agree_frac"] == 0.0


def _rows(n: int, seed: int = 0) -> tuple[list[dict[str, float]], list[bool]]:
    rng = random.Random(seed)
    rows, labels = [], []
    for _ in range(n):
        agree = float(rng.random() < 0.5)
        noise = rng.random()
        rows.append({"agree_frac": agree, "noise": noise, "constant": 1.0})
        labels.append(rng.random() < (0.9 if agree else 0.3))
    return rows, labels


def test_fit_scorer_learns_the_informative_feature() -> None:
    rows, labels = _rows(400)
    scorer = fit_scorer(rows, labels, peers=("a",))
    assert "constant" not in scorer.weights  # no variance: dropped
    assert scorer.weights["agree_frac"] > 1.0 > abs(scorer.weights.get("noise", 0.0))
    assert scorer.probability({"agree_frac": 1.0, "noise": 0.5}) > 0.8 > 0.4 > scorer.probability({"agree_frac": 0.0})


def test_fit_scorer_edge_cases() -> None:
    rows, _ = _rows(20)
    always = fit_scorer(rows, [True] * 20)
    assert always.weights == {} and always.probability({}) > 0.99
    with pytest.raises(ConfigError, match="labels"):
        fit_scorer(rows, [True])


def test_scorer_json_round_trip(tmp_path: Path) -> None:
    rows, labels = _rows(200)
    scorer = fit_scorer(rows, labels, peers=("a", "b"), kind="choice")
    path = tmp_path / "scorer.json"
    scorer.save(path)
    loaded = LearnedScorer.load(path)
    assert loaded == scorer
    assert loaded.probability(rows[3]) == scorer.probability(rows[3])
    bad = scorer.to_dict() | {"format": "pickle"}
    with pytest.raises(ConfigError, match="format"):
        LearnedScorer.from_dict(bad)
    path.write_text(json.dumps(scorer.to_dict() | {"weights": "nope"}))
    with pytest.raises(ConfigError, match="malformed"):
        LearnedScorer.load(path)


def _request(query: str) -> CompletionRequest:
    return CompletionRequest(messages=(Message(role="user", content=query),))


def test_validator_uses_agreement_with_previous_drafts() -> None:
    scorer = LearnedScorer(weights={"agree_frac": 6.0}, bias=-3.0, peers=("small",))
    validator = LearnedValidator(scorer)
    query = "Pick.\nA) yes\nB) no\nAnswer:"
    agree = validator(_request(query), Completion("B", "mid"),
                      ValidationContext(threshold=0.9, previous=(Completion("B)", "small"),)))
    assert isinstance(agree, Verdict) and agree.passed and agree.score > 0.9
    assert "agree_frac" in agree.reason
    alone = validator(_request(query), Completion("B", "mid"), ValidationContext(threshold=0.9))
    assert isinstance(alone, Verdict) and not alone.passed


def test_validator_feeds_rule_check_scores_when_trained_with_them() -> None:
    def base(request: CompletionRequest, draft: Completion, context: ValidationContext) -> Verdict:
        score = 1.0 if "good" in draft.content else 0.0
        return Verdict(score, True, (), (CheckResult("refusal", score, ""),), "composite", context.threshold)

    scorer = LearnedScorer(weights={"check:refusal": 8.0}, bias=-4.0, checks=True)
    validator = LearnedValidator(scorer, base=base)
    good = validator(_request("Say something."), Completion("good text", "m"), ValidationContext(threshold=0.5))
    bad = validator(_request("Say something."), Completion("bad text", "m"), ValidationContext(threshold=0.5))
    assert isinstance(good, Verdict) and isinstance(bad, Verdict)
    assert good.passed and not bad.passed
    assert {c.name for c in good.checks} == {"learned", "refusal"}


def test_rule_scores_are_the_composite_checks() -> None:
    scores = rule_scores("Write a Python function that adds two numbers.", "I'm sorry, I can't help with that.")
    assert scores["refusal"] < 0.3


async def test_learned_tier_in_a_real_cascade() -> None:
    scorer = LearnedScorer(weights={"final_consistent": 5.0, "math_wrong_frac": -5.0}, bias=-2.0)
    good = "3 * 12 = <<3*12=36>>36; 36 - 5 = <<36-5=31>>31\n#### 31"
    bad = "3 * 12 = <<3*12=34>>34; 34 - 5 = <<34-5=29>>29\n#### 29"
    providers = {"small": ScriptedProvider([good, bad], model="small"), "top": ScriptedProvider(["31"], model="top")}
    models = [ModelConfig("small", input_price=0.1, output_price=0.1, quality_threshold=0.7),
              ModelConfig("top", input_price=10.0, output_price=10.0)]
    agent = CascadeAgent(models, providers=providers, tier_validators={"small": LearnedValidator(scorer)},
                         start_tiers=dict.fromkeys(("trivial", "simple", "moderate", "hard", "expert"), 0))
    first = await agent.run(MATH_Q)
    second = await agent.run(MATH_Q)
    assert first.model_used == "small" and first.steps[0].verdict is not None
    assert first.steps[0].verdict.decided_by == "learned"
    assert second.model_used == "top"
