"""cascadeflow's exception tree → HTTP status and an OpenAI-style error body, in one table.

    400 invalid_request_error   bad JSON, a wrong field (``param`` names it), upstream 400/404/422
    401 authentication_error    missing or unknown key
    402 budget_exceeded         the key's budget refused the call (not retried by OpenAI clients)
    403 permission_error        the key may not use this model
    404 invalid_request_error   unknown model (code model_not_found) or route
    413 invalid_request_error   body larger than server.max_body_bytes
    429 rate_limit_error        the key's rate limit (Retry-After), or every tier was rate-limited upstream
    502 upstream_error          upstream down: 5xx, refused/reset connection, garbage body, open circuit
    503 unavailable             draining (SIGTERM), or a shared store (budget ledger) is down: code
                                store_unavailable, Retry-After
    504 upstream_timeout        every tier timed out

A run that fails on several tiers for different reasons is a 502. Anything not in the tree is a bug: 500, logged
with its traceback under the request id, the body saying only that.
"""

from __future__ import annotations

import json
import math
from typing import Final

from cascadeflow.errors import (
    AllTiersFailedError,
    BadRequestError,
    BudgetExceededError,
    CascadeFlowError,
    ConfigError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    RateLimitExceededError,
    StoreUnavailableError,
)

MIN_RETRY_AFTER_S: Final = 1
"""Retry-After is whole seconds (RFC 9110); a sub-second wait rounds up to 1 so clients never spin."""


class HttpError(Exception):
    """An error response: status, OpenAI's ``type``/``code``/``param``, message and extra headers."""

    def __init__(self, status: int, type: str, message: str, *, code: str | None = None, param: str | None = None,
                 headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        self.status = status
        self.type = type
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers
        super().__init__(message)

    def body(self) -> bytes:
        err = {"message": self.message, "type": self.type, "param": self.param, "code": self.code}
        return json.dumps({"error": err}).encode()

    def __str__(self) -> str:
        return f"{self.status} {self.type}: {self.message}"


def retry_after_header(seconds: float | None) -> tuple[tuple[bytes, bytes], ...]:
    if seconds is None or not math.isfinite(seconds):
        return ()
    return ((b"retry-after", str(max(MIN_RETRY_AFTER_S, math.ceil(seconds))).encode()),)


def bad_request(message: str, param: str | None = None, code: str | None = None) -> HttpError:
    return HttpError(400, "invalid_request_error", message, code=code, param=param)


def unauthorized() -> HttpError:
    return HttpError(401, "authentication_error", "invalid or missing API key (Authorization: Bearer <key>)",
                     code="invalid_api_key", headers=((b"www-authenticate", b"Bearer"),))


def model_not_found(model: str) -> HttpError:
    return HttpError(404, "invalid_request_error", f"the model {model[:200]!r} does not exist on this gateway",
                     code="model_not_found", param="model")


def forbidden_model(model: str) -> HttpError:
    return HttpError(403, "permission_error", f"this key may not use the model {model[:200]!r}",
                     code="model_not_allowed", param="model")


def draining() -> HttpError:
    return HttpError(503, "unavailable", "the gateway is shutting down; retry on another replica",
                     code="draining", headers=retry_after_header(1))


def internal(request_id: str) -> HttpError:
    return HttpError(500, "internal_error", f"internal error (request id {request_id})", code="internal_error")


def _upstream(exc: ProviderError) -> HttpError:
    if isinstance(exc, ProviderTimeoutError):
        return HttpError(504, "upstream_timeout", str(exc), code="upstream_timeout")
    if isinstance(exc, RateLimitError):
        return HttpError(429, "rate_limit_error", str(exc), code="upstream_rate_limited",
                         headers=retry_after_header(exc.retry_after))
    if isinstance(exc, BadRequestError):
        return HttpError(400, "invalid_request_error", str(exc), code="upstream_rejected")
    return HttpError(502, "upstream_error", str(exc), code="upstream_unavailable")


def _all_failed(exc: AllTiersFailedError) -> HttpError:
    mapped = [_upstream(a.error) if isinstance(a.error, ProviderError) else None for a in exc.attempts]
    message = str(exc)
    if mapped and all(m is not None for m in mapped):
        statuses = {m.status for m in mapped if m is not None}
        codes = {m.code for m in mapped if m is not None}
        if len(statuses) == 1 and len(codes) == 1:
            last = mapped[-1]
            assert last is not None
            return HttpError(last.status, last.type, message, code=last.code, headers=last.headers)
    return HttpError(502, "upstream_error", message, code="upstream_unavailable")


def http_error(exc: BaseException, request_id: str) -> HttpError:
    """The response for an exception raised while answering a request."""
    if isinstance(exc, HttpError):
        return exc
    if isinstance(exc, BudgetExceededError):
        return HttpError(402, "budget_exceeded", str(exc), code="budget_exceeded")
    if isinstance(exc, RateLimitExceededError):
        return HttpError(429, "rate_limit_error", str(exc), code="rate_limit_exceeded",
                         headers=retry_after_header(exc.retry_after))
    if isinstance(exc, ConfigError):
        return bad_request(str(exc), param=exc.field)
    if isinstance(exc, StoreUnavailableError):
        return HttpError(503, "unavailable", str(exc), code="store_unavailable",
                         headers=retry_after_header(MIN_RETRY_AFTER_S))
    if isinstance(exc, AllTiersFailedError):
        return _all_failed(exc)
    if isinstance(exc, ProviderError):
        return _upstream(exc)
    if isinstance(exc, CascadeFlowError):
        return HttpError(502, "upstream_error", str(exc), code="upstream_unavailable")
    return internal(request_id)
