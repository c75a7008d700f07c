"""The SQLite engine's repositories as one store: each aggregate in a module
of its own (people, reach, org, invites, conversations, complaints, followers, privacy,
updates, admin, sweep, outbox, media), all on one database (storage/sqlite/db.py).
"""

from __future__ import annotations

from storage.sqlite.admin import SqliteAdmin
from storage.sqlite.complaints import SqliteComplaints
from storage.sqlite.conversations import SqliteConversations
from storage.sqlite.followers import SqliteFollowers
from storage.sqlite.invites import SqliteInvites
from storage.sqlite.media import SqliteMedia
from storage.sqlite.org import SqliteOrg
from storage.sqlite.outbox import SqliteOutbox
from storage.sqlite.people import SqlitePeople
from storage.sqlite.privacy import SqlitePrivacy
from storage.sqlite.reach import SqliteReach
from storage.sqlite.rows import insert_notices
from storage.sqlite.sweep import SqliteSweep
from storage.sqlite.updates import SqliteUpdates

__all__ = ["SqliteStore", "insert_notices"]


class SqliteStore(
    SqlitePeople,
    SqliteReach,
    SqliteOrg,
    SqliteInvites,
    SqliteConversations,
    SqliteComplaints,
    SqliteFollowers,
    SqlitePrivacy,
    SqliteUpdates,
    SqliteAdmin,
    SqliteSweep,
    SqliteOutbox,
    SqliteMedia,
):
    """Every repository the use cases need (bot/ports.py `Store`)."""
