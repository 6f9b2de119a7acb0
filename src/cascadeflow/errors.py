"""One exception tree for everything cascadeflow raises.

Vendor and transport errors are mapped into this tree at the provider boundary, so callers catch
``CascadeFlowError`` (or a precise subclass) and never see an empty "success".

    CascadeFlowError
    ├── ConfigError                      invalid configuration (also a ValueError); names the field
    │   └── UnknownModelError            no price / provider / file known for a model name
    ├── ProviderError                    one model endpoint failed (model, provider, status)
    │   ├── RetriableProviderError       worth retrying on the same endpoint
    │   │   ├── RateLimitError           HTTP 429; carries retry_after seconds when the server said
    │   │   ├── ProviderUnavailableError 5xx, connection refused/reset
    │   │   ├── ProviderTimeoutError     the endpoint did not answer in time (connect, first token, total)
    │   │   │   └── DeadlineExceededError  the run's overall deadline passed first; not the endpoint's fault
    │   │   └── StreamInterruptedError   an SSE stream ended before its final event
    │   └── PermanentProviderError       retrying cannot help
    │       ├── AuthenticationError      HTTP 401/403: key missing or wrong
    │       ├── BadRequestError          HTTP 400/404/422: the request or model name is wrong
    │       ├── MalformedResponseError   the body was not the wire format promised (or was empty, or a
    │       │                            redirect); any unexpected type in it counts
    │       ├── CircuitOpenError         the endpoint's circuit breaker is open; not called
    │       └── ModelLoadError           a local model could not be found, fetched or loaded
    │           └── WeightsIntegrityError  assembled weights failed their sha256 check
    ├── AllTiersFailedError              every tier raised; lists each attempt and its cause
    ├── ReplayError                      a replayed prompt or model is not in the recorded data
    ├── BudgetExceededError              a call was refused by a budget (names user, window, spent, limit)
    ├── PolicyStopError                  a governed run's policy stopped it (compliance, safety, time, tools)
    └── RateLimitExceededError           a rate limit of ours refused a call; carries retry_after seconds
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal


class CascadeFlowError(Exception):
    """Base of every error cascadeflow raises on purpose."""


class ConfigError(CascadeFlowError, ValueError):
    """Invalid configuration; raised at construction time, the message names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class UnknownModelError(ConfigError):
    """A model name could not be resolved (no price, no weights, no provider)."""


class ProviderError(CascadeFlowError):
    """A call to one model endpoint failed."""

    retriable: bool = False

    def __init__(
        self,
        message: str,
        *,
        model: str = "",
        provider: str = "",
        status_code: int | None = None,
    ) -> None:
        self.model = model
        self.provider = provider
        self.status_code = status_code
        where = f"{provider}/{model}" if provider or model else ""
        status = f" (HTTP {status_code})" if status_code is not None else ""
        prefix = f"[{where}]{status} " if where or status else ""
        self.detail = message
        super().__init__(f"{prefix}{message}")


class RetriableProviderError(ProviderError):
    """Transient failure: the same request may succeed if sent again later."""

    retriable = True


class RateLimitError(RetriableProviderError):
    """HTTP 429. ``retry_after`` holds the server's requested wait in seconds, if it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)  # type: ignore[arg-type]


class ProviderUnavailableError(RetriableProviderError):
    """5xx answers and connection failures."""


class ProviderTimeoutError(RetriableProviderError):
    """The endpoint did not answer within the configured timeout."""


class DeadlineExceededError(ProviderTimeoutError):
    """The run's overall deadline (``deadline_s`` of ``run``/``stream``) passed before this tier answered.

    Raised for the tier that was cut and for every later tier (not called), so ``AllTiersFailedError`` says
    where the time went. It does not count against the endpoint's circuit breaker.
    """


class StreamInterruptedError(RetriableProviderError):
    """A streamed answer stopped before the server sent its end marker."""


class PermanentProviderError(ProviderError):
    """Retrying the same request on the same endpoint cannot succeed."""


class AuthenticationError(PermanentProviderError):
    """HTTP 401/403: check the API key (argument or environment variable)."""


class BadRequestError(PermanentProviderError):
    """HTTP 400/404/422: the request, parameters or model name were rejected."""


class MalformedResponseError(PermanentProviderError):
    """The endpoint answered, but not in the promised format (or with nothing at all)."""


class CircuitOpenError(PermanentProviderError):
    """The endpoint failed repeatedly; its circuit breaker is open and it was not called."""


class ModelLoadError(PermanentProviderError):
    """A local model could not be located, fetched or loaded."""


class WeightsIntegrityError(ModelLoadError):
    """Assembled model weights do not match their published sha256."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """One failed tier attempt inside an :class:`AllTiersFailedError`."""

    model: str
    error: BaseException

    def __str__(self) -> str:
        return f"{self.model}: {type(self.error).__name__}: {self.error}"


class AllTiersFailedError(CascadeFlowError):
    """Every tier of the cascade failed; ``attempts`` says why, tier by tier."""

    def __init__(self, attempts: Sequence[Attempt]) -> None:
        self.attempts = tuple(attempts)
        lines = "\n".join(f"  - {a}" for a in self.attempts)
        super().__init__(f"all {len(self.attempts)} tier attempt(s) failed:\n{lines}")


class ReplayError(CascadeFlowError):
    """A replayed prompt or model is not present in the recorded benchmark data."""


class BudgetExceededError(CascadeFlowError):
    """A budget refused the call before anything was spent: which user, which window, spent so far, the limit.

    Amounts are exact ``Decimal`` USD, so the message and the fields agree with the ledger to the last digit.
    """

    def __init__(
        self,
        message: str,
        *,
        user_id: str | None = None,
        window: str = "",
        spent: Decimal | None = None,
        limit: Decimal | None = None,
    ) -> None:
        self.user_id = user_id
        self.window = window
        self.spent = spent
        self.limit = limit
        super().__init__(message)


class PolicyStopError(CascadeFlowError):
    """A policy of a governed run (compliance, safety, time budget, tool calls) stopped it in ``enforce`` mode;
    ``policy`` names it and the message says why. Budgets stop with :class:`BudgetExceededError` instead."""

    def __init__(self, message: str, *, policy: str, action: str = "stop") -> None:
        self.policy = policy
        self.action = action
        super().__init__(message)


class StoreUnavailableError(CascadeFlowError):
    """A shared store (the budget ledger in SQLite, Redis or PostgreSQL) could not be read or written: down,
    unreachable, or its write lock not granted within the store's timeout. Nothing was charged or granted by the
    failed call; retry later. ``store`` names the kind (``sqlite``, ``redis``, ``postgres``)."""

    def __init__(self, message: str, *, store: str = "") -> None:
        self.store = store
        super().__init__(message)


class RateLimitExceededError(CascadeFlowError):
    """One of our own rate limits (not the provider's 429) refused the call; retry after ``retry_after`` seconds."""

    def __init__(self, message: str, *, key: str = "", limit: str = "", retry_after: float = 0.0) -> None:
        self.key = key
        self.limit = limit
        self.retry_after = retry_after
        super().__init__(message)
