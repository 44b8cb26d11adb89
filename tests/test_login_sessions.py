"""Logins live in the database: a copied cookie stops working the moment the login ends."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from admin_helpers import read_form
from clinic.extensions import db
from clinic.models import AuditEvent, LoginSession, StaffUser
from clinic.models._types import utcnow
from clinic.services import logins
from conftest import PASSWORD

NEW_PASSWORD = "a brand new long password"
COOKIE = "clinic_session"


def _logged_in(app, user, address="10.0.0.1"):
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD},
                           environ_base={"REMOTE_ADDR": address},
                           headers={"User-Agent": "Firefox on the ward PC"})
    assert response.status_code == 302
    return client


def _replay(app, client):
    """A second browser at another address using a copy of ``client``'s cookie."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return thief


def _opens_patients(client) -> bool:
    return client.get("/admin/patients/", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 200


def _sessions(user_id=None):
    db.session.remove()
    query = sa.select(LoginSession).order_by(LoginSession.id)
    if user_id is not None:
        query = query.where(LoginSession.staff_id == user_id)
    return list(db.session.scalars(query))


def test_the_cookie_holds_a_random_token_and_the_database_only_its_hash(app, make):
    user = make.staff("admin")
    client = _logged_in(app, user)
    [row] = _sessions()
    assert row.staff_id == user.id and row.ended_at is None
    assert row.ip_address == "10.0.0.1" and row.user_agent == "Firefox on the ward PC"
    cookie = client.get_cookie(COOKIE).value
    assert row.token_hash not in cookie
    with app.test_request_context():
        data = app.session_interface.get_signing_serializer(app).loads(cookie)
    assert data["_user_id"] != str(user.id)
    assert logins.hash_token(data["_user_id"]) == row.token_hash


def test_a_cookie_copied_before_logout_no_longer_opens_anything(app, make):
    user = make.staff("admin")
    client = _logged_in(app, user)
    thief = _replay(app, client)
    assert _opens_patients(thief)
    client.post("/logout")
    assert not _opens_patients(thief)
    assert thief.post("/keepalive").status_code == 302
    [row] = _sessions()
    assert row.end_reason == "logout" and row.ended_at is not None


def test_logging_out_ends_only_that_login(app, make):
    user = make.staff("admin")
    office = _logged_in(app, user)
    ward = _logged_in(app, user, "10.0.0.2")
    office.post("/logout")
    assert _opens_patients(ward)
    assert not _opens_patients(office)


def test_set_password_on_the_command_line_ends_every_login_of_the_account(app, make, runner):
    user = make.staff("admin")
    other = make.staff("admin")
    first, second = _logged_in(app, user), _logged_in(app, user, "10.0.0.2")
    bystander = _logged_in(app, other)
    copy = _replay(app, first)
    result = runner.invoke(args=["user", "set-password", user.email], env={"CLINIC_PASSWORD": NEW_PASSWORD})
    assert result.exit_code == 0, result.output
    for client in (first, second, copy):
        assert not _opens_patients(client)
    assert _opens_patients(bystander)
    assert {r.end_reason for r in _sessions(user.id)} == {"password_changed"}
    event = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "logout", AuditEvent.entity == "staff_user")).one()
    assert event.entity_id == str(user.id) and event.actor_email == "cli"
    assert event.changes == {"sessions_ended": 2, "reason": "password_changed"}


def test_a_password_changed_by_an_admin_ends_the_accounts_logins(app, make):
    admin = make.staff("admin")
    user = make.staff("counselor")
    theirs = _logged_in(app, user)
    assert theirs.get("/admin/").status_code == 200
    copy = _replay(app, theirs)
    admins = _logged_in(app, admin)
    form = read_form(admins, f"/admin/staff/edit/?id={user.id}")
    form["new_password"] = NEW_PASSWORD
    response = admins.post(f"/admin/staff/edit/?id={user.id}", data=form)
    assert response.status_code == 302
    assert theirs.get("/admin/").status_code == 302
    assert copy.get("/admin/").status_code == 302
    assert _opens_patients(admins)
    assert [r.end_reason for r in _sessions(user.id)] == ["password_changed"]


