"""Bench: the gateway side by side with the upstream alone and with LiteLLM's proxy, in one run, on loopback.

Uses the shared load tools (``../shared/bench/gateway``: the fast fixed-reply upstream, ``bench.py`` driving wrk,
``stream_bench.py``, ``wait_ready.py``). For each target: startup time until the first 200 and RSS after it, then
wrk at each concurrency (req/s, p50/p99; repeated), then streaming time to first content. Targets:

    upstream          the fast upstream alone (the floor)
    cascadeflow       cascadeflow serve, 1 process: passed-through model, key with a daily budget and an rpm limit
                      (in-memory ledger and limiter: one process)
    cascadeflow-open  the same without budget and rate limit (the gateway's own cost, without the ledger's)
    cascadeflow-2w    cascadeflow serve --workers 2: budget in SQLite, rate limit in Redis (when a Redis URL is in
                      CASCADEFLOW_TEST_REDIS_URL or .cache/services.env; else no rpm)
    litellm           LiteLLM proxy (``--litellm`` points at its executable; install it in its own venv so it does
                      not disturb the project's pins: ``python3 -m venv .cache/litellm-venv &&
                      .cache/litellm-venv/bin/pip install 'litellm[proxy]==1.106.2'``)

    python bench/gateway.py [--targets upstream,cascadeflow,litellm] [--duration 10] [--reps 2]
                            [--litellm .cache/litellm-venv/bin/litellm] [--json bench/results/gateway.json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TOOLS = (ROOT.parent / "shared" / "bench" / "gateway", ROOT.parents[1] / "shared" / "bench" / "gateway",
                 Path("/work/shared/bench/gateway"))
KEY = "sk-bench"
MODEL = "stub-model"
SETTLE_S = 2.0
READY_TIMEOUT_S = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_url() -> str:
    given = os.environ.get("CASCADEFLOW_TEST_REDIS_URL", "")
    env_file = ROOT / ".cache" / "services.env"
    if not given and env_file.exists():
        for line in env_file.read_text().splitlines():
            if line.startswith("CASCADEFLOW_TEST_REDIS_URL="):
                given = line.split("=", 1)[1].strip()
    return given


class Target:
    """A server process (group) under test: how to start it, where to send requests."""

    def __init__(self, name: str, argv: list[str], port: int, env: dict[str, str] | None = None) -> None:
        self.name, self.argv, self.port, self.env = name, argv, port, env
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/chat/completions"

    def start(self, log: Path) -> None:
        self.started_at = time.time()
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=log.open("wb"),
                                     env={**os.environ, **(self.env or {})}, start_new_session=True)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def run_json(argv: list[str], env: dict[str, str]) -> list[dict[str, Any]]:
    out = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **env}, check=False)
    sys.stdout.write(out.stdout)
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def measure(target: Target, up: Target | None, tools: Path, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    env = {"BENCH_KEY": KEY, "BENCH_MODEL": MODEL}
    target.start(work / f"{target.name}.log")
    assert target.proc is not None
    ready = run_json([sys.executable, str(tools / "wait_ready.py"), target.url, str(target.proc.pid),
                      str(target.started_at)], env)
    if not ready:
        target.stop()
        raise RuntimeError(f"{target.name} did not start: {(work / f'{target.name}.log').read_text()[-2000:]}")
    row: dict[str, Any] = {"name": target.name, "startup_s": ready[0]["ready_s"],
                           "rss_idle_mb": ready[0]["rss_mb_idle_after_first_req"]}
    points = work / f"{target.name}.jsonl"
    common = ["--name", target.name, "--url", target.url, "--gw-pid", str(target.proc.pid),
              "--up-pid", str(up.proc.pid if up and up.proc else 0), "--reps", str(args.reps),
              "--duration", str(args.duration), "--out", str(points)]
    subprocess.run([sys.executable, str(tools / "bench.py"), *common, "--conc", args.conc], env={**os.environ, **env},
                   check=False)
    subprocess.run([sys.executable, str(tools / "bench.py"), *common, "--conc", args.stream_conc, "--stream",
                    "--warmup", "0"], env={**os.environ, **env}, check=False)
    target.stop()
    row["points"] = [json.loads(line) for line in points.read_text().splitlines()] if points.exists() else []
    return row


def median_of(points: list[dict[str, Any]], conc: int, key: str, stream: bool) -> float | None:
    values = [p[key] for p in points if p.get("conc") == conc and ("ttft_p50_ms" in p) == stream
              and p.get(key) is not None and not p.get("errors")]
    return round(statistics.median(values), 2) if values else None


def summary(row: dict[str, Any], concs: list[int], stream_concs: list[int]) -> dict[str, Any]:
    points: list[dict[str, Any]] = row["points"]
    out: dict[str, Any] = {"target": row["name"], "startup_s": row["startup_s"], "rss_idle_mb": row["rss_idle_mb"],
                           "rss_peak_mb": max((p.get("gw_rss_peak_mb", 0) for p in points), default=None)}
    for c in concs:
        out[f"c{c}_rps"] = median_of(points, c, "rps", False)
        out[f"c{c}_p50_ms"] = median_of(points, c, "p50_ms", False)
        out[f"c{c}_p99_ms"] = median_of(points, c, "p99_ms", False)
    for c in stream_concs:
        out[f"stream_c{c}_ttfc_p50_ms"] = median_of(points, c, "ttft_p50_ms", True)
    out["errors"] = sum(int(p.get("errors", 0)) for p in points)
    return out


def table(rows: list[dict[str, Any]], concs: list[int], stream_concs: list[int]) -> str:
    cols: list[tuple[str, str]] = [("target", "target")]
    for c in concs:
        cols += [(f"c={c} req/s", f"c{c}_rps"), (f"c={c} p50 ms", f"c{c}_p50_ms"), (f"c={c} p99 ms", f"c{c}_p99_ms")]
    cols += [(f"stream c={c} first content p50 ms", f"stream_c{c}_ttfc_p50_ms") for c in stream_concs]
    cols += [("RSS MB (peak)", "rss_peak_mb"), ("startup s", "startup_s"), ("errors", "errors")]
    lines = ["| " + " | ".join(name for name, _ in cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[key]) for _, key in cols) + " |" for r in rows]
    return "\n".join(lines)


def gateway_target(name: str, upstream_port: int, work: Path, workers: int, *, governed: bool = True) -> Target:
    port = free_port()
    key: dict[str, Any] = {"key": KEY, "id": "bench"}
    if governed:
        key.update(budget={"daily": 1_000_000}, rpm=100_000_000)
    config: dict[str, Any] = {
        "models": [{"name": MODEL, "provider": "openai", "base_url": f"http://127.0.0.1:{upstream_port}/v1",
                    "api_key": "x", "cost": 0.0002}],
        "keys": [key], "store": "memory://", "logging": {"requests": True},
    }
    if workers > 1:
        config["store"] = f"sqlite:///{work / 'ledger.db'}"
        redis = redis_url()
        if redis:
            config["rate_limit_store"] = redis
        else:
            key.pop("rpm", None)
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    cli = [sys.executable, "-c", "from cascadeflow.cli.main import main; main()"]
    return Target(name, [*cli, "serve", "--config", str(path), "--port", str(port), "--workers", str(workers)], port)


def litellm_target(binary: str, upstream_port: int, work: Path) -> Target:
    port = free_port()
    config = {"model_list": [{"model_name": MODEL, "litellm_params": {
        "model": f"openai/{MODEL}", "api_base": f"http://127.0.0.1:{upstream_port}/v1", "api_key": "x"}}],
        "general_settings": {"master_key": KEY}}
    path = work / "litellm.yaml"
    path.write_text(yaml.safe_dump(config))
    return Target("litellm", [binary, "--config", str(path), "--port", str(port), "--num_workers", "1"], port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default="upstream,cascadeflow,litellm")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--conc", default="1,16,64")
    parser.add_argument("--stream-conc", default="1,16")
    parser.add_argument("--litellm", default=str(ROOT / ".cache" / "litellm-venv" / "bin" / "litellm"))
    parser.add_argument("--tools", type=Path, default=next((p for p in DEFAULT_TOOLS if p.exists()), DEFAULT_TOOLS[0]))
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "gateway.json")
    args = parser.parse_args()
    concs = [int(c) for c in args.conc.split(",")]
    stream_concs = [int(c) for c in args.stream_conc.split(",")]
    with tempfile.TemporaryDirectory(prefix="gw-bench-") as tmp:
        work = Path(tmp)
        up_port = free_port()
        upstream = Target("upstream", [sys.executable, "-m", "uvicorn", "fast_upstream:app", "--app-dir",
                                       str(args.tools), "--host", "127.0.0.1", "--port", str(up_port),
                                       "--no-access-log", "--log-level", "warning", "--loop", "uvloop", "--http",
                                       "httptools"], up_port)
        factories: dict[str, Callable[[], Target]] = {
            "cascadeflow": lambda: gateway_target("cascadeflow", up_port, work, 1),
            "cascadeflow-open": lambda: gateway_target("cascadeflow-open", up_port, work, 1, governed=False),
            "cascadeflow-2w": lambda: gateway_target("cascadeflow-2w", up_port, work, 2),
            "litellm": lambda: litellm_target(args.litellm, up_port, work),
        }
        rows: list[dict[str, Any]] = []
        load_before = os.getloadavg()
        for name in args.targets.split(","):
            if name == "upstream":
                rows.append(measure(upstream, None, args.tools, args, work))
                continue
            upstream.start(work / "upstream.log")
            time.sleep(SETTLE_S)
            try:
                rows.append(measure(factories[name](), upstream, args.tools, args, work))
            finally:
                upstream.stop()
            time.sleep(SETTLE_S)
    summaries = [summary(r, concs, stream_concs) for r in rows]
    print(table(summaries, concs, stream_concs))
    result = {"measured_at": time.strftime("%Y-%m-%d %H:%M:%S"), "cpus": os.cpu_count(),
              "loadavg_before": [round(x, 2) for x in load_before],
              "loadavg_after": [round(x, 2) for x in os.getloadavg()], "duration_s": args.duration, "reps": args.reps,
              "summary": summaries, "points": [p for r in rows for p in r["points"]]}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"load average before {result['loadavg_before']}, after {result['loadavg_after']}")


if __name__ == "__main__":
    main()
