"""The aiosqlite implementation of `bot.ports.Store`.

Every method that writes does it in one transaction; every multi-row change
(a complaint with its event and its outbox rows) is atomic.  Nothing here
formats a message: outbox rows hold a kind and plain parameters.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import aiosqlite

from bot.domain.complaints import Action, Complaint, Event, Photo, State
from bot.domain.conversation import ConversationState
from bot.domain.orgchart import (
    Area,
    AreaKind,
    Category,
    EscalationLevel,
    EscalationTarget,
    Family,
    GeoPoint,
    OrgChart,
    Role,
    StaffMember,
    WardPolicy,
)
from bot.domain.redact import mask_contacts, mask_in
from bot.domain.routing import Reach
from bot.ports import (
    CHANGEABLE,
    TIME_FIELDS,
    AdminAction,
    AdminEntry,
    ButtonMessage,
    Change,
    DueComplaint,
    Identity,
    Invite,
    InviteUse,
    NewComplaint,
    Notice,
    OutboxItem,
    OwnerGroup,
    Person,
    SweepWrites,
)
from storage.sqlite.db import Database, parse_utc, utc_text


def _maybe_time(value: str | None) -> datetime | None:
    return parse_utc(value) if value else None


def _person(row: aiosqlite.Row) -> Person:
    return Person(
        id=row["id"],
        channel=row["channel"],
        external_id=row["external_id"],
        display_name=row["display_name"],
        language=row["language"],
    )


class SqliteStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    @property
    def conn(self) -> aiosqlite.Connection:
        return self.db.conn

    # Each read is one trip to aiosqlite's thread: `execute_fetchall` runs the
    # query and fetches in one go, where execute + fetch + close took three.
    async def _one(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        rows = await self.conn.execute_fetchall(sql, params)
        for row in rows:
            return row
        return None

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        return list(await self.conn.execute_fetchall(sql, params))

    # ---- people and staff -------------------------------------------------------------------

    async def upsert_person(
        self, channel: str, external_id: str, display_name: str | None, default_language: str
    ) -> Person:
        identity = await self.identify_person(channel, external_id, display_name, default_language)
        return identity.person

    async def identify_person(
        self, channel: str, external_id: str, display_name: str | None, default_language: str
    ) -> Identity:
        """Every update starts here, so it is one read in the usual case —
        the person, their staff binding and the abuse list together — and
        writes only for a newcomer, a changed name or a person who was
        unreachable and has written again."""
        sql = (
            "SELECT p.*, b.staff_id AS bound_staff,"
            " EXISTS (SELECT 1 FROM blocked_people k WHERE k.person_id = p.id) AS blocked"
            " FROM people p LEFT JOIN staff_bindings b ON b.person_id = p.id"
            " WHERE p.channel = ? AND p.external_id = ?"
        )
        row = await self._one(sql, (channel, external_id))
        if row is None:
            await self.db.write(
                "INSERT INTO people (channel, external_id, display_name, language, created_at)"
                " VALUES (?, ?, ?, ?, datetime('now'))"
                " ON CONFLICT (channel, external_id) DO NOTHING",
                (channel, external_id, display_name, default_language),
            )
            row = await self._one(sql, (channel, external_id))
            assert row is not None
        person = _person(row)
        returned = row["unreachable_at"] is not None
        if returned:
            # They wrote to the bot: they can be reached again.
            await self.mark_reachable(person.id)
        if display_name and person.display_name != display_name:
            await self.db.write(
                "UPDATE people SET display_name = ? WHERE id = ?", (display_name, person.id)
            )
            person = replace(person, display_name=display_name)
        staff = row["bound_staff"]
        return Identity(
            person, str(staff) if staff is not None else None, bool(row["blocked"]), returned
        )

    async def get_person(self, person_id: int) -> Person | None:
        row = await self._one("SELECT * FROM people WHERE id = ?", (person_id,))
        return _person(row) if row else None

    async def set_language(self, person_id: int, language: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE people SET language = ? WHERE id = ?", (language, person_id))

    async def staff_of_person(self, person_id: int) -> str | None:
        row = await self._one(
            "SELECT staff_id FROM staff_bindings WHERE person_id = ?", (person_id,)
        )
        return str(row["staff_id"]) if row else None

    async def person_of_staff(self, staff_id: str) -> Person | None:
        row = await self._one(
            "SELECT p.* FROM people p JOIN staff_bindings b ON b.person_id = p.id"
            " WHERE b.staff_id = ?",
            (staff_id,),
        )
        return _person(row) if row else None

    async def find_person(self, channel: str, external_id: str) -> Person | None:
        row = await self._one(
            "SELECT * FROM people WHERE channel = ? AND external_id = ?", (channel, external_id)
        )
        return _person(row) if row else None

    async def bind_staff(self, staff_id: str, person_id: int, at: datetime) -> None:
        async with self.db.transaction() as conn:
            await _bump_roster(conn)
            await conn.execute("DELETE FROM staff_bindings WHERE person_id = ?", (person_id,))
            await conn.execute(
                "INSERT INTO staff_bindings (staff_id, person_id, bound_at) VALUES (?, ?, ?)"
                " ON CONFLICT (staff_id) DO UPDATE SET person_id = excluded.person_id,"
                " bound_at = excluded.bound_at",
                (staff_id, person_id, utc_text(at)),
            )
        self.db.outbox_changes += 1  # rows that waited for this account can go now

    # ---- org chart --------------------------------------------------------------------------

    async def replace_org(
        self,
        chart: OrgChart,
        reroutes: Sequence[Change] = (),
        notices: Sequence[Notice] = (),
        at: datetime | None = None,
        audit: AdminEntry | None = None,
        *,
        drop_pending_of: Sequence[str] = (),
    ) -> bool:
        """Replace the whole chart in one transaction and bind the Telegram
        accounts the chart names; complaints whose owner is gone move in the
        same transaction (``reroutes``), nothing more goes to the staff in
        ``drop_pending_of`` (they left), and the admin log records who did it
        (``audit``).  False, and nothing applied, if any of those complaints
        changed meanwhile."""
        try:
            async with self.db.transaction() as conn:
                await _bump_roster(conn)
                if drop_pending_of:
                    assert at is not None, "giving rows up needs the time"
                    await _drop_pending(conn, drop_pending_of, (), at)
                for change in reroutes:
                    if not await self._write_change(conn, change):
                        raise _Conflict
                if audit is not None:
                    await _insert_admin_entry(conn, audit)
                if notices:
                    assert at is not None, "notices need the time they were written"
                    await self._insert_notices(conn, notices, at)

                for table in (
                    "ward_policies",
                    "family_defaults",
                    "assignments",
                    "staff_wards",
                    "staff_roles",
                    "categories",
                ):
                    await conn.execute(f"DELETE FROM {table}")
                await conn.execute("DELETE FROM areas")
                await conn.executemany(
                    "INSERT INTO areas (code, name, kind, parent, polygon, centre_lon, centre_lat,"
                    " position) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            a.code,
                            a.name,
                            a.kind.value,
                            a.parent,
                            json.dumps([[p.lon, p.lat] for p in a.polygon]) if a.polygon else None,
                            a.centre.lon if a.centre else None,
                            a.centre.lat if a.centre else None,
                            i,
                        )
                        for i, a in enumerate(chart.areas.values())
                    ],
                )
                await conn.executemany(
                    "INSERT INTO categories (code, name, name_en, family, resolve_days, position,"
                    " acknowledge_hours, urgent, escalation, repeat, templates)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            c.code,
                            c.name,
                            c.name_en,
                            c.family.value,
                            c.resolve_days,
                            i,
                            c.acknowledge_hours,
                            int(c.urgent),
                            json.dumps(
                                [[lvl.after_days, lvl.target.value] for lvl in c.escalation]
                            ),
                            c.repeat,
                            json.dumps(
                                {
                                    "acknowledge": list(c.acknowledge_templates),
                                    "resolve": list(c.resolve_templates),
                                },
                                ensure_ascii=False,
                            ),
                        )
                        for i, c in enumerate(chart.categories.values())
                    ],
                )
                known = {row[0] for row in await conn.execute_fetchall("SELECT id FROM staff")}
                removed = known - set(chart.staff)
                await conn.executemany(
                    "DELETE FROM staff_bindings WHERE staff_id = ?", [(s,) for s in removed]
                )
                await conn.executemany("DELETE FROM staff WHERE id = ?", [(s,) for s in removed])
                await conn.executemany(
                    "INSERT INTO staff (id, name, telegram_id, position, active)"
                    " VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
                    " telegram_id = excluded.telegram_id, position = excluded.position,"
                    " active = excluded.active",
                    [
                        (s.id, s.name, s.telegram_id, i, int(s.active))
                        for i, s in enumerate(chart.staff.values())
                    ],
                )
                await conn.executemany(
                    "INSERT INTO staff_roles (staff_id, role) VALUES (?, ?)",
                    [(s.id, r.value) for s in chart.staff.values() for r in sorted(s.roles)],
                )
                await conn.executemany(
                    "INSERT INTO staff_wards (staff_id, ward, position) VALUES (?, ?, ?)",
                    [(s.id, w, i) for s in chart.staff.values() for i, w in enumerate(s.wards)],
                )
                await conn.executemany(
                    "INSERT INTO assignments (area, category, cadre) VALUES (?, ?, ?)",
                    [(a, c, s) for (a, c), s in chart.assignments.items()],
                )
                await conn.executemany(
                    "INSERT INTO family_defaults (ward, family, cadre) VALUES (?, ?, ?)",
                    [(w, f.value, s) for (w, f), s in chart.family_defaults.items()],
                )
                await conn.executemany(
                    "INSERT INTO ward_policies (ward, leader, conduct_leader) VALUES (?, ?, ?)",
                    [(p.ward, p.leader, p.conduct_leader) for p in chart.wards.values()],
                )
                for member in chart.staff.values():
                    if member.telegram_id is None:
                        continue
                    await conn.execute(
                        "INSERT INTO people (channel, external_id, display_name, language,"
                        " created_at) VALUES ('telegram', ?, ?, 'vi', datetime('now'))"
                        " ON CONFLICT (channel, external_id) DO NOTHING",
                        (str(member.telegram_id), member.name),
                    )
                    row = await (
                        await conn.execute(
                            "SELECT id FROM people WHERE channel = 'telegram' AND external_id = ?",
                            (str(member.telegram_id),),
                        )
                    ).fetchone()
                    assert row is not None
                    await conn.execute(
                        "DELETE FROM staff_bindings WHERE person_id = ? AND staff_id <> ?",
                        (row[0], member.id),
                    )
                    await conn.execute(
                        "INSERT INTO staff_bindings (staff_id, person_id, bound_at)"
                        " VALUES (?, ?, datetime('now'))"
                        " ON CONFLICT (staff_id) DO UPDATE SET person_id = excluded.person_id",
                        (member.id, row[0]),
                    )
                    self.db.outbox_changes += 1
        except _Conflict:
            return False
        return True

    async def load_org(self) -> OrgChart | None:
        area_rows = await self._all("SELECT * FROM areas ORDER BY position")
        if not area_rows:
            return None
        areas = {}
        for r in area_rows:
            polygon = (
                tuple(GeoPoint(lon=p[0], lat=p[1]) for p in json.loads(r["polygon"]))
                if r["polygon"]
                else None
            )
            centre = (
                GeoPoint(lon=r["centre_lon"], lat=r["centre_lat"])
                if r["centre_lon"] is not None
                else None
            )
            areas[r["code"]] = Area(
                r["code"], r["name"], AreaKind(r["kind"]), r["parent"], polygon, centre
            )
        categories = {
            r["code"]: Category(
                r["code"],
                r["name"],
                r["name_en"],
                Family(r["family"]),
                r["resolve_days"],
                acknowledge_hours=r["acknowledge_hours"],
                urgent=bool(r["urgent"]),
                escalation=tuple(
                    EscalationLevel(float(days), EscalationTarget(target))
                    for days, target in json.loads(r["escalation"] or "[]")
                ),
                repeat=r["repeat"],
                acknowledge_templates=tuple(_templates(r["templates"], "acknowledge")),
                resolve_templates=tuple(_templates(r["templates"], "resolve")),
            )
            for r in await self._all("SELECT * FROM categories ORDER BY position")
        }
        roles: dict[str, set[Role]] = {}
        for r in await self._all("SELECT staff_id, role FROM staff_roles"):
            roles.setdefault(r["staff_id"], set()).add(Role(r["role"]))
        wards_of: dict[str, list[str]] = {}
        for r in await self._all("SELECT staff_id, ward FROM staff_wards ORDER BY position"):
            wards_of.setdefault(r["staff_id"], []).append(r["ward"])
        staff = {
            r["id"]: StaffMember(
                r["id"],
                r["name"],
                frozenset(roles.get(r["id"], set())),
                tuple(wards_of.get(r["id"], [])),
                r["telegram_id"],
                active=bool(r["active"]),
            )
            for r in await self._all("SELECT * FROM staff ORDER BY position")
        }
        assignments = {
            (r["area"], r["category"]): r["cadre"]
            for r in await self._all("SELECT * FROM assignments")
        }
        defaults = {
            (r["ward"], Family(r["family"])): r["cadre"]
            for r in await self._all("SELECT * FROM family_defaults")
        }
        policies = {
            r["ward"]: WardPolicy(r["ward"], r["leader"], r["conduct_leader"])
            for r in await self._all("SELECT * FROM ward_policies")
        }
        return OrgChart(areas, categories, staff, assignments, defaults, policies)

    # ---- invites ----------------------------------------------------------------------------

    async def create_invite(self, invite: Invite) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO invites (token_hash, staff_id, role, created_at, expires_at,"
                " created_by, rebind) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    invite.token_hash,
                    invite.staff_id,
                    invite.role,
                    utc_text(invite.created_at),
                    utc_text(invite.expires_at),
                    invite.created_by,
                    int(invite.rebind),
                ),
            )

    async def get_invite(self, token_hash: str) -> Invite | None:
        row = await self._one("SELECT * FROM invites WHERE token_hash = ?", (token_hash,))
        if row is None:
            return None
        return Invite(
            token_hash=row["token_hash"],
            staff_id=row["staff_id"],
            role=row["role"],
            created_at=parse_utc(row["created_at"]),
            expires_at=parse_utc(row["expires_at"]),
            created_by=row["created_by"],
            used_at=_maybe_time(row["used_at"]),
            used_by=row["used_by"],
            rebind=bool(row["rebind"]),
        )

    async def use_invite(
        self,
        token_hash: str,
        person_id: int,
        at: datetime,
        tell_previous: Callable[[int], Notice],
    ) -> InviteUse:
        """Spend the invite and bind its staff record to the person, in one
        transaction.  A record another account holds is taken over only by
        an invite minted to rebind it, and then ``tell_previous`` names the
        notice the previous account gets (an outbox row, written with the
        binding)."""
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT i.staff_id, i.rebind, b.person_id FROM invites i"
                " LEFT JOIN staff_bindings b ON b.staff_id = i.staff_id"
                " WHERE i.token_hash = ? AND i.used_at IS NULL",
                (token_hash,),
            ) as found:
                row = await found.fetchone()
            if row is None:
                return InviteUse.SPENT
            staff_id, rebind, previous = str(row[0]), bool(row[1]), row[2]
            taking_over = previous is not None and previous != person_id
            if taking_over and not rebind:
                return InviteUse.TAKEN
            await conn.execute(
                "UPDATE invites SET used_at = ?, used_by = ? WHERE token_hash = ?",
                (utc_text(at), person_id, token_hash),
            )
            await _bump_roster(conn)
            await conn.execute("DELETE FROM staff_bindings WHERE person_id = ?", (person_id,))
            await conn.execute(
                "INSERT INTO staff_bindings (staff_id, person_id, bound_at) VALUES (?, ?, ?)"
                " ON CONFLICT (staff_id) DO UPDATE SET person_id = excluded.person_id,"
                " bound_at = excluded.bound_at",
                (staff_id, person_id, utc_text(at)),
            )
            if taking_over:
                await insert_notices(conn, [tell_previous(int(previous))], at)
        self.db.outbox_changes += 1  # rows that waited for this account can go now
        return InviteUse.BOUND

    async def bound_staff(self) -> dict[str, Person]:
        rows = await self._all(
            "SELECT b.staff_id, p.* FROM staff_bindings b JOIN people p ON p.id = b.person_id"
        )
        return {r["staff_id"]: _person(r) for r in rows}

    # ---- conversations ----------------------------------------------------------------------

    async def load_conversation(self, person_id: int) -> ConversationState | None:
        row = await self._one("SELECT * FROM conversations WHERE person_id = ?", (person_id,))
        if row is None:
            return None
        return ConversationState(
            kind=row["kind"],
            step=row["step"],
            data=json.loads(row["data"]),
            seq=row["seq"],
            last_update=row["last_update"],
            updated_at=parse_utc(row["updated_at"]),
        )

    async def save_conversation(
        self, person_id: int, state: ConversationState, at: datetime
    ) -> None:
        await self.db.write(
            "INSERT INTO conversations"
            " (person_id, kind, step, data, seq, updated_at, last_update)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (person_id) DO UPDATE SET"
            " kind = excluded.kind, step = excluded.step, data = excluded.data,"
            " seq = excluded.seq, updated_at = excluded.updated_at,"
            " last_update = excluded.last_update",
            (
                person_id,
                state.kind,
                state.step,
                json.dumps(dict(state.data), ensure_ascii=False),
                state.seq,
                utc_text(at),
                state.last_update,
            ),
        )

    async def delete_conversation(self, person_id: int) -> None:
        await self.db.write("DELETE FROM conversations WHERE person_id = ?", (person_id,))

    # ---- complaints -------------------------------------------------------------------------

    async def create_complaint(
        self,
        new: NewComplaint,
        reporter_id: int,
        event_at: datetime,
        notices: Sequence[Notice],
    ) -> Complaint:
        """Insert the complaint, its reporter, photos, first event and the
        notices it causes, and end the reporter's draft — all at once, so a
        crash can neither lose the complaint nor leave a draft that would
        file it twice."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO complaints (category, family, area, ward, state, owner,"
                " concerns_leadership, description, landmark, lat, lon, created_at, due_at,"
                " clock_start, ack_due_at, urgent, swept_until, next_action_at, fallback_from)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new.category,
                    new.family,
                    new.area,
                    new.ward,
                    State.SUBMITTED.value,
                    new.owner,
                    int(new.concerns_leadership),
                    new.description,
                    new.landmark,
                    new.location.lat if new.location else None,
                    new.location.lon if new.location else None,
                    utc_text(new.created_at),
                    utc_text(new.due_at),
                    utc_text(new.created_at),
                    utc_text(new.ack_due_at or new.created_at),
                    int(new.urgent),
                    utc_text(new.created_at),
                    utc_text(new.next_action_at) if new.next_action_at else None,
                    new.fallback_from,
                ),
            )
            complaint_id = cur.lastrowid
            assert complaint_id is not None
            await conn.execute(
                "INSERT INTO complaint_people (complaint_id, person_id, role, joined_at,"
                " show_name) VALUES (?, ?, 'reporter', ?, ?)",
                (complaint_id, reporter_id, utc_text(event_at), int(new.show_name)),
            )
            await self._insert_photos(conn, complaint_id, [("report", p) for p in new.photos])
            await self._insert_event(
                conn,
                Event(
                    complaint_id=complaint_id,
                    at=event_at,
                    action=Action.FILE,
                    from_state=None,
                    to_state=State.SUBMITTED,
                    actor_person_id=reporter_id,
                ),
            )
            await self._insert_notices(
                conn,
                [_with_complaint(n, complaint_id) for n in notices],
                event_at,
            )
            await conn.execute("DELETE FROM conversations WHERE person_id = ?", (reporter_id,))
        complaint = await self.get_complaint(complaint_id)
        assert complaint is not None
        return complaint

    async def _insert_photos(
        self, conn: aiosqlite.Connection, complaint_id: int, photos: Sequence[tuple[str, Photo]]
    ) -> None:
        await conn.executemany(
            "INSERT INTO complaint_photos (complaint_id, kind, channel, file_ref, position)"
            " VALUES (?, ?, ?, ?, ?)",
            [(complaint_id, kind, p.channel, p.file_ref, i) for i, (kind, p) in enumerate(photos)],
        )

    async def _insert_event(self, conn: aiosqlite.Connection, event: Event) -> None:
        await conn.execute(_INSERT_EVENT, _event_values(event))

    async def _insert_notices(
        self, conn: aiosqlite.Connection, notices: Iterable[Notice], at: datetime
    ) -> None:
        self.db.outbox_changes += await insert_notices(conn, notices, at)

    @property
    def outbox_changes(self) -> int:
        return self.db.outbox_changes

    async def get_complaint(self, complaint_id: int) -> Complaint | None:
        row = await self._one("SELECT * FROM complaints WHERE id = ?", (complaint_id,))
        if row is None:
            return None
        photos = await self._photos({complaint_id})
        return _complaint(row, photos.get(complaint_id, []))

    async def get_complaints(self, ids: Sequence[int]) -> dict[int, Complaint]:
        """Many complaints in two queries (rows, photos), for the messages
        that list tasks; chunked under SQLite's limit on parameters."""
        found: dict[int, Complaint] = {}
        wanted = sorted(set(ids))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for c in await self._complaints(
                f"SELECT * FROM complaints WHERE id IN ({marks})", chunk
            ):
                found[c.id] = c
        return found

    async def _photos(self, ids: set[int]) -> dict[int, list[tuple[str, Photo]]]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = await self._all(
            f"SELECT * FROM complaint_photos WHERE complaint_id IN ({marks})"
            " AND superseded_at IS NULL ORDER BY id",
            sorted(ids),
        )
        out: dict[int, list[tuple[str, Photo]]] = {}
        for r in rows:
            out.setdefault(r["complaint_id"], []).append(
                (r["kind"], Photo(r["channel"], r["file_ref"]))
            )
        return out

    async def _complaints(self, sql: str, params: Sequence[Any]) -> list[Complaint]:
        rows = await self._all(sql, params)
        photos = await self._photos({r["id"] for r in rows})
        return [_complaint(r, photos.get(r["id"], [])) for r in rows]

    async def reporter_of(self, complaint_id: int) -> int | None:
        row = await self._one(
            "SELECT person_id FROM complaint_people WHERE complaint_id = ? AND role = 'reporter'",
            (complaint_id,),
        )
        return int(row["person_id"]) if row else None

    async def apply_change(self, change: Change) -> bool:
        async with self.db.transaction() as conn:
            return await self._write_change(conn, change)

    async def _write_change(self, conn: aiosqlite.Connection, change: Change) -> bool:
        """One complaint's change, its event, photos and notices — inside the
        caller's transaction; False if the complaint changed meanwhile."""
        columns, values = _assignments(change.fields)
        cur = await conn.execute(
            f"UPDATE complaints SET {columns}, version = version + 1 WHERE id = ? AND version = ?",
            (*values, change.complaint_id, change.expected_version),
        )
        if cur.rowcount != 1:
            return False
        await self._insert_event(conn, change.event)
        if change.supersede_photos:
            marks = ",".join("?" * len(change.supersede_photos))
            await conn.execute(
                "UPDATE complaint_photos SET superseded_at = ? WHERE complaint_id = ?"
                f" AND kind IN ({marks}) AND superseded_at IS NULL",
                (utc_text(change.event.at), change.complaint_id, *change.supersede_photos),
            )
        await self._insert_photos(conn, change.complaint_id, change.photos)
        await self._insert_notices(conn, change.notices, change.event.at)
        if change.end_conversation_of is not None:
            await conn.execute(
                "DELETE FROM conversations WHERE person_id = ?", (change.end_conversation_of,)
            )
        return True

    async def complaints_of_reporter(self, person_id: int) -> list[Complaint]:
        return await self._complaints(
            "SELECT c.* FROM complaints c JOIN complaint_people p ON p.complaint_id = c.id"
            " WHERE p.person_id = ? AND p.role = 'reporter' ORDER BY c.id DESC",
            (person_id,),
        )

    async def open_tasks(
        self, *, owner: str | None = None, wards: Sequence[str] | None = None
    ) -> list[Complaint]:
        open_states = [s.value for s in State if s.is_open]
        where = [f"state IN ({','.join('?' * len(open_states))})"]
        params: list[Any] = [*open_states]
        scope = []
        if owner is not None:
            scope.append("owner = ?")
            params.append(owner)
        if wards:
            scope.append(f"ward IN ({','.join('?' * len(wards))})")
            params.extend(wards)
        if scope:
            where.append("(" + " OR ".join(scope) + ")")
        return await self._complaints(
            f"SELECT * FROM complaints WHERE {' AND '.join(where)} ORDER BY due_at, id",
            params,
        )

    async def open_deadlines(self) -> list[tuple[str, int, datetime]]:
        """(owner, id, deadline) of every open complaint, by deadline: the
        morning briefing's lists.  Three columns, not whole complaints: at a
        hundred thousand open ones that is 0.4 s instead of 4."""
        open_states = [s.value for s in State if s.is_open]
        async with self.conn.execute(
            f"SELECT owner, id, due_at FROM complaints"
            f" WHERE state IN ({','.join('?' * len(open_states))}) ORDER BY due_at, id",
            open_states,
        ) as cur:
            cur.row_factory = None
            rows = await cur.fetchall()
        return [(owner, id_, parse_utc(due_at)) for owner, id_, due_at in rows]

    async def all_complaints(self) -> list[Complaint]:
        return await self._complaints("SELECT * FROM complaints ORDER BY id", ())

    async def reporter_identity(self, complaint_id: int) -> tuple[str | None, bool]:
        """The reporter's display name and whether they let the cadre see it."""
        row = await self._one(
            "SELECT p.display_name, cp.show_name FROM complaint_people cp"
            " JOIN people p ON p.id = cp.person_id"
            " WHERE cp.complaint_id = ? AND cp.role = 'reporter'",
            (complaint_id,),
        )
        if row is None:
            return None, False
        return row["display_name"], bool(row["show_name"])

    async def log_identity_access(self, complaint_id: int, staff_id: str, at: datetime) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO identity_access (complaint_id, staff_id, at) VALUES (?, ?, ?)",
                (complaint_id, staff_id, utc_text(at)),
            )

    async def last_note(self, complaint_id: int, action: Action) -> str | None:
        row = await self._one(
            "SELECT note FROM complaint_events WHERE complaint_id = ? AND action = ?"
            " ORDER BY id DESC LIMIT 1",
            (complaint_id, action.value),
        )
        return str(row["note"]) if row and row["note"] is not None else None

    async def events_of(self, complaint_id: int) -> list[Event]:
        rows = await self._all(
            "SELECT * FROM complaint_events WHERE complaint_id = ? ORDER BY id", (complaint_id,)
        )
        return [
            Event(
                complaint_id=r["complaint_id"],
                at=parse_utc(r["at"]),
                action=Action(r["action"]),
                from_state=State(r["from_state"]) if r["from_state"] else None,
                to_state=State(r["to_state"]),
                actor_person_id=r["actor_person_id"],
                actor_staff_id=r["actor_staff_id"],
                note=r["note"],
                data=json.loads(r["data"]),
            )
            for r in rows
        ]

    # ---- a person's own data -----------------------------------------------------------------

    async def person_data(self, person_id: int) -> dict[str, Any]:
        """Everything stored about one person, as plain data: who they are,
        what they reported, what they did, and any draft."""
        person = await self._one("SELECT * FROM people WHERE id = ?", (person_id,))
        reported = await self._all(
            "SELECT c.* FROM complaints c JOIN complaint_people p ON p.complaint_id = c.id"
            " WHERE p.person_id = ? ORDER BY c.id",
            (person_id,),
        )
        photos = await self._photos({r["id"] for r in reported})
        acted = await self._all(
            "SELECT complaint_id, at, action, note FROM complaint_events"
            " WHERE actor_person_id = ? ORDER BY id",
            (person_id,),
        )
        draft = await self._one("SELECT * FROM conversations WHERE person_id = ?", (person_id,))
        binding = await self._one(
            "SELECT staff_id FROM staff_bindings WHERE person_id = ?", (person_id,)
        )
        return {
            "person": dict(person) if person else {},
            "staff_id": binding["staff_id"] if binding else None,
            "complaints": [
                {
                    **dict(r),
                    "photos": [
                        {"kind": kind, "file": photo.file_ref}
                        for kind, photo in photos.get(r["id"], [])
                    ],
                }
                for r in reported
            ],
            "actions": [dict(r) for r in acted],
            "draft": {**dict(draft), "data": json.loads(draft["data"])} if draft else None,
        }

    async def forget_person(self, person_id: int, at: datetime) -> None:
        """Detach a person from everything: their complaints stay (they are
        public business) but nothing left says who filed them."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE people SET channel = 'forgotten', external_id = 'forgotten:' || id,"
                " display_name = NULL, username = NULL, unreachable_at = NULL WHERE id = ?",
                (person_id,),
            )
            await conn.execute("DELETE FROM conversations WHERE person_id = ?", (person_id,))
            await conn.execute("DELETE FROM button_messages WHERE person_id = ?", (person_id,))
            await conn.execute("DELETE FROM blocked_people WHERE person_id = ?", (person_id,))
            await conn.execute(
                "UPDATE outbox SET given_up_at = ?, last_error = 'forgotten'"
                " WHERE person_id = ? AND sent_at IS NULL AND given_up_at IS NULL",
                (utc_text(at), person_id),
            )
            await conn.execute(
                "UPDATE complaint_photos SET file_ref = 'forgotten'"
                " WHERE kind IN ('dispute', 'info') AND complaint_id IN"
                " (SELECT complaint_id FROM complaint_people WHERE person_id = ?)",
                (person_id,),
            )
            await _mask_what_they_wrote(conn, person_id)
        # secure_delete zeroed what the updates freed; the WAL still holds
        # the pages as they were, until it is copied back and truncated.
        await self.db.scrub_wal()

    # ---- updates and the abuse list ---------------------------------------------------------

    async def claim_update(self, channel: str, update_id: int, at: datetime) -> bool:
        """True if this update should be processed: never seen, or seen but
        cut off before it was done."""
        # One statement: a new update is inserted, one cut off before it was
        # done is "updated" to itself; both come back through RETURNING.  A
        # done one matches the WHERE of neither and returns nothing.
        rows = await self.db.write_returning(
            "INSERT INTO processed_updates (channel, update_id, claimed_at) VALUES (?, ?, ?)"
            " ON CONFLICT (channel, update_id) DO UPDATE SET claimed_at = claimed_at"
            " WHERE done_at IS NULL RETURNING update_id",
            (channel, update_id, utc_text(at)),
        )
        return bool(rows)

    async def finish_update(self, channel: str, update_id: int, at: datetime) -> None:
        await self.db.write(
            "UPDATE processed_updates SET done_at = ? WHERE channel = ? AND update_id = ?",
            (utc_text(at), channel, update_id),
        )

    async def prune_updates(self, before: datetime) -> int:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM processed_updates WHERE claimed_at < ?", (utc_text(before),)
            )
            return cur.rowcount

    async def set_blocked(
        self, person_id: int, reason: str | None, at: datetime, audit: AdminEntry | None = None
    ) -> None:
        """Put a person on the abuse list (a reason), or take them off (None);
        the admin log records who did it (``audit``) in the same transaction."""
        async with self.db.transaction() as conn:
            if audit is not None:
                await _insert_admin_entry(conn, audit)
            await _bump_roster(conn)
            if reason is None:
                await conn.execute("DELETE FROM blocked_people WHERE person_id = ?", (person_id,))
            else:
                await conn.execute(
                    "INSERT INTO blocked_people (person_id, reason, blocked_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (person_id) DO UPDATE SET reason = excluded.reason",
                    (person_id, reason, utc_text(at)),
                )

    async def admin_log(self, limit: int) -> list[AdminEntry]:
        """The last ``limit`` lines of the admin log, oldest first, each
        person with their chat account as it is now."""
        rows = await self._all(
            "SELECT * FROM (SELECT a.*, p.channel, p.external_id FROM admin_log a"
            " LEFT JOIN people p ON p.id = a.person_id ORDER BY a.id DESC LIMIT ?) ORDER BY id",
            (limit,),
        )
        return [
            AdminEntry(
                at=parse_utc(r["at"]),
                actor=r["actor"],
                action=AdminAction(r["action"]),
                subject=r["subject"],
                person_id=r["person_id"],
                detail=json.loads(r["detail"]),
                account=None if r["channel"] is None else f"{r['channel']}:{r['external_id']}",
            )
            for r in rows
        ]

    async def reports_since(self, person_id: int, since: datetime) -> int:
        row = await self._one(
            "SELECT COUNT(*) FROM complaint_people WHERE person_id = ? AND role = 'reporter'"
            " AND joined_at >= ?",
            (person_id, utc_text(since)),
        )
        return int(row[0]) if row else 0

    # ---- the sweep --------------------------------------------------------------------------

    async def sweep(
        self,
        now: datetime,
        limit: int,
        decide: Callable[[Sequence[DueComplaint]], SweepWrites],
    ) -> tuple[int, int]:
        """Read the complaints due, let ``decide`` say what happens, write it
        — all in one transaction, so no handler's change slips in between.

        Every statement crosses to aiosqlite's thread and back: the batch is
        read in one, and written in one per shape of change (most are the
        bookmark and the next look alone), not one per complaint."""
        async with self.db.transaction() as conn:
            async with conn.execute(_DUE, (utc_text(now), limit)) as cur:
                cur.row_factory = None  # plain tuples: no name lookups needed here
                rows = list(await cur.fetchall())
            if not rows:
                return 0, 0
            writes = decide([_due(row) for row in rows])
            shapes: dict[tuple[str, bool], list[list[Any]]] = {}
            events: list[Event] = []
            texts: dict[datetime, str] = {}
            for update in writes.updates:
                fields = update.fields
                values = [_value(name, value, texts) for name, value in fields.items()]
                values.append(update.complaint_id)
                shape = (_columns(tuple(fields)), update.bump_version)
                shapes.setdefault(shape, []).append(values)
                if update.event is not None:
                    events.append(update.event)
            for (columns, bump), params in shapes.items():
                version = ", version = version + 1" if bump else ""
                await conn.executemany(
                    f"UPDATE complaints SET {columns}{version} WHERE id = ?", params
                )
            if events:
                await conn.executemany(_INSERT_EVENT, [_event_values(e) for e in events])
            if writes.notices:
                await self._insert_notices(conn, writes.notices, now)
        return len(rows), len(writes.notices)

    async def record_once(
        self, key: str, value: str, notices: Sequence[Notice], at: datetime
    ) -> bool:
        """Queue ``notices`` unless ``key`` already holds ``value`` (e.g. the
        morning briefing of a given day), atomically."""
        async with self.db.transaction() as conn:
            async with conn.execute("SELECT value FROM meta WHERE key = ?", (key,)) as cur:
                row = await cur.fetchone()
            if row is not None and row[0] == value:
                return False
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
            await self._insert_notices(conn, notices, at)
        return True

    async def set_meta(self, key: str, value: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    async def get_meta(self, key: str) -> str | None:
        row = await self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return str(row["value"]) if row else None

    async def mark_unreachable(self, person_id: int, at: datetime) -> bool:
        """True when the person was reachable until now."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE people SET unreachable_at = ? WHERE id = ? AND unreachable_at IS NULL",
                (utc_text(at), person_id),
            )
            if cur.rowcount != 1:
                return False
            await _bump_roster(conn)
            return True

    async def mark_reachable(self, person_id: int) -> bool:
        """True when the person was unreachable until now."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE people SET unreachable_at = NULL"
                " WHERE id = ? AND unreachable_at IS NOT NULL",
                (person_id,),
            )
            if cur.rowcount != 1:
                return False
            await _bump_roster(conn)
            return True

    # ---- who can act ------------------------------------------------------------------------

    async def roster_version(self) -> int:
        """Grows with every change to the chart or to who can be reached, in
        whichever process made it: each bot process compares it with the one
        it last saw, at every sweep."""
        row = await self._one("SELECT value FROM meta WHERE key = ?", (ROSTER_VERSION,))
        return int(row["value"]) if row else 0

    async def reach(self) -> Reach:
        """Staff with a chat account, and those of them the channel refuses
        (blocked the bot or never opened it) or the abuse list holds."""
        rows = await self._all(
            "SELECT b.staff_id, p.unreachable_at IS NOT NULL"
            " OR EXISTS (SELECT 1 FROM blocked_people k WHERE k.person_id = p.id) AS refused"
            " FROM staff_bindings b JOIN people p ON p.id = b.person_id"
        )
        return Reach(
            bound=frozenset(str(r["staff_id"]) for r in rows),
            refused=frozenset(str(r["staff_id"]) for r in rows if r["refused"]),
        )

    async def open_owner_groups(self) -> list[OwnerGroup]:
        """On a reader of its own: the grouping reads every open complaint,
        and through the write connection's big page cache that would stay
        in memory (26 MB at 100,000 open complaints)."""
        open_states = [s.value for s in State if s.is_open]
        async with (
            self.db.reading() as conn,
            conn.execute(
                "SELECT owner, ward, family, concerns_leadership, COUNT(*) FROM complaints"
                f" WHERE state IN ({','.join('?' * len(open_states))})"
                " GROUP BY owner, ward, family, concerns_leadership",
                open_states,
            ) as cur,
        ):
            cur.row_factory = None
            rows = await cur.fetchall()
        return [OwnerGroup(o, w, _FAMILIES[f], bool(lead), n) for o, w, f, lead, n in rows]

    async def open_ids_to_check(self, groups: Sequence[OwnerGroup]) -> list[int]:
        """The open complaints of these groups, and every one a fallback
        holds without having acknowledged it (it may go back)."""
        open_states = [s.value for s in State if s.is_open]
        states = ",".join("?" * len(open_states))
        found = {
            int(r[0])
            for r in await self._all(
                "SELECT id FROM complaints WHERE fallback_from IS NOT NULL AND state = ?",
                (State.SUBMITTED.value,),
            )
        }
        for start in range(0, len(groups), 200):
            chunk = groups[start : start + 200]
            pairs = ", ".join("(?, ?, ?, ?)" for _ in chunk)
            found |= {
                int(r[0])
                for r in await self._all(
                    f"SELECT id FROM complaints WHERE state IN ({states})"
                    f" AND (owner, ward, family, concerns_leadership) IN (VALUES {pairs})",
                    [
                        *open_states,
                        *(
                            v
                            for g in chunk
                            for v in (g.owner, g.ward, g.family.value, int(g.concerns_leadership))
                        ),
                    ],
                )
            }
        return sorted(found)

    async def apply_changes(
        self,
        changes: Sequence[Change],
        notices: Sequence[Notice],
        at: datetime,
        *,
        drop_pending_of: Sequence[str] = (),
        keep_kinds: Sequence[str] = (),
    ) -> bool:
        """Several complaints' changes and the notices about them, at once —
        or nothing, if any of those complaints changed meanwhile.  First the
        rows still waiting for the staff in ``drop_pending_of`` are given up
        (but those of ``keep_kinds``): what they would say is stale now."""
        try:
            async with self.db.transaction() as conn:
                await _drop_pending(conn, drop_pending_of, keep_kinds, at)
                for change in changes:
                    if not await self._write_change(conn, change):
                        raise _Conflict
                await self._insert_notices(conn, notices, at)
        except _Conflict:
            return False
        return True

    # ---- outbox -----------------------------------------------------------------------------

    async def enqueue(self, notices: Sequence[Notice], at: datetime) -> None:
        async with self.db.transaction() as conn:
            await self._insert_notices(conn, notices, at)

    async def due_outbox(
        self, now: datetime, limit: int, channel: str | None = None
    ) -> list[OutboxItem]:
        """Pending rows whose time has come, oldest first, with the recipient
        resolved (a staff member's bound account, if any) and, when given,
        only those whose recipient is on ``channel``.  Everything committed
        is on disk before they are handed out (`Database.on_disk`)."""
        rows = await self._all(
            "SELECT o.*, r.id AS recipient_id FROM outbox o"
            " LEFT JOIN staff_bindings b ON b.staff_id = o.staff_id"
            " JOIN people r ON r.id = COALESCE(o.person_id, b.person_id)"
            " WHERE o.sent_at IS NULL AND o.given_up_at IS NULL AND o.next_attempt_at <= ?"
            " AND (? IS NULL OR r.channel = ?)"
            " ORDER BY o.id LIMIT ?",
            (utc_text(now), channel, channel, limit),
        )
        if rows:
            # What is about to be sent must outlive a power cut first.
            await self.db.on_disk()
        people: dict[int, Person] = {}
        ids = {r["recipient_id"] for r in rows if r["recipient_id"] is not None}
        if ids:
            marks = ",".join("?" * len(ids))
            for r in await self._all(
                f"SELECT * FROM people WHERE id IN ({marks})",
                sorted(ids),
            ):
                people[r["id"]] = _person(r)
        return [
            OutboxItem(
                id=r["id"],
                kind=r["kind"],
                complaint_id=r["complaint_id"],
                staff_id=r["staff_id"],
                recipient=people.get(r["recipient_id"]) if r["recipient_id"] else None,
                payload=json.loads(r["payload"]),
                attempts=r["attempts"],
                parts_done=tuple(json.loads(r["parts_done"])),
                failing_since=_maybe_time(r["failing_since"]),
            )
            for r in rows
        ]

    async def mark_sent(self, item_id: int, at: datetime) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET sent_at = ?, attempts = attempts + 1 WHERE id = ?"
                " AND sent_at IS NULL",
                (utc_text(at), item_id),
            )

    async def mark_parts(
        self, item_id: int, parts_done: Sequence[str], at: datetime, *, finished: bool
    ) -> None:
        """The parts of a row Telegram accepted so far, written the moment it
        accepted one (one statement: one trip to the database thread, the
        shortest window for a crash to repeat a message); with the last, the
        row is sent."""
        await self.db.write(
            "UPDATE outbox SET parts_done = ?,"
            " sent_at = CASE WHEN ? THEN ? END,"
            " attempts = attempts + (CASE WHEN ? THEN 1 ELSE 0 END)"
            " WHERE id = ? AND sent_at IS NULL",
            (json.dumps(list(parts_done)), finished, utc_text(at), finished, item_id),
        )

    async def give_up(self, item_id: int, error: str, at: datetime) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, given_up_at = ?"
                " WHERE id = ? AND sent_at IS NULL",
                (error[:500], utc_text(at), item_id),
            )

    async def mark_failed(
        self, item_id: int, error: str, retry_at: datetime, failed_at: datetime | None = None
    ) -> None:
        """A failed attempt: retry at ``retry_at``; ``failed_at`` (a failure
        that counts towards giving up) starts the row's failing time, once."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,"
                " failing_since = COALESCE(failing_since, ?)"
                " WHERE id = ? AND sent_at IS NULL",
                (error[:500], utc_text(retry_at), failed_at and utc_text(failed_at), item_id),
            )

    async def outbox_counts(self) -> tuple[int, int]:
        """(pending, sent); rows given up count as neither."""
        row = await self._one(
            "SELECT SUM(sent_at IS NULL AND given_up_at IS NULL), SUM(sent_at IS NOT NULL)"
            " FROM outbox"
        )
        assert row is not None
        return int(row[0] or 0), int(row[1] or 0)

    async def remember_buttons(
        self, complaint_id: int, person_id: int, chat_id: str, message_id: str, at: datetime
    ) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO button_messages (complaint_id, person_id, chat_id, message_id,"
                " sent_at) VALUES (?, ?, ?, ?, ?)",
                (complaint_id, person_id, chat_id, message_id, utc_text(at)),
            )

    async def open_button_messages(
        self, complaint_id: int, person_id: int | None = None
    ) -> list[ButtonMessage]:
        sql = "SELECT * FROM button_messages WHERE complaint_id = ? AND cleared_at IS NULL"
        params: list[Any] = [complaint_id]
        if person_id is not None:
            sql += " AND person_id = ?"
            params.append(person_id)
        rows = await self._all(sql + " ORDER BY id", params)
        return [ButtonMessage(r["id"], r["chat_id"], r["message_id"]) for r in rows]

    async def clear_button_message(self, button_id: int, at: datetime) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE button_messages SET cleared_at = ? WHERE id = ?", (utc_text(at), button_id)
            )


