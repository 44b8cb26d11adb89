"""The database itself refuses bad data, on SQLite and on PostgreSQL.

Each refusal is provoked with a flush (or raw SQL) and must come back from the
database as an ``IntegrityError`` that names the constraint which fired, so a test
cannot pass because of some other, unrelated error. Next to most refusals stands
the nearest value the database must still accept.
"""

from __future__ import annotations

import itertools
import json
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError, IntegrityError, StatementError

from clinic.extensions import db
from clinic.models import (
    Assignment,
    Attendance,
    AuditEvent,
    CalendarFeed,
    CareGroup,
    Enrolment,
    ExerciseCheckin,
    GroupMembership,
    GroupSession,
    KindnessExercise,
    MeasureAdministration,
    Patient,
    PrintChunk,
    PlanGoal,
    PlanObjective,
    PlanProblem,
    PlanReview,
    PrintJob,
    ReportRun,
    SafetyTask,
    StaffUser,
)
from clinic.services.accounts import hash_password
from clinic.services.audit import AuditTrailIsAppendOnly

_numbers = itertools.count(1)

START = date(2026, 1, 5)


# --- helpers -----------------------------------------------------------------------------


def _saved(*rows):
    """Add ``rows`` and commit them; return the first."""
    db.session.add_all(rows)
    db.session.commit()
    return rows[0]


def _refused(*rows, because: str | tuple[str, ...]) -> IntegrityError:
    """Add ``rows``, flush, and return the IntegrityError that the database raised.

    ``because`` is the constraint expected to fire (or alternatives: SQLite names the
    columns of a unique constraint where PostgreSQL names the constraint itself).
    """
    db.session.add_all(rows)
    with pytest.raises(IntegrityError) as caught:
        db.session.flush()
    db.session.rollback()
    _assert_mentions(caught.value, because)
    return caught.value


def _refused_sql(statement: str, because: str | tuple[str, ...], **params) -> IntegrityError:
    """Run raw SQL that the database must refuse with an IntegrityError."""
    with pytest.raises(IntegrityError) as caught:
        db.session.execute(sa.text(statement), params)
    db.session.rollback()
    _assert_mentions(caught.value, because)
    return caught.value


def _assert_mentions(error: DatabaseError, because: str | tuple[str, ...]) -> None:
    message = str(error.orig)
    needles = (because,) if isinstance(because, str) else because
    assert any(needle in message for needle in needles), (
        f"expected the refusal to name one of {needles}, got: {message}"
    )


def _unique(table: str, constraint: str, *columns: str) -> tuple[str, str]:
    """How each backend names a unique violation: the constraint, or table.column list."""
    return constraint, "UNIQUE constraint failed: " + ", ".join(f"{table}.{c}" for c in columns)


def _count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _exercise(**kw) -> KindnessExercise:
    n = next(_numbers)
    return KindnessExercise(
        title=kw.pop("title", f"Write a note of appreciation {n}"),
        direction=kw.pop("direction", "others"),
        energy=kw.pop("energy", "low"),
        **kw,
    )


def _assignment(patient: Patient, exercise: KindnessExercise, **kw) -> Assignment:
    return Assignment(
        patient_id=patient.id,
        exercise_id=exercise.id,
        start_date=kw.pop("start_date", START),
        **kw,
    )


def _session(group, **kw) -> GroupSession:
    return GroupSession(
        group_id=group.id,
        starts_at=kw.pop("starts_at", datetime(2026, 1, 6, 10, 0)),
        duration_minutes=kw.pop("duration_minutes", 60),
        **kw,
    )


def _attendance(session: GroupSession, patient: Patient, **kw) -> Attendance:
    return Attendance(
        session_id=session.id,
        patient_id=patient.id,
        status=kw.pop("status", "present"),
        minutes_attended=kw.pop("minutes_attended", 60),
        **kw,
    )


def _checkin(assignment: Assignment, **kw) -> ExerciseCheckin:
    return ExerciseCheckin(
        assignment_id=assignment.id,
        on_date=kw.pop("on_date", START),
        outcome=kw.pop("outcome", "done"),
        **kw,
    )


@pytest.fixture
def patient(make) -> Patient:
    """A saved patient."""
    return make.patient()


@pytest.fixture
def group(make):
    """A saved IOP group with a facilitator."""
    return make.group(make.track("iop"), make.staff("counselor"))


@pytest.fixture
def session(group) -> GroupSession:
    """A saved session of ``group``."""
    return _saved(_session(group, facilitator_id=group.facilitator_id))


