"""The reference data and the fictional demo clinic (clinic.services.seeding)."""

from __future__ import annotations

import re
import shutil
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from clinic.extensions import db
from clinic.models import (
    Activity,
    Assignment,
    Attendance,
    CareGroup,
    ConnectednessRating,
    Enrolment,
    ExerciseCheckin,
    GroupMembership,
    GroupSession,
    KindnessExercise,
    Patient,
    StaffUser,
    Track,
)
from clinic.services.seeding import DEMO_PASSWORDS, SEED_DIR, SeedError, load_demo, load_reference

#: A fixed "today" (a Wednesday) so the demo is the same on every run.
TODAY = date(2026, 3, 18)

CORE_EXERCISES = (
    "appreciation",
    "volunteer",
    "compliment",
    "active listening",
    "boundar",
    "treat yourself",
    "small win",
    "patient with yourself",
)


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def all_counts() -> dict[str, int]:
    models = (
        Track, KindnessExercise, Activity, StaffUser, Patient, Enrolment, CareGroup,
        GroupMembership, GroupSession, Attendance, Assignment, ExerciseCheckin, ConnectednessRating,
    )
    return {model.__name__: count(model) for model in models}


@pytest.fixture
def demo(app):
    """The demo clinic loaded for TODAY, inside an app context."""
    with app.app_context():
        yield load_demo(today=TODAY)


# ---------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------


def test_reference_seed_can_run_twice_without_duplicates(app):
    with app.app_context():
        first = load_reference()
        after_first = all_counts()
        second = load_reference()
        assert first["tracks"] == 3
        assert first["exercises"] >= 14
        assert first["activities"] >= 6
        assert first["starter plans"] == 3
        assert first["exercise translations"] == first["exercises"]  # every reference exercise in Spanish
        assert first["track goal translations"] == 3  # every reference track's default goal in Spanish
        assert second == {"tracks": 0, "exercises": 0, "activities": 0, "starter plans": 0,
                          "exercise translations": 0, "track goal translations": 0}
        assert all_counts() == after_first


def test_reference_seed_keeps_edits_staff_made(app):
    with app.app_context():
        load_reference()
        exercise = db.session.scalar(
            sa.select(KindnessExercise).where(KindnessExercise.title == "Celebrate a small win")
        )
        exercise.summary = "Our own wording."
        exercise.default_times_per_week = 4
        track = db.session.scalar(sa.select(Track).where(Track.code == "iop"))
        track.weekly_min_minutes = 600
        db.session.commit()

        load_reference()
        db.session.expire_all()
        assert exercise.summary == "Our own wording."
        assert exercise.default_times_per_week == 4
        assert track.weekly_min_minutes == 600


def test_reference_seed_adds_only_what_is_missing(app):
    with app.app_context():
        load_reference()
        activity = db.session.scalar(sa.select(Activity).where(Activity.name == "Compliment round"))
        db.session.delete(activity)
        db.session.commit()
        before = count(Activity)

        created = load_reference()
        assert created == {"tracks": 0, "exercises": 0, "activities": 1, "starter plans": 0,
                           "exercise translations": 0, "track goal translations": 0}
        assert count(Activity) == before + 1


def test_tracks_carry_their_weekly_minimums_in_step_down_order(app):
    with app.app_context():
        load_reference()
        tracks = list(db.session.scalars(sa.select(Track).order_by(Track.care_level)))
        assert [t.code for t in tracks] == ["inpatient", "intensive", "iop"]
        assert [(t.weekly_min_minutes, t.weekly_min_days) for t in tracks] == [
            (630, 7),
            (1200, 5),
            (540, 3),
        ]
        assert all(t.name and t.description for t in tracks)


def test_catalogue_covers_the_eight_core_exercises(app):
    with app.app_context():
        load_reference()
        titles = [t.lower() for t in db.session.scalars(sa.select(KindnessExercise.title))]
        for core in CORE_EXERCISES:
            assert any(core in title for title in titles), f"no exercise about {core!r}"
        assert len(titles) >= 14


