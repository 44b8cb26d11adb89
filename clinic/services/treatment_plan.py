"""The treatment plan: the one home of its rules.

A plan belongs to an enrolment (a stay in one track): problems, measurable goals with a
target date under them (or straight under the plan), and objectives (small steps) under each
goal. Payers do not pay for "diversionary" activity, so every kindness exercise assigned from
now on names the goal it serves:

- **The goal of an assignment** (``goals_for_assignments``): while the enrolment covering the
  start date has an *active* goal, the patient "has a plan" and a single-patient assignment
  must name one of those active goals. Without an active goal the goal stays empty (the plan
  is not written yet; the patient page says which exercises serve no goal). A fan-out (a
  group's roster, a whole track, a selection, the starter plan at enrolment) cannot ask for
  each patient's goal, so it uses the **track's default goal** (``Track.default_goal``): the
  goal made from it in the patient's plan, or a new one (target date
  ``DEFAULT_GOAL_TARGET_DAYS`` after the start). A track without a default goal refuses the
  patients who have a plan ("assign individually to choose the goal") and leaves the others
  without one.
- **Reviews** (``schedule``): the plan is reviewed every ``CLINIC_PLAN_REVIEW_DAYS`` (30 by
  default) counted from the latest review of any kind, or from the enrolment's first day. A
  track with a recertification schedule (``recert_first_days``, ``recert_every_days``; IOP
  60/60, PHP 18/30) needs a certification on the enrolment's first day and a recertification
  ``recert_first_days`` after it, then every ``recert_every_days`` after the latest one. A
  date is *overdue* once past, *due* from ``DUE_SOON_DAYS`` before.
- Counselors of the patient's caseload and admins change the plan; planners read it
  (``may_edit``). Every change carries the version the page showed; every row is audited by
  the audit listener. Messages never name the patient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app, has_app_context

from ..extensions import db
from ..models import (
    GOAL_STATUSES,
    OBJECTIVE_STATUSES,
    PROBLEM_STATUSES,
    REVIEW_KINDS,
    Assignment,
    Enrolment,
    KindnessExercise,
    Patient,
    PlanGoal,
    PlanObjective,
    PlanProblem,
    PlanReview,
    StaffUser,
    Track,
)
from ..models.plans import PLAN_TEXT_LIMIT, REVIEW_NOTE_LIMIT
from . import access
from .errors import RuleViolation
from .limits import FieldViolation
from .locking import check_version, flush_unless_stale
from .membership import covers

#: Plan reviews every this many days unless CLINIC_PLAN_REVIEW_DAYS says otherwise.
DEFAULT_REVIEW_DAYS = 30
#: A review date is "due" from this many days before it.
DUE_SOON_DAYS = 7
#: A goal made from the track's default goal by a fan-out is to be met this long after the start.
DEFAULT_GOAL_TARGET_DAYS = 90
#: Plans listed on My day before "and N more".
SHOWN_ON_DAY = 10

NOT_YOURS = "Only a counselor of this patient's caseload or an admin changes the treatment plan."
NO_ENROLMENT = "The patient has no enrolment, so there is no treatment plan to change: enrol them first."
CLOSED_ENROLMENT = "This enrolment has ended: its treatment plan is kept as it was and no longer changes."
CLOSED_GOAL = "This goal is closed (met or discontinued): it no longer changes."
KIND_WORDS = {"review": "Plan review", "certification": "Certification", "recertification": "Recertification"}
STATUS_WORDS = {"active": "active", "met": "met", "discontinued": "discontinued", "resolved": "resolved"}


class PlanRefused(FieldViolation):
    """A plan change refused at one field (``field``); nothing was saved."""


# Settings and access ----------------------------------------------------------------------
def review_days() -> int:
    """CLINIC_PLAN_REVIEW_DAYS (30 by default)."""
    if has_app_context():
        return int(current_app.config.get("CLINIC_PLAN_REVIEW_DAYS", DEFAULT_REVIEW_DAYS))
    return DEFAULT_REVIEW_DAYS


def may_edit(user, patient_id: int) -> bool:
    """Counselors of the patient's caseload and admins change the plan (planners read it)."""
    return access.allowed("plan", access.role_of(user), "e") and access.may_see_patient(user, patient_id)


