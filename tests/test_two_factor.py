"""Two-factor sign-in: a code from an authenticator app (or a recovery code) after the password."""

from __future__ import annotations

import re
import shutil
import time

import pyotp
import pytest
import sqlalchemy as sa

from clinic.config import ConfigError, load_config
from clinic.extensions import db
from clinic.models import AuditEvent, LoginSession, RecoveryCode, StaffUser
from clinic.services import two_factor
from conftest import PASSWORD, TIMEOUT_MS, Factory, _make_app, login, serving

PAUSED = "Too many failed attempts"


def _fresh(user_id: int) -> StaffUser:
    db.session.expire_all()
    return db.session.get(StaffUser, user_id)


def _code(secret: str, seconds_ago: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() - seconds_ago)


def _enrolled(make, role: str = "admin"):
    """A user enrolled with the previous time step's code, so the current code is still unused."""
    user = make.staff(role)
    secret = two_factor.pending_secret(user)
    codes = two_factor.confirm_enrolment(user, _code(secret, 30))
    return user, secret, codes


def _sessions(user_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count(LoginSession.id)).where(LoginSession.staff_id == user_id))


def _wrong_codes(email: str) -> int:
    rows = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "failed_login", AuditEvent.actor_email == email)).all()
    return sum(1 for row in rows if row.changes.get("reason") == "wrong_code")


def _other(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_an_admin_required_to_enrol_is_sent_to_enrolment_and_confirms_with_a_real_code(app, client, make):
    app.config["CLINIC_REQUIRE_2FA"] = "admin"
    admin = make.staff("admin")
    response = login(client, admin.email)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/enrol")
    assert client.get("/admin/").status_code == 302  # no login yet
    assert _sessions(admin.id) == 0

    page = client.get("/login/enrol")
    assert page.status_code == 200
    secret = _fresh(admin.id).totp_secret
    html = page.get_data(as_text=True)
    assert secret in html and 'src="data:image/svg+xml' in html
    assert page.headers["Cache-Control"] == "no-store"
    assert client.get("/login/enrol").get_data(as_text=True).count(secret) == 1  # same secret on reload

    wrong = client.post("/login/enrol", data={"code": _other(_code(secret))})
    assert wrong.status_code == 400 and "The code is not right" in wrong.get_data(as_text=True)
    assert _fresh(admin.id).totp_enabled_at is None

    done = client.post("/login/enrol", data={"code": _code(secret)})
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    shown = re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", done.get_data(as_text=True))
    assert len(set(shown)) == 10
    assert _fresh(admin.id).two_factor_enabled
    stored = db.session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.staff_id == admin.id)).all()
    assert len(stored) == 10 and not set(shown) & set(stored)
    assert client.get("/admin/").status_code == 200
    assert _sessions(admin.id) == 1
    events = db.session.scalars(sa.select(AuditEvent)).all()
    assert any(e.changes.get("two_factor") == ["off", "enrolled"] for e in events)
    assert not any(secret in str(e.changes) for e in events)  # the secret never enters the audit trail


def test_who_must_enrol_follows_the_setting(app, client, make):
    counselor = make.staff("counselor")
    app.config["CLINIC_REQUIRE_2FA"] = "admin"
    assert login(client, counselor.email).headers["Location"].endswith("/admin/")
    client.post("/logout")
    app.config["CLINIC_REQUIRE_2FA"] = "all"
    assert login(client, counselor.email).headers["Location"].endswith("/login/enrol")


def test_the_setting_is_checked_and_tests_default_to_none(tmp_path):
    base = {"SECRET_KEY": "x" * 40, "DATABASE_URL": "sqlite://"}
    assert load_config(str(tmp_path), {**base, "CLINIC_ENV": "production"})["CLINIC_REQUIRE_2FA"] == "admin"
    assert load_config(str(tmp_path), {**base, "CLINIC_ENV": "testing"})["CLINIC_REQUIRE_2FA"] == "none"
    assert load_config(str(tmp_path), {**base, "CLINIC_REQUIRE_2FA": "ALL"})["CLINIC_REQUIRE_2FA"] == "all"
    with pytest.raises(ConfigError, match="CLINIC_REQUIRE_2FA"):
        load_config(str(tmp_path), {**base, "CLINIC_REQUIRE_2FA": "staff"})


