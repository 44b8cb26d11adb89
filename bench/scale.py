"""Scale benchmark: how every list and page behaves with a small and a large clinic.

    .venv/bin/python bench/scale.py --rows 10000 [--repeat 7]
    .venv/bin/python bench/scale.py --sizes 10000,1000000 [--repeat 7] [--keep]
    .venv/bin/python bench/scale.py --sizes 10000,1000000,10000000 --keep --prefix scale

1. Fill. For each size it creates the PostgreSQL database ``clinic_scale_<rows>`` next to
   ``TEST_DATABASE_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/``; or uses
   ``--database-url`` with ``--rows``), runs the real migrations (``flask db upgrade`` through
   the app factory, as the tests do), loads the reference catalogue through the services
   and then bulk-loads, with PostgreSQL ``COPY`` (psycopg 3 ``cursor.copy``), a realistic
   multi-site clinic scaled by ``rows`` (attendance rows): three tracks, groups of 12 places
   meeting three times a week over up to two years, counselors (one per two groups, who are
   primary counselors of their groups' patients: a caseload of about 24), planners, admins,
   patients (about 1 per 70 attendance rows) each with one stint in a group (enrolment,
   membership; about 30 % stepped down from a more intensive track first), sessions (past
   ones held and signed except the last week's, 2 % cancelled, two weeks planned ahead),
   attendance, exercise assignments, check-ins (about 0.94 per attendance row) and audit
   events (about 2.8 per attendance row). The load runs with
   ``SET session_replication_role = replica`` (the ``postgres`` superuser), which skips the
   triggers (signed-record guards of migration 0005, foreign-key checks) for the bulk rows
   only; the data is generated consistent with them. Indexes that back no constraint are
   dropped for the load and built again after it. Sequences are set after the load
   (``setval``) and everything is VACUUMed and ANALYZEd (as autovacuum would after a bulk load). ``--keep`` reuses a database filled earlier
   (and keeps it at the end; without it the database is dropped), first migrating it to the
   newest schema. ``--prefix`` names the databases (``<prefix>_<rows>``); ``--only REGEX``
   times just the pages whose name matches.
2. Measure. It starts the real app (``clinic.create_app``, ``CLINIC_REQUIRE_2FA=none``) on
   each size's database, logs in with the Flask test client as an admin and as a counselor
   with a normal caseload, and for each page requests it once per size to warm up, then
   ``--repeat`` rounds of one request per size in turn (the sizes side by side, so a busy
   moment of the machine falls on every size alike), recording p50 and p95 of the wall time
   and the number of SQL statements of one request (SQLAlchemy ``before_cursor_execute``).
   A large clinic's admin reports are computed by the report worker (``CLINIC_REPORT_JOB_ROWS``;
   the bench's queue is a SQLite file of its own): the warm-up request starts the run (303), the
   bench works it off as a worker would (untimed), and the timed requests are what a user waits
   for on the report's page once the worker is done
   (the stored result, fresh for ``CLINIC_REPORT_FRESH_MINUTES``). What the worker itself takes
   is measured by ``bench/report_worker.py``.
3. Report. A Markdown table: page, statements, p50 of each size, the ratio of each larger
   size's p50 to the smallest's, p95 of each size (one size alone: its figures only).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET_KEY = "scale-bench-only-secret"
PASSWORD = "scale bench horse battery"
SLOTS = 12  # places in a group: the people of one session
SESSIONS_PER_WEEK = 3
MAX_WEEKS = 104
SURNAMES = ("Okafor", "Lindqvist", "Moreau", "Tanaka", "Novak", "Haddad", "Fischer", "Romero", "Kowalski",
            "Nguyen", "Osei", "Brennan", "Silva", "Ivanova", "Mensah", "Keller", "Duarte", "Sato", "Quinn",
            "Petrov", "Abara", "Lund", "Varga", "Costa", "Reyes", "Holm", "Baker", "Adeyemi", "Marsh", "Ito")
GIVEN = ("Ada", "Bo", "Cy", "Di", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jo", "Kai", "Lea", "Max", "Nia", "Oli",
         "Pia", "Rui", "Sol", "Tia", "Uma", "Vic", "Wyn", "Yan", "Zoe")
SITES = ("North", "South", "East", "West", "Harbour", "Hill")
BULK_TABLES = ("staff_user", "patient", "enrolment", "care_group", "group_membership", "group_session",
               "attendance", "assignment", "exercise_checkin", "audit_event")


# Databases ------------------------------------------------------------------------------
def admin_engine() -> sa.Engine:
    return sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")


def database_url(rows: int, prefix: str = "clinic_scale") -> str:
    return admin_engine().url.set(database=f"{prefix}_{rows}").render_as_string(hide_password=False)


def make_app(url: str, job_queue: str = ""):
    from clinic import create_app

    return create_app({
        "ENVIRON": {"CLINIC_ENV": "testing", "SECRET_KEY": SECRET_KEY, "DATABASE_URL": url,
                    "CLINIC_REQUIRE_2FA": "none", **({"CLINIC_JOB_QUEUE": job_queue} if job_queue else {})},
        "TESTING": True, "WTF_CSRF_ENABLED": False, "SERVER_NAME": None,
    })


def recreate(url: str) -> None:
    engine = admin_engine()
    name = sa.engine.make_url(url).database
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def drop(url: str) -> None:
    engine = admin_engine()
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{sa.engine.make_url(url).database}" WITH (FORCE)'))
    engine.dispose()


def is_filled(url: str) -> bool:
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            filled = conn.execute(sa.text("SELECT count(*) FROM staff_user WHERE email = 'admin1@scale.example'"))
            return bool(filled.scalar())
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def libpq(url: str) -> str:
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# The fill -------------------------------------------------------------------------------
@dataclass
class Plan:
    """What the measurement needs to know about the filled clinic."""

    rows: int
    counselor: str = ""
    group_id: int = 0
    track_id: int = 0
    patient_id: int = 0
    record_session_id: int = 0
    assign_exercise_id: int = 0
    search_surname: str = SURNAMES[0]
    #: What the top-up made: the measured counselor's feed token, the measured patient's latest
    #: PHQ-9 (and open safety task), and a measure corrected by addendum.
    feed_token: str = ""
    measure_id: int = 0
    safety_task_id: int = 0
    corrected_measure_id: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    fill_seconds: float = 0.0


def drop_loose_indexes(cur, tables) -> list[tuple[str, str]]:
    """Drop the indexes of ``tables`` that back no constraint; (name, definition) to build them again."""
    cur.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " JOIN pg_class t ON t.oid = i.indrelid"
        " WHERE t.relname = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        (list(tables),),
    )
    rebuilt = cur.fetchall()
    for name, _definition in rebuilt:
        cur.execute(f"DROP INDEX {name}")
    return rebuilt


def fill(url: str, rows: int, seed: int = 20261202) -> None:
    """Migrate ``url`` and fill it with a clinic of about ``rows`` attendance rows."""
    import psycopg
    from flask_migrate import upgrade

    from clinic.extensions import db
    from clinic.services import accounts, audit, seeding

    app = make_app(url)
    with app.app_context():
        upgrade()
        with audit.acting_as(None, label="seed"):
            seeding.load_reference(commit=True)
        tracks = {row.code: (row.id, row.care_level) for row in db.session.execute(
            sa.text("SELECT id, code, care_level FROM track ORDER BY care_level"))}
        exercises_of: dict[int, list[int]] = {}
        for exercise_id, track_id in db.session.execute(
                sa.text("SELECT e.id, t.track_id FROM kindness_exercise e JOIN exercise_track t "
                        "ON t.exercise_id = e.id WHERE e.active ORDER BY e.id")):
            exercises_of.setdefault(track_id, []).append(exercise_id)
        password_hash = accounts.hash_password(PASSWORD)
        db.session.remove()
        db.engine.dispose()

    rnd = random.Random(seed)
    today = date.today()
    now = datetime.now().replace(microsecond=0)
    track_ids = [tracks[code][0] for code in ("inpatient", "intensive", "iop") if code in tracks]
    more_intensive = {track_ids[i]: track_ids[i - 1] for i in range(1, len(track_ids))}
    groups = max(3, round(rows / (SLOTS * SESSIONS_PER_WEEK * MAX_WEEKS)))
    per_group = max(2, math.ceil(rows / (groups * SLOTS * 0.97)))  # past sessions of each group
    counselors = max(2, math.ceil(groups / 2))
    planners = max(1, groups // 20)

    # Staff: ids 1.. admins, planners, counselors.
    staff: list[tuple] = []
    emails: dict[int, str] = {}
    for role, count in (("admin", 2), ("planner", planners), ("counselor", counselors)):
        for k in range(1, count + 1):
            sid = len(staff) + 1
            emails[sid] = f"{role}{k}@scale.example"
            staff.append((sid, emails[sid], f"{role.title()} {SURNAMES[k % len(SURNAMES)]} {k}", role,
                          password_hash, True, now - timedelta(days=800), None, 1))
    counselor_ids = [s[0] for s in staff if s[3] == "counselor"]
    admin_id = staff[0][0]

    conn = psycopg.connect(libpq(url), autocommit=False)
    cur = conn.cursor()
    cur.execute("SET session_replication_role = replica")
    # As a bulk load is done: the indexes that back no constraint are dropped for the load and
    # built again after it (one sort each instead of millions of index insertions; GIN
    # trigram indexes above all), in the same transaction.
    rebuilt = drop_loose_indexes(cur, BULK_TABLES)

    def copy(table: str, columns: str, rows_iter) -> int:
        n = 0
        with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as out:
            for row in rows_iter:
                out.write_row(row)
                n += 1
        return n

    copy("staff_user", "id, email, full_name, role, password_hash, is_active_account, created_at, "
         "last_login_at, version", staff)
    group_rows = []
    for g in range(groups):
        track_id = track_ids[g % len(track_ids)]
        code = next(c for c, (tid, _lvl) in tracks.items() if tid == track_id)
        group_rows.append((g + 1, f"{SITES[g % len(SITES)]} {code} group {g + 1}", track_id,
                           counselor_ids[g % counselors], f"Room {g % 9 + 1}", SLOTS, True, 1))
    copy("care_group", "id, name, track_id, facilitator_id, room, capacity, active, version", group_rows)

    # Sessions: each group meets on three weekdays; the last `per_group` past dates are held.
    sessions: list[tuple] = []  # (id, group, starts_at, duration, facilitator, status, signed)
    session_rows = []
    next_session = 1
    first_day: dict[int, date] = {}
    record_session_id = 0
    for g, group in enumerate(group_rows):
        gid, facilitator = group[0], group[3]
        days = (0, 2, 4) if g % 2 == 0 else (1, 3, 5)
        hour = 9 + g % 6
        past: list[date] = []
        day = today - timedelta(days=1)
        while len(past) < per_group:
            if day.weekday() in days:
                past.append(day)
            day -= timedelta(days=1)
        past.reverse()
        first_day[gid] = past[0]
        ahead = [today + timedelta(days=d) for d in range(1, 15) if (today + timedelta(days=d)).weekday() in days]
        duration = 180 if g % 3 == 1 else 120
        for on in past:
            starts = datetime.combine(on, datetime.min.time()) + timedelta(hours=hour)
            cancelled = rnd.random() < 0.02
            signed = not cancelled and (today - on).days > 7 or (not cancelled and rnd.random() < 0.5)
            sessions.append((next_session, gid, starts, duration, facilitator, on, cancelled))
            recorded = None if cancelled else starts + timedelta(minutes=duration + 10)
            session_rows.append((
                next_session, gid, None, starts, duration, group[4], facilitator,
                "cancelled" if cancelled else "held", "" if cancelled else "Topic: noticing small kindnesses.",
                None, 2 if signed else 1, "Facilitator ill" if cancelled else "", recorded,
                None if cancelled else facilitator, recorded + timedelta(hours=1) if signed else None,
                facilitator if signed else None, None))
            next_session += 1
        # Today's session (started already for the first group: the record page opens it).
        starts = (max(datetime.combine(today, datetime.min.time()), now - timedelta(hours=1)).replace(second=0)
                  if g == 0 else datetime.combine(today, datetime.min.time()) + timedelta(hours=hour))
        if g == 0:
            record_session_id = next_session
        sessions.append((next_session, gid, starts, duration, facilitator, today, None))
        session_rows.append((next_session, gid, None, starts, max(1, duration if g else 30), group[4], facilitator,
                             "planned", "", None, 1, "", None, None, None, None, None))
        next_session += 1
        for on in ahead:
            starts = datetime.combine(on, datetime.min.time()) + timedelta(hours=hour)
            session_rows.append((next_session, gid, None, starts, duration, group[4], facilitator, "planned", "",
                                 None, 1, "", None, None, None, None, None))
            next_session += 1
    copy("group_session", "id, group_id, activity_id, starts_at, duration_minutes, room, facilitator_id, status, "
         "group_note, series_id, version, cancel_reason, recorded_at, recorded_by_id, signed_at, signed_by_id, "
         "last_addendum_id", session_rows)
    del session_rows

    # Stints: each of a group's places is taken by one patient after another.
    patients, enrolments, memberships, assignments = [], [], [], []
    stints: dict[int, list[tuple[int, date, date | None, list[int]]]] = {}  # group -> (patient, from, to, asg)
    pid = eid = mid = aid = 0
    for group in group_rows:
        gid, track_id, facilitator = group[0], group[2], group[3]
        pool = exercises_of.get(track_id) or [e for ids in exercises_of.values() for e in ids]
        for _slot in range(SLOTS):
            start = first_day[gid] - timedelta(days=rnd.randint(0, 120))
            while start <= today:
                length = timedelta(weeks=rnd.randint(15, 30))
                end = start + length
                ongoing = end >= today
                pid += 1
                surname = SURNAMES[rnd.randrange(len(SURNAMES))]
                patients.append((pid, f"SC-{pid:07d}", GIVEN[pid % len(GIVEN)], surname, None, True,
                                 datetime.combine(start, datetime.min.time()), 1))
                if track_id in more_intensive and rnd.random() < 0.3:
                    eid += 1
                    enrolments.append((eid, pid, more_intensive[track_id], start - timedelta(weeks=4),
                                       start - timedelta(days=1), "stepped_down", "Stepped down", facilitator, 1))
                eid += 1
                enrolments.append((eid, pid, track_id, start, None if ongoing else end,
                                   "active" if ongoing else "discharged", "" if ongoing else "Completed the programme",
                                   facilitator, 1))
                mid += 1
                memberships.append((mid, gid, pid, start, None if ongoing else end, 1))
                mine = []
                for exercise_id in rnd.sample(pool, min(3, len(pool))):
                    aid += 1
                    mine.append(aid)
                    assignments.append((aid, exercise_id, pid, start, None, 3, "active" if ongoing else "completed",
                                        "", facilitator, "track", datetime.combine(start, datetime.min.time()), 1))
                stints.setdefault(gid, []).append((pid, start, None if ongoing else end, mine))
                start = end + timedelta(days=1)
    copy("patient", "id, record_number, first_name, last_name, preferred_name, active, created_at, version",
         patients)
    copy("enrolment", "id, patient_id, track_id, start_date, end_date, status, end_reason, primary_counselor_id, "
         "version", enrolments)
    copy("group_membership", "id, group_id, patient_id, start_date, end_date, version", memberships)
    copy("assignment", "id, exercise_id, patient_id, start_date, due_date, times_per_week, status, status_reason, "
         "assigned_by_id, source, created_at, version", assignments)

    # Attendance and check-ins of every held session, for the people whose stint covers it.
    checkins: list[tuple] = []
    statuses = (("present", 0.85), ("late", 0.05), ("left_early", 0.04), ("absent", 0.04), ("excused", 0.02))

    def attendance_rows():
        aid_ = 0
        cid = 0
        turn = 0
        for sid, gid, starts, duration, facilitator, on, cancelled in sessions:
            if cancelled is None or cancelled:
                continue
            recorded = starts + timedelta(minutes=duration + 10)
            for patient_id, start, end, mine in stints[gid]:
                if start > on or (end is not None and end < on):
                    continue
                pick = rnd.random()
                for status, share in statuses:
                    pick -= share
                    if pick < 0:
                        break
                minutes = {"present": duration, "late": duration - 15, "left_early": duration - 30}.get(status, 0)
                aid_ += 1
                yield (aid_, sid, patient_id, status, minutes, rnd.randint(2, 5) if minutes else None, "",
                       facilitator, recorded, 1, None)
                if rnd.random() < 0.94:
                    cid += 1
                    turn += 1
                    checkins.append((cid, mine[turn % len(mine)], on, ("done", "partly", "not_done")[turn % 3],
                                     rnd.randint(2, 6), rnd.randint(4, 8), "", facilitator, sid, recorded, 1, None))

    copy("attendance", "id, session_id, patient_id, status, minutes_attended, engagement, note, recorded_by_id, "
         "recorded_at, version, last_addendum_id", attendance_rows())
    copy("exercise_checkin", "id, assignment_id, on_date, outcome, mood_before, mood_after, reflection, "
         "recorded_by_id, session_id, recorded_at, version, last_addendum_id", checkins)
    del checkins

    # Audit events, about 2.8 per attendance row: the attendance and check-in saves and patient page views.
    cur.execute("""
        INSERT INTO audit_event (at, actor_id, actor_email, action, entity, entity_id, changes, ip_address)
        SELECT a.recorded_at, a.recorded_by_id, s.email, 'create', 'attendance', a.id::text,
               json_build_object('patients', json_build_array(a.patient_id)), '10.0.0.7'
          FROM attendance a JOIN staff_user s ON s.id = a.recorded_by_id
        UNION ALL
        SELECT c.recorded_at, c.recorded_by_id, s.email, 'create', 'exercise_checkin', c.id::text,
               json_build_object('patients', json_build_array(c.on_date)), '10.0.0.7'
          FROM exercise_checkin c JOIN staff_user s ON s.id = c.recorded_by_id
        UNION ALL
        SELECT a.recorded_at + interval '1 day', a.recorded_by_id, s.email, 'view', 'patient',
               a.patient_id::text, json_build_object('patients', json_build_array(a.patient_id)), '10.0.0.7'
          FROM attendance a JOIN staff_user s ON s.id = a.recorded_by_id WHERE a.id % 100 < 86
        ORDER BY 1
    """)
    cur.execute("INSERT INTO audit_event (at, actor_id, actor_email, action, entity, entity_id, changes, ip_address)"
                " VALUES (%s, %s, %s, 'login', 'staff_user', %s, '{}', '10.0.0.7')",
                (now, admin_id, emails[admin_id], str(admin_id)))
    # The trail's addresses, as its insert trigger keeps them (migration 0028; skipped above).
    cur.execute("SELECT to_regclass('audit_actor')")
    if cur.fetchone()[0] is not None:
        cur.execute("INSERT INTO audit_actor (email) SELECT DISTINCT actor_email FROM audit_event"
                    " ON CONFLICT DO NOTHING")
    cur.execute("SET maintenance_work_mem = '1GB'")
    for _name, definition in rebuilt:
        cur.execute(definition)
    for table in BULK_TABLES:
        cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
    cur.execute("SET session_replication_role = origin")
    conn.commit()
    conn.autocommit = True
    # What autovacuum does on a live server after a bulk load: statistics, the visibility map
    # (index-only scans) and the trigram indexes' pending lists merged.
    cur.execute("VACUUM ANALYZE")
    # What the measurement uses, kept in the database itself for --keep.
    plan = {"counselor": emails[counselor_ids[0]], "group_id": 1, "track_id": group_rows[0][2],
            "record_session_id": record_session_id,
            "patient_id": next(p for p, _s, end, _a in reversed(stints[1]) if end is None),
            "assign_exercise_id": exercises_of.get(group_rows[0][2], [1])[0]}
    cur.execute("CREATE TABLE IF NOT EXISTS scale_bench_plan (plan json NOT NULL)")
    cur.execute("DELETE FROM scale_bench_plan")
    cur.execute("INSERT INTO scale_bench_plan VALUES (%s)", (json.dumps(plan),))
    conn.close()


# The top-up: this round's tables (outcome measures, safety tasks, connectedness, a feed) --
TOP_UP_TABLES = ("measure_administration", "measure_item", "measure_addendum", "safety_task",
                 "connectedness_rating")
#: Measures are given at admission (each enrolment's first day), then every this many days.
MEASURE_EVERY = 14
#: PHQ-9 administrations with item 9 above 0 (each opens a safety task).
ITEM9_POSITIVE = 0.03
#: A safety task opened within this many days is still open (the others are assessed and closed).
OPEN_TASK_DAYS = 3
#: Signed administrations corrected by an addendum.
ADDENDUM_SHARE = 0.005
#: Weeks of an enrolment with a connectedness answer.
CONNECTEDNESS_SHARE = 0.8
#: Each track's mean answer per item at admission (0-3): the more intensive, the more severe.
SEVERITY = {"inpatient": 2.0, "intensive": 1.7, "iop": 1.35}
RISKS = (("low", 0.70), ("moderate", 0.22), ("high", 0.07), ("imminent", 0.01))


def _weighted(rnd: random.Random, choices) -> str:
    pick = rnd.random()
    for value, share in choices:
        pick -= share
        if pick < 0:
            return value
    return choices[-1][0]


@dataclass(frozen=True)
class Stint:
    """One enrolment, as the top-up reads it from a filled clinic."""

    id: int
    patient_id: int
    track: str
    start: date
    end: date | None
    counselor_id: int


def measure_rows(stint: Stint, today: date, now: datetime, seed: int, force_item9: bool = False):
    """The PHQ-9 and GAD-7 administrations of one enrolment, deterministic for its id.

    Yields (instrument, day, mode, difficulty, answers {item: 0-3 or None}, score, entered_at,
    signed_at, addendum or None) where addendum is (created_at, answers, difficulty, score,
    changes). Given at the enrolment's first day and every ``MEASURE_EVERY`` days while it
    runs, never in the future; severity falls over the weeks; about 2 % leave one item
    missing (prorated, never PHQ-9 item 9); the last week's are drafts about half the time.
    ``force_item9``: the latest PHQ-9 answers item 9 with 1 (the measured patient's open task).
    """
    from clinic.services import instruments

    rnd = random.Random(f"{seed}-measures-{stint.id}")
    last = min(stint.end or today, today)
    days = [stint.start + timedelta(days=k) for k in range(0, (last - stint.start).days + 1, MEASURE_EVERY)]
    level0 = SEVERITY.get(stint.track, 1.6) * rnd.uniform(0.8, 1.2)
    for index, day in enumerate(days):
        weeks = (day - stint.start).days / 7
        for code in ("phq9", "gad7"):
            form = instruments.INSTRUMENTS[code]
            level = level0 * (1 - 0.45 * min(1.0, weeks / 20)) * (0.85 if code == "gad7" else 1.0)
            answers: dict[int, int | None] = {
                item.number: max(0, min(3, round(rnd.gauss(level, 0.8)))) for item in form.items}
            if code == "phq9":
                positive = force_item9 and index == len(days) - 1
                answers[9] = (1 if positive else
                              _weighted(rnd, ((1, 0.7), (2, 0.2), (3, 0.1))) if rnd.random() < ITEM9_POSITIVE else 0)
            if rnd.random() < 0.02:
                answers[rnd.randint(1, 8 if code == "phq9" else 7)] = None
            score = instruments.score(form, answers)
            mode = _weighted(rnd, (("in_person", 0.8), ("paper", 0.12), ("phone", 0.08)))
            difficulty = min(3, max(0, round(level))) if rnd.random() < 0.85 else None
            entered = datetime.combine(day, datetime.min.time()) + timedelta(
                hours=9 + rnd.randint(0, 8) + (24 * rnd.randint(0, 2) if mode == "paper" else 0),
                minutes=rnd.randint(0, 59))
            entered = min(entered, now - timedelta(minutes=5))
            signed = (today - day).days > 7 or rnd.random() < 0.5
            signed_at = min(entered + timedelta(minutes=rnd.randint(1, 30)), now) if signed else None
            addendum = None
            if signed and rnd.random() < ADDENDUM_SHARE:
                fixable = [n for n, v in answers.items() if v is not None and n != 9]
                number = rnd.choice(fixable)
                corrected = dict(answers)
                corrected[number] = answers[number] + 1 if answers[number] < 3 else answers[number] - 1
                new_score = instruments.score(form, corrected)
                changes = {f"item {number}": [answers[number], corrected[number]]}
                if new_score.total != score.total:
                    changes["total"] = [score.total, new_score.total]
                created = min(signed_at + timedelta(days=rnd.randint(1, 10), hours=rnd.randint(0, 6)), now)
                addendum = (created, corrected, difficulty, new_score, changes)
            yield code, day, mode, difficulty, answers, score, entered, signed_at, addendum


def connectedness_weeks(stint: Stint, today: date, seed: int):
    """(Monday, rating, recorded_at) of the enrolment's weeks with an answer (about 80 %), rising slowly."""
    rnd = random.Random(f"{seed}-connectedness-{stint.id}")
    last = min(stint.end or today, today)
    monday = stint.start - timedelta(days=stint.start.weekday())
    base = rnd.uniform(2, 5)
    while monday <= last:
        if rnd.random() < CONNECTEDNESS_SHARE:
            rating = max(0, min(10, round(base + (monday - stint.start).days / 30 + rnd.gauss(0, 1.2))))
            recorded = datetime.combine(min(monday + timedelta(days=rnd.randint(0, 6)), today),
                                        datetime.min.time()) + timedelta(hours=rnd.randint(9, 17))
            yield monday, rating, recorded
        monday += timedelta(days=7)


def needs_top_up(url: str) -> bool:
    """True when the clinic has no outcome measures yet (filled before they existed, or just filled)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT NOT EXISTS (SELECT 1 FROM measure_administration)")).scalar_one()
    finally:
        engine.dispose()


def top_up(url: str, seed: int = 20261202) -> bool:
    """Add this round's rows to a filled clinic whose tables for them are empty, in one transaction.

    Outcome measures (PHQ-9 and GAD-7 with their items, at admission and every
    ``MEASURE_EVERY`` days while enrolled; signed, the last week's partly drafts, a few
    corrected by addendum), a safety task for every PHQ-9 with item 9 above 0 (closed by a
    risk assessment unless opened in the last ``OPEN_TASK_DAYS`` days; the measured patient
    has one open), weekly connectedness answers, and a calendar feed of the measured
    counselor's sessions made through ``services.calendar_feeds`` (its token kept in
    ``scale_bench_plan``). Bulk rows go in by ``COPY`` with the triggers skipped, as the
    fill does, consistent with them. Returns False (nothing done) when measures exist.
    """
    from clinic.extensions import db
    from clinic.models import StaffUser
    from clinic.services import audit, calendar_feeds

    if not needs_top_up(url):
        return False
    began = time.perf_counter()
    today = date.today()
    now = datetime.now().replace(microsecond=0)
    app = make_app(url)
    with app.app_context():
        connection = db.session.connection()  # the session's transaction: everything below commits at once
        cur = connection.connection.driver_connection.cursor()
        plan = cur.execute("SELECT plan FROM scale_bench_plan").fetchone()[0]
        cur.execute("SELECT e.id, e.patient_id, t.code, e.start_date, e.end_date, e.primary_counselor_id"
                    " FROM enrolment e JOIN track t ON t.id = e.track_id ORDER BY e.patient_id, e.start_date, e.id")
        stints = [Stint(*row) for row in cur.fetchall()]
        measured_stint = max((s for s in stints if s.patient_id == plan["patient_id"]), key=lambda s: s.start)
        cur.execute("SET session_replication_role = replica")
        rebuilt = drop_loose_indexes(cur, TOP_UP_TABLES)

        # Administrations with their answers go into a scratch table in one pass; the items
        # are then unnested from it by the database.
        cur.execute("CREATE TEMP TABLE scale_measure (id int, patient_id int, enrolment_id int, instrument text,"
                    " administered_on date, mode text, difficulty int, total int, prorated bool, band text,"
                    " entered_by_id int, entered_at timestamp, signed_at timestamp, signed_by_id int,"
                    " answers int[]) ON COMMIT DROP")
        addenda, tasks = [], []
        measure_id = 0
        with cur.copy("COPY scale_measure FROM STDIN") as out:
            for stint in stints:
                for code, day, mode, difficulty, answers, score, entered, signed_at, addendum in measure_rows(
                        stint, today, now, seed, force_item9=stint is measured_stint):
                    measure_id += 1
                    counselor = stint.counselor_id
                    out.write_row((measure_id, stint.patient_id, stint.id, code, day, mode, difficulty, score.total,
                                   score.prorated, score.band, counselor, entered, signed_at,
                                   counselor if signed_at else None, [answers[n] for n in sorted(answers)]))
                    if addendum is not None:
                        created, corrected, dif, new_score, changes = addendum
                        addenda.append((measure_id, counselor, created,
                                        "Answer misread from the paper form; checked with the patient.",
                                        json.dumps({str(n): corrected[n] for n in sorted(corrected)}), dif,
                                        json.dumps(changes), new_score.total, new_score.prorated))
                    if code == "phq9" and answers[9]:
                        tasks.append((measure_id, stint, answers[9], entered))
        cur.execute("INSERT INTO measure_administration (id, patient_id, enrolment_id, instrument, administered_on,"
                    " mode, difficulty, total, prorated, band, entered_by_id, entered_at, signed_at, signed_by_id,"
                    " version) SELECT id, patient_id, enrolment_id, instrument, administered_on, mode, difficulty,"
                    " total, prorated, band, entered_by_id, entered_at, signed_at, signed_by_id, 1"
                    " FROM scale_measure ORDER BY id")
        cur.execute("INSERT INTO measure_item (administration_id, item_number, answer)"
                    " SELECT m.id, i.n, i.answer FROM scale_measure m,"
                    " unnest(m.answers) WITH ORDINALITY AS i(answer, n) ORDER BY m.id, i.n")
        with cur.copy("COPY measure_addendum (administration_id, author_id, created_at, reason, answers, difficulty,"
                      " changes, total, prorated) FROM STDIN") as out:
            for row in addenda:
                out.write_row(row)

        rnd = random.Random(f"{seed}-safety")
        measured_task = max((t for t in tasks if t[1] is measured_stint), key=lambda t: t[3])
        with cur.copy("COPY safety_task (patient_id, administration_id, item9_answer, opened_at, opened_by_id,"
                      " counselor_id, assessed_at, assessed_by_id, risk_level, action_taken, closed_at, version)"
                      " FROM STDIN") as out:
            for administration_id, stint, answer, opened in tasks:
                if (now - opened).days < OPEN_TASK_DAYS or administration_id == measured_task[0]:
                    out.write_row((stint.patient_id, administration_id, answer, opened, stint.counselor_id,
                                   stint.counselor_id, None, None, None, "", None, 1))
                    continue
                assessed = opened + timedelta(hours=rnd.randint(1, 30))
                risk = _weighted(rnd, RISKS)
                out.write_row((stint.patient_id, administration_id, answer, opened, stint.counselor_id,
                               stint.counselor_id, assessed, stint.counselor_id, risk,
                               "Safety plan reviewed with the patient; crisis line given."
                               + (" Psychiatrist informed the same day." if risk != "low" else ""),
                               min(assessed + timedelta(minutes=rnd.randint(5, 90)), now), 2))

        def ratings():
            seen: set[tuple[int, date]] = set()
            for stint in stints:
                for monday, rating, recorded in connectedness_weeks(stint, today, seed):
                    if (stint.patient_id, monday) not in seen:  # a step-down's two enrolments share a week
                        seen.add((stint.patient_id, monday))
                        yield stint.patient_id, monday, rating, stint.counselor_id, recorded, 1

        with cur.copy("COPY connectedness_rating (patient_id, week_start, rating, recorded_by_id, recorded_at,"
                      " version) FROM STDIN") as out:
            for row in ratings():
                out.write_row(row)
        cur.execute("SET maintenance_work_mem = '1GB'")
        for _name, definition in rebuilt:
            cur.execute(definition)
        for table in TOP_UP_TABLES:
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
        cur.execute("SET session_replication_role = origin")

        # The measured counselor's feed, made as staff make one (audited like theirs).
        counselor = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == plan["counselor"]))
        with audit.acting_as(counselor):
            _feed, token = calendar_feeds.create(counselor, "staff", commit=False)
            db.session.flush()
        measure = cur.execute(
            "SELECT id FROM measure_administration WHERE patient_id = %s AND instrument = 'phq9'"
            " ORDER BY administered_on DESC, id DESC LIMIT 1", (plan["patient_id"],)).fetchone()[0]
        task = cur.execute("SELECT id FROM safety_task WHERE patient_id = %s AND closed_at IS NULL ORDER BY id"
                           " LIMIT 1", (plan["patient_id"],)).fetchone()[0]
        corrected = cur.execute("SELECT administration_id FROM measure_addendum ORDER BY id LIMIT 1").fetchone()
        plan.update(feed_token=token, measure_id=measure, safety_task_id=task,
                    corrected_measure_id=corrected[0] if corrected else measure)
        cur.execute("UPDATE scale_bench_plan SET plan = %s", (json.dumps(plan),))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    vacuum = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with vacuum.connect() as conn:
        for table in TOP_UP_TABLES + ("calendar_feed",):
            conn.execute(sa.text(f"VACUUM ANALYZE {table}"))
    vacuum.dispose()
    print(f"[top-up] measures, safety tasks, connectedness and a calendar feed added in "
          f"{time.perf_counter() - began:.0f} s", file=sys.stderr)
    return True


def load_plan(url: str, rows: int) -> Plan:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT plan FROM scale_bench_plan")).scalar_one()
        # The searches look for the surname of a patient in the measured counselor's caseload,
        # so that both roles' searches find someone at every size (a surname picked blindly
        # may be in nobody's caseload at one size and fill a page at the other).
        stored.setdefault("search_surname", conn.execute(
            sa.text("SELECT last_name FROM patient WHERE id = :id"), {"id": stored["patient_id"]}).scalar_one())
        counts = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                  for t in ("patient", "staff_user", "group_session", "attendance", "exercise_checkin",
                            "assignment", "audit_event", "measure_administration", "measure_item",
                            "safety_task", "connectedness_rating")}
    engine.dispose()
    return Plan(rows=rows, counts=counts, **stored)


# The measurement -------------------------------------------------------------------------
class FormReader(HTMLParser):
    """What a form would submit: inputs, selected options and text areas."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.fields = form_id, False, []
        self._select, self._first, self._selected, self._textarea, self._text = None, None, False, None, ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and a.get("name") and (a.get("type") not in ("checkbox", "radio") or "checked" in a):
            self.fields.append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self._select, self._first, self._selected = a.get("name"), None, False
        elif tag == "option" and self._select:
            if self._first is None:
                self._first = a.get("value", "")
            if "selected" in a:
                self.fields.append((self._select, a.get("value", "")))
                self._selected = True
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            if not self._selected:
                self.fields.append((self._select, self._first or ""))
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, self._text))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self._text += data


