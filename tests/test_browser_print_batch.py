"""A batch of progress sheets started in Chromium: it shows it is working, a double click starts
one batch, the PDF arrives as a download, and a refused form keeps what was typed."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import AuditEvent, PeriodNote
from clinic.pdf import batches
from clinic.services import enrolment, membership
from conftest import TIMEOUT_MS, Factory, _make_app, _truncate, browser_login, serving


@pytest.fixture
def clinic(database_url, backend, tmp_path):
    """A planner and an IOP group of three, served locally with CSRF on."""
    app = _make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    today = date.today()
    with app.app_context():
        make = Factory()
        planner = make.staff("planner", email="pat@clinic.example", full_name="Pat Planner")
        counselor = make.staff("counselor", email="wren@clinic.example", full_name="Wren Facilitator")
        iop = make.track("iop")
        group = make.group(iop, facilitator=counselor, name="IOP Evening A")
        ids = []
        for last_name in ("Ashgrove", "Bramblecot", "Cindervale"):
            patient = make.patient(first_name="Test", last_name=last_name)
            enrolment.enrol(patient, iop, today - timedelta(days=14), counselor=counselor)
            membership.add_member(group, patient, today - timedelta(days=14))
            ids.append(patient.id)
        info = {"planner": planner.email, "counselor": counselor.email, "group": group.id, "patient": ids[0]}
        db.session.remove()
    try:
        with serving(app) as url:
            yield app, url, info
    finally:
        if backend == "postgresql":
            _truncate(app)


def _logged_in(browser, base: str, email: str):
    return browser_login(browser, base, email, viewport={"width": 1300, "height": 1000}, accept_downloads=True)


def _exports(app) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export")))
        db.session.remove()
    return [r for r in rows if r.changes.get("document") == "progress_sheet"]


def test_a_double_click_prints_one_batch_shows_progress_and_downloads(clinic, browser, monkeypatch):
    app, base, info = clinic
    real = batches.render_chunk  # the batch's job renders its sheets with it (in-process queue in tests)

    release = threading.Event()

    def held(*args, **kwargs):  # the print waits until the test has seen the page working
        release.wait(timeout=TIMEOUT_MS / 1000)
        return real(*args, **kwargs)

    monkeypatch.setattr(batches, "render_chunk", held)
    context, page = _logged_in(browser, base, info["planner"])
    try:
        page.goto(f"{base}/admin/print/progress/batch/?group={info['group']}")
        button = page.get_by_role("button", name="Print the PDF")
        with page.expect_download() as download_info:
            button.dblclick()
            working = page.locator("#print-working")
            working.wait_for(state="visible")
            assert "Preparing 3 sheets…" in working.inner_text()
            assert page.locator("progress#print-progress").is_visible()
            assert button.is_disabled()
            release.set()
        download = download_info.value
        assert download.suggested_filename == f"progress-group-{info['group']}-staff.pdf"
        assert download.path().read_bytes().startswith(b"%PDF")
        page.locator("#print-done").wait_for(state="visible")
        again = page.get_by_role("link", name="Download again")
        assert again.is_visible()
        assert not page.locator("#print-working").is_visible()
        assert button.is_enabled()
        # Exactly one batch: one export event per patient, not two.
        events = _exports(app)
        assert len(events) == 3
        assert len({e.entity_id for e in events}) == 3
        # Download again gives the same file without printing again.
        with page.expect_download() as second:
            again.click()
        assert second.value.path().read_bytes().startswith(b"%PDF")
        assert len(_exports(app)) == 3
    finally:
        release.set()
        context.close()


def test_a_refused_batch_shows_the_problem_in_the_page_and_keeps_the_form(clinic, browser):
    app, base, info = clinic
    context, page = _logged_in(browser, base, info["planner"])
    try:
        page.goto(f"{base}/admin/print/progress/batch/?group={info['group']}")
        page.get_by_label("From", exact=True).fill("2026-03-31")
        page.get_by_label("To", exact=True).fill("2026-03-01")
        page.get_by_label("Patient version", exact=False).check()
        url = page.url
        page.get_by_role("button", name="Print the PDF").click()
        problem = page.locator("#print-problem")
        problem.wait_for(state="visible")
        assert "cannot end before it starts" in problem.inner_text()
        assert page.url == url
        assert page.get_by_label("From", exact=True).input_value() == "2026-03-31"
        assert page.get_by_label("To", exact=True).input_value() == "2026-03-01"
        assert page.get_by_label("Patient version", exact=False).is_checked()
        assert page.get_by_role("button", name="Print the PDF").is_enabled()
        assert _exports(app) == []
    finally:
        context.close()


def test_a_counselor_prints_a_sheet_twice_from_one_form_and_the_summary_is_kept(clinic, browser):
    app, base, info = clinic
    context, page = _logged_in(browser, base, info["counselor"])
    try:
        page.goto(f"{base}/admin/print/progress/?patient={info['patient']}")
        page.get_by_label("Counselor's summary", exact=True).fill("Came every week.\nSleeping better.")
        page.get_by_label("Next steps", exact=True).fill("Keep the note exercise.")
        button = page.get_by_role("button", name="Print the PDF")
        with page.expect_download() as first:
            button.click()
        assert first.value.suggested_filename == f"progress-{info['patient']}-staff.pdf"
        page.locator("#print-done").wait_for(state="visible")
        # The same form again, now for the patient: the saved text's new version came with the PDF.
        page.get_by_label("Patient version", exact=False).check()
        with page.expect_download() as second:
            button.click()
        assert second.value.suggested_filename == f"progress-{info['patient']}-patient.pdf"
        assert not page.locator("#print-problem").is_visible()
        page.screenshot(path="/tmp/printing-sheet-done.png")
        with app.app_context():
            notes = [(n.summary, n.next_steps, n.version) for n in db.session.scalars(sa.select(PeriodNote))]
            db.session.remove()
        assert notes == [("Came every week.\nSleeping better.", "Keep the note exercise.", 1)]
        page.goto(f"{base}/admin/patients/details/?id={info['patient']}")
        notes_box = page.locator("#period-notes")
        assert "Sleeping better." in notes_box.inner_text() and "Wren Facilitator" in notes_box.inner_text()
        page.screenshot(path="/tmp/printing-patient-notes.png", full_page=True)
    finally:
        context.close()
