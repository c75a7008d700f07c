"""The PostgreSQL engine's repositories as one store: each aggregate in a
module of its own, as on SQLite, all on one pool (storage/postgres/db.py)."""

from __future__ import annotations

from storage.postgres.admin import PostgresAdmin
from storage.postgres.complaints import PostgresComplaints
from storage.postgres.conversations import PostgresConversations
from storage.postgres.followers import PostgresFollowers
from storage.postgres.invites import PostgresInvites
from storage.postgres.media import PostgresMedia
from storage.postgres.org import PostgresOrg
from storage.postgres.outbox import PostgresOutbox
from storage.postgres.people import PostgresPeople
from storage.postgres.privacy import PostgresPrivacy
from storage.postgres.reach import PostgresReach
from storage.postgres.sweep import PostgresSweep
from storage.postgres.updates import PostgresUpdates

__all__ = ["PostgresStore"]


class PostgresStore(
    PostgresPeople,
    PostgresReach,
    PostgresOrg,
    PostgresInvites,
    PostgresConversations,
    PostgresComplaints,
    PostgresFollowers,
    PostgresPrivacy,
    PostgresUpdates,
    PostgresAdmin,
    PostgresSweep,
    PostgresOutbox,
    PostgresMedia,
):
    """Every repository the use cases need (bot/ports.py `Store`)."""