@pytest.fixture
def exercise(make) -> KindnessExercise:
    """A saved catalogue exercise."""
    return _saved(_exercise())


@pytest.fixture
def assignment(patient, exercise) -> Assignment:
    """``exercise`` assigned to ``patient``, saved."""
    return _saved(_assignment(patient, exercise))


# --- uniqueness --------------------------------------------------------------------------


def test_two_patients_cannot_share_a_record_number(make):
    make.patient(record_number="MRN-0001")
    _refused(
        Patient(record_number="MRN-0001", first_name="Sam", last_name="Other"),
        because=_unique("patient", "uq_patient_record_number", "record_number"),
    )
    assert _count(Patient, Patient.record_number == "MRN-0001") == 1


def test_two_staff_accounts_cannot_share_an_email(make):
    make.staff("counselor", email="kim@clinic.example")
    _refused(
        StaffUser(
            email="kim@clinic.example",
            full_name="Another Kim",
            role="planner",
            password_hash=hash_password("another long password"),
        ),
        because=_unique("staff_user", "uq_staff_user_email", "email"),
    )
    assert _count(StaffUser, StaffUser.email == "kim@clinic.example") == 1


def test_a_patient_has_at_most_one_attendance_row_per_session(make, session, patient):
    _saved(_attendance(session, patient))
    _refused(
        _attendance(session, patient, status="late", minutes_attended=40),
        because=_unique("attendance", "uq_attendance_session_patient", "session_id", "patient_id"),
    )
    other = make.patient()
    _saved(_attendance(session, other))
    assert _count(Attendance, Attendance.session_id == session.id) == 2


def test_a_patient_cannot_hold_two_active_assignments_of_the_same_exercise(patient, exercise):
    _saved(_assignment(patient, exercise))
    _refused(
        _assignment(patient, exercise, start_date=date(2026, 2, 1)),
        because=_unique(
            "assignment", "uq_assignment_one_active", "patient_id", "exercise_id"
        ),
    )


def test_a_stopped_assignment_does_not_block_a_new_active_one(patient, exercise):
    _saved(_assignment(patient, exercise, status="stopped"))
    _saved(_assignment(patient, exercise, status="stopped", start_date=date(2026, 1, 12)))
    _saved(_assignment(patient, exercise, start_date=date(2026, 2, 1)))
    statuses = sorted(
        db.session.scalars(
            sa.select(Assignment.status).where(
                Assignment.patient_id == patient.id, Assignment.exercise_id == exercise.id
            )
        )
    )
    assert statuses == ["active", "stopped", "stopped"]


def test_a_patient_cannot_have_two_open_enrolments(make, patient):
    make.enrolment(patient, make.track("inpatient"))
    _refused(
        Enrolment(patient_id=patient.id, track_id=make.track("iop").id, start_date=START),
        because=_unique("enrolment", "uq_enrolment_one_open_per_patient", "patient_id"),
    )
    assert _count(Enrolment, Enrolment.patient_id == patient.id) == 1


def test_a_closed_enrolment_does_not_block_an_open_one(make, patient):
    make.enrolment(
        patient,
        make.track("inpatient"),
        end_date=date(2026, 1, 20),
        status="stepped_down",
    )
    make.enrolment(patient, make.track("intensive"), start=date(2026, 1, 21))
    open_ones = _count(
        Enrolment, Enrolment.patient_id == patient.id, Enrolment.end_date.is_(None)
    )
    assert (_count(Enrolment, Enrolment.patient_id == patient.id), open_ones) == (2, 1)


# --- date ranges -------------------------------------------------------------------------


def test_an_enrolment_cannot_end_before_it_starts(make, patient):
    track = make.track("iop")
    _refused(
        Enrolment(
            patient_id=patient.id,
            track_id=track.id,
            start_date=START,
            end_date=date(2026, 1, 4),
            status="discharged",
        ),
        because="ck_enrolment_end_not_before_start",
    )
    # A one-day stay is allowed.
    make.enrolment(patient, track, end_date=START, status="discharged")


def test_a_group_membership_cannot_end_before_it_starts(make, group, patient):
    _refused(
        GroupMembership(
            group_id=group.id, patient_id=patient.id, start_date=START, end_date=date(2026, 1, 4)
        ),
        because="ck_group_membership_end_not_before_start",
    )
    make.membership(group, patient, end_date=START)


def test_an_assignment_cannot_be_due_before_it_starts(patient, exercise):
    _refused(
        _assignment(patient, exercise, due_date=date(2026, 1, 4)),
        because="ck_assignment_due_not_before_start",
    )
    _saved(_assignment(patient, exercise, due_date=START))


