"""Analysis of bench/local_signals.py's recording: AUROC and time of each way of verifying the local drafts.

For every method, the *decision* (keep or escalate) is simulated on the recorded signals, so every method is
compared on the same drafts: its AUROC against draft correctness (continuous score and yes/no decision), the share
of drafts kept, how many kept drafts were wrong, the final accuracy, and the time against the 1.5B alone per group
(draft + verification, plus the 1.5B's own answer when the draft is escalated).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cascadeflow.bench.metrics import auroc
from cascadeflow.cascade.complexity import ComplexityDetector
from cascadeflow.cascade.quality.verifier_scoring import ScoringSettings

Row = Mapping[str, Any]
Decision = Callable[[Row], tuple[bool, float]]
"""(keep?, seconds spent verifying)."""
RESULTS = Path(__file__).parent / "results"
SCORING = ScoringSettings()
DETECTOR = ComplexityDetector()


def _sure(row: Row) -> bool:
    """The drafter's own near-certainty on a short answer (verify-by-scoring's shortcut, as configured)."""
    s = SCORING
    short = row["draft_tokens"] <= s.self_max_tokens
    likely = (row["own_likelihood"] or 0.0) >= s.self_min_likelihood and (row["own_tail"] or 0.0) >= s.self_min_tail
    return short and likely


def scoring(row: Row) -> tuple[bool, float]:
    """Today's local default: rules gate, trivial + sure shortcut, else the 1.5B's token probabilities."""
    s = SCORING
    if not row["gate_passed"]:
        return False, 0.0
    if _sure(row) and DETECTOR.detect(row["text"]).level in s.self_check_levels:
        return True, 0.0
    agreement = row["score_agreement"] if row["score_agreement"] is not None else 1.0
    keep = (row["score_likelihood"] >= s.min_likelihood and agreement >= s.min_agreement
            and row["score_tail"] >= s.min_tail)
    return keep, row["score_s"]


def p_true(threshold: float, shortcut: bool = False) -> Decision:
    def decide(row: Row) -> tuple[bool, float]:
        if not row["gate_passed"]:
            return False, 0.0
        if shortcut and _sure(row):
            return True, 0.0
        return row["p_true"] >= threshold, row["p_true_s"]
    return decide


def consistency(k: int) -> Decision:
    def decide(row: Row) -> tuple[bool, float]:
        if not row["gate_passed"]:
            return False, 0.0
        return row["sample_agree"] >= k, sum(row["sample_s"])
    return decide


def both(threshold: float, k: int) -> Decision:
    """P(True) and self-consistency must both agree (self-consistency first: it stops at a clear no)."""
    def decide(row: Row) -> tuple[bool, float]:
        if not row["gate_passed"]:
            return False, 0.0
        spent = sum(row["sample_s"])
        if row["sample_agree"] < k:
            return False, spent
        return row["p_true"] >= threshold, spent + row["p_true_s"]
    return decide


def rules(row: Row) -> tuple[bool, float]:
    return bool(row["rules_passed"]), 0.0


METHODS: dict[str, Decision] = {
    "rules only": rules,
    "verify-by-scoring (current default)": scoring,
    **{f"P(True) >= {t}": p_true(t) for t in (0.5, 0.6, 0.7, 0.8, 0.85, 0.9)},
    **{f"P(True) >= {t}, sure drafts kept": p_true(t, shortcut=True) for t in (0.7, 0.8, 0.85)},
    **{f"self-consistency {k}/3": consistency(k) for k in (2, 3)},
    **{f"self-consistency 3/3 then P(True) >= {t}": both(t, 3) for t in (0.5, 0.7)},
}
SCORES: dict[str, Callable[[Row], float | None]] = {
    "P(True)": lambda r: r["p_true"], "1.5B likelihood of the draft": lambda r: r["score_likelihood"],
    "0.5B's own likelihood": lambda r: r["own_likelihood"], "self-consistency agreement": lambda r: r["sample_agree"],
    "rule score": lambda r: r["rules_score"],
}


def evaluate(rows: Sequence[Row], decide: Decision) -> dict[str, Any]:
    checked = [r for r in rows if r["draft_correct"] is not None]
    out: dict[str, Any] = {}
    decisions = {id(r): decide(r) for r in rows}
    labels = [bool(r["draft_correct"]) for r in checked]
    out["decision_auroc"] = auroc([float(decisions[id(r)][0]) for r in checked], labels)
    kept = [r for r in checked if decisions[id(r)][0]]
    out["kept"] = len(kept) / len(checked) if checked else 0.0
    out["kept_wrong"] = sum(1 for r in kept if not r["draft_correct"])
    final = [bool(r["draft_correct"]) if decisions[id(r)][0] else bool(r["alone_correct"]) for r in checked]
    out["accuracy"] = sum(final) / len(final) if final else 0.0
    for group in ("simple", "hard", "all"):
        sel = [r for r in rows if group in ("all", r["group"])]
        cascade = sum(r["draft_s"] + decisions[id(r)][1] + (0.0 if decisions[id(r)][0] else r["alone_s"]) for r in sel)
        alone = sum(r["alone_s"] for r in sel)
        out[f"time_ratio_{group}"] = cascade / alone if alone else None
    return out


def analyze(path: Path) -> dict[str, Any]:
    rows: list[Row] = json.loads(path.read_text())["rows"]
    checked = [r for r in rows if r["draft_correct"] is not None]
    labels = [bool(r["draft_correct"]) for r in checked]
    report: dict[str, Any] = {
        "questions": len(rows), "checked": len(checked),
        "draft_accuracy": sum(labels) / len(labels), "alone_accuracy": sum(bool(r["alone_correct"]) for r in checked)
        / len(checked),
        "score_auroc": {name: auroc([float(f(r) or 0.0) for r in checked], labels) for name, f in SCORES.items()},
        "methods": {name: evaluate(rows, decide) for name, decide in METHODS.items()},
    }
    print(f"{len(rows)} questions ({len(checked)} checked); 0.5B right {100 * report['draft_accuracy']:.0f}%, "
          f"1.5B right {100 * report['alone_accuracy']:.0f}%")
    for name, value in report["score_auroc"].items():
        print(f"  AUROC of {name}: {value:.3f}")
    print(f"{'method':44} {'AUROC':>6} {'kept':>5} {'wrong':>5} {'acc':>5} {'t simple':>8} {'t hard':>7} {'t all':>6}")
    for name, m in report["methods"].items():
        print(f"{name:44} {m['decision_auroc']:6.3f} {m['kept']:5.2f} {m['kept_wrong']:5d} {m['accuracy']:5.2f} "
              f"{m['time_ratio_simple']:8.2f} {m['time_ratio_hard']:7.2f} {m['time_ratio_all']:6.2f}")
    out = RESULTS / "local_signals_summary.json"
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {out}")
    return report
