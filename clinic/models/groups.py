"""Standing groups, their memberships, activities and group sessions."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import VersionedMixin, choice, trigram_index

SESSION_STATUSES = ("planned", "held", "cancelled")

activity_track = sa.Table(
    "activity_track",
    db.metadata,
    sa.Column("activity_id", sa.ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("track_id", sa.ForeignKey("track.id", ondelete="CASCADE"), primary_key=True),
)


class CareGroup(VersionedMixin, db.Model):
    """A standing group in one track, such as "IOP Evening A"."""

    __tablename__ = "care_group"
    __table_args__ = (
        sa.CheckConstraint("capacity >= 1", name="capacity_positive"),
        trigram_index("ix_care_group_name_trgm", "name"),
        # Migration 0029: a track's groups by name, the week planner's page of groups.
        sa.Index("ix_care_group_track_name", "track_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Name staff use for the group.
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    #: The track the group belongs to.
    track_id: Mapped[int] = mapped_column(sa.ForeignKey("track.id"), index=True)
    #: Usual facilitator.
    facilitator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"), index=True)
    #: Usual room.
    room: Mapped[str] = mapped_column(sa.String(40), default="")
    #: Most members at one time.
    capacity: Mapped[int] = mapped_column(sa.Integer, default=10)
    #: Inactive groups are kept for history.
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)

    track: Mapped["Track"] = relationship()  # noqa: F821
    facilitator: Mapped["StaffUser | None"] = relationship()  # noqa: F821

    def __str__(self) -> str:
        return self.name


class GroupMembership(VersionedMixin, db.Model):
    """A patient's membership of a group over a date range."""

    __tablename__ = "group_membership"
    __table_args__ = (
        sa.CheckConstraint(
            "end_date IS NULL OR end_date >= start_date", name="end_not_before_start"
        ),
        # Migration 0009: members of a group on a day (caseloads, rosters).
        sa.Index("ix_group_membership_group_start", "group_id", "start_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The group.
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("care_group.id"), index=True)
    #: The member.
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), index=True)
    #: First day as a member.
    start_date: Mapped[date] = mapped_column(sa.Date)
    #: Last day as a member; empty while open.
    end_date: Mapped[date | None] = mapped_column(sa.Date)

    group: Mapped[CareGroup] = relationship()
    patient: Mapped["Patient"] = relationship()  # noqa: F821

    def __str__(self) -> str:
        return f"Membership #{self.id}"