def test_an_admin_edit_without_a_new_password_keeps_the_logins(app, make):
    admin = make.staff("admin")
    user = make.staff("counselor")
    theirs = _logged_in(app, user)
    admins = _logged_in(app, admin)
    form = read_form(admins, f"/admin/staff/edit/?id={user.id}")
    form["full_name"] = "Renamed Counselor"
    assert admins.post(f"/admin/staff/edit/?id={user.id}", data=form).status_code == 302
    assert theirs.get("/admin/").status_code == 200


def test_deactivating_an_account_ends_its_logins_from_the_admin_and_the_cli(app, make, runner):
    admin = make.staff("admin")
    user = make.staff("counselor")
    other = make.staff("counselor")
    theirs, others = _logged_in(app, user), _logged_in(app, other)
    admins = _logged_in(app, admin)
    form = read_form(admins, f"/admin/staff/edit/?id={user.id}")
    form.pop("is_active_account", None)
    assert admins.post(f"/admin/staff/edit/?id={user.id}", data=form).status_code == 302
    assert theirs.get("/admin/").status_code == 302
    assert [r.end_reason for r in _sessions(user.id)] == ["deactivated"]

    assert others.get("/admin/").status_code == 200
    result = runner.invoke(args=["user", "deactivate", other.email])
    assert result.exit_code == 0, result.output
    assert others.get("/admin/").status_code == 302


def test_a_session_whose_account_was_deactivated_directly_in_the_database_is_refused(app, make, ctx):
    user = make.staff("counselor")
    client = _logged_in(app, user)
    db.session.execute(sa.update(StaffUser.__table__).where(StaffUser.__table__.c.id == user.id)
                       .values(is_active_account=False))
    db.session.commit()
    assert client.get("/admin/").status_code == 302


def test_an_admin_ends_all_sessions_from_the_staff_page(app, make):
    admin = make.staff("admin")
    user = make.staff("counselor")
    theirs = _logged_in(app, user)
    copy = _replay(app, theirs)
    admins = _logged_in(app, admin)
    page = admins.get(f"/admin/staff/details/?id={user.id}").get_data(as_text=True)
    assert "End all sessions" in page
    response = admins.post("/admin/signins/end/", data={"staff_id": user.id, "back": "details"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/staff/details/?id={user.id}")
    assert "Ended 1 sign-in of this account." in admins.get(response.headers["Location"]).get_data(as_text=True)
    assert theirs.get("/admin/").status_code == 302
    assert copy.get("/admin/").status_code == 302
    assert [r.end_reason for r in _sessions(user.id)] == ["ended_by_admin"]
    event = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "logout", AuditEvent.entity == "staff_user")).one()
    assert event.actor_id == admin.id and event.changes["reason"] == "ended_by_admin"


def test_only_an_admin_can_end_someone_elses_sessions(app, make):
    user = make.staff("counselor")
    theirs = _logged_in(app, user)
    planner = _logged_in(app, make.staff("planner"))
    assert planner.post("/admin/signins/end/", data={"staff_id": user.id}).status_code == 403
    assert planner.get("/admin/signins/").status_code == 403
    assert theirs.post("/admin/signins/end/", data={"staff_id": user.id}).status_code == 403
    assert theirs.get("/admin/").status_code == 200
    assert [r.ended_at for r in _sessions(user.id)] == [None]


def test_end_sessions_on_the_command_line(app, make, runner):
    user = make.staff("counselor")
    theirs = _logged_in(app, user)
    result = runner.invoke(args=["user", "end-sessions", user.email.upper()])
    assert result.exit_code == 0, result.output
    assert f"Ended 1 login session of {user.email}." in result.output
    assert theirs.get("/admin/").status_code == 302
    unknown = runner.invoke(args=["user", "end-sessions", "nobody@clinic.example"])
    assert unknown.exit_code != 0
    assert unknown.output.strip() == "Error: No account has this e-mail."


def _shift(monkeypatch, delta):
    base = utcnow()
    monkeypatch.setattr(logins, "utcnow", lambda: base + delta)


def test_a_login_left_idle_too_long_ends(app, make, monkeypatch):
    app.config["SESSION_IDLE_MINUTES"] = 30
    user = make.staff("counselor")
    client = _logged_in(app, user)
    _shift(monkeypatch, timedelta(minutes=29))
    assert client.get("/admin/").status_code == 200
    # That request counted as activity: another 29 minutes later it is still open.
    _shift(monkeypatch, timedelta(minutes=58))
    assert client.get("/admin/").status_code == 200
    _shift(monkeypatch, timedelta(minutes=89))
    assert client.get("/admin/").status_code == 302
    [row] = _sessions()
    assert row.end_reason == "idle"
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "logout")).one()
    assert (event.actor_id, event.entity, event.changes) == (user.id, "login_session", {"reason": "idle"})
    # Going back in time does not reopen it.
    monkeypatch.undo()
    assert client.get("/admin/").status_code == 302