def test_catalogue_entries_are_complete_and_mostly_low_energy(app):
    with app.app_context():
        load_reference()
        exercises = list(db.session.scalars(sa.select(KindnessExercise)))
        for exercise in exercises:
            assert exercise.summary and exercise.why_it_helps, exercise.title
            assert exercise.how_to.startswith("1. "), exercise.title
            prompts = exercise.reflection_prompts.splitlines()
            assert 2 <= len(prompts) <= 4, exercise.title
            assert all(p.strip().endswith("?") for p in prompts), exercise.title
            assert 1 <= exercise.default_times_per_week <= 14
            assert exercise.tracks, exercise.title
        directions = Counter(e.direction for e in exercises)
        assert directions["others"] >= 5 and directions["self"] >= 5
        low = [e for e in exercises if e.energy == "low"]
        assert len(low) * 2 >= len(exercises)


def test_volunteering_is_not_offered_to_inpatients(app):
    with app.app_context():
        load_reference()
        inpatient = db.session.scalar(sa.select(Track).where(Track.code == "inpatient"))
        volunteering = list(
            db.session.scalars(sa.select(KindnessExercise).where(KindnessExercise.title.ilike("%volunteer%")))
        )
        assert volunteering
        for exercise in volunteering:
            assert not exercise.suits_track(inpatient.id)
            assert {t.code for t in exercise.tracks} == {"intensive", "iop"}
        activities = db.session.scalars(sa.select(Activity).where(Activity.name.ilike("%volunteer%")))
        for activity in activities:
            assert inpatient not in activity.tracks


def test_every_activity_practises_an_exercise_that_suits_its_tracks(app):
    with app.app_context():
        load_reference()
        for activity in db.session.scalars(sa.select(Activity)):
            assert activity.default_minutes >= 1
            assert activity.tracks, activity.name
            if activity.exercise is not None:
                assert set(activity.tracks) <= set(activity.exercise.tracks), activity.name


def test_a_broken_seed_file_is_refused_with_a_clear_message(app, monkeypatch, tmp_path):
    (tmp_path / "reference.toml").write_text(
        '[[tracks]]\ncode = "iop"\nname = "IOP"\ncare_level = 3\n'
        'weekly_min_minutes = 540\nweekly_min_days = 3\n\n'
        '[[exercises]]\ntitle = "Too much"\ndirection = "others"\nenergy = "extreme"\n'
        'summary = "s"\nwhy_it_helps = "w"\nhow_to = "1. h"\nreflection_prompts = "r?"\n'
        'default_times_per_week = 2\ntracks = ["iop"]\n'
    )
    monkeypatch.setitem(app.config, "SEED_DIR", str(tmp_path))
    with app.app_context():
        with pytest.raises(SeedError, match="Too much.*energy"):
            load_reference()
        assert count(Track) == 0


# ---------------------------------------------------------------------------
# Demo clinic
# ---------------------------------------------------------------------------


def test_demo_refuses_production_mode(app, monkeypatch):
    monkeypatch.setitem(app.config, "CLINIC_ENV", "production")
    with app.app_context():
        with pytest.raises(SeedError, match="production"):
            load_demo(today=TODAY)
        assert count(StaffUser) == 0
        assert count(Patient) == 0
        assert count(Track) == 0


def test_demo_loads_only_into_an_empty_clinic(demo):
    assert demo.loaded
    assert demo.counts["patients"] >= 40
    before = all_counts()

    again = load_demo(today=TODAY)
    assert not again.loaded
    assert "empty clinic" in again.message
    assert again.logins == [] and again.counts == {}
    assert all_counts() == before


def test_demo_is_not_loaded_next_to_a_real_patient(app):
    with app.app_context():
        db.session.add(Patient(record_number="X-1", first_name="Ada", last_name="Example"))
        db.session.commit()
        result = load_demo(today=TODAY)
        assert not result.loaded
        assert count(Patient) == 1
        assert count(StaffUser) == 0


def test_demo_loads_the_reference_data_when_tracks_are_missing(demo):
    assert demo.reference_counts["tracks"] == 3
    assert count(Track) == 3


def test_demo_logins_work_with_the_documented_passwords(demo):
    roles = Counter(login.role for login in demo.logins)
    assert roles == {"admin": 1, "planner": 2, "counselor": 4}
    hasher = PasswordHasher()
    for login in demo.logins:
        assert login.password == DEMO_PASSWORDS[login.role]
        assert login.email.endswith("@demo.clinic.example")
        user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == login.email))
        assert user.role == login.role and user.is_active
        assert user.password_hash != login.password
        assert hasher.verify(user.password_hash, login.password)
    described = demo.describe()
    assert demo.message in described
    assert all(login.email in described and login.password in described for login in demo.logins)


