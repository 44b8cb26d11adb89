"""The database itself keeps a signed session record final, on SQLite and PostgreSQL.

These tests go around the application on purpose: plain SQL, as someone with a database
console would type it. After signing, a session's attendance, the check-ins recorded in it,
its group note and everything else about it change only when the changed row points at a
new addendum of that session and person; deleting is refused; addenda are append-only;
PostgreSQL refuses TRUNCATE of the audit trail and of the recorded tables. A downgrade that
would drop recorded data refuses unless forced.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from flask import current_app

from clinic.extensions import db
from clinic.models import Activity, Assignment, Attendance, ExerciseCheckin, GroupSession, KindnessExercise
from conftest import _make_app
from test_migrations import scratch_url  # noqa: F401 - a fixture

DAY = date(2026, 3, 2)


@pytest.fixture
def signed(make):
    """A signed session with two entries, a check-in recorded in it and a group note."""
    track = make.track("iop")
    counselor = make.staff("counselor")
    group = make.group(track, counselor)
    ana, ben = make.patient(), make.patient()
    outsider = make.patient()
    for person in (ana, ben, outsider):
        make.enrolment(person, track, counselor)
    for person in (ana, ben):
        make.membership(group, person)
    activity = Activity(name="Gratitude circle", default_minutes=90)
    exercise = KindnessExercise(title="Write a thank-you note", direction="others", energy="low")
    db.session.add_all([activity, exercise])
    db.session.flush()
    session = GroupSession(group_id=group.id, activity_id=activity.id, starts_at=datetime(2026, 3, 2, 10),
                           duration_minutes=90, room="Room 1", facilitator_id=counselor.id, status="held",
                           group_note="Warm start.")
    assignment = Assignment(exercise_id=exercise.id, patient_id=ana.id, start_date=date(2026, 2, 1))
    db.session.add_all([session, assignment])
    db.session.flush()
    db.session.add_all([
        Attendance(session_id=session.id, patient_id=ana.id, status="present", minutes_attended=90,
                   recorded_by_id=counselor.id),
        Attendance(session_id=session.id, patient_id=ben.id, status="late", minutes_attended=60,
                   recorded_by_id=counselor.id),
        ExerciseCheckin(assignment_id=assignment.id, on_date=DAY, outcome="done", session_id=session.id,
                        recorded_by_id=counselor.id),
    ])
    session.recorded_at = datetime(2026, 3, 2, 12)
    session.recorded_by_id = counselor.id
    db.session.flush()
    session.signed_at = datetime(2026, 3, 2, 12, 5)
    session.signed_by_id = counselor.id
    ids = {
        "session": session.id, "ana": ana.id, "ben": ben.id, "outsider": outsider.id,
        "assignment": assignment.id, "counselor": counselor.id, "exercise": exercise.id,
    }
    db.session.commit()
    # No transaction of the test may stay open: the statements below come from a console.
    db.session.close()
    return ids


def _run(sql: str, **params):
    """Run one statement in its own transaction, as a console would, and commit it."""
    with db.engine.begin() as conn:
        return conn.execute(sa.text(sql), params)


def _refused(sql: str, **params) -> str:
    with pytest.raises(sa.exc.DatabaseError) as caught:
        _run(sql, **params)
    return str(caught.value.orig)


def _snapshot(ids) -> dict:
    with db.engine.connect() as conn:
        return {
            "attendance": conn.execute(sa.text(
                "SELECT patient_id, status, minutes_attended, engagement, note, last_addendum_id FROM attendance "
                "WHERE session_id = :s ORDER BY patient_id"), {"s": ids["session"]}).all(),
            "checkins": conn.execute(sa.text(
                "SELECT assignment_id, on_date, outcome, mood_before, reflection, session_id FROM exercise_checkin "
                "ORDER BY id")).all(),
            "session": conn.execute(sa.text(
                "SELECT status, group_note, starts_at, duration_minutes, facilitator_id, room, signed_at, "
                "signed_by_id FROM group_session WHERE id = :s"), {"s": ids["session"]}).one(),
            "addenda": conn.execute(sa.text("SELECT count(*) FROM attendance_addendum")).scalar(),
        }


def _addendum(ids, patient: str | None, *, assignment: bool = False, session: int | None = None) -> int:
    """Insert an addendum by hand and return its id."""
    _run(
        "INSERT INTO attendance_addendum (session_id, patient_id, assignment_id, author_id, created_at, changes, "
        "reason) VALUES (:s, :p, :a, :author, CURRENT_TIMESTAMP, '{}', 'Typed for the wrong person')",
        s=session or ids["session"], p=ids[patient] if patient else None,
        a=ids["assignment"] if assignment else None, author=ids["counselor"],
    )
    with db.engine.connect() as conn:
        return conn.execute(sa.text("SELECT max(id) FROM attendance_addendum")).scalar()


@pytest.mark.parametrize("sql", [
    "UPDATE attendance SET status = 'absent', minutes_attended = 0 WHERE session_id = :s",
    "UPDATE attendance SET note = 'rewritten' WHERE session_id = :s",
    "UPDATE attendance SET minutes_attended = 45 WHERE session_id = :s AND status = 'late'",
    "DELETE FROM attendance WHERE session_id = :s",
    "UPDATE exercise_checkin SET outcome = 'not_done' WHERE session_id = :s",
    "UPDATE exercise_checkin SET session_id = NULL WHERE session_id = :s",
    "DELETE FROM exercise_checkin WHERE session_id = :s",
    "UPDATE group_session SET group_note = 'rewritten' WHERE id = :s",
    "UPDATE group_session SET status = 'cancelled', cancel_reason = 'x' WHERE id = :s",
    "UPDATE group_session SET signed_at = NULL, signed_by_id = NULL WHERE id = :s",
    "UPDATE group_session SET duration_minutes = 30 WHERE id = :s",
    "UPDATE group_session SET facilitator_id = NULL WHERE id = :s",
    "DELETE FROM group_session WHERE id = :s",
])
def test_plain_sql_cannot_change_or_delete_a_signed_record(ctx, signed, sql):
    before = _snapshot(signed)
    message = _refused(sql, s=signed["session"])
    assert "signed" in message or "foreign key" in message.lower()
    assert _snapshot(signed) == before


def test_plain_sql_cannot_add_an_entry_or_a_check_in_to_a_signed_record(ctx, signed):
    before = _snapshot(signed)
    _refused("INSERT INTO attendance (session_id, patient_id, status, minutes_attended, note, recorded_at, version) "
             "VALUES (:s, :p, 'present', 90, '', CURRENT_TIMESTAMP, 1)", s=signed["session"], p=signed["outsider"])
    _run("INSERT INTO assignment (exercise_id, patient_id, start_date, times_per_week, status, status_reason, "
         "source, created_at, version) VALUES (:e, :p, '2026-02-01', 3, 'active', '', 'individual', "
         "CURRENT_TIMESTAMP, 1)", e=signed["exercise"], p=signed["ben"])
    with db.engine.connect() as conn:
        bens = conn.execute(sa.text("SELECT id FROM assignment WHERE patient_id = :p"), {"p": signed["ben"]}).scalar()
    _refused("INSERT INTO exercise_checkin (assignment_id, on_date, outcome, reflection, session_id, recorded_at, "
             "version) VALUES (:a, '2026-03-02', 'done', '', :s, CURRENT_TIMESTAMP, 1)", a=bens, s=signed["session"])
    assert _snapshot(signed) == before


def test_an_unsigned_record_stays_editable_in_plain_sql(ctx, signed):
    with db.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO group_session (group_id, starts_at, duration_minutes, room, status, group_note, "
            "cancel_reason, version) SELECT group_id, '2026-03-03 10:00:00', 90, '', 'held', '', '', 1 "
            "FROM group_session WHERE id = :s"), {"s": signed["session"]})
        other = conn.execute(sa.text("SELECT max(id) FROM group_session")).scalar()
    _run("INSERT INTO attendance (session_id, patient_id, status, minutes_attended, note, recorded_at, version) "
         "VALUES (:s, :p, 'present', 90, '', CURRENT_TIMESTAMP, 1)", s=other, p=signed["ana"])
    _run("UPDATE attendance SET note = 'fine before signing' WHERE session_id = :s", s=other)
    _run("UPDATE group_session SET group_note = 'fine too' WHERE id = :s", s=other)
    _run("DELETE FROM attendance WHERE session_id = :s", s=other)
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT group_note FROM group_session WHERE id = :s"), {"s": other}).scalar() \
            == "fine too"


def test_an_entry_changes_after_signing_only_through_a_new_addendum_of_that_person(ctx, signed):
    s = signed["session"]
    # An addendum about someone else does not open Ana's entry.
    bens = _addendum(signed, "ben")
    _refused("UPDATE attendance SET note = 'x', last_addendum_id = :a WHERE session_id = :s AND patient_id = :p",
             a=bens, s=s, p=signed["ana"])
    # Pointing at a missing addendum does not either.
    _refused("UPDATE attendance SET note = 'x', last_addendum_id = 999999 WHERE session_id = :s AND patient_id = :p",
             s=s, p=signed["ana"])
    # Ana's own addendum does, once.
    anas = _addendum(signed, "ana")
    _run("UPDATE attendance SET note = 'Corrected', last_addendum_id = :a WHERE session_id = :s AND patient_id = :p",
         a=anas, s=s, p=signed["ana"])
    _refused("UPDATE attendance SET note = 'Again', last_addendum_id = :a WHERE session_id = :s AND patient_id = :p",
             a=anas, s=s, p=signed["ana"])
    # A check-in addendum is not an entry addendum, and vice versa.
    checkin = _addendum(signed, "ana", assignment=True)
    _refused("UPDATE attendance SET note = 'x', last_addendum_id = :a WHERE session_id = :s AND patient_id = :p",
             a=checkin, s=s, p=signed["ana"])
    _run("UPDATE exercise_checkin SET outcome = 'partly', last_addendum_id = :a WHERE session_id = :s",
         a=checkin, s=s)
    _refused("UPDATE exercise_checkin SET outcome = 'done', last_addendum_id = :a WHERE session_id = :s",
             a=anas, s=s)
    # The group note takes a session-level addendum (no person).
    _refused("UPDATE group_session SET group_note = 'x', last_addendum_id = :a WHERE id = :s", a=bens, s=s)
    note = _addendum(signed, None)
    _run("UPDATE group_session SET group_note = 'Corrected note', last_addendum_id = :a WHERE id = :s", a=note, s=s)
    # Even with an addendum, the session's status and signature stay as signed.
    later = _addendum(signed, None)
    _refused("UPDATE group_session SET status = 'cancelled', last_addendum_id = :a WHERE id = :s", a=later, s=s)
    snapshot = _snapshot(signed)
    assert [row.note for row in snapshot["attendance"] if row.patient_id == signed["ana"]] == ["Corrected"]
    assert snapshot["session"].group_note == "Corrected note"
    assert snapshot["checkins"][0].outcome == "partly"


def test_someone_new_on_a_signed_record_gets_an_entry_only_with_their_addendum(ctx, signed):
    s = signed["session"]
    insert = ("INSERT INTO attendance (session_id, patient_id, status, minutes_attended, note, recorded_at, "
              "version, last_addendum_id) VALUES (:s, :p, 'present', 90, '', CURRENT_TIMESTAMP, 1, :a)")
    _refused(insert, s=s, p=signed["outsider"], a=_addendum(signed, "ana"))
    _run(insert, s=s, p=signed["outsider"], a=_addendum(signed, "outsider"))
    assert len(_snapshot(signed)["attendance"]) == 3


def test_addenda_are_append_only_in_plain_sql(ctx, signed):
    _addendum(signed, "ana")
    before = _snapshot(signed)
    assert "append-only" in _refused("UPDATE attendance_addendum SET reason = 'nothing happened'")
    assert "append-only" in _refused("DELETE FROM attendance_addendum")
    assert _snapshot(signed) == before


@pytest.mark.parametrize("table", ["audit_event", "attendance_addendum", "attendance", "exercise_checkin",
                                   "group_session"])
def test_emptying_the_audit_trail_or_the_records_wholesale_is_refused(ctx, signed, backend, table):
    """PostgreSQL's TRUNCATE skips row triggers, so statement triggers refuse it; SQLite has only DELETE."""
    _addendum(signed, "ana")
    with db.engine.connect() as conn:
        events = conn.execute(sa.text("SELECT count(*) FROM audit_event")).scalar()
    assert events > 0
    before = _snapshot(signed)
    if backend == "postgresql":
        assert "TRUNCATE is refused" in _refused(f"TRUNCATE {table} CASCADE")
    else:
        _refused(f"DELETE FROM {table}")
    assert _snapshot(signed) == before
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit_event")).scalar() == events


