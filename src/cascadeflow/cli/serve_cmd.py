"""``cascadeflow serve --config gateway.yaml``: the OpenAI-compatible gateway (see docs/gateway.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def serve(
    config: Annotated[Path, typer.Option("--config", "-c", help="gateway YAML (models, keys, store)")],
    host: Annotated[str | None, typer.Option(help="address to listen on (default: the config's, 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default: the config's, 8000)")] = None,
    workers: Annotated[int | None, typer.Option(help="processes sharing the port (default: the config's, 1)")] = None,
    check: Annotated[bool, typer.Option("--check", help="only check the config and list models and keys")] = False,
) -> None:
    """Serve /v1/chat/completions, /v1/models, /health, /live, /ready and /metrics until SIGTERM."""
    from cascadeflow.errors import ConfigError
    from cascadeflow.server.config import GatewayConfig
    from cascadeflow.server.runner import check_shared_state
    from cascadeflow.server.settings import with_overrides

    try:
        loaded = GatewayConfig.load(config)
        settings = with_overrides(loaded.settings, host=host, port=port, workers=workers)
        check_shared_state(loaded, settings.workers)
    except ConfigError as exc:
        typer.echo(f"config error: {exc}", err=True)
        raise typer.Exit(2) from None
    if check:
        for model in loaded.models:
            kind = "plan" if model.plan else ("passthrough" if model.passthrough else f"cascade of {len(model.tiers)}")
            typer.echo(f"model {model.name}: {kind}")
        for key in loaded.keys:
            typer.echo(f"key {key.id}: budget={key.budget} rpm={key.rpm}")
        typer.echo(f"store {loaded.store.split('@')[-1]}; listening on {settings.host}:{settings.port} "
                   f"with {settings.workers} worker(s)")
        return
    from cascadeflow.server.runner import serve as run_server

    run_server(config, settings)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
