"""The FastAPI pieces: key dependency, budget middleware, health router, and the mounted OpenAI API, one budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from cascadeflow.server import Gateway, GatewayApp, GatewayConfig
from cascadeflow.server.fastapi import BudgetMiddleware, health_router, key_dependency
from cascadeflow.server.keys import KeyEntry

from .conftest import KEY_A, base_config
from .stub_upstream import CONTENT, StubUpstream


def build(upstream: StubUpstream, tmp_path: Path, **more: Any) -> tuple[FastAPI, Gateway]:
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(base_config(upstream, **more)), encoding="utf-8")
    gateway = Gateway(GatewayConfig.load(path))
    app = FastAPI()
    app.add_middleware(BudgetMiddleware)
    app.include_router(health_router(gateway))
    require_key = key_dependency(gateway)

    @app.post("/summarize")
    async def summarize(body: dict[str, str], key: KeyEntry = Depends(require_key)) -> dict[str, str]:  # noqa: B008
        result = await gateway.agent("ok", key).run(body["text"], user_id=key.id, max_tokens=14)
        return {"summary": result.content, "key": key.id}

    app.mount("/llm", GatewayApp(gateway))
    return app, gateway


def test_routes_keys_budget_and_mounted_api(upstream: StubUpstream, tmp_path: Path) -> None:
    app, _ = build(upstream, tmp_path, keys=[{"key": KEY_A, "id": "app-a", "budget": {"total": 0.00001}}])
    auth = {"Authorization": f"Bearer {KEY_A}"}
    with TestClient(app) as client:
        assert client.post("/summarize", json={"text": "hi"}).status_code == 401
        ok = client.post("/summarize", json={"text": "Say hello."}, headers=auth)
        assert ok.status_code == 200 and ok.json() == {"summary": CONTENT, "key": "app-a"}
        mounted = client.post("/llm/v1/chat/completions", headers=auth,
                              json={"model": "ok", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 14})
        assert mounted.status_code in (200, 402)  # the same key, the same budget as the route above
        refused = [client.post("/summarize", json={"text": "Say hello."}, headers=auth) for _ in range(3)][-1]
        assert refused.status_code == 402 and refused.json()["error"]["type"] == "budget_exceeded"
        assert client.get("/health").json() == {"status": "ok"}
        assert client.get("/metrics").text.startswith("# HELP cascadeflow_")
        assert client.get("/llm/v1/models", headers=auth).json()["object"] == "list"


def test_the_guide_example_runs(upstream: StubUpstream, tmp_path: Path, monkeypatch: Any) -> None:
    """docs/fastapi.md's main.py, as written, against a gateway.yaml with the stub upstream."""
    guide = (Path(__file__).resolve().parents[2] / "docs" / "fastapi.md").read_text(encoding="utf-8")
    code = guide.split("```python\n", 1)[1].split("```", 1)[0]
    config = base_config(upstream, keys=[{"key": KEY_A, "id": "guide", "budget": {"daily": 1.0}}])
    config["models"] = [m for m in config["models"] if m["name"] in ("ok", "auto")]
    (tmp_path / "gateway.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "main"}
    exec(compile(code, "docs/fastapi.md", "exec"), namespace)
    with TestClient(namespace["app"]) as client:
        reply = client.post("/ask", json={"question": "Say hello."}, headers={"Authorization": f"Bearer {KEY_A}"})
        assert reply.status_code == 200 and reply.json()["answer"] == CONTENT
        assert client.post("/ask", json={"question": "x"}).status_code == 401
        assert client.get("/ready").status_code == 200
