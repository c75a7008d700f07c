"""Staff: their roles, wards and accounts (from the YAML or a CSV list),
and the leaders every ward needs."""

from __future__ import annotations

from collections.abc import Sequence

from yaml.nodes import Node, ScalarNode, SequenceNode

from bot.domain.orgchart import (
    AreaKind,
    Role,
    WardPolicy,
)
from bot.orgio.categories import CategoryReader
from bot.orgio.issues import (
    StaffRecord,
)
from bot.orgio.yamlnodes import (
    STAFF_KEYS,
    WARD_BOUND_ROLES,
    AreaDraft,
    Ref,
    StaffDraft,
    line_of,
)


class StaffReader(CategoryReader):
    def _read_staff(self, node: Node) -> None:
        for item in self._sequence(node, "staff") or ():
            fields = self._fields(item, "staff", STAFF_KEYS)
            if fields is None:
                continue
            own = self._code(fields, "id")
            name = self._name(fields, "name", required=True)

            roles: set[Role] = set()
            roles_node = fields.get("roles")
            if roles_node is None:
                self._issue(fields.line, "org.missing_field", field="roles")
            else:
                role_items = self._sequence(roles_node, "roles", single_ok=True)
                if role_items is not None and not role_items:
                    self._issue(line_of(roles_node), "org.empty_list", field="roles")
                for role_item in role_items or ():
                    role = self._enum_value(role_item, Role, "role", "org.unknown_role")
                    if role is not None:
                        roles.add(role)

            wards_node = fields.get("wards")
            wards: list[Ref] = []
            if wards_node is not None:
                wards = self._refs(wards_node, "wards")
            # A ``wards`` of the wrong type is already an issue of its own.
            wards_typed = wards_node is None or isinstance(wards_node, SequenceNode | ScalarNode)
            if roles & WARD_BOUND_ROLES and not wards and wards_typed:
                self._issue(
                    fields.key_line("wards"),
                    "org.staff_without_wards",
                    staff=own[0] if own else "?",
                )

            telegram_id = None
            telegram_line = fields.line
            telegram_node = fields.get("telegram_id")
            if telegram_node is not None:
                telegram_id = self._positive_int(telegram_node, "org.bad_telegram_id")
                telegram_line = line_of(telegram_node)
            zalo_id = None
            zalo_line = fields.line
            zalo_node = fields.get("zalo_id")
            if zalo_node is not None:
                zalo_id = self._zalo_id(zalo_node)
                zalo_line = line_of(zalo_node)

            active_node = fields.get("active")
            active = True
            if active_node is not None:
                active = self._flag(active_node, "org.bad_active") is not False

            if own is None:
                continue
            self._add_staff(
                StaffDraft(
                    id=own[0],
                    line=own[1],
                    name=name,
                    roles=frozenset(roles),
                    wards=wards,
                    telegram_id=telegram_id,
                    active=active,
                    zalo_id=zalo_id,
                ),
                own=Ref(own[0], own[1]),
                telegram_at=Ref(str(telegram_id), telegram_line),
                zalo_at=Ref(str(zalo_id), zalo_line),
            )

    def _read_staff_records(self, records: Sequence[StaffRecord]) -> None:
        for record in records:
            self._add_staff(
                StaffDraft(
                    id=record.id,
                    line=record.line,
                    name=record.name,
                    roles=record.roles,
                    wards=[Ref(code, record.line, record.source) for code in record.wards],
                    telegram_id=record.telegram_id,
                    zalo_id=record.zalo_id,
                ),
                own=Ref(record.id, record.line, record.source),
                telegram_at=Ref(str(record.telegram_id), record.line, record.source),
                zalo_at=Ref(str(record.zalo_id), record.line, record.source),
            )

    def _add_staff(self, draft: StaffDraft, *, own: Ref, telegram_at: Ref, zalo_at: Ref) -> None:
        """Register one member unless their id, Telegram id or Zalo id is taken.
        A row whose id is taken is that one mistake alone: the same member
        pasted twice would otherwise also "take" their own accounts."""
        first = self._staff.get(draft.id)
        if first is not None:
            self._issue_at(own, "org.duplicate_staff", id=draft.id, first_line=str(first.line))
            return
        if draft.telegram_id is not None:
            holder = self._telegram_ids.get(draft.telegram_id)
            if holder is not None:
                self._issue_at(
                    telegram_at,
                    "org.duplicate_telegram_id",
                    telegram_id=str(draft.telegram_id),
                    staff=holder,
                )
            else:
                self._telegram_ids[draft.telegram_id] = draft.id
        if draft.zalo_id is not None:
            zalo_holder = self._zalo_ids.get(draft.zalo_id)
            if zalo_holder is not None:
                self._issue_at(
                    zalo_at, "org.duplicate_zalo_id", zalo_id=draft.zalo_id, staff=zalo_holder
                )
            else:
                self._zalo_ids[draft.zalo_id] = draft.id
        self._staff[draft.id] = draft

    def _ward_ref_ok(self, ref: Ref) -> bool:
        area = self._areas.get(ref.code)
        if area is None:
            self._unknown_at(ref, self._areas, "org.unknown_ward", code=ref.code)
            return False
        if area.kind is not AreaKind.WARD:
            kind = area.kind.value if area.kind else "?"
            self._issue_at(ref, "org.not_a_ward", code=ref.code, kind=kind)
            return False
        return True

    def _check_staff_wards(self) -> None:
        for member in self._staff.values():
            for ref in member.wards:
                self._ward_ref_ok(ref)

    def _serves(self, member: StaffDraft, role: Role, ward: str) -> bool:
        return role in member.roles and any(ref.code == ward for ref in member.wards)

    def _check_ward_leaders(self) -> dict[str, WardPolicy]:
        policies: dict[str, WardPolicy] = {}
        for area in self._areas.values():
            if area.kind is not AreaKind.WARD:
                continue
            leader = self._check_leader(area, area.leader, conduct=False)
            conduct = self._check_leader(area, area.conduct_leader, conduct=True)
            if leader is not None:
                policies[area.code] = WardPolicy(
                    area.code, leader, conduct or leader, refer_to=area.refer_to or ""
                )
                if area.leader is not None and not self._led(area.code):
                    self._issue_at(
                        area.leader, "org.ward_leaders_inactive", ward=area.code, staff=leader
                    )
        self._check_city_leaders_active()
        return policies

    def _led(self, ward: str) -> bool:
        """Whether some active ward leader serves ``ward``: complaints nobody
        is assigned to, overdue ones and the ward's notices go to one."""
        return any(
            member.active and self._serves(member, Role.WARD_LEADER, ward)
            for member in self._staff.values()
        )

    def _check_city_leaders_active(self) -> None:
        """City leaders written, none of them active: routing would hand
        complaints about a ward's leaders to someone who left (with none
        written at all, those go to the ward's conduct leader)."""
        city = [m for m in self._staff.values() if Role.CITY_LEADER in m.roles]
        if city and not any(member.active for member in city):
            self._issue(city[0].line, "org.city_leaders_inactive", staff=city[0].id)

    def _check_leader(self, area: AreaDraft, ref: Ref | None, *, conduct: bool) -> str | None:
        if ref is None:
            return None
        member = self._staff.get(ref.code)
        if member is None:
            self._unknown_at(ref, self._staff, "org.unknown_staff", staff=ref.code)
            return None
        ok = self._serves(member, Role.WARD_LEADER, area.code)
        if conduct:
            # Conduct complaints may name anyone in the ward office, so the
            # city may choose to hear them itself.
            ok = ok or Role.CITY_LEADER in member.roles
        if not ok:
            key = "org.conduct_leader_not_leader" if conduct else "org.leader_not_ward_leader"
            self._issue_at(ref, key, staff=ref.code, ward=area.code)
            return None
        return member.id

    def _check_cadre(self, ref: Ref | None, ward: str | None) -> str | None:
        """The cadre a routing rule names, if they may take work in ``ward``."""
        if ref is None:
            return None
        member = self._staff.get(ref.code)
        if member is None:
            self._unknown_at(ref, self._staff, "org.unknown_staff", staff=ref.code)
            return None
        if Role.CADRE not in member.roles:
            self._issue_at(ref, "org.not_a_cadre", staff=ref.code)
            return None
        if ward is not None and not self._serves(member, Role.CADRE, ward):
            self._issue_at(ref, "org.cadre_not_in_ward", staff=ref.code, ward=ward)
            return None
        return member.id
