"""What any engine says when the configured database cannot be used: a
refusal named by a catalogue key and its parameters, which the command line
prints as one line (never a traceback)."""

from __future__ import annotations


class Refusal(Exception):
    """A database this program will not use, named by a catalogue key and
    its parameters: the command line prints it as one line."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class DatabaseUnusable(Refusal):
    """The configured database cannot be opened or read: for SQLite, the
    path is a folder, the file is not SQLite or is damaged, another program
    holds it locked; for PostgreSQL, the server cannot be reached or refuses
    the login; for both, its schema is newer than this program or unreadable."""
