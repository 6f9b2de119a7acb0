"""Retry a whole run, and answer something sensible when it cannot succeed (the production guide's
``execute_with_retry`` and ``query_with_fallback``).

Each tier already retries its own endpoint and the cascade falls back to the next tier; a run fails only when
every tier did. That is worth retrying only when every cause was transient (:class:`ErrorClassifier`), after a
longer wait than one endpoint's — :class:`~cascadeflow.resilience.retry_config.RetryConfig`'s defaults.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from cascadeflow.production.classify import ErrorClassifier
from cascadeflow.resilience.retry import retry_call
from cascadeflow.resilience.retry_config import RetryConfig

if TYPE_CHECKING:
    from cascadeflow.cascade.result import CascadeResult
    from cascadeflow.cascade_agent import CascadeAgent

LOGGER = "cascadeflow.production"


async def execute_with_retry(
    agent: CascadeAgent,
    query: Any,
    config: RetryConfig | None = None,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: Callable[[], float] = random.random,
    **kwargs: Any,
) -> CascadeResult:
    """``agent.run(query, **kwargs)``, tried up to ``config.max_attempts`` times while the failure is retriable
    (:meth:`ErrorClassifier.is_retriable`); the last error is raised unchanged. ``sleep``/``rng`` are injectable
    so tests never wait."""
    policy = replace((config or RetryConfig()).policy(), retry_on=ErrorClassifier.is_retriable)
    logger = logging.getLogger(LOGGER)

    def on_retry(attempt: int, error: BaseException, delay: float) -> None:
        logger.warning("run attempt %d failed (%s); retrying in %.1fs", attempt, type(error).__name__, delay)

    return await retry_call(lambda: agent.run(query, **kwargs), policy, sleep=sleep, rng=rng, on_retry=on_retry)


async def query_with_fallback(
    agent: CascadeAgent,
    query: Any,
    fallback_response: str = "I'm experiencing technical difficulties.",
    config: RetryConfig | None = None,
    **kwargs: Any,
) -> str:
    """The answer's text, or ``fallback_response`` when the run fails even after retries (logged as an error,
    never swallowed silently). Only cascadeflow's errors fall back: a bug in your code still raises."""
    from cascadeflow.errors import CascadeFlowError

    try:
        result = await execute_with_retry(agent, query, config, **kwargs)
    except CascadeFlowError as exc:
        logging.getLogger(LOGGER).error("query failed, answering with the fallback response: %s", exc)
        return fallback_response
    return result.content
