"""Safety tasks: a PHQ-9 item 9 answer above 0 never sits unread.

Item 9 asks about "thoughts that you would be better off dead or of hurting yourself in some
way". Any answer above 0 opens a safety task in the same transaction as the save that
recorded it (a draft, a signed form or a correction by addendum), so the answer and its task
exist together or not at all. The task is for the patient's primary counselor and the admins:

- it is shown at the top of My day (a counselor: their caseload's; admins and planners:
  every open task), of the patient's page, and of the admins' home page;
- it closes only with a risk assessment: when it took place, the risk level, the action
  taken, and who assessed (a counselor of the patient's caseload or an admin). There is no
  other way to close it: the database refuses a closed task without its assessment.

A correction that raises item 9 above the answer of the patient's latest task for that
measure opens a new task (new information); one that lowers it closes nothing. Patient paper
never shows scores, tasks or assessments; the staff progress sheet lists the tasks of the
period (``period_tasks``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import Enrolment, MeasureAdministration, Patient, SafetyTask, StaffUser
from ..models._types import utcnow
from . import access
from .errors import RuleViolation
from .locking import StaleEdit, check_version
from .page_window import PageWindow

RISK_WORDS = {"low": "Low", "moderate": "Moderate", "high": "High", "imminent": "Imminent"}
ANSWER_WORDS = {1: "several days", 2: "more than half the days", 3: "nearly every day"}
ACTION_LIMIT = 4000
#: The answer's time is kept in UTC and the assessment's in clinic time: a day's grace between them.
_GRACE = timedelta(days=1)
NOT_YOURS = "Only a counselor of this patient's caseload or an admin records the risk assessment."
CLOSED = "This safety task was already closed by a risk assessment."


class AssessmentRefused(RuleViolation):
    """A risk assessment that cannot be recorded; ``errors`` name the fields."""

    def __init__(self, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.errors = errors or {}


# Opening ----------------------------------------------------------------------------------
def open_if_positive(administration: MeasureAdministration, item9: int | None, actor: StaffUser | None) -> SafetyTask | None:
    """Open a task when ``item9`` (the answer as now saved) is above 0; call before the commit.

    Nothing opens for a GAD-7, an item 9 of 0, or an answer no higher than the one that
    opened the latest task of this measure (that task already asks for an assessment).
    """
    if administration.instrument != "phq9" or not item9 or item9 <= 0:
        return None
    db.session.flush()
    latest = db.session.scalar(
        sa.select(sa.func.max(SafetyTask.item9_answer)).where(SafetyTask.administration_id == administration.id)
    )
    if latest is not None and item9 <= latest:
        return None
    counselor_id = db.session.scalar(
        sa.select(Enrolment.primary_counselor_id)
        .where(Enrolment.patient_id == administration.patient_id, Enrolment.end_date.is_(None))
        .order_by(Enrolment.start_date.desc()).limit(1)
    )
    task = SafetyTask(patient_id=administration.patient_id, administration_id=administration.id,
                      item9_answer=item9, opened_at=utcnow(), opened_by_id=actor.id if actor else None,
                      counselor_id=counselor_id, action_taken="")
    db.session.add(task)
    return task


# Closing ----------------------------------------------------------------------------------
def may_assess(user, patient_id: int) -> bool:
    """Counselors of the patient's caseload and admins record risk assessments."""
    role = access.role_of(user)
    if role == "admin":
        return True
    return role == "counselor" and access.may_see_patient(user, patient_id)


def record_assessment(task: SafetyTask, user: StaffUser, *, risk_level: str, action_taken: str,
                      assessed_on: date | None, assessed_time: time | None, expected_version,
                      now: datetime | None = None) -> SafetyTask:
    """Close ``task`` with the clinician's risk assessment; commit. Refused: nothing changes."""
    if not may_assess(user, task.patient_id):
        raise RuleViolation(NOT_YOURS)
    if task.closed_at is not None:
        raise RuleViolation(CLOSED)
    check_version(task, expected_version)
    now = now or datetime.now()
    errors = {}
    action_taken = (action_taken or "").strip()
    if risk_level not in RISK_WORDS:
        errors["risk_level"] = "Choose the risk level you assessed."
    if not action_taken:
        errors["action_taken"] = "Say what was done (for example: safety plan reviewed with the patient, crisis line given, psychiatrist informed)."
    elif len(action_taken) > ACTION_LIMIT:
        errors["action_taken"] = f"Keep it to {ACTION_LIMIT} characters or fewer."
    if assessed_on is None:
        errors["assessed_on"] = "Give the day of the assessment."
    assessed_at = None
    if assessed_on is not None:
        assessed_at = datetime.combine(assessed_on, assessed_time or time(0, 0))
        if assessed_at > now:
            errors["assessed_on"] = "The assessment cannot be in the future."
        elif assessed_on < task.opened_at.date() - _GRACE:
            errors["assessed_on"] = "The assessment cannot be before the answer it assesses."
    if errors:
        raise AssessmentRefused("Nothing was saved: correct the fields marked below.", errors)
    task.risk_level = risk_level
    task.action_taken = action_taken
    task.assessed_at = assessed_at
    task.assessed_by_id = user.id
    task.closed_at = utcnow()
    try:
        db.session.commit()
    except sa.orm.exc.StaleDataError:
        db.session.rollback()
        raise StaleEdit() from None
    return task


