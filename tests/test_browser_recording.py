"""A counselor in Chromium records today's session by exception, saves once, signs; a stale page is refused."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Assignment, Attendance, ExerciseCheckin, GroupSession, KindnessExercise
from clinic.services import enrolment, membership
from conftest import Factory, _make_app, _truncate, browser_login, serving

NAMES = ("Ashgrove", "Bramblecot", "Cindervale", "Dunmere")


@pytest.fixture
def clinic(database_url, backend, tmp_path):
    """Today's session of a four-person IOP group with CSRF on, served locally (on both databases)."""
    app = _make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    today = date.today()
    with app.app_context():
        make = Factory()
        counselor = make.staff("counselor", email="wren@clinic.example", full_name="Wren Facilitator")
        iop = make.track("iop")
        group = make.group(iop, facilitator=counselor, name="IOP Evening A", room="Lantern Room")
        notes = KindnessExercise(title="Write a note of appreciation", direction="others", energy="low",
                                 tracks=[iop])
        patience = KindnessExercise(title="Be patient with yourself", direction="self", energy="low",
                                    tracks=[iop])
        db.session.add_all([notes, patience])
        db.session.commit()
        patients, assignments = {}, {}
        for last_name in NAMES:
            patient = make.patient(first_name="Test", last_name=last_name)
            enrolment.enrol(patient, iop, today - timedelta(days=14), counselor=counselor)
            membership.add_member(group, patient, today - timedelta(days=14))
            patients[last_name] = patient.id
            for exercise in (notes, patience) if last_name == "Ashgrove" else (notes,):
                assignment = Assignment(exercise_id=exercise.id, patient_id=patient.id,
                                        start_date=today - timedelta(days=7))
                db.session.add(assignment)
                db.session.flush()
                assignments[(last_name, exercise.title)] = assignment.id
        # 09:00, or a minute ago when the test runs earlier: the session has started.
        start = max(datetime.combine(today, time(0)), min(datetime.combine(today, time(9)),
                                                          datetime.now() - timedelta(minutes=1)))
        session = GroupSession(group_id=group.id, starts_at=start,
                               duration_minutes=60, room="Lantern Room", facilitator_id=counselor.id)
        db.session.add(session)
        db.session.commit()
        info = {"counselor": counselor.email, "session": session.id, "patients": patients,
                "assignments": assignments}
        db.session.remove()
    try:
        with serving(app) as url:
            yield app, url, info
    finally:
        if backend == "postgresql":
            _truncate(app)


def _logged_in(browser, base: str, email: str):
    return browser_login(browser, base, email)


def _saved(app, session_id: int) -> dict:
    """What the database holds for the session, read in a context of its own."""
    with app.app_context():
        rows = {a.patient_id: (a.status, a.minutes_attended, a.engagement, a.note, a.version)
                for a in db.session.scalars(sa.select(Attendance).where(Attendance.session_id == session_id))}
        checkins = {c.assignment_id: (c.outcome, c.mood_before, c.mood_after, c.reflection, c.version)
                    for c in db.session.scalars(sa.select(ExerciseCheckin))}
        session = db.session.get(GroupSession, session_id)
        state = (session.group_note, session.recorded_at, session.signed_at)
        db.session.remove()
    return {"attendance": rows, "checkins": checkins, "session": state}