@dataclass
class Page:
    name: str
    role: str  # "admin" or "counselor"
    url: str
    method: str = "GET"
    data: object = None  # a callable(client) -> form data, for POSTs
    expect: tuple[int, ...] = (200,)
    then: object = None  # a callable(Measured), run after the timed request (untimed)


# A large clinic's admin report answers 303 (to its run's page) while the worker computes it: the
# bench then works the queue off (untimed), and the next requests show the stored result.
REPORT_ANSWERS = (200, 303)


def WORK_OFF(measured) -> None:  # noqa: N802 (a Page's ``then``)
    measured.run_jobs()


def last_page(client, url: str) -> str:
    """The list's last page, from the pager links of its first page."""
    body = client.get(url).get_data(as_text=True)
    pages = [int(n) for n in re.findall(r"[?&;]page=(\d+)", body)]
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}page={max(pages)}" if pages else url


def record_form(client, session_id: int):
    from werkzeug.datastructures import MultiDict

    reader = FormReader("record-form")
    reader.feed(client.get(f"/admin/record/?session={session_id}").get_data(as_text=True))
    fields = [(name, f"Noticing kindness, take {time.perf_counter_ns()}" if name == "group_note" else value)
              for name, value in reader.fields]
    return MultiDict(fields)


def pages_for(plan: Plan, admin, counselor) -> list[Page]:
    s = plan.search_surname
    lists = []
    for role, client in (("admin", admin), ("counselor", counselor)):
        lists += [
            Page("attendance list, first page", role, "/admin/attendance/"),
            Page("attendance list, last page", role, last_page(client, "/admin/attendance/")),
            Page("attendance list, sorted", role, "/admin/attendance/?sort=0"),
            Page("check-in list, first page", role, "/admin/checkins/"),
            Page("check-in list, last page", role, last_page(client, "/admin/checkins/")),
            Page("check-in list, search", role, f"/admin/checkins/?search={s}"),
            Page("assignment list", role, "/admin/assignments/"),
            Page("assignment list, search", role, f"/admin/assignments/?search={s}"),
            Page("session list, last page", role, last_page(client, "/admin/sessions/")),
            Page("session list, sorted", role, "/admin/sessions/?sort=0"),
            Page("session list, search", role, "/admin/sessions/?search=North"),
            Page("patient list", role, "/admin/patients/"),
            Page("patient list, search", role, f"/admin/patients/?search={s}"),
            Page("patient page", role, f"/admin/patients/details/?id={plan.patient_id}"),
            Page("group page", role, f"/admin/groups/details/?id={plan.group_id}"),
            Page("track page", role, f"/admin/tracks/details/?id={plan.track_id}"),
            Page("week planner", role, "/admin/planner/"),
            Page("My day", role, "/admin/day/"),
            Page("home", role, "/admin/"),
            # This round's pages (their rows come from the top-up).
            Page("outcome measures list", role, "/admin/measures/"),
            Page("measure page (PHQ-9 with items)", role, f"/admin/measures/view/?id={plan.measure_id}"),
            Page("safety tasks", role, "/admin/safety/"),
            Page("safety task page", role, f"/admin/safety/{plan.safety_task_id}/"),
            Page("connectedness page", role, f"/admin/connectedness/?patient={plan.patient_id}"),
            Page("calendar feeds page", role, "/admin/calendar/"),
            Page("census report (28 days)", role, "/admin/reports/census/", expect=REPORT_ANSWERS, then=WORK_OFF),
            Page("hours report (last week)", role, "/admin/reports/hours/", expect=REPORT_ANSWERS, then=WORK_OFF),
            Page("utilisation report (28 days)", role, "/admin/reports/utilisation/", expect=REPORT_ANSWERS, then=WORK_OFF),
            Page("exercises report (28 days)", role, "/admin/reports/exercises/", expect=REPORT_ANSWERS, then=WORK_OFF),
            Page("outcomes report (28 days)", role, "/admin/reports/outcomes/", expect=REPORT_ANSWERS, then=WORK_OFF),
        ]
    lists += [
        Page("Records to finish", "admin", "/admin/unfinished/"),
        Page("audit list, first page", "admin", "/admin/audit/"),
        Page("audit list, last page", "admin", last_page(admin, "/admin/audit/")),
        Page("audit list, sorted", "admin", "/admin/audit/?sort=0"),
        Page("audit list, search", "admin", "/admin/audit/?search=counselor1@"),
        Page("assign-an-exercise form", "admin", f"/admin/assign/?track={plan.track_id}"),
        # Above CLINIC_TRACK_ASSIGN_JOB_ABOVE patients (300) the POST records a background job and
        # answers 303 at once: what is timed is starting the job; the bench then runs the job, as a
        # worker would, untimed (so the next round is not refused as a duplicate).
        Page("assign to a whole track (POST)", "admin", f"/admin/assign/?track={plan.track_id}", "POST",
             lambda _c: {"exercise": plan.assign_exercise_id, "target": "track", "track": plan.track_id,
                         "start": date.today().isoformat(), "times_per_week": "2", "due": ""},
             (200, 303), lambda measured: measured.run_jobs()),
        Page("measure page, corrected by addendum", "admin",
             f"/admin/measures/view/?id={plan.corrected_measure_id}"),
        Page("calendar feed (.ics, 490 days)", "counselor", f"/calendar/{plan.feed_token}.ics"),
        Page("session record, open (12 people)", "counselor", f"/admin/record/?session={plan.record_session_id}"),
        Page("session record, save (12 people)", "counselor", f"/admin/record/?session={plan.record_session_id}",
             "POST", lambda c: record_form(c, plan.record_session_id), (302, 303)),
    ]
    return lists


