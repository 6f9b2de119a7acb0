"""Public test doubles: use them to test your own code without a network or a model.

* :class:`FunctionProvider` — a callable decides each answer.
* :class:`ScriptedProvider` — a queue of answers and errors, consumed in order; leftovers are reported.

Both record every request they receive in ``calls`` and count tokens as whitespace-separated words, so costs
in tests are deterministic.
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TypeAlias

from cascadeflow.types import Chunk, Completion, CompletionRequest, Usage

Answer: TypeAlias = "str | Completion | BaseException"


def count_words(text: str) -> int:
    """Stand-in token count for fakes: one token per whitespace-separated word."""
    return len(text.split())


def _prompt_tokens(request: CompletionRequest) -> int:
    return sum(count_words(m.content or "") for m in request.messages)


def as_completion(answer: str | Completion, request: CompletionRequest, model: str) -> Completion:
    """Turn a plain string into a Completion with word-count usage; pass Completions through."""
    if isinstance(answer, Completion):
        return answer
    return Completion(
        content=answer,
        model=model,
        finish_reason="stop",
        usage=Usage(input_tokens=_prompt_tokens(request), output_tokens=count_words(answer)),
    )


async def _chunks_of(completion: Completion) -> AsyncIterator[Chunk]:
    words = completion.content.split(" ")
    for i, word in enumerate(words):
        yield Chunk(text=word if i == 0 else " " + word)
    yield Chunk(finish_reason=completion.finish_reason, usage=completion.usage, tool_calls=completion.tool_calls,
                cost_usd=completion.cost_usd)


class FunctionProvider:
    """A provider whose answers come from ``fn(request)`` (sync or async; str, Completion, or raise)."""

    def __init__(
        self,
        fn: Callable[[CompletionRequest], str | Completion | Awaitable[str | Completion]],
        *,
        model: str = "function",
        provider: str = "function",
    ) -> None:
        self.fn = fn
        self.model = model
        self.provider = provider
        self.calls: list[CompletionRequest] = []

    async def complete(self, request: CompletionRequest) -> Completion:
        self.calls.append(request)
        answer = self.fn(request)
        if inspect.isawaitable(answer):
            answer = await answer
        return as_completion(answer, request, self.model)

    async def stream(self, request: CompletionRequest) -> AsyncIterator[Chunk]:
        completion = await self.complete(request)
        async for chunk in _chunks_of(completion):
            yield chunk

    async def aclose(self) -> None:
        return None


class ScriptedProvider:
    """A provider that replays a fixed script of answers; an exception in the script is raised instead.

    Running past the end raises ``AssertionError`` naming the call; :meth:`assert_exhausted` fails when
    answers were left unused, so a test notices both too many and too few calls.
    """

    def __init__(self, script: Iterable[Answer], *, model: str = "scripted", provider: str = "scripted") -> None:
        self.script: deque[Answer] = deque(script)
        self.model = model
        self.provider = provider
        self.calls: list[CompletionRequest] = []

    @property
    def remaining(self) -> list[Answer]:
        return list(self.script)

    def _next(self, request: CompletionRequest) -> Completion:
        self.calls.append(request)
        if not self.script:
            raise AssertionError(
                f"ScriptedProvider {self.model!r} has no answer left for call #{len(self.calls)} "
                f"(query: {request.query[:80]!r})"
            )
        item = self.script.popleft()
        if isinstance(item, BaseException):
            raise item
        return as_completion(item, request, self.model)

    async def complete(self, request: CompletionRequest) -> Completion:
        return self._next(request)

    async def stream(self, request: CompletionRequest) -> AsyncIterator[Chunk]:
        async for chunk in _chunks_of(self._next(request)):
            yield chunk

    def assert_exhausted(self) -> None:
        if self.script:
            raise AssertionError(f"ScriptedProvider {self.model!r} has {len(self.script)} unused answer(s): "
                                 f"{[str(x)[:60] for x in self.script]}")

    async def aclose(self) -> None:
        return None
