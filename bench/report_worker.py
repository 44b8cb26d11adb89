"""What the report worker takes: each whole-clinic report built as a worker builds it.

    .venv/bin/python bench/report_worker.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/s11_10000000 [--repeat 3]

For each report (``services.reports.kinds``) it builds the report the way the worker does
(``runs.run``: as an admin, every row, ``everything=True``) with the default filters (the
last four weeks; the last complete week) and its JSON form (``runs.dump_report``), and prints
the median wall time, the statements, the rows of the tables and the size of the stored JSON.
It only reads (every build is rolled back), so it may be pointed at a shared clinic at any
schema from 0027 on.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="")
    args = parser.parse_args(argv)

    from clinic import create_app
    from clinic.extensions import db
    from clinic.models import StaffUser
    from clinic.services.reports import kinds, parse_filters, runs

    app = create_app({"ENVIRON": {"CLINIC_ENV": "testing", "SECRET_KEY": "report-worker-bench",
                                  "DATABASE_URL": args.database_url, "CLINIC_REQUIRE_2FA": "none"},
                      "TESTING": True})
    lines = ["| report | statements | p50 s | rows | stored JSON kB |", "| --- | ---: | ---: | ---: | ---: |"]
    with app.app_context():
        admin = db.session.scalars(sa.select(StaffUser).where(StaffUser.role == "admin").limit(1)).one()
        filters = parse_filters({})
        for found in kinds():
            if args.only and args.only not in found.key:
                continue
            spent, count = [], 0

            def counter(*_a, **_k):
                nonlocal count
                count += 1

            for _ in range(args.repeat):
                count = 0
                sa.event.listen(db.engine, "before_cursor_execute", counter)
                began = time.perf_counter()
                try:
                    report = found.build(filters, admin, everything=True) if found.pages \
                        else found.build(filters, admin)
                    stored = json.dumps(runs.dump_report(report))
                finally:
                    sa.event.remove(db.engine, "before_cursor_execute", counter)
                    db.session.rollback()
                spent.append(time.perf_counter() - began)
            rows = sum(len(t.rows) for t in report.tables)
            lines.append(f"| {found.key} | {count} | {statistics.median(spent):.2f} | {rows:,} | "
                         f"{len(stored) / 1024:.0f} |")
            print(lines[-1], file=sys.stderr)
    out = "\n".join(lines)
    print(out)
    return out


if __name__ == "__main__":
    main()
