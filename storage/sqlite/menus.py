"""Each person's last numbered list, for a channel without buttons (Zalo):
a bare number typed later acts on what that list offered (migration 0014)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from bot.ports import Menu
from storage.sqlite.db import Database, parse_utc, utc_text


class SqliteMenus:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def remember_menu(
        self, person_id: int, channel: str, items: Sequence[Sequence[str]], at: datetime
    ) -> None:
        await self.db.write(
            "INSERT INTO menus (person_id, channel, items, over_prompt, shown_at)"
            " VALUES (?, ?, ?, 1, ?) ON CONFLICT (person_id) DO UPDATE SET"
            " channel = excluded.channel, items = excluded.items, over_prompt = 1,"
            " shown_at = excluded.shown_at",
            (person_id, channel, json.dumps([list(i) for i in items]), utc_text(at)),
        )

    async def menu_of(self, person_id: int) -> Menu | None:
        rows = await self.db.conn.execute_fetchall(
            "SELECT channel, items, over_prompt, shown_at FROM menus WHERE person_id = ?",
            (person_id,),
        )
        for row in rows:
            items = tuple(tuple(str(v) for v in item) for item in json.loads(row[1]))
            return Menu(str(row[0]), items, bool(row[2]), parse_utc(row[3]))
        return None

    async def prompt_shown(self, person_id: int) -> None:
        await self.db.write(
            "UPDATE menus SET over_prompt = 0 WHERE person_id = ? AND over_prompt = 1",
            (person_id,),
        )
