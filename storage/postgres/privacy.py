"""A person's own data: everything kept about them, and its erasure
(contact details masked in what stays)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from storage.postgres.accounts import ACCOUNT_ORDER, SAME_PERSON
from storage.postgres.base import PostgresBase
from storage.postgres.db import Conn, instant
from storage.postgres.rows import mask_what_they_wrote


def plain(row: asyncpg.Record) -> dict[str, Any]:
    """A row as the SQLite engine gives it to /mydata: instants as UTC text
    (``YYYY-MM-DD HH:MM:SS``), so a resident's file reads the same from
    either engine."""
    return {
        key: instant(value).strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else value
        for key, value in row.items()
    }


class PostgresPrivacy(PostgresBase):
    async def person_data(self, person_id: int) -> dict[str, Any]:
        """Everything stored about one person, as plain data: who they are
        and their accounts, what they reported, what they did (under any
        record merged into theirs, too), and any draft."""
        person = await self._one(
            "SELECT id, display_name, language, created_at FROM people WHERE id = $1", person_id
        )
        accounts = await self._all(
            "SELECT channel, external_id, display_name, created_at, last_seen_at, unreachable_at"
            f" FROM accounts WHERE person_id = $1 ORDER BY {ACCOUNT_ORDER}",
            person_id,
        )
        reported = await self._all(
            "SELECT c.* FROM complaints c JOIN complaint_people p ON p.complaint_id = c.id"
            " WHERE p.person_id = $1 AND p.role = 'reporter' ORDER BY c.id",
            person_id,
        )
        # What they follow (issue 17): their own row, not the others' report.
        following = await self._all(
            "SELECT complaint_id, joined_at, show_name, followed_from FROM complaint_people"
            " WHERE person_id = $1 AND role = 'follower' ORDER BY complaint_id",
            person_id,
        )
        photos = await self._photos({r["id"] for r in reported})
        acted = await self._all(
            "SELECT complaint_id, at, action, note FROM complaint_events"
            f" WHERE actor_person_id IN {SAME_PERSON} ORDER BY id",
            person_id,
        )
        draft = await self._one("SELECT * FROM conversations WHERE person_id = $1", person_id)
        staff = await self.db.fetchval(
            "SELECT staff_id FROM staff_bindings WHERE person_id = $1", person_id
        )
        return {
            "person": plain(person) if person else {},
            "accounts": [plain(a) for a in accounts],
            "staff_id": staff,
            "complaints": [
                {
                    **plain(r),
                    "photos": [
                        {"kind": kind, "media": photo.media_id}
                        for kind, photo in photos.get(r["id"], [])
                    ],
                }
                for r in reported
            ],
            "following": [plain(r) for r in following],
            "actions": [plain(r) for r in acted],
            "draft": plain(draft) if draft else None,
        }

    async def forget_person(self, person_id: int, at: datetime) -> None:
        """Detach a person from everything: their complaints stay (they are
        public business) but nothing left says who filed them, and the
        photos only they showed are erased.  The old row versions leave the
        tables at the next VACUUM (autovacuum, on the server); see README,
        "Running for a city"."""
        async with self.db.durable_transaction() as conn:
            await conn.execute("DELETE FROM accounts WHERE person_id = $1", person_id)
            await conn.execute(
                f"UPDATE people SET display_name = NULL WHERE id IN {SAME_PERSON}", person_id
            )
            draft = await conn.fetch(
                f"SELECT {_PHOTO_ID} FROM conversations c, {_DRAFT_PHOTOS} j"
                f" WHERE c.person_id = $1 AND {_IS_ID}",
                person_id,
            )
            await conn.execute("DELETE FROM conversations WHERE person_id = $1", person_id)
            # They stop following others' reports (whose photos are not theirs to erase).
            await conn.execute(
                "DELETE FROM complaint_people WHERE person_id = $1 AND role = 'follower'",
                person_id,
            )
            await conn.execute("DELETE FROM button_messages WHERE person_id = $1", person_id)
            await conn.execute("DELETE FROM menus WHERE person_id = $1", person_id)
            await conn.execute("DELETE FROM blocked_people WHERE person_id = $1", person_id)
            await conn.execute(
                "UPDATE outbox SET given_up_at = $1, last_error = 'forgotten'"
                " WHERE person_id = $2 AND sent_at IS NULL AND given_up_at IS NULL",
                instant(at),
                person_id,
            )
            theirs = (
                " WHERE kind IN ('dispute', 'info') AND media_id IS NOT NULL AND complaint_id IN"
                " (SELECT complaint_id FROM complaint_people WHERE person_id = $1)"
            )
            sent = await conn.fetch(f"SELECT media_id FROM complaint_photos{theirs}", person_id)
            await conn.execute(f"UPDATE complaint_photos SET media_id = NULL{theirs}", person_id)
            await erase_unused_media(conn, {r[0] for r in draft} | {r[0] for r in sent})
            await mask_what_they_wrote(conn, person_id)


# A draft's photos: the media ids in its data's "photos" list.
_DRAFT_PHOTOS = (
    "jsonb_array_elements(CASE jsonb_typeof(c.data -> 'photos')"
    " WHEN 'array' THEN c.data -> 'photos' ELSE '[]'::jsonb END)"
)
_IS_ID = "jsonb_typeof(j.value) = 'number'"
_PHOTO_ID = "(j.value #>> '{}')::bigint"

# Media a complaint or someone's draft still shows.  (A message waiting to
# go does not keep a forgotten person's photo: it goes without it.)
_MEDIA_IN_USE = (
    "SELECT media_id FROM complaint_photos WHERE media_id IS NOT NULL"
    f" UNION SELECT {_PHOTO_ID} FROM conversations c, {_DRAFT_PHOTOS} j WHERE {_IS_ID}"
)


async def erase_unused_media(conn: Conn, media_ids: set[int]) -> None:
    """Erase the bytes (and handles) of these media, unless something else
    still shows the same photo: the same bytes sent by someone else are one
    row (they are kept once), and stay theirs."""
    if not media_ids:
        return
    for sql in (
        "DELETE FROM media_refs WHERE media_id = ANY($1::bigint[])"
        f" AND media_id NOT IN ({_MEDIA_IN_USE})",
        f"DELETE FROM media WHERE id = ANY($1::bigint[]) AND id NOT IN ({_MEDIA_IN_USE})",
    ):
        await conn.execute(sql, sorted(media_ids))
