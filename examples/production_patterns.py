"""The production guide's patterns over the resilience every tier already has.

    python examples/production_patterns.py
    # OPENAI_BASE_URL=http://127.0.0.1:8089/v1 OPENAI_API_KEY=dummy python examples/production_patterns.py

Retries per tier and a circuit breaker per endpoint are built in; this shows the public knobs and the helpers:
whole-run retries, graceful degradation, error classification, a breaker around your own calls, health from
call records, and a health check for a readiness probe.
"""

from __future__ import annotations

import asyncio
import logging

from cascadeflow import CascadeAgent, ModelConfig
from cascadeflow.production import (
    CircuitBreaker,
    ErrorClassifier,
    HealthMonitor,
    RetryConfig,
    execute_with_retry,
    health_check,
    query_with_fallback,
)
from cascadeflow.resilience import ResilienceLayer

logging.basicConfig(level=logging.WARNING, format="%(asctime)s - %(name)s - %(levelname)s - %(message)s")
logger = logging.getLogger(__name__)


async def main() -> None:
    monitor = HealthMonitor(window_size=100)  # reads every call's StepRecord as a run hook
    agent = CascadeAgent(
        models=[
            ModelConfig(name="gpt-4o-mini", provider="openai", cost=0.000375),
            ModelConfig(name="gpt-4o", provider="openai", cost=0.00625),
        ],
        # per-tier retries: the guide's backoff shape, shorter than a whole run's (the next tier is a fallback)
        resilience=ResilienceLayer(retry=RetryConfig(max_attempts=2, initial_delay=0.5, max_delay=8.0)),
        hooks=[monitor],
    )
    async with agent:
        # 1. Retry a whole run only when every tier failed transiently.
        result = await execute_with_retry(agent, "What is the capital of France?",
                                          RetryConfig(max_attempts=3, initial_delay=1.0, max_delay=60.0,
                                                      exponential_base=2.0), max_tokens=60)
        print(f"model_used={result.model_used} draft_accepted={result.draft_accepted} cost=${result.total_cost:.6f}")

        # 2. Graceful degradation: an answer, or the fallback text.
        text = await query_with_fallback(agent, "Name a primary color.",
                                         fallback_response="I'm experiencing technical difficulties.", max_tokens=30)
        print(f"fallback-protected answer: {text.strip()[:80]!r}")

        # 3. A circuit breaker around any async call (here the agent itself).
        breaker = CircuitBreaker(failure_threshold=5, recovery_timeout=60.0)
        try:
            guarded = await breaker.call(agent.run, "Say hello.", max_tokens=20)
            print(f"breaker state={breaker.state} model_used={guarded.model_used}")
        except Exception as exc:
            logger.error("request blocked or failed: %s (retriable=%s, alert=%s)", exc,
                         ErrorClassifier.is_retriable(exc), ErrorClassifier.should_alert(exc))

        # 4. Health: a tiny real query, and the monitor's rolling view of every call so far.
        print("health_check:", await health_check(agent))
        health = monitor.get_health()
        print(f"monitor status={health['status']} ({health['reason']}) metrics={health['metrics']}")


if __name__ == "__main__":
    asyncio.run(main())