def _require_editor(user, patient_id: int) -> None:
    if not may_edit(user, patient_id):
        raise RuleViolation(NOT_YOURS)


def plan_enrolment(patient_id: int) -> Enrolment | None:
    """The enrolment whose plan the patient's page shows: the open one, else the latest."""
    return db.session.scalar(
        sa.select(Enrolment).where(Enrolment.patient_id == patient_id)
        .order_by(Enrolment.end_date.is_(None).desc(), Enrolment.start_date.desc(), Enrolment.id.desc()).limit(1)
    )


def _open(enrolment: Enrolment, today: date) -> None:
    if enrolment.end_date is not None and enrolment.end_date < today:
        raise RuleViolation(CLOSED_ENROLMENT)


def _text(value, field: str, label: str, limit: int = PLAN_TEXT_LIMIT, required: bool = True) -> str:
    value = "" if value is None else str(value).strip()
    if "\x00" in value:
        raise PlanRefused(field, f"The {label} holds a character that cannot be stored.")
    if required and not value:
        raise PlanRefused(field, f"Give the {label}.")
    if len(value) > limit:
        raise PlanRefused(field, f"Keep the {label} to {limit} characters or fewer.")
    return value


def _target(value, field: str, enrolment: Enrolment, *, required: bool, not_after: date | None = None,
            label: str = "target date") -> date | None:
    if value is None or value == "":
        if required:
            raise PlanRefused(field, f"Give the {label}: when should it be met?")
        return None
    if not isinstance(value, date):
        raise PlanRefused(field, f"The {label} is a date.")
    if value < enrolment.start_date:
        raise PlanRefused(field, f"The {label} cannot be before the enrolment began "
                                 f"({enrolment.start_date.isoformat()}).")
    if enrolment.end_date is not None and value > enrolment.end_date + timedelta(days=366):
        raise PlanRefused(field, f"The {label} is more than a year after the enrolment ended.")
    if not_after is not None and value > not_after:
        raise PlanRefused(field, f"The {label} cannot be after the goal's target date ({not_after.isoformat()}).")
    return value


