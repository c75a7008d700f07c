"""The project's own photos: bytes kept once per content, and each
channel's handles for them (migration 0012)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.ports import StoredMedia
from storage.sqlite.base import SqliteBase
from storage.sqlite.db import utc_text


class SqliteMedia(SqliteBase):
    async def put_media(self, sha256: str, content: bytes, mime: str, at: datetime) -> int:
        # One statement: two tasks keeping the same bytes at once get one row.
        rows = await self.db.write_returning(
            "INSERT INTO media (sha256, mime, size, content, created_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (sha256) DO UPDATE SET sha256 = excluded.sha256 RETURNING id",
            (sha256, mime, len(content), content, utc_text(at)),
        )
        return int(rows[0]["id"])

    async def adopt_media_ref(self, channel: str, ref: str, mime: str, at: datetime) -> int:
        async with self.db.transaction() as conn:
            rows = list(
                await conn.execute_fetchall(
                    "SELECT media_id FROM media_refs WHERE channel = ? AND ref = ?",
                    (channel, ref),
                )
            )
            if rows:
                return int(rows[0]["media_id"])
            cursor = await conn.execute(
                "INSERT INTO media (mime, created_at) VALUES (?, ?)", (mime, utc_text(at))
            )
            media_id = cursor.lastrowid
            assert media_id is not None
            await conn.execute(
                "INSERT INTO media_refs (channel, ref, media_id, created_at) VALUES (?, ?, ?, ?)",
                (channel, ref, media_id, utc_text(at)),
            )
            return media_id

    async def media_of_ref(self, channel: str, ref: str) -> int | None:
        row = await self._one(
            "SELECT media_id FROM media_refs WHERE channel = ? AND ref = ?", (channel, ref)
        )
        return int(row["media_id"]) if row is not None else None

    async def media_content(self, media_id: int) -> StoredMedia | None:
        row = await self._one(
            "SELECT content, mime FROM media WHERE id = ? AND content IS NOT NULL", (media_id,)
        )
        return StoredMedia(bytes(row["content"]), row["mime"]) if row is not None else None

    async def media_refs(self, media_ids: Sequence[int], channel: str) -> dict[int, str]:
        if not media_ids:
            return {}
        marks = ",".join("?" * len(set(media_ids)))
        rows = await self._all(
            "SELECT media_id, ref FROM media_refs"
            f" WHERE channel = ? AND media_id IN ({marks}) ORDER BY rowid",
            (channel, *sorted(set(media_ids))),
        )
        return {int(r["media_id"]): r["ref"] for r in rows}  # the newest wins

    async def remember_media_ref(self, media_id: int, channel: str, ref: str, at: datetime) -> None:
        await self.db.write(
            "INSERT INTO media_refs (channel, ref, media_id, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (channel, ref) DO NOTHING",
            (channel, ref, media_id, utc_text(at)),
        )
