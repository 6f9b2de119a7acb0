"""``create_app(config)``: the gateway as a plain ASGI application (no web framework on the request path).

Routes: ``POST /v1/chat/completions`` (JSON or SSE), ``POST /v1/messages`` (Anthropic clients), ``GET /v1/models``,
``GET /health`` (= ``/ready``),
``GET /live``, ``GET /metrics``. Mount it in another ASGI app (``app.mount("/llm", create_app(cfg))``) or serve it
with ``cascadeflow serve``. Every response carries ``x-request-id`` (the client's, when it sent a sane one); chat
answers carry ``x-cascadeflow-model``, ``x-cascadeflow-cost`` and ``x-cascadeflow-draft-accepted``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any, Final

from cascadeflow.server.chat_request import EXTRA_BODY_KEY, ChatCall, decode_body, parse_chat
from cascadeflow.server.chat_response import completion_body, cost_text
from cascadeflow.server.config import GatewayConfig
from cascadeflow.server.context import CURRENT, RequestContext
from cascadeflow.server.errors import HttpError, bad_request, http_error
from cascadeflow.server.gateway import Gateway, check_config
from cascadeflow.server.keys import KeyEntry, bearer_key
from cascadeflow.server.metrics import CONTENT_TYPE

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON: Final = (b"content-type", b"application/json")
CHAT_PATH: Final = "/v1/chat/completions"
MESSAGES_PATH: Final = "/v1/messages"
POST_PATHS: Final = frozenset({CHAT_PATH, MESSAGES_PATH})
_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_ID_BYTES: Final = 12
logger = logging.getLogger("cascadeflow.gateway")


def new_request_id() -> str:
    return os.urandom(_ID_BYTES).hex()


def route_path(scope: Scope) -> str:
    """The path below the mount point (``root_path``), as Starlette's mounts pass it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root):] or "/"
    return path


def header_value(value: str) -> bytes:
    return value.encode("ascii", "replace")


class Exchange:
    """One HTTP request/response: headers of interest, the request id, and how it ended (for the access log)."""

    __slots__ = ("anthropic", "api_key", "authorization", "fields", "headers", "receive", "request_id", "send",
                 "started", "status")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.receive, self.send = receive, send
        self.authorization: str | None = None
        self.api_key: str | None = None
        rid = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                self.authorization = value.decode("latin-1")
            elif name in (b"api-key", b"x-api-key"):
                self.api_key = value.decode("latin-1")
            elif name == b"x-request-id":
                rid = value.decode("latin-1")
        self.request_id = rid if rid is not None and _REQUEST_ID.fullmatch(rid) else new_request_id()
        self.headers: list[tuple[bytes, bytes]] = [(b"x-request-id", self.request_id.encode())]
        self.started = time.perf_counter()
        self.status = 0
        self.fields: dict[str, Any] = {}
        self.anthropic = False
        """Answer in Anthropic's shapes (``/v1/messages``)."""

    def error_body(self, err: HttpError) -> bytes:
        if self.anthropic:
            from cascadeflow.server.messages_api import error_body

            return error_body(err)
        return err.body()

    async def respond(self, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None,
                      content_type: tuple[bytes, bytes] = JSON) -> None:
        self.status = status
        all_headers = [content_type, (b"content-length", str(len(body)).encode()), *self.headers, *(headers or ())]
        await self.send({"type": "http.response.start", "status": status, "headers": all_headers})
        await self.send({"type": "http.response.body", "body": body})

    async def error(self, err: HttpError) -> None:
        self.fields["error"] = err.code or err.type
        await self.respond(err.status, self.error_body(err), list(err.headers))

    async def body(self, limit: int) -> bytes:
        parts: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise bad_request("the client went away before sending the whole body", code="incomplete_body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise HttpError(413, "invalid_request_error", f"the body is larger than {limit} bytes",
                                code="body_too_large")
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)