def migrate(url: str) -> None:
    """Bring a kept database up to the newest migration (new indexes land on old data too)."""
    from flask_migrate import upgrade

    with make_app(url).app_context():
        upgrade()


class Measured:
    """One filled clinic open for measuring: its plan, app, logged-in clients and statement count."""

    def __init__(self, url: str, rows: int):
        from clinic.extensions import db

        import tempfile

        self.plan = load_plan(url, rows)
        # Jobs go to a queue of this run's own (a SQLite file), which run_jobs works off.
        self.queue_dir = tempfile.TemporaryDirectory(prefix="scale-jobs-")
        self.app = make_app(url, f"sqlite:///{self.queue_dir.name}/jobs.sqlite")
        self.statements = 0

        def count(*_args, **_kwargs):
            self.statements += 1

        with self.app.app_context():
            sa.event.listen(db.engine, "before_cursor_execute", count)
        self.clients = {}
        for role, email in (("admin", "admin1@scale.example"), ("counselor", self.plan.counselor)):
            client = self.app.test_client()
            answer = client.post("/login", data={"email": email, "password": PASSWORD})
            if answer.status_code not in (302, 303):
                raise SystemExit(f"Logging in as the {role} failed ({answer.status_code}).")
            self.clients[role] = client
        self.pages = {(page.name, page.role): page
                      for page in pages_for(self.plan, self.clients["admin"], self.clients["counselor"])}

    def request(self, page: Page) -> tuple[int, float]:
        """One request of ``page``: (statements, milliseconds)."""
        client = self.clients[page.role]
        data = page.data(client) if page.data else None
        self.statements = 0
        began = time.perf_counter()
        answer = client.open(page.url, method=page.method, data=data)
        elapsed = (time.perf_counter() - began) * 1000
        if answer.status_code not in page.expect:
            raise SystemExit(f"{page.name} as {page.role}: status {answer.status_code} ({page.url})")
        counted = self.statements
        if page.then is not None:
            page.then(self)  # neither timed nor counted
        return counted, elapsed

    def run_jobs(self) -> None:
        """Work off the queued background jobs, as a worker would (untimed)."""
        from clinic import jobs

        huey = jobs.queue(self.app)
        while (task := huey.dequeue()) is not None:
            huey.execute(task)

    def close(self) -> None:
        from clinic.extensions import db

        with self.app.app_context():
            db.engine.dispose()
        self.queue_dir.cleanup()