class _Conflict(Exception):
    """A complaint moved while a change that depends on it was being applied."""


ROSTER_VERSION = "roster_version"


async def _drop_pending(
    conn: aiosqlite.Connection, staff: Sequence[str], keep_kinds: Sequence[str], at: datetime
) -> None:
    """Give up the rows still waiting for these staff, but those of
    ``keep_kinds``: what they would say is stale (or nobody is left to read it)."""
    if not staff:
        return
    staff_marks = ",".join("?" * len(staff))
    kind_marks = ",".join("?" * len(keep_kinds)) or "''"
    await conn.execute(
        "UPDATE outbox SET given_up_at = ?, last_error = 'stale'"
        f" WHERE staff_id IN ({staff_marks}) AND kind NOT IN ({kind_marks})"
        " AND sent_at IS NULL AND given_up_at IS NULL",
        (utc_text(at), *staff, *keep_kinds),
    )


async def _bump_roster(conn: aiosqlite.Connection) -> None:
    """Inside the caller's transaction: the chart, or who can be reached, changed."""
    await conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, '1')"
        " ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        (ROSTER_VERSION,),
    )


def _templates(raw: str | None, kind: str) -> list[str]:
    return [str(t) for t in json.loads(raw).get(kind, [])] if raw else []


async def _masked_rows(
    conn: aiosqlite.Connection, select: str, params: Sequence[Any], update: str
) -> None:
    """Run ``select`` (an id, then text columns) and write back, with
    ``update``, the rows whose text had contact details in it."""
    async with conn.execute(select, params) as cursor:
        rows = [tuple(row) for row in await cursor.fetchall()]
    for row_id, *texts in rows:
        masked = [mask_contacts(t) if isinstance(t, str) else t for t in texts]
        if masked != texts:
            await conn.execute(update, (*masked, row_id))


