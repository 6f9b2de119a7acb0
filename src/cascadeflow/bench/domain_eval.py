"""Measure :class:`~cascadeflow.cascade.domain.DomainDetector` on a labelled set of prompts.

    python -m cascadeflow.bench.domain_eval                 # held-out test split: confusion table + accuracy
    python -m cascadeflow.bench.domain_eval --split dev     # the split the rules were tuned on
    python -m cascadeflow.bench.domain_eval --json out.json # also write the numbers as JSON

The set (``data/domain_eval.jsonl``) mixes a small sample of real benchmark prompts (MBPP → code,
ARC-Challenge → factual, GSM8K → math) with hand-written prompts for the other domains. Every record carries
``split``: the detector's rules were tuned on ``dev`` only; ``test`` is the number to report. ``--resample``
rebuilds the benchmark records from the CSVs (hand-written records are kept as they are).
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import random
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cascadeflow.cascade.domain import DOMAINS, DomainDetector
from cascadeflow.errors import ConfigError

DEFAULT_DATA = Path(__file__).parent / "data" / "domain_eval.jsonl"
SPLITS = ("dev", "test", "all")
# Whole prompts only: sampling from prompts this short keeps each one intact (a cut-off GSM8K problem
# loses its question) while storing little of the source data.
MAX_PROMPT_CHARS = 320
PER_SOURCE = 40
DEV_PER_SOURCE = 10
# The sample's items [DEV, DEV + RETIRED) were the test items of earlier rounds; once seen they were dropped
# (not moved to dev, to keep at most PER_SOURCE prompts of each source in the file).
RETIRED_PER_SOURCE = 30
SAMPLE_SEED = 20240611  # fixed so --resample reproduces the committed file
TIMING_REPEATS = 20  # passes over the whole set when timing; enough for a stable per-call mean
CSV_FIELD_LIMIT = 10**9  # routerbench cells hold whole model transcripts


@dataclass(frozen=True, slots=True)
class Case:
    """One labelled prompt."""

    id: str
    split: str
    domain: str
    source: str
    prompt: str


@dataclass(frozen=True, slots=True)
class Source:
    """One benchmark file: where it is, its label, and how to get the user's question out of a row."""

    short: str
    relpath: str
    domain: str
    extract: Callable[[str], str]


def _first_literal(cell: str) -> str:
    """RouterBench stores the prompt as a Python-literal list; GSM8K stores plain text."""
    try:
        value = ast.literal_eval(cell)
    except (ValueError, SyntaxError):
        return cell
    return str(value[0]) if isinstance(value, list) and value else str(value)


def _last_question(cell: str) -> str:
    """ARC prompts are few-shot: the question actually asked is the last block."""
    return _first_literal(cell).split("\n\n")[-1]


SOURCES = (
    Source("mbpp", "routerbench/mbpp_train.csv", "code", _first_literal),
    Source("arc", "routerbench/arc_challenge_train.csv", "factual", _last_question),
    Source("gsm8k", "routellm/gsm8k_responses.csv", "math", _first_literal),
)


def sample_benchmarks(
    root: Path, *, per_source: int = PER_SOURCE, dev: int = DEV_PER_SOURCE, retired: int = RETIRED_PER_SOURCE
) -> list[Case]:
    """A fixed random sample of short, whole prompts from each benchmark file, split dev/test.

    The first ``dev`` sampled prompts are dev; the next ``retired`` are skipped (earlier rounds' test items);
    the rest, up to ``per_source`` kept in all, are test.
    """
    csv.field_size_limit(CSV_FIELD_LIMIT)
    cases: list[Case] = []
    for source in SOURCES:
        with (root / source.relpath).open(newline="", encoding="utf-8") as handle:
            prompts = {source.extract(row["prompt"]).strip() for row in csv.DictReader(handle)}
        eligible = sorted(p for p in prompts if 0 < len(p) <= MAX_PROMPT_CHARS)
        wanted = min(per_source + retired, len(eligible))
        chosen = random.Random(f"{SAMPLE_SEED}:{source.short}").sample(eligible, wanted)
        for i, prompt in enumerate(chosen):
            if dev <= i < dev + retired:
                continue
            split = "dev" if i < dev else "test"
            cases.append(Case(f"{source.short}-{i:02d}", split, source.domain, source.relpath, prompt))
    return cases


def load_cases(path: Path = DEFAULT_DATA) -> tuple[dict[str, object], list[Case]]:
    """Read the JSONL set: an optional first ``{"meta": ...}`` record, then one case per line."""
    meta: dict[str, object] = {}
    cases: list[Case] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        if "meta" in record:
            meta = dict(record["meta"])
            continue
        if record.get("domain") not in DOMAINS or record.get("split") not in ("dev", "test"):
            raise ConfigError(f"{path.name}:{lineno}", f"bad domain or split in {record!r}")
        cases.append(Case(**record))
    return meta, cases


