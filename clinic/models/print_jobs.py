"""Batch prints run as background jobs: the job and its chunks (``services/print_jobs.py``).

Both live in the database, so every app server and every worker (on one machine or
several) sees the same jobs. A job's chunks are rendered in parallel by workers and merged
into the job's one PDF; the PDFs are patient data at rest and are deleted after the
retention time (``CLINIC_PRINT_KEEP_MINUTES``).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import choice, utcnow

#: A job's and a chunk's states.
JOB_STATES = ("queued", "running", "done", "failed")


class PrintJob(db.Model):
    """One batch print for one staff member: its parameters, progress and, when done, the PDF.

    ``active_key`` holds the batch's key (target, period, version) while the job is queued
    or running and is NULL afterwards: the unique (owner, active_key) pair lets one login
    run the same batch only once at a time, on every app server (NULLs never clash).
    """

    __tablename__ = "print_job"
    __table_args__ = (
        sa.UniqueConstraint("owner_id", "active_key", name="uq_print_job_owner_active_key"),
        sa.CheckConstraint("sheets_done >= 0 AND sheets_done <= sheets_total", name="sheets_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Who started it; only they may see it or download it.
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"), index=True)
    #: What kind of print (``progress_batch``).
    kind: Mapped[str] = mapped_column(sa.String(40))
    #: The batch's key while queued or running; NULL once finished.
    active_key: Mapped[str | None] = mapped_column(sa.String(400))
    #: Patient ids in print order, period, version, title, source target.
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    state: Mapped[str] = mapped_column(choice("print_job_state", JOB_STATES), default="queued")
    sheets_total: Mapped[int] = mapped_column(sa.Integer, default=0)
    sheets_done: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: Why it failed, in plain words and without patient data.
    message: Mapped[str] = mapped_column(sa.String(400), default="")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, index=True)
    #: When the merge took over (a stale one is taken over again by ``recover``).
    merge_started_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    #: The merged PDF (deleted with the job after the retention time).
    pdf: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)

    chunks: Mapped[list["PrintChunk"]] = relationship(
        back_populates="job", cascade="all, delete-orphan", passive_deletes=True, order_by="PrintChunk.index"
    )

    def __str__(self) -> str:
        return f"Print job #{self.id}"


class PrintChunk(db.Model):
    """A run of consecutive sheets of a job, rendered by one worker into its own PDF.

    A worker claims a queued chunk atomically (state queued -> running, ``attempts`` + 1,
    in one UPDATE); ``attempts`` is then the claim's token: only the claim holding the
    current attempt may heartbeat or store the result.
    """

    __tablename__ = "print_chunk"
    __table_args__ = (
        sa.UniqueConstraint("job_id", "index", name="uq_print_chunk_job_index"),
        sa.Index("ix_print_chunk_state_heartbeat", "state", "heartbeat_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("print_job.id", ondelete="CASCADE"), index=True)
    #: Position in the job (0, 1, ...): the merge keeps this order.
    index: Mapped[int] = mapped_column(sa.Integer)
    #: The chunk's patients, in print order.
    patient_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    state: Mapped[str] = mapped_column(choice("print_chunk_state", JOB_STATES), default="queued")
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    sheets_done: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: Last sign of life: set when queued, claimed and after each sheet.
    heartbeat_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    #: The chunk's PDF until the merge (then freed).
    pdf: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)

    job: Mapped[PrintJob] = relationship(back_populates="chunks")

    def __str__(self) -> str:
        return f"Print chunk #{self.id}"
