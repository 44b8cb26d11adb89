"""Whole-clinic reports too big for a request: computed by a background worker, stored, shown.

A report request is its kind, its filters and the viewer's scope. ``inline`` decides how
it is answered:

- a counselor's report (their caseload) and a small clinic's report are computed in the
  request, as always;
- an admin's or planner's report of a clinic whose tables hold at least
  ``CLINIC_REPORT_JOB_ROWS`` rows (``estimate``: PostgreSQL's own row estimate of the
  tables the report reads, one statement; on SQLite a count bounded by the threshold) is
  a ``ReportRun`` (``models/report_runs.py``) computed by a worker of the job queue
  (``clinic/jobs.py``).

``ask`` answers a request with the owner's run for it: a run still queued or running is
joined (the same request never starts a second one: the unique (owner, active_key) pair
holds across app servers); a finished run younger than ``CLINIC_REPORT_FRESH_MINUTES``
is reused; otherwise a new run is started. The worker (``run``) claims the run atomically,
builds the report with the same builder the page uses (as the owner, every row:
``everything=True``) and stores it as JSON in two parts (``split_report``): the head
(figures, chart, notes, columns and row counts, small tables whole) in ``ReportRun.result``
and each long (paged) table's rows in pages of ``PAGE_SIZE`` rows (``ReportRunPage``).
``page_of`` gives the owner one page of it, as the inline page shows it, reading the head
and that page only (the same statements and bytes whatever the report's length); its
``patient_ids`` are the patients of the rows shown, as inline. ``report_of`` gives the whole
report (every page, in order) for the files.

A run is never left spinning: a run queued or running for longer than
``CLINIC_REPORT_STALE_SECONDS`` (its worker died, its message was lost, or it took too
long) fails with a plain message when anyone looks at it and at the periodic recovery;
a builder's error fails it too. Stored results name patients: ``purge_expired`` deletes
runs finished more than ``CLINIC_REPORT_KEEP_MINUTES`` ago.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import ReportRun, ReportRunPage, StaffUser
from ...models._types import utcnow
from ..access import sees_everyone
from ..page_window import PageWindow
from . import Column, Report, ReportFilters, ReportKind, Table, kind as find_kind

log = logging.getLogger(__name__)

FAILED_MESSAGE = ("The report could not be computed. Nothing was changed; please ask for it again, "
                  "or tell an administrator if it keeps failing.")
LOST_MESSAGE = ("The report was not finished in time: the report worker stopped or the report took too long. "
                "Please ask for it again, or tell an administrator if it keeps happening.")
QUEUE_MESSAGE = ("The report could not be started: the job queue is not answering. "
                 "Please try again later or tell an administrator.")


@dataclasses.dataclass(frozen=True)
class RunStatus:
    """What the owner of a run may know about it (no patient data)."""

    id: int
    kind: str
    state: str
    message: str
    filters: dict
    created_at: datetime
    finished_at: datetime | None
    #: The finished report is younger than ``CLINIC_REPORT_FRESH_MINUTES``.
    fresh: bool

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")


def _settings() -> tuple[int, timedelta, timedelta, timedelta]:
    config = current_app.config
    return (int(config.get("CLINIC_REPORT_JOB_ROWS", 100_000)),
            timedelta(minutes=int(config.get("CLINIC_REPORT_FRESH_MINUTES", 5))),
            timedelta(seconds=int(config.get("CLINIC_REPORT_STALE_SECONDS", 600))),
            timedelta(minutes=int(config.get("CLINIC_REPORT_KEEP_MINUTES", 60))))


# Which door ---------------------------------------------------------------------------------
def estimate(tables: tuple[str, ...], at_least: int) -> int:
    """About how many rows ``tables`` hold, in one statement whatever their size.

    PostgreSQL: the planner's estimate (``pg_class.reltuples``, kept by ANALYZE and
    autovacuum; a table never analysed counts its size in bytes / 100). SQLite: the rows of the first table, counted up to ``at_least`` only.
    """
    if not tables:
        return 0
    if db.session.get_bind().dialect.name == "postgresql":
        return int(db.session.execute(sa.text(
            # A table never analysed (reltuples -1) is judged by its size: about 100 bytes a row.
            "SELECT coalesce(sum(CASE WHEN reltuples >= 0 THEN reltuples "
            "ELSE pg_relation_size(oid) / 100 END), 0) FROM pg_class "
            "WHERE relkind = 'r' AND relname IN :names AND pg_table_is_visible(oid)"
        ).bindparams(sa.bindparam("names", expanding=True)), {"names": list(tables)}).scalar() or 0)
    table = sa.table(tables[0])
    bounded = sa.select(sa.literal(1)).select_from(table).limit(at_least).subquery()
    return int(db.session.execute(sa.select(sa.func.count()).select_from(bounded)).scalar() or 0)


def inline(found: ReportKind, user) -> bool:
    """True when ``user``'s ``found`` report is computed in the request (see the module docstring)."""
    if not sees_everyone(user):
        return True  # a caseload: small, and flat as the clinic grows
    threshold, _, _, _ = _settings()
    if threshold == 0:
        return False
    return estimate(found.reads, threshold) < threshold


