"""Progress figures, a patient's own session records, and a counselor's day.

Every function here runs a fixed number of SQL statements, whatever the number of
sessions, attendances or check-ins behind the figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

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
    Track,
)
from .membership import covers

#: Attendance statuses that count as having taken part.
ATTENDED_STATUSES = ("present", "late", "left_early")
#: Length of the recent window the figures look back over, today included.
WINDOW_DAYS = 28


def _day(column):
    """The calendar date of a timestamp column, the same way on SQLite and PostgreSQL."""
    return sa.func.date(column)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min)


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


# Patient figures ---------------------------------------------------------------
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
    week_start = today - timedelta(days=today.weekday())
    week_end = week_start + timedelta(days=6)
    window_start = today - timedelta(days=WINDOW_DAYS - 1)
    tomorrow = _midnight(today + timedelta(days=1))
    window_from = _midnight(window_start)
    week_from = _midnight(week_start)
    week_until = _midnight(week_end + timedelta(days=1))

    session_day = _day(GroupSession.starts_at)
    member = (
        sa.select(GroupMembership.id)
        .where(
            GroupMembership.group_id == GroupSession.group_id,
            GroupMembership.patient_id == patient_id,
            covers(GroupMembership, session_day),
        )
        .exists()
    )
    attended = Attendance.status.in_(ATTENDED_STATUSES)
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
            sa.func.count(sa.distinct(sa.case((sa.and_(in_week, attended), session_day)))).label("days_week"),
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
            GroupSession.status != "cancelled",
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


# The patient's own session records --------------------------------------------
@dataclass(frozen=True)
class ParticipationEntry:
    """One session as the patient may see it: their own entry and the shared group note."""

    session_id: int
    starts_at: datetime
    duration_minutes: int
    group_name: str
    activity_name: str
    status: str
    minutes_attended: int
    engagement: int | None
    #: The patient's own individual note.
    note: str
    #: The note shared with the whole group.
    group_note: str


def patient_participation(patient_id: int, limit: int | None = None) -> list[ParticipationEntry]:
    """The patient's session records, newest first (at most ``limit`` when given).

    Only the patient's own attendance row and the session's shared group note are read;
    no other participant's row, note or name is ever selected. Safe for pages and
    printed material the patient sees. One statement.
    """
    query = (
        sa.select(
            GroupSession.id,
            GroupSession.starts_at,
            GroupSession.duration_minutes,
            CareGroup.name.label("group_name"),
            Activity.name.label("activity_name"),
            Attendance.status,
            Attendance.minutes_attended,
            Attendance.engagement,
            Attendance.note,
            GroupSession.group_note,
        )
        .select_from(Attendance)
        .join(GroupSession, GroupSession.id == Attendance.session_id)
        .join(CareGroup, CareGroup.id == GroupSession.group_id)
        .outerjoin(Activity, Activity.id == GroupSession.activity_id)
        .where(Attendance.patient_id == patient_id)
        .order_by(GroupSession.starts_at.desc(), GroupSession.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return [
        ParticipationEntry(
            session_id=row.id,
            starts_at=row.starts_at,
            duration_minutes=row.duration_minutes,
            group_name=row.group_name,
            activity_name=row.activity_name or "",
            status=row.status,
            minutes_attended=row.minutes_attended or 0,
            engagement=row.engagement,
            note=row.note or "",
            group_note=row.group_note or "",
        )
        for row in db.session.execute(query)
    ]


# Assignments to check in on --------------------------------------------------------
@dataclass(frozen=True)
class ActiveAssignment:
    """An active assignment with its exercise title and the day of its latest check-in."""

    id: int
    title: str
    times_per_week: int
    start_date: date
    due_date: date | None
    last_checkin: date | None


def active_assignments(patient_id: int) -> list[ActiveAssignment]:
    """The patient's active assignments by exercise title, each with its latest check-in day.

    One statement.
    """
    rows = db.session.execute(
        sa.select(
            Assignment.id,
            KindnessExercise.title,
            Assignment.times_per_week,
            Assignment.start_date,
            Assignment.due_date,
            sa.func.max(ExerciseCheckin.on_date).label("last_checkin"),
        )
        .join(KindnessExercise, KindnessExercise.id == Assignment.exercise_id)
        .outerjoin(ExerciseCheckin, ExerciseCheckin.assignment_id == Assignment.id)
        .where(Assignment.patient_id == patient_id, Assignment.status == "active")
        .group_by(
            Assignment.id, KindnessExercise.title, Assignment.times_per_week,
            Assignment.start_date, Assignment.due_date,
        )
        .order_by(KindnessExercise.title, Assignment.id)
    )
    return [
        ActiveAssignment(
            id=row.id, title=row.title, times_per_week=row.times_per_week, start_date=row.start_date,
            due_date=row.due_date, last_checkin=row.last_checkin,
        )
        for row in rows
    ]


# The counselor's day ------------------------------------------------------------
@dataclass(frozen=True)
class DaySession:
    """A session on a counselor's day list."""

    id: int
    starts_at: datetime
    duration_minutes: int
    group_name: str
    activity_name: str
    room: str
    status: str
    recorded_at: datetime | None
    signed_at: datetime | None
    #: Members of the group on the session's date.
    roster_size: int
    #: True when the session was held (or has ended while still planned) without a record.
    needs_recording: bool = False

    @property
    def ends_at(self) -> datetime:
        """When the session ends."""
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    @property
    def record_state(self) -> str:
        """not recorded, recorded or signed (as ``GroupSession.record_state``)."""
        if self.signed_at is not None:
            return "signed"
        if self.recorded_at is not None:
            return "recorded"
        return "not recorded"


