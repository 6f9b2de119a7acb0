"""No key, no URL credential in any repr, str, pickle, exception, step record or log line; bad keys are
ConfigErrors naming the setting (never the key) and are never sent."""

from __future__ import annotations

import copy
import logging
import pickle
from typing import Any

import httpx
import pytest
import respx

from cascadeflow import AllTiersFailedError, CascadeAgent, ConfigError, ModelConfig
from cascadeflow.errors import AuthenticationError
from cascadeflow.providers.anthropic import AnthropicProvider
from cascadeflow.providers.litellm_adapter import LiteLLMProvider
from cascadeflow.providers.openai_compatible import OpenAICompatibleProvider
from cascadeflow.providers.registry import default_registry
from cascadeflow.resilience.provider import wrap_resilient
from cascadeflow.secret import MASK, Secret, redact_url, redact_urls

KEY = "sk-live-0123456789abcdefSECRET"
URL_USER, URL_PASSWORD, URL_QUERY_KEY = "alice", "hunter2pass", "QUERYKEY987"
CRED_URL = f"https://{URL_USER}:{URL_PASSWORD}@llm.example.test/v1?key={URL_QUERY_KEY}"
SECRETS = (KEY, URL_PASSWORD, URL_QUERY_KEY)


def leaks(text: str | bytes) -> list[str]:
    raw = text if isinstance(text, str) else text.decode("latin-1")
    return [s for s in SECRETS if s in raw]


class FakeSleep:
    async def __call__(self, seconds: float) -> None:
        return None


def configs() -> list[ModelConfig]:
    return [
        ModelConfig(name="small", provider="openai", cost=0.0001, api_key=KEY, base_url=CRED_URL),
        ModelConfig(name="large", provider="openai", cost=0.01, api_key=KEY, base_url=CRED_URL),
    ]


# --------------------------------------------------------------------------- the Secret type
def test_secret_shows_only_the_mask() -> None:
    secret = Secret(KEY)
    assert repr(secret) == f"Secret('{MASK}')" and str(secret) == MASK and f"{secret}" == MASK
    assert secret.reveal() == KEY
    assert Secret(KEY) == secret and Secret("other-key") != secret


