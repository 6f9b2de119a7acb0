"""End to end: the real ``openai`` client → the gateway → a real llama.cpp server with SmolLM2 (real tokens,
real streams). Asserts shapes and accounting, never the words (the tiny model's answers vary)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
import yaml

from cascadeflow.server import GatewayConfig, create_app
from cascadeflow.server.testing import ServerThread

pytestmark = pytest.mark.llama_server
KEY = "sk-llama"


@pytest.fixture(scope="module")
def gateway(llama_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    tier = {"provider": "llamacpp", "base_url": llama_server_url, "timeout_s": 120, "max_retries": 0}
    config = {
        "models": [{"name": "smol", "model": "smollm2", **tier, "cost": 0.0001},
                   {"name": "auto", "cascade": [{"name": "smol-a", **tier, "cost": 0.0001},
                                                {"name": "smol-b", **tier, "cost": 0.001}]}],
        "keys": [{"key": KEY, "id": "llama", "budget": {"daily": 1.0}}],
    }
    path: Path = tmp_path_factory.mktemp("gw-llama") / "gateway.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    with ServerThread(create_app(GatewayConfig.load(path))) as server:
        yield server


def test_openai_client_through_gateway_to_llama(gateway: ServerThread) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=KEY, max_retries=0, timeout=180)
    raw = client.chat.completions.with_raw_response.create(
        model="smol", messages=[{"role": "user", "content": "Name a colour."}], max_tokens=12, temperature=0)
    completion = raw.parse()
    assert completion.choices[0].message.content
    assert completion.usage is not None and completion.usage.completion_tokens > 0
    assert float(raw.headers["x-cascadeflow-cost"]) > 0
    stream = client.chat.completions.create(model="auto", messages=[{"role": "user", "content": "Say hi."}],
                                            max_tokens=12, stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip() and chunks[-1].usage is not None
