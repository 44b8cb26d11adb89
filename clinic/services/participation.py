"""Participation: what "offered" and "attended" mean, and the figures built on them.

The one home of these definitions; the patient page, the progress sheets (one patient or
a batch) and any report read their numbers from here, so they always agree.

- A session is **offered** to a patient when it is not cancelled, has started by the
  day the figures are taken on, and the patient was a member of its group on the
  session's date (``member_on_session_day``); a session the patient has an attendance
  entry for counts as offered too, so that attended never exceeds offered.
- A patient **attended** a session when their entry is present, late or left early
  (``ATTENDED_STATUSES``); their minutes are the entry's minutes attended.
- **Hours per week** count minutes attended from Monday to Sunday against the weekly
  minimum (hours and days) of the track the patient is enrolled in.
- **Exercise completion** counts check-ins (done 1, partly 0.5, not done 0); engagement
  averages the 1–5 ratings of attended sessions.

``patient_figures`` gives one patient's figures as of a day (the patient page, four
statements); ``period_progress`` gives one or many patients' participation over a period
(the progress sheets, six statements for any number of patients).
"""

from __future__ import annotations

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
    Track,
)
from .chart import MoodChart, mood_chart, mood_days
from .membership import covers

#: Attendance statuses that count as having taken part.
ATTENDED_STATUSES = ("present", "late", "left_early")
#: Length of the recent window the patient page's figures look back over, today included.
WINDOW_DAYS = 28


# The definitions, as SQL ------------------------------------------------------------
def session_day():
    """The calendar date of a session, the same way on SQLite and PostgreSQL."""
    return sa.func.date(GroupSession.starts_at)


def midnight(day: date) -> datetime:
    """The first moment of ``day``."""
    return datetime.combine(day, time.min)


def monday_of(day: date) -> date:
    """The Monday of the week containing ``day``."""
    return day - timedelta(days=day.weekday())


def member_on_session_day():
    """A membership of the session's group that covers the session's date (join condition)."""
    return sa.and_(GroupMembership.group_id == GroupSession.group_id, covers(GroupMembership, session_day()))


def not_cancelled():
    """Sessions that count at all: cancelled ones are never offered."""
    return GroupSession.status != "cancelled"


def attended_status():
    """Attendance entries that count as attended."""
    return Attendance.status.in_(ATTENDED_STATUSES)


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


