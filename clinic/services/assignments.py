"""Assigning kindness exercises to patients, and changing an assignment's status.

One call assigns one exercise to one patient, a selection, a group's roster or a whole
track. The fan-out is one transaction and its result is exact: every patient asked for
ends up assigned, already holding the exercise, or refused with a reason. Nobody is
skipped silently. The audit listener writes one event per assignment created; a whole
track is assigned set-based (``assign_to_track``: ``INSERT … SELECT`` from its
enrolments), its events written by ``audit.record_created_from``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import (
    ASSIGNMENT_SOURCES,
    Assignment,
    CareGroup,
    Enrolment,
    KindnessExercise,
    Patient,
    PlanGoal,
    StaffUser,
    Track,
)
from ..models._types import utcnow
from . import audit
from .errors import RuleViolation
from .limits import FieldViolation, day, required_row, text, whole
from .locking import UNCHECKED, check_version, check_version_unless_unchecked
from .membership import covers, roster
from .treatment_plan import DEFAULT_GOAL_TARGET_DAYS, NO_DEFAULT, PLAN_TEXT_LIMIT

#: How many of the patients assigned a result page names; the rest are counted.
SHOWN_ASSIGNED = 25
#: Fewest and most times per week an exercise can be assigned.
MIN_TIMES_PER_WEEK = 1
MAX_TIMES_PER_WEEK = 14
#: Statuses from which no change is possible.
FINAL_STATUSES = ("completed", "stopped")
#: Statuses that need a reason.
NEEDS_REASON = {"paused": "pausing", "stopped": "stopping"}
#: What each target status is called when staff ask for it.
STATUS_VERBS = {"active": "resume", "paused": "pause", "completed": "complete", "stopped": "stop"}

RACE_MESSAGE = (
    "Someone else assigned this exercise to some of these patients at the same moment. "
    "Nothing was saved: please try again."
)


def _patients(count: int) -> str:
    return f"{count} patient" if count == 1 else f"{count} patients"


@dataclass
class FanOutResult:
    """The exact outcome of assigning one exercise to several patients."""

    #: Assignments created, in the order the patients were given.
    assigned: list[Assignment] = field(default_factory=list)
    #: Patients who already had the exercise active; no duplicate was made.
    already: list[Patient] = field(default_factory=list)
    #: Patients the exercise was refused for, each with the reason.
    unsuitable: list[tuple[Patient, str]] = field(default_factory=list)
    #: How many of each kind there are, when the lists name only the first few (a whole
    #: track); None when the lists are complete.
    totals: dict[str, int] | None = None
    #: Patient id -> the id of the active assignment they already had, where known.
    holding: dict[int, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """How many distinct patients were considered."""
        return sum(self.counts().values())

    def counts(self) -> dict[str, int]:
        """How many of each kind, by name (more than the lists hold when ``totals`` says so)."""
        if self.totals is not None:
            return dict(self.totals)
        return {
            "assigned": len(self.assigned),
            "already": len(self.already),
            "unsuitable": len(self.unsuitable),
        }

    def more(self) -> dict[str, int]:
        """How many of each kind the lists do not name."""
        counts = self.counts()
        return {
            "assigned": counts["assigned"] - len(self.assigned),
            "already": counts["already"] - len(self.already),
            "unsuitable": counts["unsuitable"] - len(self.unsuitable),
        }

    def summary(self) -> str:
        """One line of counts for a flash message; it never names anyone."""
        counts = self.counts()
        if sum(counts.values()) == 0:
            return "Nobody to assign to: no patients were found for this target on the start date."
        return (
            f"Assigned to {_patients(counts['assigned'])}; "
            f"{_patients(counts['already'])} already had it active (no duplicate made); "
            f"{_patients(counts['unsuitable'])} not suited (refused)."
        )


def _check_request(exercise: KindnessExercise, start: date, times_per_week, due, source: str) -> int:
    """Validate the parts of a request that do not depend on the patients; return times per week."""
    if not exercise.active:
        raise RuleViolation(
            f'"{exercise.title}" is retired, so it can no longer be assigned. '
            "Choose an exercise from the current catalogue."
        )
    if source not in ASSIGNMENT_SOURCES:
        raise RuleViolation(f"The source must be one of: {', '.join(ASSIGNMENT_SOURCES)}.")
    if not isinstance(start, date):
        raise RuleViolation("Give a start date.")
    if times_per_week is None:
        times_per_week = exercise.default_times_per_week
    if (
        isinstance(times_per_week, bool)
        or not isinstance(times_per_week, int)
        or not MIN_TIMES_PER_WEEK <= times_per_week <= MAX_TIMES_PER_WEEK
    ):
        raise RuleViolation(
            f"Times per week must be a whole number from {MIN_TIMES_PER_WEEK} to {MAX_TIMES_PER_WEEK}."
        )
    if due is not None and due < start:
        raise RuleViolation(
            f"The due date ({due.isoformat()}) cannot be before the start date ({start.isoformat()})."
        )
    return times_per_week


def _unique(patients: Iterable[Patient]) -> list[Patient]:
    """The patients without repeats, in the order first given."""
    patients = list(patients)
    if any(p.id is None for p in patients):
        db.session.flush()  # pending patients get their ids
    seen: set[int] = set()
    unique = []
    for patient in patients:
        if patient.id not in seen:
            seen.add(patient.id)
            unique.append(patient)
    return unique


def _enrolled_tracks_on(patient_ids: list[int], day: date) -> dict[int, tuple[int, str]]:
    """Patient id -> (track id, track name) of the enrolment covering ``day``, in one query.

    Mirrors ``membership.enrolment_on`` for many patients at once; on a change-over day
    covered by two enrolments, the later one counts.
    """
    rows = db.session.execute(
        sa.select(Enrolment.patient_id, Track.id, Track.name)
        .join(Track, Track.id == Enrolment.track_id)
        .where(
            Enrolment.patient_id.in_(patient_ids),
            covers(Enrolment, day),
        )
        .order_by(Enrolment.start_date)
    )
    return {patient_id: (track_id, name) for patient_id, track_id, name in rows}


def _commit_and_reload(result: FanOutResult) -> None:
    """Commit, then load the result's records again in two queries rather than one per row.

    A commit expires every loaded record; without this, showing the result would read
    each assignment and each patient back one by one.
    """
    assignment_ids = [a.id for a in result.assigned]
    patient_ids = [p.id for p in result.already] + [p.id for p, _ in result.unsuitable]
    db.session.commit()
    if assignment_ids:
        db.session.scalars(
            sa.select(Assignment)
            .where(Assignment.id.in_(assignment_ids))
            .options(joinedload(Assignment.patient))
        ).all()
    if patient_ids:
        db.session.scalars(sa.select(Patient).where(Patient.id.in_(patient_ids))).all()


def _flush_as(actor: StaffUser | None) -> None:
    """Flush, attributing the audit events to ``actor`` when no one else is acting."""
    if actor is not None and audit.current_actor()[0] is None:
        with audit.acting_as(actor):
            db.session.flush()
    else:
        db.session.flush()


def assign_exercise(
    exercise: KindnessExercise,
    patients: Iterable[Patient],
    *,
    start: date,
    times_per_week: int | None = None,
    due: date | None = None,
    source: str = "individual",
    actor: StaffUser | None = None,
    commit: bool = True,
    goal=None,
) -> FanOutResult:
    """Assign ``exercise`` to each of ``patients`` from ``start``, in one transaction.

    Each assignment names the treatment-plan goal it serves: ``goal`` (an id) for one patient
    assigned individually, the track's default goal for a fan-out; the rule is
    ``treatment_plan.goals_for_assignments`` (a patient it refuses is listed as unsuitable).

    Each distinct patient lands in exactly one list of the result: ``already`` when they
    hold the exercise active (no duplicate is made), ``unsuitable`` when their record is
    inactive, they are not enrolled on ``start``, or the exercise is not meant for the
    track they are enrolled in then; otherwise ``assigned``. A retired exercise, times per
    week outside 1–14 or a due date before the start are refused with ``RuleViolation``
    and nothing is saved. The number of queries does not grow with the number of patients.
    With ``commit=False`` the caller's transaction is flushed but not committed.
    """
    times_per_week = _check_request(exercise, start, times_per_week, due, source)
    patients = _unique(patients)
    result = FanOutResult()
    if not patients:
        return result
    ids = [p.id for p in patients]
    suitable_tracks = {track.id for track in exercise.tracks}
    active_ids = set(
        db.session.scalars(
            sa.select(Assignment.patient_id).where(
                Assignment.exercise_id == exercise.id,
                Assignment.status == "active",
                Assignment.patient_id.in_(ids),
            )
        )
    )
    enrolled = _enrolled_tracks_on(ids, start)
    actor_id = actor.id if actor is not None else audit.current_actor()[0]

    for patient in patients:
        if patient.id in active_ids:
            result.already.append(patient)
            continue
        if not patient.active:
            result.unsuitable.append((patient, "patient record is inactive"))
            continue
        track = enrolled.get(patient.id)
        if track is None:
            result.unsuitable.append((patient, f"not enrolled on {start.isoformat()}"))
            continue
        track_id, track_name = track
        if track_id not in suitable_tracks:
            result.unsuitable.append((patient, f"not meant for {track_name}"))
            continue
        result.assigned.append(
            Assignment(
                exercise=exercise,
                patient=patient,
                start_date=start,
                due_date=due,
                times_per_week=times_per_week,
                status="active",
                status_reason="",
                assigned_by_id=actor_id,
                source=source,
            )
        )

    if result.assigned:
        _serve_goals(result, start, goal, fan_out=source != "individual" or len(patients) > 1, actor_id=actor_id)
    if result.assigned:
        db.session.add_all(result.assigned)
        try:
            _flush_as(actor)
        except IntegrityError as exc:
            # Another fan-out made one of these assignments after we looked.
            db.session.rollback()
            raise RuleViolation(RACE_MESSAGE) from exc
    if commit:
        _commit_and_reload(result)
    return result


def _serve_goals(result: FanOutResult, start: date, goal, *, fan_out: bool, actor_id: int | None) -> None:
    """Name the goal each new assignment serves (services/treatment_plan); refused patients move to unsuitable."""
    from .treatment_plan import goals_for_assignments

    goals, refused = goals_for_assignments([a.patient.id for a in result.assigned], start, goal_id=goal,
                                           fan_out=fan_out, actor_id=actor_id)
    for assignment in result.assigned:
        assignment.goal_id = goals.get(assignment.patient.id)
    result.unsuitable += [(a.patient, refused[a.patient.id]) for a in result.assigned if a.patient.id in refused]
    result.assigned = [a for a in result.assigned if a.patient.id not in refused]


def assign_to_group(
    exercise: KindnessExercise,
    group: CareGroup,
    *,
    start: date,
    times_per_week: int | None = None,
    due: date | None = None,
    actor: StaffUser | None = None,
    commit: bool = True,
) -> FanOutResult:
    """Assign ``exercise`` to everyone on ``group``'s roster on ``start``."""
    _check_request(exercise, start, times_per_week, due, "group")
    return assign_exercise(
        exercise,
        roster(group.id, start),
        start=start,
        times_per_week=times_per_week,
        due=due,
        source="group",
        actor=actor,
        commit=commit,
    )


