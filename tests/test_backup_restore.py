"""A PostgreSQL backup restores into a working clinic: ``pg_dump -Fc`` then ``pg_restore``.

The commands are the ones the README's "Backup and restore" part gives, run as an operator
would (the PostgreSQL install's own binaries, of the server's major version). The source is
a clinic filled through the app (the demo clinic: patients, signed session records, audit
events); the copy is a new, empty database. The restored clinic must have every row of every
table, log a person in and show a patient, keep refusing a change to a signed record and to
the audit trail (its triggers came back), be at the same alembic revision, and hand out fresh
ids (its sequences continue where the source's stood).

PostgreSQL only; under ``CI=true`` a missing PostgreSQL (or its client binaries) fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Patient
from clinic.services.patients import create_patient
from clinic.services.seeding import load_demo
from conftest import PG_ADMIN_URL, _make_app, _upgrade, login, missing

#: A fixed "today" so the demo clinic is the same on every run.
TODAY = date(2026, 3, 18)


def _admin_engine() -> sa.Engine:
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not available"
        engine.dispose()
        missing(f"PostgreSQL at {PG_ADMIN_URL}")
    return engine


def _binary(name: str, major: int) -> str:
    """The PostgreSQL client ``name`` of the server's major version (client and server must match)."""
    candidate = Path(f"/usr/lib/postgresql/{major}/bin/{name}")
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        missing(f"PostgreSQL's {name} (version {major})")
    return found


