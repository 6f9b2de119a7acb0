"""The request a cascade run belongs to, for the run hooks (metrics, span events) that see its calls.

The engine calls hooks in the request's own task, so a context variable set by the handler reaches them without
threading anything through the agent; concurrent requests never see each other's context.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class RequestContext:
    request_id: str
    key_id: str
    model: str
    """The exposed model name the client asked for."""
    span: Any = None
    """The request's OpenTelemetry span when tracing is on."""
    provider: str = ""
    """The provider of the last tier called (``gen_ai.provider.name``)."""


CURRENT: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("cascadeflow_gateway_request",
                                                                                 default=None)
