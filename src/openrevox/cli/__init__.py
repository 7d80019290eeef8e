"""The ``openrevox`` command line."""

from __future__ import annotations

from openrevox.cli.main import app


def main() -> None:
    app()


__all__ = ["app", "main"]
