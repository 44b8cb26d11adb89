"""Who may see or change what: the one home of the role table, caseloads and facilitation.

Every list, page, PDF, template and CLI command asks this module: the role table says
which views a role may read (``r``), create (``c``), edit (``e``) or delete (``d``); the
caseload says which patients a counselor may see; facilitation says which sessions a
counselor may record. Nothing here reads the request: callers pass the user.

A counselor's caseload is every patient whose open enrolment names them as primary
counselor, and every current member of a group they facilitate (as the group's
facilitator or as the facilitator of one of its sessions). A patient whose enrolment
has closed and who is no longer in such a group leaves the caseload. Reports of a period
(census, hours, outcomes) also keep the enrolments a counselor was primary counselor of
(``enrolment_filter``), so a discharged patient stays in their own counselor's figures.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Iterable

import sqlalchemy as sa

from ..extensions import db
from ..models import CareGroup, Enrolment, GroupMembership, GroupSession, Patient
from .membership import covers

PROGRAMME_FULL = {"admin": "rced", "planner": "rced"}

#: View endpoint -> role -> rights. A view missing from a role's row is not offered to
#: that role at all, neither in the menu nor by URL. The rights are what each view can
#: really do: every write goes through a service in ``clinic.services``.
PERMISSIONS: dict[str, dict[str, str]] = {
    "tracks": {"admin": "rced", "planner": "rce", "counselor": "r"},
    "groups": {**PROGRAMME_FULL, "counselor": "r"},
    "memberships": {**PROGRAMME_FULL, "counselor": "r"},
    "activities": {**PROGRAMME_FULL, "counselor": "r"},
    # Counselors read sessions here; the group note is written on the record page.
    "sessions": {**PROGRAMME_FULL, "counselor": "r"},
    "exercises": {**PROGRAMME_FULL, "counselor": "r"},
    "assignments": {**PROGRAMME_FULL, "counselor": "r"},
    "patients": {"admin": "rced", "planner": "r", "counselor": "r"},
    "enrolments": {**PROGRAMME_FULL, "counselor": "r"},
    # Read-only lists: attendance and check-ins change on the record and patient pages.
    "attendance": {"admin": "r", "planner": "r", "counselor": "r"},
    # "c" here is the check-in outside a session on the patient's page (day.checkin);
    # the list itself has no create form.
    "checkins": {"admin": "rc", "planner": "rc", "counselor": "rc"},
    # The weekly connectedness answer, entered on the patient page (kindness.connectedness);
    # counselors only for their caseload (checked per patient). "c" enters or changes a week's answer.
    "connectedness": {"admin": "rc", "planner": "rc", "counselor": "rc"},
    # Accounts are never deleted (deactivated instead), so their history keeps a name.
    "staff": {"admin": "rce"},
    # Pages that are not model lists.
    "planner": {"admin": "r", "planner": "r", "counselor": "r"},
    "series": {"admin": "rce", "planner": "rce"},
    "assign": {"admin": "rce", "planner": "rce"},
    "programme": {"admin": "rce", "planner": "rce"},
    # Recording participation: counselors only for sessions they facilitate (checked per session).
    "record": {"admin": "rce", "planner": "rce", "counselor": "rce"},
    "day": {"admin": "r", "planner": "r", "counselor": "r"},
    # Outcome measures (PHQ-9, GAD-7): counselors only for their caseload (checked per patient).
    "measures": {"admin": "rce", "planner": "rce", "counselor": "rce"},
    # Records to finish: every facilitator's unsigned records, for those who oversee them.
    "unfinished": {"admin": "r", "planner": "r"},
    # Reports (census, hours against the minimum, ...): counselors see their caseload only
    # (services/reports applies access.patient_filter to every report).
    "reports": {"admin": "r", "planner": "r", "counselor": "r"},
    # Printing: counselors only for their caseload and the sessions they facilitate.
    "print": {"admin": "r", "planner": "r", "counselor": "r"},
    "audit": {"admin": "r"},
    # Safety tasks (PHQ-9 item 9): counselors of the caseload and admins record the risk
    # assessment that closes one (services/safety.may_assess); planners see them.
    "safety": {"admin": "rce", "planner": "r", "counselor": "rce"},
    # The treatment plan (services/treatment_plan.may_edit): counselors of the caseload and
    # admins write it; planners read it (they assign exercises to its goals).
    "plan": {"admin": "rce", "planner": "r", "counselor": "rce"},
    # Calendar feeds: everyone subscribes to their own sessions; group and room feeds are
    # for planners and admins (services/calendar_feeds.may_plan_feeds).
    "calendar": {"admin": "rc", "planner": "rc", "counselor": "rc"},
}
#: Roles that see every patient and every session (the others see their caseload).
OVERSEEING_ROLES = ("admin", "planner")


def rights(endpoint: str, role: str | None) -> str:
    """Return the rights string a role holds on a view (empty when none)."""
    if not role:
        return ""
    return PERMISSIONS.get(endpoint, {}).get(role, "")


def allowed(endpoint: str, role: str | None, right: str) -> bool:
    """True when ``role`` holds ``right`` on the view ``endpoint``."""
    return right in rights(endpoint, role)


def role_of(user: Any) -> str | None:
    """The role of ``user`` (a StaffUser or Flask-Login's current user), None when anonymous."""
    if user is None or not getattr(user, "is_authenticated", True):
        return None
    return getattr(user, "role", None)


def sees_everyone(user: Any) -> bool:
    """True when ``user`` sees every patient and session (admins and planners)."""
    return role_of(user) in OVERSEEING_ROLES


# Caseloads and facilitation ----------------------------------------------------------
def _session_group_ids(counselor_id: int):
    """The distinct ids of the groups whose sessions the counselor has facilitated, one index
    probe per group rather than a read of every session they ever ran.

    A loose index scan over ``ix_group_session_facilitator_group`` (migration 0020), written
    as a recursive CTE both databases run: the smallest group id of their sessions, then
    the next one above it, until there is none.
    """
    first = (
        sa.select(sa.func.min(GroupSession.group_id).label("group_id"))
        .where(GroupSession.facilitator_id == counselor_id)
        .cte("session_groups", recursive=True, nesting=True)
    )
    following = sa.select(sa.func.min(GroupSession.group_id)).where(
        GroupSession.facilitator_id == counselor_id, GroupSession.group_id > first.c.group_id
    ).scalar_subquery()
    walk = first.union_all(sa.select(following).where(first.c.group_id.is_not(None)))
    # Nested in its own subquery, so a statement may ask for it more than once.
    found = sa.select(walk.c.group_id).where(walk.c.group_id.is_not(None)).subquery()
    return sa.select(found.c.group_id)


def facilitated_group_ids(counselor_id: int) -> sa.Select:
    """A subquery of the ids of groups the counselor facilitates (as the group's facilitator,
    or having facilitated one of its sessions). Its work is one probe per group found,
    whatever the length of the counselor's history."""
    return sa.union(
        sa.select(CareGroup.id).where(CareGroup.facilitator_id == counselor_id),
        _session_group_ids(counselor_id),
    )


def caseload_patient_ids(counselor_id: int, on: date | None = None) -> sa.Select:
    """A subquery of patient ids on a counselor's caseload on ``on`` (today by default)."""
    on = on or date.today()
    primary = sa.select(Enrolment.patient_id).where(
        Enrolment.primary_counselor_id == counselor_id, Enrolment.end_date.is_(None)
    )
    members = sa.select(GroupMembership.patient_id).where(
        among(GroupMembership.group_id, facilitated_group_ids(counselor_id)),
        covers(GroupMembership, on),
    )
    return sa.union(primary, members)


def facilitated_session_ids(counselor_id: int) -> sa.Select:
    """A subquery of the ids of sessions the counselor facilitates."""
    return sa.select(GroupSession.id).where(GroupSession.facilitator_id == counselor_id)


def patient_filter(user: Any, column: Any):
    """A WHERE clause limiting ``column`` (a patient id column) to what ``user`` may see.

    None when the user sees everyone; a clause that matches nothing for anonymous users.
    """
    if sees_everyone(user):
        return None
    if role_of(user) is None:
        return sa.false()
    return among(column, caseload_patient_ids(user.id))


def enrolment_filter(user: Any, enrolment: Any = Enrolment):
    """A WHERE clause limiting enrolments (``enrolment``: the entity or an alias) to what ``user`` may
    see in a report of a period: those whose primary counselor they were, and those of patients on
    their caseload today.

    A counselor reporting on a period is asked about the stays they were responsible for:
    a patient discharged from their caseload keeps counting in their census, hours and
    outcomes for that enrolment, but a stay with another primary counselor (a patient of
    someone else's, now or then) does not, unless the patient is on their caseload today.
    None when the user sees everyone; a clause that matches nothing for anonymous users.
    """
    if sees_everyone(user):
        return None
    if role_of(user) is None:
        return sa.false()
    return sa.or_(enrolment.primary_counselor_id == user.id, patient_filter(user, enrolment.patient_id))


def among(column: Any, ids: sa.Select):
    """``column IN (ids)``; on PostgreSQL ``column = ANY(ARRAY(ids))``.

    Same rows either way. PostgreSQL cannot tell how few patients a caseload subquery
    yields (it guesses thousands) and hashes it against a scan of the whole list; an
    ``ARRAY(...)`` is read once before the query and taken as a small set, so the list's
    rows are reached through the column's index: a counselor's lists cost the same
    whatever the size of the clinic.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(sa.func.array(ids.scalar_subquery()))
    return column.in_(ids)


def session_filter(user: Any, column: Any):
    """A WHERE clause limiting ``column`` (a session id column) to sessions ``user`` may record."""
    if sees_everyone(user):
        return None
    if role_of(user) is None:
        return sa.false()
    if column is GroupSession.id:
        # The sessions themselves: their own facilitator column, served by the
        # (facilitator, start) indexes, instead of a list of every session they ever ran.
        return GroupSession.facilitator_id == user.id
    return among(column, facilitated_session_ids(user.id))


def visible_patient_ids(user: Any, patient_ids: Iterable[int]) -> set[int]:
    """The ids among ``patient_ids`` that ``user`` may see (one statement for counselors)."""
    wanted = {int(pid) for pid in patient_ids}
    if not wanted:
        return set()
    clause = patient_filter(user, Patient.id)
    if clause is None:
        return wanted
    return set(db.session.scalars(sa.select(Patient.id).where(Patient.id.in_(wanted), clause)))


def may_see_patient(user: Any, patient_id: int) -> bool:
    """True when ``user`` may see the patient with ``patient_id``."""
    return int(patient_id) in visible_patient_ids(user, [patient_id])


def may_enter_measures(user: Any, patient_id: int) -> bool:
    """True when ``user`` may enter, sign or correct the patient's outcome measures."""
    return allowed("measures", role_of(user), "c") and may_see_patient(user, patient_id)


def may_record(user: Any, session: GroupSession) -> bool:
    """True when ``user`` may record the session: admins and planners, or its facilitator."""
    role = role_of(user)
    if role in OVERSEEING_ROLES:
        return True
    return role == "counselor" and session.facilitator_id == user.id


def may_sign(user: Any, session: GroupSession) -> bool:
    """True when ``user`` may sign the session's record: its facilitator, or an admin."""
    return may_sign_for(user, session.facilitator_id)


def may_sign_for(user: Any, facilitator_id: int | None) -> bool:
    """True when ``user`` may sign the records of sessions ``facilitator_id`` facilitates."""
    role = role_of(user)
    return role is not None and (role == "admin" or (facilitator_id is not None and facilitator_id == user.id))


__all__ = [
    "OVERSEEING_ROLES",
    "PERMISSIONS",
    "allowed",
    "among",
    "caseload_patient_ids",
    "enrolment_filter",
    "facilitated_group_ids",
    "facilitated_session_ids",
    "may_enter_measures",
    "may_record",
    "may_see_patient",
    "may_sign",
    "may_sign_for",
    "patient_filter",
    "rights",
    "role_of",
    "sees_everyone",
    "session_filter",
    "visible_patient_ids",
]
