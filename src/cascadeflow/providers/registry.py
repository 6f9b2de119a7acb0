"""Provider presets, looked up by name: no if/elif on provider names anywhere else.

A preset names the *wire API* class that speaks to the endpoint (imported lazily, so an unused backend costs
nothing at import) plus the vendor's small quirks: default base URL, which environment variables hold the key
and base URL, and whether calls are free (self-hosted). Add your own with :meth:`ProviderRegistry.register`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from cascadeflow.config import ModelConfig
from cascadeflow.errors import ConfigError
from cascadeflow.providers.protocol import Provider

if TYPE_CHECKING:
    from cascadeflow.providers.resources import ProviderResources

_OPENAI = "cascadeflow.providers.openai_compatible:OpenAICompatibleProvider"
_ANTHROPIC = "cascadeflow.providers.anthropic:AnthropicProvider"
_LOCAL = "cascadeflow.providers.local:LocalLlamaProvider"
_LITELLM = "cascadeflow.providers.litellm_adapter:LiteLLMProvider"
GEMINI_OPENAI_URL = "https://generativelanguage.googleapis.com/v1beta/openai"


@dataclass(frozen=True)
class ProviderPreset:
    """How to reach one vendor: the wire class (``module:Class`` with a ``from_config``) and its defaults."""

    name: str
    wire: str
    base_url: str | None = None
    api_key_env: str | tuple[str, ...] | None = None
    """The variable holding the key, or several tried in order (Google: ``GOOGLE_API_KEY``, ``GEMINI_API_KEY``)."""
    base_url_env: str | None = None
    requires_key: bool = False
    free: bool = False
    assistant_content_required: bool = False
    """Quirk: the server rejects ``content: null`` on an assistant turn that carries tool calls (llama.cpp's
    server), so ``""`` is sent instead."""

    @property
    def key_envs(self) -> tuple[str, ...]:
        """The key variables, in the order they are read."""
        env = self.api_key_env
        return () if env is None else (env,) if isinstance(env, str) else tuple(env)

    def key_from_env(self) -> tuple[str, str] | None:
        """``(variable, value)`` of the first key variable that is set and not blank, read now (never at import)."""
        import os

        for name in self.key_envs:
            value = os.environ.get(name, "").strip()
            if value:
                return name, value
        return None

    def wire_class(self) -> Any:
        from cascadeflow.providers.httpx_cli import defer_httpx_cli

        defer_httpx_cli()  # wire modules import httpx; its CLI would cost ~85 ms of cold start
        module_name, _, attr = self.wire.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigError(
                "ModelConfig.provider", f"provider {self.name!r} needs an optional dependency: {exc}"
            ) from exc
        return getattr(module, attr)


def _builtin_presets() -> list[ProviderPreset]:
    return [
        ProviderPreset("openai", _OPENAI, "https://api.openai.com/v1", "OPENAI_API_KEY", "OPENAI_BASE_URL",
                       requires_key=True),
        ProviderPreset("groq", _OPENAI, "https://api.groq.com/openai/v1", "GROQ_API_KEY", "GROQ_BASE_URL",
                       requires_key=True),
        ProviderPreset("together", _OPENAI, "https://api.together.xyz/v1", "TOGETHER_API_KEY", "TOGETHER_BASE_URL",
                       requires_key=True),
        ProviderPreset("deepseek", _OPENAI, "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY", "DEEPSEEK_BASE_URL",
                       requires_key=True),
        ProviderPreset("openrouter", _OPENAI, "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY",
                       "OPENROUTER_BASE_URL", requires_key=True),
        # Gemini through Google's OpenAI-compatible endpoint; Google's SDKs read GOOGLE_API_KEY, its docs
        # GEMINI_API_KEY.
        ProviderPreset("google", _OPENAI, GEMINI_OPENAI_URL, ("GOOGLE_API_KEY", "GEMINI_API_KEY"), "GEMINI_BASE_URL",
                       requires_key=True),
        ProviderPreset("gemini", _OPENAI, GEMINI_OPENAI_URL, ("GEMINI_API_KEY", "GOOGLE_API_KEY"), "GEMINI_BASE_URL",
                       requires_key=True),
        ProviderPreset("vllm", _OPENAI, "http://localhost:8000/v1", "VLLM_API_KEY", "VLLM_BASE_URL", free=True),
        ProviderPreset("ollama", _OPENAI, "http://localhost:11434/v1", None, "OLLAMA_BASE_URL", free=True),
        ProviderPreset("llamacpp", _OPENAI, "http://localhost:8080/v1", None, "LLAMACPP_BASE_URL", free=True,
                       assistant_content_required=True),
        ProviderPreset("openai-compatible", _OPENAI, None, "OPENAI_API_KEY", "OPENAI_BASE_URL"),
        ProviderPreset("anthropic", _ANTHROPIC, "https://api.anthropic.com", "ANTHROPIC_API_KEY",
                       "ANTHROPIC_BASE_URL", requires_key=True),
        ProviderPreset("local", _LOCAL, free=True),
        ProviderPreset("litellm", _LITELLM),
    ]


class ProviderRegistry:
    """Name → preset. Each agent holds its own registry (no module-level mutable state)."""

    def __init__(self, presets: Iterable[ProviderPreset] = ()) -> None:
        self._presets: dict[str, ProviderPreset] = {}
        for preset in presets:
            self.register(preset)

    def register(self, preset: ProviderPreset) -> None:
        self._presets[preset.name] = preset

    def names(self) -> list[str]:
        return sorted(self._presets)

    def get(self, name: str) -> ProviderPreset:
        try:
            return self._presets[name]
        except KeyError:
            raise ConfigError(
                "ModelConfig.provider", f"unknown provider {name!r}; known providers: {', '.join(self.names())}"
            ) from None

    def is_free(self, name: str) -> bool:
        preset = self._presets.get(name)
        return bool(preset and preset.free)

    def build(self, config: ModelConfig, resources: ProviderResources | None = None) -> Provider:
        """One provider for ``config``: ``WireClass.from_config(config, preset, resources)`` — the one signature
        every wire class implements (``resources`` holds what providers of one agent share, e.g. loaded models)."""
        preset = self.get(config.provider)
        factory = cast(Callable[[ModelConfig, ProviderPreset, "ProviderResources | None"], Provider],
                       preset.wire_class().from_config)
        return factory(config, preset, resources)


def default_registry() -> ProviderRegistry:
    """A fresh registry holding the built-in presets."""
    return ProviderRegistry(_builtin_presets())
