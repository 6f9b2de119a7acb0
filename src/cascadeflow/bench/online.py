"""Online replay: a data set as an ordered stream through a self-calibrating (shadow-mode) cascade.

Each prompt is answered by a :class:`~cascadeflow.shadow.agent.ShadowAgent` over replayed models, one after the
other; decisions never see a correctness label — only the top tier's own answers, when the run escalated to it
or a shadow call asked it. Shadow calls are billed into the cost. The recordings' labels are used afterwards,
to grade each answer. The report has the stream's ``quality_ratio``, ``cost_ratio`` (shadow calls included),
``shadow_rate`` (share of prompts that paid for a shadow call), and a series over the stream for the plot.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from cascadeflow.bench.runner import build_agent
from cascadeflow.providers.replay import RecordedPrompt
from cascadeflow.shadow.agent import ShadowAgent
from cascadeflow.shadow.settings import ShadowSettings

STREAM_ORDERS: Final = ("shuffled", "file")
SERIES_POINTS: Final = 60  # points of the over-the-stream series kept in the report
Progress = Callable[[int, int], None]


def stream_order(records: Sequence[RecordedPrompt], order: str, seed: int) -> list[RecordedPrompt]:
    """``file``: as loaded (data sets one after the other: a shift mid-stream); ``shuffled``: a seeded shuffle
    (stationary traffic)."""
    out = list(records)
    if order == "shuffled":
        random.Random(seed).shuffle(out)
    return out


async def _stream(
    shadow: ShadowAgent, records: Sequence[RecordedPrompt], progress: Progress | None
) -> list[dict[str, Any]]:
    top = shadow.chain[-1]
    rows: list[dict[str, Any]] = []
    for n, record in enumerate(records, 1):
        spent_before = shadow.shadow_cost
        result = await shadow.run(record.prompt)
        shadow_cost = shadow.shadow_cost - spent_before
        rows.append({
            "correct": bool(record.answers[result.model_used].correct),
            "top_correct": bool(record.answers[top].correct),
            "cost": float(result.cost + shadow_cost), "shadow_cost": float(shadow_cost),
            "top_cost": float(record.answers[top].cost), "shadowed": shadow_cost > Decimal(0),
            "model_used": result.model_used, "active": shadow.policy.active, "rate": shadow.policy.rate,
        })
        if progress and (n % 25 == 0 or n == len(records)):
            progress(n, len(records))
    return rows


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 5) if whole else None


def _series(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    step = max(1, len(rows) // SERIES_POINTS)
    out = []
    right = top_right = cost = top_cost = shadowed = 0.0
    for n, row in enumerate(rows, 1):
        right += row["correct"]
        top_right += row["top_correct"]
        cost += row["cost"]
        top_cost += row["top_cost"]
        shadowed += row["shadowed"]
        if n % step == 0 or n == len(rows):
            out.append({"prompts": n, "quality_ratio": _ratio(right, top_right), "cost_ratio": _ratio(cost, top_cost),
                        "shadow_rate": round(shadowed / n, 5), "policy_rate": row["rate"], "active": row["active"]})
    return out


def run_online(records: Sequence[RecordedPrompt], agent_kwargs: Mapping[str, Any], settings: ShadowSettings, *,
               seed: int = 0, order: str = "shuffled", store: str | None = None, progress: Progress | None = None,
               meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Run the stream; the report described in the module docstring."""
    stream = stream_order(records, order, seed)
    shadow = ShadowAgent(build_agent(records, agent_kwargs), settings=settings, store=store,
                         rng=random.Random(seed), inline=True)

    async def go() -> list[dict[str, Any]]:
        try:
            return await _stream(shadow, stream, progress)
        finally:
            await shadow.aclose()

    rows = asyncio.run(go())
    n = max(len(rows), 1)
    right, top_right = sum(r["correct"] for r in rows), sum(r["top_correct"] for r in rows)
    cost, top_cost = sum(r["cost"] for r in rows), sum(r["top_cost"] for r in rows)
    shadow_cost = sum(r["shadow_cost"] for r in rows)
    return {
        **dict(meta or {}), "mode": "online", "tiers": list(shadow.chain), "prompts": len(rows), "order": order,
        "target_quality": settings.target_quality, "delta": settings.delta,
        "accuracy": round(right / n, 5), "top_model_accuracy": round(top_right / n, 5),
        "quality_ratio": _ratio(right, top_right), "cost_ratio": _ratio(cost, top_cost),
        "shadow_rate": round(sum(r["shadowed"] for r in rows) / n, 5),
        "shadow_cost_ratio": _ratio(shadow_cost, top_cost),
        "answered_by": {t: round(sum(r["model_used"] == t for r in rows) / n, 5) for t in shadow.chain},
        "policy": {"active": shadow.policy.active, "rate": shadow.policy.rate, "reason": shadow.policy.reason,
                   "loss_bound": round(shadow.policy.loss_bound, 5),
                   "thresholds": {t: p.threshold for t, p in shadow.policy.tiers.items()}},
        "series": _series(rows),
    }


def plot_online(report: Mapping[str, Any], path: str | Path) -> None:
    """Quality and cost (ratios to the top model, cumulative) and the shadow rate over the stream."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = report["series"]
    xs = [p["prompts"] for p in series]
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    ax.plot(xs, [p["quality_ratio"] for p in series], label="quality vs top (cumulative)", color="tab:green")
    ax.plot(xs, [p["cost_ratio"] for p in series], label="cost vs top, shadow calls included", color="tab:red")
    ax.plot(xs, [p["shadow_rate"] for p in series], label="share of prompts shadowed", color="tab:blue", ls="--")
    ax.axhline(report["target_quality"], color="grey", lw=0.7, ls=":", label=f"target {report['target_quality']}")
    ax.set_xlabel("prompts of the stream")
    ax.set_ylim(0, 1.1)
    ax.set_title(str(report.get("title", "online cascade")))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center right")
    fig.tight_layout()
    fig.savefig(Path(path), dpi=120)
    plt.close(fig)
