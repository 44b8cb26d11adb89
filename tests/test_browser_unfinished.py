"""In Chromium: a saved but unsigned record stays on My day and on Records to finish until it is signed;
My day's Record buttons stay on screen on a phone and a tablet."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from clinic.extensions import db
from clinic.models import GroupSession
from clinic.services import enrolment, membership
from conftest import Factory, _make_app, _truncate, browser_login, serving

NAMES = ("Ashgrove", "Bramblecot", "Cindervale")
#: Collects Content-Security-Policy violations the page reports to itself.
LISTEN = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@pytest.fixture
def clinic(database_url, backend, tmp_path):
    """A counselor's IOP group with a session two days ago (never recorded) and one today; a planner."""
    app = _make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    today = date.today()
    with app.app_context():
        make = Factory()
        counselor = make.staff("counselor", email="wren@clinic.example", full_name="Wren Facilitator")
        make.staff("counselor", email="odo@clinic.example", full_name="Odo Otherone")
        make.staff("planner", email="pia@clinic.example", full_name="Pia Planner")
        iop = make.track("iop")
        group = make.group(iop, facilitator=counselor, name="IOP Evening A", room="Lantern Room")
        for last_name in NAMES:
            patient = make.patient(first_name="Test", last_name=last_name)
            enrolment.enrol(patient, iop, today - timedelta(days=30), counselor=counselor)
            membership.add_member(group, patient, today - timedelta(days=30))
        past = GroupSession(group_id=group.id, starts_at=datetime.combine(today - timedelta(days=2), time(9)),
                            duration_minutes=60, room="Lantern Room", facilitator_id=counselor.id)
        older = GroupSession(group_id=group.id, starts_at=datetime.combine(today - timedelta(days=9), time(9)),
                             duration_minutes=60, room="Lantern Room", facilitator_id=counselor.id)
        # Starts ninety minutes from now whatever the hour the suite runs: it has not started.
        coming_at = datetime.now().replace(second=0, microsecond=0) + timedelta(minutes=90)
        todays = GroupSession(group_id=group.id, starts_at=coming_at,
                              duration_minutes=90, room="Lantern Room", facilitator_id=counselor.id)
        db.session.add_all([past, older, todays])
        db.session.commit()
        info = {"counselor": counselor.id, "past": past.id, "older": older.id, "today": todays.id,
                "today_is_today": coming_at.date() == today}
        db.session.remove()
    try:
        with serving(app) as url:
            yield app, url, info
    finally:
        if backend == "postgresql":
            _truncate(app)


def _logged_in(browser, base: str, email: str, viewport=None):
    return browser_login(browser, base, email, init_script=LISTEN,
                         viewport=viewport or {"width": 1400, "height": 1000})


@pytest.mark.browser
def test_a_saved_unsigned_record_stays_on_my_day_and_records_to_finish_until_it_is_signed(clinic, browser):
    app, base, info = clinic
    past, counselor = info["past"], info["counselor"]
    wren, page = _logged_in(browser, base, "wren@clinic.example")
    pia, planner = _logged_in(browser, base, "pia@clinic.example")
    try:
        # Two days later, the session nobody recorded is on My day, with the way to record it.
        page.goto(base + "/admin/day/")
        row = page.locator(f"#unsigned-{past}")
        assert row.locator(".record-state").inner_text() == "not recorded: needs recording"
        assert "overdue by" in row.locator(".record-due").inner_text()
        with page.expect_navigation():
            row.get_by_role("link", name="Record").click()
        assert page.locator("#record-state").inner_text() == "not recorded"

        # Saved, not signed.
        with page.expect_navigation():
            page.locator("#record-save").click()
        assert page.locator("#record-state").inner_text() == "recorded"

        # Still on My day, now as saved but not signed, and offered for signing.
        page.goto(base + "/admin/day/")
        row = page.locator(f"#unsigned-{past}")
        assert row.locator(".record-state").inner_text() == "saved, not signed"
        assert row.locator(".record-link").get_attribute("data-action") == "Sign"
        # Oldest first: the session of nine days ago comes before it.
        ids = page.locator("#unsigned-sessions tbody tr").evaluate_all("rows => rows.map(r => r.id)")
        assert ids == [f"unsigned-{info['older']}", f"unsigned-{past}"]
        page.screenshot(path="/tmp/queue-day-saved.png", full_page=True)
        assert page.evaluate("window.__cspViolations") == []

        # The planner finds it under Wren, overdue, with the counts.
        planner.goto(base + "/admin/")
        planner.get_by_role("link", name="Reports", exact=True).click()
        with planner.expect_navigation():
            planner.get_by_role("link", name="Records to finish").click()
        wren_section = planner.locator(f"#facilitator-{counselor}")
        assert wren_section.get_by_role("heading").inner_text() == "Wren Facilitator"
        unfinished_row = wren_section.locator(f"#unfinished-{past}")
        assert unfinished_row.locator(".record-state").inner_text() == "saved, not signed"
        assert unfinished_row.locator(".record-due").get_attribute("data-overdue") == "yes"
        assert "overdue by" in unfinished_row.locator(".record-due").inner_text()
        assert wren_section.locator(".facilitator-counts").get_attribute("data-count") == "2"
        assert planner.locator(f"#unfinished-{info['today']}").count() == 0  # has not started
        planner.screenshot(path="/tmp/queue-unfinished.png", full_page=True)
        assert planner.evaluate("window.__cspViolations") == []

        # Signed from My day: it leaves both lists.
        with page.expect_navigation():
            page.locator(f"#unsigned-{past}").get_by_role("link", name="Sign").click()
        with page.expect_navigation():
            page.locator("#record-sign").click()
        assert "signed" in page.locator("#record-signed").inner_text()
        page.goto(base + "/admin/day/")
        assert page.locator(f"#unsigned-{past}").count() == 0
        assert page.locator(f"#unsigned-{info['older']}").count() == 1
        planner.reload()
        assert planner.locator(f"#unfinished-{past}").count() == 0
        assert planner.locator(f"#facilitator-{counselor} .facilitator-counts").get_attribute("data-count") == "1"
    finally:
        pia.close()
        wren.close()


@pytest.mark.browser
@pytest.mark.parametrize("width,height", [(390, 844), (768, 1024)])
def test_my_days_record_buttons_stay_on_screen_on_a_phone_and_a_tablet(clinic, browser, width, height):
    app, base, info = clinic
    context, page = _logged_in(browser, base, "wren@clinic.example", viewport={"width": width, "height": height})
    try:
        page.goto(base + "/admin/day/")
        rows = page.locator("#today-sessions tbody tr, #unsigned-sessions tbody tr")
        # The two unrecorded sessions, and the coming one when it falls today (late at night it is tomorrow's).
        assert rows.count() == 2 + info["today_is_today"]
        for index in range(rows.count()):
            button = rows.nth(index).locator(".record-link")
            button.scroll_into_view_if_needed()
            assert button.is_visible()
            box = button.bounding_box()
            assert box is not None and box["width"] > 0
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, (index, box)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=f"/tmp/queue-day-{width}.png", full_page=True)
        assert page.evaluate("window.__cspViolations") == []
    finally:
        context.close()
