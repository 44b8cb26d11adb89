"""Safety tasks: a positive answer to PHQ-9 item 9 waits here until a clinician assesses the risk."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import VersionedMixin, choice, utcnow

#: The clinician's judgement of the risk, recorded with the assessment.
RISK_LEVELS = ("low", "moderate", "high", "imminent")


class SafetyTask(VersionedMixin, db.Model):
    """Opened when a PHQ-9 is saved with item 9 above 0; closed only by a risk assessment.

    The database refuses a closed task without its assessment (risk level, action taken,
    who and when), so a task cannot be dismissed: it shows at the top of My day, the
    patient's page and the admins' home page until then.
    """

    __tablename__ = "safety_task"
    __table_args__ = (
        sa.CheckConstraint("item9_answer BETWEEN 1 AND 3", name="item9_positive"),
        sa.CheckConstraint(
            "closed_at IS NULL OR (assessed_by_id IS NOT NULL AND assessed_at IS NOT NULL"
            " AND risk_level IS NOT NULL AND length(action_taken) > 0)",
            name="closed_by_an_assessment",
        ),
        sa.CheckConstraint("length(action_taken) <= 4000", name="action_taken_length"),
        # The open tasks are read on every My day and home page.
        sa.Index("ix_safety_task_open", "closed_at", "opened_at"),
        # Migration 0027: the open tasks in the order the pages list them (oldest first), so
        # a page of them is read from the index rather than sorting every open task.
        sa.Index("ix_safety_task_open_opened_at", "opened_at", "id",
                 sqlite_where=sa.text("closed_at IS NULL"), postgresql_where=sa.text("closed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Whose answer it is.
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), index=True)
    #: The PHQ-9 whose item 9 was answered above 0.
    administration_id: Mapped[int] = mapped_column(sa.ForeignKey("measure_administration.id"), index=True)
    #: The answer that opened the task (1 several days, 2 more than half the days, 3 nearly every day).
    item9_answer: Mapped[int] = mapped_column(sa.Integer)
    opened_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    #: Who entered the answer.
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    #: The patient's primary counselor when the task opened (the admins see every task).
    counselor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"), index=True)
    #: The assessment: when it took place, by whom, the risk level and what was done.
    assessed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    assessed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    risk_level: Mapped[str | None] = mapped_column(choice("safety_risk_level", RISK_LEVELS))
    action_taken: Mapped[str] = mapped_column(sa.Text, default="")
    #: When the assessment was recorded (the task closed); None while open.
    closed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)

    patient: Mapped["Patient"] = relationship()  # noqa: F821
    counselor: Mapped["StaffUser | None"] = relationship(foreign_keys=[counselor_id])  # noqa: F821
    assessed_by: Mapped["StaffUser | None"] = relationship(foreign_keys=[assessed_by_id])  # noqa: F821
    opened_by: Mapped["StaffUser | None"] = relationship(foreign_keys=[opened_by_id])  # noqa: F821

    def __str__(self) -> str:
        return f"Safety task #{self.id}"
