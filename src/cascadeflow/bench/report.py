"""The replay report: one JSON document (stable key names) and a markdown rendering of it.

Top-level keys: ``accuracy``, ``cost``, ``top_model_accuracy``, ``top_model_cost``, ``quality_ratio``,
``cost_ratio``, ``acceptance_rate`` (per tier: accepted / reached), ``answered_by``, ``top_rate``,
``decision_auroc`` (the accept/escalate decisions themselves against draft correctness),
``by_dataset``, ``baselines`` and ``signals`` (per signal: ``apgr``, ``cpt50``, ``cpt80``, ``cost_at_95``,
``auroc``, ``auroc_per_tier``, ``curve``). The configured strategy's sweep metrics (signal ``config``) are
repeated at the top level as ``apgr``, ``cpt50``, ``cpt80``, ``cost_at_95`` and ``auroc``: the numbers of the
cascade under test, without digging.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from cascadeflow.bench.runner import CONFIG_SIGNAL, PromptRun, ReplayRun
from cascadeflow.providers.replay import RecordedPrompt

HEADLINE_METRICS: Final = ("apgr", "cpt50", "cpt80", "cost_at_95", "auroc")


def _r(value: float | None, digits: int = 5) -> float | None:
    return None if value is None else round(value, digits)


def _block(runs: Sequence[PromptRun], by_id: Mapping[str, RecordedPrompt], top: str) -> dict[str, Any]:
    n = len(runs)
    accuracy = sum(r.correct for r in runs) / n if n else 0.0
    cost = float(sum(r.cost for r in runs))
    top_accuracy = sum(bool(by_id[r.prompt_id].answers[top].correct) for r in runs) / n if n else 0.0
    top_cost = sum(by_id[r.prompt_id].answers[top].cost_usd for r in runs)
    return {
        "prompts": n,
        "accuracy": _r(accuracy),
        "cost": _r(cost, 6),
        "top_model_accuracy": _r(top_accuracy),
        "top_model_cost": _r(top_cost, 6),
        "quality_ratio": _r(accuracy / top_accuracy if top_accuracy else None),
        "cost_ratio": _r(cost / top_cost if top_cost else None),
    }


def summarize_run(records: Sequence[RecordedPrompt], run: ReplayRun) -> dict[str, Any]:
    """Accuracy, cost, ratios against the top model, and per-tier acceptance of one replay run."""
    by_id = {r.prompt_id: r for r in records}
    top = run.tiers[-1]
    out = _block(run.runs, by_id, top)
    reached = dict.fromkeys(run.tiers, 0)
    kept = dict.fromkeys(run.tiers, 0)
    for prompt in run.runs:
        for model, action, _ in prompt.steps:
            reached[model] += 1
            kept[model] += action in ("accept", "final")
    n = max(len(run.runs), 1)
    out["acceptance_rate"] = {t: _r(kept[t] / reached[t] if reached[t] else None) for t in run.tiers}
    out["answered_by"] = {t: _r(sum(p.model_used == t for p in run.runs) / n) for t in run.tiers}
    out["top_rate"] = _r(reached[top] / n)
    out["decision_auroc"] = decision_auroc(run, by_id)
    datasets = sorted({p.dataset for p in run.runs})
    if len(datasets) > 1:
        out["by_dataset"] = {d: _block([p for p in run.runs if p.dataset == d], by_id, top) for d in datasets}
    return out


def decision_auroc(run: ReplayRun, by_id: Mapping[str, RecordedPrompt]) -> float | None:
    """AUROC of the cascade's own accept/escalate *decisions* (accepted = 1) against whether each judged cheap
    draft was correct, pooled over the tiers below the top: what an outside observer who sees only which
    models were called can measure. For a yes/no decision it equals (TPR + TNR) / 2."""
    from cascadeflow.bench.metrics import auroc

    top = run.tiers[-1]
    decisions: list[float] = []
    labels: list[bool] = []
    for prompt in run.runs:
        for model, action, _ in prompt.steps:
            if model != top and action in ("accept", "escalate"):
                decisions.append(1.0 if action == "accept" else 0.0)
                labels.append(bool(by_id[prompt.prompt_id].answers[model].correct))
    return _r(auroc(decisions, labels), 4) if decisions else None


def build_report(
    *,
    records: Sequence[RecordedPrompt],
    run: ReplayRun,
    baselines: Mapping[str, Mapping[str, Any]],
    signals: Mapping[str, Mapping[str, Any]],
    meta: Mapping[str, Any],
) -> dict[str, Any]:
    report: dict[str, Any] = {**dict(meta), "tiers": list(run.tiers)}
    report.update(summarize_run(records, run))
    report["errors"] = len(run.errors)
    report["error_examples"] = [f"{pid}: {msg}" for pid, msg in run.errors[:5]]
    report["baselines"] = {k: dict(v) for k, v in baselines.items()}
    report["signals"] = {k: dict(v) for k, v in signals.items()}
    configured = signals.get(CONFIG_SIGNAL, {})
    report.update({key: configured.get(key) for key in HEADLINE_METRICS})
    return report


def write_json(report: Mapping[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(report, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def _pct(value: Any) -> str:
    return "—" if value is None else f"{100 * float(value):.1f}%"


def _num(value: Any, digits: int = 3) -> str:
    return "—" if value is None else f"{float(value):.{digits}f}"


def render_markdown(report: Mapping[str, Any]) -> str:
    """A self-contained markdown summary: result, baselines, per-tier acceptance, signals."""
    lines = [f"# Replay: {report.get('title', 'cascade')}", ""]
    lines += [f"Data: {', '.join(Path(p).name for p in report.get('data', []))} — {report['prompts']} prompts"
              f"{'; config ' + Path(str(report['config'])).name if report.get('config') else ''}.", ""]
    lines += ["| | accuracy | cost (USD) | quality vs top | cost vs top |", "|---|---|---|---|---|"]
    lines.append(f"| **cascade** | {_pct(report['accuracy'])} | {_num(report['cost'], 4)} | "
                 f"{_pct(report['quality_ratio'])} | {_pct(report['cost_ratio'])} |")
    for name, b in report["baselines"].items():
        lines.append(f"| {name} | {_pct(b['accuracy'])} | {_num(b['cost'], 4)} | {_pct(b['quality_ratio'])} | "
                     f"{_pct(b['cost_ratio'])} |")
    for name, block in report.get("by_dataset", {}).items():
        lines.append(f"| cascade on {name} ({block['prompts']}) | {_pct(block['accuracy'])} | "
                     f"{_num(block['cost'], 4)} | {_pct(block['quality_ratio'])} | {_pct(block['cost_ratio'])} |")
    lines += ["", "| tier | reached → accepted | answered |", "|---|---|---|"]
    for tier in report["tiers"]:
        lines.append(f"| {tier} | {_pct(report['acceptance_rate'][tier])} | {_pct(report['answered_by'][tier])} |")
    lines += ["", f"Top model reached on {_pct(report['top_rate'])} of prompts; errors: {report['errors']}.", ""]
    lines += ["| signal | AUROC | APGR | CPT(50%) | CPT(80%) | cost at 95% quality |", "|---|---|---|---|---|---|"]
    for name, s in report["signals"].items():
        lines.append(f"| {name} | {_num(s['auroc'])} | {_num(s['apgr'])} | {_pct(s['cpt50'])} | {_pct(s['cpt80'])} | "
                     f"{_pct(s['cost_at_95'])} |")
    lines += ["", "AUROC: does the signal rank correct drafts above wrong ones. APGR/CPT: threshold sweep of that "
              "signal alone (one shared threshold for every tier below the top), x = share of prompts reaching "
              "the top model; random routing = 0.5 APGR.", ""]
    return "\n".join(lines)


def summary_markdown(reports: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """One row per replay report: the cascade's quality and cost against the top model, and its best signal."""
    lines = [
        "| experiment | prompts | tiers | accuracy (top) | quality vs top | cost vs top | best signal: AUROC, APGR |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in reports:
        signals = r.get("signals", {})
        best = max(signals.items(), key=lambda kv: kv[1].get("auroc") or 0.0, default=None)
        signal = "—" if best is None else f"{best[0]}: {_num(best[1].get('auroc'))}, {_num(best[1].get('apgr'))}"
        tiers = " → ".join(str(t).rsplit("/", 1)[-1] for t in r["tiers"])
        lines.append(f"| {name} | {r['prompts']} | {tiers} | {_pct(r['accuracy'])} ({_pct(r['top_model_accuracy'])})"
                     f" | **{_pct(r['quality_ratio'])}** | **{_pct(r['cost_ratio'])}** | {signal} |")
    return "\n".join(lines) + "\n"


def seeds_markdown(rows: Sequence[tuple[str, Sequence[Mapping[str, Any]]]], seeds: Sequence[str]) -> str:
    """Quality and cost vs the top model of each experiment on several train/test splits, and their mean."""
    head = " | ".join(f"split {s}" for s in seeds)
    lines = [f"| experiment | {head} | mean | mean APGR |", "|---|" + "---|" * (len(seeds) + 2)]
    for name, reports in rows:
        cells = [f"{_pct(r['quality_ratio'])} @ {_pct(r['cost_ratio'])}" for r in reports]
        n = max(len(reports), 1)
        quality = sum(float(r["quality_ratio"]) for r in reports) / n
        cost = sum(float(r["cost_ratio"]) for r in reports) / n
        apgr = [r["signals"][CONFIG_SIGNAL]["apgr"] for r in reports if CONFIG_SIGNAL in r.get("signals", {})]
        mean_apgr = _num(sum(apgr) / len(apgr)) if apgr else "—"
        lines.append(f"| {name} | {' | '.join(cells)} | **{_pct(quality)} @ {_pct(cost)}** | {mean_apgr} |")
    return "\n".join(lines) + "\n"


def signals_markdown(reports: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """AUROC (and APGR) of each accept/reject signal, one column per experiment."""
    names: list[str] = []
    for _, r in reports:
        names += [n for n in r.get("signals", {}) if n not in names]
    lines = ["| signal | " + " | ".join(label for label, _ in reports) + " |", "|---|" + "---|" * len(reports)]
    for name in names:
        cells = []
        for _, r in reports:
            s = r.get("signals", {}).get(name)
            cells.append("—" if s is None else f"{_num(s.get('auroc'), 2)} / {_num(s.get('apgr'), 2)}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def defaults_markdown(rows: Sequence[tuple[str, Sequence[Mapping[str, Any]]]], seeds: Sequence[str]) -> str:
    """The package's default configuration per data set: quality and cost vs the top model, the share of prompts
    answered below the top tier, and the AUROC of the keep/escalate decisions themselves, per split and on
    average."""
    head = " | ".join(f"split {s}" for s in seeds)
    lines = [f"| default configuration | {head} | mean | answered below the top | decision AUROC (per split) |",
             "|---|" + "---|" * (len(seeds) + 3)]
    for name, reports in rows:
        cells = [f"{_pct(r['quality_ratio'])} @ {_pct(r['cost_ratio'])}" for r in reports]
        quality = _mean([float(r["quality_ratio"]) for r in reports])
        cost = _mean([float(r["cost_ratio"]) for r in reports])
        kept = [1.0 - float(r["answered_by"][r["tiers"][-1]]) for r in reports]
        aurocs = [r.get("decision_auroc") for r in reports]
        mean_auroc = _num(_mean([float(a) for a in aurocs if a is not None]), 2)
        lines.append(f"| {name} | {' | '.join(cells)} | **{_pct(quality)} @ {_pct(cost)}** | {_pct(_mean(kept))} | "
                     f"{' / '.join(_num(a, 2) for a in aurocs)} (mean **{mean_auroc}**) |")
    return "\n".join(lines) + "\n"


def online_markdown(rows: Sequence[tuple[str, Sequence[Mapping[str, Any]]]], seeds: Sequence[str]) -> str:
    """Online (label-free, shadow calls billed) against offline calibrated plans on the same unseen streams."""
    head = " | ".join(f"split {s}" for s in seeds)
    lines = [f"| plan | {head} | mean | shadowed |", "|---|" + "---|" * (len(seeds) + 2)]
    for name, reports in rows:
        cells = [f"{_pct(r['quality_ratio'])} @ {_pct(r['cost_ratio'])}" for r in reports]
        quality = _mean([float(r["quality_ratio"]) for r in reports])
        cost = _mean([float(r["cost_ratio"]) for r in reports])
        shadow = _mean([float(r["shadow_rate"]) for r in reports if "shadow_rate" in r])
        lines.append(f"| {name} | {' | '.join(cells)} | **{_pct(quality)} @ {_pct(cost)}** | {_pct(shadow)} |")
    return "\n".join(lines) + "\n"


def risk_markdown(rows: Sequence[tuple[str, float, Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]]]) -> str:
    """Calibrated plans: target, the bound written with each plan, and the quality they kept on unseen prompts.
    ``rows``: (name, target, [(plan calibration block, held-out replay report) per split])."""
    lines = ["| plan | target | bound with the plan (per split) | held-out quality (per split) | worst | "
             "held-out cost (mean) |", "|---|---|---|---|---|---|"]
    for name, target, pairs in rows:
        bounds = [(c.get("risk_control") or {}).get("quality_lower_bound") for c, _ in pairs]
        held = [float(r["quality_ratio"]) for _, r in pairs]
        worst = min(held) if held else None
        flag = "" if worst is None or worst >= target - 0.01 else " ✗"
        lines.append(f"| {name} | {_pct(target)} | {' / '.join(_pct(b) for b in bounds)} | "
                     f"{' / '.join(_pct(h) for h in held)} | **{_pct(worst)}**{flag} | "
                     f"{_pct(_mean([float(r['cost_ratio']) for _, r in pairs]))} |")
    return "\n".join(lines) + "\n"
