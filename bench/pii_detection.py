"""Bench: precision and recall of the rule-based personal-data detector (``cascadeflow.policies.pii``).

The labelled set (``src/cascadeflow/bench/data/pii_labelled.jsonl``) is hand-written traffic: support tickets,
chat prompts, tool outputs and log lines, with every kind the compliance packs look for in several national
layouts, and hard negatives (order and tracking numbers, dates, versions, IPs, hashes, Luhn-valid IMEIs,
IBAN-shaped strings with a bad checksum, "patient" and "diagnosis" outside medicine). A prediction is correct
when it overlaps a gold span of the same kind. Speed is the median over texts of the mean time of one call.

    python bench/pii_detection.py [--show-errors] [--json bench/results/pii_detection.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from cascadeflow.bench.pii_eval import DEFAULT_DATA, evaluate, format_errors, format_table, load_cases
from cascadeflow.policies import pii

REPEATS = 50  # calls per text when timing; each call takes microseconds, so this stays well under a second


def median_us_per_text(texts: list[str], repeats: int = REPEATS) -> float:
    per_text = []
    for text in texts:
        start = time.perf_counter_ns()
        for _ in range(repeats):
            pii.detect(text)
        per_text.append((time.perf_counter_ns() - start) / repeats / 1e3)
    return statistics.median(per_text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--show-errors", action="store_true", help="list every miss and false alarm")
    parser.add_argument("--json", type=Path, default=Path("bench/results/pii_detection.json"))
    args = parser.parse_args()
    cases = load_cases(args.data, pii.KINDS)
    report = evaluate(cases, pii.detect, pii.KINDS)
    speed = median_us_per_text([c.text for c in cases])
    print(format_table(report))
    print(f"median {speed:.1f} µs per text ({len(cases)} texts, {REPEATS} calls each)")
    if args.show_errors:
        print(format_errors(report) or "no errors")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    payload = {"data": args.data.name, **report.to_json(), "median_us_per_text": round(speed, 2),
               "errors": [{"what": e.what, "kind": e.kind, "snippet": e.snippet, "other": e.other}
                          for e in report.errors]}
    args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
