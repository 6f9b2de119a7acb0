"""JSON log lines: one object per line on stderr, for log shippers (Loki, CloudWatch, Elastic) to parse.

``cascadeflow serve`` installs :class:`JsonFormatter` on the root logger (and uvicorn's); an application that
mounts the gateway keeps its own logging and just receives the records. The access record of a request carries
its request id, key id (never the key), model, status, time, cost and tokens; message bodies only when the config
says ``logging.bodies: true``.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Final

from cascadeflow.server.context import CURRENT

ACCESS_LOGGER: Final = "cascadeflow.gateway.access"
GATEWAY_LOGGER: Final = "cascadeflow.gateway"
_UVICORN_LOGGERS: Final = ("uvicorn", "uvicorn.error", "uvicorn.access")


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", ...fields}``; ``extra={"fields": {...}}`` adds structured fields, and a
    record logged while a request is answered (a budget warning, a retry) carries that request's ``request_id``."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            data.update(fields)
        context = CURRENT.get()
        if context is not None and "request_id" not in data:  # any record logged while answering a request
            data["request_id"] = context.request_id
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


def configure_logging(level: str) -> None:
    """Route every record (ours, uvicorn's, libraries') through one JSON handler on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # our access record replaces uvicorn's
    # The JSON lines never show caller, thread or process names: skip collecting them for every record (the
    # logging docs' own optimisation; ~a third of a record's cost). The process is ours under `serve`.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


class AccessLog:
    """Writes the one access record per request (when enabled)."""

    def __init__(self, *, enabled: bool, bodies: bool) -> None:
        self.enabled = enabled
        self.bodies = bodies
        self._logger = logging.getLogger(ACCESS_LOGGER)

    def write(self, fields: dict[str, Any]) -> None:
        if self.enabled and self._logger.isEnabledFor(logging.INFO):
            self._logger.info("request", extra={"fields": fields})
