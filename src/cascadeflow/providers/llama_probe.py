"""Child-process probe of the installed llama.cpp: import it, read its build, load a model, generate a few tokens.

Run by ``cascadeflow doctor`` as ``python -m cascadeflow.providers.llama_probe MODEL.gguf``. Each stage prints
one JSON line and flushes it before the next stage starts, so when llama.cpp kills the process (a build using
instructions this CPU lacks or mis-executes dies with SIGILL/SIGSEGV) the parent still knows the last stage
that finished, and can say *where* it crashed instead of showing a bare "Segmentation fault".
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

PROMPT = "The capital of France is"
DEFAULT_TOKENS = 8
PROBE_CONTEXT = 256
"""Context window for the probe: the prompt and a few tokens fit; keeps the load quick and small."""


def _emit(stage: str, **fields: Any) -> None:
    print(json.dumps({"stage": stage, **fields}), flush=True)


def probe(model_path: str | None, tokens: int = DEFAULT_TOKENS) -> None:
    started = time.perf_counter()
    import llama_cpp

    _emit("import", version=getattr(llama_cpp, "__version__", "unknown"),
          seconds=round(time.perf_counter() - started, 3))
    info = llama_cpp.llama_print_system_info()
    _emit("system_info", text=info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info))
    if model_path is None:
        return
    started = time.perf_counter()
    llm = llama_cpp.Llama(model_path=model_path, n_ctx=PROBE_CONTEXT, n_threads=1, verbose=False)
    _emit("load", seconds=round(time.perf_counter() - started, 3))
    started = time.perf_counter()
    out: Any = llm.create_completion(PROMPT, max_tokens=tokens, temperature=0.0)
    text = out["choices"][0]["text"]
    _emit("generate", text=text, tokens=int(out.get("usage", {}).get("completion_tokens", 0)),
          seconds=round(time.perf_counter() - started, 3))
    llm.close()


def main(argv: list[str]) -> int:
    model = argv[0] if argv else None
    tokens = int(argv[1]) if len(argv) > 1 else DEFAULT_TOKENS
    try:
        probe(model, tokens)
    except Exception as exc:  # reported to the parent as data: it decides what the failure means
        _emit("error", error=f"{type(exc).__name__}: {exc}")
        return 1
    _emit("done")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
