"""Progress sheets: how a patient did over a period, in a staff version and a patient version.

``load_progress`` reads everything a sheet needs for one patient or many in (at most) six
statements, whatever the number of sessions, attendances and check-ins:
enrolments, sessions offered through group memberships, the patient's own attendance
rows, assignments with their check-in counts, mood per check-in day (the chart) and the
mood summary. ``staff_sheet`` and ``patient_sheet`` turn that into what each template
prints; ``progress_sheet`` renders one, audits the export and commits.

The two versions are built from different objects on purpose:

- ``StaffSheet`` (``pdf/progress_staff.html``) has the full name and record number, the
  track history with its step-down path, sessions offered and attended, hours per ISO
  week against the track's minimum, engagement, every assignment with its done / partly /
  not done counts, the mood chart, the individual notes (dated), the counselor's summary
  and next steps, and signature lines.
- ``PatientSheet`` (``pdf/progress_patient.html``) holds only the display name (preferred
  name, else first name and initial), a few counts phrased warmly, the mood chart and the
  current exercises. It never receives a note, a summary, next steps, a record number,
  a last name or any session's group note: group notes are typed by staff and may name
  other patients, so the patient version prints none of them. What a template is not
  given it cannot print.

Everything a person typed (names, notes, summary, next steps) reaches the templates as
plain strings and is escaped there.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import (
    Activity,
    Assignment,
    Attendance,
    CareGroup,
    Enrolment,
    ExerciseCheckin,
    GroupMembership,
    GroupSession,
    KindnessExercise,
    Patient,
)
from ..services import audit
from ..services.chart import MoodChart, mood_chart, mood_days
from ..services.errors import RuleViolation
from ..services.membership import covers
from ..services.progress import ATTENDED_STATUSES
from . import render
from .handouts import times_text, week_of
from .render import day_month, period_text

VERSIONS = ("staff", "patient")
VERSION_LABELS = {"staff": "Staff version", "patient": "Patient version"}
#: The longest period one sheet covers.
MAX_PERIOD_DAYS = 366
#: The most characters the summary and the next steps may each hold.
TEXT_LIMIT = 4000
STAFF_TITLE = "Progress sheet"
PATIENT_TITLE = "Your progress"
#: The document name audit events carry.
DOCUMENT = "progress_sheet"

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


def check_request(start: date, end: date, version: str, summary: str = "", next_steps: str = "") -> None:
    """Refuse a period, version or typed text a sheet cannot be made from (``RuleViolation``)."""
    if version not in VERSIONS:
        raise RuleViolation("Choose the staff version or the patient version.")
    if start is None or end is None:
        raise RuleViolation("Give the first and the last day of the period.")
    if end < start:
        raise RuleViolation("The period cannot end before it starts.")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise RuleViolation(f"Choose a period of at most {MAX_PERIOD_DAYS} days.")
    for name, text in (("summary", summary), ("next steps", next_steps)):
        if len(text or "") > TEXT_LIMIT:
            raise RuleViolation(f"Keep the {name} to {TEXT_LIMIT} characters.")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min)


# What a sheet is made of -------------------------------------------------------------------
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
    def dates(self) -> str:
        if self.first == self.last:
            return day_month(self.first)
        return f"{day_month(self.first)} – {day_month(self.last)}"

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

    @property
    def checkins(self) -> int:
        return self.done + self.partly + self.not_done

    @property
    def aim(self) -> str:
        return times_text(self.times_per_week)

    @property
    def dates(self) -> str:
        since = f"{day_month(self.start_date)} {self.start_date.year}"
        if self.due_date is None:
            return f"from {since}"
        return f"{since} – {day_month(self.due_date)} {self.due_date.year}"


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


# Loading, a fixed number of statements for any number of patients ---------------------------
def _history(patient_ids: list[int]) -> dict[int, list[TrackStep]]:
    rows = db.session.scalars(
        sa.select(Enrolment)
        .where(Enrolment.patient_id.in_(patient_ids))
        .options(joinedload(Enrolment.track), joinedload(Enrolment.primary_counselor))
        .order_by(Enrolment.patient_id, Enrolment.start_date, Enrolment.id)
    )
    history: dict[int, list[TrackStep]] = defaultdict(list)
    for e in rows:
        history[e.patient_id].append(
            TrackStep(
                track_name=e.track.name,
                care_level=e.track.care_level,
                start_date=e.start_date,
                end_date=e.end_date,
                status=e.status,
                reason=e.end_reason or "",
                counselor=e.primary_counselor.full_name if e.primary_counselor else "",
                weekly_min_minutes=e.track.weekly_min_minutes or 0,
                weekly_min_days=e.track.weekly_min_days or 0,
            )
        )
    return history


def _sessions(patient_ids: list[int], start: date, end: date, today: date) -> dict[int, list[SessionLine]]:
    """Sessions offered (member on the day, not cancelled, up to today) or attended in the period."""
    session_day = sa.func.date(GroupSession.starts_at)
    offered_until = min(end, today)
    lines: dict[tuple[int, int], SessionLine] = {}
    if offered_until >= start:
        offered = db.session.execute(
            sa.select(
                GroupMembership.patient_id,
                GroupSession.id,
                GroupSession.starts_at,
                GroupSession.duration_minutes,
                GroupSession.recorded_at,
                CareGroup.name.label("group_name"),
                Activity.name.label("activity_name"),
            )
            .select_from(GroupSession)
            .join(
                GroupMembership,
                sa.and_(
                    GroupMembership.group_id == GroupSession.group_id,
                    covers(GroupMembership, session_day),
                ),
            )
            .join(CareGroup, CareGroup.id == GroupSession.group_id)
            .outerjoin(Activity, Activity.id == GroupSession.activity_id)
            .where(
                GroupMembership.patient_id.in_(patient_ids),
                GroupSession.status != "cancelled",
                GroupSession.starts_at >= _midnight(start),
                GroupSession.starts_at < _midnight(offered_until + timedelta(days=1)),
            )
        )
        for row in offered:
            lines[(row.patient_id, row.id)] = SessionLine(
                session_id=row.id,
                starts_at=row.starts_at,
                group_name=row.group_name,
                activity_name=row.activity_name or "",
                duration_minutes=row.duration_minutes,
                status="not_recorded" if row.recorded_at is None else "no_entry",
                minutes_attended=0,
                engagement=None,
                note="",
            )
    attended = db.session.execute(
        sa.select(
            Attendance.patient_id,
            GroupSession.id,
            GroupSession.starts_at,
            GroupSession.duration_minutes,
            CareGroup.name.label("group_name"),
            Activity.name.label("activity_name"),
            Attendance.status,
            Attendance.minutes_attended,
            Attendance.engagement,
            Attendance.note,
        )
        .select_from(Attendance)
        .join(GroupSession, GroupSession.id == Attendance.session_id)
        .join(CareGroup, CareGroup.id == GroupSession.group_id)
        .outerjoin(Activity, Activity.id == GroupSession.activity_id)
        .where(
            Attendance.patient_id.in_(patient_ids),
            GroupSession.status != "cancelled",
            GroupSession.starts_at >= _midnight(start),
            GroupSession.starts_at < _midnight(end + timedelta(days=1)),
        )
    )
    for row in attended:
        lines[(row.patient_id, row.id)] = SessionLine(
            session_id=row.id,
            starts_at=row.starts_at,
            group_name=row.group_name,
            activity_name=row.activity_name or "",
            duration_minutes=row.duration_minutes,
            status=row.status,
            minutes_attended=row.minutes_attended or 0,
            engagement=row.engagement,
            note=(row.note or "").strip(),
        )
    by_patient: dict[int, list[SessionLine]] = defaultdict(list)
    for (patient_id, _), line in lines.items():
        by_patient[patient_id].append(line)
    for patient_lines in by_patient.values():
        patient_lines.sort(key=lambda s: (s.starts_at, s.session_id))
    return by_patient


def _exercises(patient_ids: list[int], start: date, end: date) -> dict[int, list[ExerciseLine]]:
    """Every assignment of the patients with its check-in counts in the period."""
    in_period = sa.and_(ExerciseCheckin.on_date >= start, ExerciseCheckin.on_date <= end)

    def count(outcome: str):
        return sa.func.coalesce(
            sa.func.sum(sa.case((sa.and_(in_period, ExerciseCheckin.outcome == outcome), 1), else_=0)), 0
        )

    rows = db.session.execute(
        sa.select(
            Assignment.id,
            Assignment.patient_id,
            KindnessExercise.title,
            KindnessExercise.summary,
            Assignment.start_date,
            Assignment.due_date,
            Assignment.times_per_week,
            Assignment.status,
            Assignment.source,
            count("done").label("done"),
            count("partly").label("partly"),
            count("not_done").label("not_done"),
        )
        .join(KindnessExercise, KindnessExercise.id == Assignment.exercise_id)
        .outerjoin(ExerciseCheckin, ExerciseCheckin.assignment_id == Assignment.id)
        .where(Assignment.patient_id.in_(patient_ids))
        .group_by(
            Assignment.id, Assignment.patient_id, KindnessExercise.title, KindnessExercise.summary,
            Assignment.start_date, Assignment.due_date, Assignment.times_per_week, Assignment.status,
            Assignment.source,
        )
        .order_by(Assignment.patient_id, KindnessExercise.title, Assignment.start_date, Assignment.id)
    )
    result: dict[int, list[ExerciseLine]] = defaultdict(list)
    for row in rows:
        result[row.patient_id].append(
            ExerciseLine(
                assignment_id=row.id, title=row.title, summary=row.summary or "",
                start_date=row.start_date, due_date=row.due_date, times_per_week=row.times_per_week,
                status=row.status, source=row.source, done=int(row.done), partly=int(row.partly),
                not_done=int(row.not_done),
            )
        )
    return result


def _in_period(line: ExerciseLine, start: date, end: date) -> bool:
    """An assignment belongs on the sheet when it ran during the period as far as we can tell.

    It must have started by the end of the period, and have check-ins in the period,
    or have started within it, or still be active or paused and not be due before it.
    (A stopped assignment keeps no end date, so one with neither is left out.)
    """
    if line.start_date > end:
        return False
    if line.checkins or line.start_date >= start:
        return True
    return line.status in ("active", "paused") and (line.due_date is None or line.due_date >= start)


def _current(line: ExerciseLine, today: date) -> bool:
    """An exercise the patient is working on now: active and not past its due date."""
    return line.status == "active" and (line.due_date is None or line.due_date >= today)


def _moods(patient_ids: list[int], start: date, end: date) -> dict[int, MoodSummary]:
    both = sa.and_(ExerciseCheckin.mood_before.is_not(None), ExerciseCheckin.mood_after.is_not(None))
    rows = db.session.execute(
        sa.select(
            Assignment.patient_id,
            sa.func.count(ExerciseCheckin.id).label("count"),
            sa.func.coalesce(sa.func.sum(ExerciseCheckin.mood_before), 0).label("before"),
            sa.func.coalesce(sa.func.sum(ExerciseCheckin.mood_after), 0).label("after"),
            sa.func.coalesce(
                sa.func.sum(sa.case((ExerciseCheckin.mood_after > ExerciseCheckin.mood_before, 1), else_=0)), 0
            ).label("lifted"),
        )
        .join(Assignment, Assignment.id == ExerciseCheckin.assignment_id)
        .where(
            Assignment.patient_id.in_(patient_ids),
            ExerciseCheckin.on_date >= start,
            ExerciseCheckin.on_date <= end,
            both,
        )
        .group_by(Assignment.patient_id)
    )
    return {
        row.patient_id: MoodSummary(int(row.count), int(row.before), int(row.after), int(row.lifted))
        for row in rows
    }


def _weeks(history: list[TrackStep], sessions: list[SessionLine], start: date, end: date,
           today: date) -> list[WeekLine]:
    weeks = []
    monday = week_of(start)
    while monday <= end:
        sunday = monday + timedelta(days=6)
        first, last = max(monday, start), min(sunday, end)
        enrolment = next((e for e in reversed(history) if e.covers(last)), None) or next(
            (e for e in reversed(history) if e.covers(first)), None
        )
        in_week = [s for s in sessions if first <= s.day <= last]
        attended = [s for s in in_week if s.attended]
        partial = (
            first != monday or last != sunday or sunday > today
            or enrolment is None or not (enrolment.covers(monday) and enrolment.covers(sunday))
        )
        weeks.append(
            WeekLine(
                monday=monday, first=first, last=last,
                track_name=enrolment.track_name if enrolment else "",
                min_minutes=enrolment.weekly_min_minutes if enrolment else None,
                min_days=enrolment.weekly_min_days if enrolment else None,
                offered=len(in_week), attended=len(attended),
                offered_minutes=sum(s.duration_minutes for s in in_week),
                minutes=sum(s.minutes_attended for s in attended),
                days=len({s.day for s in attended}),
                partial=partial,
            )
        )
        monday += timedelta(days=7)
    return weeks


def load_progress(patients: list[Patient], start: date, end: date,
                  today: date | None = None) -> dict[int, PatientProgress]:
    """Each patient's progress over ``start`` to ``end``, by patient id, in six statements.

    Sessions count as offered when they are not cancelled, fall in the period on or
    before ``today``, and the patient was a member of the group that day (or has an
    attendance entry for them). Attended means present, late or left early.
    """
    today = today or date.today()
    ids = [p.id for p in patients]
    if not ids:
        return {}
    history = _history(ids)
    sessions = _sessions(ids, start, end, today)
    exercises = _exercises(ids, start, end)
    days = mood_days(ids, start, end)
    moods = _moods(ids, start, end)
    result = {}
    for patient in patients:
        steps = history.get(patient.id, [])
        lines = sessions.get(patient.id, [])
        all_exercises = exercises.get(patient.id, [])
        result[patient.id] = PatientProgress(
            patient=patient,
            start=start,
            end=end,
            today=today,
            history=tuple(steps),
            sessions=tuple(lines),
            weeks=tuple(_weeks(steps, lines, start, end, today)),
            exercises=tuple(e for e in all_exercises if _in_period(e, start, end)),
            current_exercises=tuple(e for e in all_exercises if _current(e, today)),
            chart=mood_chart(days.get(patient.id, []), start, end, chart_id=f"mood-chart-{patient.id}"),
            mood=moods.get(patient.id, MoodSummary()),
        )
    return result


# The staff version ----------------------------------------------------------------------------
@dataclass(frozen=True)
class NoteLine:
    """An individual note, with the session it was written for."""

    when: str
    group_name: str
    text: str


@dataclass(frozen=True)
class StaffSheet:
    """What the staff version prints."""

    title: str
    subtitle: str
    period: str
    full_name: str
    preferred_name: str
    record_number: str
    track_now: str
    counselor_now: str
    step_path: tuple[str, ...]
    history: tuple[TrackStep, ...]
    offered: int
    attended: int
    unrecorded: int
    days_attended: int
    engagement: float | None
    engagement_count: int
    sessions: tuple[SessionLine, ...]
    weeks: tuple[WeekLine, ...]
    exercises: tuple[ExerciseLine, ...]
    done: int
    partly: int
    not_done: int
    chart: MoodChart
    mood: MoodSummary
    notes: tuple[NoteLine, ...]
    #: The counselor's typed text, as paragraphs (line breaks inside are kept).
    summary: tuple[str, ...]
    next_steps: tuple[str, ...]

    @property
    def attendance_rate(self) -> int | None:
        return round(100 * self.attended / self.offered) if self.offered else None


def paragraphs(text: str | None) -> tuple[str, ...]:
    """Typed text split at blank lines; each paragraph keeps its own line breaks."""
    chunks = re.split(r"\n\s*\n", (text or "").replace("\r\n", "\n").replace("\r", "\n"))
    return tuple("\n".join(line.rstrip() for line in chunk.strip().split("\n")) for chunk in chunks if chunk.strip())


def _session_when(line: SessionLine) -> str:
    return f"{line.starts_at:%a} {day_month(line.day)} {line.starts_at:%H:%M}"


def _step_path(history: tuple[TrackStep, ...]) -> tuple[str, ...]:
    path: list[str] = []
    for step in history:
        if not path or path[-1] != step.track_name:
            path.append(step.track_name)
    return tuple(path)


def staff_sheet(progress: PatientProgress, summary: str = "", next_steps: str = "") -> StaffSheet:
    """The staff version of ``progress``, with the counselor's typed summary and next steps."""
    patient = progress.patient
    at = min(progress.end, progress.today)
    now = next((e for e in reversed(progress.history) if e.covers(at)), None)
    engagement, rated = progress.engagement
    return StaffSheet(
        title=f"{STAFF_TITLE}: {patient.full_name}",
        subtitle=f"Staff version · record no. {patient.record_number} · contains clinical notes",
        period=period_text(progress.start, progress.end),
        full_name=patient.full_name,
        preferred_name=patient.preferred_name or "",
        record_number=patient.record_number,
        track_now=now.track_name if now else "not enrolled",
        counselor_now=(now.counselor if now else "") or "—",
        step_path=_step_path(progress.history),
        history=progress.history,
        offered=progress.offered,
        attended=progress.attended,
        unrecorded=progress.unrecorded,
        days_attended=progress.days_attended,
        engagement=engagement,
        engagement_count=rated,
        sessions=progress.sessions,
        weeks=progress.weeks,
        exercises=progress.exercises,
        done=progress.done,
        partly=progress.partly,
        not_done=progress.not_done,
        chart=progress.chart,
        mood=progress.mood,
        notes=tuple(
            NoteLine(when=_session_when(s), group_name=s.group_name, text=s.note)
            for s in progress.sessions if s.note
        ),
        summary=paragraphs(summary),
        next_steps=paragraphs(next_steps),
    )


