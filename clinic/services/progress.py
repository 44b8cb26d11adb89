"""The patient page's participation panel, a patient's own session records, and a counselor's day.

The figures themselves (offered, attended, hours against the minimum, completion) are
defined in ``participation``. Every function here runs a fixed number of SQL
statements, whatever the number of sessions, attendances or check-ins behind them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import (
    Activity,
    Assignment,
    Attendance,
    CareGroup,
    ExerciseCheckin,
    GroupMembership,
    GroupSession,
    KindnessExercise,
)
from .participation import member_on_session_day, midnight, patient_figures
from .unfinished import Due, due, due_hours, unfinished_clause

#: Session records listed on the patient page.
RECORDS_SHOWN = 25


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


# The patient page ---------------------------------------------------------------
def patient_page(patient_id: int, today: date, may_checkin: bool) -> dict:
    """What ``admin/patient/_participation.html`` needs, as its ``participation`` variable.

    The figures as of ``today``, the patient's own session records (newest first, the
    latest ``RECORDS_SHOWN``), the active assignments to check in on, and whether the
    current user may record check-ins (``may_checkin``, decided by the caller with
    ``access``). Six statements.
    """
    records = patient_participation(patient_id, limit=RECORDS_SHOWN + 1)
    return {
        "today": today,
        "figures": patient_figures(patient_id, today),
        "records": records[:RECORDS_SHOWN],
        "more_records": len(records) > RECORDS_SHOWN,
        "assignments": active_assignments(patient_id),
        "may_checkin": may_checkin,
    }


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
    #: When the record is due and whether it is overdue (``unfinished.due``); None for a
    #: session that has not started, is cancelled or is signed.
    due: Due | None = None

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
    """A counselor's sessions today and every earlier session whose record is not signed."""

    counselor_id: int
    today: date
    now: datetime
    sessions: list[DaySession] = field(default_factory=list)
    #: Earlier sessions not recorded, or recorded and not signed, oldest first.
    unsigned: list[DaySession] = field(default_factory=list)


def _day_sessions(*conditions, order):
    """Sessions matching ``conditions`` with group, activity and roster size, in one statement."""
    roster_size = (
        sa.select(sa.func.count(GroupMembership.id))
        .where(member_on_session_day())
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


def _entry(row, now: datetime, hours: float) -> DaySession:
    ends_at = row.starts_at + timedelta(minutes=row.duration_minutes)
    unfinished = row.status != "cancelled" and row.signed_at is None and row.starts_at <= now
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
        due=due(ends_at, now, hours) if unfinished else None,
    )


def counselor_day(
    counselor_id: int, today: date, now: datetime | None = None, hours: float | None = None
) -> DayView:
    """The sessions ``counselor_id`` facilitates on ``today``, and every earlier one not signed.

    ``sessions``: every session of the day (cancelled ones included, so the counselor
    knows), by start time, each with its record state, roster size and, once started and
    unless signed, when its record is due; those that were held, or are still planned but
    have already ended by ``now``, are marked ``needs_recording``.

    ``unsigned``: every session before ``today`` whose record is unfinished
    (``unfinished.unfinished_clause``: not cancelled, not signed, whether recorded or
    not), however old, oldest first, each with how overdue it is (``hours``:
    ``CLINIC_RECORD_DUE_HOURS``). A saved but unsigned record stays here until it is
    signed. Today's sessions are never repeated here. Two statements.
    """
    now = now or datetime.now()
    hours = due_hours() if hours is None else hours
    start = midnight(today)
    end = midnight(today + timedelta(days=1))
    mine = GroupSession.facilitator_id == counselor_id
    todays = _day_sessions(
        mine, GroupSession.starts_at >= start, GroupSession.starts_at < end,
        order=(GroupSession.starts_at, GroupSession.id),
    )
    earlier = _day_sessions(
        mine,
        GroupSession.starts_at < start,
        unfinished_clause(now),
        order=(GroupSession.starts_at, GroupSession.id),
    )
    return DayView(
        counselor_id=counselor_id,
        today=today,
        now=now,
        sessions=[_entry(row, now, hours) for row in todays],
        unsigned=[_entry(row, now, hours) for row in earlier],
    )


__all__ = [
    "RECORDS_SHOWN",
    "ActiveAssignment",
    "DaySession",
    "DayView",
    "ParticipationEntry",
    "active_assignments",
    "counselor_day",
    "patient_page",
    "patient_participation",
]
