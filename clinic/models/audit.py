"""The append-only audit trail."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ._types import choice, trigram_index, utcnow

AUDIT_ACTIONS = (
    "create",
    "update",
    "delete",
    "view",
    "export",
    "login",
    "failed_login",
    "logout",
)


class AuditEvent(db.Model):
    """Something a person did. Rows are never updated or deleted (a trigger refuses it)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_action_at", "action", "at"),
        sa.Index("ix_audit_event_entity", "entity", "entity_id"),
        # Migration 0009: the list's filters with its sort, and its text search (PostgreSQL).
        sa.Index("ix_audit_event_entity_at", "entity", "at"),
        sa.Index("ix_audit_event_actor_email_at", "actor_email", "at"),
        trigram_index("ix_audit_event_actor_email_trgm", "actor_email"),
        trigram_index("ix_audit_event_entity_trgm", "entity"),
        trigram_index("ix_audit_event_entity_id_trgm", "entity_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: When, in UTC.
    at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, index=True)
    #: The staff member, when known.
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"), index=True)
    #: The login name used, kept for failed logins and for deleted accounts.
    actor_email: Mapped[str] = mapped_column(sa.String(254), default="")
    #: create, update, delete, view, export, login, failed_login or logout.
    action: Mapped[str] = mapped_column(choice("audit_action", AUDIT_ACTIONS))
    #: The kind of record (its table name).
    entity: Mapped[str] = mapped_column(sa.String(60), default="")
    #: The record's primary key.
    entity_id: Mapped[str] = mapped_column(sa.String(40), default="")
    #: What changed: field name to [before, after].
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: Client address of the request.
    ip_address: Mapped[str] = mapped_column(sa.String(45), default="", index=True)

    def __str__(self) -> str:
        return f"{self.action} {self.entity} {self.entity_id}"


class AuditActor(db.Model):
    """Every address that ever stands in ``audit_event.actor_email``, once (migration 0028).

    Kept by a trigger on ``audit_event`` (every insert, whatever door it came through), never
    written by the application. The audit list's search finds the matching addresses here
    first (a few hundred rows, where the trail has millions) and then reads each one's newest
    events through ``ix_audit_event_actor_email_at``. It holds more than the staff table:
    the addresses typed at failed logins and a member of staff's former addresses.
    """

    __tablename__ = "audit_actor"

    email: Mapped[str] = mapped_column(sa.String(254), primary_key=True)
