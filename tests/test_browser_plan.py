"""In Chromium at a phone's width (390 px): a counselor adds a goal to a patient's treatment plan,
first with a target date before the enrolment (refused, the typed goal kept), then correctly."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import PlanGoal
from conftest import TIMEOUT_MS, Factory, _make_app, _truncate, browser_login, serving

TODAY = date.today()
START = TODAY - timedelta(days=10)


@pytest.fixture
def clinic(database_url, backend, tmp_path):
    app = _make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    with app.app_context():
        make = Factory()
        counselor = make.staff("counselor", email="wren@clinic.example", full_name="Wren Counselor")
        iop = make.track("iop", recert_first_days=60, recert_every_days=60)
        patient = make.patient(first_name="Sam", last_name="Planwell")
        make.enrolment(patient, iop, counselor, start=START)
        info = {"counselor": counselor.email, "patient": patient.id}
        db.session.remove()
    try:
        with serving(app) as url:
            yield app, url, info
    finally:
        if backend == "postgresql":
            _truncate(app)


@pytest.mark.browser
def test_a_counselor_adds_a_goal_on_a_phone(clinic, browser):
    app, base, info = clinic
    context, page = browser_login(browser, base, info["counselor"], viewport={"width": 390, "height": 844})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(f"{base}/admin/patients/details/?id={info['patient']}")
        assert "certification due on" in page.locator("#treatment-plan").inner_text()
        with page.expect_navigation():
            page.get_by_role("link", name="Open the treatment plan").click()
        goal = "Sends a kind message to a friend twice a week"
        page.get_by_label("Goal: what will be seen when it is met (measurable)").fill(goal)
        page.locator("#add_goal-target_date").fill((START - timedelta(days=1)).isoformat())
        with page.expect_navigation():
            page.get_by_role("button", name="Add the goal").click()
        assert "cannot be before the enrolment began" in page.locator("#add_goal").inner_text()
        assert page.locator("#add_goal-statement").input_value() == goal  # the typed words are kept
        page.locator("#add_goal-target_date").fill((START + timedelta(days=60)).isoformat())
        with page.expect_navigation():
            page.get_by_role("button", name="Add the goal").click()
        assert goal in page.locator(".plan-goal").first.inner_text()
        # Nothing is wider than the phone's screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
    with app.app_context():
        assert db.session.scalars(sa.select(PlanGoal.statement)).all() == [goal]
