"""``serve(config_path)``: the gateway on uvicorn (uvloop + httptools when installed), with a graceful drain.

On SIGTERM each process first keeps serving for ``server.drain_grace_s`` while ``/health`` answers 503 (and every
response says ``connection: close``), so load balancers and Kubernetes stop routing here; then uvicorn closes the
listener and gives in-flight requests and streams ``server.drain_timeout_s`` to finish before the process exits
(:mod:`cascadeflow.server.drain`). SIGINT (Ctrl-C) skips the grace period. ``--workers N`` runs N processes on one
socket (uvicorn's supervisor passes SIGTERM on to each); they must share their budgets and rate limits through the
config's stores (``memory://`` is refused then).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any, Final

from cascadeflow.errors import ConfigError
from cascadeflow.server.config import GatewayConfig
from cascadeflow.server.settings import ServerSettings

CONFIG_ENV: Final = "CASCADEFLOW_GATEWAY_CONFIG"
"""How worker processes find the config file (uvicorn starts each worker from an import string)."""


def app_from_env() -> Any:
    """uvicorn's app factory in each worker process."""
    from cascadeflow.server.app import create_app
    from cascadeflow.server.logs import configure_logging

    path = os.environ.get(CONFIG_ENV)
    if not path:
        raise ConfigError(CONFIG_ENV, "set it to the gateway config file")
    config = GatewayConfig.load(path)
    configure_logging(config.settings.log_level)  # each worker process sets up its own JSON logging
    return create_app(config, handle_sigterm=True)


def check_shared_state(config: GatewayConfig, workers: int) -> None:
    """With several processes, budgets and rate limits must live in a store they all see."""
    if workers <= 1:
        return
    if config.store.startswith("memory://") and any(k.budget is not None for k in config.keys):
        raise ConfigError("store", f"memory:// keeps budgets in one process; with {workers} workers use "
                          "sqlite:///file.db, redis://… or postgresql://…")
    if config.rate_limit_store.startswith("memory://") and any(k.rpm is not None for k in config.keys):
        raise ConfigError("rate_limit_store", f"memory:// keeps rate limits in one process; with {workers} workers "
                          "use a redis:// URL")


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def serve(config_path: str | Path, settings: ServerSettings | None = None) -> None:
    """Run the gateway until it is told to stop (blocks)."""
    try:
        import uvicorn
        from uvicorn.supervisors import Multiprocess
    except ImportError:
        raise ConfigError("server", "serving needs uvicorn: pip install 'cascadeflow[server]'") from None
    from cascadeflow.server.logs import configure_logging

    path = Path(config_path).resolve()
    config = GatewayConfig.load(path)
    s = settings or config.settings
    check_shared_state(config, s.workers)
    configure_logging(s.log_level)
    os.environ[CONFIG_ENV] = str(path)
    uv_config = uvicorn.Config(
        "cascadeflow.server.runner:app_from_env", factory=True, host=s.host, port=s.port, workers=s.workers,
        loop="uvloop" if _installed("uvloop") else "auto", http="httptools" if _installed("httptools") else "auto",
        backlog=s.backlog, timeout_keep_alive=s.keep_alive_s, timeout_graceful_shutdown=int(s.drain_timeout_s) or None,
        access_log=False, log_config=None, log_level=s.log_level, server_header=False, lifespan="on",
        proxy_headers=False,  # nothing here reads the client address; skip the per-request middleware
    )
    if s.workers > 1:
        Multiprocess(uv_config, sockets=[uv_config.bind_socket()]).run()
    else:
        uvicorn.Server(uv_config).run()