def track_patients_on(track_id: int, day: date) -> list[Patient]:
    """Everyone enrolled in the track on ``day``, by last name."""
    return list(
        db.session.scalars(
            sa.select(Patient)
            .join(Enrolment, Enrolment.patient_id == Patient.id)
            .where(
                Enrolment.track_id == track_id,
                covers(Enrolment, day),
            )
            .order_by(Patient.last_name, Patient.first_name, Patient.id)
        ).unique()
    )


@dataclass(frozen=True)
class PatientLine:
    """A patient as a fan-out result names them (plain values, no record loaded)."""

    id: int
    full_name: str
    record_number: str


@dataclass(frozen=True)
class AssignedLine:
    """An assignment made in bulk: its id and its patient."""

    id: int
    patient: PatientLine

    @property
    def patient_id(self) -> int:
        return self.patient.id


#: How many of each kind (assigned, already had it, not suited) a whole track's result names.
SHOWN_PER_KIND = SHOWN_ASSIGNED


def _track_patient_ids(track: Track, start: date):
    """The ids of the patients enrolled in ``track`` on ``start`` (a subquery, ``patient_id``)."""
    return (
        sa.select(Enrolment.patient_id)
        .where(Enrolment.track_id == track.id, covers(Enrolment, start))
        .distinct()
        .subquery("in_track")
    )


