"""The documented quickstart (gpt-4o-mini → gpt-4o, provider="openai") end to end over a fake HTTP endpoint.

Providers are built by the registry's OpenAI preset exactly as the agent builds them; only the httpx client
is replaced (``httpx.MockTransport``), or intercepted with respx when nothing at all is injected.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from cascadeflow.agent import CascadeAgent
from cascadeflow.cascade.quality.base import ValidationContext, Verdict
from cascadeflow.config import ModelConfig
from cascadeflow.providers.openai_compatible import OpenAICompatibleProvider
from cascadeflow.providers.registry import default_registry
from cascadeflow.resilience.provider import ResilienceLayer
from cascadeflow.types import CompletionRequest

Reply = httpx.Response | Exception


class ByModel:
    """A fake endpoint answering each requested model from its own queue of replies; records every request."""

    def __init__(self, replies: dict[str, list[Reply]]) -> None:
        self.replies = replies
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies[json.loads(request.content)["model"]].pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def models(self) -> list[str]:
        return [json.loads(r.content)["model"] for r in self.requests]


def answer(content: str) -> httpx.Response:
    choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
    return httpx.Response(200, json={"choices": [choice], "usage": {"prompt_tokens": 12, "completion_tokens": 3}})


class FakeSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class _Level:
    level = "simple"
    signals: tuple[str, ...] = ()


class _Detector:
    """Fixed complexity, so these tests do not depend on the heuristics' tuning."""

    def detect(self, text: str) -> _Level:
        return _Level()


def _mentions_paris(request: CompletionRequest, draft: Any, context: ValidationContext) -> Verdict:
    ok = "paris" in draft.content.lower()
    return Verdict(score=1.0 if ok else 0.0, passed=ok, reasons=(() if ok else ("does not say Paris",)),
                   threshold=context.threshold)


QUICKSTART = [
    ModelConfig(name="gpt-4o-mini", provider="openai", cost=0.000375),
    ModelConfig(name="gpt-4o", provider="openai", cost=0.00625),
]


def agent_over(server: ByModel, sleep: FakeSleep, monkeypatch: pytest.MonkeyPatch) -> CascadeAgent:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    preset = default_registry().get("openai")
    client = httpx.AsyncClient(transport=httpx.MockTransport(server))
    providers = {cfg.name: OpenAICompatibleProvider.from_config(cfg, preset, client=client) for cfg in QUICKSTART}
    # Injected providers get the same resilience layer as built ones; its sleep is injected so tests never wait.
    return CascadeAgent(models=QUICKSTART, providers=providers, validator=_mentions_paris,
                        complexity_detector=_Detector(), resilience=ResilienceLayer(sleep=sleep))


async def test_agent_accepts_a_good_draft_from_the_cheap_model(monkeypatch: pytest.MonkeyPatch) -> None:
    server = ByModel({"gpt-4o-mini": [answer("It is Paris.")], "gpt-4o": []})
    agent = agent_over(server, FakeSleep(), monkeypatch)
    result = await agent.run("What is the capital of France?", max_tokens=50)
    assert (result.model_used, result.draft_accepted, result.content) == ("gpt-4o-mini", True, "It is Paris.")
    assert server.models() == ["gpt-4o-mini"]
    assert result.input_tokens == 12 and result.output_tokens == 3
    assert str(server.requests[0].url) == "https://api.openai.com/v1/chat/completions"


async def test_agent_escalates_a_rejected_draft(monkeypatch: pytest.MonkeyPatch) -> None:
    server = ByModel({"gpt-4o-mini": [answer("I am not sure.")], "gpt-4o": [answer("Paris.")]})
    result = await agent_over(server, FakeSleep(), monkeypatch).run("What is the capital of France?")
    assert (result.model_used, result.draft_accepted) == ("gpt-4o", False)
    assert [s.action for s in result.steps] == ["escalate", "final"]
    assert server.models() == ["gpt-4o-mini", "gpt-4o"]


async def test_agent_falls_back_when_the_cheap_endpoint_keeps_failing(monkeypatch: pytest.MonkeyPatch) -> None:
    down: list[Reply] = [httpx.Response(503, text="down") for _ in range(3)]
    server = ByModel({"gpt-4o-mini": down, "gpt-4o": [answer("Paris.")]})
    sleep = FakeSleep()
    result = await agent_over(server, sleep, monkeypatch).run("What is the capital of France?")
    assert result.model_used == "gpt-4o"
    assert [s.action for s in result.steps] == ["fallback", "final"]
    assert "ProviderUnavailableError" in (result.steps[0].error or "")
    assert server.models() == ["gpt-4o-mini"] * 3 + ["gpt-4o"]  # 1 try + 2 retries
    assert len(sleep.calls) == 2


async def test_agent_built_by_the_registry_reaches_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """No injected providers at all: the documented constructor, with httpx intercepted by respx."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8765/v1")
    with respx.mock(assert_all_called=True) as router:
        route = router.post("http://127.0.0.1:8765/v1/chat/completions").mock(return_value=answer("Paris!"))
        agent = CascadeAgent(models=QUICKSTART, validator=_mentions_paris, complexity_detector=_Detector())
        result = await agent.run([{"role": "system", "content": "Be brief."},
                                  {"role": "user", "content": "Capital of France?"}])
        await agent.aclose()
    assert (result.model_used, result.draft_accepted) == ("gpt-4o-mini", True)
    sent = json.loads(route.calls[0].request.content)
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert route.calls[0].request.headers["authorization"] == "Bearer sk-test"