# --- ranges ------------------------------------------------------------------------------


@pytest.mark.parametrize("engagement", [0, 6, -1])
def test_engagement_outside_one_to_five_is_refused(session, patient, engagement):
    _refused(
        _attendance(session, patient, engagement=engagement),
        because="ck_attendance_engagement_range",
    )


@pytest.mark.parametrize("engagement", [1, 5, None])
def test_engagement_from_one_to_five_or_unrated_is_accepted(session, patient, engagement):
    _saved(_attendance(session, patient, engagement=engagement))
    stored = db.session.scalar(
        sa.select(Attendance.engagement).where(Attendance.patient_id == patient.id)
    )
    assert stored == engagement


@pytest.mark.parametrize("mood", [11, -1])
@pytest.mark.parametrize("field", ["mood_before", "mood_after"])
def test_mood_outside_zero_to_ten_is_refused(assignment, field, mood):
    _refused(_checkin(assignment, **{field: mood}), because=f"ck_exercise_checkin_{field}_range")


@pytest.mark.parametrize("field", ["mood_before", "mood_after"])
def test_mood_from_zero_to_ten_is_accepted(assignment, field):
    _saved(
        _checkin(assignment, on_date=date(2026, 1, 6), **{field: 0}),
        _checkin(assignment, on_date=date(2026, 1, 7), **{field: 10}),
    )
    stored = db.session.scalars(
        sa.select(getattr(ExerciseCheckin, field)).order_by(ExerciseCheckin.on_date)
    ).all()
    assert stored == [0, 10]


def test_negative_minutes_attended_are_refused(session, patient):
    _refused(
        _attendance(session, patient, status="left_early", minutes_attended=-5),
        because="ck_attendance_minutes_not_negative",
    )


@pytest.mark.parametrize("status", ["absent", "excused"])
def test_an_absent_or_excused_patient_cannot_have_minutes_attended(make, session, status):
    _refused(
        _attendance(session, make.patient(), status=status, minutes_attended=30),
        because="ck_attendance_absent_means_zero_minutes",
    )
    _saved(_attendance(session, make.patient(), status=status, minutes_attended=0))


@pytest.mark.parametrize("capacity", [0, -3])
def test_a_group_must_have_room_for_at_least_one_member(make, capacity):
    track = make.track("iop")
    _refused(
        CareGroup(name="Empty room", track_id=track.id, capacity=capacity),
        because="ck_care_group_capacity_positive",
    )
    assert make.group(track, capacity=1).capacity == 1


@pytest.mark.parametrize("times", [0, 15])
def test_an_assignment_is_done_between_one_and_fourteen_times_a_week(patient, exercise, times):
    _refused(
        _assignment(patient, exercise, times_per_week=times),
        because="ck_assignment_times_per_week_range",
    )
    _saved(_assignment(patient, exercise, times_per_week=1 if times == 0 else 14))


@pytest.mark.parametrize("times", [0, 15])
def test_an_exercise_defaults_to_between_one_and_fourteen_times_a_week(ctx, times):
    _refused(
        _exercise(default_times_per_week=times),
        because="ck_kindness_exercise_times_per_week_range",
    )
    _saved(_exercise(default_times_per_week=1 if times == 0 else 14))


# --- enumerations ------------------------------------------------------------------------

_INSERT_ATTENDANCE = (
    "INSERT INTO attendance (session_id, patient_id, status, minutes_attended, note, "
    "recorded_at, version) VALUES (:session_id, :patient_id, :status, 0, '', CURRENT_TIMESTAMP, 1)"
)


def test_the_orm_refuses_an_unknown_attendance_status_before_the_database(session, patient):
    db.session.add(_attendance(session, patient, status="asleep"))
    with pytest.raises((LookupError, StatementError)):
        db.session.flush()
    db.session.rollback()
    assert _count(Attendance) == 0


def test_the_database_refuses_an_unknown_attendance_status_in_raw_sql(session, patient):
    ids = {"session_id": session.id, "patient_id": patient.id}
    _refused_sql(_INSERT_ATTENDANCE, "ck_attendance_attendance_status", status="asleep", **ids)
    # The same statement with a known status goes through, so the status was the problem.
    db.session.execute(sa.text(_INSERT_ATTENDANCE), {"status": "absent", **ids})
    db.session.commit()
    assert db.session.scalar(sa.select(Attendance.status)) == "absent"


def _enum_columns() -> list[tuple[str, str]]:
    """Every enumeration column of every table except the append-only audit trail."""
    return [
        (table.name, column.name)
        for table in db.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, sa.Enum) and table.name != "audit_event"
    ]


