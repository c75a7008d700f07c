"""One row per benchmark, and the table `make bench` prints.

Every benchmark runs in its own process (`python -m bench.<name>`) so that
one's memory and event loop cannot colour the next; it prints each of its rows
as one JSON line (a benchmark may measure several engines, one row each), and
`python -m bench` gathers them.
Shared machines drift, so each row carries its reference measured in the same
run and the ratio between the two; a target is met or it is not, but a miss
never fails a build.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Row:
    name: str  # what was measured, as a maintainer would say it
    ours: str  # Phản Ánh's number, with its unit
    reference: str  # the reference's number in the same run, with what it is
    ratio: str  # ours against the reference, in the direction the target reads
    target: str  # what the issue asks for
    met: bool
    details: dict[str, str] = field(default_factory=dict)  # extra numbers worth keeping

    def emit(self) -> None:
        """Print the row for the runner (last line) after a readable summary."""
        print(f"{self.name}: {self.ours} vs {self.reference} ({self.ratio}); target {self.target}")
        for key, value in self.details.items():
            print(f"  {key}: {value}")
        print(json.dumps(asdict(self), ensure_ascii=False))
        sys.stdout.flush()

    @classmethod
    def parse(cls, line: str) -> Row:
        return cls(**json.loads(line))

    @classmethod
    def found_in(cls, output: str) -> list[Row]:
        """The rows a benchmark printed: its JSON lines, in order."""
        return [cls.parse(line) for line in output.splitlines() if line.startswith('{"name": ')]


def markdown(rows: list[tuple[Row, str]]) -> str:
    """The results table; each row with the day it was measured (rows are run again one
    benchmark at a time, so they need not share a day)."""
    lines = [
        "| # | benchmark | Phản Ánh | reference (same run) | ratio | target | met | measured |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for n, (row, when) in enumerate(rows, start=1):
        met = "yes" if row.met else "**no**"
        cells = (str(n), row.name, row.ours, row.reference, row.ratio, row.target, met, when)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