def normal_filters(found: ReportKind, filters: ReportFilters) -> dict:
    """The filters that make the report (never the page shown), as plain values."""
    chosen = ({"week": filters.week.isoformat()} if found.takes == "week"
              else {"from": filters.start.isoformat(), "to": filters.end.isoformat()})
    if filters.track_id is not None:
        chosen["track"] = filters.track_id
    return chosen


def request_key(found: ReportKind, filters: ReportFilters, user) -> str:
    """``hours|everyone|{"week": "2026-11-02"}``: what, for whom, with which filters."""
    scope = "everyone" if sees_everyone(user) else "caseload"
    return f"{found.key}|{scope}|{json.dumps(normal_filters(found, filters), sort_keys=True)}"


def _filters_of(chosen: dict) -> ReportFilters:
    start = date.fromisoformat(chosen.get("from") or chosen.get("week"))
    end = date.fromisoformat(chosen.get("to") or chosen.get("week"))
    week = date.fromisoformat(chosen.get("week") or chosen.get("from"))
    return ReportFilters(start=start, end=end, week=week, track_id=chosen.get("track"))


def _status(run: ReportRun, now: datetime | None = None) -> RunStatus:
    _, fresh, _, _ = _settings()
    now = now or utcnow()
    return RunStatus(id=run.id, kind=run.kind, state=run.state, message=run.message or "",
                     filters=dict(run.filters or {}), created_at=run.created_at, finished_at=run.finished_at,
                     fresh=run.state == "done" and run.finished_at is not None and run.finished_at >= now - fresh)


# Asking -------------------------------------------------------------------------------------
def ask(user: StaffUser, found: ReportKind, filters: ReportFilters) -> RunStatus:
    """``user``'s run for this report: the one running (joined), a fresh finished one, or a new one.

    Commits. With the in-process queue (``immediate``, tests) a new run has run when this returns.
    """
    key = request_key(found, filters, user)
    latest = db.session.scalars(
        sa.select(ReportRun).where(ReportRun.owner_id == user.id, ReportRun.request_key == key)
        .order_by(ReportRun.created_at.desc(), ReportRun.id.desc()).limit(1)).first()
    if latest is not None and latest.state in ("queued", "running"):
        _fail_if_lost(latest)
    if latest is not None and (latest.state in ("queued", "running") or _status(latest).fresh):
        return _status(latest)
    return _start(user, found, filters, key)


def _start(user: StaffUser, found: ReportKind, filters: ReportFilters, key: str) -> RunStatus:
    run = ReportRun(owner_id=user.id, kind=found.key, request_key=key, active_key=key,
                    filters=normal_filters(found, filters), state="queued", message="")
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:
        # The same request from another tab or app server a moment ago: join it.
        db.session.rollback()
        joined = db.session.scalars(sa.select(ReportRun).where(ReportRun.owner_id == user.id,
                                                               ReportRun.active_key == key)).first()
        if joined is None:
            raise
        return _status(joined)
    run_id = run.id
    from ... import jobs

    try:
        jobs.enqueue_report(run_id)
    except Exception as exc:  # noqa: BLE001 - the queue is down: the run fails plainly
        db.session.rollback()
        log.error("report run %s: the queue could not be reached: %s", run_id, type(exc).__name__)
        _finish(run_id, "failed", message=QUEUE_MESSAGE)
    db.session.expire_all()
    return _status(db.session.get(ReportRun, run_id))