# The patient version -------------------------------------------------------------------------
@dataclass(frozen=True)
class CurrentExercise:
    """An exercise the patient is working on now."""

    title: str
    aim: str
    summary: str


@dataclass(frozen=True)
class PatientSheet:
    """What the patient version prints: the display name, kind words, the chart, exercises.

    Deliberately holds no note, summary, next steps, record number or last name.
    """

    title: str
    name: str
    period: str
    intro: str
    wins: tuple[str, ...]
    chart: MoodChart
    chart_words: str
    exercises: tuple[CurrentExercise, ...]
    closing: str


def _times(count: int) -> str:
    if count == 1:
        return "once"
    if count == 2:
        return "twice"
    return f"{count} times"


def patient_wins(attended: int, done: int, partly: int, lifted: int, moods_noted: int) -> tuple[str, ...]:
    """Small wins in plain, warm words; when there were few, gentle ones, never a reproach."""
    wins = []
    if attended:
        wins.append(f"You came to {attended} group session{'s' if attended != 1 else ''}. "
                    "Showing up takes energy, and you did it.")
    else:
        wins.append("Your group is there for you whenever you feel ready. There is nothing to catch up on.")
    if done:
        more = f", and gave one a try {_times(partly)} more" if partly else ""
        wins.append(f"You did a kindness exercise {_times(done)}{more}. Each one is a real act of kindness.")
    elif partly:
        wins.append(f"You gave a kindness exercise a try {_times(partly)}. "
                    "Starting is often the hardest part, and you did it.")
    else:
        wins.append("Kindness exercises can wait for a day with a little more energy. "
                    "Even noticing one kind moment counts.")
    if lifted:
        wins.append(f"Your mood lifted after an exercise {_times(lifted)}.")
    elif moods_noted:
        wins.append("Thank you for noticing how you felt. Paying attention to your mood is a skill in itself.")
    return tuple(wins)