def _libpq(url: sa.URL) -> str:
    """The URL as libpq (pg_dump, pg_restore) reads it: no SQLAlchemy driver suffix."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PGCONNECT_TIMEOUT": "10"})
    assert done.returncode == 0, f"{command[0]} failed: {done.stderr}"


def _tables(conn) -> list[str]:
    return list(conn.execute(sa.text(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
        "AND table_type = 'BASE TABLE' ORDER BY table_name")).scalars())


def _row_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar() for t in _tables(conn)}
    finally:
        engine.dispose()


def _sequences(url: str) -> dict[str, tuple[int, bool]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT sequencename, last_value, last_value IS NOT NULL FROM pg_sequences "
                "WHERE schemaname = 'public'")).all()
            return {name: (value, called) for name, value, called in rows}
    finally:
        engine.dispose()


def _triggers(url: str) -> set[tuple[str, str]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(sa.text(
                "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal")).all())
    finally:
        engine.dispose()


def _revision(url: str) -> str:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


@pytest.fixture
def databases(tmp_path):
    """(source URL, empty target URL, the admin engine, the dump file); both dropped afterwards."""
    admin = _admin_engine()
    stem = f"clinic_backup_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    source, target = f"{stem}_src", f"{stem}_restored"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{source}"'))
    base = admin.url
    try:
        yield base.set(database=source), base.set(database=target), admin, tmp_path / "clinic.dump"
    finally:
        with admin.connect() as conn:
            for name in (source, target):
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_pg_dump_restores_into_a_working_clinic(databases, tmp_path):
    source, target, admin, dump = databases
    source_url = source.render_as_string(hide_password=False)
    target_url = target.render_as_string(hide_password=False)

    # A clinic filled through the app: migrations, then the demo (records saved and signed
    # by the recording service, every change audited).
    _upgrade(source_url, tmp_path)
    app = _make_app(source_url, tmp_path)
    with app.app_context():
        result = load_demo(today=TODAY)
        assert result.loaded, result.message
        admin_login = next(person for person in result.logins if person.role == "admin")
        patient = db.session.scalar(sa.select(Patient).order_by(Patient.id).limit(1))
        patient_id, patient_name = patient.id, patient.full_name
        signed_session = db.session.execute(sa.text(
            "SELECT s.id FROM group_session s WHERE s.signed_at IS NOT NULL "
            "AND EXISTS (SELECT 1 FROM attendance a WHERE a.session_id = s.id) ORDER BY s.id LIMIT 1")).scalar()
        assert signed_session is not None
        db.session.remove()
        db.engine.dispose()

    before = _row_counts(source_url)
    assert before["audit_event"] > 0 and before["attendance"] > 0 and before["patient"] > 0
    sequences_before = _sequences(source_url)
    triggers_before = _triggers(source_url)
    revision = _revision(source_url)
    assert any(table == "audit_event" for table, _ in triggers_before)

    # The README's commands: dump in the custom format, make an empty database, restore into it.
    with admin.connect() as conn:
        major = conn.execute(sa.text("SELECT current_setting('server_version_num')::int / 10000")).scalar()
    _run([_binary("pg_dump", major), "--format=custom", f"--file={dump}", f"--dbname={_libpq(source)}"])
    assert dump.stat().st_size > 0
    _run([_binary("createdb", major), f"--host={target.host}", f"--port={target.port or 5432}",
          f"--username={target.username}", target.database])
    _run([_binary("pg_restore", major), "--no-owner", "--single-transaction", "--exit-on-error",
          f"--dbname={_libpq(target)}", str(dump)])

    # Every row of every table, the triggers and the sequences as they stood.
    assert _row_counts(target_url) == before
    assert _triggers(target_url) == triggers_before
    assert _sequences(target_url) == sequences_before

    restored = _make_app(target_url, tmp_path)
    with restored.app_context():
        engine = db.engine

        def refused(sql: str, **params) -> str:
            with pytest.raises(sa.exc.DatabaseError) as caught:
                with engine.begin() as conn:
                    conn.execute(sa.text(sql), params)
            return str(caught.value.orig)

        # The same schema revision.
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == revision

        # A signed record still refuses a plain change; the audit trail UPDATE and DELETE.
        notes = "SELECT note FROM attendance WHERE session_id = :s ORDER BY patient_id"
        with engine.connect() as conn:
            kept = conn.execute(sa.text(notes), {"s": signed_session}).scalars().all()
        assert "signed" in refused("UPDATE attendance SET note = 'rewritten' WHERE session_id = :s", s=signed_session)
        refused("DELETE FROM attendance WHERE session_id = :s", s=signed_session)
        refused("UPDATE group_session SET group_note = 'rewritten' WHERE id = :s", s=signed_session)
        refused("UPDATE audit_event SET entity = 'x'")
        refused("DELETE FROM audit_event")
        refused("TRUNCATE audit_event")
        with engine.connect() as conn:
            assert conn.execute(sa.text(notes), {"s": signed_session}).scalars().all() == kept
        last_event = before["audit_event"]
        with engine.connect() as conn:
            highest_before = conn.execute(sa.text("SELECT max(id) FROM audit_event")).scalar()
            highest_patient = conn.execute(sa.text("SELECT max(id) FROM patient")).scalar()
        db.session.remove()

    # The app logs in on the restored database and shows a patient; the login and the view
    # are audited with fresh ids.
    client = restored.test_client()
    answer = login(client, admin_login.email, admin_login.password)
    assert answer.status_code == 302 and "/login" not in answer.headers["Location"]
    page = client.get(f"/admin/patients/details/?id={patient_id}")
    assert page.status_code == 200
    assert patient_name in page.get_data(as_text=True)
    with restored.app_context():
        with db.engine.connect() as conn:
            new_events = conn.execute(sa.text("SELECT id FROM audit_event WHERE id > :m"),
                                      {"m": highest_before}).scalars().all()
            assert conn.execute(sa.text("SELECT count(*) FROM audit_event")).scalar() == \
                last_event + len(new_events)
        assert len(new_events) >= 2  # the login and the patient view
        # A new patient gets an id after every restored one, not one already taken.
        newcomer = create_patient({"record_number": "RESTORED-1", "first_name": "Nova",
                                   "last_name": "Afterrestore", "active": True})
        db.session.commit()
        assert newcomer.id > highest_patient
        db.session.remove()
        db.engine.dispose()
