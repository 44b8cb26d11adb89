"""The scale benchmark (bench/scale.py) still fills a clinic and measures every page.

A tiny run (300 attendance rows, one timed request per page) on PostgreSQL, so the script
cannot rot silently when the schema or the pages change. It is not a timing test.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import uuid
from datetime import date, datetime, timedelta
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
    "outcome measures list", "measure page (PHQ-9 with items)", "safety tasks", "safety task page",
    "connectedness page", "calendar feeds page", "census report (28 days)", "hours report (last week)",
    "utilisation report (28 days)", "exercises report (28 days)", "outcomes report (28 days)",
)
ADMIN_ONLY = (
    "Records to finish", "audit list, first page", "audit list, last page", "audit list, sorted",
    "audit list, search", "assign-an-exercise form", "assign to a whole track (POST)",
    "measure page, corrected by addendum",
)
COUNSELOR_ONLY = ("calendar feed (.ics, 490 days)", "session record, open (12 people)",
                  "session record, save (12 people)")


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

    _the_top_up_is_consistent(bench, scratch_url, plan)
    # A kept clinic is topped up once: run again, nothing is added.
    assert bench.top_up(scratch_url) is False
    again = bench.load_plan(scratch_url, 300).counts
    for table in ("measure_administration", "measure_item", "safety_task", "connectedness_rating"):
        assert again[table] == plan.counts[table], table

    _a_large_track_is_timed_starting_its_job(bench, scratch_url)


def _a_large_track_is_timed_starting_its_job(bench, url):
    """Above CLINIC_TRACK_ASSIGN_JOB_ABOVE the whole-track POST answers 303 (the job started);
    the bench then works the job off, so the next round is no duplicate and the job is done."""
    measured = bench.Measured(url, 300)
    try:
        measured.app.config["CLINIC_TRACK_ASSIGN_JOB_ABOVE"] = 0
        page = measured.pages[("assign to a whole track (POST)", "admin")]
        for _round in range(2):
            client = measured.clients["admin"]
            data = page.data(client)
            answer = client.open(page.url, method="POST", data=data)
            assert answer.status_code == 303 and "/admin/assign/jobs/" in answer.headers["Location"]
            measured.run_jobs()
            assert "already had it active" in client.get(answer.headers["Location"]).get_data(as_text=True)
        statements, elapsed = measured.request(page)  # the bench's own request, 303 accepted
        assert statements > 0 and elapsed > 0
    finally:
        measured.close()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        states = conn.execute(sa.text("SELECT state FROM print_job WHERE kind = 'track_assign'")).scalars().all()
    engine.dispose()
    assert states == ["done"] * 3


def _the_top_up_is_consistent(bench, url, plan):
    """The top-up's rows obey what the services and the database would have enforced."""
    from clinic.services import instruments

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        one = lambda sql, **kw: conn.execute(sa.text(sql), kw).scalar_one()  # noqa: E731
        assert plan.counts["measure_administration"] > 0 and plan.counts["connectedness_rating"] > 0
        assert one("SELECT count(*) FROM safety_task") >= 1
        # Every item of every administration, scored as the service scores it.
        items: dict[int, dict[int, int | None]] = {}
        for administration_id, number, answer in conn.execute(sa.text(
                "SELECT administration_id, item_number, answer FROM measure_item")):
            items.setdefault(administration_id, {})[number] = answer
        rows = conn.execute(sa.text(
            "SELECT m.id, m.instrument, m.total, m.prorated, m.band, m.administered_on, m.entered_at, m.signed_at,"
            " m.signed_by_id, e.start_date, e.end_date, m.patient_id = e.patient_id FROM measure_administration m"
            " JOIN enrolment e ON e.id = m.enrolment_id")).all()
        assert len(rows) == plan.counts["measure_administration"]
        for (mid, code, total, prorated, band, on, entered, signed_at, signed_by, start, end, same) in rows:
            scored = instruments.score(instruments.INSTRUMENTS[code], items[mid])
            assert (total, prorated, band) == (scored.total, scored.prorated, scored.band)
            assert same and start <= on <= (end or date.today()) and on <= date.today()
            assert entered <= datetime.now() and (signed_at is None) == (signed_by is None)
        # Each PHQ-9 with item 9 above 0 has its task with that answer, and only those.
        positive = {mid for mid, answers in items.items() if answers.get(9)}
        tasks = dict(conn.execute(sa.text("SELECT administration_id, item9_answer FROM safety_task")).all())
        assert set(tasks) == positive and all(tasks[mid] == items[mid][9] for mid in positive)
        # The measured patient's open task is the one the bench requests; older ones are assessed.
        assert one("SELECT patient_id FROM safety_task WHERE id = :id AND closed_at IS NULL",
                   id=plan.safety_task_id) == plan.patient_id
        assert one("SELECT count(*) FROM safety_task WHERE closed_at IS NULL AND opened_at < now() - interval '4 days'"
                   " AND id <> :id", id=plan.safety_task_id) == 0
        # Addenda correct signed measures, with every item's answer and the rescored total.
        for administration_id, answers, total, signed_at, code in conn.execute(sa.text(
                "SELECT d.administration_id, d.answers, d.total, m.signed_at, m.instrument FROM measure_addendum d"
                " JOIN measure_administration m ON m.id = d.administration_id")):
            corrected = {int(n): v for n, v in answers.items()}
            assert signed_at is not None and set(corrected) == set(items[administration_id])
            assert instruments.score(instruments.INSTRUMENTS[code], corrected).total == total
        # No row points at nothing (the load skipped the foreign-key triggers).
        for child, column, parent in (("measure_item", "administration_id", "measure_administration"),
                                      ("measure_addendum", "administration_id", "measure_administration"),
                                      ("safety_task", "administration_id", "measure_administration"),
                                      ("safety_task", "patient_id", "patient"),
                                      ("safety_task", "counselor_id", "staff_user"),
                                      ("connectedness_rating", "patient_id", "patient"),
                                      ("connectedness_rating", "recorded_by_id", "staff_user"),
                                      ("measure_administration", "entered_by_id", "staff_user")):
            assert one(f"SELECT count(*) FROM {child} c WHERE c.{column} IS NOT NULL AND NOT EXISTS"
                       f" (SELECT 1 FROM {parent} p WHERE p.id = c.{column})") == 0, (child, column)
        # A connectedness answer only for weeks the patient was enrolled in.
        assert one("SELECT count(*) FROM connectedness_rating r WHERE NOT EXISTS (SELECT 1 FROM enrolment e"
                   " WHERE e.patient_id = r.patient_id AND e.start_date <= r.week_start + 6"
                   " AND coalesce(e.end_date, current_date) >= r.week_start)") == 0
        # The feed was made through the service (audited); only its token's hash is stored.
        assert one("SELECT count(*) FROM calendar_feed WHERE token_hash = :h AND revoked_at IS NULL",
                   h=hashlib.sha256(plan.feed_token.encode()).hexdigest()) == 1
        assert one("SELECT count(*) FROM audit_event WHERE entity = 'calendar_feed' AND action = 'create'") == 1
        # Sequences continue after the loaded rows: the next measure the app saves gets a fresh id.
        assert one("SELECT nextval(pg_get_serial_sequence('measure_administration', 'id'))") > len(rows)
    engine.dispose()


