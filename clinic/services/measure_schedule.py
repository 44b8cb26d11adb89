"""When a PHQ-9 and a GAD-7 are due, and which are overdue: the one home of the schedule.

Every track has an interval (``Track.measure_interval_days``, 1 to 90 days, 7 by default:
weekly), edited on the track form through ``catalogue``. The occasions are fixed policy,
the same for every track, for each instrument apart:

- **at admission**: due on the first day of the enrolment when no administration of that
  instrument is dated since that day;
- **at step-down** (or step-up): the enrolment began the day after the previous one ended
  with status ``stepped_down`` (``stepped_up``); an administration up to
  ``STEP_WINDOW_DAYS`` before the move counts for it, otherwise it is due on the new
  enrolment's first day;
- **every N days**: after the latest administration, the next is due N days later (N is the
  track's interval), as long as the enrolment has not ended by then;
- **at discharge**: an enrolment ending with status ``discharged`` (a planned discharge, the
  end date still ahead, or one just past) needs an administration dated no earlier than
  ``DISCHARGE_WINDOW_DAYS`` before its last day. It is listed from then on, is due on the
  last day, and is dropped ``DISCHARGE_FOLLOW_DAYS`` after it. It replaces a regular one that
  would fall due inside that window, and any regular one once the window has opened (one
  administration then serves both).

Any administration counts, draft or signed: the patient answered on that day. One line per
patient and instrument: the earliest occasion still open.

**Due** and **overdue**: a measure is *due* from its due day (a discharge one from the
first day of its window); it is *overdue* once the due day has passed by more than
``CLINIC_MEASURE_GRACE_DAYS`` days (1 by default: due Monday, overdue from Wednesday).
Before that it is *coming* (the patient page says when).

Reading is set-based: ``overdue_for_caseload`` (My day) reads the enrolment in force, its
track's interval, the previous step and the latest day of each instrument of every patient
of the caseload in one statement, whatever the size of the clinic; the patient page uses the
same statement for one patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import Enrolment, MeasureAdministration, Patient, Track
from . import access, instruments

#: The interval a new track gets, and the range the track form accepts (days).
DEFAULT_MEASURE_INTERVAL = 7
MEASURE_INTERVAL_MIN = 1
MEASURE_INTERVAL_MAX = 90
#: An administration this many days before a step-down (or step-up) counts for it.
STEP_WINDOW_DAYS = 7
#: A discharge's measure counts from this many days before the last day of the enrolment.
DISCHARGE_WINDOW_DAYS = 7
#: A missing discharge measure stays listed this many days after the last day.
DISCHARGE_FOLLOW_DAYS = 14
#: The default of CLINIC_MEASURE_GRACE_DAYS.
DEFAULT_GRACE_DAYS = 1
#: Overdue lines My day shows; more are counted ("and N more").
DAY_SHOWN = 10

STEPPED = ("stepped_down", "stepped_up")
OCCASION_WORDS = {
    "admission": "at admission",
    "stepped_down": "at step-down",
    "stepped_up": "at step-up",
    "interval": "",  # "every 7 days", filled in with the track's interval
    "discharge": "at discharge",
}


def grace_days() -> int:
    """``CLINIC_MEASURE_GRACE_DAYS`` of the running app (the default outside one)."""
    if not has_app_context():
        return DEFAULT_GRACE_DAYS
    return int(current_app.config.get("CLINIC_MEASURE_GRACE_DAYS", DEFAULT_GRACE_DAYS))


@dataclass(frozen=True)
class DueMeasure:
    """One instrument's next occasion for a patient, and its state on ``today``."""

    patient_id: int
    patient_name: str
    instrument: str
    occasion: str
    due_on: date
    #: The first day it is listed as due (the due day; a discharge's window opens earlier).
    shown_from: date
    track_name: str
    interval_days: int
    today: date
    grace: int

    @property
    def name(self) -> str:
        return instruments.INSTRUMENTS[self.instrument].name

    @property
    def state(self) -> str:
        """"overdue", "due" or "coming"."""
        if (self.today - self.due_on).days > self.grace:
            return "overdue"
        if self.today >= self.shown_from:
            return "due"
        return "coming"

    @property
    def overdue(self) -> bool:
        return self.state == "overdue"

    @property
    def days_overdue(self) -> int:
        """Days since the due day (0 when not yet past it)."""
        return max(0, (self.today - self.due_on).days)

    @property
    def occasion_words(self) -> str:
        if self.occasion == "interval":
            every = "weekly" if self.interval_days == 7 else f"every {self.interval_days} days"
            return f"{every} in {self.track_name}"
        return OCCASION_WORDS[self.occasion]

    @property
    def state_words(self) -> str:
        """"overdue by 3 days (due 2 Mar 2026)", "due today", "due since 2 Mar 2026", "due on 9 Mar 2026"."""
        on = _long(self.due_on)
        state = self.state
        if state == "overdue":
            n = self.days_overdue
            return f"overdue by {n} day{'s' if n != 1 else ''} (due {on})"
        if state == "due":
            if self.due_on == self.today:
                return "due today"
            if self.due_on > self.today:
                return f"due by {on}"
            return f"due since {on}"
        return f"due on {on}"


def _long(day: date) -> str:
    return f"{day.day} {day:%b} {day.year}"


