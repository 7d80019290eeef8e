"""``{{variable}}`` placeholders: find them and fill them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")


class MissingVariables(KeyError):
    """A template names variables that were not given."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = sorted(set(names))
        super().__init__(", ".join(self.names))


def variables_in(*texts: str | None) -> set[str]:
    """Every placeholder name used in the texts."""
    return {m.group(1) for text in texts if text for m in PLACEHOLDER.finditer(text)}


def render(template: str, values: Mapping[str, object]) -> str:
    """Fill every placeholder; raise ``MissingVariables`` naming the absent ones."""
    missing = variables_in(template) - set(values)
    if missing:
        raise MissingVariables(missing)
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)


def render_partial(template: str, values: Mapping[str, object]) -> str:
    """Fill the placeholders that have values; leave the others as they are."""
    return PLACEHOLDER.sub(
        lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template
    )