def _owned(user, run_id) -> ReportRun | None:
    run = db.session.get(ReportRun, run_id) if isinstance(run_id, int) and 0 < run_id < 2**31 else None
    if run is None or user is None or run.owner_id != getattr(user, "id", None):
        return None  # not yours looks like not there
    return run


def status(user, run_id: int) -> RunStatus | None:
    """The status of ``user``'s run ``run_id`` (a lost run is failed first); None when not theirs."""
    run = _owned(user, run_id)
    if run is None:
        return None
    if run.state in ("queued", "running") and _fail_if_lost(run):
        db.session.refresh(run)
    return _status(run)


def _head(user, run_id: int) -> dict | None:
    run = _owned(user, run_id)
    if run is None or run.state != "done":
        return None
    return db.session.scalar(sa.select(ReportRun.result).where(ReportRun.id == run.id))


def report_of(user, run_id: int) -> Report | None:
    """The whole stored report of ``user``'s finished run (every row: the files); None when not
    theirs, not done or purged. The pages are read in order, in one statement."""
    head = _head(user, run_id)
    if head is None:
        return None
    rows: dict[int, list] = {}
    patients = set(head["patient_ids"])
    for page in db.session.execute(
            sa.select(ReportRunPage.table_index, ReportRunPage.rows, ReportRunPage.patient_ids)
            .where(ReportRunPage.run_id == run_id)
            .order_by(ReportRunPage.table_index, ReportRunPage.page_no)).yield_per(100):
        rows.setdefault(page.table_index, []).extend(page.rows)
        patients.update(page.patient_ids)
    report = load_report(head, rows)
    report.patient_ids = sorted(int(i) for i in patients)
    return report


def page_of(user, run_id: int, page) -> Report | None:
    """Page ``page`` of ``user``'s stored report, as the inline page shows it: the head and one page
    of each long table (a page past the end shows the last, as inline); its ``patient_ids`` are the
    patients of the rows shown. None when not theirs, not done or purged."""
    head = _head(user, run_id)
    if head is None:
        return None
    windows, rows, patients = {}, {}, set(head["patient_ids"])  # those no page names, and the page's
    for index, table in enumerate(head["tables"]):
        if not table.get("paged"):
            continue
        window = PageWindow.of(page, int(table["total"]), int(head["page_size"]))
        windows[index] = window
        stored = db.session.execute(sa.select(ReportRunPage.rows, ReportRunPage.patient_ids).where(
            ReportRunPage.run_id == run_id, ReportRunPage.table_index == index,
            ReportRunPage.page_no == window.number)).first()
        rows[index] = list(stored.rows) if stored is not None else []
        patients.update(stored.patient_ids if stored is not None else ())
    report = load_report(head, rows, windows)
    report.patient_ids = sorted(int(i) for i in patients)
    return report