def _status(value, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise PlanRefused(field, f"The status must be one of: {', '.join(allowed)}.")
    return value


def _save() -> None:
    flush_unless_stale()


# Problems ---------------------------------------------------------------------------------
def add_problem(user: StaffUser, enrolment: Enrolment, text: str, *, today: date | None = None) -> PlanProblem:
    """Add a problem to the enrolment's plan; flushed, the caller commits."""
    _require_editor(user, enrolment.patient_id)
    _open(enrolment, today or date.today())
    problem = PlanProblem(enrolment_id=enrolment.id, text=_text(text, "text", "problem"), status="active",
                          created_by_id=user.id)
    db.session.add(problem)
    _save()
    return problem


def edit_problem(user: StaffUser, problem: PlanProblem, *, text: str, status: str, version,
                 today: date | None = None) -> PlanProblem:
    """Change a problem's words or mark it resolved (or active again)."""
    _require_editor(user, problem.enrolment.patient_id)
    _open(problem.enrolment, today or date.today())
    check_version(problem, version)
    problem.text = _text(text, "text", "problem")
    problem.status = _status(status, "status", PROBLEM_STATUSES)
    _save()
    return problem


# Goals ------------------------------------------------------------------------------------
def _problem_of(enrolment: Enrolment, problem_id) -> int | None:
    if problem_id in (None, ""):
        return None
    try:
        problem_id = int(problem_id)
    except (TypeError, ValueError):
        raise PlanRefused("problem_id", "Choose a problem of this plan.") from None
    found = db.session.scalar(sa.select(PlanProblem.id).where(PlanProblem.id == problem_id,
                                                              PlanProblem.enrolment_id == enrolment.id))
    if found is None:
        raise PlanRefused("problem_id", "Choose a problem of this plan.")
    return found


def add_goal(user: StaffUser, enrolment: Enrolment, *, statement: str, target_date: date | None,
             problem_id=None, today: date | None = None) -> PlanGoal:
    """Add a measurable goal with its target date (not before the enrolment began)."""
    _require_editor(user, enrolment.patient_id)
    _open(enrolment, today or date.today())
    goal = PlanGoal(
        enrolment_id=enrolment.id, patient_id=enrolment.patient_id,
        problem_id=_problem_of(enrolment, problem_id),
        statement=_text(statement, "statement", "goal (what will be seen when it is met)"),
        target_date=_target(target_date, "target_date", enrolment, required=True),
        status="active", status_reason="", from_track_default=False, created_by_id=user.id,
    )
    db.session.add(goal)
    _save()
    return goal


def edit_goal(user: StaffUser, goal: PlanGoal, *, statement: str, target_date: date | None, problem_id,
              status: str, status_reason: str, version, today: date | None = None) -> PlanGoal:
    """Change an active goal, or close it as met or discontinued (a reason for discontinuing).

    A closed goal is final; the exercises serving it keep naming it (history).
    """
    enrolment = goal.enrolment
    _require_editor(user, goal.patient_id)
    _open(enrolment, today or date.today())
    check_version(goal, version)
    if goal.status != "active":
        raise RuleViolation(CLOSED_GOAL)
    status = _status(status, "status", GOAL_STATUSES)
    reason = _text(status_reason, "status_reason", "reason", 255, required=(status == "discontinued"))
    if status == "active" and reason:
        raise PlanRefused("status_reason", "An active goal has no reason; give one only when closing it.")
    goal.statement = _text(statement, "statement", "goal (what will be seen when it is met)")
    goal.target_date = _target(target_date, "target_date", enrolment, required=True)
    goal.problem_id = _problem_of(enrolment, problem_id)
    goal.status = status
    goal.status_reason = reason
    _save()
    return goal


# Objectives -------------------------------------------------------------------------------
def add_objective(user: StaffUser, goal: PlanGoal, *, text: str, target_date: date | None,
                  today: date | None = None) -> PlanObjective:
    """Add an objective to an active goal (its target date, if any, not after the goal's)."""
    _require_editor(user, goal.patient_id)
    _open(goal.enrolment, today or date.today())
    if goal.status != "active":
        raise RuleViolation(CLOSED_GOAL)
    objective = PlanObjective(goal_id=goal.id, text=_text(text, "text", "objective"),
                              target_date=_target(target_date, "target_date", goal.enrolment, required=False,
                                                  not_after=goal.target_date),
                              status="active", created_by_id=user.id)
    db.session.add(objective)
    _save()
    return objective


def edit_objective(user: StaffUser, objective: PlanObjective, *, text: str, target_date: date | None,
                   status: str, version, today: date | None = None) -> PlanObjective:
    """Change an objective's words, target date or status (met, discontinued, active)."""
    goal = objective.goal
    _require_editor(user, goal.patient_id)
    _open(goal.enrolment, today or date.today())
    check_version(objective, version)
    objective.text = _text(text, "text", "objective")
    objective.target_date = _target(target_date, "target_date", goal.enrolment, required=False,
                                    not_after=goal.target_date)
    objective.status = _status(status, "status", OBJECTIVE_STATUSES)
    _save()
    return objective


# Reviews and the schedule -----------------------------------------------------------------
def record_review(user: StaffUser, enrolment: Enrolment, *, kind: str, reviewed_on: date | None, note: str,
                  today: date | None = None) -> PlanReview:
    """Record a plan review, certification or recertification on a day (not in the future)."""
    today = today or date.today()
    _require_editor(user, enrolment.patient_id)
    if kind not in REVIEW_KINDS:
        raise PlanRefused("kind", "Choose what took place: a plan review, a certification or a recertification.")
    if kind != "review" and enrolment.track.recert_every_days is None:
        raise PlanRefused("kind", "This track is not certified: record a plan review.")
    if not isinstance(reviewed_on, date):
        raise PlanRefused("reviewed_on", "Give the day it took place.")
    if reviewed_on > today:
        raise PlanRefused("reviewed_on", "The day cannot be in the future.")
    if reviewed_on < enrolment.start_date:
        raise PlanRefused("reviewed_on", f"The day cannot be before the enrolment began "
                                         f"({enrolment.start_date.isoformat()}).")
    if enrolment.end_date is not None and reviewed_on > enrolment.end_date:
        raise PlanRefused("reviewed_on", f"The day cannot be after the enrolment ended "
                                         f"({enrolment.end_date.isoformat()}).")
    review = PlanReview(enrolment_id=enrolment.id, kind=kind, reviewed_on=reviewed_on, reviewer_id=user.id,
                        note=_text(note, "note", "note", REVIEW_NOTE_LIMIT, required=False))
    db.session.add(review)
    _save()
    return review


@dataclass(frozen=True)
class DueDate:
    """One date of the schedule: what, when, and whether it is due or overdue on ``today``."""

    kind: str  # review, certification, recertification
    on: date
    state: str  # overdue, due, upcoming

    @property
    def words(self) -> str:
        label = KIND_WORDS[self.kind].lower() if self.kind != "review" else "plan review"
        if self.state == "overdue":
            return f"{label} overdue since {self.on.strftime('%d %b %Y')}"
        return f"{label} due on {self.on.strftime('%d %b %Y')}"


def _state(on: date, today: date) -> str:
    if on < today:
        return "overdue"
    if on <= today + timedelta(days=DUE_SOON_DAYS):
        return "due"
    return "upcoming"


def schedule(start: date, end: date | None, first_days: int | None, every_days: int | None,
             last_review: date | None, last_recert: date | None, certified: bool, today: date,
             days: int | None = None) -> list[DueDate]:
    """The next plan review and (on a certified track) certification and recertification.

    ``last_review`` is the latest review of any kind. Nothing is due for an enrolment that
    has ended.
    """
    if end is not None and end < today:
        return []
    days = days or review_days()
    found = [DueDate("review", (last_review or start) + timedelta(days=days), "")]
    if every_days is not None and first_days is not None:
        if not certified:
            found.append(DueDate("certification", start, ""))
        recert = last_recert + timedelta(days=every_days) if last_recert else start + timedelta(days=first_days)
        found.append(DueDate("recertification", recert, ""))
    return sorted((DueDate(d.kind, d.on, _state(d.on, today)) for d in found), key=lambda d: d.on)


def _review_columns(enrolment_id_column):
    """Correlated SQL: latest review, latest recertification, and whether a certification exists."""
    last_review = (sa.select(sa.func.max(PlanReview.reviewed_on))
                   .where(PlanReview.enrolment_id == enrolment_id_column).scalar_subquery())
    last_recert = (sa.select(sa.func.max(PlanReview.reviewed_on))
                   .where(PlanReview.enrolment_id == enrolment_id_column, PlanReview.kind == "recertification")
                   .scalar_subquery())
    certified = sa.exists().where(PlanReview.enrolment_id == enrolment_id_column,
                                  PlanReview.kind == "certification")
    return last_review, last_recert, certified


@dataclass(frozen=True)
class DuePlan:
    """A plan on My day: whose, which track, and what is due."""

    patient_id: int
    patient_name: str
    track: str
    due: list[DueDate]


def due_plans(user, today: date, limit: int = SHOWN_ON_DAY, *,
              counselor_id: int | None = None) -> tuple[list[DuePlan], int]:
    """Open plans with something due within ``DUE_SOON_DAYS`` or overdue, and how many in all.

    A counselor: the enrolments naming them as primary counselor; admins and planners: every
    one, or with ``counselor_id`` that counselor's (My day shows the day's counselor's
    caseload: a whole large clinic's plans are not a day's list). Two statements whatever the number of plans (the tracks, then the plans with the
    total counted by a window function); the oldest review first.
    """
    if access.role_of(user) is None:
        return [], 0
    tracks = db.session.execute(sa.select(Track.id, Track.recert_first_days, Track.recert_every_days)).all()
    soon = today + timedelta(days=DUE_SOON_DAYS)
    last_review, last_recert, certified = _review_columns(Enrolment.id)
    conditions = [sa.func.coalesce(last_review, Enrolment.start_date) <= soon - timedelta(days=review_days())]
    for track_id, first, every in tracks:
        if first is None or every is None:
            continue
        conditions.append(sa.and_(Enrolment.track_id == track_id, sa.or_(
            sa.and_(~certified, Enrolment.start_date <= soon),
            sa.and_(last_recert.is_(None), Enrolment.start_date <= soon - timedelta(days=first)),
            last_recert <= soon - timedelta(days=every),
        )))
    where = [sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= today), sa.or_(*conditions)]
    if not access.sees_everyone(user):
        where.append(Enrolment.primary_counselor_id == user.id)
    elif counselor_id is not None:
        where.append(Enrolment.primary_counselor_id == counselor_id)
    rows = db.session.execute(
        sa.select(Enrolment.patient_id, Patient.first_name, Patient.last_name, Track.name, Enrolment.start_date,
                  Enrolment.end_date, Track.recert_first_days, Track.recert_every_days,
                  last_review.label("last_review"), last_recert.label("last_recert"), certified.label("certified"),
                  sa.func.count().over().label("total"))
        .join(Patient, Patient.id == Enrolment.patient_id).join(Track, Track.id == Enrolment.track_id)
        .where(*where)
        .order_by(sa.func.coalesce(last_review, Enrolment.start_date), Patient.last_name, Patient.id)
        .limit(limit)
    ).all()
    total = rows[0].total if rows else 0
    plans = []
    for r in rows:
        due = [d for d in schedule(r.start_date, r.end_date, r.recert_first_days, r.recert_every_days,
                                   r.last_review, r.last_recert, bool(r.certified), today) if d.state != "upcoming"]
        plans.append(DuePlan(r.patient_id, f"{r.first_name} {r.last_name}", r.name, due))
    return plans, total


