"""A planner in Chromium: a weekly series, the week planner, and an exercise for a group's roster."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import pytest

from clinic.extensions import db
from clinic.models import Assignment, KindnessExercise
from clinic.services import enrolment, membership
from clinic.services.series import WEEKDAY_NAMES
from conftest import PASSWORD, TIMEOUT_MS, Factory, _make_app, serving


@pytest.fixture
def clinic(sqlite_template, tmp_path):
    """A small IOP programme on its own SQLite copy with CSRF on, served locally."""
    path = tmp_path / "clinic.sqlite"
    shutil.copy(sqlite_template, path)
    app = _make_app(f"sqlite:///{path}", tmp_path, WTF_CSRF_ENABLED=True)
    today = date.today()
    with app.app_context():
        make = Factory()
        planner = make.staff("planner", email="pat.planner@clinic.example", full_name="Pat Planner")
        counselor = make.staff("counselor", email="wren@clinic.example", full_name="Wren Facilitator")
        iop = make.track("iop")
        group = make.group(iop, facilitator=counselor, name="IOP Evening A", room="Lantern Room")
        exercise = KindnessExercise(title="Send a kind text message", direction="others",
                                    energy="low", tracks=[iop])
        db.session.add(exercise)
        db.session.commit()
        names = ("Ashgrove", "Bramblecot", "Cindervale")
        for last_name in names:
            patient = make.patient(first_name="Test", last_name=last_name)
            enrolment.enrol(patient, iop, today - timedelta(days=14), counselor=counselor)
            membership.add_member(group, patient, today - timedelta(days=14))
            if last_name == "Cindervale":
                db.session.add(Assignment(exercise_id=exercise.id, patient_id=patient.id,
                                          start_date=today - timedelta(days=7), times_per_week=2))
                db.session.commit()
        info = {"planner": planner.email, "group": group.name, "exercise": exercise.title,
                "exercise_id": exercise.id}
        db.session.remove()
    with serving(app) as url:
        yield url, info


@pytest.mark.browser
def test_a_planner_plans_a_weekly_series_sees_it_in_the_week_and_assigns_the_roster(clinic, browser):
    base, info = clinic
    next_monday = date.today() + timedelta(days=7 - date.today().weekday())
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(base + "/login")
        page.get_by_label("E-mail").fill(info["planner"])
        page.get_by_label("Password").fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Log in").click()

        # The check: plan a Mon/Wed/Fri series for 8 weeks.
        page.goto(base + "/admin/series/")
        group_value = page.locator("#group option", has_text=info["group"]).get_attribute("value")
        page.get_by_label("Group").select_option(value=group_value)
        for day in (0, 2, 4):
            page.get_by_label(WEEKDAY_NAMES[day], exact=True).check()
        page.get_by_label("Start time").fill("17:00")
        page.get_by_label("Length (min)").fill("90")
        page.get_by_label("First date").fill(next_monday.isoformat())
        page.get_by_label("For a number of weeks").check()
        assert page.get_by_label("Number of sessions", exact=True).is_hidden()  # only the chosen end shows
        page.get_by_label("Number of weeks", exact=True).fill("8")
        with page.expect_navigation():
            page.get_by_role("button", name="Preview dates").click()

        # The preview lists all 24 dates and creates nothing yet.
        assert page.locator("#series-preview-dates li").count() == 24
        assert "No clashes. Nothing has been created yet." in page.locator("#series-preview").inner_text()
        page.screenshot(path="/tmp/browser-series-preview.png", full_page=True)
        with page.expect_navigation():
            page.get_by_role("button", name="Create 24 sessions").click()

        # The week planner opens at the first week and shows the three evenings.
        body = page.locator("body")
        assert "Created 24 sessions for IOP Evening A" in body.inner_text()
        assert next_monday.strftime("%-d %b") in body.inner_text() or \
            next_monday.strftime("%d %b") in body.inner_text()
        cells = page.locator("[data-session]")
        assert cells.count() == 3
        assert all("17:00" in cells.nth(i).inner_text() for i in range(3))
        iop = page.locator("#track-iop").inner_text()
        assert "planned 4.5 h over 3 days" in iop
        assert "Planned: short, its group below the weekly minimum" in iop  # IOP asks for 9 h over 3 days
        page.screenshot(path="/tmp/browser-week-planner.png", full_page=True)
        with page.expect_navigation():
            page.locator("#next-week").click()
        assert page.locator("[data-session]").count() == 3

        # The same group's roster gets an exercise; the summary is exact.
        page.goto(base + "/admin/groups/")
        with page.expect_navigation():
            page.locator('a[href*="/admin/assign/?group="]').first.click()
        page.get_by_label("Exercise").select_option(value=str(info["exercise_id"]))
        with page.expect_navigation():
            page.get_by_role("button", name="Assign").click()
        summary = page.locator("#assign-summary").inner_text()
        assert "Assigned to 2 patients" in summary
        assert "1 patient already had it active" in summary
        assigned = page.locator("#assigned").inner_text()
        assert "Ashgrove" in assigned and "Bramblecot" in assigned and "Cindervale" not in assigned
        assert "Cindervale" in page.locator("#already").inner_text()
        page.screenshot(path="/tmp/browser-assign-result.png", full_page=True)
    finally:
        context.close()


@pytest.mark.browser
def test_the_series_form_is_usable_on_a_390_pixel_phone(clinic, browser):
    base, info = clinic
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(base + "/login")
        page.get_by_label("E-mail").fill(info["planner"])
        page.get_by_label("Password").fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Log in").click()
        page.goto(base + "/admin/series/")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        group_value = page.locator("#group option", has_text=info["group"]).get_attribute("value")
        page.get_by_label("Group").select_option(value=group_value)
        page.get_by_label(WEEKDAY_NAMES[1], exact=True).check()
        page.get_by_label("Start time").fill("10:00")
        page.get_by_label("After a number of sessions").check()
        page.get_by_label("Number of sessions", exact=True).fill("4")
        with page.expect_navigation():
            page.get_by_role("button", name="Preview dates").click()

        assert page.locator("#series-preview-dates li").count() == 4
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        create = page.get_by_role("button", name="Create 4 sessions")
        assert create.is_visible()
        # Changing a field after the preview holds "Create" back until the dates are previewed again.
        page.get_by_label("Start time").fill("11:00")
        assert create.is_disabled()
        assert page.locator("#series-preview-stale").is_visible()
        page.screenshot(path="/tmp/browser-series-phone.png", full_page=True)
    finally:
        context.close()
