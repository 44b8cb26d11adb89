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

    session: Mapped["GroupSession"] = relationship()  # noqa: F821
    patient: Mapped["Patient"] = relationship()  # noqa: F821
    recorded_by: Mapped["StaffUser | None"] = relationship()  # noqa: F821

    def __str__(self) -> str:
        return f"Attendance #{self.id}"


class AttendanceAddendum(db.Model):
    """A correction to one participant's entry after the session record was signed.

    The attendance row is updated; the addendum keeps who, when, what changed and why.
    Addenda are never edited or removed.
    """

    __tablename__ = "attendance_addendum"
    __append_only__ = True
    __table_args__ = (sa.CheckConstraint("length(trim(reason)) > 0", name="reason_given"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The corrected entry.
    attendance_id: Mapped[int] = mapped_column(sa.ForeignKey("attendance.id"), index=True)
    #: Who made the correction.
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    #: When.
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    #: Field name to [before, after].
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: Why the entry was corrected.
    reason: Mapped[str] = mapped_column(sa.String(500))

    attendance: Mapped[Attendance] = relationship()
    author: Mapped["StaffUser | None"] = relationship()  # noqa: F821

    def __str__(self) -> str:
        return f"Addendum #{self.id}"
