"""The session record in the group room: a 12-person session recorded and signed on a phone (390 px),
laid out without anything cut off on a phone and a tablet (768 px), and the page coming back to
the row last touched after a save."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Assignment, Attendance, ExerciseCheckin, GroupSession, KindnessExercise
from clinic.services import enrolment, membership
from conftest import Factory, _make_app, _truncate, browser_login, serving

NAMES = ("Ashgrove", "Bramblecot", "Cindervale", "Dunmere", "Eastwick", "Fernhollow", "Glenmoor",
         "Hartsfield", "Ivybridge", "Juniperton", "Kestrelwood", "Longmeadow-Wetherington")
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 768, "height": 1024}


@pytest.fixture
def clinic(database_url, backend, tmp_path):
    """Today's session of a twelve-person IOP group, each with one or two exercises, served locally."""
    app = _make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    today = date.today()
    with app.app_context():
        make = Factory()
        counselor = make.staff("counselor", email="wren@clinic.example", full_name="Wren Facilitator")
        iop = make.track("iop")
        group = make.group(iop, facilitator=counselor, name="IOP Evening A", room="Lantern Room", capacity=14)
        notes = KindnessExercise(title="Write a note of appreciation to someone who helped you this week",
                                 direction="others", energy="low", tracks=[iop])
        patience = KindnessExercise(title="Be patient with yourself", direction="self", energy="low",
                                    tracks=[iop])
        db.session.add_all([notes, patience])
        db.session.commit()
        patients, assignments = {}, {}
        for i, last_name in enumerate(NAMES):
            patient = make.patient(first_name="Test", last_name=last_name)
            enrolment.enrol(patient, iop, today - timedelta(days=14), counselor=counselor)
            membership.add_member(group, patient, today - timedelta(days=14))
            patients[last_name] = patient.id
            for exercise in (notes, patience) if i % 3 == 0 else (notes,):
                assignment = Assignment(exercise_id=exercise.id, patient_id=patient.id,
                                        start_date=today - timedelta(days=7))
                db.session.add(assignment)
                db.session.flush()
                assignments[(last_name, exercise.title)] = assignment.id
        start = max(datetime.combine(today, time(0)), min(datetime.combine(today, time(9)),
                                                          datetime.now() - timedelta(minutes=1)))
        session = GroupSession(group_id=group.id, starts_at=start, duration_minutes=60,
                               room="Lantern Room", facilitator_id=counselor.id)
        db.session.add(session)
        db.session.commit()
        info = {"counselor": counselor.email, "session": session.id, "patients": patients,
                "assignments": assignments, "notes": notes.title}
        db.session.remove()
    try:
        with serving(app) as url:
            yield app, url, info
    finally:
        if backend == "postgresql":
            _truncate(app)


def _logged_in(browser, base: str, email: str, viewport: dict):
    return browser_login(browser, base, email, viewport=viewport, is_mobile=viewport["width"] < 500,
                         has_touch=viewport["width"] < 1000)


def _saved(app, session_id: int) -> dict:
    with app.app_context():
        rows = {a.patient_id: (a.status, a.minutes_attended, a.engagement)
                for a in db.session.scalars(sa.select(Attendance).where(Attendance.session_id == session_id))}
        checkins = {c.assignment_id: (c.outcome, c.mood_before, c.mood_after, c.reflection)
                    for c in db.session.scalars(sa.select(ExerciseCheckin))}
        signed = db.session.get(GroupSession, session_id).signed_at
        db.session.remove()
    return {"attendance": rows, "checkins": checkins, "signed": signed}


def _overflow(page, width: int) -> list[str]:
    """Everything on the record form that sticks out of ``width`` (ids or tags), and the page's scroll width."""
    return page.evaluate(
        """(width) => {
            const out = [];
            if (document.documentElement.scrollWidth > width) {
                out.push('page scrollWidth ' + document.documentElement.scrollWidth);
            }
            document.querySelectorAll('#record-form input:not([type=hidden]), #record-form select, '
                                      + '#record-form textarea, #record-form button, #record-form label, '
                                      + '.record-person th, .record-exercise-title').forEach((el) => {
                const box = el.getBoundingClientRect();
                if (box.width === 0 && box.height === 0) { return; }
                if (box.left < 0 || box.right > width + 0.5) {
                    out.push((el.id || el.getAttribute('for') || el.tagName) + ' ' + box.left + '..' + box.right);
                }
            });
            return out;
        }""",
        width,
    )


