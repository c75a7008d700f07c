"""Open311 on SQLite (migration 0017): the integrations' keys (hashes
only), the reporters who came through them with their contact, and the
complaints that may be published, read for ``GET requests``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.complaints import Complaint
from bot.domain.open311 import (
    MAX_REQUESTS,
    NOT_UPDATES,
    PUBLIC_NOTES,
    UNPUBLISHED_FAMILIES,
    UNPUBLISHED_STATES,
    RequestQuery,
)
from bot.ports import ApiKey, Published
from storage.sqlite.base import SqliteBase
from storage.sqlite.db import parse_utc, utc_text
from storage.sqlite.rows import maybe_time

_UNPUBLISHED = ",".join(f"'{f.value}'" for f in sorted(UNPUBLISHED_FAMILIES))
_HIDDEN_STATES = ",".join(f"'{s.value}'" for s in sorted(UNPUBLISHED_STATES))
_NOTES = ",".join(f"'{a.value}'" for a in PUBLIC_NOTES)
_NOT_UPDATES = ",".join(f"'{a.value}'" for a in NOT_UPDATES)


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


class SqliteOpen311(SqliteBase):
    async def add_key(self, name: str, key_hash: str, at: datetime) -> bool:
        rows = await self.db.write_returning(
            "INSERT INTO api_keys (name, key_hash, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET key_hash = excluded.key_hash,"
            " created_at = excluded.created_at, revoked_at = NULL, last_used_at = NULL"
            " WHERE api_keys.revoked_at IS NOT NULL RETURNING name",
            (name, key_hash, utc_text(at)),
        )
        return bool(rows)

    async def revoke_key(self, name: str, at: datetime) -> bool:
        changed = await self.db.write(
            "UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
            (utc_text(at), name),
        )
        return changed == 1

    async def api_keys(self) -> list[ApiKey]:
        rows = await self._all(
            "SELECT name, created_at, revoked_at, last_used_at FROM api_keys ORDER BY name"
        )
        return [
            ApiKey(
                r["name"],
                parse_utc(r["created_at"]),
                maybe_time(r["revoked_at"]),
                maybe_time(r["last_used_at"]),
            )
            for r in rows
        ]

    async def key_holder(self, key_hash: str, at: datetime) -> str | None:
        rows = await self.db.write_returning(
            "UPDATE api_keys SET last_used_at = ? WHERE key_hash = ? AND revoked_at IS NULL"
            " RETURNING name",
            (utc_text(at), key_hash),
        )
        return str(rows[0]["name"]) if rows else None

    async def add_reporter(
        self, key: str, phone: str | None, email: str | None, language: str, at: datetime
    ) -> int:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO people (display_name, language, created_at) VALUES (NULL, ?, ?)",
                (language, utc_text(at)),
            )
            person_id = cur.lastrowid
            assert person_id is not None
            await conn.execute(
                "INSERT INTO open311_reporters (person_id, api_key, phone, email, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (person_id, key, phone, email, utc_text(at)),
            )
        return person_id

    async def drop_reporter(self, person_id: int) -> None:
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT 1 FROM complaint_people WHERE person_id = ? LIMIT 1", (person_id,)
            ) as cur:
                if await cur.fetchone() is not None:
                    return
            await conn.execute("DELETE FROM open311_reporters WHERE person_id = ?", (person_id,))
            await conn.execute("DELETE FROM people WHERE id = ?", (person_id,))

    async def reporters_since(self, key: str, since: datetime) -> int:
        row = await self._one(
            "SELECT COUNT(*) AS n FROM open311_reporters WHERE api_key = ? AND created_at >= ?",
            (key, utc_text(since)),
        )
        return int(row["n"]) if row is not None else 0

    async def contact_of(self, person_id: int) -> tuple[str | None, str | None] | None:
        row = await self._one(
            "SELECT phone, email FROM open311_reporters WHERE person_id = ?", (person_id,)
        )
        return None if row is None else (row["phone"], row["email"])

    async def published(self, query: RequestQuery) -> list[Published]:
        sql = (
            f"SELECT * FROM complaints WHERE family NOT IN ({_UNPUBLISHED})"
            f" AND state NOT IN ({_HIDDEN_STATES}) AND concerns_leadership = 0"
        )
        params: list[object] = []
        if query.ids:
            sql += f" AND id IN ({_marks(query.ids)})"
            params += query.ids
        else:
            if query.start is not None:
                sql += " AND created_at >= ?"
                params.append(utc_text(query.start))
            if query.end is not None:
                sql += " AND created_at <= ?"
                params.append(utc_text(query.end))
            if query.categories:
                sql += f" AND category IN ({_marks(query.categories)})"
                params += query.categories
            if query.states:
                sql += f" AND state IN ({_marks(query.states)})"
                params += [s.value for s in query.states]
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        complaints = await self._complaints(sql, [*params, MAX_REQUESTS])
        return await self._with_history(complaints)

    async def _with_history(self, complaints: list[Complaint]) -> list[Published]:
        """Each complaint with its last change and last public note."""
        ids = [c.id for c in complaints]
        if not ids:
            return []
        marks = _marks(ids)
        updated = {
            r[0]: parse_utc(r[1])
            for r in await self._all(
                "SELECT complaint_id, MAX(at) FROM complaint_events"
                f" WHERE complaint_id IN ({marks}) AND action NOT IN ({_NOT_UPDATES})"
                " GROUP BY complaint_id",
                ids,
            )
        }
        notes = {
            r[0]: r[1]
            for r in await self._all(
                "SELECT complaint_id, note FROM complaint_events WHERE id IN"
                " (SELECT MAX(id) FROM complaint_events"
                f" WHERE complaint_id IN ({marks}) AND action IN ({_NOTES})"
                " AND COALESCE(note, '') <> '' GROUP BY complaint_id)",
                ids,
            )
        }
        return [Published(c, updated.get(c.id, c.created_at), notes.get(c.id)) for c in complaints]
