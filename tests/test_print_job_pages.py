"""A batch print's job pages: the form starts a job, its page shows how far it is and then the
download, only its owner sees it, the same batch is not started twice, a failure is said plainly.

The tests' queue is in-process (``CLINIC_JOB_QUEUE=immediate``): a job has run when the POST
returns. To watch a job that is still waiting, ``held`` keeps the queue's messages back and
``work`` then does what a worker would.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from clinic import jobs
from clinic.extensions import db
from clinic.models import AuditEvent, PrintChunk, PrintJob
from clinic.models._types import utcnow
from clinic.services import print_jobs
from conftest import login
from print_helpers import follow_batch, job_page_of
from test_pdf_batches import sheets
from test_pdf_render import page_texts

START, END = date(2026, 3, 1), date(2026, 3, 31)
FORM = {"from": START.isoformat(), "to": END.isoformat(), "version": "staff"}
NAMES = ("Ashgrove", "Bramblecot", "Cindervale")


@pytest.fixture
def batch(make):
    """A planner and a group of three members over March."""
    planner = make.staff("planner", email="pat@clinic.example")
    iop = make.track("iop")
    group = make.group(iop, name="IOP Evening A")
    for name in NAMES:
        patient = make.patient(first_name="Test", last_name=name)
        make.enrolment(patient, iop, start=date(2026, 2, 1))
        make.membership(group, patient, start=date(2026, 2, 1))
    return planner, group


@pytest.fixture
def held(monkeypatch):
    """The queue keeps its messages (no worker yet): jobs stay queued; returns the held chunk ids."""
    kept: list[int] = []
    monkeypatch.setattr(jobs, "enqueue_chunk", kept.append)
    return kept


def work(kept: list[int]) -> None:
    """Render the held chunks, as a worker would (the last one merges the job)."""
    while kept:
        print_jobs.run_chunk(kept.pop(0))
    db.session.expire_all()


def exports() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "export"))


def url_of(group) -> str:
    return f"/admin/print/progress/batch/?group={group.id}"


def test_the_form_starts_a_job_whose_page_tells_what_and_offers_the_download(client, batch):
    planner, group = batch
    login(client, planner.email)
    posted = client.post(url_of(group), data=FORM)
    page_url = job_page_of(posted)
    page = client.get(page_url)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    # What is printed, without any patient's name.
    assert "IOP Evening A (group)" in text
    assert "2026-03-01 to 2026-03-31" in text and "Staff version" in text
    assert re.search(r"<dt[^>]*>Sheets</dt><dd[^>]*>3</dd>", text)
    assert not any(name in text for name in NAMES)
    # Done: the full bar in a live region, the link, no refresh.
    assert re.search(r'role="status"', text)
    assert re.search(r'<progress id="print-job-progress"[^>]*max="3" value="3"', text)
    assert "3 of 3 sheets" in text
    assert 'http-equiv="refresh"' not in text
    download = follow_batch(client, posted)
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"] == f'attachment; filename="progress-group-{group.id}-staff.pdf"'
    assert download.headers["Cache-Control"] == "no-store"
    got = page_texts(download.data)
    assert len(sheets(got)) == 3
    assert all(any(name in "\n".join(got) for name in NAMES) for _ in NAMES)
    # The JSON status of the same job.
    job_id = int(page_url.strip("/").split("/")[-1])
    status = client.get(f"/admin/print/jobs/{job_id}/status")
    assert status.headers["Cache-Control"] == "no-store"
    assert status.json == {
        "id": job_id, "state": "done", "done": 3, "total": 3, "text": "3 of 3 sheets", "state_text": "Ready",
        "message": None, "page": page_url, "status": f"/admin/print/jobs/{job_id}/status",
        "download": f"/admin/print/jobs/{job_id}/download",
    }
    # Downloading again prints nothing again: one export event per patient.
    assert client.get(f"/admin/print/jobs/{job_id}/download").data == download.data
    assert exports() == 3


def test_print_batch_js_gets_the_job_as_json(client, batch):
    planner, group = batch
    login(client, planner.email)
    answer = client.post(url_of(group), data=FORM, headers={"X-Requested-With": "fetch"})
    assert answer.status_code == 202
    job = answer.json["job"]
    assert job["total"] == 3 and job["state"] == "done"
    assert job["page"] == f"/admin/print/jobs/{job['id']}/" and job["download"].endswith("/download")


def test_a_waiting_job_shows_its_progress_and_refreshes_without_javascript(client, batch, held, app):
    planner, group = batch
    app.config["CLINIC_PRINT_CHUNK_SHEETS"] = 2
    login(client, planner.email)
    page_url = job_page_of(client.post(url_of(group), data=FORM))
    job_id = int(page_url.strip("/").split("/")[-1])
    text = client.get(page_url).get_data(as_text=True)
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in text
    assert re.search(r'<progress id="print-job-progress"[^>]*max="3" value="0"', text)
    assert "0 of 3 sheets" in text and "Waiting for a print worker" in text
    assert re.search(r'<p id="print-job-ready" hidden>', text)
    status = client.get(f"/admin/print/jobs/{job_id}/status").json
    assert (status["state"], status["done"], status["download"]) == ("queued", 0, None)
    early = client.get(f"/admin/print/jobs/{job_id}/download")  # not ready: to the job's page
    assert (early.status_code, early.location) == (302, page_url)
    # The first chunk (two sheets) is done: the bar moves.
    print_jobs.run_chunk(held.pop(0))
    db.session.expire_all()
    status = client.get(f"/admin/print/jobs/{job_id}/status").json
    assert (status["state"], status["done"], status["text"]) == ("running", 2, "2 of 3 sheets")
    assert "2 of 3 sheets" in client.get(page_url).get_data(as_text=True)
    work(held)
    text = client.get(page_url).get_data(as_text=True)
    assert 'http-equiv="refresh"' not in text and f'href="/admin/print/jobs/{job_id}/download"' in text
    assert client.get(f"/admin/print/jobs/{job_id}/status").json["state"] == "done"


def test_the_same_batch_while_it_runs_is_refused_and_points_to_the_running_job(client, batch, held):
    planner, group = batch
    login(client, planner.email)
    running = job_page_of(client.post(url_of(group), data=FORM))
    again = client.post(url_of(group), data=FORM)
    text = again.get_data(as_text=True)
    assert again.status_code == 409
    assert "already being prepared" in text
    assert f'<a href="{running}" id="print-running-job">' in text
    # The same answer to the fetch: the form page, with the link.
    fetched = client.post(url_of(group), data=FORM, headers={"X-Requested-With": "fetch"})
    assert fetched.status_code == 409 and running in fetched.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PrintJob)) == 1
    # Another period is another batch.
    assert job_page_of(client.post(url_of(group), data={**FORM, "to": "2026-03-30"})) != running
    work(held)
    # Once finished, the same batch can be printed again.
    assert job_page_of(client.post(url_of(group), data=FORM)) not in (running,)
    assert exports() == 6


def _without_tokens(answer) -> str:
    return re.sub(r'(data-csrf-token="|name="csrf_token" value=")[^"]*"', r"\1", answer.get_data(as_text=True))


def test_only_the_owner_sees_a_job_anyone_else_gets_404_like_a_missing_one(app, client, batch, make):
    planner, group = batch
    login(client, planner.email)
    page_url = job_page_of(client.post(url_of(group), data=FORM))
    job_id = int(page_url.strip("/").split("/")[-1])
    assert client.get(f"/admin/print/jobs/{job_id}/download").status_code == 200
    for role in ("planner", "admin", "counselor"):
        other = app.test_client()
        login(other, make.staff(role).email)
        for suffix in ("", "status", "download"):
            mine = other.get(f"/admin/print/jobs/{job_id}/{suffix}")
            missing = other.get(f"/admin/print/jobs/{2**31 - 1}/{suffix}")
            assert (mine.status_code, missing.status_code) == (404, 404), (role, suffix)
            # The same page, byte for byte, but for the CSRF tokens (signed with the second they
            # were made: two requests may straddle one).
            assert _without_tokens(mine) == _without_tokens(missing)
    anonymous = app.test_client().get(f"/admin/print/jobs/{job_id}/download")
    assert anonymous.status_code in (302, 401) and anonymous.mimetype != "application/pdf"


def test_a_failed_job_says_so_plainly_and_offers_to_start_it_again(client, batch, held, monkeypatch):
    planner, group = batch
    login(client, planner.email)
    page_url = job_page_of(client.post(url_of(group), data={**FORM, "version": "patient"}))
    job_id = int(page_url.strip("/").split("/")[-1])
    from clinic.pdf import batches

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(batches, "render_chunk", broken)
    for _ in range(print_jobs.MAX_ATTEMPTS):  # every attempt fails; the chunk is queued again meanwhile
        work(held)
    text = client.get(page_url).get_data(as_text=True)
    assert re.search(r'<div id="print-job-failed" class="alert alert-danger" role="alert">', text)
    assert "could not be finished" in text and "disk full" not in text
    again = re.search(r'<a id="print-job-again" href="([^"]+)">Start it again</a>', text)
    assert again
    form_url = again.group(1).replace("&amp;", "&")
    assert form_url.startswith(f"/admin/print/progress/batch/?group={group.id}")
    assert "from=2026-03-01" in form_url and "to=2026-03-31" in form_url and "version=patient" in form_url
    assert 'http-equiv="refresh"' not in text
    status = client.get(f"/admin/print/jobs/{job_id}/status").json
    assert status["state"] == "failed" and "could not be finished" in status["message"]
    assert status["download"] is None
    assert client.get(f"/admin/print/jobs/{job_id}/download").location == page_url
    assert exports() == 0
    # Started again from that link, it is a new job (nothing is held back now).
    monkeypatch.undo()
    form = client.get(form_url)
    assert form.status_code == 200 and 'value="2026-03-01"' in form.get_data(as_text=True)
    redo = follow_batch(client, client.post(url_of(group), data={**FORM, "version": "patient"}))
    assert redo.mimetype == "application/pdf"


def test_a_job_whose_worker_died_is_taken_up_again_when_its_page_is_polled(app, client, batch, held):
    planner, group = batch
    login(client, planner.email)
    page_url = job_page_of(client.post(url_of(group), data=FORM))
    job_id = int(page_url.strip("/").split("/")[-1])
    chunk_id = held.pop(0)
    waiting = list(held)  # the job's other chunks, still queued
    # A worker claimed the chunk and died: no heartbeat since long ago.
    db.session.execute(sa.update(PrintChunk).where(PrintChunk.id == chunk_id).values(
        state="running", attempts=1, heartbeat_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    db.session.expire_all()
    status = client.get(f"/admin/print/jobs/{job_id}/status").json
    assert status["state"] in ("queued", "running")
    assert held == [*waiting, chunk_id]  # queued again for another worker
    work(held)
    assert client.get(f"/admin/print/jobs/{job_id}/status").json["state"] == "done"


def test_a_selections_job_page_counts_the_patients_and_starts_again_with_them(client, batch, make, held):
    planner, group = batch
    chosen = sorted(make.patient(first_name="Test", last_name=f"Selected{n}").id for n in range(40))
    login(client, planner.email)
    query = "&".join(f"patients={i}" for i in chosen)
    page_url = job_page_of(client.post(f"/admin/print/progress/batch/?{query}", data=FORM))
    text = client.get(page_url).get_data(as_text=True)
    assert "40 selected patients" in text and "Selected1" not in text
    again = re.search(r'<a id="print-job-again" href="([^"]+)"', text).group(1).replace("&amp;", "&")
    assert sorted(int(i) for i in re.findall(r"patients=(\d+)", again)) == chosen
    # The same selection again is the same batch, even though its key is long.
    busy = client.post(f"/admin/print/progress/batch/?{query}", data=FORM)
    assert busy.status_code == 409 and page_url in busy.get_data(as_text=True)


def test_the_form_lists_the_logins_own_latest_batch_prints(app, client, batch, make, held):
    planner, group = batch
    login(client, planner.email)
    assert 'id="print-recent"' not in client.get(url_of(group)).get_data(as_text=True)
    page_url = job_page_of(client.post(url_of(group), data=FORM))
    form = client.get(url_of(group)).get_data(as_text=True)
    recent = re.search(r'<ul class="list-unstyled small" id="print-recent">(.*?)</ul>', form, flags=re.S).group(1)
    assert f'<a href="{page_url}">IOP Evening A (group), 2026-03-01 to 2026-03-31, staff version</a>' in recent
    assert "waiting for a print worker (0 of 3 sheets)" in recent
    assert not any(name in recent for name in NAMES)
    other = app.test_client()
    login(other, make.staff("planner").email)
    assert 'id="print-recent"' not in other.get(url_of(group)).get_data(as_text=True)


def test_a_status_poll_takes_the_same_few_statements_however_many_jobs_run(app, client, batch, held):
    planner, group = batch
    login(client, planner.email)
    first = job_page_of(client.post(url_of(group), data=FORM))
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def poll() -> int:
        statements.clear()
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get(first + "status").status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    alone = poll()
    for day in range(20, 25):  # five more batches queued (other periods)
        job_page_of(client.post(url_of(group), data={**FORM, "to": f"2026-03-{day}"}))
    assert poll() == alone <= 8


def test_an_expired_job_says_why_it_is_gone_and_where_to_print_again(app, client, batch):
    planner, group = batch
    login(client, planner.email)
    page_url = job_page_of(client.post(url_of(group), data=FORM))
    job_id = int(page_url.strip("/").split("/")[-1])
    assert client.get(f"/admin/print/jobs/{job_id}/download").status_code == 200
    keep = app.config["CLINIC_PRINT_KEEP_MINUTES"]
    assert print_jobs.purge_expired(now=utcnow() + timedelta(minutes=keep + 1)) == 1
    for suffix in ("", "download"):
        gone = client.get(f"/admin/print/jobs/{job_id}/{suffix}")
        text = gone.get_data(as_text=True)
        assert gone.status_code == 404 and gone.mimetype == "text/html"
        assert "This print is no longer here" in text
        assert f"kept for {keep} minutes and then deleted" in text
        assert 'href="/admin/print/progress/batch/"' in text
    assert client.get(f"/admin/print/jobs/{job_id}/status").status_code == 404