def _track_verdicts(exercise: KindnessExercise, track: Track, start: date, suitable: list[int],
                    defaults: dict[int, str], *, cte: bool = False):
    """Everyone enrolled in ``track`` on ``start``, each with what the rule decides for them.

    The rule of ``assign_exercise`` as SQL, for a whole track at once: ``kind`` is
    ``already`` when the patient holds the exercise active (``holding`` names that
    assignment: at most one, by ``uq_assignment_one_active``), ``inactive`` for an inactive
    record, ``unsuitable`` when the exercise is not meant for the track the patient is
    enrolled in that day (on a change-over day the later enrolment counts, as
    ``_enrolled_tracks_on``), ``no_goal`` when that track has no default goal (``defaults``:
    track id -> its default goal, "" for none) and the enrolment's treatment plan has an
    active goal (``treatment_plan.goals_for_assignments``: such a patient is assigned one by
    one, choosing the goal), else ``assign``. ``enrolment_id`` names the deciding enrolment
    and ``default_goal`` its track's default goal. Returns the rows (a subquery, or with ``cte``
    a CTE that PostgreSQL works out once however often the statement names its columns)
    and ``kind``; nothing is read.
    """
    current = (
        sa.select(Enrolment.track_id)
        .where(Enrolment.patient_id == Patient.id, covers(Enrolment, start))
        .order_by(Enrolment.start_date.desc(), Enrolment.id.desc())
        .limit(1)
        .correlate(Patient)
        .scalar_subquery()
    )
    # Driven by the track's enrolments on the day (``ix_enrolment_track_end``), never by
    # every patient of the clinic.
    in_track = _track_patient_ids(track, start)
    # The enrolment that decides is looked up only for whom it can decide: an active
    # record that does not hold the exercise yet.
    decides = sa.and_(Assignment.id.is_(None), Patient.active.is_(True))
    deciding = (
        sa.select(Enrolment.id)
        .where(Enrolment.patient_id == Patient.id, covers(Enrolment, start))
        .order_by(Enrolment.start_date.desc(), Enrolment.id.desc())
        .limit(1)
        .correlate(Patient)
        .scalar_subquery()
    )
    rows = (
        sa.select(Patient.id, Patient.first_name, Patient.last_name, Patient.record_number, Patient.active,
                  sa.case((decides, current)).label("track_id"), Assignment.id.label("holding"),
                  sa.case((decides, deciding)).label("enrolment_id"))
        .select_from(in_track)
        .join(Patient, Patient.id == in_track.c.patient_id)
        .outerjoin(Assignment, sa.and_(Assignment.patient_id == Patient.id, Assignment.exercise_id == exercise.id,
                                       Assignment.status == "active"))
    )
    if cte:
        people = rows.cte("enrolled").prefix_with("MATERIALIZED", dialect="postgresql")
    else:
        people = rows.subquery("enrolled")
    without_default = [tid for tid in suitable if not defaults.get(tid)]
    has_goal = (
        sa.select(PlanGoal.id)
        .where(PlanGoal.enrolment_id == people.c.enrolment_id, PlanGoal.status == "active")
        .exists()
    )
    kind = sa.case(
        (people.c.holding.is_not(None), "already"),
        (sa.not_(people.c.active), "inactive"),
        (sa.not_(people.c.track_id.in_(suitable)), "unsuitable"),
        (sa.and_(people.c.track_id.in_(without_default), has_goal), "no_goal"),
        else_="assign",
    )
    return people, kind


