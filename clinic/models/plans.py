"""The treatment plan of an enrolment: problems, measurable goals, objectives and plan reviews.

Payers do not cover "diversionary" activity, so each kindness exercise names the goal of the
patient's plan it serves (``Assignment.goal_id``). Every rule lives in
``services/treatment_plan``; the database keeps what must never be stored (a goal of another
patient, a target date before the enrolment began, an empty statement), see migration 0023.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import VersionedMixin, choice, utcnow

PROBLEM_STATUSES = ("active", "resolved")
GOAL_STATUSES = ("active", "met", "discontinued")
OBJECTIVE_STATUSES = ("active", "met", "discontinued")
#: review: the plan reviewed (every CLINIC_PLAN_REVIEW_DAYS); certification and
#: recertification: the physician's (re)certification of the level of care (IOP, PHP).
REVIEW_KINDS = ("review", "certification", "recertification")
#: Longest problem, goal and objective text, and review note.
PLAN_TEXT_LIMIT = 1000
REVIEW_NOTE_LIMIT = 4000


class PlanProblem(VersionedMixin, db.Model):
    """A problem the plan addresses ("low mood and withdrawal from friends")."""

    __tablename__ = "plan_problem"
    __table_args__ = (
        sa.CheckConstraint(f"length(text) BETWEEN 1 AND {PLAN_TEXT_LIMIT}", name="text_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The enrolment whose plan it belongs to.
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("enrolment.id"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    #: active or resolved.
    status: Mapped[str] = mapped_column(choice("plan_problem_status", PROBLEM_STATUSES), default="active")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))

    enrolment: Mapped["Enrolment"] = relationship()  # noqa: F821

    def __str__(self) -> str:
        return f"Problem #{self.id}"


class PlanGoal(VersionedMixin, db.Model):
    """A measurable goal with a target date, under a problem (or straight under the plan).

    ``patient_id`` repeats the enrolment's patient (a composite foreign key keeps them
    together) so that the database can refuse an assignment serving another patient's goal
    (a trigger on ``assignment``, migration 0023).
    """

    __tablename__ = "plan_goal"
    __table_args__ = (
        sa.CheckConstraint(f"length(statement) BETWEEN 1 AND {PLAN_TEXT_LIMIT}", name="statement_length"),
        sa.CheckConstraint("length(status_reason) <= 255", name="status_reason_length"),
        sa.ForeignKeyConstraint(["enrolment_id", "patient_id"], ["enrolment.id", "enrolment.patient_id"],
                                name="fk_plan_goal_enrolment_patient"),
        sa.Index("ix_plan_goal_enrolment_status", "enrolment_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(sa.Integer)
    patient_id: Mapped[int] = mapped_column(sa.Integer, index=True)
    problem_id: Mapped[int | None] = mapped_column(sa.ForeignKey("plan_problem.id"), index=True)
    #: What will be seen when it is met ("does 3 acts of kindness a week for 4 weeks").
    statement: Mapped[str] = mapped_column(sa.Text)
    #: When it should be met; never before the enrolment began (a trigger, migration 0023).
    target_date: Mapped[date] = mapped_column(sa.Date)
    #: active, met or discontinued.
    status: Mapped[str] = mapped_column(choice("plan_goal_status", GOAL_STATUSES), default="active")
    status_reason: Mapped[str] = mapped_column(sa.String(255), default="")
    #: True when made from the track's default goal by a fan-out (the same goal is reused).
    from_track_default: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))

    problem: Mapped[PlanProblem | None] = relationship()
    enrolment: Mapped["Enrolment"] = relationship(  # noqa: F821
        foreign_keys=[enrolment_id], primaryjoin="PlanGoal.enrolment_id == Enrolment.id", viewonly=True)

    def __str__(self) -> str:
        return self.statement


class PlanObjective(VersionedMixin, db.Model):
    """A small, concrete step towards a goal, with an optional target date."""

    __tablename__ = "plan_objective"
    __table_args__ = (
        sa.CheckConstraint(f"length(text) BETWEEN 1 AND {PLAN_TEXT_LIMIT}", name="text_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(sa.ForeignKey("plan_goal.id"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    target_date: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(choice("plan_objective_status", OBJECTIVE_STATUSES), default="active")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))

    goal: Mapped[PlanGoal] = relationship()

    def __str__(self) -> str:
        return f"Objective #{self.id}"


class PlanReview(VersionedMixin, db.Model):
    """A review of the plan, or a (re)certification of the level of care, on a day."""

    __tablename__ = "plan_review"
    __table_args__ = (
        sa.CheckConstraint(f"length(note) <= {REVIEW_NOTE_LIMIT}", name="note_length"),
        sa.Index("ix_plan_review_enrolment_kind", "enrolment_id", "kind", "reviewed_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("enrolment.id"))
    kind: Mapped[str] = mapped_column(choice("plan_review_kind", REVIEW_KINDS), default="review")
    #: The day it took place (never in the future, never before the enrolment began).
    reviewed_on: Mapped[date] = mapped_column(sa.Date)
    reviewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

    reviewer: Mapped["StaffUser | None"] = relationship()  # noqa: F821

    def __str__(self) -> str:
        return f"Plan review #{self.id}"
