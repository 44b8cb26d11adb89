"""Figures for the admin home page.

The home page lists at most ``SHOWN_SESSIONS`` of today's sessions (the earliest) and
says how many there are in all, in the same statement (a window count): a large
clinic's hundreds of sessions a day belong on the week planner, not on the home page,
which stays the same size whatever the clinic's.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import Enrolment, GroupSession, Patient
from ..services import audit, safety
from ..services.access import caseload_patient_ids, sees_everyone, session_filter

#: Today's sessions listed on the home page; the rest are counted and left to the planner.
SHOWN_SESSIONS = 10


def dashboard_context(user) -> dict:
    """Counts that help each role start the day."""
    today = date.today()
    start = datetime.combine(today, time.min)
    end = start + timedelta(days=1)
    # The open safety tasks first: auditing their reading commits, which expires the rows
    # loaded before it (today's sessions would be read again one by one in the template).
    tasks = safety.open_tasks_for(user) if sees_everyone(user) else []
    if tasks:  # an item 9 answer is clinical data: its reading is audited
        audit.record_view("safety_task", "", [t.patient_id for t in tasks])
    sessions = sa.select(GroupSession).where(
        GroupSession.starts_at >= start, GroupSession.starts_at < end
    ).order_by(GroupSession.starts_at)
    if not sees_everyone(user):
        sessions = sessions.where(session_filter(user, GroupSession.id))
        patients = db.session.scalar(
            sa.select(sa.func.count()).select_from(caseload_patient_ids(user.id).subquery())
        )
    else:
        patients = db.session.scalar(
            sa.select(sa.func.count(sa.distinct(Enrolment.patient_id))).where(Enrolment.end_date.is_(None))
        )
    rows = db.session.execute(
        sessions.add_columns(sa.func.count().over().label("total"))
        .options(sa.orm.joinedload(GroupSession.group), sa.orm.joinedload(GroupSession.activity))
        .order_by(GroupSession.id).limit(SHOWN_SESSIONS)
    ).all()
    todays = [row[0] for row in rows]
    return {
        "today": today,
        # Open item 9 safety tasks: every one on the home page of those who see everyone.
        "safety_tasks": tasks,
        "safety_shown": safety.SHOWN,
        #: Everyone's figures (admins, planners) or one counselor's own.
        "sees_everyone": sees_everyone(user),
        "patient_count": patients or 0,
        "todays_sessions": todays,
        #: How many sessions there are today in all (``todays_sessions`` lists the first ones).
        "todays_total": rows[0].total if rows else 0,
        "active_patients": db.session.scalar(sa.select(sa.func.count(Patient.id)).where(Patient.active))
        if sees_everyone(user) else None,
    }
