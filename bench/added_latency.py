"""Bench: latency cascadeflow adds to an accepted query, over a direct HTTP call to the same server.

A tiny OpenAI-compatible server (separate process, loopback, keep-alive) answers every chat completion with the
same fixed, solid answer. We time, interleaved:
  direct — an ``httpx.AsyncClient`` POST of the same chat request plus ``json`` decoding of the reply;
  agent  — ``CascadeAgent.run`` on a 2-tier cascade whose cheap tier is that server (the draft is accepted).
The added latency is the median of the per-pair differences (agent − direct). Goal: <= 0.1 ms.

    python bench/added_latency.py [--requests 2000] [--json bench/results/added_latency.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

import httpx

from cascadeflow import CascadeAgent, ModelConfig
from fake_openai_server import QUERY, serve_in_background


async def _measure(base_url: str, requests: int) -> dict[str, float]:
    payload = {"model": "bench-small", "messages": [{"role": "user", "content": QUERY}], "max_tokens": 100}
    agent = CascadeAgent(
        models=[
            ModelConfig("bench-small", provider="openai", cost=0.000375, base_url=base_url, api_key="x"),
            ModelConfig("bench-large", provider="openai", cost=0.00625, base_url=base_url, api_key="x"),
        ]
    )
    direct_ms: list[float] = []
    agent_ms: list[float] = []
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": "Bearer x"}) as client:
        for i in range(requests + requests // 10):
            t0 = time.perf_counter()
            reply = await client.post("/chat/completions", json=payload)
            json.loads(reply.content)
            t1 = time.perf_counter()
            result = await agent.run(QUERY, max_tokens=100)
            t2 = time.perf_counter()
            assert result.draft_accepted and result.model_used == "bench-small", result.reason
            if i >= requests // 10:  # warm-up excluded
                direct_ms.append((t1 - t0) * 1000)
                agent_ms.append((t2 - t1) * 1000)
    await agent.aclose()
    diffs = [a - d for a, d in zip(agent_ms, direct_ms, strict=True)]
    return {
        "requests": requests,
        "direct_median_ms": round(statistics.median(direct_ms), 4),
        "agent_median_ms": round(statistics.median(agent_ms), 4),
        "added_median_ms": round(statistics.median(diffs), 4),
        "added_p90_ms": round(statistics.quantiles(diffs, n=10)[-1], 4),
        "goal_ms": 0.1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--port", type=int, default=18931)
    parser.add_argument("--json", type=Path, default=Path("bench/results/added_latency.json"))
    args = parser.parse_args()
    server, url = serve_in_background(args.port)
    try:
        row = asyncio.run(_measure(url, args.requests))
    finally:
        server.terminate()
    print(f"{'path':<34} {'median ms':>10}")
    print(f"{'direct httpx POST + json':<34} {row['direct_median_ms']:>10}")
    print(f"{'CascadeAgent.run (draft accepted)':<34} {row['agent_median_ms']:>10}")
    print(f"{'added by cascadeflow (median diff)':<34} {row['added_median_ms']:>10}  (p90 {row['added_p90_ms']})")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(row, indent=2) + "\n")


if __name__ == "__main__":
    main()
