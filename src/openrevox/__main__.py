"""``python -m openrevox`` is the ``openrevox`` command."""

from openrevox.cli import main

main()
