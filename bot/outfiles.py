"""Writing files into a folder an operator named on the command line
(``phananh posters --out``, ``phananh digest --out``), safely.

The folder may be shared, and old files or links may lie in it: a file is
never opened at its final name, so a symbolic link planted there (to a
file elsewhere) is replaced, never followed — it is written to a new file
created exclusively in the folder and renamed onto its name.  A folder that
is a file, lies under a file, has too long a name or cannot be written is
refused with one line the operator can act on (`OutputError`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

FILE_MODE = 0o644  # what is written here is for printing and sharing


class OutputError(Exception):
    """A folder that cannot take the files, named by a catalogue key."""

    def __init__(self, key: str, **params: str) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def _refusal(exc: OSError, out_dir: Path) -> OutputError:
    """What the file system said, as the line the operator reads."""
    out = str(out_dir)
    if exc.errno == errno.ENAMETOOLONG:
        return OutputError("cli.out_name_too_long", out=out)
    if isinstance(exc, NotADirectoryError):
        under = next((p for p in out_dir.parents if p.exists() and not p.is_dir()), out_dir)
        return OutputError("cli.out_under_file", out=out, file=str(under))
    if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
        return OutputError("cli.out_not_writable", out=out)
    return OutputError("cli.out_error", out=out, error=exc.strerror or type(exc).__name__)


def output_folder(out_dir: Path) -> Path:
    """The folder, created if needed (with its parents), as an absolute path."""
    try:
        if out_dir.exists() and not out_dir.is_dir():
            raise OutputError("cli.out_is_file", out=str(out_dir))
        out_dir.mkdir(parents=True, exist_ok=True)
        return out_dir.resolve()
    except OSError as exc:
        raise _refusal(exc, out_dir) from exc


def write_inside(folder: Path, name: str, save: Callable[[BinaryIO], None]) -> Path:
    """``folder/name`` written by ``save``, without ever opening that path."""
    path = folder / name
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    except OSError as exc:
        raise _refusal(exc, folder) from exc
    try:
        os.fchmod(handle, FILE_MODE)  # mkstemp makes it private
        with os.fdopen(handle, "wb") as out:
            save(out)
        os.replace(temporary, path)
    except OSError as exc:
        raise _refusal(exc, folder) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return path


def write_bytes_inside(folder: Path, name: str, content: bytes) -> Path:
    def save(out: BinaryIO) -> None:
        out.write(content)

    return write_inside(folder, name, save)