def _default_goal_of(people, defaults: dict[int, str]):
    """The default goal of each row's track as SQL ("" when its track has none)."""
    named = {tid: goal for tid, goal in defaults.items() if goal}
    if not named:
        return sa.literal("", sa.Text)
    return sa.case(*((people.c.track_id == tid, sa.literal(goal, sa.Text)) for tid, goal in named.items()),
                   else_=sa.literal("", sa.Text))


def assign_to_track(
    exercise: KindnessExercise,
    track: Track,
    *,
    start: date,
    times_per_week: int | None = None,
    due: date | None = None,
    actor: StaffUser | None = None,
    commit: bool = True,
) -> FanOutResult:
    """Assign ``exercise`` to everyone enrolled in ``track`` on ``start``, in set-based statements.

    The same rule as ``assign_exercise`` (already active: no duplicate; inactive record or
    an exercise not meant for the track the patient is enrolled in that day: refused), but
    a whole track can hold a thousand patients, so no patient is read into Python: one
    statement reads what the rule decides (``_track_verdicts``), naming the first
    ``SHOWN_PER_KIND`` patients of each kind by last name with the count of each; when
    anyone is to be assigned, one ``INSERT … SELECT`` makes the assignments straight from
    the track's enrolments by the same rule, one ``INSERT … SELECT`` writes their audit
    events (the same as the flush listener's) and one reads the new ids of the named few.
    If the INSERT made a different number than decided (someone assigned meanwhile),
    nothing is saved. The result holds plain lines (``AssignedLine``, ``PatientLine``) and
    ``totals``; ``more()`` says how many are not named.
    """
    times_per_week = _check_request(exercise, start, times_per_week, due, "track")
    suitable = sorted(t.id for t in exercise.tracks)
    actor_id = actor.id if actor is not None else audit.current_actor()[0]
    now = utcnow()
    values = {
        "exercise_id": exercise.id, "start_date": start, "due_date": due, "times_per_week": times_per_week,
        "status": "active", "status_reason": "", "assigned_by_id": actor_id, "source": "track",
        "created_at": now, "version": 1,
    }
    # PostgreSQL works the verdicts out once, before filtering (a MATERIALIZED CTE); SQLite
    # takes a plain subquery (Python's sqlite3 counts no rows of an INSERT that begins WITH).
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    # First what the rule decides for everyone (the first few of each kind and the counts);
    # nothing is written when it decides nobody is to be assigned.
    # Each suitable track's default goal: what a fan-out's assignments serve.
    defaults = {tid: (goal or "").strip()[:PLAN_TEXT_LIMIT] for tid, goal in db.session.execute(
        sa.select(Track.id, Track.default_goal).where(Track.id.in_(suitable)))}
    result = _track_result(*_track_verdicts(exercise, track, start, suitable, defaults, cte=True))
    to_assign = result.totals["assigned"]
    if not to_assign:
        if commit:
            db.session.commit()
        return result
    if any(defaults.values()):
        # The track's default goal in the plan of each patient to be assigned who lacks it
        # (as ``treatment_plan.goals_for_assignments`` makes it), set-based and audited.
        people, kind = _track_verdicts(exercise, track, start, suitable, defaults, cte=postgresql)
        default_goal = _default_goal_of(people, defaults)
        goal_values = {
            "statement": None, "target_date": start + timedelta(days=DEFAULT_GOAL_TARGET_DAYS),
            "status": "active", "status_reason": "", "from_track_default": True, "created_at": now,
            "created_by_id": actor_id, "version": 1,
        }
        goals = PlanGoal.__table__
        same_goal = (
            sa.select(PlanGoal.id)
            .where(PlanGoal.enrolment_id == people.c.enrolment_id, PlanGoal.status == "active",
                   PlanGoal.from_track_default.is_(True), PlanGoal.statement == default_goal)
            .exists()
        )
        fixed = [key for key in goal_values if key != "statement"]
        db.session.execute(
            sa.insert(goals).from_select(
                [goals.c.enrolment_id, goals.c.patient_id, goals.c.statement] + [goals.c[key] for key in fixed],
                sa.select(people.c.enrolment_id, people.c.id, default_goal,
                          *(sa.literal(goal_values[key], goals.c[key].type) for key in fixed))
                .where(kind == "assign", default_goal != "", sa.not_(same_goal)),
            )
        )
        made_goals = sa.select(PlanGoal.id, PlanGoal.enrolment_id, PlanGoal.patient_id).where(
            PlanGoal.created_at == now, PlanGoal.from_track_default.is_(True), PlanGoal.status == "active",
            PlanGoal.enrolment_id.in_(sa.select(people.c.enrolment_id).where(kind == "assign")))
        # The goal's words are the track's (no patient's data); a whole track's patients are
        # enrolled in it (on a change-over day another suitable track's words may be used).
        goal_events = {**goal_values, "statement": defaults.get(track.id) or next(
            (goal for goal in defaults.values() if goal), None)}
        if actor is not None and audit.current_actor()[0] is None:
            with audit.acting_as(actor):
                audit.record_created_from(PlanGoal, made_goals, goal_events)
        else:
            audit.record_created_from(PlanGoal, made_goals, goal_events)
    people, kind = _track_verdicts(exercise, track, start, suitable, defaults, cte=postgresql)
    default_goal = _default_goal_of(people, defaults)
    served = (
        sa.select(sa.func.min(PlanGoal.id))
        .where(PlanGoal.enrolment_id == people.c.enrolment_id, PlanGoal.status == "active",
               PlanGoal.from_track_default.is_(True), PlanGoal.statement == default_goal)
        .scalar_subquery()
    )
    table = Assignment.__table__
    columns = list(values)
    made = sa.select(
        *(sa.literal(values[key], table.c[key].type) for key in columns),
        people.c.id,
        served,
    ).where(kind == "assign")
    # The rows this call made: its own moment of creation, on the track's patients. No other
    # active assignment of the exercise can be theirs (one active per patient and exercise).
    ours = sa.and_(
        Assignment.exercise_id == exercise.id, Assignment.status == "active", Assignment.source == "track",
        Assignment.created_at == now,
    )
    try:
        inserted = db.session.execute(
            sa.insert(table).from_select([table.c[key] for key in columns] + [table.c.patient_id, table.c.goal_id],
                                         made),
            execution_options={"preserve_rowcount": True},
        ).rowcount
        in_track = _track_patient_ids(track, start)
        created = (
            # The goal each serves (when a track has a default goal: never NULL then).
            sa.select(Assignment.id, Assignment.patient_id,
                      *([Assignment.goal_id] if any(defaults.values()) else []))
            .select_from(in_track)
            .join(Assignment, Assignment.patient_id == in_track.c.patient_id)
            .where(ours)
        )
        if inserted != to_assign:
            events = None
        elif actor is not None and audit.current_actor()[0] is None:
            with audit.acting_as(actor):
                events = audit.record_created_from(Assignment, created, values)
        else:
            events = audit.record_created_from(Assignment, created, values)
    except IntegrityError as exc:
        # Another fan-out made one of these assignments after we looked.
        db.session.rollback()
        raise RuleViolation(RACE_MESSAGE) from exc
    if events != inserted:
        # Someone changed who holds the exercise between the decision and the INSERT.
        db.session.rollback()
        raise RuleViolation(RACE_MESSAGE)
    # The new assignments of the patients the page names, by an index probe each.
    named = [line.patient for line in result.assigned]
    new_ids = dict(db.session.execute(
        sa.select(Assignment.patient_id, Assignment.id).where(ours, Assignment.patient_id.in_([p.id for p in named]))
    ).all())
    result.assigned = [AssignedLine(new_ids[p.id], p) for p in named]
    if commit:
        db.session.commit()
    return result


