"""Against a real llama.cpp server running SmolLM2-135M: real tokens, real streams, real logprobs.

SmolLM2 is tiny and llama.cpp's answers vary slightly between calls even at temperature 0 (prompt-cache
reuse changes the arithmetic), so these tests assert behaviour that holds for any answer: shapes, token
accounting, stream assembly, and the cascade's accept/escalate bookkeeping — never the exact words.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cascadeflow.agent import CascadeAgent
from cascadeflow.config import ModelConfig
from cascadeflow.providers.openai_compatible import OpenAICompatibleProvider
from cascadeflow.providers.registry import default_registry
from cascadeflow.types import CompletionRequest, Message

pytestmark = pytest.mark.llama_server

# Short answers keep each call to a second or two on a busy 2-core machine.
MAX_TOKENS = 24
# The quickstart runs two tiers of up to 150 tokens in a fresh interpreter; generous for a loaded box.
QUICKSTART_TIMEOUT_S = 240
TIERS = ("gpt-4o-mini", "gpt-4o")


def ask(text: str, *, logprobs: bool = False) -> CompletionRequest:
    return CompletionRequest(
        messages=(Message(role="system", content="Answer briefly."), Message(role="user", content=text)),
        max_tokens=MAX_TOKENS,
        temperature=0.0,
        logprobs=logprobs,
    )


@pytest.fixture
async def llm(llama_server_url: str) -> AsyncIterator[OpenAICompatibleProvider]:
    """Built by the registry's ``llamacpp`` preset, pointed at the server through ``base_url``."""
    provider = default_registry().build(ModelConfig(name="smollm2", provider="llamacpp", base_url=llama_server_url))
    assert isinstance(provider, OpenAICompatibleProvider)
    yield provider
    await provider.aclose()


async def test_plain_completion_has_content_and_real_usage(llm: OpenAICompatibleProvider) -> None:
    completion = await llm.complete(ask("What color is the sky on a clear day?"))
    assert completion.content.strip()
    assert completion.usage.input_tokens > 0 and completion.usage.output_tokens > 0
    assert completion.usage.output_tokens <= MAX_TOKENS
    assert completion.finish_reason in {"stop", "length"}
    assert completion.logprobs is None  # not requested, so not returned


async def test_stream_chunks_assemble_into_the_answer(llm: OpenAICompatibleProvider) -> None:
    chunks = [c async for c in llm.stream(ask("Name three colors."))]
    text = "".join(c.text for c in chunks)
    assert text.strip() and len(chunks) > 2
    assert [c.finish_reason is not None for c in chunks] == [False] * (len(chunks) - 1) + [True]
    final = chunks[-1]
    assert final.finish_reason in {"stop", "length"}
    # llama.cpp's server does not report usage in streams; we pass on what it says and never invent tokens.
    assert final.usage is None or final.usage.output_tokens > 0


async def test_logprobs_are_real_when_requested(llm: OpenAICompatibleProvider) -> None:
    completion = await llm.complete(ask("Name a fruit.", logprobs=True))
    assert completion.logprobs, "llama.cpp returns chat logprobs when top_logprobs is set"
    assert all(t.logprob <= 0.0 for t in completion.logprobs)
    assert "".join(t.token for t in completion.logprobs) == completion.content
    assert len(completion.logprobs) == completion.usage.output_tokens


async def test_two_tier_cascade_through_the_agent(llama_server_url: str) -> None:
    models = [
        ModelConfig(name=TIERS[0], provider="llamacpp", base_url=llama_server_url, cost=0.000375),
        ModelConfig(name=TIERS[1], provider="llamacpp", base_url=llama_server_url, cost=0.00625),
    ]
    async with CascadeAgent(models=models) as agent:
        result = await agent.run("What color is the sky?", max_tokens=MAX_TOKENS, temperature=0.0)
    assert result.content.strip()
    assert result.steps[0].model == TIERS[0]
    if result.draft_accepted:
        assert result.model_used == TIERS[0] and len(result.steps) == 1
    else:
        assert result.model_used == TIERS[1]
        assert [s.model for s in result.steps] == list(TIERS)
        assert result.steps[0].action in {"escalate", "fallback"}
    called = [s for s in result.steps if s.action != "fallback"]
    assert called and all(s.input_tokens > 0 and s.output_tokens > 0 for s in called)
    assert result.total_cost > 0


async def test_agent_stream_text_matches_its_final_result(llama_server_url: str) -> None:
    from cascadeflow.cascade.streaming import FinalResult, TextDelta

    model = ModelConfig(name="smollm2", provider="llamacpp", base_url=llama_server_url)
    async with CascadeAgent(models=[model]) as agent:
        events = [e async for e in agent.stream("Name two planets.", max_tokens=MAX_TOKENS, temperature=0.0)]
    final = events[-1]
    assert isinstance(final, FinalResult)
    shown = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert shown == final.result.content and shown.strip()
    assert final.result.finish_reason in {"stop", "length"}
    # llama.cpp's server sends no usage in streams: output tokens are counted from chunks and flagged.
    step = final.result.steps[-1]
    assert step.usage_estimated and step.output_tokens > 0


README = Path(__file__).resolve().parents[2] / "README.md"
# Appended to the README snippet so the test can read the two facts it checks; the snippet itself is unchanged.
REPORT_LINE = '\nprint(f"@@model_used={result.model_used} draft_accepted={result.draft_accepted}")\n'


def readme_quickstart() -> str:
    """The first python block after the README's "## Quickstart" heading, verbatim."""
    text = README.read_text()
    _, found, rest = text.partition("## Quickstart")
    _, fence, block = rest.partition("```python\n")
    snippet, end, _ = block.partition("```")
    if not (found and fence and end):
        raise AssertionError("README.md has no ```python block under '## Quickstart'")
    return snippet


def test_documented_quickstart_runs_unchanged_against_the_server(llama_server_url: str) -> None:
    """The README snippet in a fresh interpreter; only OPENAI_BASE_URL and a dummy OPENAI_API_KEY are set."""
    snippet = readme_quickstart()
    assert 'provider="openai"' in snippet and "gpt-4o-mini" in snippet
    env = {**os.environ, "OPENAI_BASE_URL": llama_server_url, "OPENAI_API_KEY": "dummy"}
    proc = subprocess.run([sys.executable, "-c", snippet + REPORT_LINE], env=env, capture_output=True, text=True,
                          timeout=QUICKSTART_TIMEOUT_S, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = [line for line in proc.stdout.splitlines() if line.startswith("@@")]
    assert len(report) == 1, proc.stdout[-3000:]
    fields = dict(part.split("=", 1) for part in report[0][2:].split())
    assert fields["model_used"] in TIERS
    assert fields["draft_accepted"] in {"True", "False"}
    # an accepted draft is the cheap model's; a rejected one was escalated to gpt-4o
    expected = TIERS[0] if fields["draft_accepted"] == "True" else TIERS[1]
    assert fields["model_used"] == expected
    assert "gpt-4o-mini" in proc.stdout  # the snippet's own prints ran (step records)