# The plan as pages and sheets show it -----------------------------------------------------
@dataclass
class ExerciseLine:
    """An exercise serving a goal."""

    assignment_id: int
    title: str
    status: str
    times_per_week: int
    #: The exercise assigned (a patient's sheet words its title in the patient's language).
    exercise_id: int | None = None


@dataclass
class ObjectiveLine:
    id: int
    text: str
    target_date: date | None
    status: str
    version: int


@dataclass
class GoalLine:
    id: int
    statement: str
    target_date: date
    status: str
    status_reason: str
    problem_id: int | None
    version: int
    from_track_default: bool
    objectives: list[ObjectiveLine] = field(default_factory=list)
    exercises: list[ExerciseLine] = field(default_factory=list)
    #: The goal's enrolment's track and that track's current English default goal: a goal
    #: made from the default prints translated while it still reads the same
    #: (``services.track_texts.goal_text``).
    track_id: int | None = None
    track_default_goal: str = ""

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass
class ProblemLine:
    id: int
    text: str
    status: str
    version: int
    goals: list[GoalLine] = field(default_factory=list)


@dataclass
class ReviewLine:
    kind: str
    reviewed_on: date
    reviewer: str
    note: str

    @property
    def kind_words(self) -> str:
        return KIND_WORDS[self.kind]


