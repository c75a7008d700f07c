"""Run benchmarks, print their rows and keep them in bench/RESULTS.md.

Run: make bench   (or: .venv/bin/python -m bench [name ...])
Each benchmark runs in a fresh process; see bench/table.py.  The rows of the
benchmarks that ran replace their earlier rows in ``bench/results.json`` (the
record, with the day and the machine of each measurement), and RESULTS.md is
written again from the whole record: running one benchmark keeps the others'
last rows.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.table import Row, markdown

BENCHMARKS = ("intake", "latency", "sweep", "digest", "burst", "memory", "scaleout", "suggest")
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
RECORD = HERE / "results.json"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def run(name: str) -> list[Row]:
    """One benchmark in its own process; its rows, or none when it failed."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}"], capture_output=True, text=True, check=False
    )
    took = time.perf_counter() - started
    rows = Row.found_in(done.stdout)
    print(f"--- {name} ({took:.0f} s)", flush=True)
    print("\n".join(line for line in done.stdout.splitlines() if not line.startswith("{")))
    if done.returncode != 0 or not rows:
        print(done.stderr[-3000:], file=sys.stderr, flush=True)
        return []
    return rows


def load_record() -> dict[str, Any]:
    if RECORD.exists():
        record: dict[str, Any] = json.loads(RECORD.read_text(encoding="utf-8"))
        return record
    return {}


def write_results(record: dict[str, Any]) -> None:
    rows: list[tuple[Row, str]] = []
    machines: list[str] = []
    for name in BENCHMARKS:
        entry = record.get(name)
        if entry is None:
            continue
        rows += [(Row(**row), entry["when"]) for row in entry["rows"]]
        if entry["machine"] not in machines:
            machines.append(entry["machine"])
    details = []
    for n, (row, _) in enumerate(rows, start=1):
        details += [f"{n}. **{row.name}**"] + [f"   - {k}: {v}" for k, v in row.details.items()]
    RESULTS.write_text(
        "# Benchmark results\n\n"
        "Written by `make bench` (or `python -m bench NAME`, which runs one benchmark again "
        "and keeps the others' rows); each row says when it was measured.\n\n"
        f"Machine: {'; '.join(machines)}.\n\n"
        "Shared machines drift: read the ratios, which compare with a reference measured "
        "in the same run, before the absolute numbers.\n\n"
        f"{markdown(rows)}\n\n## Details\n\n" + "\n".join(details) + "\n",
        encoding="utf-8",
    )


def main(names: list[str]) -> int:
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"no such benchmark: {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    record = load_record()
    failed: list[str] = []
    for name in names or BENCHMARKS:
        rows = run(name)
        if not rows:
            failed.append(name)
            continue
        record[name] = {
            "when": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "machine": machine(),
            "rows": [asdict(row) for row in rows],
        }
        RECORD.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", "utf-8")
        write_results(record)
    print()
    print(RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "")
    if failed:
        print(f"\nfailed to run: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