def measure_sizes(clinics: list[tuple[str, int]], repeat: int, only: str = "") -> list[tuple[Plan, dict]]:
    """Time every page (or those whose name matches ``only``) in each filled clinic.

    The clinics are measured side by side: for each page one warm-up request per clinic, then
    ``repeat`` rounds of one request per clinic in turn, so that a busy moment of the machine
    falls on every size alike instead of on whichever size was being measured then. Returns,
    per clinic, its plan and (page, role) -> (statements, p50 ms, p95 ms).
    """
    opened = [Measured(url, rows) for url, rows in clinics]
    try:
        results: list[dict] = [{} for _ in opened]
        for key in opened[0].pages:
            if only and not re.search(only, key[0]):
                continue
            times: list[list[float]] = [[] for _ in opened]
            counts = [0 for _ in opened]
            for attempt in range(repeat + 1):
                for k, clinic in enumerate(opened):
                    counts[k], elapsed = clinic.request(clinic.pages[key])
                    if attempt:
                        times[k].append(elapsed)
            for k, spent in enumerate(times):
                spent.sort()
                p95 = spent[max(0, math.ceil(0.95 * len(spent)) - 1)]
                results[k][key] = (counts[k], statistics.median(spent), p95)
    finally:
        for clinic in opened:
            clinic.close()
    return [(clinic.plan, found) for clinic, found in zip(opened, results)]