def test_the_top_up_measures_are_deterministic_scored_and_never_miss_item_9():
    bench = _bench()
    from clinic.services import instruments

    today = date(2026, 12, 3)
    now = datetime(2026, 12, 3, 12, 0)
    stint = bench.Stint(id=7, patient_id=3, track="inpatient", start=today - timedelta(days=100), end=None,
                        counselor_id=2)
    first = list(bench.measure_rows(stint, today, now, seed=1))
    assert first == list(bench.measure_rows(stint, today, now, seed=1))
    days = sorted({row[1] for row in first})
    assert days[0] == stint.start and all((b - a).days == bench.MEASURE_EVERY for a, b in zip(days, days[1:]))
    assert {row[0] for row in first} == {"phq9", "gad7"} and len(first) == 2 * len(days)
    for code, _day, mode, _difficulty, answers, score, entered, signed_at, _addendum in first:
        assert score == instruments.score(instruments.INSTRUMENTS[code], answers)
        assert code != "phq9" or answers[9] is not None
        assert entered < now and (signed_at is None or entered <= signed_at <= now)
        assert mode in ("in_person", "paper", "phone")
    # The measured patient's latest PHQ-9 answers item 9 above 0 (its task is the one measured).
    forced = list(bench.measure_rows(stint, today, now, seed=1, force_item9=True))
    assert [r for r in forced if r[0] == "phq9"][-1][4][9] == 1
    # An ended enrolment stops its measures; a week's connectedness answers fall on Mondays within it.
    ended = bench.Stint(id=8, patient_id=4, track="iop", start=today - timedelta(days=90),
                        end=today - timedelta(days=30), counselor_id=2)
    assert max(row[1] for row in bench.measure_rows(ended, today, now, seed=1)) <= ended.end
    weeks = list(bench.connectedness_weeks(ended, today, seed=1))
    assert weeks and all(m.weekday() == 0 and m <= ended.end and 0 <= r <= 10 for m, r, _at in weeks)


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
