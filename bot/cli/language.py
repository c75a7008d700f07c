"""The command line's parser speaks the operator's language: its help, its
mistakes and argparse's own words come from the catalogue."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeAlias

from bot.i18n import DEFAULT_LANGUAGE, t

# The subcommands of a parser, as each command module adds its own.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


_ARGPARSE_WORDS = {
    "usage: ": "argparse.usage",
    "positional arguments": "argparse.positionals",
    "options": "argparse.options",
    "show this help message and exit": "argparse.help",
    "%(prog)s: error: %(message)s\n": "argparse.error",
    "argument %(argument_name)s: %(message)s": "argparse.argument",
    "the following arguments are required: %s": "argparse.required",
    "one of the arguments %s is required": "argparse.one_required",
    "not allowed with argument %s": "argparse.not_allowed_with",
    "unrecognized arguments: %s": "argparse.unrecognized",
    "expected one argument": "argparse.expected_one",
    "ignored explicit argument %r": "argparse.ignored_value",
    "invalid %(type)s value: %(value)r": "argparse.invalid_value",
    "invalid choice: %(value)r (choose from %(choices)s)": "argparse.invalid_choice",
    "ambiguous option: %(option)s could match %(matches)s": "argparse.ambiguous",
}


@contextmanager
def _argparse_speaks(language: str) -> Iterator[None]:
    """argparse looks its words up through gettext (its module-level ``_``)
    as it builds a parser, formats help and reports a mistake: while this
    lasts, they come from the catalogue."""
    english = argparse._  # type: ignore[attr-defined]

    def translate(message: str) -> str:
        key = _ARGPARSE_WORDS.get(message)
        return t(language, key) if key is not None else str(english(message))

    argparse._ = translate  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._ = english  # type: ignore[attr-defined]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that speaks the operator's language: its help and
    its mistakes, its own words included (`_argparse_speaks`).  Subparsers
    are made of the same class, so they speak it too."""

    language = DEFAULT_LANGUAGE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        with _argparse_speaks(self.language):
            super().__init__(*args, **kwargs)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        with _argparse_speaks(self.language):
            return super().parse_known_args(args, namespace)

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        # An unrecognised argument (`--dryrun`) is reported here, after
        # parse_known_args has returned: the words must still be ours.
        with _argparse_speaks(self.language):
            return super().parse_args(args, namespace)

    def format_help(self) -> str:
        with _argparse_speaks(self.language):
            return super().format_help()

    def format_usage(self) -> str:
        with _argparse_speaks(self.language):
            return super().format_usage()


def parser_in(language: str) -> type[_Parser]:
    """The parser class for one language."""
    return type(f"Parser_{language}", (_Parser,), {"language": language})


@dataclass(frozen=True)
class Words:
    """What a command module needs to add its subcommands: the catalogue in
    the operator's language (``h``), the parser class speaking it
    (``make``), the ``--by NAME`` every change to the set-up takes
    (recorded in the admin log), and the language itself (for an argument's
    own check, which says what is wrong with the value)."""

    h: Callable[..., str]
    make: type[argparse.ArgumentParser]
    operator: argparse.ArgumentParser
    language: str = DEFAULT_LANGUAGE
