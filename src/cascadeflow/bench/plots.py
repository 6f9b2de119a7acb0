"""Cost–quality plot of a replay report: one curve per signal's threshold sweep, the configured cascade as a
star, and the baselines as markers (matplotlib, headless Agg backend, imported only here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

MAX_CURVES: Final = 6  # more curves than this turn the plot into noise; the JSON keeps all of them
DEFAULT_CURVES: Final = ("config", "learned", "agreement", "rule")
FIGURE_SIZE: Final = (7.5, 5.0)
DPI: Final = 120
_MARKERS: Final = MappingProxyType(
    {"always_cheapest": "v", "always_first": "<", "always_top": "^", "random": "x", "oracle": "D"}
)


def plot_report(report: Mapping[str, Any], path: str | Path, *, curves: Sequence[str] = DEFAULT_CURVES) -> None:
    """Write the report's cost–quality curve as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=FIGURE_SIZE)
    signals = report.get("signals", {})
    shown = [c for c in curves if c in signals][:MAX_CURVES]
    drawn: list[Any] = []
    for name in shown:
        points = sorted(signals[name]["curve"], key=lambda p: p["cost_ratio"])
        if points in drawn:  # e.g. "learned" when the configured validator is the learned one
            continue
        drawn.append(points)
        ax.plot([p["cost_ratio"] for p in points], [p["quality_ratio"] for p in points], lw=1.4,
                label=f"{name} sweep (AUROC {_fmt(signals[name].get('auroc'))})")
    base = report.get("baselines", {})
    # The random router mixes the cascade's entry tier with the top model.
    weak, top = base.get("always_first") or base.get("always_cheapest"), base.get("always_top")
    if weak and top:
        ax.plot([weak["cost_ratio"], top["cost_ratio"]], [weak["quality_ratio"], top["quality_ratio"]],
                ls=":", color="grey", lw=1, label="random routing")
    for name, b in base.items():
        ax.scatter([b["cost_ratio"]], [b["quality_ratio"]], marker=_MARKERS.get(name, "o"), s=40, zorder=3,
                   label=name.replace("_", " "))
    ax.scatter([report["cost_ratio"]], [report["quality_ratio"]], marker="*", s=220, color="crimson", zorder=4,
               label=f"cascade ({100 * report['quality_ratio']:.1f}% @ {100 * report['cost_ratio']:.1f}% cost)")
    ax.axhline(0.95, color="grey", lw=0.6, ls="--")
    ax.set_xlabel("cost / top model's cost")
    ax.set_ylabel("accuracy / top model's accuracy")
    ax.set_xlim(left=0.0)
    ax.set_title(str(report.get("title", "cascade replay")))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(Path(path), dpi=DPI)
    plt.close(fig)


def _fmt(value: Any) -> str:
    return "—" if value is None else f"{float(value):.2f}"
