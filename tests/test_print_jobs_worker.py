"""A real print worker (``flask jobs worker``, a Huey consumer) on Redis prints a batch, and
a batch survives its worker being killed (SIGKILL) halfway: a new worker finishes it.

Each test has its own queue name on the Redis at ``TEST_REDIS_URL`` (default
``redis://127.0.0.1:6379/0``). Without Redis the tests are skipped; under ``CI=true`` they fail.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa

from clinic import jobs
from clinic.extensions import db
from clinic.models import AuditEvent, PrintChunk
from clinic.models._types import utcnow
from clinic.pdf import batches
from clinic.services import print_jobs
from conftest import missing
from test_pdf_batches import sheets
from test_pdf_render import page_texts

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
START, END = date(2026, 3, 1), date(2026, 3, 31)
STALE_SECONDS = 30


def wait_for(condition, timeout: float, what: str):
    """Wait until ``condition()`` is true (checked every 50 ms), at most ``timeout`` seconds."""
    tick = threading.Event()
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what} after {timeout} s")
        tick.wait(0.05)


@pytest.fixture
def redis_queue(app):
    """The app's jobs go to a Redis queue of this test's own; emptied afterwards."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception:  # noqa: BLE001 - any failure means "not available"
        missing(f"Redis at {REDIS_URL}")
    name = f"clinic-test-{uuid.uuid4().hex[:10]}"
    app.config.update(CLINIC_JOB_QUEUE=REDIS_URL, CLINIC_JOB_QUEUE_NAME=name, CLINIC_PRINT_CHUNK_SHEETS=1,
                      CLINIC_PRINT_STALE_SECONDS=STALE_SECONDS)
    app.extensions[jobs.EXTENSION] = jobs.make_huey(app)
    yield name
    jobs.queue(app).storage.flush_all()


@pytest.fixture
def workers(app, redis_queue, tmp_path):
    """Start worker processes (each a consumer with two worker processes, in a session of its own)."""
    started: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        env = {
            **os.environ,
            "CLINIC_ENV": "testing",
            "SECRET_KEY": app.config["SECRET_KEY"],
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "CLINIC_JOB_QUEUE": REDIS_URL,
            "CLINIC_JOB_QUEUE_NAME": redis_queue,
            "CLINIC_PRINT_STALE_SECONDS": str(STALE_SECONDS),
        }
        log = open(tmp_path / f"worker-{len(started)}.log", "wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker", "--workers", "2"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


@pytest.fixture
def batch(make):
    """A planner and an IOP track of ``n`` patients enrolled over March."""
    planner = make.staff("planner", email="planner@clinic.example")
    iop = make.track("iop")

    def of(n: int):
        for number in range(n):
            patient = make.patient(first_name=f"Worker{number:02d}", last_name=f"Testperson{number:02d}")
            make.enrolment(patient, iop, start=date(2026, 2, 1))
        return planner, batches.track_patients(iop, START, END, "staff")

    return of


def start_job(planner, patients):
    return print_jobs.start_progress_batch(planner, patients, START, END, "staff", target="track:1",
                                           title="Progress sheets, worker test", source={"track": 1})


def status(planner, job_id):
    db.session.expire_all()
    return print_jobs.job_status(planner, job_id)


def exports() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "export"))


def test_a_worker_process_on_redis_prints_a_batch(ctx, batch, workers):
    planner, patients = batch(4)
    workers()
    job = start_job(planner, patients)
    done = wait_for(lambda: (s := status(planner, job.id)).finished and s, 180, "the job to finish")
    assert done.state == "done", done.message
    pdf, _ = print_jobs.job_pdf(planner, job.id)
    assert len(sheets(page_texts(pdf))) == len(patients)
    assert exports() == len(patients)


def test_a_batch_survives_its_worker_being_killed_halfway(ctx, batch, workers):
    planner, patients = batch(24)
    first = workers()
    job = start_job(planner, patients)

    def chunks(state: str) -> int:
        db.session.rollback()
        return db.session.scalar(sa.select(sa.func.count()).select_from(PrintChunk)
                                 .where(PrintChunk.job_id == job.id, PrintChunk.state == state))

    wait_for(lambda: chunks("done") >= 2 and chunks("running") >= 1, 180, "the worker to be halfway")
    os.killpg(first.pid, signal.SIGKILL)  # the worker and its processes die at once, mid-chunk
    first.wait(timeout=30)
    killed = status(planner, job.id)
    assert killed.state == "running" and 0 < killed.sheets_done < len(patients)
    assert exports() == 0
    # Time passes: the dead worker's chunks have no heartbeat any more (recover runs on each
    # status poll and every minute in the worker; here it is told the stale time has passed).
    assert print_jobs.recover(now=utcnow() + timedelta(seconds=STALE_SECONDS + 1)) >= 1
    workers()
    done = wait_for(lambda: (s := status(planner, job.id)).finished and s, 240, "the job to finish")
    assert done.state == "done", done.message
    pdf, _ = print_jobs.job_pdf(planner, job.id)
    assert len(sheets(page_texts(pdf))) == len(patients)
    assert exports() == len(patients)  # once each, whatever ran twice
    attempts = db.session.scalars(sa.select(PrintChunk.attempts).where(PrintChunk.job_id == job.id)).all()
    assert max(attempts) == 2 and min(attempts) == 1


def children(pid: int) -> list[int]:
    """The ids of ``pid``'s child processes."""
    return [child.pid for child in psutil.Process(pid).children()]


def test_worker_processes_killed_halfway_are_replaced_and_the_batch_completes(ctx, batch, workers):
    planner, patients = batch(16)
    consumer = workers()
    job = start_job(planner, patients)

    def running_chunks() -> int:
        db.session.rollback()
        return db.session.scalar(sa.select(sa.func.count()).select_from(PrintChunk)
                                 .where(PrintChunk.job_id == job.id, PrintChunk.state == "running"))

    wait_for(running_chunks, 180, "a chunk to be rendered")
    doomed = children(consumer.pid)
    assert doomed
    for pid in doomed:  # the processes rendering die; the consumer itself lives on
        os.kill(pid, signal.SIGKILL)
    assert consumer.poll() is None
    # Time passes: the dead processes' chunks have no heartbeat any more.
    wait_for(lambda: set(children(consumer.pid)) - set(doomed), 60, "the consumer to start new processes")
    print_jobs.recover(now=utcnow() + timedelta(seconds=STALE_SECONDS + 1))
    done = wait_for(lambda: (s := status(planner, job.id)).finished and s, 240, "the job to finish")
    assert done.state == "done", done.message
    assert len(sheets(page_texts(print_jobs.job_pdf(planner, job.id)[0]))) == len(patients)
    assert exports() == len(patients)