# One patient as of a day (the patient page) ------------------------------------------
@dataclass(frozen=True)
class PatientFigures:
    """A patient's participation in numbers, as of ``today``.

    Rates and averages are None when there is nothing to base them on; the
    weekly minimum is None when the patient is not enrolled today.
    """

    today: date
    #: First day of the four-week window (``today`` minus 27 days).
    window_start: date
    #: Monday and Sunday of the week containing ``today``.
    week_start: date
    week_end: date
    #: Non-cancelled sessions up to today the patient was a member for (or attended).
    sessions_offered: int = 0
    sessions_attended: int = 0
    sessions_offered_4w: int = 0
    sessions_attended_4w: int = 0
    #: Offered sessions up to today whose participation has not been recorded yet.
    sessions_unrecorded: int = 0
    #: Minutes attended and distinct days with attendance in this week.
    minutes_this_week: int = 0
    days_this_week: int = 0
    #: Minutes of non-cancelled sessions offered to the patient this week, later days included.
    minutes_offered_this_week: int = 0
    #: The track the patient is enrolled in today and its weekly minimum.
    track_name: str | None = None
    weekly_min_minutes: int | None = None
    weekly_min_days: int | None = None
    #: Check-ins recorded in the window and their completion score (done 1, partly 0.5).
    checkins_4w: int = 0
    completion_score_4w: float = 0.0
    #: Check-ins the active assignments ask for in the window (None without active assignments).
    expected_checkins_4w: int | None = None
    #: Check-ins in the window with both moods, and the sum of (after - before) over them.
    mood_count_4w: int = 0
    mood_change_sum_4w: int = 0

    @property
    def attendance_rate(self) -> float | None:
        """Sessions attended over sessions offered, overall."""
        return _ratio(self.sessions_attended, self.sessions_offered)

    @property
    def attendance_rate_4w(self) -> float | None:
        """Sessions attended over sessions offered in the last four weeks."""
        return _ratio(self.sessions_attended_4w, self.sessions_offered_4w)

    @property
    def hours_this_week(self) -> float:
        """Hours attended this week, to one decimal."""
        return round(self.minutes_this_week / 60, 1)

    @property
    def min_hours(self) -> float | None:
        """The track's weekly minimum in hours, to one decimal."""
        return None if self.weekly_min_minutes is None else round(self.weekly_min_minutes / 60, 1)

    @property
    def minutes_short(self) -> int | None:
        """Minutes still missing to reach the weekly minimum (0 when met)."""
        if self.weekly_min_minutes is None:
            return None
        return max(self.weekly_min_minutes - self.minutes_this_week, 0)

    @property
    def days_short(self) -> int | None:
        """Days with attendance still missing to reach the weekly minimum (0 when met)."""
        if self.weekly_min_days is None:
            return None
        return max(self.weekly_min_days - self.days_this_week, 0)

    @property
    def below_minimum(self) -> bool | None:
        """True while this week's hours or days are below the track's minimum."""
        if self.minutes_short is None:
            return None
        return bool(self.minutes_short or self.days_short)

    @property
    def completion_rate(self) -> float | None:
        """Completion over the check-ins recorded in the last four weeks (0 to 1)."""
        return _ratio(self.completion_score_4w, self.checkins_4w)

    @property
    def mood_change(self) -> float | None:
        """Average of mood after minus mood before over the last four weeks."""
        return _ratio(self.mood_change_sum_4w, self.mood_count_4w)


