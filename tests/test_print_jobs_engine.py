"""Batch prints as background jobs: chunks rendered apart and merged read like the serial batch.

Most tests run with a queue that only holds messages (``held_queue``), and call the
worker's functions (``run_chunk``, ``recover``) the way a worker would, so what happens
between two chunks can be looked at. ``immediate`` (the tests' default queue) runs a job
to its end inside ``start_progress_batch``.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pikepdf
import pytest
import sqlalchemy as sa
from huey import MemoryHuey

from clinic import jobs
from clinic.extensions import db
from clinic.models import AuditEvent, PrintChunk, PrintJob
from clinic.models._types import utcnow
from clinic.pdf import batches
from clinic.pdf.cli import print_cli
from clinic.services import print_jobs
from clinic.services.errors import RuleViolation
from test_pdf_batches import roster, sheets  # noqa: F401 (fixture)
from test_pdf_progress import END, START, clinic  # noqa: F401 (fixture)
from test_pdf_render import page_texts, read_pdf

TITLE = "Progress sheets, test batch"


def outline_titles(pdf: bytes) -> list[str]:
    with pikepdf.open(io.BytesIO(pdf)) as document, document.open_outline() as outline:
        return [item.title for item in outline.root]


def exports() -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.id)))


@pytest.fixture
def planner(make):
    return make.staff("planner", email="planner@clinic.example")


@pytest.fixture
def everyone(clinic, roster):  # noqa: F811 (fixtures imported above)
    """The IOP track's patients over March, in the staff version's print order."""
    return batches.track_patients(clinic.group.track, START, END, "staff")


@pytest.fixture
def held_queue(app):
    """A queue that keeps its messages (no worker): the test plays the worker."""
    huey = MemoryHuey("held", results=False)
    jobs._register(huey, app)
    app.extensions[jobs.EXTENSION] = huey
    app.config["CLINIC_PRINT_CHUNK_SHEETS"] = 1
    return huey


def queued_chunks(huey) -> list[int]:
    """The chunk ids the queue holds messages for, in order (the messages are taken)."""
    ids = []
    while True:
        message = huey.dequeue()
        if message is None:
            return ids
        if message.name == "print.chunk":
            ids.append(message.args[0])


def start(user, patients, version="staff", target="track:1"):
    return print_jobs.start_progress_batch(
        user, patients, START, END, version, target=target, title=TITLE,
        source={"track": 1}, filename="progress-track-1-staff.pdf")


def chunks_of(job_id: int) -> list[PrintChunk]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(PrintChunk).where(PrintChunk.job_id == job_id).order_by(PrintChunk.index)))


@pytest.mark.parametrize("version", ["staff", "patient"])
def test_chunks_merged_read_like_the_serial_batch_page_for_page(app, ctx, planner, everyone, version):
    app.config["CLINIC_PRINT_CHUNK_SHEETS"] = 1
    patients = batches.in_print_order(everyone, version)
    assert len(patients) >= 3
    serial = batches.progress_batch(patients, START, END, version, commit=False)
    db.session.rollback()
    status = start(planner, patients, version)
    assert status.state == "done" and status.ready and status.sheets_done == status.sheets_total == len(patients)
    assert len(chunks_of(status.id)) == len(patients)
    pdf, filename = print_jobs.job_pdf(planner, status.id)
    assert filename == "progress-track-1-staff.pdf"
    expected, got = page_texts(serial), page_texts(pdf)
    assert got == expected  # every page, in order, with each sheet's own "Page X of Y"
    assert len(sheets(got)) == len(patients)
    assert read_pdf(pdf).metadata.title == TITLE
    # Still a tagged PDF for screen readers, with the serial batch's bookmarks.
    assert outline_titles(pdf) == outline_titles(serial)
    with pikepdf.open(io.BytesIO(pdf)) as merged:
        assert str(merged.Root.Lang) and bool(merged.Root.MarkInfo.Marked)
        pages = {page.obj.objgen for page in merged.pages}
        parents = [int(page.obj.StructParents) for page in merged.pages]
        assert parents == sorted(set(parents))  # renumbered, no two pages share an entry
        keys = merged.Root.StructTreeRoot.ParentTree.Nums[::2]
        assert [int(k) for k in keys] == parents
        for entry in merged.Root.StructTreeRoot.ParentTree.Nums[1::2]:
            assert all(element.Pg.objgen in pages for element in entry if "/Pg" in element)


def test_audit_events_are_written_only_once_the_merged_pdf_exists(app, ctx, planner, everyone, held_queue):
    status = start(planner, everyone)
    assert status.state == "queued" and status.sheets_done == 0
    chunk_ids = queued_chunks(held_queue)
    assert len(chunk_ids) == len(everyone)
    for number, chunk_id in enumerate(chunk_ids[:-1], start=1):
        assert print_jobs.run_chunk(chunk_id)
        now = print_jobs.job_status(planner, status.id)
        assert now.state == "running" and now.sheets_done == number and not now.ready
        assert exports() == []  # nothing is recorded as printed before the whole PDF exists
        assert print_jobs.job_pdf(planner, status.id) is None
    assert not print_jobs.run_chunk(chunk_ids[0])  # a duplicate message does nothing
    assert print_jobs.run_chunk(chunk_ids[-1])  # the last chunk merges
    done = print_jobs.job_status(planner, status.id)
    assert done.state == "done" and done.ready and done.percent == 100
    events = exports()
    assert [e.entity_id for e in events] == [str(p.id) for p in everyone]
    assert {e.actor_email for e in events} == {planner.email}
    assert events[0].changes["batch"] == {"track": 1} and events[0].changes["version"] == "staff"
    # The chunks' PDFs are freed once merged.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PrintChunk)
                             .where(PrintChunk.job_id == status.id, PrintChunk.pdf.is_not(None))) == 0


def test_the_same_batch_runs_once_per_login_at_a_time(app, ctx, make, planner, everyone, held_queue):
    first = start(planner, everyone)
    with pytest.raises(print_jobs.PrintBusy) as refused:
        start(planner, everyone)
    assert refused.value.job_id == first.id and "already being prepared" in str(refused.value)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PrintJob)) == 1
    # Another version, another target or another login is another batch.
    other_version = start(planner, everyone, version="patient")
    other_target = start(planner, everyone, target="group:7")
    colleague = make.staff("planner", email="colleague@clinic.example")
    theirs = start(colleague, everyone)
    assert len({first.id, other_version.id, other_target.id, theirs.id}) == 4
    assert print_jobs.active_job(planner, "track:1", START, END, "staff").id == first.id
    for chunk_id in queued_chunks(held_queue):
        print_jobs.run_chunk(chunk_id)
    assert print_jobs.job_status(planner, first.id).state == "done"
    assert print_jobs.active_job(planner, "track:1", START, END, "staff") is None
    again = start(planner, everyone)  # once done, the same batch may be printed again
    assert again.id != first.id


def test_bad_requests_are_refused_and_nothing_is_queued(ctx, planner, everyone, held_queue):
    with pytest.raises(RuleViolation, match="cannot end before it starts"):
        print_jobs.start_progress_batch(planner, everyone, END, START, "staff", target="track:1", title=TITLE)
    with pytest.raises(RuleViolation, match="staff version or the patient version"):
        print_jobs.start_progress_batch(planner, everyone, START, END, "draft", target="track:1", title=TITLE)
    with pytest.raises(RuleViolation, match="nobody"):
        print_jobs.start_progress_batch(planner, [], START, END, "staff", target="track:1", title=TITLE)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PrintJob)) == 0
    assert queued_chunks(held_queue) == []


def test_someone_elses_job_cannot_be_seen_or_downloaded(app, ctx, make, planner, everyone):
    status = start(planner, everyone)
    assert print_jobs.job_pdf(planner, status.id) is not None
    for other in (make.staff("planner", email="other@clinic.example"), make.staff("admin", email="boss@clinic.example")):
        assert print_jobs.job_status(other, status.id) is None
        assert print_jobs.job_pdf(other, status.id) is None
        assert print_jobs.recent_jobs(other) == []
    assert print_jobs.job_status(planner, status.id + 1000) is None
    assert [j.id for j in print_jobs.recent_jobs(planner)] == [status.id]


def test_a_chunk_whose_worker_died_is_run_again_and_the_job_completes(app, ctx, planner, everyone, held_queue):
    status = start(planner, everyone)
    chunk_ids = queued_chunks(held_queue)
    # A worker claims the first chunk, then dies (no heartbeat any more).
    assert print_jobs._claim(chunk_ids[0]) == 1
    for chunk_id in chunk_ids[1:]:
        assert print_jobs.run_chunk(chunk_id)
    assert print_jobs.job_status(planner, status.id).state == "running"
    assert queued_chunks(held_queue) == []  # a fresh heartbeat is left alone
    stale = app.config["CLINIC_PRINT_STALE_SECONDS"]
    assert print_jobs.recover(now=utcnow() + timedelta(seconds=stale + 1)) == 1
    assert queued_chunks(held_queue) == [chunk_ids[0]]
    assert print_jobs.run_chunk(chunk_ids[0])
    assert chunks_of(status.id)[0].attempts == 2
    done = print_jobs.job_status(planner, status.id)
    assert done.state == "done" and len(exports()) == len(everyone)
    assert len(sheets(page_texts(print_jobs.job_pdf(planner, status.id)[0]))) == len(everyone)


def test_a_lost_queue_message_is_sent_again(app, ctx, planner, everyone, held_queue):
    status = start(planner, everyone)
    chunk_ids = queued_chunks(held_queue)  # the messages are lost: nobody will run them
    stale = app.config["CLINIC_PRINT_STALE_SECONDS"]
    print_jobs.recover(now=utcnow() + timedelta(seconds=stale + 1))
    assert queued_chunks(held_queue) == chunk_ids
    for chunk_id in chunk_ids:
        print_jobs.run_chunk(chunk_id)
    assert print_jobs.job_status(planner, status.id).state == "done"


def test_a_merge_whose_worker_died_is_taken_over(app, ctx, planner, everyone, held_queue, monkeypatch):
    status = start(planner, everyone)
    monkeypatch.setattr(print_jobs, "merge_job", lambda job_id: False)  # the worker dies before merging
    for chunk_id in queued_chunks(held_queue):
        print_jobs.run_chunk(chunk_id)
    monkeypatch.undo()
    assert print_jobs.job_status(planner, status.id, recover_stale=False).state == "running"
    print_jobs.recover()
    merges = [m for m in iter(held_queue.dequeue, None) if m.name == "print.merge"]
    assert [m.args[0] for m in merges] == [status.id]
    assert print_jobs.merge_job(status.id)
    assert print_jobs.job_status(planner, status.id).state == "done"


def test_a_chunk_failing_three_times_fails_the_job_plainly(app, ctx, planner, everyone, monkeypatch):
    app.config["CLINIC_PRINT_CHUNK_SHEETS"] = 2
    calls = []
    real = batches.render_chunk

    def broken(batch_ids, chunk_ids, *args, **kwargs):
        if chunk_ids == batch_ids[2:4]:
            calls.append(1)
            raise RuntimeError("a renderer crash naming Ashley Northcote")
        return real(batch_ids, chunk_ids, *args, **kwargs)

    monkeypatch.setattr(batches, "render_chunk", broken)
    status = start(planner, everyone)  # the immediate queue retries at once
    assert len(calls) == print_jobs.MAX_ATTEMPTS
    failed = print_jobs.job_status(planner, status.id)
    assert failed.state == "failed" and not failed.ready and failed.finished_at is not None
    assert failed.message.startswith("The print could not be finished: sheets 3 to 4 failed 3 times.")
    for patient in everyone:
        assert patient.last_name not in failed.message and patient.first_name not in failed.message
    assert print_jobs.job_pdf(planner, status.id) is None
    assert exports() == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PrintChunk)
                             .where(PrintChunk.pdf.is_not(None))) == 0
    monkeypatch.setattr(batches, "render_chunk", real)
    assert start(planner, everyone).state == "done"  # a failed job does not hold the batch


def test_a_chunk_whose_workers_keep_dying_fails_the_job(app, ctx, planner, everyone, held_queue):
    status = start(planner, everyone)
    chunk_ids = queued_chunks(held_queue)
    stale = app.config["CLINIC_PRINT_STALE_SECONDS"]
    for _attempt in range(print_jobs.MAX_ATTEMPTS):
        assert print_jobs._claim(chunk_ids[1]) is not None  # claimed, then the worker dies
        print_jobs.recover(now=utcnow() + timedelta(seconds=stale + 1))
    failed = print_jobs.job_status(planner, status.id)
    assert failed.state == "failed" and "sheets 2 to 2 failed 3 times" in failed.message
    assert not print_jobs.run_chunk(chunk_ids[0])  # the rest of a failed job is not rendered


def test_finished_jobs_and_their_pdfs_are_deleted_after_the_retention_time(app, ctx, planner, everyone):
    status = start(planner, everyone)
    keep = app.config["CLINIC_PRINT_KEEP_MINUTES"]
    assert print_jobs.purge_expired(now=utcnow() + timedelta(minutes=keep - 1)) == 0
    assert print_jobs.job_pdf(planner, status.id) is not None
    assert print_jobs.purge_expired(now=utcnow() + timedelta(minutes=keep + 1)) == 1
    assert print_jobs.job_status(planner, status.id) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PrintChunk)) == 0


def test_a_chunk_reads_its_data_in_the_same_statements_whatever_its_size(app, ctx, everyone):
    from sqlalchemy import event

    counts = []
    ids = [p.id for p in everyone]
    for size in (1, len(ids)):
        statements = []
        listener = lambda *a, **k: statements.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            batches.render_chunk(ids, ids[:size], START, END, "staff")
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        db.session.rollback()
        counts.append(len(statements))
    assert counts[0] == counts[1]


def test_the_cli_with_two_jobs_prints_what_one_job_prints(app, roster, tmp_path):  # noqa: F811
    outputs = {}
    for jobs_count in ("1", "2"):
        output = tmp_path / f"iop-{jobs_count}.pdf"
        result = app.test_cli_runner().invoke(print_cli, [
            "progress", "--track", "iop", "--from", START.isoformat(), "--to", END.isoformat(),
            "--jobs", jobs_count, "--output", str(output)])
        assert result.exit_code == 0, result.output
        assert output.stat().st_mode & 0o777 == 0o600
        outputs[jobs_count] = page_texts(output.read_bytes())
    assert outputs["2"] == outputs["1"]
    with app.app_context():
        events = exports()
    assert len(events) == 2 * len(sheets(outputs["1"]))
    assert {e.actor_email for e in events} == {"cli"}


def test_a_queue_that_does_not_answer_fails_the_job_plainly(app, ctx, planner, everyone, monkeypatch):
    def down(chunk_id):
        raise ConnectionError("redis at 127.0.0.1:6379 refused")

    monkeypatch.setattr(jobs, "enqueue_chunk", down)
    status = start(planner, everyone)
    assert status.state == "failed" and "print queue is not answering" in status.message
    assert exports() == []
    monkeypatch.undo()
    assert start(planner, everyone).state == "done"  # the batch is not held by the failed job


def test_a_large_selection_has_a_short_key_of_its_own(ctx):
    many = "patient:" + ",".join(str(n) for n in range(1000, 1400))
    other = "patient:" + ",".join(str(n) for n in range(1000, 1401))
    key = print_jobs.batch_key(many, START, END, "staff")
    assert len(key) < 200 and key != print_jobs.batch_key(other, START, END, "staff")
    assert key == print_jobs.batch_key(many, START, END, "staff")


def test_the_worker_command_says_no_worker_is_needed_with_the_immediate_queue(app):
    result = app.test_cli_runner().invoke(jobs.jobs_cli, ["worker", "--workers", "2"])
    assert result.exit_code != 0 and "no worker is needed" in result.output