@pytest.mark.browser
def test_a_counselor_records_by_exception_saves_once_signs_and_a_stale_page_is_refused(clinic, browser):
    app, base, info = clinic
    url = f"{base}/admin/record/?session={info['session']}"
    p = info["patients"]
    notes_a = info["assignments"][("Ashgrove", "Write a note of appreciation")]
    patience_a = info["assignments"][("Ashgrove", "Be patient with yourself")]
    notes_c = info["assignments"][("Cindervale", "Write a note of appreciation")]
    notes_b = info["assignments"][("Bramblecot", "Write a note of appreciation")]

    mine, page = _logged_in(browser, base, info["counselor"])
    # A second window holding the page from before the save.
    other, old_page = _logged_in(browser, base, info["counselor"])
    try:
        page.goto(url)
        old_page.goto(url)
        assert page.locator("#record-state").inner_text() == "not recorded"
        # Pre-filled: everyone present for the whole session.
        for patient_id in p.values():
            assert page.locator(f"#status-{patient_id}").input_value() == "present"
            assert page.locator(f"#minutes-{patient_id}").input_value() == "60"

        # Only the exceptions: one absent, one late.
        page.select_option(f"#status-{p['Bramblecot']}", "absent")
        assert page.locator(f"#minutes-{p['Bramblecot']}").input_value() == "0"
        page.select_option(f"#status-{p['Dunmere']}", "late")
        # Late is typed as minutes late; the page shows the minutes attended it means.
        assert page.locator(f"#minutes-label-{p['Dunmere']}").inner_text() == "Minutes late"
        page.fill(f"#minutes-{p['Dunmere']}", "15")
        assert page.locator(f"#attended-{p['Dunmere']}").inner_text() == "45 of 60 minutes attended"
        page.fill(f"#engagement-{p['Ashgrove']}", "4")
        page.fill(f"#note-{p['Dunmere']}", "Bus was late; joined the second round.")
        # Two exercises checked in.
        page.select_option(f"#outcome-{notes_a}", "done")
        page.fill(f"#mood_before-{notes_a}", "4")
        page.fill(f"#mood_after-{notes_a}", "7")
        page.fill(f"#reflection-{notes_a}", "Wrote to my sister; she called back.")
        page.select_option(f"#outcome-{notes_c}", "partly")
        page.fill(f"#mood_after-{notes_c}", "5")
        page.fill("#group_note", "Gratitude circle: everyone shared one small win.")
        with page.expect_navigation():
            page.locator("#record-save").click()

        assert "Saved the record for 4 people: 4 new" in page.locator("#record-saved").inner_text()
        assert "Ashgrove" not in page.locator("#record-saved").inner_text()
        assert page.locator("#record-state").inner_text() == "recorded"
        saved = _saved(app, info["session"])
        assert saved["attendance"][p["Bramblecot"]][:2] == ("absent", 0)
        assert saved["attendance"][p["Dunmere"]][:2] == ("late", 45)
        assert set(saved["checkins"]) == {notes_a, notes_c}
        page.screenshot(path="/tmp/browser-record-saved.png", full_page=True)

        # The window opened before the save tries to save its own change and is refused.
        old_page.select_option(f"#status-{p['Cindervale']}", "excused")
        old_page.select_option(f"#outcome-{notes_b}", "not_done")
        with old_page.expect_navigation():
            old_page.locator("#record-save").click()
        stale = old_page.locator("#record-stale").inner_text()
        assert "Someone else saved this session after you opened it" in stale
        assert "Nothing was saved" in stale
        # Their own changes are kept to re-apply; the saved exceptions they never touched show as saved.
        assert old_page.locator(f"#status-{p['Cindervale']}").input_value() == "excused"
        assert old_page.locator(f"#outcome-{notes_b}").input_value() == "not_done"
        assert old_page.locator(f"#status-{p['Bramblecot']}").input_value() == "absent"
        old_page.screenshot(path="/tmp/browser-record-stale.png", full_page=True)
        assert _saved(app, info["session"]) == saved  # nothing changed

        # Sign, reopen, and see exactly what was entered: what was typed just before signing too.
        page.goto(url)
        page.fill(f"#engagement-{p['Cindervale']}", "3")
        with page.expect_navigation():
            page.locator("#record-sign").click()
        assert "signed" in page.locator("#record-signed").inner_text()
        signed = _saved(app, info["session"])
        page.goto(url)
        assert page.locator("#record-state").inner_text() == "signed"
        assert page.locator("#record-form").count() == 0
        shown = {name: (page.locator(f"#view-status-{pid}").inner_text(),
                        page.locator(f"#view-minutes-{pid}").inner_text())
                 for name, pid in p.items()}
        assert shown == {"Ashgrove": ("present", "60"), "Bramblecot": ("absent", "0"),
                         "Cindervale": ("present", "60"), "Dunmere": ("late", "45")}
        assert page.locator(f"#view-engagement-{p['Ashgrove']}").inner_text() == "4"
        assert page.locator(f"#view-engagement-{p['Dunmere']}").inner_text() == "—"
        assert page.locator(f"#view-engagement-{p['Cindervale']}").inner_text() == "3"
        assert page.locator(f"#view-note-{p['Dunmere']}").inner_text() == "Bus was late; joined the second round."
        assert page.locator(f"#view-outcome-{notes_a}").inner_text() == "done"
        assert page.locator(f"#view-mood_before-{notes_a}").inner_text() == "4"
        assert page.locator(f"#view-mood_after-{notes_a}").inner_text() == "7"
        assert page.locator(f"#view-reflection-{notes_a}").inner_text() == "Wrote to my sister; she called back."
        assert page.locator(f"#view-outcome-{notes_c}").inner_text() == "partly"
        assert page.locator(f"#view-mood_before-{notes_c}").inner_text() == "—"
        assert page.locator(f"#view-mood_after-{notes_c}").inner_text() == "5"
        assert page.locator(f"#view-outcome-{patience_a}").inner_text() == "no check-in"
        assert page.locator(f"#view-outcome-{notes_b}").inner_text() == "no check-in"
        assert page.locator("#view-group_note").inner_text() == "Gratitude circle: everyone shared one small win."
        assert page.locator(f"#correct-{p['Dunmere']}").is_visible()
        page.screenshot(path="/tmp/browser-record-signed.png", full_page=True)

        # The old window saving again now meets a signed record: still nothing changes.
        with old_page.expect_navigation():
            old_page.locator("#record-save").click()
        assert "This record is signed" in old_page.locator("#record-error").inner_text()
        after = _saved(app, info["session"])
        assert after == signed
    finally:
        other.close()
        mine.close()
