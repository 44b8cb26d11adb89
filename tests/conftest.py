"""Shared fixtures: a fresh, migrated database per test on SQLite and PostgreSQL.

Every database test runs twice, once per backend. The schema is made once per
backend by the migrations (never by ``create_all``); each test then gets an empty
copy: a copied SQLite file, or PostgreSQL tables truncated after the test.
Under ``CI=true`` a missing PostgreSQL or Chromium fails the run instead of skipping.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import os
import shutil
import threading
import uuid
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from flask.testing import FlaskClient, FlaskCliRunner

from clinic import create_app
from clinic.extensions import db
from clinic.models import CareGroup, Enrolment, GroupMembership, Patient, StaffUser, Track

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_ADMIN_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PASSWORD = "correct horse battery"


def missing(what: str) -> None:
    """Skip (or, under CI, fail) because ``what`` is not available."""
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true but is not available.")
    pytest.skip(f"{what} is not available; install it to run this test.")


def _environ(url: str, instance: Path) -> dict[str, str]:
    return {
        "CLINIC_ENV": "testing",
        "SECRET_KEY": "test-secret-key-not-for-production",
        "DATABASE_URL": url,
    }


class IsolatedClient(FlaskClient):
    """A test client whose requests never share the test's application context.

    Each request then has its own context, database session and ``g``, as it
    would on a real server, even while the test holds a context open for its
    factories and queries.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


class IsolatedRunner(FlaskCliRunner):
    """A CLI runner whose commands get their own application context, as in a real process."""

    def invoke(self, *args, **kwargs):
        return contextvars.Context().run(super().invoke, *args, **kwargs)


def _make_app(url: str, instance: Path, **extra):
    config = {
        "ENVIRON": _environ(url, instance),
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
    }
    config.update(extra)
    application = create_app(config)
    application.test_client_class = IsolatedClient
    application.test_cli_runner_class = IsolatedRunner
    return application


def _upgrade(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = _make_app(url, instance)
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file that the migrations brought up to date, copied for each test."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.sqlite"
    _upgrade(f"sqlite:///{path}", folder)
    return path


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory) -> str | None:
    """A private PostgreSQL database, migrated once for the whole run; None when unreachable."""
    try:
        admin_engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return None
    name = f"clinic_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin_engine.url.set(database=name).render_as_string(hide_password=False)
    _upgrade(url, tmp_path_factory.mktemp("pg"))
    _offset_ids(url)
    yield url
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin_engine.dispose()


