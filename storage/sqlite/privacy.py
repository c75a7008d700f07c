"""A person's own data: everything kept about them, and its erasure
(contact details masked in what stays, no erased bytes left on disk)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from storage.sqlite.accounts import ACCOUNT_ORDER, SAME_PERSON
from storage.sqlite.base import SqliteBase
from storage.sqlite.db import utc_text
from storage.sqlite.inline import InlineConnection
from storage.sqlite.rows import (
    mask_what_they_wrote,
)


class SqlitePrivacy(SqliteBase):
    async def person_data(self, person_id: int) -> dict[str, Any]:
        """Everything stored about one person, as plain data: who they are
        and their accounts, what they reported, what they did (under any
        record merged into theirs, too), and any draft."""
        person = await self._one(
            "SELECT id, display_name, language, created_at FROM people WHERE id = ?", (person_id,)
        )
        accounts = await self._all(
            "SELECT channel, external_id, display_name, created_at, last_seen_at, unreachable_at"
            f" FROM accounts WHERE person_id = ? ORDER BY {ACCOUNT_ORDER}",
            (person_id,),
        )
        reported = await self._all(
            "SELECT c.* FROM complaints c JOIN complaint_people p ON p.complaint_id = c.id"
            " WHERE p.person_id = ? AND p.role = 'reporter' ORDER BY c.id",
            (person_id,),
        )
        # What they follow (issue 17): their own row, not the others' report.
        following = await self._all(
            "SELECT complaint_id, joined_at, show_name, followed_from FROM complaint_people"
            " WHERE person_id = ? AND role = 'follower' ORDER BY complaint_id",
            (person_id,),
        )
        photos = await self._photos({r["id"] for r in reported})
        acted = await self._all(
            "SELECT complaint_id, at, action, note FROM complaint_events"
            f" WHERE actor_person_id IN {SAME_PERSON} ORDER BY id",
            (person_id, person_id),
        )
        draft = await self._one("SELECT * FROM conversations WHERE person_id = ?", (person_id,))
        binding = await self._one(
            "SELECT staff_id FROM staff_bindings WHERE person_id = ?", (person_id,)
        )
        return {
            "person": dict(person) if person else {},
            "accounts": [dict(a) for a in accounts],
            "staff_id": binding["staff_id"] if binding else None,
            "complaints": [
                {
                    **dict(r),
                    "photos": [
                        {"kind": kind, "media": photo.media_id}
                        for kind, photo in photos.get(r["id"], [])
                    ],
                }
                for r in reported
            ],
            "following": [dict(r) for r in following],
            "actions": [dict(r) for r in acted],
            "draft": {**dict(draft), "data": json.loads(draft["data"])} if draft else None,
        }

    async def forget_person(self, person_id: int, at: datetime) -> None:
        """Detach a person from everything: their complaints stay (they are
        public business) but nothing left says who filed them."""
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM accounts WHERE person_id = ?", (person_id,))
            await conn.execute(
                f"UPDATE people SET display_name = NULL WHERE id IN {SAME_PERSON}",
                (person_id, person_id),
            )
            draft = list(
                await conn.execute_fetchall(
                    "SELECT j.value FROM conversations c, json_each(c.data, '$.photos') j"
                    " WHERE c.person_id = ? AND j.type = 'integer'",
                    (person_id,),
                )
            )
            await conn.execute("DELETE FROM conversations WHERE person_id = ?", (person_id,))
            # They stop following others' reports (whose photos are not theirs to erase).
            await conn.execute(
                "DELETE FROM complaint_people WHERE person_id = ? AND role = 'follower'",
                (person_id,),
            )
            await conn.execute("DELETE FROM button_messages WHERE person_id = ?", (person_id,))
            await conn.execute("DELETE FROM menus WHERE person_id = ?", (person_id,))
            await conn.execute("DELETE FROM blocked_people WHERE person_id = ?", (person_id,))
            await conn.execute(
                "UPDATE outbox SET given_up_at = ?, last_error = 'forgotten'"
                " WHERE person_id = ? AND sent_at IS NULL AND given_up_at IS NULL",
                (utc_text(at), person_id),
            )
            theirs = (
                " WHERE kind IN ('dispute', 'info') AND media_id IS NOT NULL AND complaint_id IN"
                " (SELECT complaint_id FROM complaint_people WHERE person_id = ?)"
            )
            sent = list(
                await conn.execute_fetchall(
                    f"SELECT media_id FROM complaint_photos{theirs}", (person_id,)
                )
            )
            await conn.execute(f"UPDATE complaint_photos SET media_id = NULL{theirs}", (person_id,))
            await erase_unused_media(conn, {r[0] for r in draft} | {r[0] for r in sent})
            await mask_what_they_wrote(conn, person_id)
        # secure_delete zeroed what the updates freed; the WAL still holds
        # the pages as they were, until it is copied back and truncated.
        await self.db.scrub_wal()


# Media a complaint or someone's draft still shows.  (A message waiting to
# go does not keep a forgotten person's photo: it goes without it.)
_MEDIA_IN_USE = (
    "SELECT media_id FROM complaint_photos WHERE media_id IS NOT NULL"
    " UNION SELECT j.value FROM conversations c, json_each(c.data, '$.photos') j"
    " WHERE j.type = 'integer'"
)


async def erase_unused_media(conn: InlineConnection, media_ids: set[int]) -> None:
    """Erase the bytes (and handles) of these media, unless something else
    still shows the same photo: the same bytes sent by someone else are one
    row (they are kept once), and stay theirs."""
    if not media_ids:
        return
    marks = ",".join("?" * len(media_ids))
    for sql in (
        f"DELETE FROM media_refs WHERE media_id IN ({marks}) AND media_id NOT IN ({_MEDIA_IN_USE})",
        f"DELETE FROM media WHERE id IN ({marks}) AND id NOT IN ({_MEDIA_IN_USE})",
    ):
        await conn.execute(sql, sorted(media_ids))