@dataclass
class PlanView:
    """One enrolment's plan: problems → goals → objectives and the exercises serving each goal."""

    enrolment_id: int | None = None
    track: str = ""
    start: date | None = None
    end: date | None = None
    certified_track: bool = False
    problems: list[ProblemLine] = field(default_factory=list)
    #: Goals not under a problem.
    goals: list[GoalLine] = field(default_factory=list)
    due: list[DueDate] = field(default_factory=list)
    reviews: list[ReviewLine] = field(default_factory=list)
    #: Active or paused exercises that serve no goal (made before the plan, or without one).
    unserved: list[ExerciseLine] = field(default_factory=list)
    open: bool = False

    @property
    def all_goals(self) -> list[GoalLine]:
        return [g for p in self.problems for g in p.goals] + self.goals

    @property
    def active_goals(self) -> list[GoalLine]:
        return [g for g in self.all_goals if g.active]


def _goal_lines(where) -> list[tuple[PlanGoal, GoalLine]]:
    """(goal row, goal line) with objectives and exercises: always three statements."""
    found = db.session.execute(
        sa.select(PlanGoal, Track.id, Track.default_goal)
        .join(Enrolment, Enrolment.id == PlanGoal.enrolment_id)
        .join(Track, Track.id == Enrolment.track_id)
        .where(where)
        .order_by(PlanGoal.status != "active", PlanGoal.target_date, PlanGoal.id)).all()
    goals = [g for g, _track_id, _default in found]
    lines = {g.id: GoalLine(g.id, g.statement, g.target_date, g.status, g.status_reason, g.problem_id, g.version,
                            g.from_track_default, track_id=track_id, track_default_goal=default or "")
             for g, track_id, default in found}
    chosen = sa.select(PlanGoal.id).where(where)
    for o in db.session.scalars(sa.select(PlanObjective).where(PlanObjective.goal_id.in_(chosen))
                                .order_by(PlanObjective.target_date.is_(None), PlanObjective.target_date,
                                          PlanObjective.id)):
        if o.goal_id in lines:
            lines[o.goal_id].objectives.append(ObjectiveLine(o.id, o.text, o.target_date, o.status, o.version))
    for aid, gid, title, status, times, exercise_id in db.session.execute(
            sa.select(Assignment.id, Assignment.goal_id, KindnessExercise.title, Assignment.status,
                      Assignment.times_per_week, Assignment.exercise_id)
            .join(KindnessExercise, KindnessExercise.id == Assignment.exercise_id)
            .where(Assignment.goal_id.in_(chosen))
            .order_by(Assignment.status, KindnessExercise.title, Assignment.id)):
        if gid in lines:
            lines[gid].exercises.append(ExerciseLine(aid, title, status, times, exercise_id))
    return [(g, lines[g.id]) for g in goals]