def measure(url: str, rows: int, repeat: int, only: str = "") -> tuple[Plan, dict[tuple[str, str], tuple[int, float, float]]]:
    """Time every page of one clinic; see ``measure_sizes``."""
    [(plan, results)] = measure_sizes([(url, rows)], repeat, only)
    return plan, results


def prepare(rows: int, url: str | None, keep: bool, prefix: str = "clinic_scale",
            migrating: bool = True) -> tuple[str, float]:
    """Fill the clinic of ``rows`` (or, with ``keep``, migrate one filled earlier); (url, fill seconds).

    ``migrating=False`` (``--no-migrate``) measures a kept clinic at the schema it has, so that
    several people can try their own indexes on one shared clinic without stamping it.
    """
    url = url or database_url(rows, prefix)
    began = time.perf_counter()
    if keep and is_filled(url) and not migrating:
        print(f"[{rows}] reusing the filled database as it is (not migrated)", file=sys.stderr)
        return url, 0.0
    if keep and is_filled(url):
        print(f"[{rows}] reusing the filled database (migrating it to the newest schema)", file=sys.stderr)
        migrate(url)
        if top_up(url):  # a clinic filled before this round's tables: their rows added once
            return url, time.perf_counter() - began
        return url, 0.0
    recreate(url)
    fill(url, rows)
    top_up(url)
    filled = time.perf_counter() - began
    print(f"[{rows}] filled in {filled:.0f} s", file=sys.stderr)
    return url, filled


