"""The same print cannot be started twice by one login while it is being prepared, whatever the door.

One patient's sheet is printed in the request and guarded here; a batch is a background job,
refused while the same one is queued or running (tests/test_print_job_pages.py)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import AuditEvent, GroupMembership
from clinic.services import print_jobs
from conftest import login

START, END = date(2026, 3, 1), date(2026, 3, 31)
FORM = {"from": START.isoformat(), "to": END.isoformat(), "version": "staff"}


@pytest.fixture
def batch(make):
    planner = make.staff("planner", email="pat@clinic.example")
    iop = make.track("iop")
    group = make.group(iop, name="IOP Evening A")
    for name in ("Ashgrove", "Bramblecot"):
        patient = make.patient(first_name="Test", last_name=name)
        make.enrolment(patient, iop, start=date(2026, 2, 1))
        make.membership(group, patient, start=date(2026, 2, 1))
    return planner, group


def group_patients(group) -> list[int]:
    return sorted(db.session.scalars(sa.select(GroupMembership.patient_id).where(GroupMembership.group_id == group.id)))


def exports() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "export"))


def sheet_key(patient_id: int) -> str:
    return f"progress:{patient_id}:{START.isoformat()}:{END.isoformat()}:staff"


def test_a_second_identical_sheet_while_one_is_printed_is_refused_politely(client, batch):
    """One patient's sheet is printed in the request: the in-process guard (and, on PostgreSQL,
    the advisory lock) refuses the same sheet while it is printed. (A batch is a background job:
    tests/test_print_job_pages.py.)"""
    planner, group = batch
    patient_id = group_patients(group)[0]
    login(client, planner.email)
    url = f"/admin/print/progress/?patient={patient_id}"
    with print_jobs.one_at_a_time(planner.id, sheet_key(patient_id)):
        busy = client.post(url, data=FORM)
        assert busy.status_code == 409
        assert "already being prepared" in busy.get_data(as_text=True)
        assert exports() == 0
        # Another period, or another login, is not the same print.
        other = client.post(url, data={**FORM, "to": "2026-03-30"})
        assert other.status_code == 200 and other.mimetype == "application/pdf"
        db.session.rollback()  # the running print ends (on PostgreSQL its transaction held the lock)
    assert exports() == 1
    done = client.post(url, data=FORM)
    assert done.status_code == 200 and done.mimetype == "application/pdf"
    assert exports() == 2
    assert not print_jobs.running(planner.id, sheet_key(patient_id))


def test_the_guard_is_released_when_the_print_fails(ctx):
    with pytest.raises(RuntimeError):
        with print_jobs.one_at_a_time(7, "k"):
            raise RuntimeError("render failed")
    assert not print_jobs.running(7, "k")
    with print_jobs.one_at_a_time(7, "k"):
        with pytest.raises(print_jobs.PrintBusy):
            with print_jobs.one_at_a_time(7, "k"):
                pass
    db.session.rollback()


def test_on_postgresql_another_app_server_printing_the_sheet_refuses_it_too(client, batch, backend):
    if backend != "postgresql":
        pytest.skip("the advisory lock shared by app servers is PostgreSQL's; SQLite is served by one process")
    planner, group = batch
    patient_id = group_patients(group)[0]
    login(client, planner.email)
    first, second = print_jobs.lock_keys(planner.id, sheet_key(patient_id))
    with db.engine.connect() as other_server:  # another process's transaction holding the lock
        with other_server.begin():
            assert other_server.execute(sa.select(sa.func.pg_try_advisory_xact_lock(first, second))).scalar()
            busy = client.post(f"/admin/print/progress/?patient={patient_id}", data=FORM)
            assert busy.status_code == 409
            assert exports() == 0
    done = client.post(f"/admin/print/progress/?patient={patient_id}", data=FORM)
    assert done.status_code == 200 and done.mimetype == "application/pdf"