def plan_of(patient_id: int, today: date | None = None) -> PlanView:
    """The plan the patient's page and the plan page show (a fixed number of statements)."""
    today = today or date.today()
    enrolment = db.session.execute(
        sa.select(Enrolment, Track).join(Track, Track.id == Enrolment.track_id)
        .where(Enrolment.patient_id == patient_id)
        .order_by(Enrolment.end_date.is_(None).desc(), Enrolment.start_date.desc(), Enrolment.id.desc()).limit(1)
    ).first()
    if enrolment is None:
        return PlanView()
    enrolment, track = enrolment
    view = PlanView(enrolment_id=enrolment.id, track=track.name, start=enrolment.start_date, end=enrolment.end_date,
                    certified_track=track.recert_every_days is not None,
                    open=enrolment.end_date is None or enrolment.end_date >= today)
    problems = {p.id: ProblemLine(p.id, p.text, p.status, p.version) for p in db.session.scalars(
        sa.select(PlanProblem).where(PlanProblem.enrolment_id == enrolment.id)
        .order_by(PlanProblem.status, PlanProblem.id))}
    view.problems = list(problems.values())
    for _row, goal in _goal_lines(PlanGoal.enrolment_id == enrolment.id):
        (problems[goal.problem_id].goals if goal.problem_id in problems else view.goals).append(goal)
    reviews = db.session.execute(
        sa.select(PlanReview, StaffUser.full_name).outerjoin(StaffUser, StaffUser.id == PlanReview.reviewer_id)
        .where(PlanReview.enrolment_id == enrolment.id).order_by(PlanReview.reviewed_on.desc(), PlanReview.id.desc())
    ).all()
    view.reviews = [ReviewLine(r.kind, r.reviewed_on, name or "", r.note) for r, name in reviews]
    last_review = max((r.reviewed_on for r in view.reviews), default=None)
    last_recert = max((r.reviewed_on for r in view.reviews if r.kind == "recertification"), default=None)
    certified = any(r.kind == "certification" for r in view.reviews)
    view.due = schedule(enrolment.start_date, enrolment.end_date, track.recert_first_days, track.recert_every_days,
                        last_review, last_recert, certified, today)
    view.unserved = [ExerciseLine(aid, title, status, times) for aid, title, status, times in db.session.execute(
        sa.select(Assignment.id, KindnessExercise.title, Assignment.status, Assignment.times_per_week)
        .join(KindnessExercise, KindnessExercise.id == Assignment.exercise_id)
        .where(Assignment.patient_id == patient_id, Assignment.goal_id.is_(None),
               Assignment.status.in_(("active", "paused")))
        .order_by(KindnessExercise.title))]
    return view


def period_goals(patient_ids: list[int], start: date, end: date) -> dict[int, list[GoalLine]]:
    """The goals of the patients' plans in force during the period (the progress sheets).

    A goal counts when its enrolment overlaps the period; three statements for any number of
    patients and goals.
    """
    if not patient_ids:
        return {}
    overlapping = sa.select(Enrolment.id).where(
        Enrolment.patient_id.in_(patient_ids), Enrolment.start_date <= end,
        sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= start))
    found: dict[int, list[GoalLine]] = {}
    for row, goal in _goal_lines(sa.and_(PlanGoal.patient_id.in_(patient_ids),
                                         PlanGoal.enrolment_id.in_(overlapping))):
        found.setdefault(row.patient_id, []).append(goal)
    return found


