"""Command-line interface (typer + rich, installed with the ``cli`` extra)."""