# Reading ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskLine:
    """A safety task as the pages and the staff sheet show it (the patient's name for staff only)."""

    id: int
    patient_id: int
    patient_name: str
    item9_answer: int
    administered_on: date
    opened_at: datetime
    counselor: str
    closed_at: datetime | None
    assessed_at: datetime | None
    assessed_by: str
    risk_level: str | None
    action_taken: str

    @property
    def open(self) -> bool:
        return self.closed_at is None

    @property
    def answer_words(self) -> str:
        return f"{self.item9_answer} ({ANSWER_WORDS.get(self.item9_answer, '')})"

    @property
    def risk_words(self) -> str:
        return RISK_WORDS.get(self.risk_level or "", "")


def _lines(where, limit: int | None = None, offset: int = 0) -> list[TaskLine]:
    counselor = aliased(StaffUser)
    assessor = aliased(StaffUser)
    query = sa.select(SafetyTask, Patient.first_name, Patient.last_name, MeasureAdministration.administered_on,
                      counselor.full_name.label("counselor_name"), assessor.full_name.label("assessor_name"))
    if limit is not None:
        # The page's tasks first (in order, from the open tasks' index when ``where`` asks for
        # the open ones), then their patients, answers and staff: the joins read the page's
        # rows, not every open task of the clinic.
        page = (sa.select(SafetyTask.id).where(where).order_by(SafetyTask.opened_at, SafetyTask.id)
                .limit(limit).offset(offset or None).subquery())
        query = query.join(page, page.c.id == SafetyTask.id)
    else:
        query = query.where(where)
    query = (
        query.join(Patient, Patient.id == SafetyTask.patient_id)
        .join(MeasureAdministration, MeasureAdministration.id == SafetyTask.administration_id)
        .outerjoin(counselor, counselor.id == SafetyTask.counselor_id)
        .outerjoin(assessor, assessor.id == SafetyTask.assessed_by_id)
        .order_by(SafetyTask.opened_at, SafetyTask.id)
    )
    return [
        TaskLine(id=t.id, patient_id=t.patient_id, patient_name=f"{first} {last}", item9_answer=t.item9_answer,
                 administered_on=on, opened_at=t.opened_at, counselor=cname or "", closed_at=t.closed_at,
                 assessed_at=t.assessed_at, assessed_by=aname or "", risk_level=t.risk_level,
                 action_taken=t.action_taken)
        for t, first, last, on, cname, aname in db.session.execute(query)
    ]


#: Open tasks listed at the top of a page; more than this and the page links to them all.
SHOWN = 20


def _open_for(user):
    where = SafetyTask.closed_at.is_(None)
    if not access.sees_everyone(user):
        where = sa.and_(where, sa.or_(SafetyTask.counselor_id == user.id,
                                      access.patient_filter(user, SafetyTask.patient_id)))
    return where


def open_tasks_for(user, limit: int | None = SHOWN + 1) -> list[TaskLine]:
    """The open tasks ``user`` must see, oldest first: admins and planners every one, a
    counselor those of their caseload (and those opened for them as primary counselor).
    At most ``limit`` (one more than a page shows, so it knows there are more)."""
    return _lines(_open_for(user), limit)


#: Open tasks a page of Records -> Safety tasks lists.
PAGE_SIZE = 25


def open_tasks_page(user, page=1, size: int = PAGE_SIZE) -> tuple[PageWindow, list[TaskLine]]:
    """One page of the open tasks ``user`` must see, oldest first, and where it lies among them.

    Two statements whatever the number of open tasks (a large clinic has hundreds at once):
    the count through the open tasks' index, up to ``PAGES_AHEAD`` pages past this one
    ("1–25 of more than 275"), then the page's lines.
    """
    where = _open_for(user)
    ahead = PageWindow.look_ahead(page, size)
    counted = sa.select(SafetyTask.id).where(where).limit(ahead + 1).subquery()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(counted)) or 0
    window = PageWindow.of(page, min(total, ahead), size, more=total > ahead)
    lines = _lines(where, size, offset=window.offset) if total else []
    return window, lines


def tasks_of_patient(patient_id: int) -> list[TaskLine]:
    """Every task of one patient, open and closed, oldest first (for their page)."""
    return _lines(SafetyTask.patient_id == patient_id)


def period_tasks(patient_ids: list[int], start: date, end: date) -> dict[int, list[TaskLine]]:
    """The tasks of the period per patient: opened in it, closed in it, or open during it."""
    if not patient_ids:
        return {}
    first = datetime.combine(start, time.min)
    after = datetime.combine(end, time.max)
    where = sa.and_(
        SafetyTask.patient_id.in_(patient_ids),
        SafetyTask.opened_at <= after,
        sa.or_(SafetyTask.closed_at.is_(None), SafetyTask.closed_at >= first),
    )
    found: dict[int, list[TaskLine]] = {}
    for line in _lines(where):
        found.setdefault(line.patient_id, []).append(line)
    return found


def task_or_none(user, task_id: int) -> SafetyTask | None:
    """The task if ``user`` may see its patient; None otherwise (the page answers 404 either way)."""
    task = db.session.get(SafetyTask, task_id)
    if task is None or not access.may_see_patient(user, task.patient_id):
        return None
    return task


__all__ = [
    "ACTION_LIMIT", "AssessmentRefused", "PAGE_SIZE", "RISK_WORDS", "SHOWN", "TaskLine", "may_assess",
    "open_if_positive", "open_tasks_for", "open_tasks_page",
    "period_tasks", "record_assessment", "task_or_none", "tasks_of_patient",
]
