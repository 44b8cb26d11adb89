"""The staff account commands."""

from __future__ import annotations

from clinic.extensions import db
from clinic.models import AuditEvent, StaffUser
from conftest import login


def _user(email):
    db.session.remove()
    return db.session.query(StaffUser).filter_by(email=email).one_or_none()


def test_user_create_takes_the_password_from_the_environment(runner, client, ctx):
    result = runner.invoke(args=["user", "create", "Lee@Clinic.example", "--role", "planner", "--name", "Lee Planner"],
                           env={"CLINIC_PASSWORD": "a sturdy passphrase"})
    assert result.exit_code == 0, result.output
    assert "Created planner account lee@clinic.example" in result.output
    user = _user("lee@clinic.example")
    assert user.role == "planner" and user.password_hash.startswith("$argon2id$")
    assert login(client, "lee@clinic.example", "a sturdy passphrase").status_code == 302
    created = db.session.query(AuditEvent).filter_by(entity="staff_user", action="create").one()
    assert created.actor_email == "cli"


def test_user_create_prompts_for_the_password_when_none_is_set(runner, ctx):
    result = runner.invoke(args=["user", "create", "kim@clinic.example", "--role", "counselor"],
                           input="a sturdy passphrase\na sturdy passphrase\n", env={"CLINIC_PASSWORD": ""})
    assert result.exit_code == 0, result.output
    assert _user("kim@clinic.example").role == "counselor"


def test_user_create_refuses_a_weak_password_a_duplicate_and_a_bad_role(runner, ctx):
    weak = runner.invoke(args=["user", "create", "a@clinic.example", "--role", "admin"], env={"CLINIC_PASSWORD": "short"})
    assert weak.exit_code != 0 and "at least 12 characters" in weak.output
    assert _user("a@clinic.example") is None
    ok = runner.invoke(args=["user", "create", "a@clinic.example", "--role", "admin"],
                       env={"CLINIC_PASSWORD": "a sturdy passphrase"})
    assert ok.exit_code == 0
    again = runner.invoke(args=["user", "create", "A@clinic.example", "--role", "admin"],
                          env={"CLINIC_PASSWORD": "a sturdy passphrase"})
    assert again.exit_code != 0 and "already exists" in again.output
    bad_role = runner.invoke(args=["user", "create", "b@clinic.example", "--role", "owner"],
                             env={"CLINIC_PASSWORD": "a sturdy passphrase"})
    assert bad_role.exit_code != 0
    assert _user("b@clinic.example") is None


def test_set_password_and_deactivate_change_who_can_log_in(runner, client, make, ctx):
    user = make.staff("counselor", email="sam@clinic.example")
    result = runner.invoke(args=["user", "set-password", "sam@clinic.example"],
                           env={"CLINIC_PASSWORD": "another sturdy phrase"})
    assert result.exit_code == 0, result.output
    assert login(client, "sam@clinic.example", "another sturdy phrase").status_code == 302
    client.post("/logout")
    result = runner.invoke(args=["user", "deactivate", "sam@clinic.example"])
    assert result.exit_code == 0, result.output
    assert login(client, "sam@clinic.example", "another sturdy phrase").status_code == 401
    missing = runner.invoke(args=["user", "deactivate", "nobody@clinic.example"])
    assert missing.exit_code != 0 and "No account" in missing.output
    assert user.id


# ---------------------------------------------------------------------------
# Every refusal is one line, with a non-zero exit, and changes nothing
# ---------------------------------------------------------------------------
import os  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

import click  # noqa: E402
import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from clinic.cli import create_user_command  # noqa: E402
from clinic.models import KindnessExercise, Patient  # noqa: E402
from clinic.services import accounts  # noqa: E402
from clinic.services.seeding import load_reference  # noqa: E402

STRONG = {"CLINIC_PASSWORD": "a sturdy passphrase"}


