"""Exact-match response caches: normalised keys, LRU + TTL in memory, shared Redis, hit/miss counters."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from cascadeflow.errors import ConfigError
from cascadeflow.traffic import JsonCodec, QueryCache, RedisCache, query_key, request_key
from cascadeflow.types import Completion, CompletionRequest, Message, TokenLogprob, ToolCall, Usage


def req(text: str, **kw: object) -> CompletionRequest:
    return CompletionRequest(messages=(Message("system", "Be brief."), Message("user", text)), **kw)  # type: ignore[arg-type]


def test_request_keys_ignore_trivia_but_not_meaning() -> None:
    base = request_key("m", req("What is 2+2?"))
    assert request_key("m", req("What is 2+2?  \r\n")) == base
    assert request_key("m", req("What is 2+2?", metadata={"user": "a"})) == base
    assert request_key("m", req("Café")) == request_key("m", req("Cafe\u0301"))  # NFC
    assert request_key("other", req("What is 2+2?")) != base
    assert request_key("m", req("What is 2+2?", temperature=0.7)) != base
    assert request_key("m", req("def f():\n    return 1")) != request_key("m", req("def f():\n  return 1"))
    assert query_key("q", {"b": 1, "a": 2}) == query_key("q", {"a": 2, "b": 1})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_query_cache_lru_ttl_and_stats() -> None:
    clock = Clock()
    cache = QueryCache(ttl=60, max_size=2, clock=clock)
    cache.set("a", "A", model="m")
    cache.set("b", "B")
    assert cache.get("a", model="m") == "A"  # a is now the most recent
    cache.set("c", "C")  # evicts b, the least recently used
    assert cache.get("b") is None and cache.get("c") == "C"
    clock.now = 61
    assert cache.get("a", model="m") is None  # expired
    assert cache.get_stats() == {"hits": 2, "misses": 2, "hit_rate": 50.0, "size": 1}
    cache.set_request("m", req("hi"), "answer")
    assert cache.get_request("m", req("hi  ")) == "answer"
    with pytest.raises(ConfigError):
        QueryCache(ttl=0)


def test_codec_keeps_a_completion_whole() -> None:
    original = Completion(
        content="4", model="m", finish_reason="stop", usage=Usage(12, 1),
        tool_calls=(ToolCall("c1", "calc", '{"x": 1}'),), logprobs=(TokenLogprob("4", -0.01),),
        latency_ms=12.5, cost_usd=Decimal("0.000012"),
    )
    codec = JsonCodec()
    assert codec.loads(codec.dumps(original)) == original
    assert codec.loads(codec.dumps({"plain": [1, 2]})) == {"plain": [1, 2]}


def test_redis_cache_is_shared_and_expires(redis_url: str) -> None:
    namespace = f"cftest:cache:{uuid.uuid4().hex}:"
    writer = RedisCache(redis_url, ttl=30, namespace=namespace)
    reader = RedisCache(redis_url, ttl=30, namespace=namespace)
    answer = Completion(content="Paris", model="small", usage=Usage(9, 2), cost_usd=Decimal("0.0001"))
    try:
        assert reader.get_request("small", req("Capital of France?")) is None
        writer.set_request("small", req("Capital of France?"), answer)
        assert reader.get_request("small", req("Capital of France?\n")) == answer
        writer.set("weather", {"t": 21}, city="Oslo")
        assert reader.get("weather", city="Oslo") == {"t": 21}
        assert reader.get_stats() == {"hits": 2, "misses": 1, "hit_rate": pytest.approx(66.666, rel=1e-3)}
        keys = list(writer.redis.scan_iter(match=f"{namespace}*"))
        assert len(keys) == 2 and all(0 < writer.redis.ttl(k) <= 30 for k in keys)
    finally:
        for key in writer.redis.scan_iter(match=f"{namespace}*"):
            writer.redis.delete(key)
        writer.close()
        reader.close()
