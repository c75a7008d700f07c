"""The outbox's SQL that is the same on every engine (each says only how its
driver spells a placeholder)."""

from __future__ import annotations

# Whom a row of the outbox ``row`` goes to: its person, or the person bound to
# its staff member.
RECIPIENT = (
    "COALESCE({row}.person_id,"
    " (SELECT b.person_id FROM staff_bindings b WHERE b.staff_id = {row}.staff_id))"
)


def capped(due: str, per_person: str, limit: str) -> str:
    """The rows of ``due`` (oldest first, up to its look-ahead, each with its
    ``recipient_id``), at most ``per_person`` of one recipient's (their
    oldest), then ``limit`` of them: a pass holds a few rows each of many
    people, not one person's long queue (bot/app/outbox.py)."""
    return (
        "SELECT * FROM (SELECT d.*, ROW_NUMBER() OVER"
        f" (PARTITION BY d.recipient_id ORDER BY d.id) AS nth FROM ({due}) d) c"
        f" WHERE c.nth <= {per_person} ORDER BY c.id LIMIT {limit}"
    )


def hold_later(placeholder: str, greatest: str) -> str:
    """The statement of `OutboxRepo.hold_later`: ``placeholder`` spells
    (until, item id) in order, ``greatest`` the engine's two-argument
    maximum."""
    until, item = placeholder.format(1), placeholder.format(2)
    return (
        f"UPDATE outbox SET next_attempt_at = {greatest}(next_attempt_at, {until}),"
        f" last_error = 'held' WHERE id > {item} AND sent_at IS NULL AND given_up_at IS NULL"
        f" AND {RECIPIENT.format(row='outbox')} = (SELECT {RECIPIENT.format(row='o')}"
        f" FROM outbox o WHERE o.id = {item})"
    )
