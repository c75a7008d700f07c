"""Screenshots of the dashboard's main pages for docs/ (``make
screenshots``; not part of the test run): the example ward's week, open
tasks, one complaint and the map, in Debian's Chromium as the browser
tests drive it, at a desktop's width (the tasks also at a phone's).

Each PNG is reduced to 256 colours, so the folder stays small.
"""

from __future__ import annotations

import asyncio
import io
import sys
import tempfile
from pathlib import Path

from PIL import Image

from bot.domain.clock import ManualClock
from bot.orgio.reader import load_org_file
from tests.browser import chromium, find_chromium
from tests.conftest import EXAMPLE_ORG, START
from tests.factories import WARD_CHAIR
from tests.webkit import dashboard, seed_story

DOCS = Path(__file__).resolve().parent.parent / "docs"
DESKTOP = {"width": 1100, "height": 900}
PHONE = {"width": 390, "height": 844}


def small_png(shot: bytes) -> bytes:
    image = Image.open(io.BytesIO(shot)).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=256).save(out, "PNG", optimize=True)
    return out.getvalue()


async def take(folder: Path) -> list[Path]:
    executable = find_chromium()
    if executable is None:
        raise SystemExit("chromium not found: apt-get install chromium")
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        chart = load_org_file(EXAMPLE_ORG)
        where = Path(tmp) / "shots.db"
        async with dashboard(
            where, ManualClock(START), chart, public_url="http://127.0.0.1"
        ) as dash:
            made = await seed_story(dash)
            origin = f"http://127.0.0.1:{dash.bot.runtime.http.port}"
            path = await dash.link(WARD_CHAIR)
            async with chromium(executable) as browser:
                context = await browser.new_context(viewport=DESKTOP, locale="vi-VN")
                page = await context.new_page()
                await page.goto(origin + path)
                await page.locator("button.primary").click()
                await page.wait_for_url("**/web/week")
                shots = [
                    ("web-week.png", "/web/week", DESKTOP),
                    ("web-tasks.png", "/web/tasks", DESKTOP),
                    ("web-tasks-phone.png", "/web/tasks", PHONE),
                    ("web-complaint.png", f"/web/complaints/{made[0].code}", DESKTOP),
                    ("web-map.png", "/web/map", DESKTOP),
                ]
                for name, where_to, size in shots:
                    await page.set_viewport_size(size)
                    await page.goto(origin + where_to)
                    await page.wait_for_load_state("networkidle")
                    target = folder / name
                    target.write_bytes(small_png(await page.screenshot()))
                    written.append(target)
    return written


def main() -> int:
    for path in asyncio.run(take(DOCS)):
        print(f"{path} ({path.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
