"""A whole track above ``CLINIC_TRACK_ASSIGN_JOB_ABOVE`` patients is assigned by a background job.

The tests' queue is in-process (``immediate``): the job has run when the POST returns. To
see a job still waiting, ``held`` keeps the queue's messages back and ``work`` runs them as
a worker would.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from clinic import jobs
from clinic.extensions import db
from clinic.models import Assignment, AuditEvent, KindnessExercise, PrintJob
from clinic.models._types import utcnow
from clinic.services import assignments, track_assign_jobs
from conftest import login

START = "2026-02-02"


@pytest.fixture
def track(make, app):
    """An IOP track of 8 patients (one already holding the exercise, one inactive), a low threshold."""
    app.config["CLINIC_TRACK_ASSIGN_JOB_ABOVE"] = 3
    iop = make.track("iop")
    planner = make.staff("planner", email="pat@clinic.example")
    other = make.staff("planner", email="quinn@clinic.example")
    exercise = KindnessExercise(title="Celebrate a small win", direction="self", energy="low", tracks=[iop])
    db.session.add(exercise)
    db.session.commit()
    patients = []
    for n in range(8):
        patient = make.patient(first_name="Pat", last_name=f"Name{n:02d}", active=n != 7)
        make.enrolment(patient, iop, start=date(2026, 1, 5))
        patients.append(patient)
    assignments.assign_exercise(exercise, patients[:1], start=date(2026, 1, 12))
    return {"planner": planner.email, "other": other.email, "exercise": exercise.id, "track": iop.id,
            "planner_id": planner.id}


def _form(track, **extra):
    return {"exercise": track["exercise"], "target": "track", "track": track["track"], "start": START,
            "times_per_week": "2", "due": "", **extra}


@pytest.fixture
def held(monkeypatch):
    kept: list[int] = []
    monkeypatch.setattr(jobs, "enqueue_track_assign", kept.append)
    return kept


def work(kept: list[int]) -> None:
    while kept:
        track_assign_jobs.run(kept.pop(0))
    db.session.expire_all()


def _made(exercise_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Assignment)
                             .where(Assignment.exercise_id == exercise_id, Assignment.source == "track"))


def test_a_large_track_is_assigned_by_a_job_whose_page_shows_the_same_result(client, track):
    login(client, track["planner"])
    answer = client.post("/admin/assign/", data=_form(track))

    assert answer.status_code == 303
    page_url = answer.headers["Location"]
    assert "/admin/assign/jobs/" in page_url
    body = client.get(page_url).get_data(as_text=True)
    assert ("Assigned to 6 patients; 1 patient already had it active (no duplicate made); "
            "1 patient not suited (refused).") in body
    assigned = body.split('id="assigned"')[1].split("</section>")[0]
    unsuitable = body.split('id="unsuitable"')[1].split("</section>")[0]
    assert "Pat Name01" in assigned and "Pat Name06" in assigned
    assert "Pat Name07" in unsuitable and "patient record is inactive" in unsuitable
    assert "everyone enrolled in" in body and "Celebrate a small win" in body
    db.session.remove()
    made = list(db.session.scalars(sa.select(Assignment).where(Assignment.source == "track")))
    assert len(made) == 6 and {a.assigned_by_id for a in made} == {track["planner_id"]}
    assert {a.times_per_week for a in made} == {2}
    # Audited as on the synchronous path: one event per assignment, by the planner.
    events = list(db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity == "assignment", AuditEvent.entity_id.in_([str(a.id) for a in made]))))
    assert len(events) == 6 and {e.actor_id for e in events} == {track["planner_id"]}
    # The job keeps ids, never names.
    job = db.session.scalar(sa.select(PrintJob).where(PrintJob.kind == track_assign_jobs.KIND))
    assert job.state == "done" and "Pat" not in str(job.params) and job.active_key is None


def test_a_small_track_is_still_assigned_in_the_request(client, track, app):
    app.config["CLINIC_TRACK_ASSIGN_JOB_ABOVE"] = 8
    login(client, track["planner"])
    answer = client.post("/admin/assign/", data=_form(track))
    assert answer.status_code == 200
    assert "Assigned to 6 patients" in answer.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PrintJob)) == 0


def test_only_the_owner_sees_the_jobs_page(client, track):
    login(client, track["planner"])
    page_url = client.post("/admin/assign/", data=_form(track)).headers["Location"]
    client.post("/logout")
    login(client, track["other"])
    assert client.get(page_url).status_code == 404
    assert client.get("/admin/assign/jobs/999999/").status_code == 404
    # Nor is it a print job of its owner's.
    job_id = int(page_url.rstrip("/").rsplit("/", 1)[1])
    client.post("/logout")
    login(client, track["planner"])
    assert client.get(f"/admin/print/jobs/{job_id}/").status_code == 404


def test_a_waiting_job_says_so_and_the_same_assign_is_refused_until_it_is_done(client, track, held):
    login(client, track["planner"])
    page_url = client.post("/admin/assign/", data=_form(track)).headers["Location"]
    waiting = client.get(page_url).get_data(as_text=True)
    assert "Waiting for a worker" in waiting and 'http-equiv="refresh"' in waiting
    assert _made(track["exercise"]) == 0

    # The same login: back to its job's page, nothing new started.
    again = client.post("/admin/assign/", data=_form(track))
    assert again.status_code == 303 and again.headers["Location"] == page_url
    # Someone else: refused at the form, politely.
    client.post("/logout")
    login(client, track["other"])
    refused = client.post("/admin/assign/", data=_form(track))
    assert refused.status_code == 409
    assert "already being assigned to this track" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PrintJob)) == 1
    assert len(held) == 1

    work(held)
    client.post("/logout")
    login(client, track["planner"])
    assert "Assigned to 6 patients" in client.get(page_url).get_data(as_text=True)
    assert _made(track["exercise"]) == 6
    # Done: the same assign may be started again (everyone now has it).
    later = client.post("/admin/assign/", data=_form(track))
    assert later.status_code == 303 and later.headers["Location"] != page_url
    work(held)
    assert "Assigned to 0 patients; 7 patients already had it active" in \
        client.get(later.headers["Location"]).get_data(as_text=True)


def test_a_job_that_fails_says_so_and_saves_nothing(client, track, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(assignments, "assign_to_track", broken)
    login(client, track["planner"])
    page_url = client.post("/admin/assign/", data=_form(track)).headers["Location"]
    body = client.get(page_url).get_data(as_text=True)
    assert "Failed" in body and "could not be finished because of an error. Nothing was saved" in body
    assert "Start it again" in body and 'http-equiv="refresh"' not in body
    assert _made(track["exercise"]) == 0


def test_a_rule_refusal_inside_the_job_is_its_failure_message(client, track, held):
    login(client, track["planner"])
    page_url = client.post("/admin/assign/", data=_form(track)).headers["Location"]
    db.session.execute(sa.update(KindnessExercise).values(active=False))
    db.session.commit()
    work(held)
    body = client.get(page_url).get_data(as_text=True)
    assert "is retired, so it can no longer be assigned" in body and "Failed" in body
    assert _made(track["exercise"]) == 0


def test_a_job_whose_worker_died_is_run_again_then_reported_failed(client, track, held, app):
    login(client, track["planner"])
    page_url = client.post("/admin/assign/", data=_form(track)).headers["Location"]
    job_id = held[0]
    stale = timedelta(seconds=app.config["CLINIC_PRINT_STALE_SECONDS"] + 1)

    def worker_dies():
        """A worker claims the job, then dies (its transaction never commits)."""
        assert track_assign_jobs._claim(job_id) is not None
        db.session.execute(sa.update(PrintJob).where(PrintJob.id == job_id)
                           .values(merge_started_at=utcnow() - stale))
        db.session.commit()

    held.clear()
    worker_dies()
    assert track_assign_jobs.recover() == 1 and held == [job_id]  # queued again
    held.clear()
    worker_dies()
    track_assign_jobs.recover()
    held.clear()
    worker_dies()
    track_assign_jobs.recover()  # the third attempt died too: failed, plainly
    assert held == []
    body = client.get(page_url).get_data(as_text=True)
    assert "its worker stopped 3 times. Nothing was saved" in body
    assert _made(track["exercise"]) == 0

    # A lost message: a job queued too long is enqueued again, and runs.
    again = client.post("/admin/assign/", data=_form(track)).headers["Location"]
    job_id = held.pop()
    db.session.execute(sa.update(PrintJob).where(PrintJob.id == job_id).values(merge_started_at=utcnow() - stale))
    db.session.commit()
    assert track_assign_jobs.recover() == 1 and held == [job_id]
    work(held)
    assert "Assigned to 6 patients" in client.get(again).get_data(as_text=True)


def test_a_bad_request_is_refused_at_the_form_and_starts_no_job(client, track):
    login(client, track["planner"])
    answer = client.post("/admin/assign/", data=_form(track, due="2026-01-01"))
    assert answer.status_code == 200
    assert "cannot be before the start date" in answer.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PrintJob)) == 0


def test_starting_the_job_runs_as_many_statements_for_a_large_track_as_for_a_small_one(client, make, app, held):
    app.config["CLINIC_TRACK_ASSIGN_JOB_ABOVE"] = 2
    planner = make.staff("planner")
    small, large = make.track("iop"), make.track("intensive")
    exercise = KindnessExercise(title="Note", direction="self", energy="low", tracks=[small, large])
    db.session.add(exercise)
    db.session.commit()
    for track, size in ((small, 4), (large, 30)):
        for _ in range(size):
            make.enrolment(make.patient(), track, start=date(2026, 1, 5))
    ids = {"exercise": exercise.id, "small": small.id, "large": large.id}
    login(client, planner.email)
    client.get("/admin/assign/")
    counted: list[str] = []

    def count(conn, cursor, statement, *_args):
        counted.append(statement.split()[0])

    def start(track_id: int) -> int:
        counted.clear()
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            answer = client.post("/admin/assign/", data={"exercise": ids["exercise"], "target": "track",
                                                         "track": track_id, "start": START})
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        assert answer.status_code == 303
        return len(counted)

    assert start(ids["small"]) == start(ids["large"])
    assert len(held) == 2
