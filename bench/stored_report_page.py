"""What one page of a stored long report costs to read: a synthetic hours report of N rows.

    .venv/bin/python bench/stored_report_page.py [--rows 30000] [--repeat 5] [--database-url URL]

Builds a synthetic finished hours report (a per-track table and N listed patients, cells
like the real report's) in a scratch database (a temporary SQLite file unless
``--database-url`` names an EMPTY scratch database: its tables are created and dropped),
stores it as the worker does (``runs.run``), then reads page 1, a middle page and the last
page as the report page does, and prints the median wall time and statements per read.
It never touches a shared clinic.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def synthetic(rows: int):
    from clinic.services.reports import Column, PAGE_SIZE, Report, Table
    from clinic.services.page_window import PageWindow

    tracks = Table("tracks", "Per track", tuple(Column(c) for c in ("Track", "Minimum", "Enrolled", "Part",
                                                                     "Whole", "Part listed")))
    tracks.rows = [(f"Track {t}", "9 h on 3 day(s)", 1000, 10, 100, 5) for t in range(8)]
    patients = Table("patients", "Patients below the minimum",
                     tuple(Column(c, k) for c, k in (("Patient", "text"), ("Track", "text"), ("Counselor", "text"),
                                                     ("Enrolled", "text"), ("Attended", "hours"), ("Days", "int"),
                                                     ("Minimum", "hours"), ("Min days", "int"), ("Short", "hours"))),
                     paged=True)
    patients.rows = [(f"Surname{n:06d}, Given{n}", f"Track {n % 8}", "Counselor Name", "whole week",
                      2.5, 1, 9.0, 3, 6.5) for n in range(rows)]
    patients.row_patients = list(range(1, rows + 1)) if hasattr(patients, "row_patients") else None

    def build(filters, user, *, everything=False):
        table = patients
        ids = list(range(1, rows + 1))
        if not everything:
            window = PageWindow.of(filters.page, rows, PAGE_SIZE)
            table = Table(**{**patients.__dict__, "rows": patients.rows[window.offset:window.offset + window.size],
                             "window": window})
            ids = ids[window.offset:window.offset + window.size]
        return Report(key="hours", title="Hours against the minimum", period="a week", notes=["synthetic"],
                      tables=[tracks, table], patient_ids=ids, filters={"week": "2026-11-02"})

    return build


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)

    from clinic import create_app
    from clinic.extensions import db
    from clinic.models import ReportRun, StaffUser
    from clinic.services.reports import PAGE_SIZE, hours, runs
    from clinic.admin import reports as report_pages

    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    app = create_app({"ENVIRON": {"CLINIC_ENV": "testing", "SECRET_KEY": "stored-report-bench",
                                  "DATABASE_URL": url, "CLINIC_REQUIRE_2FA": "none"}, "TESTING": True})
    lines = [f"{args.rows} rows, {PAGE_SIZE} a page", "| page | statements | p50 ms |", "| --- | ---: | ---: |"]
    with app.app_context():
        db.create_all()
        try:
            owner = StaffUser(email="bench@clinic.example", full_name="Bench", role="admin", password_hash="x")
            db.session.add(owner)
            db.session.flush()
            record = ReportRun(owner_id=owner.id, kind="hours", request_key="bench", active_key="bench",
                               filters={"week": "2026-11-02"}, state="queued", message="")
            db.session.add(record)
            db.session.commit()
            hours.build, kept = synthetic(args.rows), hours.build
            try:
                began = time.perf_counter()
                assert runs.run(record.id)
                lines.insert(1, f"stored in {time.perf_counter() - began:.1f} s")
            finally:
                hours.build = kept
            last = -(-args.rows // PAGE_SIZE)
            for page in (1, last // 2, last):
                spent, count = [], 0

                def counter(*_a, **_k):
                    nonlocal count
                    count += 1

                for _ in range(args.repeat):
                    db.session.expire_all()
                    count = 0
                    sa.event.listen(db.engine, "before_cursor_execute", counter)
                    began = time.perf_counter()
                    try:
                        if hasattr(runs, "page_of"):
                            shown = runs.page_of(owner, record.id, page)
                        else:
                            shown = report_pages._page_of(runs.report_of(owner, record.id), page)
                    finally:
                        sa.event.remove(db.engine, "before_cursor_execute", counter)
                    spent.append(time.perf_counter() - began)
                    db.session.rollback()
                assert shown.tables[1].window.number == page and len(shown.tables[1].rows) <= PAGE_SIZE
                lines.append(f"| {page} | {count} | {statistics.median(spent) * 1000:.1f} |")
        finally:
            db.session.rollback()
            db.drop_all()
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