async def _mask_what_they_wrote(conn: aiosqlite.Connection, person_id: int) -> None:
    """Phone numbers, e-mail addresses and ID-card numbers out of every
    copy of what the person wrote that is kept after /forget: their
    complaints' descriptions and landmarks, the notes of what they did (an
    answer to the cadre, a dispute comment), and the outbox rows to them or
    about their complaints (an answer relayed to the cadre)."""
    mine = "SELECT complaint_id FROM complaint_people WHERE person_id = ? AND role = 'reporter'"
    await _masked_rows(
        conn,
        f"SELECT id, description, landmark FROM complaints WHERE id IN ({mine})",
        (person_id,),
        "UPDATE complaints SET description = ?, landmark = ? WHERE id = ?",
    )
    await _masked_rows(
        conn,
        "SELECT id, note FROM complaint_events WHERE actor_person_id = ?",
        (person_id,),
        "UPDATE complaint_events SET note = ? WHERE id = ?",
    )
    async with conn.execute(
        f"SELECT id, payload FROM outbox WHERE person_id = ? OR complaint_id IN ({mine})",
        (person_id, person_id),
    ) as cursor:
        payloads = [tuple(row) for row in await cursor.fetchall()]
    for row_id, payload in payloads:
        masked = json.dumps(mask_in(json.loads(payload)), ensure_ascii=False)
        if masked != payload:
            await conn.execute("UPDATE outbox SET payload = ? WHERE id = ?", (masked, row_id))


