"""Scale-out: two gateway processes sharing one Redis (rate limits) and one PostgreSQL (budgets) hold one key's
limit together — requests alternate between them and the key gets exactly what one gateway would give it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cascadeflow.budget import CostTracker

from .conftest import model
from .processes import GatewayProcess
from .stub_upstream import StubUpstream

RPM = 6
BUDGET_USD = 0.00003
MESSAGES = [{"role": "user", "content": "Say hello."}]


def drop_prefix(url: str, prefix: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("records", "holds", "buckets"):
            conn.execute(f"DROP TABLE IF EXISTS {prefix}{table}")
        conn.execute(f"DROP FUNCTION IF EXISTS {prefix}reserve")


@pytest.fixture
def shared(redis_url: str, postgres_url: str, upstream: StubUpstream, tmp_path: Path) -> Iterator[dict[str, Any]]:
    tag = uuid.uuid4().hex[:8]
    prefix = f"gw_{tag}_"
    sep = "&" if "?" in postgres_url else "?"
    config = {
        "models": [model("ok", upstream)],
        "keys": [{"key": "sk-rate", "id": f"rate-{tag}", "rpm": RPM},
                 {"key": "sk-budget", "id": f"budget-{tag}", "budget": {"total": BUDGET_USD}},
                 {"key": "sk-alone", "id": f"alone-{tag}", "budget": {"total": BUDGET_USD}}],
        "store": f"{postgres_url}{sep}prefix={prefix}",
        "rate_limit_store": redis_url,
    }
    gateways = [GatewayProcess(config, tmp_path / f"gw{i}.yaml") for i in range(2)]
    try:
        for gw in gateways:
            gw.wait_ready()
        yield {"config": config, "gateways": gateways, "tag": tag}
    finally:
        for gw in gateways:
            gw.stop()
        drop_prefix(postgres_url, prefix)


def call(gw: GatewayProcess, key: str) -> int:
    reply = httpx.post(f"{gw.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                       json={"model": "ok", "messages": MESSAGES, "max_tokens": 10}, timeout=15)
    return reply.status_code


def test_two_gateways_share_rate_limit_and_budget(shared: dict[str, Any]) -> None:
    one, two = shared["gateways"]
    statuses = [call((one, two)[i % 2], "sk-rate") for i in range(2 * RPM)]
    assert statuses.count(200) == RPM and statuses.count(429) == RPM
    assert {call(one, "sk-rate"), call(two, "sk-rate")} == {429}

    alone: list[int] = []
    while not alone or alone[-1] == 200:  # how many calls the budget pays for through one gateway
        alone.append(call(one, "sk-alone"))
        assert len(alone) < 100
    together: list[int] = []
    while not together or together[-1] == 200:
        together.append(call((one, two)[len(together) % 2], "sk-budget"))
        assert len(together) < 100
    assert together.count(200) == alone.count(200) >= 2  # not twice as many: the ledger is one
    assert together[-1] == 402 and {call(one, "sk-budget"), call(two, "sk-budget")} == {402}
    tracker = CostTracker(store=shared["config"]["store"])
    assert tracker.spent(f"budget-{shared['tag']}", "total") <= tracker.spent(f"alone-{shared['tag']}", "total")
    assert float(tracker.spent(f"budget-{shared['tag']}", "total")) <= BUDGET_USD