def _track_result(people, kind) -> FanOutResult:
    """The first ``SHOWN_PER_KIND`` of each kind by last name and every kind's count, in one statement.

    ``assigned`` lines are those the rule decides to assign (their ``id`` is None until made).
    """
    shown_kind = sa.case((kind == "assign", "assigned"), else_=kind)
    part = sa.case((shown_kind.in_(("inactive", "unsuitable", "no_goal")), "unsuitable"), else_=shown_kind)
    order = (people.c.last_name, people.c.first_name, people.c.id)
    ranked = (
        sa.select(
            people.c.id, people.c.first_name, people.c.last_name, people.c.record_number, people.c.holding,
            shown_kind.label("kind"), part.label("part"), Track.name.label("track_name"),
            sa.func.row_number().over(partition_by=part, order_by=order).label("rank"),
            sa.func.count().over(partition_by=part).label("of"),
        )
        .select_from(people)
        .outerjoin(Track, Track.id == people.c.track_id)
        .subquery("ranked")
    )
    rows = db.session.execute(
        sa.select(ranked).where(ranked.c.rank <= SHOWN_PER_KIND)
        .order_by(ranked.c.part, ranked.c.rank)
    ).all()
    result = FanOutResult(totals={"assigned": 0, "already": 0, "unsuitable": 0})
    for row in rows:
        line = PatientLine(row.id, f"{row.first_name} {row.last_name}", row.record_number)
        result.totals[row.part] = int(row.of)
        if row.kind == "assigned":
            result.assigned.append(AssignedLine(None, line))
        elif row.kind == "already":
            result.already.append(line)
            result.holding[row.id] = row.holding
        elif row.kind == "inactive":
            result.unsuitable.append((line, "patient record is inactive"))
        elif row.kind == "no_goal":
            result.unsuitable.append((line, NO_DEFAULT))
        else:
            result.unsuitable.append((line, f"not meant for {row.track_name}"))
    return result


