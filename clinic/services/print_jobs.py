"""Long prints: one at a time per login and target, and batch prints as background jobs.

**Background batch jobs** (progress sheets of a group, a track or a selection). A batch
is a ``PrintJob`` row with its ``PrintChunk`` rows (``models/print_jobs.py``), in the
database, so every app server and every worker sees them. The queue (``clinic/jobs.py``:
Huey on Redis in production, on SQLite for ``make run``, in-process for tests) only
carries "run chunk N" messages; the truth is in the rows.

- ``start_progress_batch`` validates the period and version as the serial batch does,
  refuses the same batch (same login, target, period and version) while one is queued or
  running (``PrintBusy``, with the running job's id), splits the patients, in print order,
  into chunks of at most ``CLINIC_PRINT_CHUNK_SHEETS`` (smaller towards the end, see
  ``chunk_ranges``) and enqueues them.
- ``run_chunk`` (a worker) claims a chunk atomically (one UPDATE from queued to running
  that also counts the attempt: two workers never render the same chunk), renders its
  sheets with ``pdf.batches.render_chunk`` (each sheet its own "Page X of Y", no audit),
  heartbeats after every sheet, stores the chunk's PDF; the worker that finishes the last
  chunk merges.
- ``merge_job`` joins the chunks in order (``pdf.batches.merge_pdfs``), stores the job's
  PDF, writes the "export" audit events per patient exactly as the serial batch does,
  only now that the merged PDF exists, in the same transaction, and frees the chunks.
- ``job_status`` / ``job_pdf`` answer the owner only (None for anyone else: "not yours"
  looks like "not there"); a status poll also runs ``recover``.
- ``recover`` (a periodic task and every status poll): a running chunk without a
  heartbeat for ``CLINIC_PRINT_STALE_SECONDS`` lost its worker: it is queued again, up to
  ``MAX_ATTEMPTS`` attempts, then the job fails with a plain message. A queued chunk whose
  message was lost (queued that long) is enqueued again (a duplicate message finds it
  claimed and does nothing); a merge whose worker died is started again.
- ``purge_expired`` deletes jobs finished more than ``CLINIC_PRINT_KEEP_MINUTES`` ago,
  with their PDFs (patient data at rest).

A job never disappears silently: it ends done or failed, with its message.

**One at a time in a request** (single sheets and other prints rendered in the request):
``one_at_a_time(user_id, key)`` guards the work:

- in this server process, a set of running (user, key) pairs under a thread lock;
- on PostgreSQL, also a transaction-scoped advisory lock on (user, hash of key), taken
  with ``pg_try_advisory_xact_lock`` in the request's transaction. Every app server shares
  it, and it is released when that transaction commits (the batch commits its audit
  events) or rolls back, so a crashed request cannot leave it held. SQLite has no such
  lock: there the guard holds within one server process only (which is how SQLite is
  served: ``make run``).

A refusal is a ``PrintBusy`` (a ``RuleViolation``) with a plain message; nothing was
rendered and nothing audited.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Iterator

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Patient, PrintChunk, PrintJob, StaffUser
from ..models._types import utcnow
from . import audit
from .errors import RuleViolation

log = logging.getLogger(__name__)

BUSY_MESSAGE = (
    "These sheets are already being prepared for you: the download arrives when they are ready. "
    "Nothing new was started."
)

_running: set[tuple[int, str]] = set()
_guard = threading.Lock()


class PrintBusy(RuleViolation):
    """The same print is already running for this login (``job_id``: the running job, if a background one)."""

    def __init__(self, message: str = BUSY_MESSAGE, job_id: int | None = None):
        super().__init__(message)
        self.job_id = job_id


def lock_keys(user_id: int, key: str) -> tuple[int, int]:
    """The two int4 keys of the PostgreSQL advisory lock for ``user_id`` and ``key``."""
    return int(user_id) % 2**31, zlib.crc32(key.encode()) - 2**31


def _take_database_lock(user_id: int, key: str) -> bool:
    if db.session.get_bind().dialect.name != "postgresql":
        return True
    first, second = lock_keys(user_id, key)
    return bool(db.session.execute(sa.select(sa.func.pg_try_advisory_xact_lock(first, second))).scalar())


def running(user_id: int, key: str) -> bool:
    """True while ``(user_id, key)`` is being printed in this process."""
    with _guard:
        return (user_id, key) in _running


@contextmanager
def one_at_a_time(user_id: int, key: str) -> Iterator[None]:
    """Run the block unless the same ``key`` is being printed for ``user_id``; else ``PrintBusy``.

    The caller commits or rolls back the request's transaction before the next request
    for the same key can pass on PostgreSQL (the advisory lock lives as long as it).
    """
    pair = (int(user_id), key)
    with _guard:
        if pair in _running:
            raise PrintBusy()
        _running.add(pair)
    try:
        if not _take_database_lock(*pair):
            raise PrintBusy()
        yield
    finally:
        with _guard:
            _running.discard(pair)


# Background batch jobs -------------------------------------------------------------------
#: Attempts a chunk gets (a worker dying or rendering failing) before its job fails.
MAX_ATTEMPTS = 3
PROGRESS_BATCH = "progress_batch"
FAILED_MESSAGE = (
    "The print could not be finished: sheets {first} to {last} failed {attempts} times. "
    "Nothing was recorded as printed; please start it again, or ask an administrator if it keeps failing."
)
QUEUE_MESSAGE = ("The print could not be started: the print queue is not answering. "
                 "Nothing was printed; please try again later or tell an administrator.")
MERGE_MESSAGE = "The print could not be finished: its parts could not be put together. Please start it again."
GONE_MESSAGE = "The print could not be finished: some of its patients are no longer on file. Please start it again."


@dataclass(frozen=True)
class JobStatus:
    """What the owner of a job may know about it (no patient data)."""

    id: int
    #: queued, running, done or failed.
    state: str
    sheets_total: int
    sheets_done: int
    #: Why it failed, in plain words ("" otherwise).
    message: str
    created_at: datetime
    finished_at: datetime | None
    #: The PDF can be downloaded (``job_pdf``).
    ready: bool
    #: The download's file name, e.g. ``progress-group-3-staff.pdf``.
    filename: str
    #: What the job prints: target, period, version (record ids, never names), for its page.
    params: dict = field(default_factory=dict, compare=False)

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    @property
    def percent(self) -> int:
        return 100 if self.state == "done" else int(100 * self.sheets_done / max(1, self.sheets_total))


def batch_key(target: str, start: date, end: date, version: str) -> str:
    """The key of a batch: ``progress-batch:group:3:2026-03-01:2026-03-31:staff``.

    ``target`` is ``group:<id>``, ``track:<id>`` or ``patient:<id>,<id>,...`` (a selection);
    a long one (a large selection) is replaced by its SHA-256, so the key stays short.
    """
    if len(target) > 120:
        kind = target.split(":", 1)[0][:20]
        target = f"{kind}:sha256:{hashlib.sha256(target.encode()).hexdigest()}"
    return f"progress-batch:{target}:{start.isoformat()}:{end.isoformat()}:{version}"


def _settings() -> tuple[int, timedelta, timedelta]:
    config = current_app.config
    return (int(config.get("CLINIC_PRINT_CHUNK_SHEETS", 10)),
            timedelta(seconds=int(config.get("CLINIC_PRINT_STALE_SECONDS", 60))),
            timedelta(minutes=int(config.get("CLINIC_PRINT_KEEP_MINUTES", 60))))


def _status(job: PrintJob, live_done: int | None = None) -> JobStatus:
    done = job.sheets_total if job.state == "done" else (job.sheets_done if live_done is None else live_done)
    return JobStatus(
        id=job.id, state=job.state, sheets_total=job.sheets_total, sheets_done=min(done, job.sheets_total),
        message=job.message or "", created_at=job.created_at, finished_at=job.finished_at,
        ready=job.state == "done" and job.finished_at is not None,
        filename=job.params.get("filename", "progress-sheets.pdf"),
        params=dict(job.params or {}),
    )


def start_progress_batch(user: StaffUser, patients: list[Patient], start: date, end: date, version: str, *,
                         target: str, title: str, source: dict | None = None,
                         filename: str = "progress-sheets.pdf") -> JobStatus:
    """Queue a batch of progress sheets for ``user`` as a background job; returns its status.

    ``patients`` are the sheets in print order (the caller has left out whom ``user`` may
    not see); ``target`` names the batch for the one-at-a-time rule (see ``batch_key``);
    ``title`` is the PDF's title; ``source`` (e.g. ``{"group": 3}``) goes into every
    patient's export event, as with ``pdf.batches.progress_batch``; ``filename`` is the
    download's name. Refuses a bad period or version or an empty list (``RuleViolation``)
    and the same batch of the same login while one is queued or running (``PrintBusy``
    with ``job_id``); nothing is queued then. Commits. With the in-process queue
    (``immediate``, tests) the job has run when this returns.
    """
    from ..pdf.progress import check_request

    check_request(start, end, version)
    if not patients:
        raise RuleViolation("There is nobody to print a progress sheet for in this period.")
    key = batch_key(target, start, end, version)
    running_job = db.session.scalar(sa.select(PrintJob.id).where(PrintJob.owner_id == user.id,
                                                                 PrintJob.active_key == key))
    if running_job is not None:
        raise PrintBusy(job_id=running_job)
    size, _, _ = _settings()
    ids = [p.id for p in patients]
    job = PrintJob(owner_id=user.id, kind=PROGRESS_BATCH, active_key=key, state="queued",
                   sheets_total=len(ids), sheets_done=0, message="",
                   params={"patients": ids, "from": start.isoformat(), "to": end.isoformat(),
                           "version": version, "title": title, "source": source or {},
                           "target": target, "filename": filename})
    now = utcnow()
    job.chunks = [PrintChunk(index=n, patient_ids=ids[a:b], state="queued", attempts=0,
                             sheets_done=0, heartbeat_at=now)
                  for n, (a, b) in enumerate(chunk_ranges(len(ids), size))]
    db.session.add(job)
    try:
        db.session.commit()
    except IntegrityError:
        # Another app server started the same batch a moment ago.
        db.session.rollback()
        raise PrintBusy(job_id=db.session.scalar(sa.select(PrintJob.id).where(
            PrintJob.owner_id == user.id, PrintJob.active_key == key))) from None
    job_id, chunk_ids = job.id, [c.id for c in job.chunks]
    from .. import jobs

    try:
        for chunk_id in chunk_ids:
            jobs.enqueue_chunk(chunk_id)
    except Exception as exc:  # noqa: BLE001 - the queue is down: the job fails plainly, nothing is printed
        db.session.rollback()
        log.error("print job %s: the queue could not be reached: %s", job_id, type(exc).__name__)
        _fail_job(job_id, QUEUE_MESSAGE)
    db.session.expire_all()
    return job_status(user, job_id, recover_stale=False)


def _owned(user: StaffUser, job_id: int) -> PrintJob | None:
    job = db.session.get(PrintJob, job_id) if isinstance(job_id, int) and 0 < job_id < 2**31 else None
    if job is None or user is None or job.owner_id != user.id or job.kind != PROGRESS_BATCH:
        return None  # not yours looks like not there (other kinds of job have pages of their own)
    return job


def job_status(user: StaffUser, job_id: int, *, recover_stale: bool = True) -> JobStatus | None:
    """The status of ``user``'s job ``job_id``; None when there is no such job of theirs.

    Also recovers stalled work first (``recover``), so a job whose worker died moves on
    (or fails) while someone is watching it, even without the periodic task.
    """
    if recover_stale:
        recover()
    job = _owned(user, job_id)
    if job is None:
        return None
    live = None
    if job.state in ("queued", "running"):
        live = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(PrintChunk.sheets_done), 0))
                                 .where(PrintChunk.job_id == job.id))
    return _status(job, live)


def job_pdf(user: StaffUser, job_id: int) -> tuple[bytes, str] | None:
    """The merged PDF of ``user``'s finished job and its file name; None if not theirs, not done or expired."""
    job = _owned(user, job_id)
    if job is None or job.state != "done":
        return None
    data = db.session.scalar(sa.select(PrintJob.pdf).where(PrintJob.id == job.id))
    if data is None:
        return None
    return data, job.params.get("filename", "progress-sheets.pdf")


