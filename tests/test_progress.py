"""Progress figures and the patient's own view of their session records."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
import sqlalchemy as sa
from flask import render_template
from flask_login import login_user

from clinic.extensions import db
from clinic.models import Activity, Assignment, Attendance, ExerciseCheckin, GroupSession, KindnessExercise
from clinic.services.participation import patient_figures
from clinic.services.progress import patient_participation

#: A Thursday: its week runs from Monday 9 to Sunday 15 March, its four weeks from 13 February.
TODAY = date(2026, 3, 12)


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour))


def session(group, day: date, *, hour: int = 10, minutes: int = 60, status: str = "held",
            recorded: bool = True, **kw) -> GroupSession:
    """A session of ``group``; held sessions are recorded unless told otherwise."""
    s = GroupSession(group_id=group.id, starts_at=_at(day, hour), duration_minutes=minutes, status=status,
                     room="Room 1", recorded_at=_at(day, hour + 3) if recorded else None, **kw)
    db.session.add(s)
    db.session.commit()
    return s


def attend(s: GroupSession, patient, status: str = "present", minutes: int | None = None, **kw) -> Attendance:
    """An attendance row; present means the whole session unless ``minutes`` says otherwise."""
    if minutes is None:
        minutes = 0 if status in ("absent", "excused") else s.duration_minutes
    row = Attendance(session_id=s.id, patient_id=patient.id, status=status, minutes_attended=minutes, **kw)
    db.session.add(row)
    db.session.commit()
    return row


def exercise(title: str) -> KindnessExercise:
    e = KindnessExercise(title=title, direction="self", energy="low")
    db.session.add(e)
    db.session.commit()
    return e


def assignment(patient, ex, start: date, *, times_per_week: int = 3, status: str = "active") -> Assignment:
    a = Assignment(exercise_id=ex.id, patient_id=patient.id, start_date=start,
                   times_per_week=times_per_week, status=status)
    db.session.add(a)
    db.session.commit()
    return a


def checkin(a: Assignment, day: date, outcome: str, before: int | None = None, after: int | None = None):
    c = ExerciseCheckin(assignment_id=a.id, on_date=day, outcome=outcome, mood_before=before, mood_after=after)
    db.session.add(c)
    db.session.commit()
    return c


@pytest.fixture
def example(make):
    """A patient with two groups, a guest visit, and check-ins in and out of the window."""
    iop = make.track("iop")  # 540 minutes on 3 days a week
    patient = make.patient()
    other = make.patient()
    make.enrolment(patient, iop, start=date(2026, 1, 5))
    make.enrolment(other, iop, start=date(2026, 1, 5))
    mine = make.group(iop)
    former = make.group(iop)
    visited = make.group(iop)
    make.membership(mine, patient, start=date(2026, 2, 2))
    make.membership(former, patient, start=date(2026, 1, 5), end_date=date(2026, 1, 31))
    make.membership(mine, other, start=date(2026, 1, 5))

    # Offered and attended, long ago, in the group the patient has since left.
    attend(session(former, date(2026, 1, 20)), patient)
    # Not offered: after the patient left that group, and before they joined this one.
    session(former, date(2026, 2, 10))
    before_joining = session(mine, date(2026, 1, 26))
    attend(before_joining, other)
    # Offered, absent, before the four-week window.
    attend(session(mine, date(2026, 2, 9)), patient, "absent")
    # Cancelled: never offered.
    session(mine, date(2026, 2, 16), status="cancelled", recorded=False)
    # In the window: late for 45 of 60 minutes.
    attend(session(mine, date(2026, 2, 23)), patient, "late", 45)
    # A guest visit to another group counts as offered and attended.
    attend(session(visited, date(2026, 3, 5)), patient)
    # This week: Monday 180 minutes, Tuesday left early after 90, Wednesday excused.
    monday = session(mine, date(2026, 3, 9), minutes=180)
    attend(monday, patient)
    attend(monday, other)
    attend(session(mine, date(2026, 3, 10), minutes=180), patient, "left_early", 90)
    attend(session(mine, date(2026, 3, 11), minutes=120), patient, "excused")
    # Later today, not recorded yet; tomorrow's is not offered yet but is on this week's plan.
    session(mine, TODAY, hour=18, minutes=120, status="planned", recorded=False)
    session(mine, date(2026, 3, 13), minutes=120, status="planned", recorded=False)

    daily = assignment(patient, exercise("Note of appreciation"), date(2026, 2, 1))
    stopped = assignment(patient, exercise("Treat yourself"), date(2026, 1, 10), times_per_week=2,
                         status="stopped")
    checkin(daily, date(2026, 2, 1), "done", 2, 8)  # before the window
    checkin(daily, date(2026, 2, 20), "done", 3, 5)  # +2
    checkin(daily, date(2026, 2, 27), "partly", 4, 4)  # 0
    checkin(daily, date(2026, 3, 5), "not_done", 5, None)  # no mood change
    checkin(daily, date(2026, 3, 11), "done")
    checkin(stopped, date(2026, 2, 15), "partly", 6, 3)  # -3
    theirs = assignment(other, exercise("Compliment someone"), date(2026, 2, 1))
    checkin(theirs, date(2026, 3, 10), "done", 0, 10)
    return patient


def test_sessions_offered_count_only_uncancelled_sessions_while_a_member_and_attended_ones(example):
    figures = patient_figures(example.id, TODAY)

    assert figures.sessions_offered == 8
    assert figures.sessions_attended == 5
    assert figures.sessions_offered_4w == 6
    assert figures.sessions_attended_4w == 4
    assert figures.sessions_unrecorded == 1
    assert figures.attendance_rate == pytest.approx(5 / 8)
    assert figures.attendance_rate_4w == pytest.approx(4 / 6)


def test_hours_this_week_are_measured_against_the_track_minimum(example):
    figures = patient_figures(example.id, TODAY)

    assert (figures.week_start, figures.week_end) == (date(2026, 3, 9), date(2026, 3, 15))
    assert figures.minutes_this_week == 270
    assert figures.hours_this_week == 4.5
    assert figures.days_this_week == 2
    assert figures.minutes_offered_this_week == 180 + 180 + 120 + 120 + 120
    assert figures.track_name == "Intensive outpatient (IOP)"
    assert (figures.weekly_min_minutes, figures.weekly_min_days, figures.min_hours) == (540, 3, 9.0)
    assert figures.minutes_short == 270
    assert figures.days_short == 1
    assert figures.below_minimum is True


def test_completion_rate_and_mood_change_cover_the_last_four_weeks_of_the_patients_check_ins(example):
    figures = patient_figures(example.id, TODAY)

    assert figures.checkins_4w == 5
    assert figures.completion_score_4w == 3.0  # done 1 + partly 0.5 + not done 0 + done 1 + partly 0.5
    assert figures.completion_rate == pytest.approx(0.6)
    assert figures.expected_checkins_4w == 12  # 3 a week over the 28 days of the active assignment
    assert figures.mood_count_4w == 3
    assert figures.mood_change == pytest.approx(-1 / 3)


def test_a_week_that_meets_the_minimum_is_not_flagged(make):
    iop = make.track("iop")
    patient = make.patient()
    make.enrolment(patient, iop, start=date(2026, 1, 5))
    group = make.group(iop)
    make.membership(group, patient, start=date(2026, 1, 5))
    for day in (date(2026, 3, 9), date(2026, 3, 10), date(2026, 3, 11)):
        attend(session(group, day, minutes=180), patient)

    figures = patient_figures(patient.id, TODAY)

    assert (figures.minutes_this_week, figures.days_this_week) == (540, 3)
    assert (figures.minutes_short, figures.days_short, figures.below_minimum) == (0, 0, False)


def test_figures_are_none_where_there_is_nothing_to_base_them_on(make):
    patient = make.patient()

    figures = patient_figures(patient.id, TODAY)

    assert (figures.sessions_offered, figures.sessions_attended, figures.minutes_this_week) == (0, 0, 0)
    assert figures.attendance_rate is None and figures.attendance_rate_4w is None
    assert figures.track_name is None and figures.weekly_min_minutes is None
    assert figures.below_minimum is None and figures.minutes_short is None
    assert figures.completion_rate is None and figures.expected_checkins_4w is None
    assert figures.mood_change is None and figures.mood_count_4w == 0


def test_patient_figures_take_four_statements_however_much_data_there_is(example, ctx):
    patient_id = example.id
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    db.session.expire_all()
    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        patient_figures(patient_id, TODAY)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 4


# The patient's own records -------------------------------------------------------
@pytest.fixture
def shared_session(make):
    """One session with two participants, each with a distinctive individual note."""
    iop = make.track("iop")
    staff = make.staff("counselor")
    kiwi = make.patient(first_name="Kiwiana", last_name="Orchardson")
    mango = make.patient(first_name="Mangolia", last_name="Tropicanez", preferred_name="Mango")
    group = make.group(iop, staff, name="IOP Evening A")
    make.membership(group, kiwi, start=date(2026, 1, 5))
    make.membership(group, mango, start=date(2026, 1, 5))
    activity = Activity(name="Gratitude circle", default_minutes=90)
    db.session.add(activity)
    db.session.commit()
    older = session(group, date(2026, 3, 2), activity_id=activity.id, group_note="First circle.")
    newer = session(group, date(2026, 3, 9), minutes=90, activity_id=activity.id,
                    group_note="Everyone shared one small win.")
    attend(older, kiwi, "present", note="Kiwi: quiet but stayed <b>all</b> session")
    attend(newer, kiwi, "late", 70, engagement=4, note="Kiwi-private: spoke about her sister")
    attend(older, mango, "present", note="MANGO-SECRET: disclosed a relapse")
    attend(newer, mango, "present", engagement=2, note="MANGO-SECRET: left in tears")
    return kiwi, mango, newer


def test_participation_lists_the_patients_own_entries_newest_first_with_the_group_note(shared_session):
    kiwi, _mango, newer = shared_session

    records = patient_participation(kiwi.id)

    assert [r.starts_at.date() for r in records] == [date(2026, 3, 9), date(2026, 3, 2)]
    latest = records[0]
    assert latest.session_id == newer.id
    assert (latest.group_name, latest.activity_name) == ("IOP Evening A", "Gratitude circle")
    assert (latest.status, latest.minutes_attended, latest.duration_minutes, latest.engagement) == ("late", 70, 90, 4)
    assert latest.note == "Kiwi-private: spoke about her sister"
    assert latest.group_note == "Everyone shared one small win."
    assert patient_participation(kiwi.id, limit=1) == records[:1]


def test_participation_never_contains_another_participants_note_or_name(shared_session):
    kiwi, mango, _newer = shared_session

    everything = repr(patient_participation(kiwi.id))

    assert "Kiwi-private" in everything
    for foreign in ("MANGO-SECRET", "Mangolia", "Tropicanez", "Mango", mango.record_number):
        assert foreign not in everything
    assert "Kiwi" not in repr(patient_participation(mango.id))


def test_the_participation_include_shows_own_entries_escaped_and_nothing_of_other_participants(
    shared_session, app, make
):
    from clinic.admin.day import participation_context

    kiwi, _mango, _newer = shared_session
    admin = make.staff("admin")
    kiwi_assignment = assignment(kiwi, exercise("Celebrate a small win"), date(2026, 3, 1))
    with app.test_request_context("/admin/patients/details/"):
        login_user(admin)
        html = render_template("admin/patient/_participation.html",
                               participation=participation_context(kiwi, TODAY), model=kiwi)

    assert "Kiwi-private: spoke about her sister" in html
    assert "Everyone shared one small win." in html
    assert "stayed &lt;b&gt;all&lt;/b&gt; session" in html
    assert "<b>all</b>" not in html
    assert "MANGO-SECRET" not in html and "Mangolia" not in html and "Tropicanez" not in html
    assert f'href="/admin/day/checkin/?assignment={kiwi_assignment.id}"' in html
    assert "Not enrolled in a track today" in html


def test_the_participation_include_shows_the_figures_and_flags_a_short_week(example, app):
    from clinic.admin.day import participation_context

    with app.test_request_context("/admin/patients/details/"):
        html = render_template("admin/patient/_participation.html",
                               participation=participation_context(example, TODAY), model=example)

    assert "Attended 5 of 8 offered" in html
    assert "Last 4 weeks: 4 of 6" in html
    assert "4.5 h on 2 days" in html
    assert "minimum: 9.0 h on 3 days" in html
    assert 'id="week-below-minimum"' in html and "4.5 h short, 1 day short" in html
    assert "60% completed over 5 check-ins" in html
    assert "About 12 check-ins expected" in html
    assert "-0.3 on average" in html and "over 3 check-ins with both" in html
    assert "Check in</a>" not in html  # nobody is logged in, so no check-in links
