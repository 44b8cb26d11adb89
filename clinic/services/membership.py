"""Group memberships and rosters by date."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from ..extensions import db
from ..models import CareGroup, Enrolment, GroupMembership, Patient
from .errors import RuleViolation
from .limits import FieldViolation, day, required_row
from .locking import check_version


def covers(model, day):
    """SQL: a row of ``model`` (with start_date and end_date) is in force on ``day``.

    An empty end date means open-ended. ``day`` may be a date or a SQL expression.
    """
    return sa.and_(model.start_date <= day, sa.or_(model.end_date.is_(None), model.end_date >= day))


def roster(group_id: int, day: date) -> list[Patient]:
    """Everyone who is a member of the group on ``day``, by last name."""
    return list(
        db.session.scalars(
            sa.select(Patient)
            .join(GroupMembership, GroupMembership.patient_id == Patient.id)
            .where(
                GroupMembership.group_id == group_id,
                covers(GroupMembership, day),
            )
            .order_by(Patient.last_name, Patient.first_name)
        )
    )


def enrolment_on(patient_id: int, day: date) -> Enrolment | None:
    """The patient's enrolment that covers ``day``, if any."""
    return db.session.scalar(
        sa.select(Enrolment).where(
            Enrolment.patient_id == patient_id,
            covers(Enrolment, day),
        )
    )


def _peak_members(group_id: int, start: date, end: date | None, exclude_id: int | None = None) -> int:
    """The most members the group has on any one day between ``start`` and ``end``."""
    overlapping = db.session.scalars(
        sa.select(GroupMembership).where(
            GroupMembership.group_id == group_id,
            sa.or_(GroupMembership.end_date.is_(None), GroupMembership.end_date >= start),
            *([GroupMembership.start_date <= end] if end else []),
            *([GroupMembership.id != exclude_id] if exclude_id else []),
        )
    ).all()
    days = {start} | {m.start_date for m in overlapping if m.start_date >= start}
    peak = 0
    for on in days:
        count = sum(
            1 for m in overlapping if m.start_date <= on and (m.end_date is None or m.end_date >= on)
        )
        peak = max(peak, count)
    return peak


def check_membership(group: CareGroup, patient: Patient, start: date, end: date | None,
                     exclude_id: int | None = None) -> date | None:
    """Refuse a membership the rules do not allow; return the end date it may have.

    The patient must be enrolled in the group's track on the start date, must not
    already be a member over those dates, and the group must have room. A membership
    never outlasts the enrolment it rests on.
    """
    if end is not None and end < start:
        raise RuleViolation("The membership cannot end before it starts.")
    enrolment = enrolment_on(patient.id, start)
    if enrolment is None or enrolment.track_id != group.track_id:
        raise RuleViolation(
            f"The patient is not enrolled in {group.track.name} on {start.isoformat()}, "
            f"so they cannot join {group.name} then."
        )
    if enrolment.end_date is not None and (end is None or end > enrolment.end_date):
        end = enrolment.end_date
    clash = db.session.scalar(
        sa.select(GroupMembership).where(
            GroupMembership.group_id == group.id,
            GroupMembership.patient_id == patient.id,
            sa.or_(GroupMembership.end_date.is_(None), GroupMembership.end_date >= start),
            *([GroupMembership.start_date <= end] if end else []),
            *([GroupMembership.id != exclude_id] if exclude_id else []),
        )
    )
    if clash is not None:
        since = clash.start_date.isoformat()
        raise RuleViolation(f"The patient is already a member of {group.name} (since {since}).")
    if _peak_members(group.id, start, end, exclude_id) >= group.capacity:
        raise RuleViolation(
            f"{group.name} is full: it already has {group.capacity} members "
            f"(its capacity) on those dates."
        )
    return end


