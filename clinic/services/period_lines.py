"""The lines of a progress sheet: one patient's period, as loaded by ``period_progress``.

Track history, sessions offered or attended with the patient's own entry, ISO weeks
against the track's weekly minimum, assignments with their check-in counts, the
mood summary, and the kindness dose per week (``kindness_dose``). What "attended" means comes from ``participation`` (``ATTENDED_STATUSES``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ..models import Patient
from .chart import MoodChart
from .kindness_dose import DoseWeek
from .participation import ATTENDED_STATUSES

STATUS_LABELS = {
    "present": "present",
    "late": "late",
    "left_early": "left early",
    "absent": "absent",
    "excused": "excused",
    "not_recorded": "not recorded yet",
    "no_entry": "no entry",
}
ENROLMENT_LABELS = {
    "active": "active",
    "stepped_down": "stepped down",
    "stepped_up": "stepped up",
    "discharged": "discharged",
    "withdrawn": "withdrawn",
}


@dataclass(frozen=True)
class TrackStep:
    """One enrolment in the patient's track history."""

    track_name: str
    care_level: int
    start_date: date
    end_date: date | None
    status: str
    reason: str
    counselor: str
    weekly_min_minutes: int
    weekly_min_days: int

    @property
    def status_label(self) -> str:
        return ENROLMENT_LABELS.get(self.status, self.status.replace("_", " "))

    def covers(self, day: date) -> bool:
        """True when the enrolment includes ``day``."""
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)


@dataclass(frozen=True)
class SessionLine:
    """A session offered to the patient (or attended) in the period, with their own entry."""

    session_id: int
    starts_at: datetime
    group_name: str
    activity_name: str
    duration_minutes: int
    #: An attendance status, or ``not_recorded`` / ``no_entry``.
    status: str
    minutes_attended: int
    engagement: int | None
    #: The individual note (staff only).
    note: str

    @property
    def attended(self) -> bool:
        return self.status in ATTENDED_STATUSES

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def day(self) -> date:
        return self.starts_at.date()


@dataclass(frozen=True)
class WeekLine:
    """One ISO week of the period: hours attended against the track's weekly minimum."""

    monday: date
    first: date
    last: date
    track_name: str
    min_minutes: int | None
    min_days: int | None
    offered: int
    attended: int
    offered_minutes: int
    minutes: int
    days: int
    #: True when the week is not wholly inside the period, the enrolment or the past.
    partial: bool

    @property
    def label(self) -> str:
        iso = self.monday.isocalendar()
        return f"{iso[0]}-W{iso[1]:02d}"

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 1)

    @property
    def min_hours(self) -> float | None:
        return None if self.min_minutes is None else round(self.min_minutes / 60, 1)

    @property
    def met(self) -> bool | None:
        """Whether hours and days reached the minimum; None for part weeks or without a track."""
        if self.min_minutes is None or self.partial:
            return None
        return self.minutes >= self.min_minutes and self.days >= (self.min_days or 0)

    @property
    def state_label(self) -> str:
        if self.min_minutes is None:
            return "not enrolled"
        if self.partial:
            return "part week"
        if self.met:
            return "met"
        short = []
        if self.minutes < self.min_minutes:
            short.append(f"{(self.min_minutes - self.minutes) / 60:.1f} h short")
        if self.days < (self.min_days or 0):
            missing = self.min_days - self.days
            short.append(f"{missing} day{'s' if missing != 1 else ''} short")
        return "below: " + ", ".join(short)


@dataclass(frozen=True)
class ExerciseLine:
    """An assignment relevant to the period and its check-ins in the period."""

    assignment_id: int
    title: str
    summary: str
    start_date: date
    due_date: date | None
    times_per_week: int
    status: str
    source: str
    done: int
    partly: int
    not_done: int
    #: The exercise assigned (a patient's sheet words its title in the patient's language).
    exercise_id: int | None = None

    @property
    def checkins(self) -> int:
        return self.done + self.partly + self.not_done


@dataclass(frozen=True)
class MoodSummary:
    """Check-ins in the period that have both moods."""

    count: int = 0
    before_sum: int = 0
    after_sum: int = 0
    #: Check-ins whose mood after was higher than before.
    lifted: int = 0

    @property
    def before(self) -> float | None:
        return round(self.before_sum / self.count, 1) if self.count else None

    @property
    def after(self) -> float | None:
        return round(self.after_sum / self.count, 1) if self.count else None

    @property
    def change(self) -> float | None:
        return round((self.after_sum - self.before_sum) / self.count, 1) if self.count else None


@dataclass(frozen=True)
class PatientProgress:
    """Everything known about one patient's period, before it is cut to a version."""

    patient: Patient
    start: date
    end: date
    today: date
    history: tuple[TrackStep, ...]
    sessions: tuple[SessionLine, ...]
    weeks: tuple[WeekLine, ...]
    exercises: tuple[ExerciseLine, ...]
    current_exercises: tuple[ExerciseLine, ...]
    chart: MoodChart
    mood: MoodSummary
    #: The PHQ-9 item 9 safety tasks of the period (open in it, opened or closed in it): staff only.
    safety: tuple = ()
    #: The treatment plan's goals in force during the period (services.treatment_plan.GoalLine),
    #: each with its objectives and the exercises serving it.
    goals: tuple = ()
    #: Acts of kindness and connectedness per ISO week of the period (``kindness_dose.weekly_dose``).
    dose: tuple[DoseWeek, ...] = ()
    #: PHQ-9 and GAD-7 over time up to the period's end (``measure_trend``): staff only.
    trends: tuple = ()

    @property
    def offered(self) -> int:
        return len(self.sessions)

    @property
    def attended(self) -> int:
        return sum(1 for s in self.sessions if s.attended)

    @property
    def unrecorded(self) -> int:
        return sum(1 for s in self.sessions if s.status == "not_recorded")

    @property
    def days_attended(self) -> int:
        return len({s.day for s in self.sessions if s.attended})

    @property
    def engagement(self) -> tuple[float | None, int]:
        """Average engagement (1–5) over attended sessions with a rating, and how many."""
        ratings = [s.engagement for s in self.sessions if s.attended and s.engagement is not None]
        return (round(sum(ratings) / len(ratings), 1) if ratings else None), len(ratings)

    @property
    def done(self) -> int:
        return sum(e.done for e in self.exercises)

    @property
    def partly(self) -> int:
        return sum(e.partly for e in self.exercises)

    @property
    def not_done(self) -> int:
        return sum(e.not_done for e in self.exercises)

    @property
    def attendance_rate(self) -> int | None:
        """Sessions attended over sessions offered, in whole percent (None without any offered)."""
        return round(100 * self.attended / self.offered) if self.offered else None

    @property
    def enrolment_now(self) -> TrackStep | None:
        """The enrolment in force at the end of the period (or today, if that is earlier)."""
        at = min(self.end, self.today)
        return next((e for e in reversed(self.history) if e.covers(at)), None)

    @property
    def step_path(self) -> tuple[str, ...]:
        """The tracks the patient went through, in order, without repeats in a row."""
        path: list[str] = []
        for step in self.history:
            if not path or path[-1] != step.track_name:
                path.append(step.track_name)
        return tuple(path)


__all__ = [
    "ENROLMENT_LABELS",
    "STATUS_LABELS",
    "ExerciseLine",
    "MoodSummary",
    "PatientProgress",
    "SessionLine",
    "TrackStep",
    "WeekLine",
]