def goal_choices(patient_id: int, on: date) -> list[tuple[int, str]]:
    """The active goals of the enrolment covering ``on`` (the single-patient assign form's select)."""
    rows = db.session.execute(
        sa.select(PlanGoal.id, PlanGoal.statement, PlanGoal.target_date)
        .join(Enrolment, Enrolment.id == PlanGoal.enrolment_id)
        .where(PlanGoal.patient_id == patient_id, PlanGoal.status == "active", covers(Enrolment, on))
        .order_by(PlanGoal.target_date, PlanGoal.id)
    ).all()
    return [(gid, f"{statement} (by {target.strftime('%d %b %Y')})") for gid, statement, target in rows]


# The goal of an assignment ----------------------------------------------------------------
NEEDS_GOAL = ("The patient has a treatment plan: choose the goal this exercise serves "
              "(each exercise must serve a goal of the plan).")
NOT_A_GOAL = "Choose one of the patient's active goals (of the enrolment on the start date)."
NO_DEFAULT = "has a treatment plan and the track has no default goal: assign individually to choose the goal"


def _enrolments_on(patient_ids: list[int], start: date) -> dict[int, tuple[int, int]]:
    """Patient id -> (enrolment id, track id) covering ``start`` (the later on a change-over day)."""
    rows = db.session.execute(
        sa.select(Enrolment.patient_id, Enrolment.id, Enrolment.track_id)
        .where(Enrolment.patient_id.in_(patient_ids), covers(Enrolment, start))
        .order_by(Enrolment.start_date, Enrolment.id))
    return {pid: (eid, tid) for pid, eid, tid in rows}


def carry_forward(old: Enrolment, new: Enrolment, actor_id: int | None = None) -> int:
    """On a step-down or step-up, the plan goes on in the new track: the old enrolment's active
    goals (with their problems and active objectives) are copied into the new enrolment's plan,
    target dates that have passed moved to the move's day, and the exercises still running
    (active or paused) that served an old goal now serve its copy. The old plan stays as it
    was, as history. Returns the number of goals carried. A fixed number of statements.
    """
    goals = db.session.scalars(
        sa.select(PlanGoal).where(PlanGoal.enrolment_id == old.id, PlanGoal.status == "active")
        .order_by(PlanGoal.id)
    ).all()
    if not goals:
        return 0
    problems = {p.id: p for p in db.session.scalars(
        sa.select(PlanProblem).where(PlanProblem.id.in_({g.problem_id for g in goals if g.problem_id}))
    )}
    objectives = db.session.scalars(
        sa.select(PlanObjective).where(PlanObjective.goal_id.in_([g.id for g in goals]),
                                       PlanObjective.status == "active").order_by(PlanObjective.id)
    ).all()
    start = new.start_date
    problem_copies = {pid: PlanProblem(enrolment_id=new.id, text=p.text, status=p.status, created_by_id=actor_id)
                      for pid, p in problems.items()}
    db.session.add_all(problem_copies.values())
    db.session.flush()
    goal_copies = {}
    for g in goals:
        goal_copies[g.id] = PlanGoal(
            enrolment_id=new.id, patient_id=new.patient_id,
            problem_id=problem_copies[g.problem_id].id if g.problem_id in problem_copies else None,
            statement=g.statement, target_date=max(g.target_date, start), status="active", status_reason="",
            from_track_default=g.from_track_default, created_by_id=actor_id)
    db.session.add_all(goal_copies.values())
    db.session.flush()
    db.session.add_all(PlanObjective(
        goal_id=goal_copies[o.goal_id].id, text=o.text,
        target_date=max(o.target_date, start) if o.target_date else None, status="active",
        created_by_id=actor_id) for o in objectives)
    for assignment in db.session.scalars(
        sa.select(Assignment).where(Assignment.patient_id == new.patient_id,
                                    Assignment.goal_id.in_(list(goal_copies)),
                                    Assignment.status.in_(("active", "paused")))
    ):
        assignment.goal_id = goal_copies[assignment.goal_id].id
    db.session.flush()
    return len(goal_copies)


