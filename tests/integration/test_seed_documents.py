"""The seed documents' code (../shared/seeds/: quickstart, production guide, article, v0.2.0 plan) as users copy
it, against a real llama.cpp server standing in for every vendor (SmolLM2 answers under any model name).

Only the environment is set (each vendor's base URL variable points at the server, keys are dummies). Where a
document defines a class in user code (the production guide's RetryConfig, CircuitBreaker, HealthMonitor, ...)
the package now ships that class under the same name, and the document's *usage* lines run against ours. Stand-ins
only where a snippet leaves a name undefined (``agent``, ``query``, ``your_queries``, ``user_id``,
``get_user_from_my_database``). Deliberate differences are in docs/compatibility.md and asserted here as such.
The rollout guide is tests/integration/test_rollout_guide.py; the plan's cost-control callback with a
single-model agent is also in tests/budget/test_agent_wiring.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import cascadeflow
from cascadeflow import CascadeAgent, ModelConfig, QualityConfig

pytestmark = pytest.mark.llama_server
logger = logging.getLogger(__name__)
query = "What color is the sky on a clear day? Answer in one word."
VENDOR_URLS = ("OPENAI_BASE_URL", "GROQ_BASE_URL", "GEMINI_BASE_URL")
VENDOR_KEYS = ("OPENAI_API_KEY", "GROQ_API_KEY", "GOOGLE_API_KEY")


@pytest.fixture(autouse=True)
def vendors(llama_server_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in VENDOR_URLS:
        monkeypatch.setenv(name, llama_server_url)
    for name in VENDOR_KEYS:
        monkeypatch.setenv(name, "dummy")
    cascadeflow.reset()
    yield
    cascadeflow.reset()


@pytest.fixture
async def agent() -> AsyncIterator[CascadeAgent]:
    built = CascadeAgent(models=[
        ModelConfig("gpt-4o-mini", "openai", cost=0.000375),
        ModelConfig("gpt-4o", "openai", cost=0.00625),
    ])
    yield built
    await built.aclose()


# ----------------------------------------------------------------------------------------------- quickstart
async def test_quickstart_first_cascade_and_configuration_options(capsys: pytest.CaptureFixture[str]) -> None:
    async def main() -> None:
        agent = CascadeAgent(models=[
            ModelConfig(
                name="gpt-4o-mini",
                provider="openai",
                cost=0.000375,
            ),
            ModelConfig(
                name="gpt-4o",
                provider="openai",
                cost=0.00625,
            ),
        ])
        result = await agent.run("What color is the sky?")
        print(f"Response: {result.content}")
        print(f"Model used: {result.model_used}")
        print(f"Cost: ${result.total_cost:.6f}")
        print(f"Draft accepted: {result.draft_accepted}")

    await main()
    out = capsys.readouterr().out
    assert "Model used: gpt-4o" in out and "Draft accepted:" in out

    tier1 = ModelConfig(name="gpt-4o-mini", provider="openai", cost=0.000375, speed_ms=500, supports_tools=True)
    tier2 = ModelConfig(name="gpt-4o", provider="openai", cost=0.00625)
    agent = CascadeAgent(models=[tier1, tier2], verbose=True, enable_cascade=True)
    agent = CascadeAgent(models=[tier1, tier2], quality_config=QualityConfig.for_cascade())
    quality_config = QualityConfig.for_production()
    quality_config = QualityConfig.for_development()
    quality_config = QualityConfig.strict()
    quality_config = QualityConfig(
        confidence_thresholds={
            'trivial': 0.6,
            'simple': 0.7,
            'moderate': 0.75,
            'hard': 0.8,
            'expert': 0.85
        }
    )
    agent = CascadeAgent(models=[tier1, tier2], quality_config=quality_config)
    quality_config = QualityConfig(confidence_thresholds={'moderate': 0.6})
    assert quality_config.threshold_for("hard") == 0.7  # levels not listed keep the preset's value

    your_queries = ["What is 2 + 2?", "Name a primary color."]
    results = []
    for q in your_queries:
        result = await agent.run(q)
        results.append(result.draft_accepted)
    acceptance_rate = sum(results) / len(results)
    print(f"Draft acceptance rate: {acceptance_rate:.1%}")

    total_cost: float = 0  # annotated for mypy --strict; otherwise as written
    for q in your_queries:
        result = await agent.run(q, max_tokens=50)
        total_cost += result.total_cost
    print(f"Total cost: ${total_cost:.6f}")
    assert total_cost > 0
    await agent.aclose()


async def test_quickstart_reads_a_dotenv_file_next_to_the_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              llama_server_url: str) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENAI_API_KEY")  # restored after the test; the file must supply it
    (tmp_path / ".env").write_text("OPENAI_API_KEY=sk-from-the-env-file\n")
    agent = CascadeAgent(models=[
        ModelConfig("gpt-4o-mini", "openai", cost=0.000375),
        ModelConfig("gpt-4o", "openai", cost=0.00625),
    ])
    result = await agent.run("Your query here")
    print(f"Response: {result.content}")
    assert result.model_used in ("gpt-4o-mini", "gpt-4o")
    import os

    assert os.environ["OPENAI_API_KEY"] == "sk-from-the-env-file"
    await agent.aclose()


# ----------------------------------------------------------------------------------------- production guide
async def test_production_guide_error_handling_and_monitoring(agent: CascadeAgent) -> None:
    from cascadeflow.production import (
        ErrorClassifier,
        HealthMonitor,
        RetryConfig,
        execute_with_retry,
        health_check,
        query_with_fallback,
    )

    try:
        result = await execute_with_retry(agent, query)
    except Exception as e:
        logger.error(f"All retries failed: {e}")
        raise
    result = await execute_with_retry(agent, query, RetryConfig(max_attempts=3, initial_delay=1.0, max_delay=60.0,
                                                                exponential_base=2.0))
    assert ErrorClassifier.is_retriable(TimeoutError("timeout")) and ErrorClassifier.should_alert(
        RuntimeError("invalid_api_key"))
    text = await query_with_fallback(agent, query, fallback_response="I'm experiencing technical difficulties.")
    assert text

    health = await health_check(agent)
    assert health["status"] == "healthy" and health["model"] in ("gpt-4o-mini", "gpt-4o")

    monitor = HealthMonitor(window_size=100)
    start = time.time()
    result = await agent.run(query)
    monitor.record_request(latency_ms=(time.time() - start) * 1000, cost=result.total_cost)
    assert monitor.get_health()["status"] in ("healthy", "degraded")

    logger.info(f"Query received: {query[:50]}")
    logger.info(f"Model used: {result.model_used}, Cost: ${result.total_cost:.6f}")
    metrics = {"total_queries": 0, "total_cost": 0.0, "avg_latency": 0.0, "error_count": 0}
    metrics["total_queries"] += 1
    metrics["total_cost"] += result.total_cost


async def test_production_guide_advanced_patterns(agent: CascadeAgent) -> None:
    from cascadeflow.budget import BudgetManager
    from cascadeflow.production import CircuitBreaker
    from cascadeflow.traffic import MultiUserRateLimiter, QueryCache, RateLimiter

    limiter = RateLimiter(rate=60, per=60.0)

    async def rate_limited_query(query: str) -> Any:
        await limiter.wait_if_needed()
        return await agent.run(query)

    await rate_limited_query(query)
    users = MultiUserRateLimiter(rate=100, per=3600)
    user_id = "user_123"
    assert await users.acquire(user_id) and users.get_stats(user_id)["rate"] == 100

    budget_mgr = BudgetManager(hourly_budget=1.0, daily_budget=10.0, monthly_budget=250.0)
    can_afford, reason = budget_mgr.can_afford(estimated_cost=0.01)
    if not can_afford:
        raise Exception(f"Budget exceeded: {reason}")
    result = await agent.run(query)
    budget_mgr.record_cost(result.total_cost)

    circuit_breaker = CircuitBreaker(failure_threshold=5, recovery_timeout=60.0)
    try:
        result = await circuit_breaker.call(agent.run, query)
    except Exception as e:
        logger.error(f"Request blocked or failed: {e}")
        raise

    cache = QueryCache(ttl=3600, max_size=1000)

    async def cached_query(query: str, **kwargs: Any) -> Any:
        cached = cache.get(query, **kwargs)
        if cached:
            return cached
        result = await agent.run(query, **kwargs)
        cache.set(query, result, **kwargs)
        return result

    first = await cached_query(query, max_tokens=20)
    assert await cached_query(query, max_tokens=20) is first and cache.get_stats()["hits"] == 1


# ------------------------------------------------------------------------------------------------- article
async def test_article_time_budget_already_consumed(agent: CascadeAgent) -> None:
    """"Time budget already consumed" inside the loop: a run with a time budget stops before a call that would
    start past it (enforce), and reports what is left."""
    cascadeflow.init(mode="enforce")
    with cascadeflow.run(time_budget_ms=60_000) as session:
        await agent.run(query)
        left = session.remaining()["time_ms"]
    assert left is not None and 0 <= left < 60_000


# ----------------------------------------------------------------------------------------------- v0.2.0 plan
async def test_plan_cost_control_quality_and_complexity(tmp_path: Path) -> None:
    from cascadeflow import (
        BudgetConfig,
        CodeComplexityAnalyzer,
        CostTracker,
        EnforcementCallbacks,
        EnforcementContext,
        LLMComplexityAnalyzer,
        QualityValidator,
        QueryComplexityAnalyzer,
    )

    def get_user_from_my_database(user_id: str | None) -> SimpleNamespace:
        return SimpleNamespace(subscription="free")

    def my_enforcement_logic(ctx: EnforcementContext) -> tuple[str, str | None]:
        user = get_user_from_my_database(ctx.user_id)

        if user.subscription == 'free' and ctx.budget_remaining <= 0:
            return 'block', "Upgrade to Pro"
        elif user.subscription == 'pro' and ctx.budget_remaining < 0.10:
            return 'degrade', "Switching to cheaper models"
        else:
            return 'allow', None

    callbacks = EnforcementCallbacks(on_budget_check=my_enforcement_logic)
    agent = CascadeAgent(
        models=[ModelConfig(name='gpt-4')],
        cost_tracker=CostTracker(
            user_budgets={'user_123': BudgetConfig(daily=10.00)},
            enforcement_callbacks=callbacks
        )
    )
    response = await agent.run(query="...", user_id="user_123")
    assert response.model_used == "gpt-4"
    tracker = agent.cost_tracker
    assert tracker is not None
    tracker.export_json(tmp_path / 'costs.json')
    tracker.export_csv(tmp_path / 'costs.csv')
    tracker.export_sqlite(tmp_path / 'costs.db')

    validator = QualityValidator(
        enable_hedging_check=True,
        enable_coherence_check=True,
        enable_semantic_similarity=False,
        enable_toxicity_detection=False
    )
    checked = CascadeAgent(models=[ModelConfig("gpt-4o-mini", "openai", cost=0.000375),
                                   ModelConfig("gpt-4o", "openai", cost=0.00625)], validator=validator)
    assert (await checked.run(query)).steps

    assert CodeComplexityAnalyzer().analyze_code("for i in range(3):\n    print(i)")["complexity"] == "simple"
    assert QueryComplexityAnalyzer().analyze_query("print hello world")["complexity"] == "simple"
    classifier = LLMComplexityAnalyzer(ModelConfig(name="gpt-3.5-turbo", provider="openai"))
    analysis = await classifier.analyze("Implement a concurrent graph algorithm")
    assert analysis["complexity"] in ("trivial", "simple", "moderate", "hard", "expert")
    await classifier.aclose()
    await agent.aclose()
    await checked.aclose()


async def test_plan_domain_configuration_methods(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Method 1: simple code config
    agent = CascadeAgent(
        models=[
            ModelConfig(name='codellama-70b', provider='groq', domain='code', cost=0.0008),
            ModelConfig(name='gpt-3.5-turbo', provider='openai', domain='code', cost=0.002),
            ModelConfig(name='med-palm-2', provider='google', domain='medical', cost=0.025),
            ModelConfig(name='gpt-4', provider='openai', domain='general', cost=0.03),
        ],
        enable_domain_routing=True
    )
    result = await agent.run("How do I implement quicksort?")
    assert result.domain == "code" and result.steps[0].model == "codellama-70b"
    await agent.aclose()

    # Method 2: YAML config
    from tests.test_seed_features import PLAN_YAML

    (tmp_path / "cascadeflow.yaml").write_text(PLAN_YAML)
    monkeypatch.chdir(tmp_path)
    agent = CascadeAgent.from_config('cascadeflow.yaml')
    result = await agent.run("How do I implement quicksort and why is it fast?")
    assert result.domain == "code" and result.steps[0].model == "codellama-70b"
    await agent.aclose()

    # Method 3: environment variables (.env). Deliberate difference: models without a known price need @cost.
    (tmp_path / ".env").write_text("CASCADEFLOW_CODE_MODELS=codellama-70b,gpt-3.5-turbo\n"
                                   "CASCADEFLOW_MEDICAL_MODELS=med-palm-2,gpt-4\n"
                                   "CASCADEFLOW_GENERAL_MODELS=gpt-3.5-turbo,gpt-4\n")
    for name in ("CASCADEFLOW_CODE_MODELS", "CASCADEFLOW_MEDICAL_MODELS", "CASCADEFLOW_GENERAL_MODELS"):
        monkeypatch.setenv(name, "x")
        monkeypatch.delenv(name)
    with pytest.raises(cascadeflow.ConfigError, match="codellama-70b@<USD per 1K tokens>"):
        CascadeAgent.from_env()
    (tmp_path / ".env").write_text("CASCADEFLOW_CODE_MODELS=codellama-70b@0.0008,gpt-3.5-turbo\n"
                                   "CASCADEFLOW_MEDICAL_MODELS=med-palm-2@0.025,gpt-4\n"
                                   "CASCADEFLOW_GENERAL_MODELS=gpt-3.5-turbo,gpt-4\n")
    agent = CascadeAgent.from_env()
    result = await agent.run("How do I implement quicksort?")
    assert result.domain == "code" and result.steps[0].model == "codellama-70b"
    await agent.aclose()
    await asyncio.sleep(0)
