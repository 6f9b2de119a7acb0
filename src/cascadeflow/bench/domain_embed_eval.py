"""Measure embedding-based domain detection against the rules on the same labelled split.

    python -m cascadeflow.bench.domain_embed_eval            # test split: rules vs kNN vs kNN + rules
    python -m cascadeflow.bench.domain_embed_eval --write    # (re)write cascade/data/domain_exemplars.npz from dev

Needs ``pip install 'cascadeflow[routing]'``. Exemplars are the ``dev`` split only (the split the rules were
tuned on); ``test`` is never seen by either detector. Writes ``bench/results/domain_embed.json`` with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from cascadeflow.bench.domain_eval import DEFAULT_DATA, Case, load_cases
from cascadeflow.cascade.domain import DomainDetector
from cascadeflow.cascade.domain_embed import DEFAULT_K, DEFAULT_RULE_WEIGHT, EXEMPLARS, EmbeddingDomainDetector
from cascadeflow.cascade.embedding import PackagedMiniLM


def _split(data: Path, split: str) -> list[Case]:
    return [c for c in load_cases(data)[1] if c.split == split]


def write_exemplars(data: Path = DEFAULT_DATA, out: Path = EXEMPLARS) -> int:
    import numpy as np

    dev = _split(data, "dev")
    vectors = PackagedMiniLM().embed([c.prompt for c in dev]).astype(np.float16)  # half the bytes, same ranks
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, labels=np.array([c.domain for c in dev]), vectors=vectors)
    return len(dev)


def evaluate(data: Path = DEFAULT_DATA) -> dict[str, object]:
    test = _split(data, "test")
    rules = DomainDetector()
    embedder = PackagedMiniLM()
    embedder.embed(["warm up"])  # the model load is not a per-call cost
    detectors = {
        "rules": rules.detect,
        f"embedding kNN (k={DEFAULT_K})": EmbeddingDomainDetector(embedder, rule_weight=0.0).detect,
        f"embedding kNN + rules (k={DEFAULT_K}, rule weight {DEFAULT_RULE_WEIGHT})":
            EmbeddingDomainDetector(embedder).detect,
    }
    results: dict[str, object] = {"cases": len(test)}
    for name, detect in detectors.items():
        started = time.process_time()
        right = sum(detect(c.prompt).domain == c.domain for c in test)
        per_call_ms = (time.process_time() - started) / len(test) * 1000
        results[name] = {"accuracy": round(right / len(test), 4), "right": right, "ms_per_call": round(per_call_ms, 3)}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--write", action="store_true", help="rewrite the shipped exemplars from the dev split")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)
    if args.write:
        print(f"wrote {write_exemplars(args.data)} exemplars to {EXEMPLARS}")
        return 0
    results = evaluate(args.data)
    for name, row in results.items():
        if isinstance(row, dict):
            print(f"{name:60s} {row['right']}/{results['cases']} = {row['accuracy']:.1%}  "
                  f"{row['ms_per_call']:.2f} ms CPU per call")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
