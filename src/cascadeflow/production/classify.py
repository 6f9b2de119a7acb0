"""Which errors are worth retrying, and which need a person: read from the typed error tree.

cascadeflow's own errors carry the answer in their type (:class:`RetriableProviderError` vs
:class:`PermanentProviderError`, an :class:`AllTiersFailedError` whose every cause was transient, a budget or
policy stop that no retry can change). Foreign exceptions (a framework's, a network library's) fall back to the
production guide's keyword rules over the message, so the classifier can sit in front of any code.
"""

from __future__ import annotations

from typing import ClassVar

from cascadeflow.errors import (
    AllTiersFailedError,
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    CircuitOpenError,
    ConfigError,
    DeadlineExceededError,
    PolicyStopError,
    ProviderError,
    RateLimitExceededError,
    RetriableProviderError,
)


class ErrorClassifier:
    """``is_retriable(error)``: sending the same request again later may succeed. ``should_alert(error)``: a
    person must act (a key, a request or a configuration is wrong), retrying will never fix it."""

    RETRIABLE_ERRORS: ClassVar[tuple[str, ...]] = (
        "timeout", "timed out", "rate_limit", "rate limit", "service_unavailable", "service unavailable",
        "connection_error", "connection reset", "connection refused", "temporarily unavailable",
    )
    """Message keywords of transient failures, for exceptions that are not cascadeflow's."""
    PERMANENT_ERRORS: ClassVar[tuple[str, ...]] = (
        "invalid_api_key", "invalid api key", "unauthorized", "invalid_request", "permission denied",
    )
    """Message keywords of failures a person must fix, for exceptions that are not cascadeflow's."""

    @classmethod
    def is_retriable(cls, error: BaseException) -> bool:
        if isinstance(error, AllTiersFailedError):
            # Retry the run only when every tier failed transiently (and not because the run ran out of time).
            return bool(error.attempts) and all(
                cls.is_retriable(a.error) and not isinstance(a.error, DeadlineExceededError) for a in error.attempts
            )
        if isinstance(error, RateLimitExceededError | RetriableProviderError):
            return True
        if isinstance(error, CircuitOpenError):
            return True  # the breaker reopens for a trial after its cool-down
        if isinstance(error, ProviderError | ConfigError | BudgetExceededError | PolicyStopError):
            return False
        text = str(error).lower()
        return isinstance(error, TimeoutError | ConnectionError) or any(k in text for k in cls.RETRIABLE_ERRORS)

    @classmethod
    def should_alert(cls, error: BaseException) -> bool:
        if isinstance(error, AllTiersFailedError):
            return any(cls.should_alert(a.error) for a in error.attempts)
        if isinstance(error, AuthenticationError | BadRequestError | ConfigError):
            return True
        if isinstance(error, ProviderError | BudgetExceededError | PolicyStopError | RateLimitExceededError):
            return False  # transient, or a governed stop working as configured
        text = str(error).lower()
        return any(k in text for k in cls.PERMANENT_ERRORS)