def _one_row_of_each(make) -> dict[str, int]:
    """Build one valid row in every table that has an enumeration column."""
    track = make.track("iop")
    counselor = make.staff("counselor")
    patient = make.patient()
    enrolment = make.enrolment(patient, track, counselor)
    group = make.group(track, counselor)
    session = _saved(_session(group))
    exercise = _saved(_exercise())
    assignment = _saved(_assignment(patient, exercise))
    checkin = _saved(_checkin(assignment))
    # No minutes, so that every status (absent and excused too) is a valid value.
    attendance = _saved(_attendance(session, patient, minutes_attended=0))
    job = _saved(PrintJob(owner_id=counselor.id, kind="progress_batch", params={}, sheets_total=1))
    run = _saved(ReportRun(owner_id=counselor.id, kind="census", request_key="census|all", filters={}))
    chunk = _saved(PrintChunk(job_id=job.id, index=0, patient_ids=[patient.id]))
    feed = _saved(CalendarFeed(owner_id=counselor.id, kind="staff", token_hash="0" * 64))
    # A draft: a signed measure refuses every UPDATE (migration 0015).
    measure = _saved(MeasureAdministration(patient_id=patient.id, instrument="phq9", administered_on=date(2026, 1, 5),
                                           mode="in_person", total=0, prorated=False, band="minimal"))
    task = _saved(SafetyTask(patient_id=patient.id, administration_id=measure.id, item9_answer=1, action_taken=""))
    problem = _saved(PlanProblem(enrolment_id=enrolment.id, text="Low mood"))
    goal = _saved(PlanGoal(enrolment_id=enrolment.id, patient_id=patient.id, statement="3 acts a week",
                           target_date=enrolment.start_date))
    objective = _saved(PlanObjective(goal_id=goal.id, text="One a day"))
    review = _saved(PlanReview(enrolment_id=enrolment.id, kind="review", reviewed_on=enrolment.start_date))
    return {
        "staff_user": counselor.id,
        "enrolment": enrolment.id,
        "group_session": session.id,
        "kindness_exercise": exercise.id,
        "assignment": assignment.id,
        "exercise_checkin": checkin.id,
        "attendance": attendance.id,
        "print_job": job.id,
        "report_run": run.id,
        "print_chunk": chunk.id,
        "calendar_feed": feed.id,
        "measure_administration": measure.id,
        "safety_task": task.id,
        "plan_problem": problem.id,
        "plan_goal": goal.id,
        "plan_objective": objective.id,
        "plan_review": review.id,
    }


@pytest.mark.parametrize(
    ("table", "column"), _enum_columns(), ids=[f"{t}.{c}" for t, c in _enum_columns()]
)
def test_every_enumeration_column_refuses_unknown_values_in_the_database(make, table, column):
    rows = _one_row_of_each(make)
    if table not in rows:
        pytest.fail(f"Add a row of {table} to _one_row_of_each so {column} can be checked.")
    enum = db.metadata.tables[table].c[column].type
    statement = f"UPDATE {table} SET {column} = :value WHERE id = :id"
    _refused_sql(statement, f"ck_{table}_{enum.name}", value="bogus", id=rows[table])
    # Every listed value is accepted by the same statement.
    for value in enum.enums:
        db.session.execute(sa.text(statement), {"value": value, "id": rows[table]})
    db.session.commit()


def test_the_database_refuses_an_unknown_audit_action_in_raw_sql(ctx):
    statement = (
        "INSERT INTO audit_event (at, actor_email, action, entity, entity_id, changes, "
        "ip_address) VALUES (CURRENT_TIMESTAMP, 'x@clinic.example', :action, '', '', '{}', '')"
    )
    _refused_sql(statement, "ck_audit_event_audit_action", action="edit")
    db.session.execute(sa.text(statement), {"action": "export"})
    db.session.commit()
    assert db.session.scalar(sa.select(AuditEvent.action)) == "export"


# --- foreign keys ------------------------------------------------------------------------


def test_an_attendance_row_must_name_an_existing_session(session, patient):
    _refused(
        Attendance(
            session_id=session.id + 1000, patient_id=patient.id, status="present", minutes_attended=60
        ),
        because=("fk_attendance_session_id_group_session", "FOREIGN KEY constraint failed"),
    )
    _saved(_attendance(session, patient))


def test_a_session_with_attendance_cannot_be_deleted_underneath_it(session, patient):
    _saved(_attendance(session, patient))
    _refused_sql(
        "DELETE FROM group_session WHERE id = :id",
        ("fk_attendance_session_id_group_session", "FOREIGN KEY constraint failed"),
        id=session.id,
    )
    assert _count(GroupSession) == 1


