"""The background job queue (Huey) for batch prints, large reports and whole-track assigns, and the worker.

``CLINIC_JOB_QUEUE`` chooses the queue:

- ``redis://host:port/db`` (production): ``RedisHuey``; app servers and workers on any
  number of machines share it (``CLINIC_JOB_QUEUE_NAME`` names the queue);
- ``sqlite`` (the default outside tests): ``SqliteHuey`` in ``instance/jobs.sqlite`` (or
  ``sqlite:///PATH``), so ``make run`` needs no extra service (its worker runs beside the
  server; app servers and workers must then share that file, i.e. one machine);
- ``immediate`` (the default under ``CLINIC_ENV=testing``): tasks run in the calling
  process at once, no worker needed.

The queue only carries messages ("run chunk 7", "merge job 3", "compute report run 5"); the
jobs themselves are rows in the database (``services/print_jobs.py``,
``services/reports/runs.py``), which is what makes a lost message or
a killed worker recoverable: a periodic task (every minute) and every status poll run
``print_jobs.recover``.

    flask --app wsgi jobs worker [--workers N]   # a Huey consumer with N worker processes

Each worker process works in the application's context with its own database
connections (the engine's pool is dropped when a worker process starts).
"""

from __future__ import annotations

import logging
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab

from .extensions import db

log = logging.getLogger(__name__)
EXTENSION = "clinic_jobs"

jobs_cli = AppGroup("jobs", help="Run the background worker (batch prints, large reports).")


def make_huey(app: Flask) -> Huey:
    """The Huey instance ``CLINIC_JOB_QUEUE`` describes, with the print tasks registered."""
    queue = app.config.get("CLINIC_JOB_QUEUE", "sqlite")
    name = app.config.get("CLINIC_JOB_QUEUE_NAME", "clinic-print")
    if queue == "immediate":
        huey = MemoryHuey(name, immediate=True, results=False)
    elif queue == "sqlite" or queue.startswith("sqlite:///"):
        path = Path(queue[len("sqlite:///"):]) if queue != "sqlite" else Path(app.instance_path) / "jobs.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey(name, filename=str(path), results=False)
    else:
        huey = RedisHuey(name, url=queue, results=False)
    _register(huey, app)
    return huey


def _in_app(app: Flask, *steps) -> None:
    """Run ``steps`` (callables) in an app context with a fresh session, as a task does.

    Each step runs even when one before it failed (its transaction rolled back, the error
    logged): one kind of job's recovery must not hold up another's; the first error is
    raised at the end so that Huey reports the task as failed.
    """
    first = None
    with app.app_context():
        try:
            for step in steps:
                try:
                    step()
                except Exception as exc:  # noqa: BLE001 - the next step still runs
                    db.session.rollback()
                    log.error("job step %s failed: %s", getattr(step, "__qualname__", step), type(exc).__name__)
                    first = first or exc
        finally:
            db.session.remove()
    if first is not None:
        raise first


def _register(huey: Huey, app: Flask) -> None:
    from .services import print_jobs, track_assign_jobs
    from .services.reports import runs

    @huey.task(name="print.chunk")
    def chunk_task(chunk_id: int) -> None:
        _in_app(app, lambda: print_jobs.run_chunk(chunk_id))

    @huey.task(name="print.merge")
    def merge_task(job_id: int) -> None:
        _in_app(app, lambda: print_jobs.merge_job(job_id))

    @huey.task(name="report.run")
    def report_task(run_id: int) -> None:
        _in_app(app, lambda: runs.run(run_id))

    @huey.task(name="assign.track")
    def track_assign_task(job_id: int) -> None:
        _in_app(app, lambda: track_assign_jobs.run(job_id))

    @huey.periodic_task(crontab(minute="*"), name="print.recover")
    def recover_task() -> None:
        _in_app(app, print_jobs.recover, track_assign_jobs.recover, print_jobs.purge_expired,
                runs.recover, runs.purge_expired)

    @huey.on_startup()
    def fresh_connections() -> None:
        # A forked worker process must not share the parent's database connections.
        with app.app_context():
            db.engine.dispose(close=False)

    huey.clinic_tasks = {"chunk": chunk_task, "merge": merge_task, "recover": recover_task, "report": report_task,
                         "track_assign": track_assign_task}


def init_app(app: Flask) -> None:
    """Build the app's queue (``app.extensions["clinic_jobs"]``) and add ``flask jobs``."""
    app.extensions[EXTENSION] = make_huey(app)
    app.cli.add_command(jobs_cli)


def queue(app: Flask | None = None) -> Huey:
    """The current app's Huey instance."""
    return (app or current_app).extensions[EXTENSION]


def enqueue_chunk(chunk_id: int) -> None:
    """Ask a worker to render chunk ``chunk_id`` (``print_jobs.run_chunk``)."""
    queue().clinic_tasks["chunk"](chunk_id)


def enqueue_merge(job_id: int) -> None:
    """Ask a worker to merge job ``job_id`` (``print_jobs.merge_job``)."""
    queue().clinic_tasks["merge"](job_id)


def enqueue_report(run_id: int) -> None:
    """Ask a worker to compute report run ``run_id`` (``services.reports.runs.run``)."""
    queue().clinic_tasks["report"](run_id)


def enqueue_track_assign(job_id: int) -> None:
    """Ask a worker to run whole-track assign job ``job_id`` (``track_assign_jobs.run``)."""
    queue().clinic_tasks["track_assign"](job_id)


def log_progress(job_id: int) -> None:
    """A line in the worker's log (ids only, never patient data)."""
    log.info("print job %s: a chunk is done", job_id)


@jobs_cli.command("worker")
@click.option("--workers", "-w", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes (one chunk each at a time; one per core is a good start).")
@click.option("--max-tasks", default=200, show_default=True, type=click.IntRange(0, 1_000_000),
              help="A worker process is replaced by a fresh one after this many tasks (0: never), "
                   "so its memory cannot creep up over days.")
def worker_command(workers: int, max_tasks: int) -> None:
    """Render queued batch prints: a Huey consumer with WORKERS processes (stop with Ctrl-C)."""
    from huey.consumer import Consumer

    huey = queue()
    if huey.immediate:
        raise click.ClickException("CLINIC_JOB_QUEUE is 'immediate': jobs run in the app itself, no worker is needed.")
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(levelname)s %(name)s: %(message)s")
    for chatty in ("weasyprint", "fontTools"):  # their per-page progress lines are noise (and cost time)
        logging.getLogger(chatty).setLevel(logging.WARNING)
    described = current_app.config["CLINIC_JOB_QUEUE"].split("@")[-1]
    click.echo(f"Print worker: {workers} processes on queue {current_app.config['CLINIC_JOB_QUEUE_NAME']!r} "
               f"({described}).")
    db.engine.dispose()
    # An idle worker looks at a SQLite queue at least every second (Redis wakes it at once).
    Consumer(huey, workers=workers, worker_type="process", periodic=True, check_worker_health=True,
             health_check_interval=1, max_delay=1.0, max_tasks=max_tasks or None).run()


__all__ = ["enqueue_chunk", "enqueue_merge", "enqueue_report", "enqueue_track_assign", "init_app", "jobs_cli",
           "make_huey", "queue"]