def test_a_pickled_secret_is_a_redacted_placeholder() -> None:
    restored = pickle.loads(pickle.dumps(Secret(KEY, source="ModelConfig.api_key")))
    assert restored.is_redacted
    with pytest.raises(ConfigError, match=r"ModelConfig\.api_key.*redacted"):
        restored.reveal()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://u:p@host/v1", f"https://{MASK}@host/v1"),
        ("https://host/v1?key=abc&x=1", f"https://host/v1?key={MASK}&x={MASK}"),
        ("http://localhost:8080/v1", "http://localhost:8080/v1"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected
    assert redact_urls(f"failed to reach {url} (refused)") == f"failed to reach {expected} (refused)"


# --------------------------------------------------------------------------- configs, agents, providers
def test_model_config_repr_str_and_copies_hide_credentials() -> None:
    config = configs()[0]
    for text in (repr(config), str(config), repr(copy.deepcopy(config)), repr(copy.copy(config))):
        assert not leaks(text), text
    assert MASK in repr(config)
    assert config.secret_key is not None and config.secret_key.reveal() == KEY
    assert copy.deepcopy(config).secret_key == config.secret_key  # in-memory copies keep a usable key


def test_pickled_config_carries_no_credentials_and_says_so_when_used() -> None:
    data = pickle.dumps(configs()[0])
    assert not leaks(data)
    restored = pickle.loads(data)
    assert restored.name == "small" and not leaks(repr(restored))
    with pytest.raises(ConfigError, match="redacted"):
        default_registry().build(restored)


def test_agent_models_tiers_and_providers_hide_credentials() -> None:
    agent = CascadeAgent(models=configs())
    texts = [repr(agent.models), str(agent.models), repr(agent.engine.tiers), str(agent.engine.tiers)]
    texts += [repr(t.provider) for t in agent.engine.tiers]
    inner = agent.engine.tiers[0].provider.inner  # type: ignore[attr-defined]
    texts += [repr(inner), repr(inner.endpoint)]
    for text in texts:
        assert not leaks(text), text
    assert KEY not in repr(vars(inner))  # the key is held as a Secret even inside the provider


def test_custom_header_values_are_secrets_too() -> None:
    config = ModelConfig(name="m", provider="openai", cost=0.001, api_key=KEY,
                         options={"headers": {"api-key": KEY, "X-Title": "my app"}})
    assert not leaks(repr(config)) and not leaks(pickle.dumps(config))
    provider = OpenAICompatibleProvider.from_config(config, default_registry().get("openai"))
    assert provider.request_headers()["api-key"] == KEY
    assert provider.request_headers()["X-Title"] == "my app"


def test_litellm_adapter_holds_the_key_as_a_secret() -> None:
    provider = LiteLLMProvider("groq/llama3", module=object(), api_key=KEY, base_url=CRED_URL)
    assert not leaks(repr(provider)) and KEY not in repr(vars(provider))


# --------------------------------------------------------------------------- bad keys
@pytest.mark.parametrize(
    ("key", "what"),
    [(KEY + "\n", "line break"), ("sk-abc\u00e9def", "non-ASCII"), ("sk-\x00abc", "control"), ("sk abc", "space")],
    ids=["newline", "non-ascii", "control", "space"],
)
def test_a_bad_key_is_a_config_error_naming_the_field_not_the_key(key: str, what: str) -> None:
    with pytest.raises(ConfigError, match=what) as info:
        ModelConfig(name="m", provider="openai", cost=0.001, api_key=key)
    assert info.value.field == "ModelConfig.api_key"
    assert key.strip() not in str(info.value) and "abc" not in str(info.value)


def test_a_bad_key_in_the_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", f"{KEY}\nsecond-line")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError) as info:
        CascadeAgent(models=[ModelConfig(name="m", provider="openai", cost=0.001)])
    assert info.value.field == "OPENAI_API_KEY" and "line break" in str(info.value)
    assert not leaks(str(info.value))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-\u2028abc")
    with pytest.raises(ConfigError) as anthropic_info:
        CascadeAgent(models=[ModelConfig(name="c", provider="anthropic", cost=0.001)])
    assert anthropic_info.value.field == "ANTHROPIC_API_KEY"


@pytest.mark.parametrize(
    ("headers", "field"),
    [({"X-Bad": "a\nb"}, "X-Bad"), ({"Bad Name": "v"}, "Bad Name"), ("not-a-mapping", "headers")],
)
def test_bad_extra_headers_are_config_errors(headers: Any, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        ModelConfig(name="m", provider="openai", cost=0.001, options={"headers": headers})


def test_a_bad_key_passed_to_a_provider_is_never_sent() -> None:
    calls: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200)

    client = httpx.AsyncClient(transport=httpx.MockTransport(record))
    with pytest.raises(ConfigError, match="api_key"):
        OpenAICompatibleProvider("m", base_url="https://x.test/v1", api_key=KEY + "\r\n", client=client)
    with pytest.raises(ConfigError, match="api_key"):
        AnthropicProvider("c", api_key="k\u00ff", client=client)
    assert calls == []


def test_a_header_error_from_the_transport_never_quotes_the_value() -> None:
    from cascadeflow.providers.http_errors import Endpoint, error_from_transport

    exc = httpx.LocalProtocolError(f"Illegal header value b'Bearer {KEY}\\n'")
    mapped = error_from_transport(exc, Endpoint("openai", "m"))
    assert not leaks(str(mapped)) and not mapped.retriable


# --------------------------------------------------------------------------- errors, steps and logs
def _echo_key_then_fail(request: httpx.Request) -> httpx.Response:
    sent = request.headers.get("authorization", "")
    if "small" in request.content.decode():
        return httpx.Response(401, json={"error": {"message": f"Incorrect API key provided: {sent} at {request.url}"}})
    return httpx.Response(503, text=f"upstream {request.url} is down for {sent}")


async def test_errors_steps_and_debug_logs_carry_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # some libraries (litellm) quiet httpx's logger on import
    with respx.mock(assert_all_called=False) as router:
        router.route().mock(side_effect=_echo_key_then_fail)
        providers = {
            cfg.name: wrap_resilient(default_registry().build(cfg), cfg, sleep=FakeSleep()) for cfg in configs()
        }
        agent = CascadeAgent(models=configs(), providers=providers, verbose=True)
        with pytest.raises(AllTiersFailedError) as info:
            await agent.run("What is the capital of France?")
        await agent.aclose()
    messages = [str(info.value), repr(info.value)]
    for attempt in info.value.attempts:
        messages += [str(attempt), repr(attempt.error), str(attempt.error.__cause__ or "")]
    assert isinstance(info.value.attempts[0].error, AuthenticationError)
    assert MASK in str(info.value.attempts[0].error)  # the echoed key was there, and was masked
    for text in [*messages, caplog.text]:
        assert not leaks(text), text
    assert "HTTP Request" in caplog.text  # httpx did log the (redacted) URL


async def test_step_errors_of_a_recovered_run_carry_no_secret() -> None:
    with respx.mock(assert_all_called=False) as router:
        def reply(request: httpx.Request) -> httpx.Response:
            if "small" in request.content.decode():
                return _echo_key_then_fail(request)
            choice = {"index": 0, "message": {"role": "assistant", "content": "Paris is the capital."}}
            usage = {"prompt_tokens": 5, "completion_tokens": 4}
            return httpx.Response(200, json={"choices": [choice], "usage": usage})

        router.route().mock(side_effect=reply)
        agent = CascadeAgent(models=configs())
        result = await agent.run("What is the capital of France?")
        await agent.aclose()
    assert result.model_used == "large" and result.steps[0].action == "fallback"
    for step in result.steps:
        assert not leaks(repr(step)) and not leaks(str(step.to_dict()))
    assert not leaks(str(result.to_dict())) and not leaks(result.reason)


def test_config_errors_about_the_url_redact_it() -> None:
    with pytest.raises(ConfigError) as info:
        ModelConfig(name="m", base_url=f"ftp://{URL_USER}:{URL_PASSWORD}@host/?key={URL_QUERY_KEY}")
    assert not leaks(str(info.value))