def active_job(user: StaffUser, target: str, start: date, end: date, version: str) -> JobStatus | None:
    """The job of ``user`` for this batch that is queued or running, if any."""
    job_id = db.session.scalar(sa.select(PrintJob.id).where(
        PrintJob.owner_id == user.id, PrintJob.active_key == batch_key(target, start, end, version)))
    return None if job_id is None else job_status(user, job_id, recover_stale=False)


def recent_jobs(user: StaffUser, limit: int = 10) -> list[JobStatus]:
    """``user``'s latest jobs, newest first (the others' are never listed)."""
    jobs = db.session.scalars(sa.select(PrintJob).where(PrintJob.owner_id == user.id, PrintJob.kind == PROGRESS_BATCH)
                              .order_by(PrintJob.created_at.desc(), PrintJob.id.desc()).limit(limit))
    return [_status(job) for job in jobs]


class LostClaim(Exception):
    """This worker's claim on a chunk was taken over (it was thought dead); its work is dropped."""


def _claim(chunk_id: int) -> int | None:
    """Take chunk ``chunk_id`` if it is queued: returns this claim's attempt number, else None."""
    now = utcnow()
    result = db.session.execute(
        sa.update(PrintChunk)
        .where(PrintChunk.id == chunk_id, PrintChunk.state == "queued")
        .values(state="running", attempts=PrintChunk.attempts + 1, heartbeat_at=now, sheets_done=0)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        return None
    attempt, job_id = db.session.execute(
        sa.select(PrintChunk.attempts, PrintChunk.job_id).where(PrintChunk.id == chunk_id)).one()
    db.session.execute(sa.update(PrintJob).where(PrintJob.id == job_id, PrintJob.state == "queued")
                       .values(state="running").execution_options(synchronize_session=False))
    db.session.commit()
    return attempt


def _mine(chunk_id: int, attempt: int):
    return (PrintChunk.id == chunk_id, PrintChunk.attempts == attempt, PrintChunk.state == "running")


def run_chunk(chunk_id: int) -> bool:
    """Render chunk ``chunk_id`` if it is still queued (a worker's task); True if this call rendered it.

    A chunk already claimed, done, or of a finished job is left alone (a duplicate message).
    A rendering error puts the chunk back in the queue until ``MAX_ATTEMPTS``, then fails
    the job. The worker that stores the last chunk merges the job.
    """
    from .. import jobs
    from ..pdf import batches

    attempt = _claim(chunk_id)
    if attempt is None:
        return False
    chunk = db.session.get(PrintChunk, chunk_id)
    job = chunk.job if chunk is not None else None
    if job is None or job.state not in ("queued", "running"):
        if chunk is not None:  # the rest of a failed job is not rendered
            db.session.execute(sa.update(PrintChunk).where(*_mine(chunk_id, attempt)).values(state="failed")
                               .execution_options(synchronize_session=False))
        db.session.commit()
        return False
    params, job_id, patient_ids = dict(job.params), job.id, list(chunk.patient_ids)

    def heartbeat(_sheets: int = 1) -> None:
        result = db.session.execute(
            sa.update(PrintChunk).where(*_mine(chunk_id, attempt))
            .values(heartbeat_at=utcnow(), sheets_done=PrintChunk.sheets_done + 1)
            .execution_options(synchronize_session=False))
        db.session.commit()
        if result.rowcount != 1:
            raise LostClaim()

    try:
        data = batches.render_chunk(
            params["patients"], patient_ids, date.fromisoformat(params["from"]), date.fromisoformat(params["to"]),
            params["version"], title=params.get("title", ""), progress=heartbeat)
    except LostClaim:
        db.session.rollback()
        return False
    except Exception as exc:  # noqa: BLE001 - any failure: retry, then fail plainly
        db.session.rollback()
        log.warning("print chunk %s attempt %s failed: %s", chunk_id, attempt, type(exc).__name__)
        if isinstance(exc, RuleViolation):
            _fail_job(job_id, GONE_MESSAGE)
        else:
            _retry_or_fail(chunk_id, attempt)
        return False
    result = db.session.execute(
        sa.update(PrintChunk).where(*_mine(chunk_id, attempt))
        .values(state="done", pdf=data, heartbeat_at=utcnow(), sheets_done=len(patient_ids))
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        return False
    counted = PrintJob.sheets_done + len(patient_ids)
    db.session.execute(sa.update(PrintJob).where(PrintJob.id == job_id, PrintJob.state == "running")
                       .values(sheets_done=sa.case((counted > PrintJob.sheets_total, PrintJob.sheets_total),
                                                   else_=counted))
                       .execution_options(synchronize_session=False))
    db.session.commit()
    del data
    if merge_job(job_id):
        return True
    jobs.log_progress(job_id)
    return True


def _retry_or_fail(chunk_id: int, attempt: int, stale_before: datetime | None = None) -> None:
    """Queue the chunk again, or fail its job once it has had ``MAX_ATTEMPTS``.

    With ``stale_before`` (from ``recover``) only if its last heartbeat is older: a worker
    that was slow but is alive keeps its chunk.
    """
    from .. import jobs

    chunk = db.session.get(PrintChunk, chunk_id)
    if chunk is None or chunk.state != "running" or chunk.attempts != attempt or (
            stale_before is not None and chunk.heartbeat_at is not None and chunk.heartbeat_at >= stale_before):
        db.session.rollback()
        return
    if chunk.attempts >= MAX_ATTEMPTS:
        job = chunk.job
        first = sum(len(c.patient_ids) for c in job.chunks if c.index < chunk.index) + 1
        _fail_job(job.id, FAILED_MESSAGE.format(first=first, last=first + len(chunk.patient_ids) - 1,
                                                attempts=chunk.attempts), chunk_id=chunk_id)
        return
    still = (PrintChunk.heartbeat_at < stale_before,) if stale_before is not None else ()
    result = db.session.execute(
        sa.update(PrintChunk).where(*_mine(chunk_id, attempt), *still)
        .values(state="queued", heartbeat_at=utcnow(), sheets_done=0, pdf=None)
        .execution_options(synchronize_session=False))
    db.session.commit()
    if result.rowcount == 1:
        _enqueue_quietly(jobs.enqueue_chunk, chunk_id)


def _fail_job(job_id: int, message: str, chunk_id: int | None = None) -> None:
    """End the job as failed with ``message`` (no patient data); its chunks' PDFs are freed."""
    now = utcnow()
    if chunk_id is not None:
        db.session.execute(sa.update(PrintChunk).where(PrintChunk.id == chunk_id)
                           .values(state="failed").execution_options(synchronize_session=False))
    db.session.execute(sa.update(PrintJob).where(PrintJob.id == job_id, PrintJob.state.in_(("queued", "running")))
                       .values(state="failed", message=message[:400], finished_at=now, active_key=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(sa.update(PrintChunk).where(PrintChunk.job_id == job_id)
                       .values(pdf=None).execution_options(synchronize_session=False))
    db.session.commit()
    log.warning("print job %s failed", job_id)


def merge_job(job_id: int) -> bool:
    """Merge job ``job_id`` once all its chunks are done; True if this call merged it.

    The merge is claimed (``merge_started_at``) so only one worker merges; a merge whose
    worker died is taken over by ``recover`` after ``CLINIC_PRINT_STALE_SECONDS``. The
    merged PDF, the job's end and the export events are committed together.
    """
    from ..pdf import batches

    _, stale, _ = _settings()
    now = utcnow()
    not_done = sa.select(PrintChunk.id).where(PrintChunk.job_id == job_id, PrintChunk.state != "done").exists()
    claimed = db.session.execute(
        sa.update(PrintJob)
        .where(PrintJob.id == job_id, PrintJob.state == "running", ~not_done,
               sa.or_(PrintJob.merge_started_at.is_(None), PrintJob.merge_started_at < now - stale))
        .values(merge_started_at=now)
        .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        db.session.rollback()
        return False
    db.session.commit()
    job = db.session.get(PrintJob, job_id)
    params = dict(job.params)
    chunk_ids = list(db.session.scalars(sa.select(PrintChunk.id).where(PrintChunk.job_id == job_id)
                                        .order_by(PrintChunk.index)))

    def parts():
        for chunk_id in chunk_ids:
            yield db.session.scalar(sa.select(PrintChunk.pdf).where(PrintChunk.id == chunk_id))

    try:
        pdf = batches.merge_pdfs(parts(), params.get("title", ""))
    except Exception as exc:  # noqa: BLE001 - a merge that fails fails the job, plainly
        db.session.rollback()
        log.warning("print job %s: merge failed: %s", job_id, type(exc).__name__)
        _fail_job(job_id, MERGE_MESSAGE)
        return False
    ended = db.session.execute(
        sa.update(PrintJob)
        .where(PrintJob.id == job_id, PrintJob.state == "running", PrintJob.merge_started_at == now)
        .values(state="done", pdf=pdf, finished_at=utcnow(), active_key=None, sheets_done=PrintJob.sheets_total)
        .execution_options(synchronize_session=False))
    if ended.rowcount != 1:
        db.session.rollback()
        return False
    db.session.execute(sa.update(PrintChunk).where(PrintChunk.job_id == job_id)
                       .values(pdf=None).execution_options(synchronize_session=False))
    owner = db.session.get(StaffUser, job.owner_id) if job.owner_id is not None else None
    with audit.acting_as(owner, label="" if owner else "print job"):
        batches.audit_batch(params["patients"], date.fromisoformat(params["from"]), date.fromisoformat(params["to"]),
                            params["version"], params.get("source") or None)
    db.session.commit()
    return True


def recover(now: datetime | None = None) -> int:
    """Move stalled work on; returns how many chunks or merges were queued again or failed.

    A running chunk without a heartbeat for ``CLINIC_PRINT_STALE_SECONDS`` lost its worker:
    queued again (a new attempt) or, after ``MAX_ATTEMPTS``, its job fails. A chunk queued
    that long without being claimed (its message lost) is enqueued again. A job whose
    chunks are all done but which was not merged (its merging worker died) is merged again.
    """
    from .. import jobs

    _, stale, _ = _settings()
    now = now or utcnow()
    limit = now - stale
    moved = 0
    stalled = db.session.execute(
        sa.select(PrintChunk.id, PrintChunk.state, PrintChunk.attempts)
        .join(PrintJob, PrintJob.id == PrintChunk.job_id)
        .where(PrintJob.state.in_(("queued", "running")), PrintChunk.state.in_(("queued", "running")),
               PrintChunk.heartbeat_at < limit)).all()
    for chunk_id, state, attempts in stalled:
        if state == "running":
            _retry_or_fail(chunk_id, attempts, stale_before=limit)
        else:
            touched = db.session.execute(
                sa.update(PrintChunk).where(PrintChunk.id == chunk_id, PrintChunk.state == "queued",
                                            PrintChunk.heartbeat_at < limit)
                .values(heartbeat_at=now).execution_options(synchronize_session=False))
            db.session.commit()
            if touched.rowcount == 1:
                _enqueue_quietly(jobs.enqueue_chunk, chunk_id)
        moved += 1
    not_done = sa.select(PrintChunk.id).where(PrintChunk.job_id == PrintJob.id, PrintChunk.state != "done").exists()
    unmerged = list(db.session.scalars(sa.select(PrintJob.id).where(
        PrintJob.kind == PROGRESS_BATCH, PrintJob.state == "running", ~not_done,
        sa.or_(PrintJob.merge_started_at.is_(None), PrintJob.merge_started_at < limit))))
    db.session.rollback()
    for job_id in unmerged:
        _enqueue_quietly(jobs.enqueue_merge, job_id)
        moved += 1
    return moved


def _enqueue_quietly(enqueue, record_id: int) -> None:
    """Enqueue for ``recover``: a queue that is down now is tried again at the next recovery."""
    try:
        enqueue(record_id)
    except Exception as exc:  # noqa: BLE001
        log.error("print queue not answering (%s); will try again", type(exc).__name__)


def purge_expired(now: datetime | None = None) -> int:
    """Delete jobs (and their PDFs) finished more than ``CLINIC_PRINT_KEEP_MINUTES`` ago; returns how many."""
    _, _, keep = _settings()
    now = now or utcnow()
    old = sa.select(PrintJob.id).where(PrintJob.state.in_(("done", "failed")), PrintJob.finished_at < now - keep)
    ids = list(db.session.scalars(old))
    if ids:
        db.session.execute(sa.delete(PrintChunk).where(PrintChunk.job_id.in_(ids)))
        db.session.execute(sa.delete(PrintJob).where(PrintJob.id.in_(ids)))
    db.session.commit()
    return len(ids)


# The same chunk and merge code in local processes (``flask print progress --jobs N``) ----------
_worker_app = None


def _start_local_worker(environ: dict[str, str], config: dict) -> None:
    """A local worker process: its own app (and database connections), its context pushed for good."""
    global _worker_app
    from .. import create_app

    _worker_app = create_app({"ENVIRON": environ, **config})
    _worker_app.app_context().push()


def _render_local_chunk(batch_ids: list[int], chunk_ids: list[int], start: date, end: date, version: str,
                        title: str) -> bytes:
    from ..pdf import batches

    try:
        return batches.render_chunk(batch_ids, chunk_ids, start, end, version, title=title)
    finally:
        db.session.rollback()


def _worker_settings() -> tuple[dict[str, str], dict]:
    """What a local worker process needs to open the same database with the same print settings."""
    config = current_app.config
    environ = {
        "CLINIC_ENV": config["CLINIC_ENV"],
        "SECRET_KEY": config["SECRET_KEY"],
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "CLINIC_PAGE_SIZE": config.get("CLINIC_PAGE_SIZE", "A4"),
        "CLINIC_NAME": config.get("CLINIC_NAME", ""),
        "CLINIC_JOB_QUEUE": "immediate",
    }
    # The same catalogues and staff language: each patient sheet is worded in its patient's language.
    words = {key: config[key] for key in ("CLINIC_STAFF_LANGUAGE", "BABEL_TRANSLATION_DIRECTORIES") if key in config}
    return environ, {"CLINIC_PAGE_SIZE": environ["CLINIC_PAGE_SIZE"], "CLINIC_NAME": environ["CLINIC_NAME"], **words}


def chunk_ranges(count: int, size: int, workers: int = 2) -> list[tuple[int, int]]:
    """(start, stop) index ranges of the sheets, in order: chunks of at most ``size`` sheets.

    Towards the end the chunks get smaller (what is left shared among twice the
    ``workers``, at least 2 sheets), so the workers finish at about the same time instead of
    one waiting for the other's last big chunk.
    """
    size, ranges, at = max(1, size), [], 0
    while at < count:
        left = count - at
        step = min(size, max(2, -(-left // (2 * max(1, workers)))), left)
        ranges.append((at, at + step))
        at += step
    return ranges


def local_batch(patients: list[Patient], start: date, end: date, version: str = "staff", *, jobs: int = 2,
                progress=None, title: str = "", source: dict | None = None, commit: bool = True) -> bytes:
    """``pdf.batches.progress_batch`` rendered by ``jobs`` local processes; audited the same way.

    The background jobs' code without a queue: the sheets are split into chunks
    (``CLINIC_PRINT_CHUNK_SHEETS``, and at least one chunk per process), each rendered by
    ``render_chunk`` in a process of its own (its own app and database connections), then
    joined in order by ``merge_pdfs``; only then are the export events added (committed
    unless ``commit`` is False). ``progress`` is called with the sheets of each finished
    chunk. ``jobs=1`` is the serial ``progress_batch``.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from ..pdf import batches
    from ..pdf.progress import check_request

    if jobs <= 1:
        return batches.progress_batch(patients, start, end, version, progress, title=title, source=source,
                                      commit=commit)
    check_request(start, end, version)
    if not patients:
        raise RuleViolation("There is nobody to print a progress sheet for in this period.")
    size, _, _ = _settings()
    ids = [p.id for p in patients]
    title = title or batches.batch_title(version, "", start, end)
    environ, config = _worker_settings()
    ranges = chunk_ranges(len(ids), size, jobs)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(ranges)), mp_context=context,
                             initializer=_start_local_worker, initargs=(environ, config)) as pool:
        futures = [pool.submit(_render_local_chunk, ids, ids[a:b], start, end, version, title) for a, b in ranges]
        parts: list[bytes | None] = [None] * len(futures)
        for n, future in enumerate(futures):
            parts[n] = future.result()
            if progress is not None:
                progress(ranges[n][1] - ranges[n][0])

    def each():
        for n in range(len(parts)):
            part, parts[n] = parts[n], None
            yield part

    pdf = batches.merge_pdfs(each(), title)
    batches.audit_batch(ids, start, end, version, source)
    if commit:
        db.session.commit()
    return pdf


__all__ = [
    "BUSY_MESSAGE", "MAX_ATTEMPTS", "JobStatus", "PrintBusy", "active_job", "batch_key", "job_pdf",
    "chunk_ranges", "job_status", "local_batch", "lock_keys", "merge_job", "one_at_a_time", "purge_expired", "recent_jobs", "recover",
    "run_chunk", "running", "start_progress_batch",
]