def test_an_enrolled_user_gives_a_code_and_the_pending_step_grants_nothing(app, client, make):
    user, secret, _ = _enrolled(make, "counselor")  # enrolled users are asked whatever the setting
    response = login(client, user.email, next_url="/admin/patients/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/code")
    for url in ("/admin/", "/admin/patients/", "/admin/staff/", "/account/two-factor"):
        assert "/login" in client.get(url).headers["Location"], url
    assert _sessions(user.id) == 0

    response = client.post("/login/code", data={"code": _code(secret)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/patients/")
    assert client.get("/admin/").status_code == 200
    assert _sessions(user.id) == 1
    assert client.get("/login/code").status_code == 302  # the marker is gone once logged in


def test_the_pending_step_expires(app, client, make):
    user, secret, _ = _enrolled(make)
    login(client, user.email)
    with client.session_transaction() as session:
        session["two_factor_pending"] = {**session["two_factor_pending"], "until": time.time() - 1}
    response = client.post("/login/code", data={"code": _code(secret)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert _sessions(user.id) == 0


def test_wrong_codes_are_refused_counted_and_the_sixth_attempt_is_paused(app, client, make):
    user, secret, _ = _enrolled(make)
    login(client, user.email)
    step_before = _fresh(user.id).totp_last_step
    for _ in range(5):
        response = client.post("/login/code", data={"code": _other(_code(secret))})
        assert response.status_code == 401 and "The code is not right" in response.get_data(as_text=True)
    assert _wrong_codes(user.email) == 5
    sixth = client.post("/login/code", data={"code": _code(secret)}, follow_redirects=True)
    assert PAUSED in sixth.get_data(as_text=True)
    assert _sessions(user.id) == 0
    assert _fresh(user.id).totp_last_step == step_before
    # The password step is paused as well, even with the right password.
    assert PAUSED in login(client, user.email).get_data(as_text=True)


def test_a_correct_password_does_not_reset_the_count_of_wrong_codes(app, client, make):
    user, secret, _ = _enrolled(make)
    login(client, user.email)
    for _ in range(4):
        client.post("/login/code", data={"code": _other(_code(secret))})
    login(client, user.email)
    client.post("/login/code", data={"code": _other(_code(secret))})
    response = client.post("/login/code", data={"code": _code(secret)}, follow_redirects=True)
    assert PAUSED in response.get_data(as_text=True)
    assert _sessions(user.id) == 0


def test_the_same_code_cannot_be_used_twice(app, make):
    user, secret, _ = _enrolled(make)
    code = _code(secret)
    first = app.test_client()
    login(first, user.email)
    assert first.post("/login/code", data={"code": code}).status_code == 302
    second = app.test_client()
    login(second, user.email)
    response = second.post("/login/code", data={"code": code})
    assert response.status_code == 401
    assert second.get("/admin/").status_code == 302
    assert _sessions(user.id) == 1 and _wrong_codes(user.email) == 1


def test_a_recovery_code_works_once(app, make):
    user, _, codes = _enrolled(make)
    first = app.test_client()
    login(first, user.email)
    response = first.post("/login/code", data={"code": codes[3].upper().replace("-", " ")})
    assert response.status_code == 302 and first.get("/admin/").status_code == 200
    assert two_factor.remaining_recovery_codes(user) == 9
    again = app.test_client()
    login(again, user.email)
    assert again.post("/login/code", data={"code": codes[3]}).status_code == 401
    assert again.get("/admin/").status_code == 302
    assert _sessions(user.id) == 1


def test_reset_2fa_turns_it_off_ends_logins_and_refuses_in_one_line(app, client, runner, make):
    app.config["CLINIC_REQUIRE_2FA"] = "admin"
    user, secret, _ = _enrolled(make)
    login(client, user.email)
    client.post("/login/code", data={"code": _code(secret)})
    assert client.get("/admin/").status_code == 200

    result = runner.invoke(args=["user", "reset-2fa", user.email.upper()])
    assert result.exit_code == 0 and "reset" in result.output
    fresh = _fresh(user.id)
    assert not fresh.two_factor_enabled and fresh.totp_secret is None
    assert db.session.scalar(sa.select(sa.func.count(RecoveryCode.id))) == 0
    assert client.get("/admin/").status_code == 302  # logged out everywhere
    assert any(e.changes.get("two_factor") == ["enrolled", "reset"] and e.actor_email == "cli"
               for e in db.session.scalars(sa.select(AuditEvent)))
    assert login(client, user.email).headers["Location"].endswith("/login/enrol")

    for args, message in ((["nobody@clinic.example"], "No account has this e-mail."),
                          ([user.email], "Two-factor sign-in is not set up for this account.")):
        refused = runner.invoke(args=["user", "reset-2fa", *args])
        assert refused.exit_code != 0 and refused.output.strip() == f"Error: {message}"


def test_anyone_may_enrol_from_the_two_factor_page(app, client, make):
    planner = make.staff("planner")
    login(client, planner.email)
    page = client.get("/account/two-factor")
    assert page.status_code == 200 and "data:image/svg+xml" in page.get_data(as_text=True)
    secret = _fresh(planner.id).totp_secret
    done = client.post("/account/two-factor", data={"code": _code(secret)})
    assert done.status_code == 200 and len(re.findall(r"<li>[a-z0-9-]{11}</li>", done.get_data(as_text=True))) == 10
    assert "Unused recovery codes: 10" in client.get("/account/two-factor").get_data(as_text=True)


@pytest.mark.browser
def test_a_browser_signs_in_with_a_code(sqlite_template, tmp_path, browser):
    path = tmp_path / "clinic.sqlite"
    shutil.copy(sqlite_template, path)
    app = _make_app(f"sqlite:///{path}", tmp_path, WTF_CSRF_ENABLED=True)
    app.config["CLINIC_REQUIRE_2FA"] = "admin"
    with app.app_context():
        admin = Factory().staff("admin", email="ada.admin@clinic.example", full_name="Ada Admin")
        secret = two_factor.pending_secret(admin)
        two_factor.confirm_enrolment(admin, _code(secret, 30))
        db.session.remove()
    with serving(app) as base:
        context = browser.new_context()
        context.set_default_timeout(TIMEOUT_MS)
        try:
            page = context.new_page()
            page.goto(base + "/login")
            page.get_by_label("E-mail").fill("ada.admin@clinic.example")
            page.get_by_label("Password").fill(PASSWORD)
            with page.expect_navigation():
                page.get_by_role("button", name="Log in").click()
            assert page.url.endswith("/login/code")
            page.get_by_label("Code").fill(_code(secret))
            with page.expect_navigation():
                page.get_by_role("button", name="Continue").click()
            assert page.url.rstrip("/").endswith("/admin")
            assert "Ada Admin" in page.locator("#signed-in-as").inner_text()
        finally:
            context.close()


@pytest.mark.browser
def test_a_browser_shows_the_qr_code_under_the_csp_and_enrols(sqlite_template, tmp_path, browser):
    path = tmp_path / "clinic.sqlite"
    shutil.copy(sqlite_template, path)
    app = _make_app(f"sqlite:///{path}", tmp_path, WTF_CSRF_ENABLED=True)
    app.config["CLINIC_REQUIRE_2FA"] = "admin"
    with app.app_context():
        Factory().staff("admin", email="ada.admin@clinic.example", full_name="Ada Admin")
        db.session.remove()
    with serving(app) as base:
        context = browser.new_context()
        context.set_default_timeout(TIMEOUT_MS)
        blocked = []
        try:
            page = context.new_page()
            page.on("console", lambda message: blocked.append(message.text)
                    if "Content Security Policy" in message.text else None)
            page.goto(base + "/login")
            page.get_by_label("E-mail").fill("ada.admin@clinic.example")
            page.get_by_label("Password").fill(PASSWORD)
            with page.expect_navigation():
                page.get_by_role("button", name="Log in").click()
            assert page.url.endswith("/login/enrol")
            assert page.eval_on_selector("#totp-qr", "img => img.complete && img.naturalWidth") > 0
            secret = page.locator("#totp-secret").inner_text().strip()
            page.get_by_label("Code").fill(_code(secret))
            with page.expect_navigation():
                page.get_by_role("button", name="Continue").click()
            assert page.locator("#recovery-codes li").count() == 10
            with page.expect_navigation():
                page.locator("#continue").click()
            assert page.url.rstrip("/").endswith("/admin")
            assert "Ada Admin" in page.locator("#signed-in-as").inner_text()
            assert blocked == []
        finally:
            context.close()
