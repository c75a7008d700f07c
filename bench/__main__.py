"""Run every benchmark, print the table and write it to bench/RESULTS.md.

Run: make bench   (or: .venv/bin/python -m bench [name ...])
Each benchmark runs in a fresh process; see bench/table.py.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.table import Row, markdown

BENCHMARKS = ("intake", "latency", "sweep", "digest", "burst", "memory")
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


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


def run(name: str) -> tuple[Row | None, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}"], capture_output=True, text=True, check=False
    )
    took = time.perf_counter() - started
    out = done.stdout.strip().splitlines()
    print(f"--- {name} ({took:.0f} s)", flush=True)
    print("\n".join(out[:-1]) if out else "", flush=True)
    if done.returncode != 0 or not out:
        print(done.stderr[-3000:], file=sys.stderr, flush=True)
        return None, done.stderr[-500:]
    return Row.parse(out[-1]), ""


def main(names: list[str]) -> int:
    rows: list[Row] = []
    failed: list[str] = []
    for name in names or BENCHMARKS:
        row, _ = run(name)
        if row is None:
            failed.append(name)
        else:
            rows.append(row)
    table = markdown(rows)
    print()
    print(table)
    if failed:
        print(f"\nfailed to run: {', '.join(failed)}", file=sys.stderr)
        return 1
    if not names:
        details = []
        for n, row in enumerate(rows, start=1):
            details += [f"{n}. **{row.name}**"] + [f"   - {k}: {v}" for k, v in row.details.items()]
        RESULTS.write_text(
            "# Benchmark results\n\n"
            f"Written by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.\n\n"
            f"Machine: {machine()}.\n\n"
            "Shared machines drift: read the ratios, which compare with a reference measured "
            "in the same run, before the absolute numbers.\n\n"
            f"{table}\n\n## Details\n\n" + "\n".join(details) + "\n",
            encoding="utf-8",
        )
        print(f"\nwritten to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
