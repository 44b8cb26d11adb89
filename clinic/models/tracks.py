"""Levels of care: inpatient, intensive (partial hospitalisation) and IOP."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import VersionedMixin


track_starter_exercise = sa.Table(
    "track_starter_exercise",
    db.metadata,
    sa.Column("track_id", sa.ForeignKey("track.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "exercise_id", sa.ForeignKey("kindness_exercise.id", ondelete="CASCADE"), primary_key=True
    ),
)


class Track(VersionedMixin, db.Model):
    """A level of care that patients are enrolled in and groups belong to."""

    __tablename__ = "track"
    __table_args__ = (
        sa.CheckConstraint("weekly_min_minutes >= 0", name="min_minutes_not_negative"),
        sa.CheckConstraint("weekly_min_days BETWEEN 0 AND 7", name="min_days_in_week"),
        sa.CheckConstraint("care_level >= 1", name="care_level_positive"),
        # Migration 0021: the PHQ-9 / GAD-7 schedule's interval (services.measure_schedule).
        sa.CheckConstraint("measure_interval_days BETWEEN 1 AND 90", name="measure_interval_range"),
        # Migration 0023: the level of care's (re)certification schedule, both or neither.
        sa.CheckConstraint(
            "(recert_first_days IS NULL AND recert_every_days IS NULL) OR "
            "(recert_first_days BETWEEN 1 AND 366 AND recert_every_days BETWEEN 1 AND 366)",
            name="recert_days_range",
        ),
        sa.CheckConstraint("length(default_goal) <= 1000", name="default_goal_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short stable code used in the CLI and URLs: ``inpatient``, ``intensive``, ``iop``.
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    #: Name shown to staff and patients.
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    #: Order of intensity: 1 is the most intensive (inpatient); stepping down raises it.
    care_level: Mapped[int] = mapped_column(sa.Integer, unique=True)
    #: Programme minutes a patient should be offered per week.
    weekly_min_minutes: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: Days per week with programme activity.
    weekly_min_days: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: Days between PHQ-9 / GAD-7 administrations after the one at admission (1-90; weekly: 7).
    #: The admission, step-down and discharge occasions are fixed policy
    #: (``services.measure_schedule``).
    measure_interval_days: Mapped[int] = mapped_column(sa.Integer, default=7, server_default="7")
    #: Plain description of the level of care.
    description: Mapped[str] = mapped_column(sa.Text, default="")

    #: The goal a fan-out to a group or the whole track attaches to each patient's plan (one
    #: goal "of this kind" per patient is impossible to ask for); empty: none.
    default_goal: Mapped[str] = mapped_column(sa.Text, default="", server_default=sa.text("''"))
    #: The level of care's recertification: the first this many days after the enrolment
    #: starts (a certification is due on the first day), then every ``recert_every_days``
    #: after the latest one. Empty: the track is not certified (inpatient).
    recert_first_days: Mapped[int | None] = mapped_column(sa.Integer)
    recert_every_days: Mapped[int | None] = mapped_column(sa.Integer)

    #: Exercises assigned automatically when a patient is enrolled in this track.
    starter_exercises: Mapped[list["KindnessExercise"]] = relationship(  # noqa: F821
        secondary=track_starter_exercise, order_by="KindnessExercise.title"
    )

    @property
    def weekly_min_hours(self) -> float:
        """The weekly minimum in hours."""
        return round((self.weekly_min_minutes or 0) / 60, 1)

    def __str__(self) -> str:
        return self.name


class TrackText(VersionedMixin, db.Model):
    """A track's default goal in another language (migration 0034).

    English stays on ``track.default_goal`` (the source, and what a patient's goal stores:
    goals are matched to it by their text). The patient progress sheet prints this
    translation for a goal made from the default while its text still equals the English
    (``services.track_texts``). Which language codes are allowed is the service's rule.
    """

    __tablename__ = "track_text"
    __table_args__ = (
        sa.UniqueConstraint("track_id", "language", name="uq_track_text_track_language"),
        sa.CheckConstraint("length(default_goal) <= 1000", name="default_goal_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    track_id: Mapped[int] = mapped_column(sa.ForeignKey("track.id", ondelete="CASCADE"))
    #: The language code (``es``), one with a catalogue in ``translations/``.
    language: Mapped[str] = mapped_column(sa.String(12))
    default_goal: Mapped[str] = mapped_column(sa.Text, default="")

    track: Mapped[Track] = relationship()

    def __str__(self) -> str:
        return f"Track text #{self.id} ({self.language})"