def patient_sheet(progress: PatientProgress) -> PatientSheet:
    """The patient version of ``progress``: addressed by the display name only."""
    name = progress.patient.display_name
    return PatientSheet(
        title=f"{PATIENT_TITLE}, {name}",
        name=name,
        period=period_text(progress.start, progress.end),
        intro=f"Here is a look back at {period_text(progress.start, progress.end)}. "
              "Every step counts, including the small ones.",
        wins=patient_wins(progress.attended, progress.done, progress.partly, progress.mood.lifted,
                          len(progress.chart.days)),
        chart=progress.chart,
        chart_words=(
            "Each mark is a day you noted your mood: the dashed line with circles shows how you felt "
            "before an exercise, the solid line with squares how you felt after."
            if progress.chart.has_data else ""
        ),
        exercises=tuple(
            CurrentExercise(title=e.title, aim=times_text(e.times_per_week), summary=e.summary)
            for e in progress.current_exercises
        ),
        closing="Be patient with yourself: small steps add up.",
    )


# Rendering -----------------------------------------------------------------------------------
def sheet_html_context(progress: PatientProgress, version: str, summary: str = "",
                       next_steps: str = "") -> dict:
    """Template name, title and context of one sheet of ``version``."""
    if version == "staff":
        sheet = staff_sheet(progress, summary, next_steps)
        return {"template_name": "pdf/progress_staff.html", "title": sheet.title, "sheet": sheet}
    sheet = patient_sheet(progress)
    return {"template_name": "pdf/progress_patient.html", "title": sheet.title, "sheet": sheet}


