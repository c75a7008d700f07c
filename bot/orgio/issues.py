"""What reading an org chart can go wrong with, and the records both readers
(YAML and CSV) hand over: an issue pinned to a file and line, the error that
carries them all, a staff or assignment row, and a text file read safely."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.domain.orgchart import (
    Role,
)


@dataclass(frozen=True)
class OrgIssue:
    """One mistake; ``line`` is 1-based, 0 when no line applies.

    ``source`` names the file the line is in when that is not the org-chart
    YAML itself: the path of a staff or assignments CSV as the caller gave it
    (``""`` for the YAML, so a caller that reads only YAML sees no change).
    """

    line: int
    key: str
    params: dict[str, str] = field(default_factory=dict)
    source: str = ""


class OrgChartInvalid(Exception):
    """The chart cannot be used; ``issues`` lists every mistake, file by file
    (the YAML first, then the others in the order of ``sources``, then any
    other source by name) and by line within a file."""

    def __init__(
        self, issues: list[OrgIssue], *, source: str = "<org>", sources: Sequence[str] = ()
    ) -> None:
        rank = {name: index for index, name in enumerate(sources) if name}

        def order(issue: OrgIssue) -> tuple[bool, int, str, int]:
            return (bool(issue.source), rank.get(issue.source, len(rank)), issue.source, issue.line)

        self.issues = sorted(issues, key=order)
        self.source = source
        super().__init__(self._summary())

    def _summary(self) -> str:
        # Only for logs and tracebacks; operators get catalogue text from the CLI.
        lines = [f"{self.source}: {len(self.issues)} problem(s) in the org chart"]
        for issue in self.issues:
            params = ", ".join(f"{k}={v!r}" for k, v in issue.params.items())
            where = f"{issue.source} line" if issue.source else "line"
            lines.append(f"  {where} {issue.line}: {issue.key} {params}".rstrip())
        return "\n".join(lines)


@dataclass(frozen=True)
class StaffRecord:
    """One staff member read from another source than the YAML (a CSV row),
    already checked for its shape; the reader checks it against the rest of
    the chart.  ``id`` may be a badly formed code (already an issue), so that
    references to it do not pile up more issues."""

    source: str
    line: int
    id: str
    name: str | None
    roles: frozenset[Role]
    wards: tuple[str, ...] = ()
    telegram_id: int | None = None
    zalo_id: str | None = None


@dataclass(frozen=True)
class AssignmentRecord:
    """One assignment row read from another source than the YAML; a value
    that was missing is None (already an issue), so the rest of the row is
    still checked."""

    source: str
    line: int
    area: str | None
    categories: tuple[str, ...]
    cadre: str | None


def _unreadable(exc: OSError, shown: str) -> tuple[str, dict[str, str]]:
    """Why a file could not be read, in the operator's words: the usual
    causes (a wrong name or folder, a folder, no right to read) have their
    own sentences; anything rarer keeps the system's reason."""
    for kind, key in (
        (FileNotFoundError, "org.file_missing"),
        (IsADirectoryError, "org.file_is_folder"),
        (PermissionError, "org.file_forbidden"),
    ):
        if isinstance(exc, kind):
            return key, {"path": shown}
    return "org.file_unreadable", {"path": shown, "reason": exc.strerror or type(exc).__name__}


def read_text_file(path: Path, *, source: str = "") -> str:
    """The text of ``path``, else :class:`OrgChartInvalid` with the one issue.

    Unreadable bytes are issues too, not tracebacks.  ``source`` is what the
    issue's :attr:`OrgIssue.source` says (``""`` for the org-chart YAML).
    """
    shown = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        issue = OrgIssue(0, *_unreadable(exc, shown), source)
        raise OrgChartInvalid([issue], source=shown) from exc
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Notepad's "Unicode" and Excel's "Unicode Text" (tab-separated):
        # UTF-16 with its BOM, which says which it is.
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass  # not UTF-16 after all: said below as not UTF-8
    try:
        # utf-8-sig: Notepad and Excel on Windows like to start the file with a BOM.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        issue = OrgIssue(line, "org.file_not_utf8", {"path": shown}, source)
        raise OrgChartInvalid([issue], source=shown) from exc


def bare_code(text: str) -> str:
    """A code, id or keyword as written, less what nobody sees in it: a
    zero-width space or a bidi mark pasted in from a chat or a document, a
    non-breaking space at its ends.  "HONGHAI" followed by an invisible
    character would otherwise be "no such ward" for a code that reads right."""
    visible = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc"))
    return visible.strip()