STALE_STATUS = (
    "Someone else changed this assignment after you opened it. Nothing was changed: "
    "check its status below and try again."
)


def change_status(assignment: Assignment, status: str, reason: str, *, commit: bool = True,
                  expected_version=UNCHECKED) -> Assignment:
    """Pause, resume, complete or stop an assignment.

    Pausing and stopping need a reason. Completed and stopped assignments are final.
    Resuming is refused while the patient holds another active assignment of the same
    exercise. A page passes the ``expected_version`` it showed (missing or blank is stale).
    """
    check_version_unless_unchecked(assignment, expected_version, STALE_STATUS)
    if status not in STATUS_VERBS:
        raise RuleViolation(f"The status must be one of: {', '.join(STATUS_VERBS)}.")
    reason = (reason or "").strip()
    if len(reason) > 255:
        raise RuleViolation("Keep the reason to 255 characters or fewer.")
    current = assignment.status
    if current in FINAL_STATUSES:
        raise RuleViolation(
            f"This assignment is {current}, which is final: it cannot be changed. "
            "To start the exercise again, assign it anew."
        )
    if status == current:
        raise RuleViolation(f"This assignment is already {current}.")
    if status in NEEDS_REASON and not reason:
        raise RuleViolation(f"Give a reason for {NEEDS_REASON[status]} the assignment.")
    if status == "active":
        other = db.session.scalar(
            sa.select(Assignment.id).where(
                Assignment.patient_id == assignment.patient_id,
                Assignment.exercise_id == assignment.exercise_id,
                Assignment.status == "active",
                Assignment.id != assignment.id,
            )
        )
        if other is not None:
            raise RuleViolation(
                f"This assignment cannot be resumed: the patient already has this exercise "
                f"active in assignment #{other}. Complete or stop that one first."
            )
    assignment.status = status
    assignment.status_reason = reason
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise RuleViolation(
            "This assignment cannot be resumed: the patient was given this exercise again "
            "at the same moment. Nothing was changed."
        ) from exc
    if commit:
        db.session.commit()
    return assignment