def run_sizes(sizes: list[int], keep: bool, repeat: int, prefix: str = "clinic_scale", only: str = "",
              url: str | None = None, migrating: bool = True) -> list[tuple[Plan, dict]]:
    """Fill (or reuse) each size, measure them side by side, drop them unless ``keep``."""
    prepared = [prepare(rows, url, keep, prefix, migrating) for rows in sizes]
    try:
        done = measure_sizes([(u, rows) for (u, _s), rows in zip(prepared, sizes)], repeat, only)
    finally:
        if not keep:
            for u, _s in prepared:
                drop(u)
    for (plan, _results), (_u, filled) in zip(done, prepared):
        plan.fill_seconds = filled
        print(f"[{plan.rows}] rows: {plan.counts}", file=sys.stderr)
    return done


def run_size(rows: int, url: str | None, keep: bool, repeat: int, prefix: str = "clinic_scale", only: str = "",
             migrating: bool = True):
    """One size alone: its plan and results."""
    [(plan, results)] = run_sizes([rows], keep, repeat, prefix, only, url, migrating)
    return plan, results


def table(sizes: list[tuple[Plan, dict]]) -> str:
    """The Markdown table of one size, or of a small one against one or two larger ones."""
    first = sizes[0][1]
    lines = []
    if len(sizes) == 1:
        lines += ["| page | as | statements | p50 ms | p95 ms |", "| --- | --- | ---: | ---: | ---: |"]
        for (name, role), (count, p50, p95) in first.items():
            lines.append(f"| {name} | {role} | {count} | {p50:.1f} | {p95:.1f} |")
    else:
        names = [size_name(plan.rows) for plan, _r in sizes]
        header = (["page", "as", "statements " + " / ".join(names)]
                  + [f"p50 {n} ms" for n in names]
                  + [f"ratio {n}" for n in names[1:]]
                  + [f"p95 {n} ms" for n in names])
        lines += ["| " + " | ".join(header) + " |",
                  "| --- | --- | " + " | ".join("---:" for _ in header[2:]) + " |"]
        for key, (_count, p50, _p95) in first.items():
            found = [results[key] for _plan, results in sizes]
            cells = ([key[0], key[1], " / ".join(str(r[0]) for r in found)]
                     + [f"{r[1]:.1f}" for r in found]
                     + [f"{r[1] / p50:.2f}" for r in found[1:]]
                     + [f"{r[2]:.1f}" for r in found])
            lines.append("| " + " | ".join(cells) + " |")
    for plan, _results in sizes:
        counts = ", ".join(f"{n:,} {t}" for t, n in plan.counts.items())
        lines.append("")
        lines.append(f"{plan.rows:,} rows: {counts}" + (f"; filled in {plan.fill_seconds:.0f} s"
                                                          if plan.fill_seconds else ""))
    return "\n".join(lines)


