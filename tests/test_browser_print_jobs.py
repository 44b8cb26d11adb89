"""A batch of progress sheets as a background job, in Chromium: a counselor starts a group's batch,
watches "N of M sheets" grow, and the PDF arrives with the right sheets; without JavaScript the
form opens the job's page, which refreshes itself until the download link is there.

The app is served locally; the queue's messages are held by the test, which then plays the
worker (one sheet per chunk), so each step of the progress is seen, without sleeping.
"""

from __future__ import annotations

import queue
from io import BytesIO

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from clinic import jobs
from clinic.extensions import db
from clinic.models import PrintJob
from clinic.services import print_jobs
from conftest import TIMEOUT_MS, browser_login
from test_browser_csp import LISTEN
from test_browser_print_batch import clinic  # noqa: F401 (fixture)

NAMES = ("Ashgrove", "Bramblecot", "Cindervale")


@pytest.fixture
def held(clinic, monkeypatch):  # noqa: F811
    """The queue's messages (chunk ids) kept for the test, which renders them as a worker would."""
    app, _, _ = clinic
    app.config["CLINIC_PRINT_CHUNK_SHEETS"] = 1
    messages: queue.Queue[int] = queue.Queue()
    monkeypatch.setattr(jobs, "enqueue_chunk", messages.put)

    def work_one() -> None:
        chunk_id = messages.get(timeout=TIMEOUT_MS / 1000)
        with app.app_context():
            print_jobs.run_chunk(chunk_id)
            db.session.remove()

    return work_one


def _jobs(app) -> int:
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(PrintJob))
        db.session.remove()
    return count


def _sheets(pdf: bytes) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(BytesIO(pdf)).pages]


def test_a_counselor_starts_a_group_batch_sees_it_progress_and_gets_the_pdf(clinic, browser, held):  # noqa: F811
    app, base, info = clinic
    context, page = browser_login(browser, base, info["counselor"], accept_downloads=True)
    try:
        page.goto(f"{base}/admin/print/progress/batch/?group={info['group']}")
        button = page.get_by_role("button", name="Print the PDF")
        button.dblclick()
        working = page.locator("#print-working")
        working.wait_for(state="visible")
        assert "Preparing 3 sheets…" in working.inner_text()
        count = page.locator("#print-count")
        expect(page.locator("#print-count")).to_have_text("0 of 3 sheets")
        assert button.is_disabled()
        assert page.locator("#print-status[role=status]").count() == 1
        held()
        expect(page.locator("#print-count")).to_have_text("1 of 3 sheets")
        page.screenshot(path="/tmp/print-job-form-progress.png")
        assert page.locator("#print-progress").evaluate("bar => [bar.value, bar.max]") == [1, 3]
        held()
        expect(page.locator("#print-count")).to_have_text("2 of 3 sheets")
        job_link = page.get_by_role("link", name="Follow it on its own page")
        assert job_link.is_visible()
        with page.expect_download() as download_info:
            held()  # the last sheet: the job is merged, and the download starts by itself
        download = download_info.value
        assert download.suggested_filename == f"progress-group-{info['group']}-staff.pdf"
        text = "\n".join(_sheets(download.path().read_bytes()))
        assert all(name in text for name in NAMES)
        assert text.count("Progress sheet") >= 3
        page.locator("#print-done").wait_for(state="visible")
        assert count.inner_text() == "3 of 3 sheets"
        assert button.is_enabled()
        assert _jobs(app) == 1  # the double click started one job
        # Download again: the same file, not printed again.
        with page.expect_download() as again:
            page.get_by_role("link", name="Download again").click()
        assert again.value.path().read_bytes() == download.path().read_bytes()
        assert _jobs(app) == 1
        # The job's own page shows it done, with its link.
        job_link.click()
        page.get_by_role("link", name="Download the PDF").wait_for(state="visible")
        assert "3 of 3 sheets" in page.locator("#print-job-status").inner_text()
        page.screenshot(path="/tmp/print-job-page-done.png")
    finally:
        context.close()


