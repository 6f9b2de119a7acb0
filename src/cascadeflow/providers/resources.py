"""What the providers of one agent share and release together: today, the pool of loaded local models.

Held by the agent that built them (``CascadeAgent(resources=...)``), passed to every preset's ``from_config``,
closed by ``agent.aclose()`` when the agent created them. Two agents that should share loaded models (a 1 GB
model must not load twice) are given the same object; nothing is shared through module state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cascadeflow.providers.local import ModelPool


class ProviderResources:
    """Lazily created shared resources. ``model_pool`` is created on first use unless one is given."""

    def __init__(self, *, model_pool: ModelPool | None = None) -> None:
        self._pool = model_pool
        self._owns_pool = model_pool is None

    @property
    def model_pool(self) -> ModelPool:
        if self._pool is None:
            from cascadeflow.providers.local import ModelPool

            self._pool = ModelPool()
        return self._pool

    async def aclose(self) -> None:
        """Free what this object created (a pool passed in belongs to whoever passed it)."""
        if self._pool is not None and self._owns_pool:
            import asyncio

            pool, self._pool = self._pool, None
            await asyncio.to_thread(pool.close)
