"""The weekly social-connectedness rating beside the kindness dose (``services/kindness_dose``)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import VersionedMixin, utcnow

#: The answers the one question takes: 0 (not at all connected) to 10 (very connected).
CONNECTEDNESS_MIN = 0
CONNECTEDNESS_MAX = 10


class ConnectednessRating(VersionedMixin, db.Model):
    """A patient's answer, for one ISO week, to "how connected did you feel to other people?".

    One row per patient and week (``week_start``, the Monday): entering the same week again
    changes it, guarded by the row version; every earlier answer stays in the audit trail.
    The database refuses an answer out of range and a week that does not start on a Monday
    (so the unique key really is one per week).
    """

    __tablename__ = "connectedness_rating"
    __table_args__ = (
        sa.CheckConstraint(f"rating BETWEEN {CONNECTEDNESS_MIN} AND {CONNECTEDNESS_MAX}", name="rating_range"),
        # The same rule in each database's words; only the one of the database in use is made.
        sa.CheckConstraint("strftime('%w', week_start) = '1'", name="week_starts_monday").ddl_if(dialect="sqlite"),
        sa.CheckConstraint("extract(isodow from week_start) = 1",
                           name="week_starts_monday").ddl_if(dialect="postgresql"),
        sa.UniqueConstraint("patient_id", "week_start", name="uq_connectedness_rating_patient_week"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Whose answer it is.
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"))
    #: The Monday of the week the answer is about.
    week_start: Mapped[date] = mapped_column(sa.Date)
    #: 0 (not at all connected) to 10 (very connected).
    rating: Mapped[int] = mapped_column(sa.Integer)
    #: The member of staff who entered the answer as it stands (None from the command line or the demo).
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"), index=True)
    #: When the answer as it stands was entered.
    recorded_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

    patient: Mapped["Patient"] = relationship()  # noqa: F821
    recorded_by: Mapped["StaffUser | None"] = relationship()  # noqa: F821

    def __str__(self) -> str:
        return f"Connectedness rating #{self.id}"