def patient_figures(patient_id: int, today: date) -> PatientFigures:
    """Sessions offered and attended, hours this week, exercise completion and mood change.

    A session counts as offered when it is not cancelled, starts on or before ``today``
    and the patient was a member of its group on the session's date (or has an
    attendance entry for it, so that attended never exceeds offered). Attended means
    present, late or left early. Hours this week count minutes attended from Monday to
    Sunday of the week containing ``today``, against the weekly minimum (hours and days)
    of the track the patient is enrolled in on ``today``.

    Completion rate is taken over the check-ins actually recorded in the last four weeks
    (done 1, partly 0.5, not done 0). It is not taken over the check-ins the assignments'
    times per week would expect: a missing check-in means nobody recorded one, not that
    the patient failed, and assignments keep no end date once stopped, so an expected
    count would blame the patient for gaps in the record. The expected number for the
    currently active assignments is reported beside it (``expected_checkins_4w``) so the
    reader sees how much of the plan the rate rests on. Mood change averages
    ``mood_after - mood_before`` over check-ins in the window that have both.

    Four statements: one aggregate over sessions and attendance, one for the track,
    one aggregate over check-ins, one over the active assignments.
    """
    week_start = monday_of(today)
    week_end = week_start + timedelta(days=6)
    window_start = today - timedelta(days=WINDOW_DAYS - 1)
    tomorrow = midnight(today + timedelta(days=1))
    window_from = midnight(window_start)
    week_from = midnight(week_start)
    week_until = midnight(week_end + timedelta(days=1))

    day = session_day()
    member = (
        sa.select(GroupMembership.id)
        .where(member_on_session_day(), GroupMembership.patient_id == patient_id)
        .exists()
    )
    attended = attended_status()
    up_to_today = GroupSession.starts_at < tomorrow
    in_window = sa.and_(GroupSession.starts_at >= window_from, up_to_today)
    in_week = sa.and_(GroupSession.starts_at >= week_from, GroupSession.starts_at < week_until)

    def count_if(*conditions):
        return sa.func.coalesce(sa.func.sum(sa.case((sa.and_(*conditions), 1), else_=0)), 0)

    row = db.session.execute(
        sa.select(
            count_if(up_to_today).label("offered"),
            count_if(up_to_today, attended).label("attended"),
            count_if(in_window).label("offered_4w"),
            count_if(in_window, attended).label("attended_4w"),
            count_if(up_to_today, GroupSession.recorded_at.is_(None)).label("unrecorded"),
            sa.func.coalesce(
                sa.func.sum(sa.case((sa.and_(in_week, attended), Attendance.minutes_attended), else_=0)), 0
            ).label("minutes_week"),
            sa.func.count(sa.distinct(sa.case((sa.and_(in_week, attended), day)))).label("days_week"),
            sa.func.coalesce(
                sa.func.sum(sa.case((in_week, GroupSession.duration_minutes), else_=0)), 0
            ).label("offered_minutes_week"),
        )
        .select_from(GroupSession)
        .outerjoin(
            Attendance,
            sa.and_(Attendance.session_id == GroupSession.id, Attendance.patient_id == patient_id),
        )
        .where(
            not_cancelled(),
            # The week ends on or after today, so this bound covers every figure.
            GroupSession.starts_at < week_until,
            sa.or_(member, Attendance.id.is_not(None)),
        )
    ).one()

    track = db.session.execute(
        sa.select(Track.name, Track.weekly_min_minutes, Track.weekly_min_days)
        .join(Enrolment, Enrolment.track_id == Track.id)
        .where(
            Enrolment.patient_id == patient_id,
            covers(Enrolment, today),
        )
    ).first()

    mood_known = sa.and_(ExerciseCheckin.mood_before.is_not(None), ExerciseCheckin.mood_after.is_not(None))
    checkins = db.session.execute(
        sa.select(
            sa.func.count(ExerciseCheckin.id).label("count"),
            # Halves, so the score stays an exact integer on both databases.
            sa.func.coalesce(
                sa.func.sum(
                    sa.case((ExerciseCheckin.outcome == "done", 2), (ExerciseCheckin.outcome == "partly", 1), else_=0)
                ),
                0,
            ).label("score_halves"),
            sa.func.coalesce(sa.func.sum(sa.case((mood_known, 1), else_=0)), 0).label("mood_count"),
            sa.func.coalesce(
                sa.func.sum(
                    sa.case((mood_known, ExerciseCheckin.mood_after - ExerciseCheckin.mood_before), else_=0)
                ),
                0,
            ).label("mood_sum"),
        )
        .join(Assignment, Assignment.id == ExerciseCheckin.assignment_id)
        .where(
            Assignment.patient_id == patient_id,
            ExerciseCheckin.on_date >= window_start,
            ExerciseCheckin.on_date <= today,
        )
    ).one()

    active = db.session.execute(
        sa.select(Assignment.start_date, Assignment.due_date, Assignment.times_per_week).where(
            Assignment.patient_id == patient_id,
            Assignment.status == "active",
            Assignment.start_date <= today,
        )
    ).all()
    expected = None
    if active:
        expected_total = 0.0
        for start, due, per_week in active:
            first = max(start, window_start)
            last = min(due, today) if due is not None else today
            if last >= first:
                expected_total += per_week * ((last - first).days + 1) / 7
        expected = round(expected_total)

    return PatientFigures(
        today=today,
        window_start=window_start,
        week_start=week_start,
        week_end=week_end,
        sessions_offered=int(row.offered),
        sessions_attended=int(row.attended),
        sessions_offered_4w=int(row.offered_4w),
        sessions_attended_4w=int(row.attended_4w),
        sessions_unrecorded=int(row.unrecorded),
        minutes_this_week=int(row.minutes_week),
        days_this_week=int(row.days_week),
        minutes_offered_this_week=int(row.offered_minutes_week),
        track_name=track.name if track else None,
        weekly_min_minutes=track.weekly_min_minutes if track else None,
        weekly_min_days=track.weekly_min_days if track else None,
        checkins_4w=int(checkins.count),
        completion_score_4w=int(checkins.score_halves) / 2,
        expected_checkins_4w=expected,
        mood_count_4w=int(checkins.mood_count),
        mood_change_sum_4w=int(checkins.mood_sum),
    )


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