def test_demo_respects_record_rules(demo):
    session = db.session
    patients = list(session.scalars(sa.select(Patient)))
    assert len(patients) >= 40
    assert len({p.record_number for p in patients}) == len(patients)
    for patient in patients:
        assert re.fullmatch(r"DEMO-\d{4}", patient.record_number), patient.record_number
    assert any(p.preferred_name for p in patients)
    assert len({p.full_name for p in patients}) == len(patients)
    for user in session.scalars(sa.select(StaffUser)):
        assert user.email.endswith("@demo.clinic.example")

    # Exactly one open enrolment and one open membership, in a group of the same track,
    # except for the few discharged lately.
    discharged = set(session.scalars(sa.select(Enrolment.patient_id).where(Enrolment.status == "discharged")))
    assert len(discharged) == 2
    current = {p.id for p in patients} - discharged
    open_enrolments = Counter(
        session.scalars(sa.select(Enrolment.patient_id).where(Enrolment.end_date.is_(None)))
    )
    assert set(open_enrolments) == current
    assert set(open_enrolments.values()) == {1}
    current_track = {
        e.patient_id: e.track_id
        for e in session.scalars(sa.select(Enrolment).where(Enrolment.end_date.is_(None)))
    }
    open_memberships = list(
        session.scalars(sa.select(GroupMembership).where(GroupMembership.end_date.is_(None)))
    )
    assert Counter(m.patient_id for m in open_memberships) == Counter({patient_id: 1 for patient_id in current})
    for membership in open_memberships:
        assert membership.group.track_id == current_track[membership.patient_id]
    for enrolment in session.scalars(sa.select(Enrolment)):
        assert enrolment.primary_counselor.role == "counselor"
        assert (enrolment.end_date is None) == (enrolment.status == "active")

    # Attendance: only held sessions, only the roster of the day, and all of it.
    memberships = defaultdict(list)
    for m in session.scalars(sa.select(GroupMembership)):
        memberships[m.group_id].append(m)
    rows = defaultdict(set)
    for row in session.scalars(sa.select(Attendance)):
        sess = row.session
        assert sess.status == "held"
        if row.status in ("absent", "excused"):
            assert row.minutes_attended == 0
            assert row.engagement is None
        else:
            assert 1 <= row.minutes_attended <= sess.duration_minutes
            assert 1 <= row.engagement <= 5
        if row.status == "present":
            assert row.minutes_attended == sess.duration_minutes
        assert row.recorded_by_id == sess.facilitator_id
        rows[sess.id].add(row.patient_id)
    for sess in session.scalars(sa.select(GroupSession)):
        day = sess.starts_at.date()
        # Yesterday's sessions are left for "My day" to show as waiting for a record.
        assert sess.status == ("held" if day < TODAY - timedelta(days=1) else "planned")
        assert (sess.recorded_at is not None) == (sess.status == "held")
        if sess.signed_at is not None:
            assert sess.signed_by_id == sess.facilitator_id and sess.recorded_at is not None
        roster = {
            m.patient_id
            for m in memberships[sess.group_id]
            if m.start_date <= day and (m.end_date is None or day <= m.end_date)
        }
        assert len(roster) <= sess.group.capacity
        assert rows.get(sess.id, set()) == (roster if sess.status == "held" else set())

    # Assignments: the starter plans of every enrolment plus one or two more for the current
    # track, each suiting the track the patient was in when it started; never a duplicate.
    assignments = list(session.scalars(sa.select(Assignment)))
    extra = Counter(a.patient_id for a in assignments if a.source != "track")
    assert set(extra) == current
    assert set(extra.values()) <= {1, 2}
    assert len({(a.patient_id, a.exercise_id) for a in assignments}) == len(assignments)
    enrolments = list(session.scalars(sa.select(Enrolment)))

    def track_on(patient_id, day):
        (enrolment,) = [e for e in enrolments if e.patient_id == patient_id and e.start_date <= day
                        and (e.end_date is None or day <= e.end_date)]
        return enrolment.track

    for assignment in assignments:
        assert assignment.status == ("stopped" if assignment.patient_id in discharged else "active")
        track = track_on(assignment.patient_id, assignment.start_date)
        assert assignment.exercise.suits_track(track.id)
        if track.code == "inpatient":
            assert "volunteer" not in assignment.exercise.title.lower()
        assert assignment.assigned_by.role == "planner"
        assert assignment.start_date <= TODAY
        assert assignment.due_date is None or assignment.due_date >= assignment.start_date

    # Check-ins: past days within the assignment, moods on the 0-10 scale.
    checkins = list(session.scalars(sa.select(ExerciseCheckin)))
    assert checkins
    gains = []
    for checkin in checkins:
        assert checkin.assignment.start_date <= checkin.on_date < TODAY
        assert 0 <= checkin.mood_before <= 10
        if checkin.mood_after is not None:
            assert 0 <= checkin.mood_after <= 10
            gains.append(checkin.mood_after - checkin.mood_before)
        else:
            assert checkin.outcome == "not_done"
        if checkin.session is not None:
            assert checkin.session.starts_at.date() == checkin.on_date
    assert sum(gains) > 0
    assert sum(1 for gain in gains if gain >= 0) > 0.8 * len(gains)
    assert {c.outcome for c in checkins} == {"done", "partly", "not_done"}