def write_cases(path: Path, meta: dict[str, object], cases: Iterable[Case]) -> None:
    lines = [json.dumps({"meta": meta}, ensure_ascii=False)]
    lines += [json.dumps(asdict(c), ensure_ascii=False) for c in cases]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@dataclass
class Report:
    """Confusion counts (true → predicted → n), accuracies, misses, and the detector's speed."""

    split: str
    total: int = 0
    correct: int = 0
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    misses: list[dict[str, str]] = field(default_factory=list)
    us_per_call: float = 0.0

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def per_domain(self) -> dict[str, float]:
        return {
            d: row.get(d, 0) / sum(row.values()) for d, row in self.confusion.items() if sum(row.values())
        }

    def to_json(self) -> dict[str, object]:
        return {
            "split": self.split,
            "total": self.total,
            "correct": self.correct,
            "accuracy": round(self.accuracy, 4),
            "per_domain_accuracy": {d: round(a, 4) for d, a in self.per_domain().items()},
            "confusion": self.confusion,
            "us_per_call": round(self.us_per_call, 2),
            "misses": self.misses,
        }


def evaluate(detector: DomainDetector, cases: Sequence[Case], split: str) -> Report:
    report = Report(split=split, confusion={d: dict.fromkeys(DOMAINS, 0) for d in DOMAINS})
    for case in cases:
        result = detector.detect(case.prompt)
        report.total += 1
        report.confusion[case.domain][result.domain] += 1
        if result.domain == case.domain:
            report.correct += 1
        else:
            report.misses.append(
                {"id": case.id, "true": case.domain, "predicted": result.domain, "prompt": case.prompt[:120]}
            )
    return report


def time_per_call(detector: DomainDetector, prompts: Sequence[str], repeats: int = TIMING_REPEATS) -> float:
    """Mean CPU microseconds per ``detect`` call over ``repeats`` passes (after one warm-up pass).

    CPU time, not wall time: on a shared machine wall time mostly measures the other processes.
    """
    for prompt in prompts:
        detector.detect(prompt)
    started = time.process_time_ns()
    for _ in range(repeats):
        for prompt in prompts:
            detector.detect(prompt)
    elapsed_ns = time.process_time_ns() - started
    return elapsed_ns / 1000.0 / max(1, repeats * len(prompts))


def format_report(report: Report) -> str:
    """Confusion table (rows: true domain, columns: predicted), per-domain and overall accuracy."""
    short = {d: d[:5] for d in DOMAINS}
    corner = "true/pred"
    header = f"{corner:<12}" + "".join(f"{short[d]:>6}" for d in DOMAINS) + f"{'n':>6}{'acc':>8}"
    lines = [f"domain detection, split={report.split}", header]
    accuracy = report.per_domain()
    for true in DOMAINS:
        row = report.confusion[true]
        n = sum(row.values())
        if not n:
            continue
        cells = "".join(f"{row[d] if row[d] else '.':>6}" for d in DOMAINS)
        lines.append(f"{true:<12}{cells}{n:>6}{accuracy[true]:>8.1%}")
    lines.append(f"overall accuracy: {report.correct}/{report.total} = {report.accuracy:.1%}")
    lines.append(f"speed: {report.us_per_call:.1f} µs CPU time per detect() call")
    return "\n".join(lines)


def run(data: Path, split: str, *, repeats: int = TIMING_REPEATS) -> Report:
    if split not in SPLITS:
        raise ConfigError("split", f"must be one of {SPLITS}, got {split!r}")
    _, cases = load_cases(data)
    chosen = [c for c in cases if split == "all" or c.split == split]
    detector = DomainDetector()
    report = evaluate(detector, chosen, split)
    report.us_per_call = time_per_call(detector, [c.prompt for c in chosen], repeats)
    return report


def _resample(data: Path, root: Path) -> int:
    meta, cases = load_cases(data)
    kept = [c for c in cases if c.source == "hand"]
    fresh = sample_benchmarks(root)
    write_cases(data, meta, [*fresh, *kept])
    return len(fresh)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="labelled JSONL set")
    parser.add_argument("--split", choices=SPLITS, default="test")
    parser.add_argument("--json", type=Path, default=None, help="write the result as JSON here")
    parser.add_argument("--repeats", type=int, default=TIMING_REPEATS, help="timing passes over the set")
    parser.add_argument("--show-misses", action="store_true", help="list every misclassified prompt")
    parser.add_argument("--resample", type=Path, default=None, metavar="BENCH_ROOT",
                        help="rebuild benchmark records from BENCH_ROOT (e.g. /work/shared/bench) first")
    args = parser.parse_args(argv)
    if args.resample is not None:
        print(f"resampled {_resample(args.data, args.resample)} benchmark prompts into {args.data}")
    report = run(args.data, args.split, repeats=args.repeats)
    print(format_report(report))
    if args.show_misses:
        for miss in report.misses:
            print(f"  {miss['id']}: {miss['true']} -> {miss['predicted']}: {miss['prompt']!r}")
    if args.json is not None:
        args.json.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