def rows() -> dict[str, int]:
    """How many rows every table holds, read afresh."""
    db.session.remove()
    return {
        table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def refused_in_one_line(result, *words: str) -> str:
    """Assert the command was refused with one 'Error: ...' line (no traceback); return it."""
    assert result.exit_code not in (0, None), result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: "), result.output
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def read_only_database(app):
    """Every new connection refuses writes, as a database in recovery or out of space would."""
    with app.app_context():
        engine = db.engine

        def refuse_writes(connection, _record):
            cursor = connection.cursor()
            if engine.dialect.name == "sqlite":
                cursor.execute("PRAGMA query_only = ON")
            else:
                cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
                connection.commit()  # a SET inside a rolled-back transaction would be undone
            cursor.close()

        db.session.remove()
        engine.dispose()
        sa.event.listen(engine, "connect", refuse_writes)
        yield
        db.session.remove()
        sa.event.remove(engine, "connect", refuse_writes)
        engine.dispose()


def test_a_duplicate_email_is_one_line_and_changes_nothing(runner, make, ctx):
    make.staff("planner", email="lee@clinic.example")
    before = rows()
    result = runner.invoke(args=["user", "create", " LEE@clinic.example ", "--role", "admin"], env=STRONG)
    refused_in_one_line(result, "already exists")
    assert rows() == before


def test_a_bad_role_or_a_missing_option_is_one_line(runner, ctx):
    before = rows()
    refused_in_one_line(runner.invoke(args=["user", "create", "b@clinic.example", "--role", "owner"], env=STRONG),
                        "--role")
    refused_in_one_line(runner.invoke(args=["user", "create", "b@clinic.example"], env=STRONG), "--role")
    refused_in_one_line(runner.invoke(args=["user", "create", "not-an-email", "--role", "admin"], env=STRONG),
                        "valid e-mail")
    assert rows() == before


def test_the_database_refusing_a_new_account_is_one_line(runner, ctx, read_only_database):
    result = runner.invoke(args=["user", "create", "ro@clinic.example", "--role", "admin"], env=STRONG)
    line = refused_in_one_line(result, "database refused", "nothing was changed")
    assert "ro@clinic.example" not in line


def test_the_database_refusing_is_one_line_and_nothing_is_saved(runner, make, ctx, app):
    make.staff("counselor", email="sam@clinic.example")
    before = rows()
    with app.app_context():
        engine = db.engine

        def refuse_updates(conn, cursor, statement, parameters, context, executemany):
            if statement.lstrip().upper().startswith("UPDATE"):
                raise sa.exc.OperationalError(statement, parameters, RuntimeError("disk I/O error\nmore detail"))

        sa.event.listen(engine, "before_cursor_execute", refuse_updates)
        try:
            result = runner.invoke(args=["user", "deactivate", "sam@clinic.example"])
        finally:
            sa.event.remove(engine, "before_cursor_execute", refuse_updates)
    line = refused_in_one_line(result, "database refused", "disk I/O error")
    assert "more detail" not in line
    assert rows() == before
    assert _user("sam@clinic.example").is_active_account


def test_concurrent_creations_of_one_email_give_one_account_and_one_line_each(app, backend, ctx, monkeypatch):
    if backend != "postgresql":
        pytest.skip("concurrent writers are a PostgreSQL matter; SQLite serialises whole transactions")
    writers = 6
    barrier = threading.Barrier(writers, timeout=30)
    unpatched = accounts.find_user

    def check_then_wait(email):
        # Everyone checks before anyone commits: the unique constraint decides.
        found = unpatched(email)
        barrier.wait()
        return found

    monkeypatch.setattr(accounts, "find_user", check_then_wait)
    monkeypatch.setenv("CLINIC_PASSWORD", "a sturdy passphrase")
    outcomes: list[object] = []

    def create():
        with app.app_context():
            try:
                create_user_command.main(["same@clinic.example", "--role", "counselor"], standalone_mode=False)
                outcomes.append("created")
            except click.ClickException as exc:
                outcomes.append(exc.format_message())
            except BaseException as exc:  # noqa: BLE001 - the test reports what escaped
                outcomes.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=create) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(map(str, outcomes)) == sorted(
        ["created"] + ["An account with this e-mail already exists."] * (writers - 1)
    ), outcomes
    db.session.remove()
    assert db.session.scalar(
        sa.select(sa.func.count()).select_from(StaffUser).where(StaffUser.email == "same@clinic.example")
    ) == 1
    assert db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.entity == "staff_user", AuditEvent.action == "create")
    ) == 1


# ---------------------------------------------------------------------------
# Printing: refusals, and an export audited only with the file written
# ---------------------------------------------------------------------------
def exports() -> int:
    db.session.remove()
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "export")
    )


def files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


@pytest.fixture
def catalogue(app):
    """The reference data and one patient; returns (exercise id, patient id)."""
    with app.app_context():
        load_reference()
        exercise_id = db.session.scalar(sa.select(sa.func.min(KindnessExercise.id)))
        patient = Patient(record_number="CLI-1", first_name="Ada", last_name="Example")
        db.session.add(patient)
        db.session.commit()
        return exercise_id, patient.id


