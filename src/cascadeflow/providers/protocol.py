"""The provider interface every model backend implements.

A provider instance is bound to one model endpoint (one tier). ``complete`` returns a full
:class:`~cascadeflow.types.Completion`; ``stream`` yields :class:`~cascadeflow.types.Chunk`s, the last one
carrying ``finish_reason`` (and usage when known). Backends that can score *given* text (llama.cpp in-process,
vLLM) also implement :class:`ScoringProvider`, which the verify-by-scoring validator uses. A provider that
knows what a request *would* cost without calling (a replayed recording) implements :class:`CostEstimator`;
the engine asks the top tier's provider for it to state the baseline of a run the top tier never answered.
Errors are raised as :class:`~cascadeflow.errors.ProviderError` subclasses, never returned as empty content.
Whether a provider — possibly behind wrappers — has an optional capability is asked with
:func:`cascadeflow.providers.wrapper.supports`, never with ``isinstance`` or ``hasattr``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Protocol, runtime_checkable

from cascadeflow.types import Chunk, Completion, CompletionRequest, Message, TokenLogprob


@runtime_checkable
class Provider(Protocol):
    """One model endpoint."""

    @property
    def provider(self) -> str: ...

    @property
    def model(self) -> str: ...

    async def complete(self, request: CompletionRequest) -> Completion: ...

    def stream(self, request: CompletionRequest) -> AsyncIterator[Chunk]: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class ScoringProvider(Provider, Protocol):
    """A provider that can return the log-probability of each token of ``text`` as a reply to ``messages``."""

    async def score(self, messages: Sequence[Message], text: str) -> tuple[TokenLogprob, ...]: ...


@runtime_checkable
class CostEstimator(Protocol):
    """A provider that can say what answering ``request`` would cost, without calling the model."""

    def estimate_cost(self, request: CompletionRequest) -> Decimal | None: ...
