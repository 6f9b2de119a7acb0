"""Streamed chat completions (SSE) from ``agent.stream``: live where the text is final, held where it is a draft.

An OpenAI client cannot take back text it has shown, so a tier whose draft may still be rejected is held until
the cascade accepts it (then sent at once); text of the tier whose answer is final — the only tier of a
passed-through model, or the tier a cascade escalated to — is forwarded chunk by chunk as it arrives.

The response starts (status 200, headers) only with the first text to send, so a refusal or failure before that
(budget, rate limit, every tier down) is an ordinary error response with its status. A failure after that is an
``error`` event, then the stream ends. A client that disconnects cancels the run: the upstream call is closed
(the provider's connection is dropped) and the run's hooks settle its reservation.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

from cascadeflow.cascade.result import CascadeResult
from cascadeflow.cascade.streaming import Escalation, FinalResult, TextDelta
from cascadeflow.server.chat_response import ChunkWriter, cost_text
from cascadeflow.server.context import CURRENT
from cascadeflow.server.errors import http_error

if TYPE_CHECKING:
    from cascadeflow.agent import CascadeAgent
    from cascadeflow.server.app import Exchange
    from cascadeflow.server.chat_request import ChatCall
    from cascadeflow.server.gateway import Gateway
    from cascadeflow.server.keys import KeyEntry
    from cascadeflow.server.messages_api import MessageEventWriter

SSE_HEADERS = ((b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"),
               (b"x-accel-buffering", b"no"))
"""``x-accel-buffering: no`` keeps nginx-style proxies from buffering the stream into one late blob."""


class _Pump:
    """Moves stream events to the client; remembers whether the response has started."""

    def __init__(self, gw: Gateway, ex: Exchange, call: ChatCall) -> None:
        self.gw, self.ex, self.call = gw, ex, call
        self.writer: ChunkWriter | MessageEventWriter
        if ex.anthropic:
            from cascadeflow.server.messages_api import MessageEventWriter

            self.writer = MessageEventWriter(f"msg_{ex.request_id}", call.model)
        else:
            self.writer = ChunkWriter(f"chatcmpl-{ex.request_id}", call.model)
        self.started = False
        self.result: CascadeResult | None = None

    async def _start(self) -> None:
        self.started = True
        self.ex.status = 200
        self.gw.metrics.first_content.observe(time.perf_counter() - self.ex.started, (self.call.model,))
        await self.ex.send({"type": "http.response.start", "status": 200,
                            "headers": [*SSE_HEADERS, *self.ex.headers]})

    async def _write(self, data: bytes, more: bool = True) -> None:
        if not self.started:
            await self._start()
        await self.ex.send({"type": "http.response.body", "body": data, "more_body": more})

    async def run(self, agent: CascadeAgent, kwargs: dict[str, Any]) -> None:
        held: list[str] = []
        events = agent.stream(self.call.messages, **kwargs)
        async for event in events:
            if isinstance(event, TextDelta):
                if event.draft:
                    held.append(event.text)
                elif event.text:
                    await self._write(self.writer.text(event.text))
            elif isinstance(event, Escalation):
                held.clear()
            elif isinstance(event, FinalResult):
                self.result = event.result
                if held:
                    await self._write(self.writer.text("".join(held)))
                await self._write(self.writer.end(event.result, self.call.include_usage), more=False)
                return


async def _watch_disconnect(ex: Exchange) -> None:
    while (await ex.receive())["type"] != "http.disconnect":
        pass


async def stream_chat(gw: Gateway, agent: CascadeAgent, call: ChatCall, key: KeyEntry, ex: Exchange,
                      kwargs: dict[str, Any]) -> None:
    pump = _Pump(gw, ex, call)
    ctx = CURRENT.get()
    span = ctx.span if ctx is not None else None
    work = asyncio.ensure_future(_traced(gw, pump, agent, kwargs, span))
    watcher = asyncio.ensure_future(_watch_disconnect(ex))
    error: BaseException | None = None
    try:
        await asyncio.wait((work, watcher), return_when=asyncio.FIRST_COMPLETED)
        if not work.done():  # the client went away: stop the run (and with it the upstream call)
            work.cancel()
            ex.fields["disconnected"] = True
            ex.status = ex.status or 499
        with contextlib.suppress(asyncio.CancelledError):
            await work
    except Exception as exc:
        error = exc
        gw.refused(exc, key)
        if not pump.started:
            raise
        err = http_error(exc, ex.request_id)
        ex.fields["error"] = err.code or err.type
        await ex.send({"type": "http.response.body", "body": pump.writer.error(ex.error_body(err)),
                       "more_body": False})
    finally:
        watcher.cancel()
        if span is not None and gw.tracing is not None:
            gw.tracing.finish(span, pump.result, ctx.provider if ctx else "", error)
    if pump.result is not None:
        result = pump.result
        ex.fields.update(model_used=result.model_used, cost=cost_text(result.cost), stream=True,
                         draft_accepted=result.draft_accepted, input_tokens=result.usage.input_tokens,
                         output_tokens=result.usage.output_tokens)


async def _traced(gw: Gateway, pump: _Pump, agent: CascadeAgent, kwargs: dict[str, Any], span: Any) -> None:
    if span is not None and gw.tracing is not None:
        with gw.tracing.use(span):
            await pump.run(agent, kwargs)
    else:
        await pump.run(agent, kwargs)