@pytest.fixture
def out(tmp_path) -> Path:
    """An empty folder for the PDFs (the test's SQLite file lives beside it)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def unwritable_folder(out: Path) -> Path:
    """A folder nobody running the tests may create files in."""
    if os.geteuid() == 0:
        return Path("/sys")  # root may write almost anywhere, but not into sysfs
    folder = out / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    return folder


def test_an_export_writes_a_private_file_and_one_audit_event(runner, catalogue, ctx, out):
    exercise_id, _ = catalogue
    output = out / "handout.pdf"
    result = runner.invoke(args=["print", "handout", "--exercise", str(exercise_id), "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert output.read_bytes().startswith(b"%PDF") and (output.stat().st_mode & 0o777) == 0o600
    assert files(out) == ["handout.pdf"]
    assert exports() == 1


def test_an_unwritable_folder_is_one_line_with_no_file_and_no_audit_event(runner, catalogue, ctx, out):
    _, patient_id = catalogue
    folder = unwritable_folder(out)
    before = rows()
    result = runner.invoke(args=["print", "plan", "--patient", str(patient_id), "-o", str(folder / "plan.pdf")])
    refused_in_one_line(result, "Cannot write", "nothing was written")
    assert not (folder / "plan.pdf").exists()
    assert rows() == before


@pytest.mark.parametrize("where", ["missing folder", "a folder", "inside a file"])
def test_a_wrong_output_path_is_one_line_with_no_file_and_no_audit_event(runner, catalogue, ctx, out, where):
    exercise_id, _ = catalogue
    (out / "plain.txt").write_text("not a folder")
    output = {
        "missing folder": out / "nowhere" / "handout.pdf",
        "a folder": out,
        "inside a file": out / "plain.txt" / "handout.pdf",
    }[where]
    before = rows()
    result = runner.invoke(args=["print", "handout", "--exercise", str(exercise_id), "-o", str(output)])
    refused_in_one_line(result)
    assert files(out) == ["plain.txt"]
    assert rows() == before


def test_a_failed_write_after_rendering_leaves_no_file_and_no_audit_event(runner, catalogue, ctx, out,
                                                                          monkeypatch):
    exercise_id, _ = catalogue

    def disk_full(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("clinic.pdf.cli.os.replace", disk_full)
    before = rows()
    result = runner.invoke(args=["print", "handout", "--exercise", str(exercise_id), "-o", str(out / "h.pdf")])
    refused_in_one_line(result, "No space left on device", "nothing was written")
    assert files(out) == []
    assert rows() == before


def test_a_failed_commit_removes_the_written_file(runner, catalogue, ctx, out, monkeypatch):
    exercise_id, _ = catalogue

    def refuse(session):
        raise sa.exc.OperationalError("COMMIT", {}, RuntimeError("server closed the connection"))

    monkeypatch.setattr(sa.orm.Session, "commit", refuse)
    before = rows()
    result = runner.invoke(args=["print", "handout", "--exercise", str(exercise_id), "-o", str(out / "h.pdf")])
    refused_in_one_line(result, "database refused")
    monkeypatch.undo()
    assert files(out) == []
    assert rows() == before


def test_the_database_refusing_an_export_leaves_no_file(runner, catalogue, ctx, out, read_only_database):
    exercise_id, _ = catalogue
    result = runner.invoke(args=["print", "handout", "--exercise", str(exercise_id), "-o", str(out / "h.pdf")])
    refused_in_one_line(result, "database refused")
    assert files(out) == []


@pytest.mark.parametrize("args, words", [
    (["plan", "--patient", "999999"], ["no patient with id 999999"]),
    (["plan", "--patient", "seven"], ["--patient", "seven"]),
    (["plan", "--patient", "{patient}", "--week", "12/01/2026"], ["--week", "YYYY-MM-DD"]),
    (["packet", "--session", "999999"], ["no session with id 999999"]),
    (["handout", "--exercise", "Juggle flaming torches"], ["no exercise titled"]),
    (["progress", "--patient", "{patient}", "--from", "2026-03-31", "--to", "2026-03-01"], ["--from"]),
    (["progress", "--patient", "{patient}", "--from", "2026-02-30", "--to", "2026-03-01"], ["--from", "2026-02-30"]),
    (["progress", "--track", "nope", "--from", "2026-03-01", "--to", "2026-03-31"], ["no track with code"]),
    (["progress", "--group", "999999", "--from", "2026-03-01", "--to", "2026-03-31"], ["no group with id"]),
    (["progress", "--from", "2026-03-01", "--to", "2026-03-31"], ["exactly one of"]),
])
def test_bad_ids_and_dates_are_one_line_with_no_file_and_no_audit_event(runner, catalogue, ctx, out,
                                                                         args, words):
    _, patient_id = catalogue
    args = [arg.format(patient=patient_id) for arg in args]
    before = rows()
    result = runner.invoke(args=["print", *args, "-o", str(out / "out.pdf")])
    line = refused_in_one_line(result, *words)
    assert "Ada" not in line and "Example" not in line
    assert files(out) == []
    assert rows() == before
