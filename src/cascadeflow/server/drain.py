"""Graceful drain on SIGTERM, installed by the app itself so it works under any uvicorn process (one or many).

The first SIGTERM marks the gateway as draining (``/health`` answers 503, responses say ``connection: close``)
and hands the signal on to the server's own handler only after ``drain_grace_s``: until then requests are still
served, so whatever routes traffic here (a Kubernetes Service, a load balancer) has time to notice. The server then
closes its listener and waits for in-flight requests and streams. A second SIGTERM, or SIGINT, goes through at once.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

Handler = Callable[[int, FrameType | None], Any]


def install_drain(loop: asyncio.AbstractEventLoop, grace_s: float, start_draining: Callable[[], None]) -> bool:
    """Wrap the current SIGTERM handler (the server's); False when that cannot be done here."""
    if threading.current_thread() is not threading.main_thread():
        return False
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return False
    server_handler: Handler = previous
    state = {"draining": False}

    def on_sigterm(sig: int, frame: FrameType | None) -> None:
        if state["draining"] or grace_s <= 0:
            server_handler(sig, frame)
            return
        state["draining"] = True
        start_draining()
        loop.call_soon_threadsafe(loop.call_later, grace_s, server_handler, sig, None)

    signal.signal(signal.SIGTERM, on_sigterm)
    return True
