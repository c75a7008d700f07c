"""Open311 on PostgreSQL (migration 0008; see storage/sqlite/open311.py):
the integrations' keys (hashes only), the reporters who came through them
with their contact, and the complaints that may be published."""

from __future__ import annotations

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
from storage.postgres.base import PostgresBase
from storage.postgres.db import instant, rows_changed

_UNPUBLISHED = sorted(f.value for f in UNPUBLISHED_FAMILIES)
_HIDDEN_STATES = sorted(s.value for s in UNPUBLISHED_STATES)
_NOTES = [a.value for a in PUBLIC_NOTES]
_NOT_UPDATES = [a.value for a in NOT_UPDATES]


class PostgresOpen311(PostgresBase):
    async def add_key(self, name: str, key_hash: str, at: datetime) -> bool:
        async with self.db.durable_transaction() as conn:  # the key is printed at once
            added = await conn.fetchval(
                "INSERT INTO api_keys (name, key_hash, created_at) VALUES ($1, $2, $3)"
                " ON CONFLICT (name) DO UPDATE SET key_hash = excluded.key_hash,"
                " created_at = excluded.created_at, revoked_at = NULL, last_used_at = NULL"
                " WHERE api_keys.revoked_at IS NOT NULL RETURNING name",
                name,
                key_hash,
                instant(at),
            )
        return added is not None

    async def revoke_key(self, name: str, at: datetime) -> bool:
        changed = await self.db.execute(
            "UPDATE api_keys SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
            instant(at),
            name,
        )
        return changed == 1

    async def api_keys(self) -> list[ApiKey]:
        rows = await self._all(
            "SELECT name, created_at, revoked_at, last_used_at FROM api_keys ORDER BY name"
        )
        return [
            ApiKey(r["name"], r["created_at"], r["revoked_at"], r["last_used_at"]) for r in rows
        ]

    async def key_holder(self, key_hash: str, at: datetime) -> str | None:
        name = await self.db.fetchval(
            "UPDATE api_keys SET last_used_at = $1 WHERE key_hash = $2 AND revoked_at IS NULL"
            " RETURNING name",
            instant(at),
            key_hash,
        )
        return None if name is None else str(name)

    async def add_reporter(
        self, key: str, phone: str | None, email: str | None, language: str, at: datetime
    ) -> int:
        async with self.db.transaction() as conn:
            person_id: int = await conn.fetchval(
                "INSERT INTO people (display_name, language, created_at) VALUES (NULL, $1, $2)"
                " RETURNING id",
                language,
                instant(at),
            )
            status = await conn.execute(
                "INSERT INTO open311_reporters (person_id, api_key, phone, email, created_at)"
                " VALUES ($1, $2, $3, $4, $5)",
                person_id,
                key,
                phone,
                email,
                instant(at),
            )
            assert rows_changed(status) == 1
        return person_id

    async def drop_reporter(self, person_id: int) -> None:
        async with self.db.transaction() as conn:
            if await conn.fetchval(
                "SELECT 1 FROM complaint_people WHERE person_id = $1 LIMIT 1", person_id
            ):
                return
            await conn.execute("DELETE FROM open311_reporters WHERE person_id = $1", person_id)
            await conn.execute("DELETE FROM people WHERE id = $1", person_id)

    async def reporters_since(self, key: str, since: datetime) -> int:
        count = await self.db.fetchval(
            "SELECT COUNT(*) FROM open311_reporters WHERE api_key = $1 AND created_at >= $2",
            key,
            instant(since),
        )
        return int(count or 0)

    async def contact_of(self, person_id: int) -> tuple[str | None, str | None] | None:
        row = await self._one(
            "SELECT phone, email FROM open311_reporters WHERE person_id = $1", person_id
        )
        return None if row is None else (row["phone"], row["email"])

    async def published(self, query: RequestQuery) -> list[Published]:
        where = ["family <> ALL($1::text[])", "state <> ALL($2::text[])", "NOT concerns_leadership"]
        params: list[object] = [_UNPUBLISHED, _HIDDEN_STATES]

        def param(value: object) -> str:
            params.append(value)
            return f"${len(params)}"

        if query.ids:
            where.append(f"id = ANY({param(list(query.ids))}::bigint[])")
        else:
            if query.start is not None:
                where.append(f"created_at >= {param(instant(query.start))}")
            if query.end is not None:
                where.append(f"created_at <= {param(instant(query.end))}")
            if query.categories:
                where.append(f"category = ANY({param(list(query.categories))}::text[])")
            if query.states:
                where.append(f"state = ANY({param([s.value for s in query.states])}::text[])")
        sql = (
            f"SELECT * FROM complaints WHERE {' AND '.join(where)}"
            f" ORDER BY created_at DESC, id DESC LIMIT {param(MAX_REQUESTS)}"
        )
        complaints = await self._complaints(sql, *params)
        return await self._with_history(complaints)

    async def _with_history(self, complaints: list[Complaint]) -> list[Published]:
        """Each complaint with its last change and last public note."""
        ids = [c.id for c in complaints]
        if not ids:
            return []
        updated = {
            r[0]: r[1]
            for r in await self._all(
                "SELECT complaint_id, MAX(at) FROM complaint_events"
                " WHERE complaint_id = ANY($1::bigint[]) AND action <> ALL($2::text[])"
                " GROUP BY complaint_id",
                ids,
                _NOT_UPDATES,
            )
        }
        notes = {
            r[0]: r[1]
            for r in await self._all(
                "SELECT DISTINCT ON (complaint_id) complaint_id, note FROM complaint_events"
                " WHERE complaint_id = ANY($1::bigint[]) AND action = ANY($2::text[])"
                " AND COALESCE(note, '') <> '' ORDER BY complaint_id, id DESC",
                ids,
                _NOTES,
            )
        }
        return [Published(c, updated.get(c.id, c.created_at), notes.get(c.id)) for c in complaints]