# One or many patients over a period (the progress sheets) ---------------------------
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


# Loading, a fixed number of statements for any number of patients ---------------------
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
            .join(GroupMembership, member_on_session_day())
            .join(CareGroup, CareGroup.id == GroupSession.group_id)
            .outerjoin(Activity, Activity.id == GroupSession.activity_id)
            .where(
                GroupMembership.patient_id.in_(patient_ids),
                not_cancelled(),
                GroupSession.starts_at >= midnight(start),
                GroupSession.starts_at < midnight(offered_until + timedelta(days=1)),
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
            not_cancelled(),
            GroupSession.starts_at >= midnight(start),
            GroupSession.starts_at < midnight(end + timedelta(days=1)),
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
    monday = monday_of(start)
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


def period_progress(patients: list[Patient], start: date, end: date,
                  today: date | None = None) -> dict[int, PatientProgress]:
    """Each patient's progress over ``start`` to ``end``, by patient id, in six statements.

    Sessions count as offered when they are not cancelled, fall in the period on or
    before ``today``, and the patient was a member of the group that day (or has an
    attendance entry for them). Attended means present, late or left early. Statements:
    enrolments, offered sessions, attendance rows, assignments with check-in counts,
    mood per day (the chart) and the mood summary.
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


# Who took part over a period, and the exercises of a week ------------------------------
def _overlaps(start_col, end_col, start: date, end: date):
    return sa.and_(start_col <= end, sa.or_(end_col.is_(None), end_col >= start))


def group_patients(group_id: int, start: date, end: date) -> list[Patient]:
    """Everyone who was a member of the group on any day from ``start`` to ``end`` (one statement)."""
    return list(db.session.scalars(
        sa.select(Patient)
        .join(GroupMembership, GroupMembership.patient_id == Patient.id)
        .where(
            GroupMembership.group_id == group_id,
            _overlaps(GroupMembership.start_date, GroupMembership.end_date, start, end),
        )
        .distinct()
    ))


def track_patients(track_id: int, start: date, end: date) -> list[Patient]:
    """Everyone enrolled in the track on any day from ``start`` to ``end`` (one statement)."""
    return list(db.session.scalars(
        sa.select(Patient)
        .join(Enrolment, Enrolment.patient_id == Patient.id)
        .where(Enrolment.track_id == track_id, _overlaps(Enrolment.start_date, Enrolment.end_date, start, end))
        .distinct()
    ))


def week_assignments(patient_ids: list[int], week_start: date) -> dict[int, list[Assignment]]:
    """Active assignments that overlap the week, by patient id, in one statement.

    An assignment counts when its status is active, it starts on or before the week's
    Sunday and it is not due before the week's Monday.
    """
    if not patient_ids:
        return {}
    week_end = week_start + timedelta(days=6)
    rows = db.session.scalars(
        sa.select(Assignment)
        .join(KindnessExercise, KindnessExercise.id == Assignment.exercise_id)
        .options(joinedload(Assignment.exercise))
        .where(
            Assignment.patient_id.in_(patient_ids),
            Assignment.status == "active",
            Assignment.start_date <= week_end,
            sa.or_(Assignment.due_date.is_(None), Assignment.due_date >= week_start),
        )
        .order_by(Assignment.patient_id, KindnessExercise.title, Assignment.id)
    )
    by_patient: dict[int, list[Assignment]] = defaultdict(list)
    for assignment in rows:
        by_patient[assignment.patient_id].append(assignment)
    return dict(by_patient)


__all__ = [
    "ATTENDED_STATUSES",
    "ENROLMENT_LABELS",
    "STATUS_LABELS",
    "WINDOW_DAYS",
    "ExerciseLine",
    "MoodSummary",
    "PatientFigures",
    "PatientProgress",
    "SessionLine",
    "TrackStep",
    "WeekLine",
    "attended_status",
    "group_patients",
    "member_on_session_day",
    "monday_of",
    "not_cancelled",
    "patient_figures",
    "period_progress",
    "track_patients",
    "week_assignments",
]
