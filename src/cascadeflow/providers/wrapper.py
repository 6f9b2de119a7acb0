"""The wrapper chain: cross-cutting behaviour wraps a provider behind the same interface.

Every tier's provider — built from the registry or passed in by the caller — is wrapped by one chain: resilience
first (retry, breaker, deadlines), then whatever the caller or a higher layer adds (caching, budget
reservation, instrumentation). A :class:`WrapperProvider` forwards what it does not handle, attributes
included, so optional capabilities of the provider underneath (``score``, ``estimate_cost``, ``load``) survive
any number of wrappers. Ask :func:`supports` whether a provider (wrapped or not) really has a capability:
``hasattr`` cannot tell, because a wrapper may define a method that only forwards.

    chain = WrapperChain([cache_layer, budget_layer])          # outermost last
    provider = chain.wrap(raw_provider, model_config)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias

from cascadeflow.providers.protocol import Provider
from cascadeflow.types import Chunk, Completion, CompletionRequest, Message, TokenLogprob

if TYPE_CHECKING:
    from cascadeflow.config import ModelConfig

Capability: TypeAlias = Literal["score", "estimate_cost", "load"]
CAPABILITIES: Final[tuple[Capability, ...]] = ("score", "estimate_cost", "load")
"""Optional provider methods: ``score(messages, text)`` (logprobs of given text), ``estimate_cost(request)``
(cost without calling), ``load()`` (load/warm the model now)."""

Layer: TypeAlias = Callable[[Provider, "ModelConfig"], Provider]
"""One link of the chain: given the provider so far and the tier's config, return the wrapped provider."""


class WrapperProvider:
    """Base for provider wrappers: forwards every call and attribute to ``inner`` unless overridden.

    Subclasses override ``complete``/``stream`` (and ``score`` if they care); :meth:`capabilities` reports what
    the innermost provider can do, so wrapping never adds or hides a capability.
    """

    def __init__(self, inner: Provider) -> None:
        self.inner = inner

    @property
    def provider(self) -> str:
        return self.inner.provider

    @property
    def model(self) -> str:
        return self.inner.model

    def capabilities(self) -> frozenset[Capability]:
        return capabilities(self.inner)

    async def complete(self, request: CompletionRequest) -> Completion:
        return await self.inner.complete(request)

    def stream(self, request: CompletionRequest) -> AsyncIterator[Chunk]:
        return self.inner.stream(request)

    async def score(self, messages: Sequence[Message], text: str) -> tuple[TokenLogprob, ...]:
        return await _require(self.inner, "score").score(messages, text)  # type: ignore[no-any-return]

    def estimate_cost(self, request: CompletionRequest) -> Decimal | None:
        if "estimate_cost" not in self.capabilities():
            return None
        return self.inner.estimate_cost(request)  # type: ignore[attr-defined,no-any-return]

    async def load(self) -> None:
        if "load" in self.capabilities():
            await self.inner.load()  # type: ignore[attr-defined]

    async def aclose(self) -> None:
        await self.inner.aclose()

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes this wrapper does not define: the provider underneath answers.
        if name == "inner":  # not set yet (e.g. during unpickling): never recurse
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"


def _require(provider: Provider, capability: Capability) -> Any:
    if capability not in capabilities(provider):
        raise AttributeError(f"{provider.provider}/{provider.model} cannot {capability}")
    return provider


def capabilities(provider: object) -> frozenset[Capability]:
    """What ``provider`` can really do: a wrapper asks what it wraps; a plain provider is asked directly."""
    own = getattr(type(provider), "capabilities", None)
    if callable(own):
        found: frozenset[Capability] = provider.capabilities()  # type: ignore[attr-defined]
        return found
    return frozenset(c for c in CAPABILITIES if callable(getattr(provider, c, None)))


def supports(provider: object, capability: Capability) -> bool:
    """Whether ``provider`` (wrapped or not) can ``score`` / ``estimate_cost`` / ``load``."""
    return capability in capabilities(provider)


def unwrap(provider: Provider) -> Provider:
    """The innermost provider of a chain (the one that talks to the model)."""
    while isinstance(provider, WrapperProvider):
        provider = provider.inner
    return provider


class WrapperChain:
    """An ordered list of layers applied to every tier's provider, innermost first."""

    def __init__(self, layers: Sequence[Layer] = ()) -> None:
        self.layers = tuple(layers)

    def __add__(self, other: WrapperChain | Sequence[Layer]) -> WrapperChain:
        more = other.layers if isinstance(other, WrapperChain) else tuple(other)
        return WrapperChain((*self.layers, *more))

    def wrap(self, provider: Provider, config: ModelConfig) -> Provider:
        for layer in self.layers:
            provider = layer(provider, config)
        return provider