@dataclass(frozen=True)
class DayView:
    """A counselor's sessions today and the earlier sessions still waiting for a record."""

    counselor_id: int
    today: date
    now: datetime
    sessions: list[DaySession] = field(default_factory=list)
    overdue: list[DaySession] = field(default_factory=list)


def _day_sessions(*conditions, order):
    """Sessions matching ``conditions`` with group, activity and roster size, in one statement."""
    session_day = _day(GroupSession.starts_at)
    roster_size = (
        sa.select(sa.func.count(GroupMembership.id))
        .where(
            GroupMembership.group_id == GroupSession.group_id,
            covers(GroupMembership, session_day),
        )
        .scalar_subquery()
    )
    return db.session.execute(
        sa.select(
            GroupSession.id,
            GroupSession.starts_at,
            GroupSession.duration_minutes,
            CareGroup.name.label("group_name"),
            Activity.name.label("activity_name"),
            GroupSession.room,
            GroupSession.status,
            GroupSession.recorded_at,
            GroupSession.signed_at,
            roster_size.label("roster_size"),
        )
        .join(CareGroup, CareGroup.id == GroupSession.group_id)
        .outerjoin(Activity, Activity.id == GroupSession.activity_id)
        .where(*conditions)
        .order_by(*order)
    ).all()


def _needs_recording(row, now: datetime) -> bool:
    if row.recorded_at is not None or row.signed_at is not None or row.status == "cancelled":
        return False
    if row.status == "held":
        return True
    return row.starts_at + timedelta(minutes=row.duration_minutes) <= now


def _entry(row, now: datetime) -> DaySession:
    return DaySession(
        id=row.id,
        starts_at=row.starts_at,
        duration_minutes=row.duration_minutes,
        group_name=row.group_name,
        activity_name=row.activity_name or "",
        room=row.room or "",
        status=row.status,
        recorded_at=row.recorded_at,
        signed_at=row.signed_at,
        roster_size=int(row.roster_size or 0),
        needs_recording=_needs_recording(row, now),
    )


def counselor_day(counselor_id: int, today: date, now: datetime | None = None) -> DayView:
    """The sessions ``counselor_id`` facilitates on ``today``, and their overdue records.

    ``sessions``: every session of the day (cancelled ones included, so the counselor
    knows), by start time, each with its record state and roster size; those that were
    held, or are still planned but have already ended by ``now``, are marked
    ``needs_recording``.

    ``overdue``: sessions before ``today`` that were held with no record yet, oldest
    first. A past session still marked planned counts as held and needing a record too:
    the status is rarely updated by hand, so "planned and already ended" is how most
    held sessions look until someone records them. Today's sessions are never repeated
    here. Two statements.
    """
    now = now or datetime.now()
    start = _midnight(today)
    end = _midnight(today + timedelta(days=1))
    mine = GroupSession.facilitator_id == counselor_id
    todays = _day_sessions(
        mine, GroupSession.starts_at >= start, GroupSession.starts_at < end,
        order=(GroupSession.starts_at, GroupSession.id),
    )
    earlier = _day_sessions(
        mine,
        GroupSession.starts_at < start,
        GroupSession.status.in_(("held", "planned")),
        GroupSession.recorded_at.is_(None),
        GroupSession.signed_at.is_(None),
        order=(GroupSession.starts_at, GroupSession.id),
    )
    overdue = [entry for entry in (_entry(row, now) for row in earlier) if entry.needs_recording]
    return DayView(
        counselor_id=counselor_id,
        today=today,
        now=now,
        sessions=[_entry(row, now) for row in todays],
        overdue=overdue,
    )


__all__ = [
    "ATTENDED_STATUSES",
    "ActiveAssignment",
    "DaySession",
    "DayView",
    "ParticipationEntry",
    "PatientFigures",
    "active_assignments",
    "counselor_day",
    "patient_figures",
    "patient_participation",
]
