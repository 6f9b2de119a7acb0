"""Bench: forecast error of ``cascadeflow.budget.forecast`` on synthetic daily spending, over many seeds.

Each seed draws a user's spending: a base level, a linear trend (-0.3 % to +1 % of the base per day), a weekly
pattern (weekday/weekend shapes of random strength) and multiplicative noise (5–10 %). The forecaster sees
``--history`` days and predicts the next ``--horizon``; MAPE is measured against the noiseless-plus-noise
truth of those days. Two naive baselines give the scale: the same weekday last week, and the last 7 days' mean.
Goal: MAPE < 10 %.

    python bench/budget_forecast.py [--seeds 20] [--history 84] [--horizon 7] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from cascadeflow.budget.forecast import forecast_daily

START = date(2025, 1, 6)


def synthetic(seed: int, days: int) -> list[float]:
    rng = random.Random(seed)
    base = rng.uniform(2.0, 200.0)
    slope = base * rng.uniform(-0.003, 0.01)
    strength = rng.uniform(0.1, 0.6)
    weekly = [1 + strength * w for w in (0.3, 0.4, 0.35, 0.3, 0.1, -0.7, -0.75)]
    noise = rng.uniform(0.05, 0.10)
    return [max(0.01, (base + slope * t) * weekly[t % 7] * (1 + rng.gauss(0, noise))) for t in range(days)]


def mape(predicted: list[float], actual: list[float]) -> float:
    return 100 * statistics.fmean(abs(p - a) / a for p, a in zip(predicted, actual, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--history", type=int, default=84)
    parser.add_argument("--horizon", type=int, default=7)
    parser.add_argument("--json", type=Path, default=Path("bench/results/budget_forecast.json"))
    args = parser.parse_args()
    rows = []
    for seed in range(args.seeds):
        values = synthetic(seed, args.history + args.horizon)
        history, future = values[: args.history], values[args.history :]
        series = {START + timedelta(days=t): Decimal(repr(round(v, 6))) for t, v in enumerate(history)}
        points = forecast_daily(series, args.horizon)
        ours = [float(p.expected) for p in points]
        covered = sum(float(p.low) <= a <= float(p.high) for p, a in zip(points, future, strict=True))
        last_week = [history[-7 + (h % 7)] for h in range(args.horizon)]
        mean7 = [statistics.fmean(history[-7:])] * args.horizon
        rows.append({
            "seed": seed, "mape": mape(ours, future), "same_weekday_last_week": mape(last_week, future),
            "mean_of_last_7_days": mape(mean7, future), "interval_coverage": covered / args.horizon,
        })
    print(f"{'seed':>4}{'ours %':>9}{'last wk %':>11}{'mean7 %':>9}{'in 90% band':>13}")
    for r in rows:
        print(f"{r['seed']:>4}{r['mape']:>9.2f}{r['same_weekday_last_week']:>11.2f}{r['mean_of_last_7_days']:>9.2f}"
              f"{r['interval_coverage']:>13.2f}")
    summary = {key: statistics.fmean(r[key] for r in rows) for key in
               ("mape", "same_weekday_last_week", "mean_of_last_7_days", "interval_coverage")}
    print(f"mean{summary['mape']:>9.2f}{summary['same_weekday_last_week']:>11.2f}"
          f"{summary['mean_of_last_7_days']:>9.2f}{summary['interval_coverage']:>13.2f}   (goal: MAPE < 10 %)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, "summary": summary,
                                     "rows": rows}, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
