"""The scale benchmark (bench/scale.py) still fills a clinic and measures every page.

A tiny run (300 attendance rows, one timed request per page) on PostgreSQL, so the script
cannot rot silently when the schema or the pages change. It is not a timing test.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import PG_ADMIN_URL, missing

BENCH = Path(__file__).resolve().parent.parent / "bench" / "scale.py"
PAGES = (
    "attendance list, first page", "attendance list, last page", "attendance list, sorted",
    "check-in list, first page", "check-in list, last page", "check-in list, search",
    "assignment list", "assignment list, search",
    "session list, last page", "session list, sorted", "session list, search",
    "patient list", "patient list, search", "patient page", "group page", "track page",
    "week planner", "My day", "home",
)
ADMIN_ONLY = (
    "Records to finish", "audit list, first page", "audit list, last page", "audit list, sorted",
    "audit list, search", "assign-an-exercise form", "assign to a whole track (POST)",
)
COUNSELOR_ONLY = ("session record, open (12 people)", "session record, save (12 people)")


def _bench():
    spec = importlib.util.spec_from_file_location("bench_scale", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def scratch_url():
    try:
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not available"
        missing("PostgreSQL")
    name = f"clinic_scale_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    yield admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_a_tiny_run_fills_the_clinic_and_measures_every_page_as_admin_and_counselor(scratch_url):
    bench = _bench()
    plan, results = bench.run_size(300, scratch_url, keep=True, repeat=1)  # the fixture drops it

    assert plan.counts["attendance"] >= 250
    assert plan.counts["audit_event"] >= 2 * plan.counts["attendance"]
    assert plan.counts["exercise_checkin"] > 0.8 * plan.counts["attendance"]
    expected = ({(page, role) for page in PAGES for role in ("admin", "counselor")}
                | {(page, "admin") for page in ADMIN_ONLY} | {(page, "counselor") for page in COUNSELOR_ONLY})
    assert set(results) == expected
    for (page, role), (statements, p50, p95) in results.items():
        assert statements > 0, f"{page} as {role} ran no SQL"
        assert 0 < p50 <= p95
    # The record save went through: the session's group note is the benchmark's.
    engine = sa.create_engine(scratch_url)
    with engine.connect() as conn:
        note = conn.execute(sa.text("SELECT group_note FROM group_session WHERE id = :id"),
                            {"id": plan.record_session_id}).scalar_one()
        people = conn.execute(sa.text("SELECT count(*) FROM attendance WHERE session_id = :id"),
                              {"id": plan.record_session_id}).scalar_one()
        # The indexes dropped for the bulk load are all back (the same as the migrations made).
        indexes = set(conn.execute(sa.text(
            "SELECT indexname FROM pg_indexes WHERE tablename IN ('audit_event', 'attendance')")).scalars())
    engine.dispose()
    assert {"ix_audit_event_actor_email_trgm", "ix_audit_event_entity_id_trgm", "ix_audit_event_at",
            "ix_attendance_patient_recorded_at", "ix_attendance_session_id", "uq_attendance_session_patient"} <= indexes
    assert note.startswith("Noticing kindness")
    assert people == 12

    report = bench.table([(plan, results)])
    for page in PAGES + ADMIN_ONLY + COUNSELOR_ONLY:
        assert f"| {page} |" in report


def test_the_table_puts_sizes_side_by_side_with_each_ratio_to_the_smallest():
    bench = _bench()
    key = ("week planner", "admin")
    sizes = [(bench.Plan(rows=rows, counts={"attendance": rows}), {key: (7, p50, p50 * 2)})
             for rows, p50 in ((10_000, 10.0), (1_000_000, 12.5), (10_000_000, 19.0))]
    report = bench.table(sizes).splitlines()
    assert report[0] == ("| page | as | statements 10k / 1M / 10M | p50 10k ms | p50 1M ms | p50 10M ms "
                         "| ratio 1M | ratio 10M | p95 10k ms | p95 1M ms | p95 10M ms |")
    assert report[2] == "| week planner | admin | 7 / 7 / 7 | 10.0 | 12.5 | 19.0 | 1.25 | 1.90 | 20.0 | 25.0 | 38.0 |"
    assert "10,000,000 rows: 10,000,000 attendance" in report
