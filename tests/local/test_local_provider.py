"""The in-process llama.cpp provider on a real small model (SmolLM2-135M), plus its configuration errors."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from cascadeflow.config import ModelConfig
from cascadeflow.errors import BadRequestError, ConfigError, ModelLoadError
from cascadeflow.providers.local import LocalLlamaProvider, LocalSettings, ModelPool, ScoredToken, _prompt_ids
from cascadeflow.providers.protocol import ScoringProvider
from cascadeflow.providers.registry import default_registry
from cascadeflow.providers.weights import WeightsStore
from cascadeflow.types import Chunk, CompletionRequest, Message, ToolSpec

SMOL = "smollm2-135m"
N_CTX = 1024  # small context: quick to allocate, plenty for these prompts


def request(text: str = "What is the capital of France?", **kw: object) -> CompletionRequest:
    return CompletionRequest(messages=(Message("user", text),), **kw)  # type: ignore[arg-type]


@pytest.fixture
def provider(smollm2_pool: ModelPool) -> LocalLlamaProvider:
    return LocalLlamaProvider(LocalSettings(model=SMOL, n_ctx=N_CTX, max_tokens=24), pool=smollm2_pool)


# ----------------------------------------------------------------- configuration (no model needed)
def test_options_are_read_from_the_model_config() -> None:
    config = ModelConfig("drafter", provider="local", options={"model": SMOL, "n_ctx": 2048, "auto_install": True})
    built = default_registry().build(config)
    assert isinstance(built, LocalLlamaProvider)
    assert built.model == "drafter"
    assert (built.settings.model, built.settings.n_ctx, built.settings.auto_install) == (SMOL, 2048, True)
    assert built.settings.temperature == 0.0
    assert isinstance(built, ScoringProvider)


def test_model_spec_defaults_to_the_config_name() -> None:
    built = LocalLlamaProvider.from_config(ModelConfig(SMOL, provider="local"), default_registry().get("local"))
    assert built.settings.model == SMOL and built.model == SMOL


async def test_agents_share_loaded_models_only_through_resources_they_are_given() -> None:
    from cascadeflow import CascadeAgent
    from cascadeflow.providers.resources import ProviderResources
    from cascadeflow.providers.wrapper import unwrap

    shared = ProviderResources()
    models = [ModelConfig(SMOL, provider="local")]
    a, b, c = (CascadeAgent(models=models, resources=shared), CascadeAgent(models=models, resources=shared),
               CascadeAgent(models=models))
    pools = [unwrap(x.engine.tiers[0].provider).pool for x in (a, b, c)]  # type: ignore[attr-defined]
    assert pools[0] is pools[1] is shared.model_pool and pools[2] is not pools[0]
    await c.aclose()  # frees only its own pool


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"n_gpu": 1}, "n_gpu"),
        ({"n_ctx": 0}, "n_ctx"),
        ({"max_tokens": "many"}, "max_tokens"),
        ({"model": ""}, "model"),
    ],
)
def test_bad_options_are_rejected_by_name(options: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        LocalSettings.from_options(options, SMOL)


def test_missing_llama_cpp_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` raise ImportError
    with pytest.raises(ConfigError, match=r"cascadeflow\[local\]"):
        ModelPool().get(LocalSettings(model=SMOL))


async def test_hugging_face_download_failure_is_a_clear_model_load_error() -> None:
    pytest.importorskip("llama_cpp")
    provider = LocalLlamaProvider(LocalSettings(model="someone/some-model-GGUF:model.gguf"), pool=ModelPool())
    with pytest.raises(ModelLoadError, match=r"downloading 'model\.gguf' from Hugging Face") as info:
        await provider.complete(request())
    assert "local path" in str(info.value)


async def test_uninstalled_catalogue_model_names_the_install_command(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    store = WeightsStore(tmp_path, locate=lambda part: None)
    provider = LocalLlamaProvider(LocalSettings(model="qwen2.5-coder-1.5b"), pool=ModelPool(store))
    with pytest.raises(ModelLoadError, match=r"cascadeflow models install qwen2\.5-coder-1\.5b"):
        await provider.complete(request())


# ----------------------------------------------------------------- the real model

@pytest.mark.local_model
async def test_complete_reports_real_usage_and_is_deterministic(provider: LocalLlamaProvider) -> None:
    first = await provider.complete(request())
    second = await provider.complete(request())
    assert first.content.strip() and first.content == second.content
    assert first.model == SMOL
    loaded = provider.pool.get(provider.settings)
    assert first.usage.input_tokens == len(_prompt_ids(loaded, [m.to_openai() for m in request().messages]))
    assert 0 < first.usage.output_tokens <= 24
    assert first.finish_reason in {"stop", "length"}


@pytest.mark.local_model
async def test_max_tokens_caps_the_answer(provider: LocalLlamaProvider) -> None:
    done = await provider.complete(request("Count from one to one hundred in words.", max_tokens=5))
    assert done.usage.output_tokens == 5 and done.finish_reason == "length"


@pytest.mark.local_model
async def test_stream_matches_complete(provider: LocalLlamaProvider) -> None:
    whole = await provider.complete(request())
    chunks: list[Chunk] = [c async for c in provider.stream(request())]
    assert "".join(c.text for c in chunks) == whole.content
    assert chunks[-1].finish_reason == whole.finish_reason
    assert chunks[-1].usage == whole.usage
    assert all(c.finish_reason is None for c in chunks[:-1])


@pytest.mark.local_model
async def test_abandoned_stream_releases_the_model(provider: LocalLlamaProvider) -> None:
    stream = provider.stream(request("Write a long story about a lighthouse.", max_tokens=200))
    async for _ in stream:
        break
    await stream.aclose()  # type: ignore[attr-defined]
    done = await asyncio.wait_for(provider.complete(request()), timeout=120)
    assert done.content


@pytest.mark.local_model
async def test_concurrent_calls_share_one_model_safely(provider: LocalLlamaProvider, smollm2_pool: ModelPool) -> None:
    twin = LocalLlamaProvider(provider.settings, name="twin", pool=smollm2_pool)
    assert smollm2_pool.get(provider.settings) is smollm2_pool.get(twin.settings)
    results = await asyncio.gather(provider.complete(request()), twin.complete(request()), provider.complete(request()))
    assert len({r.content for r in results}) == 1


@pytest.mark.local_model
async def test_score_returns_one_logprob_per_token(provider: LocalLlamaProvider) -> None:
    answer = (await provider.complete(request())).content
    tokens = await provider.score(request().messages, answer)
    assert "".join(t.token for t in tokens) == answer
    assert all(isinstance(t, ScoredToken) and t.logprob <= t.top_logprob <= 0.0 for t in tokens)
    again = await provider.score(request().messages, answer)
    assert [t.logprob for t in again] == pytest.approx([t.logprob for t in tokens], abs=1e-4)
    assert await provider.complete(request()) is not None  # generation still works after scoring


@pytest.mark.local_model
async def test_greedy_answers_carry_their_sampling_logprobs(provider: LocalLlamaProvider) -> None:
    done = await provider.complete(request())
    assert done.logprobs is not None and len(done.logprobs) == done.usage.output_tokens
    assert "".join(t.token for t in done.logprobs) == done.content
    scored = await provider.score(request().messages, done.content)
    assert [t.logprob for t in done.logprobs] == pytest.approx([t.logprob for t in scored], abs=0.5)


@pytest.mark.local_model
async def test_sampled_answers_have_logprobs_only_when_asked(provider: LocalLlamaProvider) -> None:
    plain = await provider.complete(request(temperature=0.8))
    assert plain.logprobs is None
    asked = await provider.complete(request(temperature=0.8, logprobs=True))
    assert asked.logprobs is not None
    assert "".join(t.token for t in asked.logprobs) == asked.content


@pytest.mark.local_model
async def test_too_long_prompt_is_a_clear_bad_request(smollm2_pool: ModelPool) -> None:
    tiny = LocalLlamaProvider(LocalSettings(model=SMOL, n_ctx=64), pool=smollm2_pool)
    long_prompt = request("lighthouse " * 200)
    with pytest.raises(BadRequestError, match="n_ctx"):
        await tiny.complete(long_prompt)
    with pytest.raises(BadRequestError, match="n_ctx"):
        await tiny.score(long_prompt.messages, "an answer")


@pytest.mark.local_model
async def test_tools_and_empty_scoring_are_rejected(provider: LocalLlamaProvider) -> None:
    with pytest.raises(BadRequestError, match="tool calling"):
        await provider.complete(request(tools=(ToolSpec("f"),)))
    with pytest.raises(BadRequestError, match="nothing to score"):
        await provider.score(request().messages, "")


@pytest.mark.local_model
async def test_gguf_path_spec_loads_the_file(smollm2_store: WeightsStore) -> None:
    path = smollm2_store.path_for(SMOL)
    pool = ModelPool(smollm2_store)
    try:
        provider = LocalLlamaProvider(LocalSettings(model=str(path), n_ctx=256, max_tokens=4), pool=pool)
        assert provider.model == str(path)
        assert (await provider.complete(request())).usage.output_tokens > 0
    finally:
        pool.close()