# Downgrades -------------------------------------------------------------------------
def _sign_one(conn) -> None:
    conn.execute(sa.text("INSERT INTO track (code, name, care_level, weekly_min_minutes, weekly_min_days, "
                         "description, version) VALUES ('iop', 'IOP', 3, 540, 3, '', 1)"))
    conn.execute(sa.text("INSERT INTO care_group (name, track_id, room, capacity, active, version) "
                         "SELECT 'G', id, '', 10, true, 1 FROM track"))
    conn.execute(sa.text("INSERT INTO staff_user (email, full_name, role, password_hash, is_active_account, "
                         "created_at, version) VALUES ('c@x.example', 'C', 'counselor', 'x', true, "
                         "CURRENT_TIMESTAMP, 1)"))
    conn.execute(sa.text("INSERT INTO group_session (group_id, starts_at, duration_minutes, room, status, "
                         "group_note, cancel_reason, version, recorded_at, recorded_by_id, signed_at, signed_by_id) "
                         "SELECT g.id, '2026-03-02 10:00:00', 60, '', 'held', 'n', '', 1, CURRENT_TIMESTAMP, s.id, "
                         "CURRENT_TIMESTAMP, s.id FROM care_group g, staff_user s"))


def test_a_downgrade_that_would_drop_signatures_refuses_and_says_what_it_would_lose(scratch_url, tmp_path,  # noqa: F811
                                                                                    monkeypatch):
    monkeypatch.delenv("CLINIC_DOWNGRADE_FORCE", raising=False)
    app = _make_app(scratch_url, tmp_path)
    with app.app_context():
        try:
            config = current_app.extensions["migrate"].migrate.get_config()
            command.upgrade(config, "head")
            with db.engine.begin() as conn:
                _sign_one(conn)
            with pytest.raises(SystemExit) as refused:
                command.downgrade(config, "0002")
            assert "1 signatures of session records" in str(refused.value)
            assert "force=yes" in str(refused.value)
            with db.engine.connect() as conn:
                assert conn.execute(sa.text(
                    "SELECT count(*) FROM group_session WHERE signed_at IS NOT NULL")).scalar() == 1
            # The CLI says the same in one line and exits non-zero.
            result = app.test_cli_runner().invoke(args=["db", "downgrade", "0002"])
            assert result.exit_code != 0
            assert "Refusing to downgrade below 0003" in result.output + str(result.exception)
            # Forced, it goes through.
            config.cmd_opts = type("Opts", (), {"x": ["force=yes"]})()
            command.downgrade(config, "0002")
            with db.engine.connect() as conn:
                columns = [c["name"] for c in sa.inspect(conn).get_columns("group_session")]
            assert "signed_at" not in columns
        finally:
            db.session.remove()
            db.engine.dispose()