def goals_for_assignments(patient_ids: list[int], start: date, *, goal_id=None, fan_out: bool,
                          actor_id: int | None = None) -> tuple[dict[int, int | None], dict[int, str]]:
    """The goal each new assignment serves, and the patients refused (with the reason).

    Single patient (``fan_out`` False): ``goal_id`` must be an active goal of the enrolment
    covering ``start``; it may be empty only while that enrolment has no active goal.
    Refused with ``FieldViolation('goal', …)``. Fan-out: each patient's goal made from their
    track's default goal (created in their plan when missing); without a default goal, a
    patient with active goals is refused. A fixed number of statements for any number of
    patients.
    """
    if not patient_ids:
        return {}, {}
    enrolments = _enrolments_on(patient_ids, start)
    enrolment_ids = [eid for eid, _tid in enrolments.values()]
    active = db.session.execute(
        sa.select(PlanGoal.id, PlanGoal.enrolment_id, PlanGoal.statement, PlanGoal.from_track_default)
        .where(PlanGoal.enrolment_id.in_(enrolment_ids), PlanGoal.status == "active")
    ).all() if enrolment_ids else []
    has_plan = {enrolment_id for _gid, enrolment_id, _s, _d in active}
    if not fan_out:
        [patient_id] = patient_ids
        chosen = None
        if goal_id not in (None, ""):
            try:
                chosen = int(goal_id)
            except (TypeError, ValueError):
                raise FieldViolation("goal", NOT_A_GOAL) from None
        enrolment_id = enrolments.get(patient_id, (None, None))[0]
        if chosen is None:
            if enrolment_id in has_plan:
                raise FieldViolation("goal", NEEDS_GOAL)
            return {patient_id: None}, {}
        if not any(gid == chosen and eid == enrolment_id for gid, eid, _s, _d in active):
            raise FieldViolation("goal", NOT_A_GOAL)
        return {patient_id: chosen}, {}
    if goal_id not in (None, ""):
        raise RuleViolation("A goal is chosen for one patient at a time: a fan-out uses the track's default goal.")
    defaults = dict(db.session.execute(sa.select(Track.id, Track.default_goal)).all())
    goals: dict[int, int | None] = {}
    refused: dict[int, str] = {}
    existing = {(eid, statement): gid for gid, eid, statement, from_default in active if from_default}
    to_make: list[tuple[int, PlanGoal]] = []
    made: dict[int, PlanGoal] = {}
    for patient_id in patient_ids:
        if patient_id not in enrolments:
            goals[patient_id] = None  # not enrolled: the fan-out refuses them itself
            continue
        enrolment_id, track_id = enrolments[patient_id]
        default = (defaults.get(track_id) or "").strip()
        if not default:
            if enrolment_id in has_plan:
                refused[patient_id] = NO_DEFAULT
            else:
                goals[patient_id] = None
            continue
        if (enrolment_id, default) in existing:
            goals[patient_id] = existing[(enrolment_id, default)]
            continue
        if enrolment_id not in made:
            made[enrolment_id] = PlanGoal(
                enrolment_id=enrolment_id, patient_id=patient_id, statement=default[:PLAN_TEXT_LIMIT],
                target_date=start + timedelta(days=DEFAULT_GOAL_TARGET_DAYS), status="active",
                status_reason="", from_track_default=True, created_by_id=actor_id)
        to_make.append((patient_id, made[enrolment_id]))
    if made:
        db.session.add_all(made.values())
        db.session.flush()
        for patient_id, goal in to_make:
            goals[patient_id] = goal.id
    return goals, refused


__all__ = [
    "DEFAULT_GOAL_TARGET_DAYS", "DUE_SOON_DAYS", "DueDate", "DuePlan", "GoalLine", "PlanRefused", "PlanView",
    "SHOWN_ON_DAY", "add_goal", "add_objective", "add_problem", "due_plans", "edit_goal", "edit_objective",
    "edit_problem", "goal_choices", "goals_for_assignments", "may_edit", "period_goals", "plan_enrolment",
    "plan_of", "record_review", "review_days", "schedule",
]