def test_demo_keeps_a_step_down_history(demo):
    stepped = list(
        db.session.scalars(sa.select(Enrolment).where(Enrolment.status == "stepped_down"))
    )
    assert stepped
    kinds = set()
    for old in stepped:
        later = [e for e in old.patient.enrolments if e.start_date > old.start_date]
        assert later, "a stepped-down enrolment is followed by the next one"
        following = min(later, key=lambda e: e.start_date)
        assert following.start_date == old.end_date + timedelta(days=1)
        assert following.track.care_level == old.track.care_level + 1
        kinds.add((old.track.code, following.track.code))
    assert ("inpatient", "intensive") in kinds


def test_demo_schedules_meet_each_track_weekly_minimum(demo):
    start = datetime.combine(TODAY, time(0, 0))
    week = (start, start + timedelta(days=7))
    for group in db.session.scalars(sa.select(CareGroup)):
        sessions = list(
            db.session.scalars(
                sa.select(GroupSession).where(
                    GroupSession.group_id == group.id,
                    GroupSession.starts_at >= week[0],
                    GroupSession.starts_at < week[1],
                )
            )
        )
        minutes = sum(s.duration_minutes for s in sessions)
        days = {s.starts_at.date() for s in sessions}
        assert minutes >= group.track.weekly_min_minutes, group.name
        assert len(days) >= group.track.weekly_min_days, group.name
        assert group.facilitator.role == "counselor"
        for s in sessions:
            assert s.room == group.room and s.series_id
            if s.activity is not None:
                assert group.track in s.activity.tracks


def test_each_track_gets_a_starter_plan_that_suits_it(app):
    with app.app_context():
        load_reference()
        for track in db.session.scalars(sa.select(Track)):
            assert track.starter_exercises, track.code
            for exercise in track.starter_exercises:
                assert exercise.suits_track(track.id), (track.code, exercise.title)
        inpatient = db.session.scalar(sa.select(Track).where(Track.code == "inpatient"))
        assert {e.energy for e in inpatient.starter_exercises} == {"low"}
        assert {e.direction for e in inpatient.starter_exercises} == {"self"}


# ---------------------------------------------------------------------------
# Enrolments in the demo are real ones: each brings its track's starter plan
# ---------------------------------------------------------------------------


def test_every_demo_enrolment_brings_its_tracks_starter_plan(demo):
    enrolments = list(db.session.scalars(sa.select(Enrolment)))
    assert len(enrolments) > demo.counts["patients"], "some patients stepped down"
    track_assignments = {
        (a.patient_id, a.exercise_id): a
        for a in db.session.scalars(sa.select(Assignment).where(Assignment.source == "track"))
    }
    checked = 0
    for enrolment in enrolments:
        starters = [e for e in enrolment.track.starter_exercises if e.active]
        assert starters, enrolment.track.code
        for exercise in starters:
            assignment = track_assignments.get((enrolment.patient_id, exercise.id))
            assert assignment is not None, (enrolment.track.code, exercise.title)
            # An exercise in two tracks' plans is assigned once, when first due.
            assert assignment.start_date <= enrolment.start_date
            assert assignment.times_per_week == exercise.default_times_per_week
            checked += 1
    first_starts = {(a.patient_id, a.start_date) for a in track_assignments.values()}
    assert all((e.patient_id, e.start_date) in first_starts for e in enrolments)
    assert checked >= 2 * len(enrolments)


