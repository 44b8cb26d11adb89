"""Who came to a session, for how long, and how engaged."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import VersionedMixin, choice, utcnow

ATTENDANCE_STATUSES = ("present", "late", "left_early", "absent", "excused")


class Attendance(VersionedMixin, db.Model):
    """One patient's participation in one session."""

    __tablename__ = "attendance"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "patient_id", name="uq_attendance_session_patient"),
        # Migration 0009: the list's sort, alone and within a counselor's caseload.
        sa.Index("ix_attendance_recorded_at", "recorded_at"),
        sa.Index("ix_attendance_patient_recorded_at", "patient_id", "recorded_at"),
        sa.CheckConstraint("minutes_attended >= 0", name="minutes_not_negative"),
        sa.CheckConstraint("engagement IS NULL OR engagement BETWEEN 1 AND 5", name="engagement_range"),
        sa.CheckConstraint(
            "status NOT IN ('absent', 'excused') OR minutes_attended = 0",
            name="absent_means_zero_minutes",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The session.
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("group_session.id"), index=True)
    #: The participant.
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), index=True)
    #: present, late, left_early, absent or excused.
    status: Mapped[str] = mapped_column(choice("attendance_status", ATTENDANCE_STATUSES), default="present")
    #: Minutes the patient was there.
    minutes_attended: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: Engagement from 1 (withdrawn) to 5 (fully engaged).
    engagement: Mapped[int | None] = mapped_column(sa.Integer)
    #: Individual note; never shown to other participants.
    note: Mapped[str] = mapped_column(sa.Text, default="")
    #: Staff member who recorded it.
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    #: When it was recorded.
    recorded_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    #: The addendum behind the latest change after signing; a trigger refuses any change to a
    #: signed session's entry that does not point here at a new addendum of that person.
    last_addendum_id: Mapped[int | None] = mapped_column(sa.Integer)

    session: Mapped["GroupSession"] = relationship()  # noqa: F821
    patient: Mapped["Patient"] = relationship()  # noqa: F821
    recorded_by: Mapped["StaffUser | None"] = relationship()  # noqa: F821

    def __str__(self) -> str:
        return f"Attendance #{self.id}"


class AttendanceAddendum(db.Model):
    """A correction made after the session record was signed.

    It corrects one participant's entry (``patient_id`` set, ``assignment_id`` empty), one of
    that participant's check-ins of the session (``assignment_id`` set too) or the group note
    (both empty). The corrected row is updated and points at its addendum through
    ``last_addendum_id``; the addendum keeps who, when, what changed and why. Addenda are
    never edited or removed, which the database enforces.
    """

    __tablename__ = "attendance_addendum"
    __append_only__ = True
    __table_args__ = (sa.CheckConstraint("length(trim(reason)) > 0", name="reason_given"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The signed session whose record is corrected.
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("group_session.id"), index=True)
    #: The participant whose entry or check-in is corrected; empty for the group note.
    patient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("patient.id"), index=True)
    #: The assignment whose check-in of that day is corrected; empty for the entry itself.
    assignment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assignment.id"), index=True)
    #: The corrected entry, when it existed before the correction.
    attendance_id: Mapped[int | None] = mapped_column(sa.ForeignKey("attendance.id"), index=True)
    #: Who made the correction.
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    #: When.
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    #: Field name to [before, after].
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: Why the entry was corrected.
    reason: Mapped[str] = mapped_column(sa.String(500))

    attendance: Mapped[Attendance | None] = relationship()
    session: Mapped["GroupSession"] = relationship()  # noqa: F821
    patient: Mapped["Patient | None"] = relationship()  # noqa: F821
    assignment: Mapped["Assignment | None"] = relationship()  # noqa: F821
    author: Mapped["StaffUser | None"] = relationship()  # noqa: F821

    def __str__(self) -> str:
        return f"Addendum #{self.id}"