def progress_html_context(patient: Patient, start: date, end: date, *, version: str = "staff",
                          summary: str = "", next_steps: str = "", today: date | None = None) -> dict:
    """Template name, title and context of one patient's sheet (six statements; for the benchmark)."""
    check_request(start, end, version, summary, next_steps)
    progress = load_progress([patient], start, end, today)[patient.id]
    return sheet_html_context(progress, version, summary, next_steps)


def audit_export(patient_id: int, version: str, start: date, end: date, **extra) -> None:
    """Add the "export" event of one progress sheet to the transaction (the caller commits)."""
    audit.record(
        "export",
        entity="patient",
        entity_id=patient_id,
        changes={"document": DOCUMENT, "version": version, "from": start.isoformat(),
                 "to": end.isoformat(), **extra},
    )


def progress_sheet(patient: Patient, start: date, end: date, *, version: str = "staff",
                   summary: str = "", next_steps: str = "") -> bytes:
    """One patient's progress sheet over ``start`` to ``end`` as PDF bytes; audited.

    ``version`` is "staff" (everything, with ``summary`` and ``next_steps`` as typed by
    the counselor) or "patient" (display name, small wins, the chart and the current
    exercises; no notes of any kind, including group notes, which may name other
    patients; the summary and next steps are not printed on it). Refuses a bad period or
    version with ``RuleViolation``. The export event (entity "patient", document
    "progress_sheet", the version and period) is committed with the render, attributed
    to the logged-in user or to the CLI's label.
    """
    context = progress_html_context(patient, start, end, version=version, summary=summary,
                                    next_steps=next_steps)
    pdf = render.render_pdf(**context)
    audit_export(patient.id, version, start, end)
    db.session.commit()
    return pdf


__all__ = [
    "DOCUMENT",
    "MAX_PERIOD_DAYS",
    "PatientProgress",
    "PatientSheet",
    "StaffSheet",
    "TEXT_LIMIT",
    "VERSIONS",
    "VERSION_LABELS",
    "audit_export",
    "check_request",
    "load_progress",
    "patient_sheet",
    "patient_wins",
    "progress_html_context",
    "progress_sheet",
    "sheet_html_context",
    "staff_sheet",
]