def _in_view(page, selector: str) -> bool:
    return page.evaluate(
        """(selector) => {
            const box = document.querySelector(selector).getBoundingClientRect();
            return box.bottom > 0 && box.top < window.innerHeight;
        }""",
        selector,
    )


def _visible_above_the_bar(page, selector: str) -> bool:
    """True when the element is on screen and not under the sticky action bar."""
    return page.evaluate(
        """(selector) => {
            const box = document.querySelector(selector).getBoundingClientRect();
            const bar = document.getElementById('record-actions').getBoundingClientRect();
            return box.top >= 0 && box.bottom <= bar.top + 1;
        }""",
        selector,
    )


@pytest.mark.browser
def test_a_twelve_person_session_is_recorded_and_signed_on_a_phone(clinic, browser):
    app, base, info = clinic
    p = info["patients"]
    url = f"{base}/admin/record/?session={info['session']}"
    late, absent = p["Fernhollow"], p["Kestrelwood"]
    notes_a = info["assignments"][("Ashgrove", info["notes"])]
    context, page = _logged_in(browser, base, info["counselor"], PHONE)
    try:
        page.goto(url)
        # One card per person, nothing cut off or off-screen.
        assert page.locator("tbody.record-person").count() == 12
        assert _overflow(page, PHONE["width"]) == []
        card = page.locator(f"#row-{late}").bounding_box()
        assert card["x"] >= 0 and card["x"] + card["width"] <= PHONE["width"]
        # Each field of a card is labelled on the card itself.
        assert page.get_by_label("Status of Test Fernhollow").is_visible()
        assert page.locator(f"label.record-cell-label[for='status-{late}']").is_visible()
        assert page.locator(f"label[for='outcome-{notes_a}']").is_visible()
        assert page.locator(f"label[for='mood_before-{notes_a}']").is_visible()
        assert page.locator(f"label[for='reflection-{notes_a}']").is_visible()
        # Save and sign are on screen from the start, and stay there.
        assert _in_view(page, "#record-save") and _in_view(page, "#record-sign")
        page.screenshot(path="/tmp/record-phone-top.png")

        # One late, typed as "15 minutes late": the page shows what that means.
        page.locator(f"#status-{late}").scroll_into_view_if_needed()
        page.select_option(f"#status-{late}", "late")
        assert page.locator(f"#minutes-label-{late}").inner_text() == "Minutes late"
        assert page.locator(f"#minutes-{late}").evaluate("el => document.activeElement === el")
        page.fill(f"#minutes-{late}", "15")
        assert page.locator(f"#attended-{late}").inner_text() == "45 of 60 minutes attended"
        assert page.get_by_label("Minutes late for Test Fernhollow").input_value() == "15"
        page.fill(f"#engagement-{late}", "3")
        page.screenshot(path="/tmp/record-phone-late.png")
        # One check-in, typed on the phone.
        page.locator(f"#outcome-{notes_a}").scroll_into_view_if_needed()
        page.select_option(f"#outcome-{notes_a}", "done")
        page.fill(f"#mood_before-{notes_a}", "4")
        page.fill(f"#mood_after-{notes_a}", "7")
        page.fill(f"#reflection-{notes_a}", "Wrote to my sister; she called back.")
        # One absent, further down.
        page.locator(f"#status-{absent}").scroll_into_view_if_needed()
        page.select_option(f"#status-{absent}", "absent")
        assert page.locator(f"#minutes-{absent}").input_value() == "0"
        assert _in_view(page, "#record-save")  # the bar is still there, down the page
        assert _overflow(page, PHONE["width"]) == []
        page.screenshot(path="/tmp/record-phone-absent.png")

        with page.expect_navigation():
            page.locator("#record-save").click()
        page.wait_for_load_state("load")
        # Back where the person was, with the result in sight next to the buttons.
        assert page.url.endswith(f"#row-{absent}")
        assert _visible_above_the_bar(page, f"#status-{absent}")
        assert _in_view(page, "#record-saved")
        assert "Saved the record for 12 people: 12 new" in page.locator("#record-saved").inner_text()
        page.screenshot(path="/tmp/record-phone-saved.png")
        saved = _saved(app, info["session"])
        assert saved["attendance"][late] == ("late", 45, 3)
        assert saved["attendance"][absent] == ("absent", 0, None)
        assert sum(1 for status, *_ in saved["attendance"].values() if status == "present") == 10
        assert saved["checkins"][notes_a] == ("done", 4, 7, "Wrote to my sister; she called back.")
        # Reopened, the late figure reads as typed.
        assert page.locator(f"#minutes-label-{late}").inner_text() == "Minutes late"
        assert page.locator(f"#minutes-{late}").input_value() == "15"

        with page.expect_navigation():
            page.locator("#record-sign").click()
        assert "signed" in page.locator("#record-signed").inner_text()
        signed = _saved(app, info["session"])
        assert signed["signed"] is not None and signed["attendance"] == saved["attendance"]
        assert page.locator(f"#view-missed-{late}").inner_text() == "(15 min late)"
        assert _overflow(page, PHONE["width"]) == []
        # The signed record reads as cards too: nothing to scroll sideways for.
        assert page.evaluate("(() => { const box = document.querySelector('.record-scroll');"
                             " return box.scrollWidth <= box.clientWidth; })()")
        assert page.locator(f"#correct-{late}").is_visible()
        page.screenshot(path="/tmp/record-phone-signed.png", full_page=True)

        # A correction on the phone speaks the same language: minutes late, and what they mean.
        with page.expect_navigation():
            page.locator(f"#correct-{late}").click()
        assert page.locator("#minutes-label").inner_text() == "Minutes late"
        assert page.locator("#minutes").input_value() == "15"
        page.fill("#minutes", "20")
        assert page.locator("#attended").inner_text() == "40 of 60 minutes attended"
        page.fill("#reason", "The sign-in sheet says 20 minutes late.")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path="/tmp/record-phone-correct.png", full_page=True)
        with page.expect_navigation():
            page.locator("#correct-save").click()
        assert page.url.endswith(f"#row-{late}")
        assert _saved(app, info["session"])["attendance"][late] == ("late", 40, 3)
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [PHONE, TABLET], ids=["phone", "tablet"])
def test_nothing_is_cut_off_and_saving_from_a_lower_row_comes_back_to_it(clinic, browser, viewport):
    app, base, info = clinic
    p = info["patients"]
    url = f"{base}/admin/record/?session={info['session']}"
    lower = p["Juniperton"]
    context, page = _logged_in(browser, base, info["counselor"], viewport)
    try:
        page.goto(url)
        assert _overflow(page, viewport["width"]) == []
        page.screenshot(path=f"/tmp/record-{viewport['width']}.png", full_page=True)
        page.locator(f"#note-{lower}").scroll_into_view_if_needed()
        page.fill(f"#note-{lower}", "Quiet today; stayed for the whole circle.")
        page.select_option(f"#status-{lower}", "left_early")
        assert page.locator(f"#minutes-label-{lower}").inner_text() == "Minutes left early"
        page.fill(f"#minutes-{lower}", "70")
        assert "Give 1 to 59" in page.locator(f"#attended-{lower}").inner_text()
        # Refused at the field, nothing saved, the input kept.
        with page.expect_navigation():
            page.locator("#record-save").click()
        assert "Give the minutes left early as a whole number from 1 to 59" in \
            page.locator(f"#error-minutes-{lower}").inner_text()
        assert page.locator(f"#minutes-{lower}").input_value() == "70"
        # The field to correct is in view and focused, not somewhere down the page.
        assert _visible_above_the_bar(page, f"#minutes-{lower}")
        assert page.locator(f"#minutes-{lower}").evaluate("el => document.activeElement === el")
        assert page.locator(f"#note-{lower}").input_value() == "Quiet today; stayed for the whole circle."
        assert _saved(app, info["session"])["attendance"] == {}
        page.locator(f"#minutes-{lower}").scroll_into_view_if_needed()
        page.fill(f"#minutes-{lower}", "10")
        assert page.locator(f"#attended-{lower}").inner_text() == "50 of 60 minutes attended"
        with page.expect_navigation():
            page.locator("#record-save").click()
        page.wait_for_load_state("load")
        assert _visible_above_the_bar(page, f"#note-{lower}")
        assert page.evaluate("window.pageYOffset") > 0
        assert _saved(app, info["session"])["attendance"][lower] == ("left_early", 50, None)
        assert _overflow(page, viewport["width"]) == []
        # "Saved" stays next to the buttons until the next change.
        assert page.locator("#record-saved").is_visible()
        page.fill(f"#engagement-{lower}", "4")
        assert page.locator("#record-saved").count() == 0
    finally:
        context.close()
