"""Bench: what a budget costs per call in each ledger store, and how far spending goes past the budget edge.

For each store (in memory, SQLite file, Redis, PostgreSQL):
  latency   — ``CostTracker.reserve`` + ``commit`` for one user, sequentially, ``--calls`` times: p50 / p99 ms
              (the read of the user's windows, the atomic hold, the settlement: what an agent call pays);
  overshoot — ``--procs`` processes × ``--per-proc`` concurrent calls of worst case 0.01 USD settling at 50–100 %
              of it, with a budget that fits about half: (spent − budget) / budget, and what was left unspent.
Redis and PostgreSQL come from scripts/services.sh (CASCADEFLOW_TEST_REDIS_URL / _POSTGRES_URL or
.cache/services.env); a store whose server is missing is reported as skipped.

    python bench/budget_stores.py [--calls 500] [--procs 4] [--per-proc 100] [--json bench/results/budget_stores.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import statistics
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from cascadeflow.budget import BudgetConfig, CostTracker
from cascadeflow.errors import BudgetExceededError

ENV_FILE = Path(__file__).resolve().parents[1] / ".cache" / "services.env"
WORST = Decimal("0.01")
MS = 1000.0


def service_url(name: str) -> str:
    if os.environ.get(name):
        return os.environ[name]
    if ENV_FILE.exists():
        for line in ENV_FILE.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            if key == name:
                return value.strip()
    return ""


def store_urls(tmp: Path) -> dict[str, str]:
    """One fresh, isolated ledger per store and run (own file, Redis namespace, table prefix)."""
    tag = uuid.uuid4().hex[:8]
    urls = {"memory": "memory://", "sqlite": f"sqlite:///{tmp / f'bench-{tag}.db'}"}
    redis_url = service_url("CASCADEFLOW_TEST_REDIS_URL")
    if redis_url:
        urls["redis"] = f"{redis_url}?namespace=cfbench:{tag}:"
    postgres_url = service_url("CASCADEFLOW_TEST_POSTGRES_URL")
    if postgres_url:
        urls["postgres"] = f"{postgres_url}?prefix=bench{tag}_"
    return urls


def latency(url: str, calls: int) -> tuple[float, float]:
    tracker = CostTracker(
        user_budgets={"bench-user": BudgetConfig(daily=10**6)}, enforcement_mode="enforce", store=url
    )
    times: list[float] = []
    for _ in range(calls):
        start = time.perf_counter()
        held = tracker.reserve("bench-user", WORST, model="bench")
        tracker.commit(held, WORST, input_tokens=100, output_tokens=50)
        times.append((time.perf_counter() - start) * MS)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def _edge_worker(url: str, budget: str, calls: int, seed: int, start_at: float) -> None:
    tracker = CostTracker(
        user_budgets={"edge-user": BudgetConfig(total=budget)}, enforcement_mode="enforce", store=url
    )
    rng = random.Random(seed)

    async def one() -> None:
        try:
            held = await tracker.areserve("edge-user", WORST)
        except BudgetExceededError:
            return
        await asyncio.sleep(rng.uniform(0, 0.005))
        actual = (WORST * Decimal(str(rng.uniform(0.5, 1.0)))).quantize(Decimal("0.000000001"))
        await tracker.acommit(held, actual)

    async def main() -> None:
        await asyncio.gather(*(one() for _ in range(calls)))

    time.sleep(max(0.0, start_at - time.time()))
    asyncio.run(main())


def overshoot(url: str, procs: int, per_proc: int) -> tuple[float, float, int]:
    """(overshoot %, unspent %, calls served) with a budget that fits about half of the calls' worst cases."""
    budget = WORST * procs * per_proc / 2 + Decimal("0.005")
    start_at = time.time() + 2.0  # let every process import and connect, then start together
    ctx = multiprocessing.get_context("spawn")
    workers = [
        ctx.Process(target=_edge_worker, args=(url, str(budget), per_proc, seed, start_at)) for seed in range(procs)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    reader = CostTracker(store=url)
    spent = reader.spent("edge-user", "total")
    served = len(reader.records("edge-user"))
    over = max(Decimal(0), spent - budget) / budget * 100
    return float(over), float((budget - spent) / budget * 100), served


def cleanup(store: str, url: str) -> None:
    """Drop what the run wrote to the shared servers (its own namespace / table prefix only)."""
    base, _, option = url.partition("?")
    name = option.partition("=")[2]
    if store == "redis":
        import redis

        client = redis.Redis.from_url(base)
        for key in client.scan_iter(match=f"{name}*", count=1000):
            client.delete(key)
        client.close()
    elif store == "postgres":
        import psycopg

        with psycopg.connect(base, autocommit=True) as conn:
            for table in ("records", "holds", "buckets"):
                conn.execute(f"DROP TABLE IF EXISTS {name}{table}")
            conn.execute(f"DROP FUNCTION IF EXISTS {name}reserve")


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    names = [r["store"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    x = range(len(names))
    ax.bar([i - 0.2 for i in x], [r["p50_ms"] for r in rows], width=0.4, label="p50")
    ax.bar([i + 0.2 for i in x], [r["p99_ms"] for r in rows], width=0.4, label="p99")
    ax.set_xticks(list(x), names)
    ax.set_ylabel("reserve + commit, ms")
    edges = ", ".join(f"{r['store']} {r['overshoot_pct']:.1f}%" for r in rows if r["served"] is not None)
    ax.set_title(f"Budget reserve + commit per call\novershoot at the budget edge: {edges}", fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--per-proc", type=int, default=100)
    parser.add_argument("--json", type=Path, default=Path("bench/results/budget_stores.json"))
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for store, url in store_urls(Path(tmp)).items():
            p50, p99 = latency(url, args.calls)
            edge: tuple[float, float, int] | None = None
            if store != "memory":  # the edge test needs a store several processes share
                edge = overshoot(url, args.procs, args.per_proc)
            cleanup(store, url)
            rows.append({"store": store, "p50_ms": round(p50, 3), "p99_ms": round(p99, 3),
                         "overshoot_pct": edge and round(edge[0], 3), "unspent_pct": edge and round(edge[1], 3),
                         "served": edge and edge[2]})
    print(f"{'store':<10}{'p50 ms':>9}{'p99 ms':>9}{'overshoot %':>13}{'unspent %':>11}{'served':>8}")
    for r in rows:
        edge_cells = (
            f"{r['overshoot_pct']:>13.2f}{r['unspent_pct']:>11.2f}{r['served']:>8}"
            if r["served"] is not None else f"{'-':>13}{'-':>11}{'-':>8}"
        )
        print(f"{r['store']:<10}{r['p50_ms']:>9.3f}{r['p99_ms']:>9.3f}{edge_cells}")
    missing = {"redis", "postgres"} - {r["store"] for r in rows}
    if missing:
        print(f"skipped (no server; run scripts/services.sh): {', '.join(sorted(missing))}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"calls": args.calls, "procs": args.procs, "per_proc": args.per_proc,
                                     "rows": rows}, indent=1) + "\n", encoding="utf-8")
    plot(rows, args.json.with_suffix(".png"))


if __name__ == "__main__":
    main()