def create_assignment(values: dict, *, actor: StaffUser | None = None) -> Assignment:
    """Assign one exercise to one patient from a form's values; no commit.

    The same rules as the assign page: a current exercise, the patient enrolled on the
    start date in a track the exercise suits, no second active assignment of it.
    """

    patient = required_row(values, "patient", "patient")
    exercise = required_row(values, "exercise", "exercise")
    start = day(values, "start_date", "start date")
    due = day(values, "due_date", "due date", required=False)
    times = whole(values, "times_per_week", "times per week", MIN_TIMES_PER_WEEK, MAX_TIMES_PER_WEEK,
                  required=False)
    goal = values.get("goal")
    try:
        result = assign_exercise(exercise, [patient], start=start, times_per_week=times, due=due,
                                 source="individual", actor=actor, commit=False,
                                 goal=getattr(goal, "id", goal))
    except FieldViolation as exc:
        if exc.field != "goal":
            raise
        raise FieldViolation("exercise", f"{exc} Assign it from the patient's page (Assign an exercise), "
                                         "which lists the plan's goals.") from exc
    except RuleViolation as exc:
        raise FieldViolation("due_date" if "due date" in str(exc) else "exercise", str(exc)) from exc
    if result.already:
        raise FieldViolation("exercise", "The patient already has this exercise active; no duplicate was made.")
    if result.unsuitable:
        raise FieldViolation("exercise", f"This exercise cannot be assigned: {result.unsuitable[0][1]}.")
    return result.assigned[0]


