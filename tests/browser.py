"""A real browser for the dashboard's tests: Debian's Chromium, headless,
driven by Playwright (no browser is downloaded: the machines have no
internet), started with ``--no-sandbox`` (the tests run as root) and with
background networking off.

Chromium comes from the machine's Debian packages, like nginx
(tests/nginx.py): when it is missing and we may install it (root,
apt-get), the set-up installs it once per run; otherwise the browser tests
skip with one clear line — and fail under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Browser

DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
MISSING = "chromium not found (apt-get install chromium): the browser tests are skipped"
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"]


def find_chromium() -> Path | None:
    on_path = shutil.which("chromium")
    if on_path:
        return Path(on_path)
    return DEBIAN_CHROMIUM if DEBIAN_CHROMIUM.is_file() else None


def _install() -> None:
    """apt-get update once, then install Chromium (root only, quietly)."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            return


def chromium_or_skip() -> Path:
    """Chromium, installed first if it is missing and we may; else a skip
    (a failure under CI=true)."""
    found = find_chromium()
    if found is None:
        _install()
        found = find_chromium()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {MISSING.split(':')[0]}: CI must run the browser tests")
        pytest.skip(MISSING)
    return found


@asynccontextmanager
async def chromium(executable: Path) -> AsyncIterator[Browser]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(executable), args=ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()
