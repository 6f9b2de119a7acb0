"""Savings of the default cascade on a documented "typical query mix", replayed from recorded model outputs.

    python bench/savings.py                 # data in ../shared/bench (RouterBench + RouteLLM GSM8K)
    python bench/savings.py --data DIR --json bench/results/savings.json

The quickstart claims 40-60% savings "for a typical query mix" with a cheap drafter and an expensive verifier;
the article claims "over 50%" when most turns are simple. This replays the quickstart's configuration — two
tiers, ``QualityConfig.for_cascade()`` (0.7), the built-in checks, expert queries straight to the top — over
recorded answers, so every cost and every correctness label is a real model's:

* mix: ARC-Challenge (1,039 prompts), Winogrande (887) and MBPP (299) from RouterBench, with
  gpt-3.5-turbo-1106 drafting for gpt-4-1106-preview (list prices ~12x apart, like gpt-4o-mini → gpt-4o), plus
  RouteLLM's GSM8K (Mixtral-8x7B → GPT-4-1106, list prices, contaminated prompts dropped);
* savings = 1 − cascade cost / cost of sending every prompt to the top model (what each call cost);
* quality = accuracy of the answers kept / accuracy of the top model alone.

It also replays the same mix with ``trivial_veto_only`` off, to show what the "very simple → cheap model
only" rule changes, and with that rule applied to *every* level (threshold = the veto level): an upper bound on
what accepting drafts "unless a hard veto fires" can cost in quality. Results: README (Benchmarks) and
``bench/results/savings.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from cascadeflow.bench.datasets import load_records
from cascadeflow.bench.runner import replay_plan
from cascadeflow.config import ModelConfig, QualityConfig
from cascadeflow.providers.replay import RecordedPrompt

RB_PAIR = ("gpt-3.5-turbo-1106", "gpt-4-1106-preview")
GSM_PAIR = ("mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview")


@dataclass(frozen=True)
class Part:
    name: str
    files: tuple[str, ...]
    pair: tuple[str, str]


PARTS = (
    Part("ARC-Challenge", ("routerbench/arc_challenge_train.csv",), RB_PAIR),
    Part("Winogrande", ("routerbench/winograde_train.csv",), RB_PAIR),
    Part("MBPP", ("routerbench/mbpp_train.csv",), RB_PAIR),
    Part("GSM8K", ("routellm/gsm8k_responses.csv",), GSM_PAIR),
)


def _pair_names(records: list[RecordedPrompt], pair: tuple[str, str]) -> tuple[str, str]:
    """The recording's spelling of each model (RouteLLM names GPT-4 a little differently)."""
    known = records[0].models
    return tuple(next((m for m in known if m.lower().startswith(p.lower()[:12])), p) for p in pair)  # type: ignore[return-value]


async def replay_part(
    records: list[RecordedPrompt], pair: tuple[str, str], *, trivial_veto_only: bool, quality: QualityConfig
) -> dict[str, Any]:
    cheap, top = _pair_names(records, pair)
    kwargs: dict[str, Any] = {
        "models": [ModelConfig(name=cheap, provider="replay"), ModelConfig(name=top, provider="replay")],
        "quality_config": quality,
        "env_file": None,
        "trivial_veto_only": trivial_veto_only,
    }
    run = await replay_plan(records, kwargs)
    cost = sum((r.cost for r in run.runs), Decimal(0))
    baseline = sum((Decimal(str(rec.answers[top].cost_usd)) for rec in records), Decimal(0))
    correct = sum(r.correct for r in run.runs)
    top_correct = sum(bool(rec.answers[top].correct) for rec in records)
    kept = sum(r.model_used == cheap for r in run.runs)
    return {"prompts": len(records), "errors": len(run.errors), "cheap": cheap, "top": top, "cost": float(cost),
            "top_only_cost": float(baseline), "cheap_kept": kept, "correct": correct, "top_correct": top_correct}


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    cost = sum(r["cost"] for r in rows)
    baseline = sum(r["top_only_cost"] for r in rows)
    prompts = sum(r["prompts"] for r in rows)
    return {
        "prompts": prompts,
        "savings_pct": round((1 - cost / baseline) * 100, 1),
        "cheap_kept_pct": round(sum(r["cheap_kept"] for r in rows) / prompts * 100, 1),
        "accuracy_pct": round(sum(r["correct"] for r in rows) / prompts * 100, 1),
        "top_accuracy_pct": round(sum(r["top_correct"] for r in rows) / prompts * 100, 1),
        "quality_retained_pct": round(sum(r["correct"] for r in rows) / max(sum(r["top_correct"] for r in rows), 1)
                                      * 100, 1),
    }


async def run(data: Path) -> dict[str, Any]:
    report: dict[str, Any] = {}
    veto = QualityConfig.for_cascade().checks.veto
    variants = {"default": (True, QualityConfig.for_cascade()),
                "trivial_rule_off": (False, QualityConfig.for_cascade()),
                "veto_only_everywhere": (True, QualityConfig.uniform(veto))}
    for key, (trivial, quality) in variants.items():
        rows: dict[str, dict[str, Any]] = {}
        for part in PARTS:
            paths = [data / f for f in part.files]
            contaminated = data / "routellm" / "gsm8k_contaminated_prompts.jsonl" if part.name == "GSM8K" else None
            records, _ = load_records(paths, contaminated=contaminated)
            rows[part.name] = await replay_part(records, part.pair, trivial_veto_only=trivial, quality=quality)
            rows[part.name].update(summarise([rows[part.name]]))
        report[key] = {"parts": rows, "mix": summarise(list(rows.values()))}
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/bench"))
    parser.add_argument("--json", type=Path, default=Path("bench/results/savings.json"))
    args = parser.parse_args(argv)
    report = asyncio.run(run(args.data))
    for key, block in report.items():
        print(f"\n{key}:")
        print(f"{'part':15s} {'prompts':>7s} {'savings':>8s} {'cheap kept':>10s} {'accuracy':>9s} {'top alone':>9s}")
        for name, row in [*block["parts"].items(), ("MIX", block["mix"])]:
            print(f"{name:15s} {row['prompts']:7d} {row['savings_pct']:7.1f}% {row['cheap_kept_pct']:9.1f}% "
                  f"{row['accuracy_pct']:8.1f}% {row['top_accuracy_pct']:8.1f}%")
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
