"""Logging in and out, throttling, the next redirect and CSRF."""

from __future__ import annotations

from clinic.extensions import db
from clinic.models import AuditEvent
from conftest import PASSWORD, login


def _events(action):
    db.session.remove()
    return db.session.query(AuditEvent).filter_by(action=action).all()


def test_a_staff_member_logs_in_with_the_right_password_and_it_is_audited(client, make):
    user = make.staff("planner")
    response = login(client, user.email.upper())
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/")
    logins = _events("login")
    assert [(e.actor_id, e.actor_email) for e in logins] == [(user.id, user.email)]


def test_a_wrong_password_and_an_unknown_email_get_the_same_plain_message(client, make):
    user = make.staff("planner")
    wrong = login(client, user.email, "not the password at all")
    unknown = login(client, "nobody@clinic.example", "whatever password")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "The e-mail or password is not right." in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    assert len(_events("failed_login")) == 2


def test_a_deactivated_account_cannot_log_in(client, make):
    user = make.staff("counselor", is_active_account=False)
    response = login(client, user.email)
    assert response.status_code == 401
    assert client.get("/admin/").status_code == 302


def test_repeated_failures_lock_the_account_even_for_the_right_password(client, make):
    user = make.staff("counselor")
    for _ in range(5):
        login(client, user.email, "wrong password here")
    locked = login(client, user.email)
    assert locked.status_code == 401
    assert "Too many failed attempts" in locked.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_one_address_guessing_many_accounts_is_locked_out(app, client, make):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 4
    user = make.staff("counselor")
    for n in range(4):
        login(client, f"guess{n}@clinic.example", "wrong password here")
    locked = login(client, user.email)
    assert "Too many failed attempts" in locked.get_data(as_text=True)
    other_address = app.test_client()
    ok = other_address.post("/login", data={"email": user.email, "password": PASSWORD},
                             environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert ok.status_code == 302


def test_a_successful_login_resets_the_account_failure_count(client, make):
    user = make.staff("counselor")
    for _ in range(4):
        login(client, user.email, "wrong password here")
    assert login(client, user.email).status_code == 302
    client.post("/logout")
    for _ in range(4):
        login(client, user.email, "wrong password here")
    assert login(client, user.email).status_code == 302


def test_next_only_redirects_within_the_site(client, make):
    user = make.staff("planner")
    ok = login(client, user.email, next_url="/admin/patients/")
    assert ok.headers["Location"].endswith("/admin/patients/")
    client.post("/logout")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        response = login(client, user.email, next_url=target)
        assert response.status_code == 302
        assert "evil" not in response.headers["Location"], target
        assert response.headers["Location"].endswith("/admin/")
        client.post("/logout")


def test_logout_needs_a_post_and_ends_the_session(client, make):
    user = make.staff("planner")
    login(client, user.email)
    assert client.get("/logout").status_code == 405
    assert client.get("/admin/").status_code == 200
    client.post("/logout")
    assert client.get("/admin/").status_code == 302
    assert len(_events("logout")) == 1


def test_a_post_without_a_csrf_token_is_refused(make, database_url, tmp_path):
    from conftest import _make_app

    app = _make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    with app.app_context():
        user = make.staff("admin")
        email = user.email
    client = app.test_client()
    try:
        response = client.post("/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 400
        assert "Nothing was saved" in response.get_data(as_text=True)
        assert client.get("/admin/").status_code == 302
    finally:
        with app.app_context():
            db.engine.dispose()


def test_an_old_password_hash_is_upgraded_at_login(client, make, ctx):
    from argon2 import PasswordHasher

    from clinic.models import StaffUser

    user = make.staff("planner")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    user.password_hash = weak.hash(PASSWORD)
    db.session.commit()
    old_hash = user.password_hash
    assert login(client, user.email).status_code == 302
    db.session.remove()
    new_hash = db.session.get(StaffUser, user.id).password_hash
    assert new_hash != old_hash and new_hash.startswith("$argon2id$")


def test_pages_behind_login_are_not_cached(client, make):
    user = make.staff("admin")
    login(client, user.email)
    assert client.get("/admin/patients/").headers["Cache-Control"] == "no-store"


def test_typing_on_a_page_keeps_the_login_alive_and_only_for_logged_in_staff(client, make):
    assert client.post("/keepalive").status_code == 302
    user = make.staff("counselor")
    login(client, user.email)
    page = client.get("/admin/").get_data(as_text=True)
    assert "/keepalive" in page
    response = client.post("/keepalive")
    assert response.status_code == 204
    assert "clinic_session" in response.headers.get("Set-Cookie", "")
