"""A ``POST /v1/chat/completions`` body → the arguments of ``agent.run`` / ``agent.stream``, checked.

Fields the cascade understands (messages, max_tokens / max_completion_tokens, temperature, stop, tools,
tool_choice, response_format, logprobs) become run arguments and are checked by
:func:`~cascadeflow.request_args.build_completion_request` (a ``ConfigError`` naming the field → 400). Sampling
fields the cascade does not use itself (top_p, seed, penalties, ...) are type-checked here and forwarded to
OpenAI-compatible upstreams unchanged. ``n`` other than 1 is refused: a cascade returns one answer. Unknown
fields are ignored, as most OpenAI-compatible servers do.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from cascadeflow.server.errors import bad_request

EXTRA_BODY_KEY: Final = "gateway.extra_body"
"""Where forwarded sampling fields travel in ``CompletionRequest.metadata`` (read by the upstream provider)."""

_NUMBER_EXTRAS: Final = ("top_p", "presence_penalty", "frequency_penalty")
_INT_EXTRAS: Final = ("seed", "top_logprobs")
_TEXT_EXTRAS: Final = ("user", "reasoning_effort", "service_tier")
_BOOL_EXTRAS: Final = ("parallel_tool_calls",)
_MAPPING_EXTRAS: Final = ("logit_bias",)
_RESPONSE_TYPES: Final = MappingProxyType({"text": "text", "json_object": "json", "json_schema": "json"})
MAX_MODEL_CHARS: Final = 256


@dataclass(frozen=True, slots=True)
class ChatCall:
    """What the gateway needs from one chat-completions body."""

    model: str
    messages: list[Any]
    stream: bool = False
    include_usage: bool = False
    run_kwargs: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def decode_body(raw: bytes) -> Mapping[str, Any]:
    """JSON object or a 400 (never a 500): invalid UTF-8, invalid JSON, nesting too deep, not an object."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise bad_request("the body is not valid JSON", code="invalid_json") from None
    if not isinstance(data, dict):
        raise bad_request(f"the body must be a JSON object, got {type(data).__name__}", code="invalid_json")
    return data


def _extras(body: Mapping[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    checks = ((_NUMBER_EXTRAS, (int, float), "a number"), (_INT_EXTRAS, (int,), "an integer"),
              (_TEXT_EXTRAS, (str,), "a string"), (_BOOL_EXTRAS, (bool,), "true or false"),
              (_MAPPING_EXTRAS, (dict,), "an object"))
    for names, types, what in checks:
        for name in names:
            value = body.get(name)
            if value is None:
                continue
            if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
                raise bad_request(f"{name} must be {what}, got {json.dumps(value)[:100]}", param=name)
            if isinstance(value, float) and value != value:  # NaN
                raise bad_request(f"{name} must be a finite number", param=name)
            extra[name] = value
    return extra


def _response_format(raw: object, extra: dict[str, Any]) -> str | None:
    if raw is None:
        return None
    kind = raw.get("type") if isinstance(raw, dict) else None
    if not isinstance(kind, str) or kind not in _RESPONSE_TYPES:
        raise bad_request(f"response_format.type must be one of {sorted(_RESPONSE_TYPES)}",
                          param="response_format")
    if kind == "json_schema":
        extra["response_format"] = raw  # the upstream gets the schema; the cascade checks the answer is JSON
    return _RESPONSE_TYPES[kind]


def _stream_options(body: Mapping[str, Any], stream: bool) -> bool:
    options = body.get("stream_options")
    if options is None:
        return False
    if not isinstance(options, dict):
        raise bad_request("stream_options must be an object", param="stream_options")
    include = options.get("include_usage", False)
    if not isinstance(include, bool):
        raise bad_request("stream_options.include_usage must be true or false", param="stream_options.include_usage")
    return include and stream


def parse_chat(body: Mapping[str, Any]) -> ChatCall:
    """Check the body's shape; the run arguments themselves are checked when the request is built."""
    model = body.get("model")
    if not isinstance(model, str) or not model or len(model) > MAX_MODEL_CHARS:
        raise bad_request("model must be a non-empty string", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("messages must be a non-empty list of chat messages", param="messages")
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise bad_request("stream must be true or false", param="stream")
    n = body.get("n")
    if n is not None and (isinstance(n, bool) or n != 1):
        raise bad_request("n must be 1: a cascade returns one answer", param="n")
    extra = _extras(body)
    kwargs: dict[str, Any] = {}
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    for name, value in (("max_tokens", max_tokens), ("temperature", body.get("temperature")),
                        ("stop", body.get("stop")), ("tools", body.get("tools")),
                        ("tool_choice", body.get("tool_choice"))):
        if value is not None:
            kwargs[name] = value
    response_format = _response_format(body.get("response_format"), extra)
    if response_format is not None:
        kwargs["response_format"] = response_format
    logprobs = body.get("logprobs")
    if logprobs is not None:
        if not isinstance(logprobs, bool):
            raise bad_request("logprobs must be true or false", param="logprobs")
        kwargs["logprobs"] = logprobs
    return ChatCall(model=model, messages=messages, stream=stream, include_usage=_stream_options(body, stream),
                    run_kwargs=kwargs, extra=extra)