def test_last_seen_is_written_at_most_once_a_minute(app, make, monkeypatch):
    user = make.staff("counselor")
    client = _logged_in(app, user)
    [before] = _sessions()
    _shift(monkeypatch, timedelta(seconds=30))
    assert client.get("/admin/").status_code == 200
    assert _sessions()[0].last_seen_at == before.last_seen_at
    _shift(monkeypatch, timedelta(seconds=90))
    assert client.get("/admin/").status_code == 200
    assert _sessions()[0].last_seen_at > before.last_seen_at


def test_keepalive_cannot_stretch_a_login_past_its_maximum_length(app, make, monkeypatch):
    app.config["SESSION_MAX_HOURS"] = 2
    user = make.staff("counselor")
    client = _logged_in(app, user)
    for minutes in range(10, 120, 10):
        _shift(monkeypatch, timedelta(minutes=minutes))
        assert client.post("/keepalive").status_code == 204, minutes
    _shift(monkeypatch, timedelta(minutes=120))
    assert client.post("/keepalive").status_code == 302
    assert client.get("/admin/").status_code == 302
    [row] = _sessions()
    assert row.end_reason == "expired"
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "logout")).one()
    assert event.changes == {"reason": "expired"} and event.entity_id == str(row.id)


def test_the_active_sign_ins_page_lists_open_logins_per_person(app, make, monkeypatch):
    admin = make.staff("admin", full_name="Alex Admin")
    user = make.staff("counselor", full_name="Casey Counselor")
    gone = make.staff("counselor", full_name="Gone Home")
    _logged_in(app, user, "10.0.0.7")
    _logged_in(app, user, "10.0.0.8")
    _logged_in(app, gone).post("/logout")
    patient = make.patient()
    admins = _logged_in(app, admin)
    page = admins.get("/admin/signins/").get_data(as_text=True)
    assert "Casey Counselor" in page and "10.0.0.7" in page and "10.0.0.8" in page
    assert "End all sign-ins (2)" in page
    assert "Alex Admin" in page and "this browser" in page
    assert "Gone Home" not in page
    assert patient.last_name not in page and patient.record_number not in page
    assert "Active sign-ins" in admins.get("/admin/").get_data(as_text=True)
    # Idle logins are not listed.
    app.config["SESSION_IDLE_MINUTES"] = 1
    _shift(monkeypatch, timedelta(minutes=2))
    with app.app_context():
        assert logins.active(app.config) == []


def test_an_admin_changing_their_own_password_stays_logged_in_here_only(app, make):
    admin = make.staff("admin")
    here = _logged_in(app, admin)
    elsewhere = _logged_in(app, admin, "10.0.0.2")
    form = read_form(here, f"/admin/staff/edit/?id={admin.id}")
    form["new_password"] = NEW_PASSWORD
    assert here.post(f"/admin/staff/edit/?id={admin.id}", data=form).status_code == 302
    assert _opens_patients(here)
    assert not _opens_patients(elsewhere)
    assert sorted(r.end_reason for r in _sessions(admin.id)) == ["", "password_changed"]


def test_the_idle_timeout_follows_session_minutes_unless_set_and_logins_last_twelve_hours_at_most(tmp_path):
    from clinic.config import load_config

    base = {"CLINIC_ENV": "testing", "SECRET_KEY": "x"}
    assert load_config(str(tmp_path), base)["SESSION_IDLE_MINUTES"] == 60
    assert load_config(str(tmp_path), base)["SESSION_MAX_HOURS"] == 12
    assert load_config(str(tmp_path), {**base, "SESSION_MINUTES": "45"})["SESSION_IDLE_MINUTES"] == 45
    both = load_config(str(tmp_path), {**base, "SESSION_MINUTES": "45", "SESSION_IDLE_MINUTES": "20",
                                       "SESSION_MAX_HOURS": "8"})
    assert (both["SESSION_IDLE_MINUTES"], both["SESSION_MAX_HOURS"]) == (20, 8)