def test_the_job_page_follows_the_job_with_javascript_under_the_csp(clinic, browser, held):  # noqa: F811
    app, base, info = clinic
    context, page = browser_login(browser, base, info["planner"], accept_downloads=True, init_script=LISTEN)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    try:
        page.goto(f"{base}/admin/print/progress/batch/?group={info['group']}")
        page.get_by_role("button", name="Print the PDF").click()
        page.get_by_role("link", name="Follow it on its own page").click()
        page.wait_for_url("**/admin/print/jobs/*/")
        assert "0 of 3 sheets" in page.locator("#print-job-text").inner_text()
        for done in (1, 2, 3):
            held()
            expect(page.locator("#print-job-text")).to_have_text(f"{done} of 3 sheets")
        ready = page.get_by_role("link", name="Download the PDF")
        ready.wait_for(state="visible")
        with page.expect_download() as download_info:
            ready.click()
        assert download_info.value.path().read_bytes().startswith(b"%PDF")
        assert page.evaluate("window.__cspViolations") == []
        assert errors == []
    finally:
        context.close()


def test_without_javascript_the_form_opens_the_job_page_which_refreshes_to_the_link(clinic, browser, held):  # noqa: F811
    app, base, info = clinic
    context, page = browser_login(browser, base, info["counselor"], accept_downloads=True,
                                  java_script_enabled=False)
    try:
        page.goto(f"{base}/admin/print/progress/batch/?group={info['group']}")
        with page.expect_navigation():
            page.get_by_role("button", name="Print the PDF").click()
        assert "/admin/print/jobs/" in page.url
        assert "0 of 3 sheets" in page.locator("#print-job-text").inner_text()
        assert not page.get_by_role("link", name="Download the PDF").is_visible()
        page.screenshot(path="/tmp/print-job-page-waiting.png")
        for _ in NAMES:
            held()
        # The page refreshes itself (every 2 s) until the job is done.
        link = page.get_by_role("link", name="Download the PDF")
        link.wait_for(state="visible")
        assert "3 of 3 sheets" in page.locator("#print-job-text").inner_text()
        with page.expect_download() as download_info:
            link.click()
        text = "\n".join(_sheets(download_info.value.path().read_bytes()))
        assert all(name in text for name in NAMES)
    finally:
        context.close()


def test_a_failed_batch_says_so_on_the_form_and_the_button_starts_it_again(clinic, browser, monkeypatch):  # noqa: F811
    from clinic.pdf import batches

    app, base, info = clinic
    real = batches.render_chunk

    def broken(*args, **kwargs):
        raise OSError("the disk is full")

    monkeypatch.setattr(batches, "render_chunk", broken)
    context, page = browser_login(browser, base, info["planner"], accept_downloads=True)
    try:
        page.goto(f"{base}/admin/print/progress/batch/?group={info['group']}")
        button = page.get_by_role("button", name="Print the PDF")
        button.click()
        problem = page.locator("#print-problem")
        problem.wait_for(state="visible")
        assert "could not be finished" in problem.inner_text()
        assert "Start it again" in problem.inner_text() and "disk" not in problem.inner_text()
        assert not page.locator("#print-done").is_visible()
        assert button.is_enabled()
        # The job's page says the same, with its own way back to the form.
        page.get_by_role("link", name="Follow it on its own page").click()
        failed = page.locator("#print-job-failed")
        failed.wait_for(state="visible")
        assert "could not be finished" in failed.inner_text()
        page.get_by_role("link", name="Start it again").click()
        page.wait_for_url("**/admin/print/progress/batch/**")
        monkeypatch.setattr(batches, "render_chunk", real)
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Print the PDF").click()
        assert download_info.value.path().read_bytes().startswith(b"%PDF")
    finally:
        context.close()
