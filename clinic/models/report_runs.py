"""A whole-clinic report computed by a background worker, and its stored result (``services/reports/runs.py``).

The result is the finished ``Report`` as JSON, in two parts so that a page view reads only
what it shows: the head (figures, chart, notes, the tables' columns and row counts, small
tables whole) in ``ReportRun.result``, and each long (paged) table's rows in pages of the
report page's size (``ReportRunPage``). It names patients, so it is deleted after
``CLINIC_REPORT_KEEP_MINUTES``, like a print job's PDF (the pages with their run).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ._types import choice, utcnow

#: A run's states (the same as a print job's).
RUN_STATES = ("queued", "running", "done", "failed")


class ReportRun(db.Model):
    """One report (kind, normalised filters) computed for one staff member.

    ``active_key`` holds the request's key while the run is queued or running and is NULL
    afterwards: the unique (owner, active_key) pair lets one login compute the same report
    only once at a time, on every app server; a repeated request joins the running one.
    """

    __tablename__ = "report_run"
    __table_args__ = (
        sa.UniqueConstraint("owner_id", "active_key", name="uq_report_run_owner_active_key"),
        sa.Index("ix_report_run_owner_request", "owner_id", "request_key", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Who asked; only they may see it.
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id", ondelete="CASCADE"))
    #: The report (``census``, ``hours``, ...).
    kind: Mapped[str] = mapped_column(sa.String(40))
    #: The kind, the viewer's scope and the normalised filters, e.g. ``hours|everyone|{"week": ...}``.
    request_key: Mapped[str] = mapped_column(sa.String(400))
    #: ``request_key`` while queued or running; NULL once finished.
    active_key: Mapped[str | None] = mapped_column(sa.String(400))
    #: The normalised filters (``from``, ``to``, ``week``, ``track``): record ids and dates only.
    filters: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    state: Mapped[str] = mapped_column(choice("report_run_state", RUN_STATES), default="queued")
    #: Why it failed, in plain words and without patient data.
    message: Mapped[str] = mapped_column(sa.String(400), default="")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, index=True)
    #: When a worker took it (a run taking longer than ``CLINIC_REPORT_STALE_SECONDS`` is reported lost).
    started_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    #: The finished report's head as JSON (``runs.split_report``); patient data, deleted with the run.
    result: Mapped[dict | None] = mapped_column(sa.JSON, deferred=True)

    def __str__(self) -> str:
        return f"Report run #{self.id}"


class ReportRunPage(db.Model):
    """One page of a stored report's long table: the rows the report page shows at once."""

    __tablename__ = "report_run_page"

    run_id: Mapped[int] = mapped_column(sa.ForeignKey("report_run.id", ondelete="CASCADE"), primary_key=True)
    #: The table's position in the report (0, 1, ...).
    table_index: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    #: The page number, from 1, at the page size the report was stored with (the head says it).
    page_no: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    #: The page's rows as JSON (``runs.dump_report``'s cells).
    rows: Mapped[list] = mapped_column(sa.JSON)
    #: The patients the page's rows name (for the "view" audit event of that page).
    patient_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
