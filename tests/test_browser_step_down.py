"""In Chromium: a planner steps a patient down to IOP into a group, and the group's page shows them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Assignment, Enrolment, GroupMembership, KindnessExercise
from clinic.services import enrolment
from conftest import PASSWORD, TIMEOUT_MS, Factory, _make_app, _truncate, serving

TODAY = date.today()
FIRST_DAY = TODAY + timedelta(days=2)


@pytest.fixture
def clinic(database_url, backend, tmp_path):
    """An intensive patient with two running exercises; IOP has a group with room. CSRF on."""
    app = _make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    with app.app_context():
        make = Factory()
        planner = make.staff("planner", email="pat@clinic.example", full_name="Pat Planner")
        counselor = make.staff("counselor", full_name="Wren Counselor")
        make.track("inpatient")
        intensive, iop = make.track("intensive"), make.track("iop")
        group = make.group(iop, facilitator=counselor, name="IOP Evening A", room="Lantern Room", capacity=8)
        walk = KindnessExercise(title="Mindful walk", direction="self", energy="low", tracks=[intensive, iop])
        letter = KindnessExercise(title="Gratitude letter", direction="others", energy="low",
                                  tracks=[intensive, iop])
        db.session.add_all([walk, letter])
        db.session.commit()
        patient = make.patient(first_name="Sam", last_name="Stepwell")
        enrolment.enrol(patient, intensive, TODAY - timedelta(days=30), counselor=counselor)
        assignments = {}
        for exercise in (walk, letter):
            row = Assignment(exercise_id=exercise.id, patient_id=patient.id, start_date=TODAY - timedelta(days=20))
            db.session.add(row)
            db.session.flush()
            assignments[exercise.title] = row.id
        db.session.commit()
        info = {"planner": planner.email, "patient": patient.id, "group": group.id, "iop": iop.id,
                "assignments": assignments}
        db.session.remove()
    try:
        with serving(app) as url:
            yield app, url, info
    finally:
        if backend == "postgresql":
            _truncate(app)


@pytest.mark.browser
def test_a_planner_steps_a_patient_down_to_iop_into_a_group(clinic, browser):
    app, base, info = clinic
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto(base + "/login")
        page.get_by_label("E-mail").fill(info["planner"])
        page.get_by_label("Password").fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Log in").click()

        # From the patient's page to the step-down form: the next level down is chosen already.
        page.goto(f"{base}/admin/patients/details/?id={info['patient']}")
        with page.expect_navigation():
            page.get_by_role("link", name="Step down / up").click()
        assert page.get_by_label("New track", exact=True).input_value() == str(info["iop"])
        page.get_by_label("First day in the new track").fill(FIRST_DAY.isoformat())
        page.get_by_label("Reason", exact=True).fill("Back at work part-time")
        with page.expect_navigation():
            page.get_by_role("button", name="Move to the new track").click()

        # The result offers the new track's groups from the first day.
        assert "Stepped down to Intensive outpatient (IOP)" in page.locator("h1").inner_text()
        assert page.locator("#first-day").inner_text() == FIRST_DAY.isoformat()
        page.screenshot(path="/tmp/rosters-moved.png", full_page=True)
        with page.expect_navigation():
            page.get_by_role("link", name=f"Join IOP Evening A from {FIRST_DAY.isoformat()}").click()
        assert page.get_by_label("From", exact=True).input_value() == FIRST_DAY.isoformat()
        assert page.get_by_label("Group", exact=True).input_value() == str(info["group"])
        with page.expect_navigation():
            page.get_by_role("button", name="Add to group").click()
        assert "Added to the group." in page.content()

        # Back on the result: keep one exercise, stop the other.
        with page.expect_navigation():
            page.get_by_role("button", name="Keep Mindful walk").click()
        assert "Kept: Mindful walk." in page.content()
        with page.expect_navigation():
            page.get_by_role("button", name="Stop Gratitude letter").click()
        assert "Stopped: Gratitude letter." in page.content()
        assert page.get_by_role("button", name="Keep Mindful walk").count() == 0
        page.screenshot(path="/tmp/rosters-settled.png", full_page=True)

        # The group's page shows the new member.
        page.goto(f"{base}/admin/groups/details/?id={info['group']}")
        joining = page.locator("#group-joining")
        assert "Sam Stepwell" in joining.inner_text() and FIRST_DAY.isoformat() in joining.inner_text()
        page.screenshot(path="/tmp/rosters-group.png", full_page=True)

        # The patient list: the name leads to the patient's page; track, counselor and status beside it.
        page.goto(f"{base}/admin/patients/")
        row = page.locator("tr", has_text="Stepwell")
        assert "Wren Counselor" in row.inner_text() and "stepped down" in row.inner_text()
        page.screenshot(path="/tmp/rosters-patients.png", full_page=True)
        with page.expect_navigation():
            row.get_by_role("link", name="Stepwell").click()
        assert "Sam Stepwell" in page.locator("h1").inner_text()

        # The track's page lists the group with its members against capacity.
        page.goto(f"{base}/admin/tracks/details/?id={info['iop']}")
        assert "0 of 8" in page.locator("#track-groups").inner_text()
        page.screenshot(path="/tmp/rosters-track.png", full_page=True)
    finally:
        context.close()

    with app.app_context():
        new = db.session.scalar(sa.select(Enrolment).where(Enrolment.patient_id == info["patient"],
                                                           Enrolment.end_date.is_(None)))
        assert (new.track_id, new.start_date) == (info["iop"], FIRST_DAY)
        member = db.session.scalar(sa.select(GroupMembership).where(GroupMembership.patient_id == info["patient"]))
        assert (member.group_id, member.start_date) == (info["group"], FIRST_DAY)
        walk = db.session.get(Assignment, info["assignments"]["Mindful walk"])
        letter = db.session.get(Assignment, info["assignments"]["Gratitude letter"])
        assert walk.status == "active"
        assert (letter.status, letter.status_reason) == ("stopped", "Stepped down to Intensive outpatient (IOP)")
        db.session.remove()
