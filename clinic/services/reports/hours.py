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

Two statements whatever the size of the clinic: the tracks, and every enrolment in force
judged once (its figures from ``rosters.week_figures``, the one home of the week's
participation figures), from which come both the counts per track and the listed rows (a
page of them on screen, all of them in the files).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ...extensions import db
from ...models import Enrolment, Patient, StaffUser, Track
from ..access import enrolment_filter, sees_everyone
from ..page_window import PageWindow
from ..rosters import week_figures
from . import half_up, PAGE_SIZE, STAYS_NOTE, Column, Report, ReportFilters, Table, long_date, period_words


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


def _hours(minutes: int | None) -> float:
    return half_up((minutes or 0) / 60, 1)


def build(filters: ReportFilters, user: Any, *, now: datetime | None = None, everything: bool = False) -> Report:
    """The week's report as ``user`` may see it; ``everything``: every listed row (the files),
    otherwise one page of them (``filters.page``)."""
    week = _week(filters, now or datetime.now())
    wanted = [c for c in (enrolment_filter(user),
                          Enrolment.track_id == filters.track_id if filters.track_id is not None else None)
              if c is not None]
    track_query = (sa.select(Track.id, Track.name, Track.weekly_min_minutes, Track.weekly_min_days)
                   .order_by(Track.care_level, Track.name, Track.id))
    if filters.track_id is not None:
        track_query = track_query.where(Track.id == filters.track_id)
    tracks = db.session.execute(track_query).all()

    in_force = (Enrolment.start_date <= week.sunday,
                sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= week.monday), *wanted)
    enrolled = (
        sa.select(Enrolment.id.label("key"), Enrolment.patient_id.label("patient_id"),
                  Enrolment.start_date.label("first_day"), Enrolment.end_date.label("last_day"))
        .where(*in_force).cte("enrolled")
    )
    # Attended figures come from the week's attendance alone; the current week adds the
    # sessions still ahead (``offered=False``: no membership pairs before now).
    figures = week_figures(enrolled, week.monday, now=week.now, offered=False)
    minutes = sa.func.coalesce(figures.c.minutes, 0)
    days = sa.func.coalesce(figures.c.days, 0)
    min_minutes = sa.func.coalesce(Track.weekly_min_minutes, 0)
    min_days = sa.func.coalesce(Track.weekly_min_days, 0)
    below = sa.or_(minutes < min_minutes, days < min_days)
    if week.current:
        listed = sa.or_(minutes + sa.func.coalesce(figures.c.ahead, 0) < min_minutes,
                        sa.func.coalesce(figures.c.reachable_days, 0) < min_days)
    else:
        listed = below
    part = sa.or_(Enrolment.start_date > week.monday,
                  sa.and_(Enrolment.end_date.is_not(None), Enrolment.end_date < week.sunday))
    # One statement judges every enrolment in force once: the counts per track and the
    # listed rows both come from it (the figures are computed once).
    judged = db.session.execute(
        sa.select(
            Enrolment.track_id, sa.case((part, 1), else_=0).label("part"), sa.case((listed, 1), else_=0).label("listed"),
            Patient.id.label("patient_id"), Patient.last_name, Patient.first_name, Track.name.label("track"),
            StaffUser.full_name.label("counselor"), Enrolment.start_date, Enrolment.end_date,
            minutes.label("minutes"), days.label("days"), sa.func.coalesce(figures.c.ahead, 0).label("ahead"),
            min_minutes.label("min_minutes"), min_days.label("min_days"),
        )
        .join(Track, Track.id == Enrolment.track_id)
        .join(Patient, Patient.id == Enrolment.patient_id)
        .outerjoin(StaffUser, StaffUser.id == Enrolment.primary_counselor_id)
        .outerjoin(figures, figures.c.key == Enrolment.id)
        .where(*in_force)
        .order_by(Track.care_level, Track.name, Patient.last_name, Patient.first_name, Patient.id, Enrolment.id)
    ).all()
    counts: dict[int, list[int]] = {}
    for r in judged:
        c = counts.setdefault(r.track_id, [0, 0, 0, 0])  # enrolled, part, listed whole, listed part
        c[0] += 1
        c[1] += r.part
        c[2 if not r.part else 3] += r.listed
    listed_rows = [r for r in judged if r.listed]
    window = None if everything else PageWindow.of(filters.page, len(listed_rows), PAGE_SIZE)
    rows = listed_rows if window is None else listed_rows[window.offset:window.offset + window.size]

    verb = "at risk" if week.current else "below the minimum"
    per_track = Table(
        "tracks", "Per track",
        (Column("Track"), Column("Weekly minimum"), Column("Enrolled in the week", "int"),
         Column("Of them part of the week", "int"),
         Column(f"{verb.capitalize()}, whole week", "int"), Column(f"{verb.capitalize()}, part of the week", "int")),
        empty="There are no tracks.",
    )
    for track in tracks:
        enrolled_count, part_count, whole_listed, part_listed = counts.get(track.id, (0, 0, 0, 0))
        per_track.rows.append((
            track.name, f"{_hours(track.weekly_min_minutes)} h on {track.weekly_min_days or 0} day(s)",
            enrolled_count, part_count, whole_listed, part_listed,
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
    patients.row_patients = [r.patient_id for r in rows]
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
        notes.append(STAYS_NOTE)
    return Report(
        key="hours", title="Hours against the minimum" + (" (this week, at risk)" if week.current else ""),
        period=period_words(week.monday, week.sunday), notes=notes, tables=[per_track, patients],
        patient_ids=sorted({r.patient_id for r in rows}),
        filters={"week": week.monday.isoformat(),
                 **({"track": filters.track_id} if filters.track_id is not None else {})},
    )
