"""The project's own photos: bytes kept once per content, and each
channel's handles for them (migration 0004; storage/sqlite/media.py is the
same on SQLite)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.ports import StoredMedia
from storage.postgres.base import PostgresBase
from storage.postgres.db import instant


class PostgresMedia(PostgresBase):
    async def put_media(self, sha256: str, content: bytes, mime: str, at: datetime) -> int:
        # One statement: two processes keeping the same bytes at once get one row.
        media_id: int = await self.db.fetchval(
            "INSERT INTO media (sha256, mime, size, content, created_at)"
            " VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (sha256) DO UPDATE SET sha256 = excluded.sha256 RETURNING id",
            sha256,
            mime,
            len(content),
            content,
            instant(at),
        )
        return media_id

    async def adopt_media_ref(self, channel: str, ref: str, mime: str, at: datetime) -> int:
        """The handle's media, or a new row without bytes for it; the
        handle's row is claimed first (ON CONFLICT), so two processes
        adopting one handle at once make one media row."""
        async with self.db.transaction() as conn:
            found: int | None = await conn.fetchval(
                "SELECT media_id FROM media_refs WHERE channel = $1 AND ref = $2", channel, ref
            )
            if found is not None:
                return found
            media_id: int = await conn.fetchval(
                "INSERT INTO media (mime, created_at) VALUES ($1, $2) RETURNING id",
                mime,
                instant(at),
            )
            claimed = await conn.fetchval(
                "INSERT INTO media_refs (channel, ref, media_id, created_at)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (channel, ref) DO NOTHING RETURNING media_id",
                channel,
                ref,
                media_id,
                instant(at),
            )
            if claimed is None:  # another process adopted it meanwhile: theirs
                await conn.execute("DELETE FROM media WHERE id = $1", media_id)
                mine: int = await conn.fetchval(
                    "SELECT media_id FROM media_refs WHERE channel = $1 AND ref = $2",
                    channel,
                    ref,
                )
                return mine
            return media_id

    async def media_of_ref(self, channel: str, ref: str) -> int | None:
        found: int | None = await self.db.fetchval(
            "SELECT media_id FROM media_refs WHERE channel = $1 AND ref = $2", channel, ref
        )
        return found

    async def media_content(self, media_id: int) -> StoredMedia | None:
        row = await self._one(
            "SELECT content, mime FROM media WHERE id = $1 AND content IS NOT NULL", media_id
        )
        return StoredMedia(bytes(row["content"]), row["mime"]) if row is not None else None

    async def media_refs(self, media_ids: Sequence[int], channel: str) -> dict[int, str]:
        """Each media's newest handle on ``channel``."""
        if not media_ids:
            return {}
        rows = await self._all(
            "SELECT DISTINCT ON (media_id) media_id, ref FROM media_refs"
            " WHERE channel = $1 AND media_id = ANY($2::bigint[])"
            " ORDER BY media_id, ordinal DESC",
            channel,
            sorted(set(media_ids)),
        )
        return {r["media_id"]: r["ref"] for r in rows}

    async def remember_media_ref(self, media_id: int, channel: str, ref: str, at: datetime) -> None:
        await self.db.execute(
            "INSERT INTO media_refs (channel, ref, media_id, created_at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (channel, ref) DO NOTHING",
            channel,
            ref,
            media_id,
            instant(at),
        )
