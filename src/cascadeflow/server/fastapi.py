"""FastAPI pieces for applications that serve their own routes (``uvicorn main:app``) on the gateway's state.

    gateway = Gateway(GatewayConfig.load("gateway.yaml"))
    app = FastAPI()
    app.add_middleware(BudgetMiddleware)             # cascade errors → OpenAI-style 402 / 429 / 400 / 502 / 504
    app.include_router(health_router(gateway))       # /health /ready /live /metrics
    require_key = key_dependency(gateway)            # Depends(require_key): bearer key → KeyEntry (+ rate limit)
    app.mount("/llm", GatewayApp(gateway))           # and, if wanted, the OpenAI-compatible API itself

A route then runs ``gateway.agent(model, key).run(..., user_id=key.id)``: the key's budget is the agents' cost
tracker, so the same key has one budget across your routes and the mounted API. See docs/fastapi.md.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import APIRouter, Request, Response

from cascadeflow.errors import CascadeFlowError
from cascadeflow.server.errors import HttpError, http_error
from cascadeflow.server.gateway import Gateway
from cascadeflow.server.keys import KeyEntry, bearer_key
from cascadeflow.server.metrics import CONTENT_TYPE

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


def key_dependency(gateway: Gateway) -> Callable[[Request], Awaitable[KeyEntry]]:
    """A FastAPI dependency: the request's key (``Authorization: Bearer``, ``api-key`` or ``x-api-key``), counted
    against its rate limit. A missing or unknown key is 401, an exhausted rate limit 429 with Retry-After."""

    async def require_key(request: Request) -> KeyEntry:
        headers = request.headers
        key = gateway.authenticate(bearer_key(headers.get("authorization"),
                                              headers.get("api-key") or headers.get("x-api-key")))
        await gateway.admit(key)
        return key

    return require_key


class BudgetMiddleware:
    """Turns cascadeflow errors raised by a route into OpenAI-style error responses.

    ``BudgetExceededError`` → 402 ``budget_exceeded``; rate limits → 429 with Retry-After; a bad argument
    (``ConfigError``) → 400 naming the field; upstream failures → 502/504 (the table in
    :mod:`cascadeflow.server.errors`). Other exceptions pass through to the framework untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except (HttpError, CascadeFlowError) as exc:
            if started:
                raise
            err = http_error(exc, "")
            body = err.body()
            await send({"type": "http.response.start", "status": err.status, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                *err.headers]})
            await send({"type": "http.response.body", "body": body})


def health_router(gateway: Gateway) -> APIRouter:
    """``/health`` and ``/ready`` (503 while draining or a shared store is down), ``/live``, ``/metrics``."""
    router = APIRouter()

    @router.get("/health")
    @router.get("/ready")
    async def health() -> Response:
        status, body = await gateway.health.report()
        return Response(json.dumps(body), status_code=status, media_type="application/json")

    @router.get("/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(gateway.metrics.render(), media_type=CONTENT_TYPE.decode())

    return router
