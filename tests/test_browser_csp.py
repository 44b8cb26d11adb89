"""In Chromium, the main pages run under the strict Content-Security-Policy without a single violation."""

from __future__ import annotations

import shutil
from datetime import date, datetime, time, timedelta

import pytest

from clinic.extensions import db
from clinic.models import GroupSession
from clinic.services import enrolment, membership
from conftest import PASSWORD, TIMEOUT_MS, Factory, _make_app, serving

#: Collects violations the page reports to itself, whatever their source.
LISTEN = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sourceFile || '') + ':' + e.lineNumber);
});
"""


@pytest.fixture
def clinic(sqlite_template, tmp_path):
    """A counselor with a caseload patient, a group and today's session, CSRF on, served locally."""
    path = tmp_path / "clinic.sqlite"
    shutil.copy(sqlite_template, path)
    app = _make_app(f"sqlite:///{path}", tmp_path, WTF_CSRF_ENABLED=True)
    today = date.today()
    with app.app_context():
        make = Factory()
        counselor = make.staff("counselor", email="csp.counselor@clinic.example")
        make.staff("admin", email="csp.admin@clinic.example")
        iop = make.track("iop")
        group = make.group(iop, facilitator=counselor)
        patient = make.patient(last_name="Policyperson")
        enrolment.enrol(patient, iop, today - timedelta(days=14), counselor=counselor)
        membership.add_member(group, patient, today - timedelta(days=14))
        start = max(datetime.combine(today, time(0)), min(datetime.combine(today, time(9)),
                                                          datetime.now() - timedelta(minutes=1)))
        session = GroupSession(group_id=group.id, starts_at=start, duration_minutes=60,
                               room="Room 1", facilitator_id=counselor.id)
        db.session.add(session)
        db.session.commit()
        info = {"email": counselor.email, "admin": "csp.admin@clinic.example", "patient": patient.id,
                "session": session.id, "group": group.id}
        db.session.remove()
    with serving(app) as url:
        yield url, info


@pytest.mark.browser
def test_the_main_pages_raise_no_content_security_policy_violation(clinic, browser):
    base, info = clinic
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(LISTEN)
    page = context.new_page()
    console = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    seen = {}
    try:
        page.goto(base + "/login")
        seen["/login"] = page.evaluate("window.__cspViolations")
        page.get_by_label("E-mail").fill(info["email"])
        page.get_by_label("Password").fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Log in").click()
        for path in ("/admin/", "/admin/patients/", f"/admin/patients/details/?id={info['patient']}",
                     "/admin/planner/", f"/admin/record/?session={info['session']}", "/admin/day/"):
            response = page.goto(base + path)
            assert response.status == 200, path
            assert "Content-Security-Policy" in {k.title(): v for k, v in response.headers.items()} or \
                "content-security-policy" in response.headers
            page.wait_for_load_state("load")
            seen[path] = page.evaluate("window.__cspViolations")
        # The moved script still works: choosing "absent" sets the minutes to 0.
        page.goto(base + f"/admin/record/?session={info['session']}")
        page.select_option(f"#status-{info['patient']}", "absent")
        assert page.locator(f"#minutes-{info['patient']}").input_value() == "0"
        seen["record after typing"] = page.evaluate("window.__cspViolations")
    finally:
        context.close()
    violations = {path: found for path, found in seen.items() if found}
    assert not violations, violations
    problems = [line for line in console if "Content Security Policy" in line or "pageerror" in line]
    assert not problems, problems


@pytest.mark.browser
def test_the_admin_forms_raise_no_violation_and_the_delete_button_still_asks(clinic, browser):
    base, info = clinic
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(LISTEN)
    page = context.new_page()
    console = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    seen = {}
    try:
        page.goto(base + "/login")
        page.get_by_label("E-mail").fill(info["admin"])
        page.get_by_label("Password").fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Log in").click()
        for path in (f"/admin/patients/edit/?id={info['patient']}", "/admin/patients/new/",
                     "/admin/sessions/new/", "/admin/sessions/", "/admin/series/", "/admin/assign/",
                     f"/admin/print/progress/?patient={info['patient']}",
                     f"/admin/print/progress/batch/?group={info['group']}", "/admin/audit/"):
            response = page.goto(base + path)
            assert response.status == 200, path
            page.wait_for_load_state("load")
            seen[path] = page.evaluate("window.__cspViolations")
        # The delete button (on the edit page, not the list's rows) asks first (a listener
        # now, not an inline handler): say no.
        page.goto(base + f"/admin/patients/edit/?id={info['patient']}")
        questions = []

        def answer(dialog):
            questions.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", answer)
        page.locator("button[data-confirm]").first.click()
        page.wait_for_load_state("load")
        assert questions == ["Delete this patient? This cannot be undone."]
        page.goto(base + "/admin/patients/")
        assert page.get_by_text("Policyperson").count() >= 1  # still listed: nothing was deleted
        seen["patients after the question"] = page.evaluate("window.__cspViolations")
    finally:
        context.close()
    violations = {path: found for path, found in seen.items() if found}
    assert not violations, violations
    problems = [line for line in console if "Content Security Policy" in line or "pageerror" in line]
    assert not problems, problems
