"""A planner in Chromium choosing among many groups: the track page's group pager, the assign
form's group search (typed, by keyboard, and without JavaScript) and the calendar's."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from clinic.extensions import db
from clinic.models import KindnessExercise
from clinic.services import enrolment, membership
from conftest import PASSWORD, TIMEOUT_MS, Factory, _make_app, serving


@pytest.fixture
def clinic(sqlite_template, tmp_path):
    """Two tracks, 30 IOP groups and one intensive group, on a SQLite copy with CSRF on."""
    path = tmp_path / "clinic.sqlite"
    shutil.copy(sqlite_template, path)
    app = _make_app(f"sqlite:///{path}", tmp_path, WTF_CSRF_ENABLED=True)
    today = date.today()
    with app.app_context():
        make = Factory()
        planner = make.staff("planner", email="pat.planner@clinic.example", full_name="Pat Planner")
        iop, intensive = make.track("iop"), make.track("intensive")
        groups = [make.group(iop, name=f"IOP Group {n:02d}", capacity=12) for n in range(1, 31)]
        make.group(intensive, name="Intensive Group Zeta")
        exercise = KindnessExercise(title="Hold a door", direction="others", energy="low", tracks=[iop])
        db.session.add(exercise)
        db.session.commit()
        patient = make.patient(first_name="Test", last_name="Ashgrove")
        enrolment.enrol(patient, iop, today - timedelta(days=14))
        membership.add_member(groups[-1], patient, today - timedelta(days=14))
        info = {"planner": planner.email, "iop": iop.id, "intensive": intensive.id, "exercise": exercise.id}
        db.session.remove()
    with serving(app) as url:
        yield url, info


def _log_in(context, base, email):
    page = context.new_page()
    page.goto(base + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    return page


@pytest.mark.browser
def test_a_group_on_the_second_page_of_a_track_is_reached_and_assigned_by_keyboard(clinic, browser):
    base, info = clinic
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = _log_in(context, base, info["planner"])
        page.goto(base + f"/admin/tracks/details/?id={info['iop']}")
        assert page.locator("#track-groups tbody tr").count() == 25
        assert "1–25 of 30 groups" in page.locator("#groups-pager").inner_text()
        with page.expect_navigation():
            page.locator("#groups-pager").get_by_role("link", name="Next").click()
        assert "IOP Group 30" in page.locator("#track-groups").inner_text()
        assert "1 of 12" in page.locator("#track-groups").inner_text()
        page.screenshot(path="/tmp/browser-track-groups-page-2.png", full_page=True)

        # The assign form from the track's page: the group choice offers that track's first 25.
        page.goto(base + f"/admin/assign/?track={info['iop']}")
        group = page.locator("#group")
        assert group.locator("option").count() == 26  # the placeholder and 25
        assert "Intensive Group Zeta" not in group.inner_text()
        page.get_by_label("Exercise").select_option(value=str(info["exercise"]))
        page.get_by_label("Everyone on a group's roster on the start date").check()
        search = page.get_by_label("Name contains")
        search.focus()
        page.keyboard.type("30")
        expect(page.locator("#group option")).to_have_count(2)
        assert "1 group." in page.locator("#assign-group-status").inner_text()
        page.keyboard.press("Enter")  # searches; never submits the assign form
        page.wait_for_timeout(300)
        assert page.url.endswith(f"/admin/assign/?track={info['iop']}")
        page.keyboard.press("Tab")  # on to "Find groups", then the group select
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "group"
        page.keyboard.press("ArrowDown")
        assert "IOP Group 30" in page.locator("#group option:checked").inner_text()
        page.screenshot(path="/tmp/browser-assign-group-search.png", full_page=True)

        # Another track: its groups only, and the scope posted with the form follows.
        page.get_by_label("Groups of").select_option(label="Intensive (partial hospitalisation)")
        expect(page.locator("#group-scope")).to_have_value(str(info["intensive"]))
        expect(page.locator("#group option")).to_have_count(1)  # "30" names no intensive group
        assert "No group matches." in page.locator("#assign-group-status").inner_text()
        page.get_by_label("Groups of").select_option(label="Intensive outpatient (IOP)")
        search.fill("group 30")
        expect(page.locator("#group option")).to_have_count(2)
        page.locator("#group").select_option(label="IOP Group 30 (Intensive outpatient (IOP))")
        with page.expect_navigation():
            page.get_by_role("button", name="Assign", exact=True).click()
        assert "Assigned to 1 patient" in page.locator("#assign-summary").inner_text()
    finally:
        context.close()


@pytest.mark.browser
def test_without_javascript_find_groups_fills_the_choice_from_the_server(clinic, browser):
    base, info = clinic
    context = browser.new_context(viewport={"width": 1200, "height": 900}, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = _log_in(context, base, info["planner"])
        page.goto(base + "/admin/assign/")
        page.get_by_label("Groups of").select_option(label="Intensive (partial hospitalisation)")
        page.get_by_label("Name contains").fill("zeta")
        with page.expect_navigation():
            page.get_by_role("button", name="Find groups").click()
        assert page.locator("#group option").all_inner_texts()[1:] == [
            "Intensive Group Zeta (Intensive (partial hospitalisation))"]
        assert page.get_by_label("Everyone on a group's roster on the start date").is_checked()

        page.goto(base + "/admin/calendar/")
        assert page.locator("#calendar-group option").count() == 26
        page.get_by_label("Name contains").fill("zeta")
        with page.expect_navigation():
            page.get_by_role("button", name="Find groups").click()
        assert page.locator("#calendar-group option").all_inner_texts()[1:] == [
            "Intensive Group Zeta (Intensive (partial hospitalisation))"]
        page.locator("#calendar-group").select_option(index=1)
        with page.expect_navigation():
            page.get_by_role("button", name="Make a group feed").click()
        assert page.locator("#calendar-made").is_visible()
    finally:
        context.close()
