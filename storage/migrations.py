"""Numbered migrations, as each engine ships them: ``NNNN_topic.sql`` files
in the engine's ``migrations`` folder, applied in order, each once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def numbered_migrations(package: str) -> list[Migration]:
    """Every ``NNNN_name.sql`` file in ``package``'s ``migrations`` folder,
    in order; numbered 1..n without gaps, or the program refuses to start."""
    found = []
    for entry in resources.files(package).joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return found
