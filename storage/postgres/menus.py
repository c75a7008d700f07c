"""Each person's last numbered list on PostgreSQL, for a channel without
buttons (Zalo): a bare number typed later acts on what that list offered
(migration 0005; see storage/sqlite/menus.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.ports import Menu
from storage.postgres.db import Database, instant


class PostgresMenus:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def remember_menu(
        self, person_id: int, channel: str, items: Sequence[Sequence[str]], at: datetime
    ) -> None:
        await self.db.execute(
            "INSERT INTO menus (person_id, channel, items, over_prompt, shown_at)"
            " VALUES ($1, $2, $3, TRUE, $4) ON CONFLICT (person_id) DO UPDATE SET"
            " channel = excluded.channel, items = excluded.items, over_prompt = TRUE,"
            " shown_at = excluded.shown_at",
            person_id,
            channel,
            [list(item) for item in items],
            instant(at),
        )

    async def menu_of(self, person_id: int) -> Menu | None:
        row = await self.db.fetchrow(
            "SELECT channel, items, over_prompt, shown_at FROM menus WHERE person_id = $1",
            person_id,
        )
        if row is None:
            return None
        items = tuple(tuple(str(v) for v in item) for item in row["items"])
        return Menu(str(row["channel"]), items, bool(row["over_prompt"]), row["shown_at"])

    async def prompt_shown(self, person_id: int) -> None:
        await self.db.execute(
            "UPDATE menus SET over_prompt = FALSE WHERE person_id = $1 AND over_prompt",
            person_id,
        )
