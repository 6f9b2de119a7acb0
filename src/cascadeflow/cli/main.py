"""``cascadeflow`` command: each sub-command lives in its own module with a ``register(app)`` function."""

from __future__ import annotations

import importlib

import typer

_COMMAND_MODULES = (
    "cascadeflow.cli.demo_cmd",
    "cascadeflow.cli.bench_cmd",
    "cascadeflow.cli.calibrate_cmd",
    "cascadeflow.cli.models_cmd",
    "cascadeflow.cli.domains_cmd",
    "cascadeflow.cli.doctor_cmd",
    "cascadeflow.cli.serve_cmd",
)


def build_app() -> typer.Typer:
    app = typer.Typer(help="cascadeflow: cheapest model that can do the job.", no_args_is_help=True)
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that command module is not part of this build
                continue
            raise
        module.register(app)
    return app


def main() -> None:
    import faulthandler

    # A native crash (e.g. llama.cpp on a CPU its build does not suit) then prints where it happened instead
    # of a bare "Segmentation fault"; `cascadeflow doctor` explains it.
    faulthandler.enable()
    build_app()()