def update_assignment(assignment: Assignment, values: dict, version) -> Assignment:
    """Change an assignment opened at ``version``: due date, times per week and status; no commit.

    The status moves only as ``change_status`` allows (completed and stopped are final);
    a final assignment does not change at all.
    """

    check_version(assignment, version)
    if assignment.status in FINAL_STATUSES:
        raise RuleViolation(f"This assignment is {assignment.status}, which is final: it cannot be changed. "
                            "To start the exercise again, assign it anew.")
    due = day(values, "due_date", "due date", required=False)
    if due is not None and due < assignment.start_date:
        raise FieldViolation("due_date", f"The due date cannot be before the start date "
                                         f"({assignment.start_date.isoformat()}).")
    times = whole(values, "times_per_week", "times per week", MIN_TIMES_PER_WEEK, MAX_TIMES_PER_WEEK)
    status = values.get("status", assignment.status)
    reason = text(values, "status_reason", "reason", 255)
    if status != assignment.status:
        try:
            change_status(assignment, status, reason, commit=False)
        except RuleViolation as exc:
            raise FieldViolation("status" if "reason" not in str(exc) else "status_reason", str(exc)) from exc
    elif reason != assignment.status_reason:
        if assignment.status == "active" and reason:
            raise FieldViolation("status_reason", "An active assignment has no reason; give one only "
                                                  "when pausing, completing or stopping it.")
        if assignment.status in NEEDS_REASON and not reason:
            raise FieldViolation("status_reason", f"Give a reason for {NEEDS_REASON[assignment.status]} "
                                                  "the assignment.")
        assignment.status_reason = reason
    for key, value in (("due_date", due), ("times_per_week", times)):
        if getattr(assignment, key) != value:
            setattr(assignment, key, value)
    db.session.flush()
    return assignment


def delete_assignment(assignment: Assignment) -> None:
    """Remove an assignment made by mistake: only while it has no check-ins (stop it otherwise)."""
    from ..models import ExerciseCheckin

    if db.session.scalar(sa.select(sa.select(ExerciseCheckin.id).where(
            ExerciseCheckin.assignment_id == assignment.id).exists())):
        raise RuleViolation("This assignment has check-ins, so it is part of the record: stop it instead.")
    db.session.delete(assignment)
    db.session.flush()


__all__ = [
    "FanOutResult",
    "create_assignment",
    "delete_assignment",
    "update_assignment",
    "assign_exercise",
    "assign_to_group",
    "assign_to_track",
    "AssignedLine",
    "SHOWN_ASSIGNED",
    "SHOWN_PER_KIND",
    "PatientLine",
    "change_status",
    "track_patients_on",
]