def test_demo_step_downs_end_the_old_groups_with_the_old_enrolment(demo):
    for old in db.session.scalars(sa.select(Enrolment).where(Enrolment.status == "stepped_down")):
        assert old.end_reason.startswith("Stepped down to ")
        for membership in db.session.scalars(
            sa.select(GroupMembership).where(GroupMembership.patient_id == old.patient_id)
        ):
            if membership.group.track_id == old.track_id:
                assert membership.end_date == old.end_date


def test_demo_discharges_end_enrolment_memberships_and_assignments_together(demo):
    discharged = list(db.session.scalars(sa.select(Enrolment).where(Enrolment.status == "discharged")))
    assert discharged
    for old in discharged:
        assert TODAY - timedelta(days=14) <= old.end_date < TODAY
        memberships = list(db.session.scalars(
            sa.select(GroupMembership).where(GroupMembership.patient_id == old.patient_id)))
        assert memberships and all(m.end_date == old.end_date for m in memberships)
        statuses = set(db.session.scalars(sa.select(Assignment.status).where(Assignment.patient_id == old.patient_id)))
        assert statuses == {"stopped"}
        attended = db.session.scalars(
            sa.select(Attendance).where(Attendance.patient_id == old.patient_id)).all()
        assert attended and all(a.session.starts_at.date() <= old.end_date for a in attended)


def test_demo_records_are_signed_only_when_older_than_three_days(demo):
    sessions = list(db.session.scalars(sa.select(GroupSession)))
    signed = [s for s in sessions if s.signed_at is not None]
    assert signed
    assert all(s.starts_at.date() < TODAY - timedelta(days=3) for s in signed)
    assert any(s.recorded_at is not None and s.signed_at is None for s in sessions)
    assert all(s.recorded_at is None for s in sessions if s.starts_at.date() >= TODAY - timedelta(days=1))


def test_demo_gives_several_patients_weekly_connectedness_answers_for_weeks_already_over(demo):
    rows = db.session.scalars(sa.select(ConnectednessRating)).all()
    weeks_per_patient = Counter(r.patient_id for r in rows)
    assert demo.counts["connectedness"] == len(rows)
    assert len(weeks_per_patient) >= 10 and max(weeks_per_patient.values()) >= 3
    assert all(r.week_start.weekday() == 0 and r.week_start + timedelta(days=6) < TODAY for r in rows)
    assert all(0 <= r.rating <= 10 and r.recorded_by_id is not None for r in rows)
    discharged = set(db.session.scalars(sa.select(Enrolment.patient_id).where(Enrolment.status == "discharged")))
    assert not discharged & set(weeks_per_patient)


def test_demo_gives_falling_phq9_scores_one_assessed_item_9_answer_and_one_overdue_measure(demo):
    """Measurement-based care in the demo: several patients improving on the PHQ-9, one item 9
    answered 1 with its safety task closed by a risk assessment, one patient overdue."""
    from clinic.models import MeasureAdministration, MeasureItem, SafetyTask
    from clinic.services import measure_schedule

    rows = db.session.scalars(sa.select(MeasureAdministration).order_by(MeasureAdministration.administered_on)).all()
    assert demo.counts["measures"] == len(rows) > 100
    assert all(r.signed_at is not None and r.administered_on <= TODAY for r in rows)
    phq9 = defaultdict(list)
    for r in rows:
        if r.instrument == "phq9":
            phq9[r.patient_id].append(r.total)
    falling = [p for p, totals in phq9.items() if len(totals) >= 3 and totals[-1] < totals[0] - 3]
    assert len(falling) >= 5
    item9 = db.session.scalars(sa.select(MeasureItem).where(MeasureItem.item_number == 9, MeasureItem.answer > 0)).all()
    assert [i.answer for i in item9] == [1]
    [task] = db.session.scalars(sa.select(SafetyTask)).all()
    assert task.closed_at is not None and task.risk_level == "low" and task.action_taken
    overdue = [(p, d.instrument) for p in db.session.scalars(sa.select(Patient.id))
               for d in measure_schedule.patient_schedule(p, TODAY) if d.overdue]
    assert len({p for p, _code in overdue}) == 1 and {code for _p, code in overdue} == {"phq9", "gad7"}


