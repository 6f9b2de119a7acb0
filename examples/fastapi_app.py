"""Embedding a cascade in your own FastAPI app: one agent per process, a chat endpoint, health endpoints.

    pip install "cascadeflow[all]" fastapi uvicorn
    uvicorn examples.fastapi_app:app --port 8000         # or: python examples/fastapi_app.py --self-test

(To expose an OpenAI-compatible API instead, run the gateway: ``cascadeflow serve``.)
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from cascadeflow import CascadeAgent, CascadeFlowError, ModelConfig
from cascadeflow.production import ErrorClassifier, HealthMonitor, health_check

monitor = HealthMonitor(window_size=100)
agent = CascadeAgent(
    models=[ModelConfig(name="gpt-4o-mini", provider="openai", cost=0.000375),
            ModelConfig(name="gpt-4o", provider="openai", cost=0.00625)],
    hooks=[monitor],
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await agent.aclose()  # close the HTTP connections on shutdown


app = FastAPI(title="cascadeflow example", lifespan=lifespan)


class ChatRequest(BaseModel):
    query: str
    max_tokens: int = 200
    user_id: str | None = None


@app.post("/chat")
async def chat(body: ChatRequest) -> dict[str, Any]:
    try:
        result = await agent.run(body.query, max_tokens=body.max_tokens, user_id=body.user_id)
    except CascadeFlowError as exc:
        status = 503 if ErrorClassifier.is_retriable(exc) else 502
        raise HTTPException(status_code=status, detail=type(exc).__name__) from exc
    return {"content": result.content, "model_used": result.model_used, "draft_accepted": result.draft_accepted,
            "cost": result.total_cost, "reason": result.reason}


@app.get("/health")
async def health() -> dict[str, Any]:
    """Liveness/readiness: the rolling health of recent calls (no model call)."""
    return monitor.get_health()


@app.get("/health/deep")
async def deep_health() -> dict[str, Any]:
    """One tiny real query through the cascade."""
    return await health_check(agent)


def self_test() -> None:
    """Call the app in-process (no server, no port): what CI runs."""
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        reply = client.post("/chat", json={"query": "What color is the sky?", "max_tokens": 30}).json()
        print(f"model_used={reply['model_used']} draft_accepted={reply['draft_accepted']} cost=${reply['cost']:.6f}")
        print("deep health:", client.get("/health/deep").json()["status"])
        print("health:", client.get("/health").json()["status"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--self-test", action="store_true", help="exercise the endpoints in-process and exit")
    if parser.parse_args().self_test:
        self_test()
    else:
        import uvicorn

        uvicorn.run(app, port=8000)
