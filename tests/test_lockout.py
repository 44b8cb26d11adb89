"""Failed logins pause an account for a bounded time, whatever the timing of the attempts."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import AuditEvent, LoginSession, StaffUser
from clinic.models._types import utcnow
from clinic.services import accounts, audit, logins
from conftest import PASSWORD, login, serving

PAUSED = "Too many failed attempts"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _post_login(base: str, email: str, password: str) -> int:
    opener = urllib.request.build_opener(_NoRedirect)
    data = urllib.parse.urlencode({"email": email, "password": password}).encode()
    try:
        with opener.open(f"{base}/login", data=data, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _all_at_once(base: str, email: str, password: str, count: int) -> list[int]:
    """``count`` logins released at the same moment from as many threads; their statuses."""
    barrier = threading.Barrier(count)
    statuses: list[int] = []
    lock = threading.Lock()

    def attempt():
        barrier.wait()
        status = _post_login(base, email, password)
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=attempt) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(statuses)


def _failed(email: str) -> tuple[int, int]:
    """(failures after a real password check, attempts refused during a pause) for ``email``."""
    db.session.remove()
    rows = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "failed_login", AuditEvent.actor_email == email)).all()
    refused = sum(1 for row in rows if row.changes.get("reason") == "locked")
    db.session.remove()  # give the connection back before the live server's engine is disposed
    return len(rows) - refused, refused


@pytest.fixture
def checks(monkeypatch):
    """Counts the password checks the server really makes."""
    seen = []
    original = accounts._verify

    def counting(user, password):
        seen.append(1)
        return original(user, password)

    monkeypatch.setattr(accounts, "_verify", counting)
    return seen


def _served(app, test):
    """Run ``test(base_url)`` against a live server, the test's own connection given back first."""
    db.session.remove()
    with serving(app) as base:
        try:
            return test(base)
        finally:
            engine = db.engine
            deadline = time.monotonic() + 10
            while engine.pool.checkedout() and time.monotonic() < deadline:
                time.sleep(0.02)  # server threads finish their teardown after the response


def test_a_burst_of_wrong_passwords_gets_no_more_checks_than_the_limit(app, make, checks):
    email = make.staff("counselor").email

    def burst(base):
        statuses = _all_at_once(base, email, "wrong password here", 16)
        # Even the right password is refused now, without a check.
        return statuses, _post_login(base, email, PASSWORD)

    statuses, afterwards = _served(app, burst)
    assert statuses == [401] * 16
    assert afterwards == 401
    assert len(checks) == 5
    assert _failed(email) == (5, 12)


def test_simultaneous_correct_logins_of_one_account_all_succeed(app, make):
    user = make.staff("counselor")
    version = user.version
    statuses = _served(app, lambda base: _all_at_once(base, user.email, PASSWORD, 8))
    assert statuses == [302] * 8
    db.session.remove()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginSession)
                             .where(LoginSession.staff_id == user.id)) == 8
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "login")) == 8
    fresh = db.session.get(StaffUser, user.id)
    assert fresh.last_login_at is not None
    # Logging in is not an edit: a form opened before it still saves.
    assert fresh.version == version


def _later(monkeypatch, minutes: float) -> None:
    moment = utcnow() + timedelta(minutes=minutes)
    for module in (accounts, audit, logins):
        monkeypatch.setattr(module, "utcnow", lambda: moment)


def test_attempts_during_a_pause_are_audited_but_do_not_extend_it(app, client, make, monkeypatch):
    app.config["LOGIN_LOCKOUT_MINUTES"] = 15
    user = make.staff("counselor")
    for _ in range(5):
        login(client, user.email, "wrong password here")
    for minutes in (1, 5, 10, 14):
        _later(monkeypatch, minutes)
        response = login(client, user.email, "another wrong one")
        assert PAUSED in response.get_data(as_text=True), minutes
    assert _failed(user.email) == (5, 4)
    _later(monkeypatch, 15.5)
    assert login(client, user.email).status_code == 302


def test_the_pause_message_names_the_longest_wait_and_the_pause_ends_then(app, client, make, monkeypatch):
    app.config["LOGIN_LOCKOUT_MINUTES"] = 10
    user = make.staff("counselor")
    for _ in range(5):
        login(client, user.email, "wrong password here")
    paused = login(client, user.email)
    assert "paused for up to 10 minutes" in paused.get_data(as_text=True)
    _later(monkeypatch, 9.5)
    assert login(client, user.email).status_code == 401
    _later(monkeypatch, 10.5)
    assert login(client, user.email).status_code == 302


def _database_down(app):
    def refuse(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("the database is restarting"))

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", refuse)
    return refuse


@pytest.mark.parametrize("path", ["/admin/", "/admin/patients/", "/no-such-page"])
def test_error_pages_render_for_a_logged_in_user_while_the_database_is_down(app, make, path):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    user = make.staff("admin")
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    refuse = _database_down(app)
    try:
        response = client.get(path)
    finally:
        with app.app_context():
            sa.event.remove(db.engine, "before_cursor_execute", refuse)
    text = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in text and "Nothing you saved before this was lost" in text
    # Once the database is back, the same login works again.
    assert client.get("/admin/").status_code == 200


def test_error_pages_do_not_load_the_user_from_the_database(app, make, monkeypatch):
    user = make.staff("counselor")
    client = app.test_client()
    assert login(client, user.email).status_code == 302

    def loader_fails(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("no database"))

    app.config["PROPAGATE_EXCEPTIONS"] = False
    monkeypatch.setattr(logins, "resolve", loader_fails)
    for path in ("/admin/", "/no-such-page"):
        response = client.get(path)
        assert response.status_code == 500, path
        assert "Something went wrong" in response.get_data(as_text=True)
        assert "Internal Server Error" not in response.get_data(as_text=True)
