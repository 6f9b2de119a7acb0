"""Tiny synthetic recordings in the real file formats, written to tmp_path (never the shared data)."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

LETTERS = "ABCD"
ROUTERBENCH_MODELS = {"tiny-7b": (1e-4, 0.65), "mid-34b": (3e-4, 0.8), "big-gpt": (5e-3, 0.95)}


def write_routerbench(path: Path, n: int = 120, seed: int = 11) -> Path:
    """A RouterBench-shaped CSV: Python-literal prompt/response lists, 0/1 correctness, USD costs."""
    rng = random.Random(seed)
    models = list(ROUTERBENCH_MODELS)
    header = ["", "sample_id", "prompt", "eval_name", *models, *(f"{m}|model_response" for m in models),
              *(f"{m}|total_cost" for m in models), "oracle_model_to_route_to"]
    rows = []
    for i in range(n):
        gold = rng.randrange(4)
        options = "\n".join(f"{LETTERS[k]}) choice {k} for item {i:04d}" for k in range(4))
        prompt = f"Which one fits item {i:04d}?\n{options}\nAnswer:"
        correct, responses, costs = [], [], []
        for model in models:
            cost, rate = ROUTERBENCH_MODELS[model]
            right = rng.random() < rate
            pick = gold if right else rng.choice([k for k in range(4) if k != gold])
            correct.append("1.0" if right else "0.0")
            responses.append(repr([LETTERS[pick] + ("\n" if model == "tiny-7b" else "")]))
            costs.append(repr(cost * (0.5 + rng.random())))
        rows.append([str(i), f"toy.test.{i}", repr([prompt]), "toy", *correct, *responses, *costs, models[0]])
    rows[5][4] = "nan"  # a missing grade counts as wrong
    rows.append(list(rows[0]))  # an exact duplicate row is dropped
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_routellm(directory: Path, n: int = 40, seed: int = 5) -> Path:
    """A RouteLLM-shaped GSM8K CSV (no costs) plus its contamination list naming the first prompt."""
    rng = random.Random(seed)
    weak, strong = "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"
    path = directory / "gsm8k_responses.csv"
    prompts = []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prompt", weak, strong, f"{weak}_response", f"{strong}_response"])
        for i in range(n):
            a, b = rng.randrange(2, 40), rng.randrange(2, 40)
            prompt = f"Sam has {a} marbles and finds {b} more. How many marbles does Sam have? (case {i})"
            prompts.append(prompt)
            weak_right = rng.random() < 0.6
            shown = a + b if weak_right else a + b + 1
            weak_answer = f"{a} + {b} = <<{a}+{b}={shown}>>{shown}\n#### {shown}"
            writer.writerow([prompt, str(weak_right), "True", weak_answer, f"Sam has {a + b} marbles."])
    (directory / "gsm8k_contaminated_prompts.jsonl").write_text(
        json.dumps({"train_prompt": "x", "eval_prompt": prompts[0]}) + "\n", encoding="utf-8"
    )
    return path


@pytest.fixture
def routerbench_csv(tmp_path: Path) -> Path:
    return write_routerbench(tmp_path / "toy_train.csv")


@pytest.fixture
def routellm_csv(tmp_path: Path) -> Path:
    directory = tmp_path / "routellm"
    directory.mkdir()
    return write_routellm(directory)
