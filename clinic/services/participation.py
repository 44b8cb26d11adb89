"""Participation: what "offered" and "attended" mean, and one patient's figures built on them.

The one home of these definitions, as SQL pieces (``member_on_session_day``,
``not_cancelled``, ``attended_status``, ``ATTENDED_STATUSES``); the patient page here, the
progress sheets (``period_progress``) and any report build their numbers from them, so
they always agree.

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
statements). Over a period, for one or many patients (the progress sheets), see
``period_progress``; who took part in a group or track over a period and a week's
assignments are in ``participants``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import (
    Assignment,
    Attendance,
    Enrolment,
    ExerciseCheckin,
    GroupMembership,
    GroupSession,
    Track,
)
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
    # The patient's sessions first (those of their memberships, by group and date, and
    # those they have an entry for), never the whole clinic's history.
    until = GroupSession.starts_at < week_until
    candidates = sa.union(
        sa.select(GroupSession.id.label("session_id"))
        .join(GroupMembership, member_on_session_day())
        .where(GroupMembership.patient_id == patient_id, until),
        sa.select(Attendance.session_id).where(Attendance.patient_id == patient_id),
    ).subquery()
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
        .select_from(candidates)
        .join(GroupSession, GroupSession.id == candidates.c.session_id)
        .outerjoin(
            Attendance,
            sa.and_(Attendance.session_id == GroupSession.id, Attendance.patient_id == patient_id),
        )
        .where(
            not_cancelled(),
            # The week ends on or after today, so this bound covers every figure.
            until,
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


__all__ = [
    "ATTENDED_STATUSES",
    "WINDOW_DAYS",
    "PatientFigures",
    "attended_status",
    "member_on_session_day",
    "midnight",
    "monday_of",
    "not_cancelled",
    "patient_figures",
    "session_day",
]
