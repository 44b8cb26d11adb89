"""A real browser (Debian's Chromium through Playwright) against a live server.

The app runs on a copy of the migrated SQLite template with CSRF switched on, so
the login form is posted exactly as a member of staff would post it, token and all.
Without ``/usr/bin/chromium`` or the ``playwright`` package the test is skipped
(under ``CI=true`` it fails instead, see ``conftest.missing``).
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from clinic.extensions import db
from conftest import PASSWORD, TIMEOUT_MS, Factory, _make_app

SCREENSHOT = Path("/tmp/browser-patients.png")


@dataclass(frozen=True)
class LiveServer:
    """Where the live app listens and the records the test looks for."""

    url: str
    counselor_email: str
    counselor_name: str
    staff_emails: tuple[str, ...]
    caseload_last_name: str
    other_last_name: str
    caseload_patient_id: int
    other_patient_id: int


@pytest.fixture
def live_server(sqlite_template, tmp_path):
    """The app on its own SQLite copy, with CSRF on, served on a free local port."""
    path = tmp_path / "clinic.sqlite"
    shutil.copy(sqlite_template, path)
    app = _make_app(f"sqlite:///{path}", tmp_path, WTF_CSRF_ENABLED=True)

    with app.app_context():
        make = Factory()
        counselor = make.staff("counselor", email="casey.counselor@clinic.example",
                               full_name="Casey Counselor")
        admin = make.staff("admin", email="ada.admin@clinic.example", full_name="Ada Admin")
        planner = make.staff("planner", email="pat.planner@clinic.example", full_name="Pat Planner")
        track = make.track("iop")
        mine = make.patient(first_name="Mina", last_name="Caseloadperson")
        other = make.patient(first_name="Otto", last_name="Elsewhereperson")
        make.enrolment(mine, track, counselor=counselor)
        data = dict(
            counselor_email=counselor.email,
            counselor_name=counselor.full_name,
            staff_emails=(counselor.email, admin.email, planner.email),
            caseload_last_name=mine.last_name,
            other_last_name=other.last_name,
            caseload_patient_id=mine.id,
            other_patient_id=other.id,
        )
        db.session.remove()

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", **data)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _menu_links_to(page, path: str) -> int:
    """How many links on the page (shown or hidden) point at ``path``."""
    return page.locator(f'a[href*="{path}"]').count()


@pytest.mark.browser
def test_a_counselor_logs_in_sees_their_patients_and_is_not_offered_staff_accounts(
    live_server, browser
):
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()

        # Anonymous: the programme sends us to the login page.
        page.goto(base + "/admin/")
        assert "/login" in page.url
        assert page.get_by_role("heading", name="Staff login").is_visible()

        # The real form, with its real CSRF token.
        page.get_by_label("E-mail").fill(live_server.counselor_email)
        page.get_by_label("Password").fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Log in").click()
        assert page.url.rstrip("/").endswith("/admin")
        assert live_server.counselor_name in page.locator("h1").inner_text()
        assert live_server.counselor_name in page.locator("#signed-in-as").inner_text()

        # Nothing in the menu leads to staff accounts or the audit log.
        for forbidden in ("/admin/staff/", "/admin/audit/"):
            assert _menu_links_to(page, forbidden) == 0, forbidden
        for label in ("Staff accounts", "Audit log"):
            assert page.get_by_role("link", name=label, include_hidden=True).count() == 0, label

        # People > Patients through the drop-down menu.
        page.get_by_role("link", name="People").click()
        patients_link = page.get_by_role("link", name="Patients", exact=True)
        patients_link.wait_for(state="visible")
        with page.expect_navigation():
            patients_link.click()
        assert "/admin/patients/" in page.url
        table = page.locator("table.model-list")
        table.wait_for()
        listing = table.inner_text()
        assert live_server.caseload_last_name in listing
        assert live_server.other_last_name not in listing
        assert live_server.other_last_name not in page.content()
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        for forbidden in ("/admin/staff/", "/admin/audit/"):
            assert _menu_links_to(page, forbidden) == 0, forbidden

        # Typing the staff address by hand: 403, and no staff e-mail on the page.
        response = page.goto(base + "/admin/staff/")
        assert response is not None and response.status == 403
        content = page.content()
        for email in live_server.staff_emails:
            assert email not in content

        # A caseload patient's record opens (so the refusal below is not a broken page)...
        details = base + "/admin/patients/details/?id="
        response = page.goto(f"{details}{live_server.caseload_patient_id}")
        assert response is not None and response.status == 200
        assert live_server.caseload_last_name in page.locator("table").first.inner_text()

        # ...but typing the address of a patient who is not on the caseload shows nothing of them.
        response = page.goto(f"{details}{live_server.other_patient_id}")
        assert response is not None and response.status in (200, 403, 404)
        assert live_server.other_last_name not in page.content()
        assert "/details/" not in page.url or response.status != 200
    finally:
        context.close()