def _offset_ids(url: str) -> None:
    """Start every table's ids at its own offset, so a key taken from the wrong table fails a test.

    With ids running 1, 2, 3 in every table, ``patient.id`` and ``staff_user.id`` coincide
    and a query joining on the wrong one still finds "the right" row. TRUNCATE ... RESTART
    IDENTITY later restarts each sequence at this START value.
    """
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for number, table in enumerate(db.metadata.sorted_tables, start=1):
            if "id" not in table.c or not table.c.id.primary_key:
                continue
            sequence = conn.execute(
                sa.text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name}
            ).scalar()
            if sequence:
                start = number * 1000 + number * 37
                conn.execute(sa.text(f"ALTER SEQUENCE {sequence} START WITH {start} RESTART WITH {start}"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    """The database the test runs on."""
    return request.param


@pytest.fixture
def database_url(backend, request, tmp_path) -> str:
    """A URL to an empty, migrated database of the chosen backend."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "clinic.sqlite"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    if url is None:
        missing(f"PostgreSQL at {PG_ADMIN_URL}")
    return url


def _truncate(app) -> None:
    with app.app_context():
        db.session.remove()
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            # The database refuses TRUNCATE of the audit trail and signed records (statement
            # triggers); a test database is emptied with triggers off, as a superuser may.
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


@pytest.fixture
def app(database_url, backend, tmp_path):
    """An application on an empty, migrated database."""
    application = _make_app(database_url, tmp_path)
    application.config["TEST_BACKEND"] = backend
    yield application
    if backend == "postgresql":
        _truncate(application)
    else:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def ctx(app):
    """An application context around the test."""
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    """A test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner."""
    return app.test_cli_runner()


_counter = itertools.count(1)


class Factory:
    """Builds records with sensible defaults; every method commits."""

    def track(self, code: str = "iop", **kw) -> Track:
        existing = db.session.scalar(sa.select(Track).where(Track.code == code))
        if existing:
            return existing
        defaults = {
            "inpatient": ("Inpatient", 1, 630, 7),
            "intensive": ("Intensive (partial hospitalisation)", 2, 1200, 5),
            "iop": ("Intensive outpatient (IOP)", 3, 540, 3),
        }
        name, level, minutes, days = defaults.get(code, (code.title(), 10 + next(_counter), 60, 1))
        track = Track(code=code, name=kw.pop("name", name), care_level=kw.pop("care_level", level),
                      weekly_min_minutes=minutes, weekly_min_days=days, **kw)
        db.session.add(track)
        db.session.commit()
        return track

    def staff(self, role: str = "counselor", email: str | None = None, password: str = PASSWORD,
              **kw) -> StaffUser:
        from clinic.services.accounts import hash_password

        n = next(_counter)
        user = StaffUser(
            email=email or f"{role}{n}@clinic.example",
            full_name=kw.pop("full_name", f"{role.title()} {n}"),
            role=role,
            password_hash=hash_password(password),
            is_active_account=kw.pop("is_active_account", True),
            **kw,
        )
        db.session.add(user)
        db.session.commit()
        return user

    def patient(self, **kw) -> Patient:
        n = next(_counter)
        patient = Patient(
            record_number=kw.pop("record_number", f"TEST-{n:05d}"),
            first_name=kw.pop("first_name", f"Robin{n}"),
            last_name=kw.pop("last_name", f"Testperson{n}"),
            **kw,
        )
        db.session.add(patient)
        db.session.commit()
        return patient

    def enrolment(self, patient: Patient, track: Track, counselor: StaffUser | None = None,
                  start: date = date(2026, 1, 5), **kw) -> Enrolment:
        enrolment = Enrolment(patient_id=patient.id, track_id=track.id, start_date=start,
                              primary_counselor_id=counselor.id if counselor else None, **kw)
        db.session.add(enrolment)
        db.session.commit()
        return enrolment

    def group(self, track: Track, facilitator: StaffUser | None = None, **kw) -> CareGroup:
        n = next(_counter)
        group = CareGroup(name=kw.pop("name", f"Group {n}"), track_id=track.id,
                          facilitator_id=facilitator.id if facilitator else None,
                          room=kw.pop("room", "Room 1"), capacity=kw.pop("capacity", 10), **kw)
        db.session.add(group)
        db.session.commit()
        return group

    def membership(self, group: CareGroup, patient: Patient, start: date = date(2026, 1, 5),
                   **kw) -> GroupMembership:
        membership = GroupMembership(group_id=group.id, patient_id=patient.id, start_date=start, **kw)
        db.session.add(membership)
        db.session.commit()
        return membership


@pytest.fixture
def make(ctx) -> Factory:
    """Factories for test records (inside an application context)."""
    return Factory()


def login(client, email: str, password: str = PASSWORD, next_url: str | None = None):
    """Log in through the real form and return the response."""
    url = "/login" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"email": email, "password": password})


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Playwright waits at most this long for anything, so a hang fails fast.
TIMEOUT_MS = 10_000



def browser_login(browser, base: str, email: str, password: str = PASSWORD, *, init_script: str | None = None,
                  **context_options):
    """A new browser context logged in as ``email`` through the real form; returns (context, page).

    ``context_options`` go to ``browser.new_context`` (a 1400 x 1100 viewport unless given).
    """
    context = browser.new_context(**{"viewport": {"width": 1400, "height": 1100}, **context_options})
    context.set_default_timeout(TIMEOUT_MS)
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    page.goto(base + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    return context, page

@pytest.fixture
def browser():
    """Debian's Chromium, driven by Playwright (headless, no network of its own)."""
    if not CHROMIUM.exists():
        missing("Debian's Chromium at /usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@contextlib.contextmanager
def serving(app):
    """Serve ``app`` on a free local port in a thread; yield its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