class GatewayApp:
    """The ASGI callable. ``gateway`` holds the state; this class only speaks HTTP."""

    def __init__(self, gateway: Gateway, *, handle_sigterm: bool = False) -> None:
        self.gateway = gateway
        self.handle_sigterm = handle_sigterm
        self._get: dict[str, Callable[[Exchange], Awaitable[None]]] = {
            "/v1/models": self._models, "/health": self._health, "/ready": self._health, "/live": self._live,
            "/metrics": self._metrics,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.handle_sigterm:
                    from cascadeflow.server.drain import install_drain

                    install_drain(asyncio.get_running_loop(), self.gateway.settings.drain_grace_s,
                                  self.gateway.start_draining)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.gateway.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        ex = Exchange(scope, receive, send)
        gw = self.gateway
        path = route_path(scope)
        method = scope["method"]
        if gw.health.draining:
            ex.headers.append((b"connection", b"close"))  # clients reconnect to another replica
        gw.started()
        route, model = "other", ""
        try:
            if path in POST_PATHS and method == "POST":
                route = "chat" if path == CHAT_PATH else "messages"
                ex.anthropic = path == MESSAGES_PATH
                model = await self._chat(ex)
            elif method == "GET" and path in self._get:
                route = path.strip("/").replace("/", "_")
                await self._get[path](ex)
            elif path in POST_PATHS or path in self._get:
                await ex.error(HttpError(405, "invalid_request_error", f"{method} is not allowed on {path}",
                                         code="method_not_allowed", headers=((b"allow", b"POST" if path in POST_PATHS
                                                                               else b"GET"),)))
            else:
                await ex.error(HttpError(404, "invalid_request_error", f"no route {path[:200]!r}", code="not_found"))
        except Exception as exc:  # the last line of defence: map, log, and answer if nothing was sent yet
            err = http_error(exc, ex.request_id)
            if err.status >= 500 and err.code == "internal_error":
                logger.exception("unexpected error", extra={"fields": {"request_id": ex.request_id}})
            if ex.status == 0:
                await ex.error(err)
        finally:
            gw.finished()
            self._account(ex, route, model or str(ex.fields.get("model", "")), method, path)

    def _account(self, ex: Exchange, route: str, model: str, method: str, path: str) -> None:
        seconds = time.perf_counter() - ex.started
        metrics = self.gateway.metrics
        metrics.requests.inc((route, model, str(ex.status)))
        metrics.duration.observe(seconds, (route, model))
        if route in ("chat", "messages") or ex.status >= 400:
            self.gateway.access.write({"request_id": ex.request_id, "method": method, "path": path[:200],
                                       "status": ex.status, "duration_ms": round(seconds * 1000, 3), **ex.fields})

    # ------------------------------------------------------------------ chat
    async def _chat(self, ex: Exchange) -> str:
        gw = self.gateway
        key = gw.authenticate(bearer_key(ex.authorization, ex.api_key))
        ex.fields["key"] = key.id
        await gw.admit(key)
        body = decode_body(await ex.body(gw.settings.max_body_bytes))
        if ex.anthropic:
            from cascadeflow.server.messages_api import parse_messages

            call = parse_messages(body)
        else:
            call = parse_chat(body)
        agent = gw.agent(call.model, key)
        ex.fields["model"] = call.model
        if gw.access.bodies:
            ex.fields["messages"] = call.messages
        ctx = RequestContext(ex.request_id, key.id, call.model)
        token = CURRENT.set(ctx)
        span = None
        if gw.tracing is not None:
            span = ctx.span = gw.tracing.start(call.model)
        try:
            if call.stream:
                from cascadeflow.server.chat_stream import stream_chat

                await stream_chat(gw, agent, call, key, ex, self._run_kwargs(call, key))
            else:
                await self._complete(ex, agent, call, key, span)
        finally:
            CURRENT.reset(token)
        return call.model

    @staticmethod
    def _run_kwargs(call: ChatCall, key: KeyEntry) -> dict[str, Any]:
        kwargs = dict(call.run_kwargs, user_id=key.id)
        if call.extra:
            kwargs["metadata"] = {EXTRA_BODY_KEY: call.extra}
        return kwargs

    async def _complete(self, ex: Exchange, agent: Any, call: ChatCall, key: KeyEntry, span: Any) -> None:
        gw = self.gateway
        result = error = None
        try:
            if span is not None and gw.tracing is not None:
                with gw.tracing.use(span):
                    result = await agent.run(call.messages, **self._run_kwargs(call, key))
            else:
                result = await agent.run(call.messages, **self._run_kwargs(call, key))
        except Exception as exc:
            error = exc
            gw.refused(exc, key)
            raise
        finally:
            if span is not None and gw.tracing is not None:
                ctx = CURRENT.get()
                gw.tracing.finish(span, result, ctx.provider if ctx else "", error)
        cost = cost_text(result.cost)
        ex.fields.update(model_used=result.model_used, cost=cost, draft_accepted=result.draft_accepted,
                         input_tokens=result.usage.input_tokens, output_tokens=result.usage.output_tokens)
        if gw.access.bodies:
            ex.fields["content"] = result.content
        if ex.anthropic:
            from cascadeflow.server.messages_api import message_body

            payload = message_body(result, f"msg_{ex.request_id}")
        else:
            payload = completion_body(result, f"chatcmpl-{ex.request_id}")
        await ex.respond(200, payload, [
            (b"x-cascadeflow-model", header_value(result.model_used)), (b"x-cascadeflow-cost", cost.encode()),
            (b"x-cascadeflow-draft-accepted", b"true" if result.draft_accepted else b"false"),
        ])

    # ------------------------------------------------------------------ the rest
    async def _models(self, ex: Exchange) -> None:
        self.gateway.authenticate(bearer_key(ex.authorization, ex.api_key))
        await ex.respond(200, json.dumps(self.gateway.models_list()).encode())

    async def _health(self, ex: Exchange) -> None:
        status, body = await self.gateway.health.report()
        await ex.respond(status, json.dumps(body).encode())

    async def _live(self, ex: Exchange) -> None:
        await ex.respond(200, b'{"status":"ok"}')

    async def _metrics(self, ex: Exchange) -> None:
        await ex.respond(200, self.gateway.metrics.render(), content_type=(b"content-type", CONTENT_TYPE))


def create_app(config: GatewayConfig | str | Path, *, handle_sigterm: bool = False) -> GatewayApp:
    """The gateway as an ASGI app, from a :class:`GatewayConfig` or the path of its YAML file.

    ``handle_sigterm=True`` (what ``cascadeflow serve`` uses) makes the app drain on SIGTERM before the server
    stops (see :mod:`cascadeflow.server.drain`); an application that mounts the gateway keeps its own signals.
    """
    if isinstance(config, str | Path):
        config = GatewayConfig.load(config)
    return GatewayApp(Gateway(check_config(config)), handle_sigterm=handle_sigterm)

