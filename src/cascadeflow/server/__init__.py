"""The OpenAI-compatible gateway: ``create_app(config)`` (ASGI), ``serve`` (uvicorn), FastAPI pieces.

    from cascadeflow.server import GatewayConfig, create_app
    app = create_app(GatewayConfig.load("gateway.yaml"))   # uvicorn main:app, or mount it

Names load lazily: importing ``cascadeflow`` (or this package) imports no web server.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

_EXPORTS: Mapping[str, str] = MappingProxyType({
    "Gateway": "cascadeflow.server.gateway",
    "GatewayApp": "cascadeflow.server.app",
    "GatewayConfig": "cascadeflow.server.config",
    "create_app": "cascadeflow.server.app",
    "serve": "cascadeflow.server.runner",
})

__all__ = ["Gateway", "GatewayApp", "GatewayConfig", "create_app", "serve"]

if TYPE_CHECKING:
    from cascadeflow.server.app import GatewayApp, create_app
    from cascadeflow.server.config import GatewayConfig
    from cascadeflow.server.gateway import Gateway
    from cascadeflow.server.runner import serve


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cascadeflow.server' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
