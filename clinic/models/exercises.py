"""The kindness exercise catalogue, assignments to patients and check-ins."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import VersionedMixin, choice, trigram_index, utcnow

DIRECTIONS = ("others", "self")
ENERGY_LEVELS = ("low", "medium", "high")
ASSIGNMENT_STATUSES = ("active", "paused", "completed", "stopped")
ASSIGNMENT_SOURCES = ("individual", "group", "track")
CHECKIN_OUTCOMES = ("done", "partly", "not_done")

exercise_track = sa.Table(
    "exercise_track",
    db.metadata,
    sa.Column(
        "exercise_id", sa.ForeignKey("kindness_exercise.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("track_id", sa.ForeignKey("track.id", ondelete="CASCADE"), primary_key=True),
)


class KindnessExercise(VersionedMixin, db.Model):
    """A catalogue entry written for patients."""

    __tablename__ = "kindness_exercise"
    __table_args__ = (
        sa.CheckConstraint(
            "default_times_per_week BETWEEN 1 AND 14", name="times_per_week_range"
        ),
        trigram_index("ix_kindness_exercise_title_trgm", "title"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Title printed on the handout.
    title: Mapped[str] = mapped_column(sa.String(120), unique=True)
    #: Kindness toward others or toward oneself.
    direction: Mapped[str] = mapped_column(choice("exercise_direction", DIRECTIONS))
    #: Energy it takes: low, medium or high. Depression saps energy, so low matters.
    energy: Mapped[str] = mapped_column(choice("exercise_energy", ENERGY_LEVELS))
    #: One-line summary for lists.
    summary: Mapped[str] = mapped_column(sa.String(255), default="")
    #: Why it helps, in plain words.
    why_it_helps: Mapped[str] = mapped_column(sa.Text, default="")
    #: How to do it, step by step.
    how_to: Mapped[str] = mapped_column(sa.Text, default="")
    #: Questions to reflect on afterwards, one per line.
    reflection_prompts: Mapped[str] = mapped_column(sa.Text, default="")
    #: How often per week it is usually assigned.
    default_times_per_week: Mapped[int] = mapped_column(sa.Integer, default=3)
    #: Retired exercises stay for history but are not assigned.
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)

    tracks: Mapped[list["Track"]] = relationship(secondary=exercise_track)  # noqa: F821

    def suits_track(self, track_id: int) -> bool:
        """True when the exercise is meant for the track with ``track_id``."""
        return any(track.id == track_id for track in self.tracks)

    def __str__(self) -> str:
        return self.title


class ExerciseText(VersionedMixin, db.Model):
    """An exercise's patient texts in another language (migration 0032).

    English stays on ``kindness_exercise`` (the source); a blank field here is not translated
    yet and prints in English (``services.exercise_texts``). Which language codes are allowed
    is the service's rule (``services.languages``), not a database constraint.
    """

    __tablename__ = "exercise_text"
    __table_args__ = (sa.UniqueConstraint("exercise_id", "language", name="uq_exercise_text_exercise_language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The exercise translated.
    exercise_id: Mapped[int] = mapped_column(sa.ForeignKey("kindness_exercise.id", ondelete="CASCADE"))
    #: The language code (``es``), one with a catalogue in ``translations/``.
    language: Mapped[str] = mapped_column(sa.String(12))
    title: Mapped[str] = mapped_column(sa.String(120), default="")
    summary: Mapped[str] = mapped_column(sa.String(255), default="")
    why_it_helps: Mapped[str] = mapped_column(sa.Text, default="")
    how_to: Mapped[str] = mapped_column(sa.Text, default="")
    reflection_prompts: Mapped[str] = mapped_column(sa.Text, default="")

    exercise: Mapped[KindnessExercise] = relationship()

    def __str__(self) -> str:
        return f"Exercise text #{self.id} ({self.language})"


class Assignment(VersionedMixin, db.Model):
    """An exercise given to one patient."""

    __tablename__ = "assignment"
    __table_args__ = (
        sa.CheckConstraint("times_per_week BETWEEN 1 AND 14", name="times_per_week_range"),
        sa.CheckConstraint(
            "due_date IS NULL OR due_date >= start_date", name="due_not_before_start"
        ),
        sa.Index(
            "uq_assignment_one_active",
            "patient_id",
            "exercise_id",
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        ),
        # Migration 0009: a patient's assignments by status; the list's sort.
        sa.Index("ix_assignment_patient_status", "patient_id", "status"),
        sa.Index("ix_assignment_start_date", "start_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The exercise.
    exercise_id: Mapped[int] = mapped_column(sa.ForeignKey("kindness_exercise.id"), index=True)
    #: Who does it.
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), index=True)
    #: First day.
    start_date: Mapped[date] = mapped_column(sa.Date)
    #: When it should be done by; empty for open-ended.
    due_date: Mapped[date | None] = mapped_column(sa.Date)
    #: How often per week.
    times_per_week: Mapped[int] = mapped_column(sa.Integer, default=3)
    #: active, paused, completed or stopped.
    status: Mapped[str] = mapped_column(choice("assignment_status", ASSIGNMENT_STATUSES), default="active")
    #: Why it was paused, completed or stopped.
    status_reason: Mapped[str] = mapped_column(sa.String(255), default="")
    #: Staff member who assigned it.
    assigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    #: individual, group or track: how the assignment was made.
    source: Mapped[str] = mapped_column(
        choice("assignment_source", ASSIGNMENT_SOURCES), default="individual"
    )
    #: When it was made.
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    #: The treatment-plan goal the exercise serves (migration 0023; empty on older assignments
    #: and while the patient has no active goal: see services/treatment_plan.goal_for_assignment).
    goal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("plan_goal.id"), index=True)

    exercise: Mapped[KindnessExercise] = relationship()
    patient: Mapped["Patient"] = relationship()  # noqa: F821
    goal: Mapped["PlanGoal | None"] = relationship()  # noqa: F821
    assigned_by: Mapped["StaffUser | None"] = relationship()  # noqa: F821

    def __str__(self) -> str:
        return f"Assignment #{self.id}"


class ExerciseCheckin(VersionedMixin, db.Model):
    """Whether a patient did an assigned exercise on a day, and how they felt."""

    __tablename__ = "exercise_checkin"
    __table_args__ = (
        sa.UniqueConstraint("assignment_id", "on_date", name="uq_exercise_checkin_assignment_day"),
        # Migration 0009: the list's sort.
        sa.Index("ix_exercise_checkin_on_date", "on_date"),
        sa.CheckConstraint("mood_before IS NULL OR mood_before BETWEEN 0 AND 10", name="mood_before_range"),
        sa.CheckConstraint("mood_after IS NULL OR mood_after BETWEEN 0 AND 10", name="mood_after_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The assignment checked in on.
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("assignment.id"), index=True)
    #: The day it refers to.
    on_date: Mapped[date] = mapped_column(sa.Date)
    #: done, partly or not_done.
    outcome: Mapped[str] = mapped_column(choice("checkin_outcome", CHECKIN_OUTCOMES))
    #: Mood before, 0 (lowest) to 10.
    mood_before: Mapped[int | None] = mapped_column(sa.Integer)
    #: Mood after, 0 (lowest) to 10.
    mood_after: Mapped[int | None] = mapped_column(sa.Integer)
    #: The patient's one-line reflection.
    reflection: Mapped[str] = mapped_column(sa.String(280), default="")
    #: Staff member who recorded it.
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    #: The session where it was recorded, if any.
    session_id: Mapped[int | None] = mapped_column(sa.ForeignKey("group_session.id"), index=True)
    #: When it was recorded.
    recorded_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    #: The addendum behind the latest change after its session was signed (see Attendance).
    last_addendum_id: Mapped[int | None] = mapped_column(sa.Integer)

    assignment: Mapped[Assignment] = relationship()
    recorded_by: Mapped["StaffUser | None"] = relationship()  # noqa: F821
    session: Mapped["GroupSession | None"] = relationship()  # noqa: F821

    def __str__(self) -> str:
        return f"Check-in #{self.id}"