async def insert_notices(
    conn: aiosqlite.Connection, notices: Iterable[Notice], at: datetime
) -> int:
    """Outbox rows, inside the caller's transaction (shared with
    storage/sqlite/digest.py); returns how many."""
    when = utc_text(at)
    notices = list(notices)
    if not notices:
        return 0
    await conn.executemany(
        "INSERT INTO outbox (person_id, staff_id, complaint_id, kind, payload, created_at,"
        " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                n.person_id,
                n.staff_id,
                n.complaint_id,
                n.kind,
                json.dumps(dict(n.payload), ensure_ascii=False),
                when,
                # The first attempt: now, or the notice's own not-before time
                # (the delivery picks a row up only once this has come).
                utc_text(n.not_before) if n.not_before and n.not_before > at else when,
            )
            for n in notices
        ],
    )
    return len(notices)


def _assignments(fields: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """``col = ?, …`` and its values, for the complaint columns a change may set."""
    return _columns(tuple(fields)), [_value(name, value) for name, value in fields.items()]


@functools.lru_cache(maxsize=256)
def _columns(names: tuple[str, ...]) -> str:
    unknown = set(names) - CHANGEABLE
    if unknown:
        raise ValueError(f"not changeable: {sorted(unknown)}")
    return ", ".join(f"{name} = ?" for name in names)


def _value(name: str, value: Any, texts: dict[datetime, str] | None = None) -> Any:
    """A column's value as stored; ``texts`` remembers instants already
    written out (a sweep writes the same "now" a thousand times)."""
    if name in TIME_FIELDS and value is not None:
        if texts is None:
            return utc_text(value)
        text = texts.get(value)
        if text is None:
            text = texts[value] = utc_text(value)
        return text
    if isinstance(value, State | Family):
        return value.value
    if isinstance(value, bool):
        return int(value)
    return value


def _with_complaint(notice: Notice, complaint_id: int) -> Notice:
    if notice.complaint_id is not None:
        return notice
    return replace(notice, complaint_id=complaint_id)


def _complaint(row: aiosqlite.Row, photos: Sequence[tuple[str, Photo]]) -> Complaint:
    location = GeoPoint(lon=row["lon"], lat=row["lat"]) if row["lat"] is not None else None
    return Complaint(
        id=row["id"],
        category=row["category"],
        family=Family(row["family"]),
        area=row["area"],
        ward=row["ward"],
        state=State(row["state"]),
        owner=row["owner"],
        description=row["description"],
        created_at=parse_utc(row["created_at"]),
        due_at=parse_utc(row["due_at"]),
        landmark=row["landmark"],
        location=location,
        concerns_leadership=bool(row["concerns_leadership"]),
        acknowledged_at=_maybe_time(row["acknowledged_at"]),
        resolved_at=_maybe_time(row["resolved_at"]),
        closed_at=_maybe_time(row["closed_at"]),
        resolution_note=row["resolution_note"],
        rating=row["rating"],
        version=row["version"],
        photos=tuple(p for kind, p in photos if kind == "report"),
        resolution_photos=tuple(p for kind, p in photos if kind == "resolution"),
        clock_start=_maybe_time(row["clock_start"]),
        ack_due_at=_maybe_time(row["ack_due_at"]),
        urgent=bool(row["urgent"]),
        paused_since=_maybe_time(row["paused_since"]),
        swept_until=_maybe_time(row["swept_until"]),
        next_action_at=_maybe_time(row["next_action_at"]),
        escalation_level=row["escalation_level"],
        fallback_from=row["fallback_from"],
    )


_INSERT_EVENT = (
    "INSERT INTO complaint_events (complaint_id, at, action, from_state, to_state,"
    " actor_person_id, actor_staff_id, note, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


async def _insert_admin_entry(conn: aiosqlite.Connection, entry: AdminEntry) -> None:
    await conn.execute(
        "INSERT INTO admin_log (at, actor, action, subject, person_id, detail)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            utc_text(entry.at),
            entry.actor,
            entry.action.value,
            entry.subject,
            entry.person_id,
            json.dumps(dict(entry.detail), ensure_ascii=False),
        ),
    )


def _event_values(event: Event) -> tuple[Any, ...]:
    return (
        event.complaint_id,
        utc_text(event.at),
        event.action.value,
        event.from_state.value if event.from_state else None,
        event.to_state.value,
        event.actor_person_id,
        event.actor_staff_id,
        event.note,
        json.dumps(event.data, ensure_ascii=False),
    )


# The sweep's read: what deciding needs of each complaint due, in the order
# of the partial index on next_action_at (ties by id, the index's own order).
_DUE = (
    "SELECT c.id, c.category, c.family, c.ward, c.state, c.owner, c.concerns_leadership,"
    " c.created_at, c.due_at, c.clock_start, c.ack_due_at, c.resolved_at, c.paused_since,"
    " c.swept_until, c.escalation_level, p.person_id"
    " FROM complaints c"
    " LEFT JOIN complaint_people p ON p.complaint_id = c.id AND p.role = 'reporter'"
    " WHERE c.next_action_at IS NOT NULL AND c.next_action_at <= ?"
    " ORDER BY c.next_action_at, c.id LIMIT ?"
)


_FAMILIES = {f.value: f for f in Family}
_STATES = {s.value: s for s in State}


def _due(row: Sequence[Any]) -> DueComplaint:
    """A row of ``_DUE``, as plainly as it can be read (a thousand a sweep)."""
    (
        id_,
        category,
        family,
        ward,
        state,
        owner,
        concerns_leadership,
        created_at,
        due_at,
        clock_start,
        ack_due_at,
        resolved_at,
        paused_since,
        swept_until,
        escalation_level,
        reporter,
    ) = row
    return DueComplaint(
        id_,
        category,
        _FAMILIES[family],
        ward,
        _STATES[state],
        owner,
        bool(concerns_leadership),
        parse_utc(created_at),
        parse_utc(due_at),
        parse_utc(clock_start) if clock_start else None,
        parse_utc(ack_due_at) if ack_due_at else None,
        parse_utc(resolved_at) if resolved_at else None,
        parse_utc(paused_since) if paused_since else None,
        parse_utc(swept_until) if swept_until else None,
        escalation_level,
        reporter,
    )
