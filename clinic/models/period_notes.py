"""The counselor's summary and next steps for a patient over a period (the progress sheet's)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import VersionedMixin, utcnow


class PeriodNote(VersionedMixin, db.Model):
    """What a counselor typed on a progress sheet's print form for one patient and period.

    One row per patient and period (from, to): printing the same period again shows and
    updates it, with the row version guarding against two people overwriting each other.
    Every earlier text stays in the audit trail (old and new values of each save).
    """

    __tablename__ = "period_note"
    __table_args__ = (
        sa.CheckConstraint("period_to >= period_from", name="period_not_reversed"),
        sa.CheckConstraint("length(summary) <= 4000", name="summary_length"),
        sa.CheckConstraint("length(next_steps) <= 4000", name="next_steps_length"),
        sa.UniqueConstraint("patient_id", "period_from", "period_to", name="uq_period_note_patient_period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Whose progress the text is about.
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), index=True)
    #: The first day of the period printed.
    period_from: Mapped[date] = mapped_column(sa.Date)
    #: The last day of the period printed.
    period_to: Mapped[date] = mapped_column(sa.Date)
    #: The counselor's summary, as typed.
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    #: The next steps, as typed.
    next_steps: Mapped[str] = mapped_column(sa.Text, default="")
    #: Who wrote the text as it stands (None when written from the command line).
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"), index=True)
    #: When the text as it stands was written.
    written_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

    author: Mapped["StaffUser | None"] = relationship()  # noqa: F821

    def __str__(self) -> str:
        return f"Summary and next steps #{self.id}"