def size_name(rows: int) -> str:
    """``10k``, ``1M``, ``10M`` (other sizes as they are)."""
    for unit, name in ((1_000_000, "M"), (1_000, "k")):
        if rows >= unit and rows % unit == 0:
            return f"{rows // unit}{name}"
    return str(rows)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, help="attendance rows of one clinic (e.g. 10000)")
    parser.add_argument("--sizes", help="two or three sizes to compare, e.g. 10000,1000000,10000000")
    parser.add_argument("--database-url", help="with --rows: the database to fill (default clinic_scale_<rows>)")
    parser.add_argument("--keep", action="store_true", help="reuse a database filled earlier and keep it")
    parser.add_argument("--no-migrate", action="store_true",
                        help="with --keep: measure the kept databases at their schema, without migrating them")
    parser.add_argument("--repeat", type=int, default=7, help="timed requests per page (after one warm-up)")
    parser.add_argument("--prefix", default="clinic_scale", help="database name prefix (default clinic_scale)")
    parser.add_argument("--only", default="", help="time only the pages whose name matches this regex")
    args = parser.parse_args(argv)
    if args.sizes:
        sizes = [int(n) for n in args.sizes.split(",")]
        if len(sizes) not in (2, 3):
            parser.error("--sizes takes two or three sizes: SMALL,LARGE[,LARGER]")
        done = run_sizes(sizes, args.keep, args.repeat, args.prefix, args.only, migrating=not args.no_migrate)
    elif args.rows:
        done = [run_size(args.rows, args.database_url, args.keep, args.repeat, args.prefix, args.only,
                         migrating=not args.no_migrate)]
    else:
        parser.error("give --rows N or --sizes SMALL,LARGE[,LARGER]")
    report = table(done)
    print(report)
    return report


if __name__ == "__main__":
    main()
