"""Who took part over a period (a group's members, a track's patients) and a week's assignments.

Each is one statement, for the progress sheet batches, the session packets and the
kindness plans.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Assignment, Enrolment, GroupMembership, KindnessExercise, Patient


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


__all__ = ["group_patients", "track_patients", "week_assignments"]
