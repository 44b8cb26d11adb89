"""Figures for the admin home page.

The home page lists at most ``SHOWN_SESSIONS`` of today's sessions (the earliest) and
says how many more there are (counted up to ``COUNTED_SESSIONS``), in the same statement:
a large clinic's hundreds of sessions a day belong on the week planner, not on the home
page, which stays the same size whatever the clinic's. The patients currently enrolled
are counted up to ``COUNTED_PATIENTS`` ("more than 1,000").
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import Enrolment, GroupSession
from ..services import audit, safety
from ..services.access import caseload_patient_ids, sees_everyone, session_filter

#: Today's sessions listed on the home page; the rest are counted and left to the planner.
SHOWN_SESSIONS = 10
#: Today's sessions are counted up to this many; beyond it the page says "more than".
COUNTED_SESSIONS = 100
#: Patients currently enrolled are counted up to this many; beyond it "more than 1,000".
COUNTED_PATIENTS = 1000


def _capped_count(query, cap: int):
    """``count(*)`` of at most ``cap + 1`` rows of ``query``: the work stays the same however many there are."""
    return sa.select(sa.func.count()).select_from(query.limit(cap + 1).subquery())


def dashboard_context(user) -> dict:
    """Counts that help each role start the day.

    Everything here is bounded, so the page takes the same statements and the same work in a
    clinic of any size: the patient count stops at ``COUNTED_PATIENTS`` (one open enrolment
    per patient, counted from its partial unique index), today's sessions are counted up to
    ``COUNTED_SESSIONS`` and only ``SHOWN_SESSIONS`` of them are read with their group and
    activity.
    """
    today = date.today()
    start = datetime.combine(today, time.min)
    end = start + timedelta(days=1)
    everyone = sees_everyone(user)
    # The open safety tasks first: auditing their reading commits, which expires the rows
    # loaded before it (today's sessions would be read again one by one in the template).
    tasks = safety.open_tasks_for(user) if everyone else []
    if tasks:  # an item 9 answer is clinical data: its reading is audited
        audit.record_view("safety_task", "", [t.patient_id for t in tasks])
    todays = sa.select(GroupSession.id, GroupSession.starts_at).where(
        GroupSession.starts_at >= start, GroupSession.starts_at < end
    )
    if not everyone:
        todays = todays.where(session_filter(user, GroupSession.id))
        patients = db.session.scalar(
            sa.select(sa.func.count()).select_from(caseload_patient_ids(user.id).subquery())
        )
        patients_capped = False
    else:
        # At most one open enrolment per patient (uq_enrolment_one_open_per_patient).
        patients = db.session.scalar(
            _capped_count(sa.select(Enrolment.patient_id).where(Enrolment.end_date.is_(None)), COUNTED_PATIENTS))
        patients_capped = patients > COUNTED_PATIENTS
        patients = min(patients, COUNTED_PATIENTS)
    # The first sessions of the day, each with how many there are (up to the cap), in one
    # statement: the count is taken over the capped ids, the groups joined to the shown ten.
    counted = todays.order_by(GroupSession.starts_at, GroupSession.id).limit(COUNTED_SESSIONS + 1).subquery()
    first = (
        sa.select(counted.c.id, sa.func.count().over().label("total"))
        .order_by(counted.c.starts_at, counted.c.id)
        .limit(SHOWN_SESSIONS)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(GroupSession, first.c.total)
        .join(first, first.c.id == GroupSession.id)
        .options(sa.orm.joinedload(GroupSession.group), sa.orm.joinedload(GroupSession.activity))
        .order_by(GroupSession.starts_at, GroupSession.id)
    ).all()
    sessions = [row[0] for row in rows]
    total = rows[0].total if rows else 0
    return {
        "today": today,
        # Open item 9 safety tasks: every one on the home page of those who see everyone.
        "safety_tasks": tasks,
        "safety_shown": safety.SHOWN,
        #: Everyone's figures (admins, planners) or one counselor's own.
        "sees_everyone": everyone,
        "patient_count": patients or 0,
        #: True when there are more than ``patient_count`` (it stopped counting).
        "patient_count_capped": patients_capped,
        "todays_sessions": sessions,
        #: How many sessions there are today in all, up to ``COUNTED_SESSIONS``.
        "todays_total": min(total, COUNTED_SESSIONS),
        #: True when there are more than ``COUNTED_SESSIONS`` today.
        "todays_capped": total > COUNTED_SESSIONS,
    }