# The worker ---------------------------------------------------------------------------------
def run(run_id: int) -> bool:
    """Compute run ``run_id`` if it is still queued (the worker's task); True if this call stored it."""
    claimed = db.session.execute(
        sa.update(ReportRun).where(ReportRun.id == run_id, ReportRun.state == "queued")
        .values(state="running", started_at=utcnow()).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        db.session.rollback()
        return False  # a duplicate message, or already failed
    db.session.commit()
    record = db.session.get(ReportRun, run_id)
    owner = db.session.get(StaffUser, record.owner_id) if record.owner_id is not None else None
    found = find_kind(record.kind)
    started = record.started_at
    try:
        if owner is None or found is None:
            raise LookupError("owner or report gone")
        filters = _filters_of(dict(record.filters or {}))
        report = found.build(filters, owner, everything=True) if found.pages else found.build(filters, owner)
        head, pages = split_report(report, _page_size())
    except Exception as exc:  # noqa: BLE001 - any failure is reported plainly, never left running
        db.session.rollback()
        log.warning("report run %s failed: %s", run_id, type(exc).__name__)
        _finish(run_id, "failed", message=FAILED_MESSAGE)
        return False
    db.session.rollback()  # the builder only read
    try:
        return _finish(run_id, "done", result=head, pages=pages, started=started)
    except Exception as exc:  # noqa: BLE001 - a result that cannot be stored fails the run plainly
        db.session.rollback()
        log.warning("report run %s could not be stored: %s", run_id, type(exc).__name__)
        _finish(run_id, "failed", message=FAILED_MESSAGE, started=started)
        return False


def _finish(run_id: int, state: str, *, message: str = "", result: dict | None = None,
            pages: list[dict] | None = None, started: datetime | None = None) -> bool:
    where = [ReportRun.id == run_id, ReportRun.state.in_(("queued", "running"))]
    if started is not None:
        where.append(ReportRun.started_at == started)  # this claim's, not a run failed as lost meanwhile
    ended = db.session.execute(
        sa.update(ReportRun).where(*where)
        .values(state=state, message=message[:400], result=result, finished_at=utcnow(), active_key=None)
        .execution_options(synchronize_session=False))
    if ended.rowcount == 1 and pages:  # stored with the head, in the same transaction
        db.session.execute(sa.insert(ReportRunPage), [{"run_id": run_id, **p} for p in pages])
    db.session.commit()
    return ended.rowcount == 1


def _fail_if_lost(run: ReportRun, now: datetime | None = None) -> bool:
    """Fail ``run`` if it has been queued or running longer than ``CLINIC_REPORT_STALE_SECONDS``."""
    _, _, stale, _ = _settings()
    since = run.started_at or run.created_at
    if since is None or since >= (now or utcnow()) - stale:
        return False
    return _finish(run.id, "failed", message=LOST_MESSAGE)


def recover(now: datetime | None = None) -> int:
    """Fail every run queued or running for longer than ``CLINIC_REPORT_STALE_SECONDS``; returns how many."""
    _, _, stale, _ = _settings()
    limit = (now or utcnow()) - stale
    ended = db.session.execute(
        sa.update(ReportRun)
        .where(ReportRun.state.in_(("queued", "running")),
               sa.func.coalesce(ReportRun.started_at, ReportRun.created_at) < limit)
        .values(state="failed", message=LOST_MESSAGE, finished_at=utcnow(), active_key=None)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return ended.rowcount


def purge_expired(now: datetime | None = None) -> int:
    """Delete runs (and their stored reports) finished more than ``CLINIC_REPORT_KEEP_MINUTES`` ago."""
    _, _, _, keep = _settings()
    expired = sa.select(ReportRun.id).where(ReportRun.state.in_(("done", "failed")),
                                            ReportRun.finished_at < (now or utcnow()) - keep)
    # The pages go with their run (ON DELETE CASCADE too; said here so no backend keeps them).
    db.session.execute(sa.delete(ReportRunPage).where(ReportRunPage.run_id.in_(expired)))
    gone = db.session.execute(sa.delete(ReportRun).where(ReportRun.id.in_(expired)))
    db.session.commit()
    return gone.rowcount


# The stored form ----------------------------------------------------------------------------
def _chart_classes() -> dict[str, type]:
    from ..chart import Tick
    from .census import CensusChart, Line

    return {"CensusChart": CensusChart, "Line": Line, "Tick": Tick}


def _dump(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime):
        return {"~datetime": value.isoformat()}
    if isinstance(value, date):
        return {"~date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"~decimal": str(value)}
    if isinstance(value, (list, tuple)):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {"~dict": {str(k): _dump(v) for k, v in value.items()}}
    name = type(value).__name__
    if dataclasses.is_dataclass(value) and name in _chart_classes():
        return {"~chart": name, **{f.name: _dump(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    raise TypeError(f"a report cannot hold a {name}")


def _load(value):
    if isinstance(value, list):
        return tuple(_load(v) for v in value)
    if not isinstance(value, dict):
        return value
    if "~datetime" in value:
        return datetime.fromisoformat(value["~datetime"])
    if "~date" in value:
        return date.fromisoformat(value["~date"])
    if "~decimal" in value:
        return Decimal(value["~decimal"])
    if "~dict" in value:
        return {k: _load(v) for k, v in value["~dict"].items()}
    if "~chart" in value:
        cls = _chart_classes()[value["~chart"]]
        return cls(**{k: _load(v) for k, v in value.items() if k != "~chart"})
    raise ValueError("not a stored report value")


def _load_row(row: list) -> tuple:
    """A table row: plain cells as they are (the fast path: a long table has tens of thousands)."""
    return tuple(_load(v) if isinstance(v, (dict, list)) else v for v in row)


def _page_size() -> int:
    from . import PAGE_SIZE  # read when used (the tests lower it)

    return PAGE_SIZE


def split_report(report: Report, size: int) -> tuple[dict, list[dict]]:
    """``report`` (built whole) as its head and its long tables' pages of ``size`` rows.

    The head is ``dump_report`` with each paged table's rows left out (its ``total`` said) and
    its ``patient_ids`` only those no page names; each page is ``{"table_index", "page_no",
    "rows", "patient_ids"}`` (the patients of its rows, ``Table.row_patients``).
    """
    head = dump_report(report)
    head["page_size"] = size
    pages, paged_patients = [], set()
    for index, (table, stored) in enumerate(zip(report.tables, head["tables"])):
        if not table.paged:
            continue
        rows, stored["rows"], stored["total"] = stored["rows"], [], len(stored["rows"])
        for start in range(0, len(rows), size):
            named = table.row_patients[start:start + size] if table.row_patients is not None else ()
            paged_patients.update(int(i) for i in named)
            pages.append({"table_index": index, "page_no": start // size + 1, "rows": rows[start:start + size],
                          "patient_ids": sorted({int(i) for i in named})})
    head["patient_ids"] = [i for i in head["patient_ids"] if i not in paged_patients]
    return head, pages


def dump_report(report: Report) -> dict:
    """``report`` as JSON-able values: every table with every row (a page's window is not kept)."""
    return {
        "key": report.key, "title": report.title, "period": report.period, "notes": list(report.notes),
        "chart": _dump(report.chart), "patient_ids": [int(i) for i in report.patient_ids],
        "filters": _dump(report.filters),
        "tables": [{"key": t.key, "title": t.title, "columns": [[c.label, c.kind] for c in t.columns],
                    "rows": [_dump(row) for row in t.rows], "empty": t.empty,
                    "footer": _dump(t.footer), "noun": t.noun, "paged": t.paged} for t in report.tables],
    }


def load_report(data: dict, rows: dict[int, list] | None = None,
                windows: dict[int, PageWindow] | None = None) -> Report:
    """The ``Report`` ``dump_report`` stored; ``rows``: a long table's rows read from its pages
    (by table index), ``windows``: which page of it they are (the page view)."""
    rows, windows = rows or {}, windows or {}
    tables = [Table(key=t["key"], title=t["title"], columns=tuple(Column(label, kind) for label, kind in t["columns"]),
                    rows=[_load_row(row) for row in rows.get(i, t["rows"])], empty=t["empty"],
                    footer=_load(t["footer"]), noun=t["noun"], paged=bool(t.get("paged")), window=windows.get(i))
              for i, t in enumerate(data["tables"])]
    return Report(key=data["key"], title=data["title"], period=data["period"], notes=list(data["notes"]),
                  tables=tables, chart=_load(data["chart"]), patient_ids=list(data["patient_ids"]),
                  filters=_load(data["filters"]))


__all__ = ["RunStatus", "ask", "dump_report", "estimate", "inline", "load_report", "normal_filters", "page_of",
           "purge_expired", "recover", "report_of", "request_key", "run", "split_report", "status"]