class Activity(VersionedMixin, db.Model):
    """What a group session does: a gratitude circle, a compliment round, …"""

    __tablename__ = "activity"
    __table_args__ = (sa.CheckConstraint("default_minutes >= 1", name="length_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Name of the activity.
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    #: How the activity runs, for facilitators.
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: Usual length in minutes.
    default_minutes: Mapped[int] = mapped_column(sa.Integer, default=60)
    #: An exercise the activity practises, if any.
    exercise_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("kindness_exercise.id"), index=True
    )

    exercise: Mapped["KindnessExercise | None"] = relationship()  # noqa: F821
    tracks: Mapped[list["Track"]] = relationship(secondary=activity_track)  # noqa: F821

    def __str__(self) -> str:
        return self.name


class GroupSession(VersionedMixin, db.Model):
    """One meeting of a group."""

    __tablename__ = "group_session"
    __table_args__ = (
        sa.CheckConstraint("duration_minutes >= 1", name="length_positive"),
        sa.CheckConstraint(
            "(signed_at IS NULL AND signed_by_id IS NULL) OR "
            "(signed_at IS NOT NULL AND signed_by_id IS NOT NULL)",
            name="signature_complete",
        ),
        # Migration 0009: a group's or a facilitator's sessions in time order.
        sa.Index("ix_group_session_group_starts_at", "group_id", "starts_at"),
        sa.Index("ix_group_session_facilitator_starts_at", "facilitator_id", "starts_at"),
        # Migration 0024: the groups a counselor has facilitated sessions of (their caseload),
        # found one index probe per group (``access.facilitated_group_ids``).
        sa.Index("ix_group_session_facilitator_group", "facilitator_id", "group_id"),
        # Migration 0011: the session list searches rooms.
        trigram_index("ix_group_session_room_trgm", "room"),
        # Migration 0022: the rooms sessions name, read room by room (calendar feeds).
        sa.Index("ix_group_session_room", "room"),
        # Migration 0012: the sessions whose record is still to finish (Records to finish,
        # My day), without reading the signed history.
        sa.Index(
            "ix_group_session_unsigned_starts_at",
            "starts_at",
            sqlite_where=sa.text("signed_at IS NULL AND status <> 'cancelled'"),
            postgresql_where=sa.text("signed_at IS NULL AND status <> 'cancelled'"),
        ),
        # Migration 0024: one facilitator's (or a page of facilitators') sessions still to
        # finish, oldest first (Records to finish, a facilitator's list, My day).
        sa.Index(
            "ix_group_session_unsigned_facilitator_starts_at",
            "facilitator_id",
            "starts_at",
            sqlite_where=sa.text("signed_at IS NULL AND status <> 'cancelled'"),
            postgresql_where=sa.text("signed_at IS NULL AND status <> 'cancelled'"),
        ),
        # Migrations 0025 and 0029: a room's sessions (as ``series.room_key`` matches rooms)
        # in time order, for the week planner's clashes, with every column its probes test
        # (an index-only scan). PostgreSQL only, written as PostgreSQL shows it
        # (``trim(room)`` is ``TRIM(BOTH FROM room)``) so models and migrations compare
        # equal; the explicit method marks it PostgreSQL-only for the comparison.
        sa.Index("ix_group_session_room_key_starts_at_id", sa.text("lower(TRIM(BOTH FROM room))"), "starts_at",
                 "id", postgresql_using="btree",
                 postgresql_include=["room", "status", "duration_minutes", "group_id"]).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The group that meets.
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("care_group.id"), index=True)
    #: What the session does.
    activity_id: Mapped[int | None] = mapped_column(sa.ForeignKey("activity.id"), index=True)
    #: Local clinic time the session starts.
    starts_at: Mapped[datetime] = mapped_column(sa.DateTime, index=True)
    #: Planned length in minutes.
    duration_minutes: Mapped[int] = mapped_column(sa.Integer, default=60)
    #: Where it takes place.
    room: Mapped[str] = mapped_column(sa.String(40), default="")
    #: Who leads it.
    facilitator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"), index=True)
    #: planned, held or cancelled.
    status: Mapped[str] = mapped_column(choice("session_status", SESSION_STATUSES), default="planned")
    #: Note shared by the whole group; may be shown to every participant.
    group_note: Mapped[str] = mapped_column(sa.Text, default="")
    #: Why the session was cancelled.
    cancel_reason: Mapped[str] = mapped_column(sa.String(255), default="")
    #: Identifies the recurring series the session came from.
    series_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    #: When participation was last saved for the whole session.
    recorded_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    #: Who last saved participation.
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    #: When the facilitator signed the record; a signed record changes only by addendum.
    signed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    #: Who signed it.
    signed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    #: The addendum behind the latest correction of the group note after signing.
    last_addendum_id: Mapped[int | None] = mapped_column(sa.Integer)

    group: Mapped[CareGroup] = relationship()
    activity: Mapped[Activity | None] = relationship()
    facilitator: Mapped["StaffUser | None"] = relationship(foreign_keys=[facilitator_id])  # noqa: F821
    recorded_by: Mapped["StaffUser | None"] = relationship(foreign_keys=[recorded_by_id])  # noqa: F821
    signed_by: Mapped["StaffUser | None"] = relationship(foreign_keys=[signed_by_id])  # noqa: F821

    @property
    def record_state(self) -> str:
        """not recorded, recorded or signed."""
        if self.signed_at is not None:
            return "signed"
        if self.recorded_at is not None:
            return "recorded"
        return "not recorded"

    def __str__(self) -> str:
        return f"Session #{self.id} {self.starts_at:%Y-%m-%d %H:%M}" if self.starts_at else "Session"
