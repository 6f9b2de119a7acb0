"""Cache keys for exact-match response caching: model + the request, normalised so that trivial differences
(dict order, CRLF, trailing whitespace, Unicode composition) hit the same entry and real differences never do.

Leading indentation and inner whitespace are kept: they change the meaning of code and of formatted prompts.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Mapping
from typing import Any

from cascadeflow.types import CompletionRequest

KEY_VERSION = "v1"  # bump when the normal form changes, so old entries are simply never hit again


def normalise_text(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def _canonical(value: Any) -> Any:
    if isinstance(value, str):
        return normalise_text(value)
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0])) if v is not None}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, float):
        return repr(value)
    return value


def _digest(payload: Any, namespace: str) -> str:
    body = json.dumps(_canonical(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return f"{namespace}{KEY_VERSION}:{hashlib.sha256(body.encode('utf-8')).hexdigest()}"


def request_key(model: str, request: CompletionRequest, *, namespace: str = "") -> str:
    """The key of one model call: everything sent to the model counts, ``metadata`` (ours, not sent) does not."""
    payload = {
        "model": model,
        "messages": [m.to_openai() for m in request.messages],
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "stop": list(request.stop),
        "tools": [t.to_openai() for t in request.tools],
        "tool_choice": request.tool_choice,
        "response_format": request.response_format,
        "logprobs": request.logprobs or None,
    }
    return _digest(payload, namespace)


def query_key(query: str, params: Mapping[str, Any], *, namespace: str = "") -> str:
    """The key of a plain query plus keyword arguments (the production guide's ``cache.get(query, **kwargs)``)."""
    return _digest({"query": query, "params": dict(params)}, namespace)