def add_member(group: CareGroup, patient: Patient, start: date, end: date | None = None,
               *, commit: bool = True) -> GroupMembership:
    """Add a patient to a group from ``start`` (until ``end``, or open-ended).

    Refused when the patient is not enrolled in the group's track on the start date,
    is already a member over those dates, or the group would exceed its capacity.
    """
    end = check_membership(group, patient, start, end)
    membership = GroupMembership(group_id=group.id, patient_id=patient.id, start_date=start, end_date=end)
    db.session.add(membership)
    if commit:
        db.session.commit()
    return membership


def end_membership(membership: GroupMembership, last_day: date, *, commit: bool = True) -> GroupMembership:
    """End a membership after ``last_day``; sessions after it no longer list the patient."""
    if last_day < membership.start_date:
        raise RuleViolation("A membership cannot end before it started.")
    if membership.end_date is not None and membership.end_date < last_day:
        raise RuleViolation("This membership has already ended.")
    membership.end_date = last_day
    if commit:
        db.session.commit()
    return membership


def end_memberships_in_track(patient_id: int, track_id: int, last_day: date) -> list[GroupMembership]:
    """End every membership the patient holds in groups of a track after ``last_day`` (no commit).

    Memberships that would only start after ``last_day`` are removed.
    """
    memberships = db.session.scalars(
        sa.select(GroupMembership)
        .join(CareGroup, CareGroup.id == GroupMembership.group_id)
        .where(
            GroupMembership.patient_id == patient_id,
            CareGroup.track_id == track_id,
            sa.or_(GroupMembership.end_date.is_(None), GroupMembership.end_date > last_day),
        )
    ).all()
    ended = []
    for membership in memberships:
        if membership.start_date > last_day:
            db.session.delete(membership)
        else:
            membership.end_date = last_day
        ended.append(membership)
    return ended


def peak_members(group_id: int, start: date, end: date | None = None) -> int:
    """The most members the group has on any one day from ``start`` (until ``end``)."""
    return _peak_members(group_id, start, end)


def create_membership(values: dict) -> GroupMembership:
    """Add a membership from a form's values (group, patient, start_date, end_date); no commit."""

    group = required_row(values, "group", "group")
    patient = required_row(values, "patient", "patient")
    start = day(values, "start_date", "start date")
    end = day(values, "end_date", "end date", required=False)
    return add_member(group, patient, start, end, commit=False)


def update_membership(membership: GroupMembership, values: dict, version, *,
                      today: date | None = None) -> GroupMembership:
    """Change a membership opened at ``version`` under the same rules as a new one; no commit.

    The patient never changes (that would be another membership); once the membership
    has begun, neither do its group and start date: end it and add a new one instead.
    """

    check_version(membership, version)
    today = today or date.today()
    group = required_row(values, "group", "group")
    patient = required_row(values, "patient", "patient")
    start = day(values, "start_date", "start date")
    end = day(values, "end_date", "end date", required=False)
    if patient.id != membership.patient_id:
        raise FieldViolation("patient", "A membership cannot move to another patient; add a new one instead.")
    if membership.start_date <= today and (group.id != membership.group_id or start != membership.start_date):
        raise FieldViolation("start_date" if group.id == membership.group_id else "group",
                             "This membership has begun: its group and start date stay. "
                             "End it and add a new membership instead.")
    with db.session.no_autoflush:
        end = check_membership(group, patient, start, end, exclude_id=membership.id)
    for key, value in (("group_id", group.id), ("start_date", start), ("end_date", end)):
        if getattr(membership, key) != value:
            setattr(membership, key, value)
    db.session.flush()
    return membership


def delete_membership(membership: GroupMembership, *, today: date | None = None) -> None:
    """Remove a membership that has not begun yet; one that has begun is ended instead."""
    if membership.start_date <= (today or date.today()):
        raise RuleViolation("This membership has begun, so it is part of the record: end it instead.")
    db.session.delete(membership)
    db.session.flush()


__all__ = [
    "add_member",
    "create_membership",
    "delete_membership",
    "peak_members",
    "update_membership",
    "covers",
    "check_membership",
    "end_membership",
    "end_memberships_in_track",
    "enrolment_on",
    "roster",
]