# --- the audit trail ---------------------------------------------------------------------


def _first_event() -> AuditEvent:
    event = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).first()
    assert event is not None, "the factories should have written audit events"
    return event


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET entity = 'tampered' WHERE id = :id",
        "DELETE FROM audit_event WHERE id = :id",
    ],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_change_or_delete_an_audit_event(make, statement):
    make.patient()
    event = _first_event()
    before = (event.id, event.action, event.entity, event.entity_id)
    total = _count(AuditEvent)
    with pytest.raises(DatabaseError) as caught:
        db.session.execute(sa.text(statement), {"id": event.id})
    db.session.rollback()
    assert "append-only" in str(caught.value.orig)
    db.session.expire_all()
    event = db.session.get(AuditEvent, before[0])
    assert (event.id, event.action, event.entity, event.entity_id) == before
    assert _count(AuditEvent) == total


def test_changing_an_audit_event_through_the_orm_is_refused(make):
    make.patient()
    event = _first_event()
    event.entity = "tampered"
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(AuditEvent, event.id).entity == "patient"


def test_deleting_an_audit_event_through_the_orm_is_refused(make):
    make.patient()
    event = _first_event()
    db.session.delete(event)
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(AuditEvent, event.id) is not None


def _events(entity: str, entity_id, action: str | None = None) -> list[AuditEvent]:
    query = sa.select(AuditEvent).where(
        AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id)
    )
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


def test_creating_a_patient_writes_one_create_event_naming_the_patient(make):
    patient = make.patient(record_number="MRN-0042", last_name="Lindqvist")
    events = _events("patient", patient.id)
    assert [e.action for e in events] == ["create"]
    assert events[0].changes["record_number"] == [None, "MRN-0042"]
    assert events[0].changes["last_name"] == [None, "Lindqvist"]


def test_updating_a_patient_records_the_old_and_new_value(make):
    patient_id = make.patient(last_name="Lindqvist").id
    db.session.expunge_all()
    patient = db.session.get(Patient, patient_id)  # loaded fresh, as an edit form does
    patient.last_name = "Okafor"
    db.session.commit()
    events = _events("patient", patient_id, "update")
    assert len(events) == 1
    assert events[0].changes["last_name"] == ["Lindqvist", "Okafor"]
    assert "version" not in events[0].changes
    assert "first_name" not in events[0].changes


def test_an_update_right_after_a_commit_still_records_the_old_value(make):
    patient = make.patient(last_name="Lindqvist")
    # The commit expired the patient, so the old name is not loaded when it is replaced.
    patient.last_name = "Okafor"
    db.session.commit()
    events = _events("patient", patient.id, "update")
    assert len(events) == 1
    assert events[0].changes["last_name"] == ["Lindqvist", "Okafor"]


def test_deleting_an_enrolment_writes_a_delete_event(make, patient):
    enrolment = make.enrolment(patient, make.track("iop"))
    enrolment_id = enrolment.id
    db.session.delete(enrolment)
    db.session.commit()
    events = _events("enrolment", enrolment_id, "delete")
    assert len(events) == 1
    assert events[0].changes["patient_id"] == [patient.id, None]


def test_a_password_change_is_recorded_without_the_hash(make):
    user = make.staff("planner")
    old_hash = user.password_hash
    new_hash = hash_password("a brand new long password")
    user.password_hash = new_hash
    db.session.commit()
    created = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity == "staff_user", AuditEvent.action == "create")
    ).one()
    updated = _events("staff_user", user.id, "update")
    assert len(updated) == 1
    assert created.changes["password_hash"] == [None, "(set)"]
    assert updated[0].changes["password_hash"] == ["(changed)", "(changed)"]
    everything = json.dumps([e.changes for e in db.session.scalars(sa.select(AuditEvent))])
    assert old_hash not in everything
    assert new_hash not in everything
    assert "$argon2" not in everything


def test_a_rolled_back_change_leaves_no_audit_event(make):
    patient = make.patient(last_name="Lindqvist")
    before = _count(AuditEvent)
    patient.last_name = "Okafor"
    db.session.flush()
    # The event is written inside the same transaction as the change...
    assert _events("patient", patient.id, "update")[0].changes["last_name"][1] == "Okafor"
    db.session.rollback()
    # ...so rolling back the change takes the event with it.
    assert _count(AuditEvent) == before
    assert _events("patient", patient.id, "update") == []
    assert db.session.get(Patient, patient.id).last_name == "Lindqvist"