def test_the_demo_is_the_same_every_time(app, backend, sqlite_template, tmp_path):
    if backend != "sqlite":
        pytest.skip("two loads on one backend are enough to compare")
    from conftest import _make_app

    other = tmp_path / "other.sqlite"
    shutil.copy(sqlite_template, other)
    second = _make_app(f"sqlite:///{other}", tmp_path)

    def snapshot():
        return (
            sorted((p.record_number, p.first_name, p.last_name, p.preferred_name)
                   for p in db.session.scalars(sa.select(Patient))),
            sorted((e.patient.record_number, e.track.code, e.start_date, e.end_date)
                   for e in db.session.scalars(sa.select(Enrolment))),
            sorted((a.patient.record_number, a.exercise.title, a.start_date, a.source)
                   for a in db.session.scalars(sa.select(Assignment))),
            sorted((s.group.name, s.starts_at, s.activity.name if s.activity else None, s.status)
                   for s in db.session.scalars(sa.select(GroupSession))),
            count(Attendance), count(ExerciseCheckin),
            sorted((r.patient.record_number, r.week_start, r.rating)
                   for r in db.session.scalars(sa.select(ConnectednessRating).options(
                       sa.orm.joinedload(ConnectednessRating.patient)))),
        )

    snapshots = []
    for application in (app, second):
        with application.app_context():
            load_demo(today=TODAY)
            snapshots.append(snapshot())
            db.session.remove()
    with second.app_context():
        db.engine.dispose()
    assert snapshots[0] == snapshots[1]


# ---------------------------------------------------------------------------
# flask seed from the command line
# ---------------------------------------------------------------------------


def one_line_error(result) -> str:
    assert result.exit_code not in (0, None), result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def test_seed_demo_in_production_refuses_before_writing_anything(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "CLINIC_ENV", "production")
    result = runner.invoke(args=["seed", "--demo"])
    assert "production" in one_line_error(result)
    with app.app_context():
        assert set(all_counts().values()) == {0}, "not even the reference data"


def test_seed_demo_with_a_broken_demo_file_writes_nothing(app, runner, monkeypatch, tmp_path):
    folder = tmp_path / "seed"
    folder.mkdir()
    (folder / "reference.toml").write_text((SEED_DIR / "reference.toml").read_text())
    (folder / "demo.toml").write_text((SEED_DIR / "demo.toml").read_text().replace('record_prefix = "DEMO-"',
                                                                                    'record_prefix = "REAL-"'))
    monkeypatch.setitem(app.config, "SEED_DIR", str(folder))
    result = runner.invoke(args=["seed", "--demo"])
    assert "DEMO" in one_line_error(result)
    with app.app_context():
        assert set(all_counts().values()) == {0}


def test_seed_without_demo_is_idempotent_in_production(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "CLINIC_ENV", "production")
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("Reference data: created 3 tracks")
    with app.app_context():
        after_first = all_counts()
    second = runner.invoke(args=["seed"])
    assert second.exit_code == 0, second.output
    assert "nothing new (already loaded)" in second.output
    with app.app_context():
        assert all_counts() == after_first
        assert after_first["Patient"] == 0


def test_seed_demo_prints_the_logins_and_a_second_run_changes_nothing(app, runner):
    result = runner.invoke(args=["seed", "--demo"])
    assert result.exit_code == 0, result.output
    assert "Loaded the demo clinic: 42 patients" in result.output
    for password in DEMO_PASSWORDS.values():
        assert password in result.output
    with app.app_context():
        before = all_counts()
    again = runner.invoke(args=["seed", "--demo"])
    assert again.exit_code == 0, again.output
    assert "nothing new" in again.output and "not loaded" in again.output
    with app.app_context():
        assert all_counts() == before
