"""Batch prints as background jobs: chunks rendered apart and merged read like the serial batch.

These run with the in-process queue (``CLINIC_JOB_QUEUE=immediate``, the tests' default),
calling the worker's functions (``run_chunk``, ``recover``) the way a worker would.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import AuditEvent, PrintChunk, PrintJob
from clinic.models._types import utcnow
from clinic.pdf import batches
from clinic.services import print_jobs
from clinic.services.errors import RuleViolation
from test_pdf_batches import PAGE, roster, sheets  # noqa: F401 (fixture)
from test_pdf_progress import END, START, clinic  # noqa: F401 (fixture)
from test_pdf_render import page_texts


def exports() -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.id)))


@pytest.fixture
def planner(make):
    return make.staff("planner", email="planner@clinic.example")


@pytest.fixture
def everyone(clinic, roster):  # noqa: F811
    """The IOP track's patients over March, in the staff version's print order."""
    return batches.track_patients(clinic.group.track, START, END, "staff")


def start(user, patients, version="staff", target="track:1"):
    return print_jobs.start_progress_batch(
        user, patients, START, END, version, target=target, title="Progress sheets, test batch",
        source={"track": 1}, filename="progress-track-1-staff.pdf")


@pytest.mark.parametrize("version", ["staff", "patient"])
def test_chunks_merged_read_like_the_serial_batch_page_for_page(app, ctx, planner, everyone, version):
    app.config["CLINIC_PRINT_CHUNK_SHEETS"] = 1
    patients = batches.in_print_order(everyone, version)
    assert len(patients) >= 3
    serial = batches.progress_batch(patients, START, END, version, commit=False)
    db.session.rollback()
    status = start(planner, patients, version)
    assert status.state == "done" and status.ready and status.sheets_done == status.sheets_total == len(patients)
    pdf, filename = print_jobs.job_pdf(planner, status.id)
    assert filename == "progress-track-1-staff.pdf"
    expected, got = page_texts(serial), page_texts(pdf)
    assert got == expected
    assert len(sheets(got)) == len(patients)
    assert PAGE.findall(got[0])[-1][0] == "1"
    from test_pdf_render import read_pdf
    assert read_pdf(pdf).metadata.title == "Progress sheets, test batch"
