"""Hours against the minimum: who attended less than their track's weekly minimum in a week.

Payers check exactly this. For a week (Monday to Sunday) every enrolment in force on any
day of it is judged against its track's weekly minimum (``Track.weekly_min_minutes`` and
``weekly_min_days``): attended minutes and distinct days with attendance, counting the
sessions of the days the enrolment covered, with the definitions of ``participation``
(offered: a member of the group on the session's day, or an attendance entry; attended:
``ATTENDED_STATUSES``). Enrolled patients with no attendance at all are below the minimum
with 0 h: they appear, they never vanish.

- A **past week** lists everyone below the minimum.
- The **current week** lists everyone **at risk**: even attending every session still
  planned for them this week (not cancelled, starting from now), they would stay below.
- A patient enrolled for **part of the week** (admitted or moved mid-week) is listed like
  the others, marked "part of the week", and counted apart per track, so that nobody is
  hidden and nobody is judged unfairly without it being said.

Three statements whatever the size of the clinic: the tracks, the counts per track, and
the listed rows (a page of them on screen, all of them in the files).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ...extensions import db
from ...models import Attendance, Enrolment, GroupMembership, GroupSession, Patient, StaffUser, Track
from ..access import patient_filter, sees_everyone
from ..page_window import PageWindow
from ..participation import attended_status, member_on_session_day, midnight, not_cancelled, session_day
from . import PAGE_SIZE, Column, Report, ReportFilters, Table, long_date, period_words


@dataclass(frozen=True)
class Week:
    monday: date
    sunday: date
    #: The moment from which sessions are "still planned" (None for a week that is over).
    now: datetime | None

    @property
    def current(self) -> bool:
        return self.now is not None


def _week(filters: ReportFilters, now: datetime) -> Week:
    monday = filters.week
    sunday = monday + timedelta(days=6)
    if monday > now.date():
        monday = now.date() - timedelta(days=now.date().weekday())
        sunday = monday + timedelta(days=6)
    return Week(monday, sunday, now if monday <= now.date() <= sunday else None)


def _figures(week: Week, wanted: list):
    """Per enrolment in force in the week: attended minutes and days, minutes still planned and
    the days still reachable, as a subquery (``enrolment_id`` and the four figures).

    Attended figures come from the week's attendance entries alone; only the current week
    adds the sessions still ahead (a member on the session's day, not cancelled, starting
    from now, nothing recorded yet), so a past week reads its attendance and nothing more.
    """
    week_end = midnight(week.sunday + timedelta(days=1))
    enrolled = (
        sa.select(Enrolment.id, Enrolment.patient_id, Enrolment.start_date, Enrolment.end_date)
        .where(Enrolment.start_date <= week.sunday,
               sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= week.monday), *wanted)
        .cte("enrolled")
    )
    during = sa.and_(session_day() >= sa.func.date(enrolled.c.start_date),
                     sa.or_(enrolled.c.end_date.is_(None), session_day() <= sa.func.date(enrolled.c.end_date)))
    attended = attended_status()
    parts = [
        sa.select(enrolled.c.id.label("enrolment_id"), session_day().label("day"),
                  sa.case((attended, Attendance.minutes_attended), else_=0).label("minutes"),
                  sa.case((attended, 1), else_=0).label("came"),
                  sa.literal(0).label("ahead"))
        .select_from(Attendance)
        .join(GroupSession, GroupSession.id == Attendance.session_id)
        .join(enrolled, enrolled.c.patient_id == Attendance.patient_id)
        .where(not_cancelled(), GroupSession.starts_at >= midnight(week.monday), GroupSession.starts_at < week_end,
               during),
    ]
    if week.now is not None:
        recorded = sa.exists().where(Attendance.session_id == GroupSession.id,
                                     Attendance.patient_id == GroupMembership.patient_id)
        parts.append(
            sa.select(enrolled.c.id.label("enrolment_id"), session_day().label("day"), sa.literal(0).label("minutes"),
                      sa.literal(0).label("came"), GroupSession.duration_minutes.label("ahead"))
            .select_from(GroupSession)
            .join(GroupMembership, member_on_session_day())
            .join(enrolled, enrolled.c.patient_id == GroupMembership.patient_id)
            .where(not_cancelled(), GroupSession.starts_at >= week.now, GroupSession.starts_at < week_end, during,
                   ~recorded)
        )
    rows = sa.union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    return (
        sa.select(
            rows.c.enrolment_id,
            sa.func.sum(rows.c.minutes).label("minutes"),
            sa.func.count(sa.distinct(sa.case((rows.c.came == 1, rows.c.day)))).label("days"),
            sa.func.sum(rows.c.ahead).label("ahead_minutes"),
            sa.func.count(sa.distinct(sa.case((sa.or_(rows.c.came == 1, rows.c.ahead > 0), rows.c.day))))
            .label("reachable_days"),
        )
        .group_by(rows.c.enrolment_id)
        .subquery()
    )


def _hours(minutes: int | None) -> float:
    return round((minutes or 0) / 60, 1)


def build(filters: ReportFilters, user: Any, *, now: datetime | None = None, everything: bool = False) -> Report:
    """The week's report as ``user`` may see it; ``everything``: every listed row (the files),
    otherwise one page of them (``filters.page``)."""
    week = _week(filters, now or datetime.now())
    wanted = [c for c in (patient_filter(user, Enrolment.patient_id),
                          Enrolment.track_id == filters.track_id if filters.track_id is not None else None)
              if c is not None]
    track_query = (sa.select(Track.id, Track.name, Track.weekly_min_minutes, Track.weekly_min_days)
                   .order_by(Track.care_level, Track.name, Track.id))
    if filters.track_id is not None:
        track_query = track_query.where(Track.id == filters.track_id)
    tracks = db.session.execute(track_query).all()

    figures = _figures(week, wanted)
    minutes = sa.func.coalesce(figures.c.minutes, 0)
    days = sa.func.coalesce(figures.c.days, 0)
    min_minutes = sa.func.coalesce(Track.weekly_min_minutes, 0)
    min_days = sa.func.coalesce(Track.weekly_min_days, 0)
    below = sa.or_(minutes < min_minutes, days < min_days)
    if week.current:
        listed = sa.or_(minutes + sa.func.coalesce(figures.c.ahead_minutes, 0) < min_minutes,
                        sa.func.coalesce(figures.c.reachable_days, 0) < min_days)
    else:
        listed = below
    part = sa.or_(Enrolment.start_date > week.monday,
                  sa.and_(Enrolment.end_date.is_not(None), Enrolment.end_date < week.sunday))
    base = (
        sa.select(Enrolment.id)
        .join(Track, Track.id == Enrolment.track_id)
        .outerjoin(figures, figures.c.enrolment_id == Enrolment.id)
        .where(Enrolment.start_date <= week.sunday,
               sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= week.monday), *wanted)
    )
    counts = {r.track_id: r for r in db.session.execute(
        base.with_only_columns(
            Enrolment.track_id,
            sa.func.count().label("enrolled"),
            sa.func.sum(sa.case((part, 1), else_=0)).label("part"),
            sa.func.sum(sa.case((sa.and_(listed, sa.not_(part)), 1), else_=0)).label("listed_whole"),
            sa.func.sum(sa.case((sa.and_(listed, part), 1), else_=0)).label("listed_part"),
        ).group_by(Enrolment.track_id)
    )}
    total_listed = sum(int(r.listed_whole or 0) + int(r.listed_part or 0) for r in counts.values())
    window = None if everything else PageWindow.of(filters.page, total_listed, PAGE_SIZE)
    rows_query = (
        base.with_only_columns(
            Patient.id.label("patient_id"), Patient.last_name, Patient.first_name, Track.name.label("track"),
            StaffUser.full_name.label("counselor"), Enrolment.start_date, Enrolment.end_date,
            minutes.label("minutes"), days.label("days"),
            sa.func.coalesce(figures.c.ahead_minutes, 0).label("ahead"),
            min_minutes.label("min_minutes"), min_days.label("min_days"),
        )
        .join(Patient, Patient.id == Enrolment.patient_id)
        .outerjoin(StaffUser, StaffUser.id == Enrolment.primary_counselor_id)
        .where(listed)
        .order_by(Track.care_level, Track.name, Patient.last_name, Patient.first_name, Patient.id, Enrolment.id)
    )
    if window is not None:
        rows_query = rows_query.offset(window.offset).limit(window.size)
    rows = db.session.execute(rows_query).all() if total_listed else []

    verb = "at risk" if week.current else "below the minimum"
    per_track = Table(
        "tracks", "Per track",
        (Column("Track"), Column("Weekly minimum"), Column("Enrolled in the week", "int"),
         Column("Of them part of the week", "int"),
         Column(f"{verb.capitalize()}, whole week", "int"), Column(f"{verb.capitalize()}, part of the week", "int")),
        empty="There are no tracks.",
    )
    for track in tracks:
        c = counts.get(track.id)
        per_track.rows.append((
            track.name, f"{_hours(track.weekly_min_minutes)} h on {track.weekly_min_days or 0} day(s)",
            int(c.enrolled) if c else 0, int(c.part or 0) if c else 0,
            int(c.listed_whole or 0) if c else 0, int(c.listed_part or 0) if c else 0,
        ))
    patient_columns = [Column("Patient"), Column("Track"), Column("Primary counselor"), Column("Enrolled"),
                       Column("Attended, hours", "hours"), Column("Attended, days", "int"),
                       Column("Minimum, hours", "hours"), Column("Minimum, days", "int")]
    if week.current:
        patient_columns += [Column("Still planned, hours", "hours"), Column("At most, hours", "hours")]
    else:
        patient_columns += [Column("Short by, hours", "hours")]
    patients = Table(
        "patients", "Patients at risk of missing the minimum this week" if week.current
        else "Patients below the minimum",
        tuple(patient_columns), window=window, paged=True,
        empty=("Nobody is at risk: everyone can still reach the minimum." if week.current
               else "Nobody was below the minimum."),
    )
    for r in rows:
        enrolled = "whole week"
        if r.start_date > week.monday:
            enrolled = f"part of the week: from {long_date(r.start_date)}"
        elif r.end_date is not None and r.end_date < week.sunday:
            enrolled = f"part of the week: until {long_date(r.end_date)}"
        line = [f"{r.last_name}, {r.first_name}", r.track, r.counselor or "", enrolled,
                _hours(r.minutes), int(r.days), _hours(r.min_minutes), int(r.min_days)]
        if week.current:
            line += [_hours(r.ahead), _hours(r.minutes + r.ahead)]
        else:
            line += [_hours(max(r.min_minutes - r.minutes, 0))]
        patients.rows.append(tuple(line))
    notes = [
        f"Week of {period_words(week.monday, week.sunday)}. Attended: present, late or left early, with the "
        "minutes recorded; the days are distinct days with attendance. Patients with no attendance count as "
        "0 h and are listed.",
    ]
    if week.current:
        notes.append("This week is not over: listed are those who would stay below the minimum even attending "
                     "every session still planned for them (not cancelled, from now on).")
    notes.append("Part of the week: admitted, moved to another track or discharged during it; listed, and "
                 "counted apart per track.")
    if not sees_everyone(user):
        notes.append("Your caseload only: patients you are responsible for today.")
    return Report(
        key="hours", title="Hours against the minimum" + (" (this week, at risk)" if week.current else ""),
        period=period_words(week.monday, week.sunday), notes=notes, tables=[per_track, patients],
        patient_ids=sorted({r.patient_id for r in rows}),
        filters={"week": week.monday.isoformat(),
                 **({"track": filters.track_id} if filters.track_id is not None else {})},
    )
