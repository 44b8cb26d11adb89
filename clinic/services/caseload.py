"""Which patients and sessions a counselor may see."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from ..models import CareGroup, Enrolment, GroupMembership, GroupSession
from .membership import covers


def caseload_patient_ids(counselor_id: int, on: date | None = None) -> sa.Select:
    """A subquery of patient ids on a counselor's caseload.

    The caseload is every patient whose open enrolment names the counselor as primary
    counselor, and every current member of a group the counselor facilitates (as the
    group's facilitator or as the facilitator of one of its sessions).
    """
    on = on or date.today()
    facilitated_groups = sa.union(
        sa.select(CareGroup.id).where(CareGroup.facilitator_id == counselor_id),
        sa.select(GroupSession.group_id).where(GroupSession.facilitator_id == counselor_id),
    )
    primary = sa.select(Enrolment.patient_id).where(
        Enrolment.primary_counselor_id == counselor_id, Enrolment.end_date.is_(None)
    )
    members = sa.select(GroupMembership.patient_id).where(
        GroupMembership.group_id.in_(facilitated_groups),
        covers(GroupMembership, on),
    )
    return sa.union(primary, members)


def facilitated_session_ids(counselor_id: int) -> sa.Select:
    """A subquery of the ids of sessions the counselor facilitates."""
    return sa.select(GroupSession.id).where(GroupSession.facilitator_id == counselor_id)


def facilitated_group_ids(counselor_id: int) -> sa.Select:
    """A subquery of the ids of groups the counselor facilitates."""
    return sa.union(
        sa.select(CareGroup.id).where(CareGroup.facilitator_id == counselor_id),
        sa.select(GroupSession.group_id).where(GroupSession.facilitator_id == counselor_id),
    )
