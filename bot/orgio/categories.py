"""Categories: their family, deadlines, reply templates and escalation
policy (inherited from the defaults where not set)."""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.domain.orgchart import (
    DEFAULT_ACKNOWLEDGE_HOURS,
    DEFAULT_ESCALATION,
    Category,
    EscalationLevel,
    EscalationTarget,
    Family,
    Role,
)
from bot.domain.text import clean_name, fold
from bot.orgio.areas import AreaReader
from bot.orgio.yamlnodes import (
    CATEGORY_KEYS,
    LEVEL_KEYS,
    POLICY_KEYS,
    TEMPLATE_KEYS,
    TEMPLATE_LENGTH,
    TEMPLATE_MAX,
    WORD_LENGTH,
    WORD_LETTERS_MIN,
    Fields,
    PolicyDraft,
    is_null,
    line_of,
)


class CategoryReader(AreaReader):
    def _read_categories(self, node: Node) -> None:
        for item in self._sequence(node, "categories") or ():
            fields = self._fields(item, "categories", CATEGORY_KEYS)
            if fields is None:
                continue
            own = self._code(fields, "code")
            name = self._name(fields, "name", required=True)
            name_en = self._name(fields, "name_en", required=False) or ""
            family_node = fields.get("family")
            family = None
            if family_node is None:
                self._issue(fields.line, "org.missing_field", field="family")
            else:
                family = self._enum_value(family_node, Family, "family", "org.unknown_family")
            days_node = fields.get("resolve_days")
            days = None
            if days_node is None:
                self._issue(fields.line, "org.missing_field", field="resolve_days")
            else:
                days = self._amount(days_node, "org.bad_resolve_days", zero_ok=False)
            urgent_node = fields.get("urgent")
            urgent = None
            if urgent_node is not None:
                urgent = self._flag(urgent_node, "org.bad_urgent")
            policy = self._read_policy(fields)
            acknowledge_hours, escalation, repeat = self._inherit(policy, fields)
            templates = self._read_templates(fields.get("templates"))
            if own is None:
                continue
            code, line = own
            words = self._read_words(fields.get("words"), code)
            if code in self._category_lines:
                first = str(self._category_lines[code])
                self._issue(line, "org.duplicate_category", code=code, first_line=first)
                continue
            self._category_lines[code] = line
            self._categories[code] = Category(
                code=code,
                name=name or "",
                name_en=name_en,
                family=family or Family.OTHER,
                resolve_days=days or 1.0,
                acknowledge_hours=acknowledge_hours,
                urgent=bool(urgent),
                escalation=escalation,
                repeat=repeat,
                acknowledge_templates=templates.get("acknowledge", ()),
                resolve_templates=templates.get("resolve", ()),
                words=words,
            )

    def _read_words(self, node: Node | None, code: str) -> tuple[str, ...]:
        """The ward's own words for a category ("xà bần"): each a word or
        a short phrase of two letters at least, written once in the whole
        file (with or without diacritics: the suggester folds them), so a
        word never speaks for two problems."""
        if node is None or is_null(node):
            return ()
        out: list[str] = []
        for item in self._sequence(node, "words", single_ok=True) or ():
            if not isinstance(item, ScalarNode):
                self._issue(line_of(item), "org.expected_text", field="words")
                continue
            word = clean_name(str(item.value))
            line = line_of(item)
            if not word:
                self._issue(line, "org.empty_word")
                continue
            if sum(ch.isalpha() for ch in word) < WORD_LETTERS_MIN or len(word) > WORD_LENGTH:
                self._issue(
                    line,
                    "org.bad_word",
                    word=word,
                    letters=str(WORD_LETTERS_MIN),
                    limit=str(WORD_LENGTH),
                )
                continue
            first = self._word_lines.setdefault(fold(word), (code, line))
            if first != (code, line):
                self._issue(
                    line, "org.duplicate_word", word=word, code=first[0], first_line=str(first[1])
                )
                continue
            out.append(word)
        return tuple(out)

    def _read_templates(self, node: Node | None) -> dict[str, tuple[str, ...]]:
        """Short replies a cadre can pick: at most eight of each kind, each a
        line of at most 200 characters."""
        if node is None:
            return {}
        fields = self._fields(node, "templates", TEMPLATE_KEYS)
        if fields is None:
            return {}
        out: dict[str, tuple[str, ...]] = {}
        for kind in TEMPLATE_KEYS:
            kind_node = fields.get(kind)
            if kind_node is None:
                continue
            items = self._sequence(kind_node, kind, single_ok=True) or []
            if len(items) > TEMPLATE_MAX:
                self._issue(line_of(kind_node), "org.too_many_templates", limit=str(TEMPLATE_MAX))
            texts = []
            for item in items[:TEMPLATE_MAX]:
                value = self._scalar_text(item, kind)
                if value is None:
                    continue
                if len(value) > TEMPLATE_LENGTH or "\n" in value:
                    self._issue(line_of(item), "org.bad_template", limit=str(TEMPLATE_LENGTH))
                    continue
                # A reply residents read: nothing that reorders or hides its words.
                cleaned = clean_name(value)
                if not cleaned:
                    self._issue(line_of(item), "org.invisible_name", field=kind)
                    continue
                texts.append(cleaned)
            out[kind] = tuple(texts)
        return out

    def _read_defaults(self, node: Node) -> None:
        if not isinstance(node, MappingNode):
            self._issue(line_of(node), "org.defaults_not_mapping")
            return
        fields = self._mapping_fields(node, POLICY_KEYS)
        self._defaults = self._read_policy(fields)
        if self._defaults.escalation == () and self._defaults.repeat:
            self._issue(fields.key_line("repeat"), "org.repeat_without_escalation")

    def _read_policy(self, fields: Fields) -> PolicyDraft:
        written = frozenset(key for key in POLICY_KEYS if fields.get(key) is not None)
        acknowledge_hours = escalation = repeat = None
        node = fields.get("acknowledge_hours")
        if node is not None:
            acknowledge_hours = self._amount(node, "org.bad_acknowledge_hours", zero_ok=False)
        node = fields.get("escalation")
        if node is not None:
            escalation = self._escalation(node)
        node = fields.get("repeat")
        if node is not None:
            repeat = self._count(node, "org.bad_repeat")
        return PolicyDraft(written, acknowledge_hours, escalation, repeat)

    def _inherit(
        self, own: PolicyDraft, fields: Fields
    ) -> tuple[float, tuple[EscalationLevel, ...], int]:
        """A category's knobs: its own, else the file's defaults, else the
        built-in ones.  A ``repeat`` the category writes next to an empty
        escalation (its own or inherited) is a mistake; one it inherits is
        dropped, so a category can opt out with ``escalation: []`` alone."""
        source = {key: own if key in own.written else self._defaults for key in POLICY_KEYS}
        acknowledge_hours = source["acknowledge_hours"].acknowledge_hours
        escalation = source["escalation"].escalation
        repeat = source["repeat"].repeat
        if escalation == () and repeat:
            if "repeat" in own.written:
                self._issue(fields.key_line("repeat"), "org.repeat_without_escalation")
            repeat = 0
        # A knob written with a mistake is None here; the file is invalid anyway.
        return (
            acknowledge_hours or DEFAULT_ACKNOWLEDGE_HOURS,
            DEFAULT_ESCALATION if escalation is None else escalation,
            repeat or 0,
        )

    def _escalation(self, node: Node) -> tuple[EscalationLevel, ...] | None:
        """The levels in file order; None when any of them is wrong.  An empty
        list is valid: the category is never escalated."""
        if not isinstance(node, SequenceNode):
            self._issue(line_of(node), "org.escalation_not_list")
            return None
        levels: list[EscalationLevel] = []
        valid = True
        latest: tuple[float, str] | None = None  # the largest after_days so far
        for item in node.value:
            if not isinstance(item, MappingNode):
                self._issue(line_of(item), "org.escalation_level_not_mapping")
                valid = False
                continue
            fields = self._mapping_fields(item, LEVEL_KEYS)
            after = target = None
            after_node = fields.get("after_days")
            if after_node is None:
                self._issue(fields.line, "org.escalation_level_missing", field="after_days")
            else:
                after = self._amount(after_node, "org.bad_after_days", zero_ok=True)
            to_node = fields.get("to")
            if to_node is None:
                self._issue(fields.line, "org.escalation_level_missing", field="to")
            else:
                target = self._enum_value(
                    to_node, EscalationTarget, "to", "org.unknown_escalation_target"
                )
                if target is EscalationTarget.CITY_LEADERS:
                    self._city_targets.append(line_of(to_node))
            if after is not None and after_node is not None:
                raw = str(after_node.value)
                if latest is not None and after < latest[0]:
                    self._issue(
                        line_of(after_node),
                        "org.escalation_out_of_order",
                        value=raw,
                        previous=latest[1],
                    )
                    valid = False
                else:
                    latest = (after, raw)
            if after is None or target is None:
                valid = False
            else:
                levels.append(EscalationLevel(after, target))
        return tuple(levels) if valid else None

    def _check_city_targets(self) -> None:
        if any(Role.CITY_LEADER in member.roles for member in self._staff.values()):
            return
        for line in self._city_targets:
            self._issue(line, "org.no_city_leader_for_escalation")