def _rows(where, today: date):
    """The enrolment in force of each patient matching ``where`` with what the schedule needs (one statement).

    In force: begun by ``today`` and open, or ended no more than DISCHARGE_FOLLOW_DAYS ago,
    and no later enrolment begun by today.
    """
    later = aliased(Enrolment)
    previous = aliased(Enrolment)

    def latest(code: str):
        return (
            sa.select(sa.func.max(MeasureAdministration.administered_on))
            .where(MeasureAdministration.patient_id == Enrolment.patient_id,
                   MeasureAdministration.instrument == code)
            .scalar_subquery()
        )

    step_end = (
        sa.select(sa.func.max(previous.end_date))
        .where(previous.patient_id == Enrolment.patient_id, previous.status.in_(STEPPED),
               previous.end_date < Enrolment.start_date)
        .scalar_subquery()
    )
    step_status = (
        sa.select(previous.status)
        .where(previous.patient_id == Enrolment.patient_id, previous.status.in_(STEPPED),
               previous.end_date < Enrolment.start_date)
        .order_by(previous.end_date.desc()).limit(1)
        .scalar_subquery()
    )
    query = (
        sa.select(
            Enrolment.patient_id, Enrolment.start_date, Enrolment.end_date, Enrolment.status,
            Track.name.label("track_name"), Track.measure_interval_days.label("interval"),
            Patient.first_name, Patient.last_name,
            step_end.label("step_end"), step_status.label("step_status"),
            *(latest(code).label(f"last_{code}") for code in instruments.INSTRUMENT_CODES),
        )
        .join(Track, Track.id == Enrolment.track_id)
        .join(Patient, Patient.id == Enrolment.patient_id)
        .where(
            where,
            Patient.active.is_(True),
            Enrolment.start_date <= today,
            sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= today - timedelta(days=DISCHARGE_FOLLOW_DAYS)),
            ~sa.exists().where(later.patient_id == Enrolment.patient_id, later.start_date > Enrolment.start_date,
                               later.start_date <= today),
        )
    )
    return db.session.execute(query).all()


def _next(row, code: str, today: date, grace: int) -> DueMeasure | None:
    """The earliest open occasion of instrument ``code`` for the enrolment ``row`` (None: nothing)."""
    start, end = row.start_date, row.end_date
    last_any = getattr(row, f"last_{code}")
    follows_step = row.step_end is not None and (start - row.step_end).days <= 1
    since = start - timedelta(days=STEP_WINDOW_DAYS) if follows_step else start
    last = last_any if last_any is not None and last_any >= since else None
    ended = end is not None and end < today

    def line(occasion: str, due_on: date, shown_from: date | None = None) -> DueMeasure:
        return DueMeasure(
            patient_id=row.patient_id, patient_name=f"{row.first_name} {row.last_name}", instrument=code,
            occasion=occasion, due_on=due_on, shown_from=shown_from or due_on, track_name=row.track_name,
            interval_days=row.interval, today=today, grace=grace,
        )

    regular = None
    if not ended:
        if last is None:
            regular = line(row.step_status if follows_step else "admission", start)
        else:
            due_on = last + timedelta(days=row.interval)
            if end is None or due_on <= end:
                regular = line("interval", due_on)
    if row.status == "discharged" and end is not None:
        window = end - timedelta(days=DISCHARGE_WINDOW_DAYS)
        done = last_any is not None and last_any >= max(window, since)
        if not done:
            discharge = line("discharge", end, max(window, start))
            if regular is None or regular.due_on >= window or today >= window:
                return discharge
    return regular


def _lines(rows, today: date) -> list[DueMeasure]:
    grace = grace_days()
    found = []
    for row in rows:
        for code in instruments.INSTRUMENT_CODES:
            due = _next(row, code, today, grace)
            if due is not None:
                found.append(due)
    return found


def patient_schedule(patient_id: int, today: date | None = None) -> list[DueMeasure]:
    """The patient's next PHQ-9 and GAD-7 (due, overdue or coming), one statement.

    Empty when the patient has no enrolment in force (nothing is scheduled then).
    """
    today = today or date.today()
    return _lines(_rows(Enrolment.patient_id == patient_id, today), today)


@dataclass(frozen=True)
class OverdueList:
    """My day's overdue measures: the first ``DAY_SHOWN``, most overdue first, and how many in all."""

    lines: tuple[DueMeasure, ...]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.lines)


def overdue_for_caseload(counselor_id: int, today: date | None = None, shown: int = DAY_SHOWN) -> OverdueList:
    """The overdue measures of the counselor's caseload (``access.caseload_patient_ids``), one statement.

    Most overdue first, then by name; at most ``shown`` lines, with the total counted.
    """
    today = today or date.today()
    rows = _rows(access.among(Enrolment.patient_id, access.caseload_patient_ids(counselor_id, today)), today)
    overdue = sorted((d for d in _lines(rows, today) if d.overdue),
                     key=lambda d: (d.due_on, d.patient_name, d.patient_id, d.instrument))
    return OverdueList(lines=tuple(overdue[:shown]), total=len(overdue))


__all__ = [
    "DAY_SHOWN", "DEFAULT_GRACE_DAYS", "DEFAULT_MEASURE_INTERVAL", "DISCHARGE_FOLLOW_DAYS",
    "DISCHARGE_WINDOW_DAYS", "DueMeasure", "MEASURE_INTERVAL_MAX", "MEASURE_INTERVAL_MIN", "OverdueList",
    "STEP_WINDOW_DAYS", "grace_days", "overdue_for_caseload", "patient_schedule",
]
