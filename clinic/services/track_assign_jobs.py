"""A whole track's assignment as a background job, when the track is large.

Assigning an exercise to everyone enrolled in a track (``assignments.assign_to_track``,
the rule's one home) is set-based, but its work grows with the track. Above
``CLINIC_TRACK_ASSIGN_JOB_ABOVE`` patients enrolled on the start day (``runs_as_job``) the
assign page records a job and answers at once; a worker (``clinic/jobs.py``, the queue of
the batch prints) runs the same ``assign_to_track`` for it.

The job is a ``PrintJob`` row of kind ``track_assign`` (the print jobs' table: who, state,
plain failure message, parameters as JSON; no new table), so it is in the database where
every app server and worker sees it:

- ``start`` checks the request as the synchronous path does (a retired exercise, bad
  times per week or dates are refused at once, nothing recorded), refuses the same
  exercise for the same track while a job for it is queued or running, whoever started
  it (``AssignBusy``, with the job's id when it is the caller's own), records the job
  (owner, exercise, track, start, due, times per week) and enqueues it. With the
  in-process queue (``immediate``, tests) the job has run when it returns.
- ``run`` (a worker) claims the job atomically (queued -> running, one UPDATE; a
  duplicate message finds it claimed and does nothing), runs ``assign_to_track`` as the
  job's owner (so the audit events are theirs, as on the synchronous path) and, in the
  same transaction, stores the result (the counts, and the ids of the first patients of
  each kind: never their names) and ends the job: the assignments and "done" are committed
  together or not at all. A refusal by the rule (the exercise retired meanwhile, a
  concurrent assign) or any error fails the job with a plain message; nothing is saved.
- ``recover`` (the queue's periodic task and every status look): a job running for
  ``CLINIC_PRINT_STALE_SECONDS`` without finishing lost its worker (its transaction was
  rolled back): queued again, up to ``MAX_ATTEMPTS``, then failed with a plain message.
  A job queued that long (its message lost) is enqueued again.
- ``status`` answers the owner only (None for anyone else: "not yours" looks like "not
  there"); a done job's result is rebuilt from the stored ids (``FanOutResult``, the
  patients' names read now, at most a few dozen).

Finished jobs are deleted with the print jobs, ``CLINIC_PRINT_KEEP_MINUTES`` after they end.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Enrolment, KindnessExercise, Patient, PrintJob, StaffUser, Track
from ..models._types import utcnow
from . import assignments, audit
from .errors import RuleViolation
from .membership import covers

log = logging.getLogger(__name__)

KIND = "track_assign"
MAX_ATTEMPTS = 3
BUSY_MESSAGE = ("This exercise is already being assigned to this track: that job is still running. "
                "Nothing new was started; its result shows when it is done.")
LOST_MESSAGE = ("The assignment could not be finished: its worker stopped {attempts} times. "
                "Nothing was saved; please start it again, or ask an administrator if it keeps failing.")
ERROR_MESSAGE = ("The assignment could not be finished because of an error. Nothing was saved; please start it "
                 "again, or ask an administrator if it keeps failing.")
QUEUE_MESSAGE = ("The assignment could not be started: the job queue is not answering. Nothing was saved; "
                 "please try again later or tell an administrator.")


class AssignBusy(RuleViolation):
    """The same exercise is being assigned to the same track (``job_id``: the caller's own job, if it is)."""

    def __init__(self, message: str = BUSY_MESSAGE, job_id: int | None = None):
        super().__init__(message)
        self.job_id = job_id


def threshold() -> int:
    """``CLINIC_TRACK_ASSIGN_JOB_ABOVE``: more patients enrolled than this make a whole-track assign a job."""
    return int(current_app.config.get("CLINIC_TRACK_ASSIGN_JOB_ABOVE", 300))


def runs_as_job(track: Track, start: date) -> bool:
    """True when more than ``threshold()`` patients are enrolled in ``track`` on ``start``.

    One statement that stops counting past the threshold, so it costs the same on any track.
    """
    limit = threshold()
    enrolled = (sa.select(Enrolment.patient_id).where(Enrolment.track_id == track.id, covers(Enrolment, start))
                .distinct().limit(limit + 1).subquery())
    return db.session.scalar(sa.select(sa.func.count()).select_from(enrolled)) > limit


def job_key(exercise_id: int, track_id: int) -> str:
    return f"track-assign:{exercise_id}:{track_id}"


@dataclass(frozen=True)
class AssignJobStatus:
    """What the owner of a whole-track assign job may know about it."""

    id: int
    #: queued, running, done or failed.
    state: str
    #: Why it failed, in plain words ("" otherwise).
    message: str
    created_at: datetime
    finished_at: datetime | None
    #: exercise, track, start, due, times_per_week (ids and values, never names).
    params: dict
    #: The result when done (as ``assign_to_track`` returned it, names read now); else None.
    result: assignments.FanOutResult | None = None

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")


def start(user: StaffUser, exercise: KindnessExercise, track: Track, *, start: date,
          times_per_week: int | None = None, due: date | None = None, ip_address: str = "") -> AssignJobStatus:
    """Record and enqueue the assign of ``exercise`` to the whole ``track`` for ``user``; returns its status.

    Refuses a bad request as ``assign_to_track`` would (``RuleViolation``) and the same
    exercise and track while a job for them is queued or running (``AssignBusy``); nothing
    is recorded then. Commits.
    """
    times = assignments._check_request(exercise, start, times_per_week, due, "track")
    key = job_key(exercise.id, track.id)
    running = db.session.execute(sa.select(PrintJob.id, PrintJob.owner_id).where(
        PrintJob.kind == KIND, PrintJob.active_key == key).limit(1)).first()
    if running is not None:
        raise AssignBusy(job_id=running.id if running.owner_id == user.id else None)
    job = PrintJob(owner_id=user.id, kind=KIND, active_key=key, state="queued", sheets_total=1, sheets_done=0,
                   message="", merge_started_at=utcnow(),
                   params={"exercise": exercise.id, "track": track.id, "start": start.isoformat(),
                           "due": due.isoformat() if due else None, "times_per_week": times,
                           "ip": ip_address[:64], "attempts": 0})
    db.session.add(job)
    try:
        db.session.commit()
    except IntegrityError:  # the same login started it a moment ago on another app server
        db.session.rollback()
        raise AssignBusy(job_id=db.session.scalar(sa.select(PrintJob.id).where(
            PrintJob.kind == KIND, PrintJob.owner_id == user.id, PrintJob.active_key == key))) from None
    job_id = job.id
    from .. import jobs

    try:
        jobs.enqueue_track_assign(job_id)
    except Exception as exc:  # noqa: BLE001 - the queue is down: the job fails plainly, nothing is saved
        db.session.rollback()
        log.error("track assign job %s: the queue could not be reached: %s", job_id, type(exc).__name__)
        _fail(job_id, QUEUE_MESSAGE)
    db.session.expire_all()
    return status(user, job_id, recover_stale=False)


def _stale():
    from datetime import timedelta

    return timedelta(seconds=int(current_app.config.get("CLINIC_PRINT_STALE_SECONDS", 60)))


def _fail(job_id: int, message: str) -> None:
    db.session.execute(sa.update(PrintJob).where(PrintJob.id == job_id, PrintJob.kind == KIND,
                                                 PrintJob.state.in_(("queued", "running")))
                       .values(state="failed", message=message[:400], finished_at=utcnow(), active_key=None)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    log.warning("track assign job %s failed", job_id)


def _claim(job_id: int) -> datetime | None:
    """Take job ``job_id`` if it is queued: returns the claim's moment (its token), else None."""
    now = utcnow()
    claimed = db.session.execute(
        sa.update(PrintJob).where(PrintJob.id == job_id, PrintJob.kind == KIND, PrintJob.state == "queued")
        .values(state="running", merge_started_at=now).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        db.session.rollback()
        return None
    job = db.session.get(PrintJob, job_id)
    job.params = {**job.params, "attempts": int(job.params.get("attempts", 0)) + 1}
    db.session.commit()
    return now


def _lines(result: assignments.FanOutResult) -> dict:
    """What is kept of a result: counts and ids (never names)."""
    return {
        "totals": result.counts(),
        "assigned": [[line.id, line.patient.id] for line in result.assigned],
        "already": [p.id for p in result.already],
        "holding": {str(k): v for k, v in result.holding.items()},
        "unsuitable": [[p.id, reason] for p, reason in result.unsuitable],
    }


def run(job_id: int) -> bool:
    """Run job ``job_id`` if it is still queued (a worker's task); True if this call finished it."""
    claimed_at = _claim(job_id)
    if claimed_at is None:
        return False
    job = db.session.get(PrintJob, job_id)
    params = dict(job.params)
    owner = db.session.get(StaffUser, job.owner_id) if job.owner_id is not None else None
    try:
        exercise = db.session.get(KindnessExercise, params["exercise"])
        track = db.session.get(Track, params["track"])
        if exercise is None or track is None:
            raise RuleViolation("The exercise or the track no longer exists. Nothing was saved.")
        with audit.acting_as(owner, label="" if owner else "assign job", ip_address=params.get("ip", "")):
            result = assignments.assign_to_track(
                exercise, track, start=date.fromisoformat(params["start"]),
                times_per_week=params["times_per_week"],
                due=date.fromisoformat(params["due"]) if params.get("due") else None,
                actor=owner, commit=False)
        ended = db.session.execute(
            sa.update(PrintJob).where(PrintJob.id == job_id, PrintJob.state == "running",
                                      PrintJob.merge_started_at == claimed_at)
            .values(state="done", finished_at=utcnow(), active_key=None, sheets_done=1,
                    params={**params, "result": _lines(result)})
            .execution_options(synchronize_session=False))
        if ended.rowcount != 1:  # taken over meanwhile (thought dead): this run's work is dropped
            db.session.rollback()
            return False
        db.session.commit()
    except RuleViolation as exc:
        db.session.rollback()
        _fail(job_id, str(exc))
        return False
    except Exception as exc:  # noqa: BLE001 - any error: the job fails plainly, nothing is saved
        db.session.rollback()
        log.warning("track assign job %s failed: %s", job_id, type(exc).__name__)
        _fail(job_id, ERROR_MESSAGE)
        return False
    return True


def recover(now: datetime | None = None) -> int:
    """Move stalled jobs on (queued again or failed); returns how many were touched."""
    from .. import jobs

    now = now or utcnow()
    limit = now - _stale()
    stalled = db.session.execute(sa.select(PrintJob.id, PrintJob.state, PrintJob.params).where(
        PrintJob.kind == KIND, PrintJob.state.in_(("queued", "running")),
        PrintJob.merge_started_at < limit)).all()
    db.session.rollback()
    moved = 0
    for job_id, state, params in stalled:
        attempts = int((params or {}).get("attempts", 0))
        if state == "running" and attempts >= MAX_ATTEMPTS:
            db.session.execute(sa.update(PrintJob).where(
                PrintJob.id == job_id, PrintJob.state == "running", PrintJob.merge_started_at < limit)
                .values(state="failed", message=LOST_MESSAGE.format(attempts=attempts), finished_at=now,
                        active_key=None).execution_options(synchronize_session=False))
            db.session.commit()
            moved += 1
            continue
        touched = db.session.execute(sa.update(PrintJob).where(
            PrintJob.id == job_id, PrintJob.state == state, PrintJob.merge_started_at < limit)
            .values(state="queued", merge_started_at=now).execution_options(synchronize_session=False))
        db.session.commit()
        if touched.rowcount == 1:
            try:
                jobs.enqueue_track_assign(job_id)
            except Exception as exc:  # noqa: BLE001 - tried again at the next recovery
                log.error("job queue not answering (%s); will try again", type(exc).__name__)
            moved += 1
    return moved


def _result(lines: dict) -> assignments.FanOutResult:
    """The stored result with the named patients' lines read now (one statement)."""
    ids = {pid for _aid, pid in lines.get("assigned", [])} | set(lines.get("already", [])) | \
        {pid for pid, _reason in lines.get("unsuitable", [])}
    people = {}
    if ids:
        people = {row.id: assignments.PatientLine(row.id, f"{row.first_name} {row.last_name}", row.record_number)
                  for row in db.session.execute(sa.select(Patient.id, Patient.first_name, Patient.last_name,
                                                          Patient.record_number).where(Patient.id.in_(ids)))}

    def line(pid: int):
        return people.get(pid) or assignments.PatientLine(pid, f"(patient #{pid} no longer on file)", "")

    return assignments.FanOutResult(
        assigned=[assignments.AssignedLine(aid, line(pid)) for aid, pid in lines.get("assigned", [])],
        already=[line(pid) for pid in lines.get("already", [])],
        unsuitable=[(line(pid), reason) for pid, reason in lines.get("unsuitable", [])],
        totals=dict(lines.get("totals", {})),
        holding={int(k): v for k, v in (lines.get("holding") or {}).items()},
    )


def status(user: StaffUser, job_id: int, *, recover_stale: bool = True) -> AssignJobStatus | None:
    """The status of ``user``'s job ``job_id``; None when there is no such job of theirs."""
    if recover_stale:
        recover()
    job = db.session.get(PrintJob, job_id) if isinstance(job_id, int) and 0 < job_id < 2**31 else None
    if job is None or job.kind != KIND or user is None or job.owner_id != user.id:
        return None  # not yours looks like not there
    params = dict(job.params or {})
    result = _result(params["result"]) if job.state == "done" and params.get("result") else None
    return AssignJobStatus(id=job.id, state=job.state, message=job.message or "", created_at=job.created_at,
                           finished_at=job.finished_at, params=params, result=result)


__all__ = ["AssignBusy", "AssignJobStatus", "KIND", "MAX_ATTEMPTS", "recover", "run", "runs_as_job", "start",
           "status", "threshold"]
