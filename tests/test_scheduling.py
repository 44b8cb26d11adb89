"""Recurring sessions: creating a series, changing or cancelling occurrences, and clashes."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from clinic.extensions import db
from clinic.models import Activity, AuditEvent, GroupSession
from clinic.services import series as series_service
from clinic.services.errors import RuleViolation

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


@pytest.fixture
def iop(make):
    """An IOP group led by Wrenna Stillwater in Room 2, and a second group in the same track."""
    track = make.track("iop")
    wrenna = make.staff("counselor", full_name="Wrenna Stillwater")
    other = make.staff("counselor", full_name="Odo Fairweather")
    evening = make.group(track, wrenna, name="IOP Evening A", room="Room 2")
    morning = make.group(track, other, name="IOP Morning B", room="Room 5")
    circle = Activity(name="Gratitude circle", default_minutes=90)
    db.session.add(circle)
    db.session.commit()
    return {"track": track, "wrenna": wrenna, "other": other, "evening": evening,
            "morning": morning, "circle": circle}


def _session(group, starts_at, minutes=60, **kw):
    session = GroupSession(group_id=group.id, starts_at=starts_at, duration_minutes=minutes,
                           room=kw.pop("room", group.room), facilitator_id=kw.pop("facilitator_id", group.facilitator_id),
                           status=kw.pop("status", "planned"), **kw)
    db.session.add(session)
    db.session.commit()
    return session


def _sessions_of(group):
    return db.session.scalars(
        sa.select(GroupSession).where(GroupSession.group_id == group.id).order_by(GroupSession.starts_at)
    ).all()


def _series(iop, **kw):
    args = dict(weekdays=[MON, WED, THU], start_time=time(17, 0), duration_minutes=90,
                activity=iop["circle"], start_date=date(2026, 3, 2), until=date(2026, 3, 19))
    args.update(kw)
    return series_service.create_series(iop["evening"], **args)


# Creating a series ---------------------------------------------------------------
def test_a_monday_wednesday_thursday_series_for_three_weeks_creates_exactly_those_nine_sessions(ctx, iop):
    _series(iop)

    sessions = _sessions_of(iop["evening"])
    assert [s.starts_at for s in sessions] == [
        datetime(2026, 3, 2, 17), datetime(2026, 3, 4, 17), datetime(2026, 3, 5, 17),
        datetime(2026, 3, 9, 17), datetime(2026, 3, 11, 17), datetime(2026, 3, 12, 17),
        datetime(2026, 3, 16, 17), datetime(2026, 3, 18, 17), datetime(2026, 3, 19, 17),
    ]
    assert {s.duration_minutes for s in sessions} == {90}
    assert {s.status for s in sessions} == {"planned"}
    assert {s.activity_id for s in sessions} == {iop["circle"].id}


def test_a_series_takes_the_groups_room_and_facilitator_unless_others_are_given(ctx, iop):
    _series(iop, count=1, until=None)
    _series(iop, count=1, until=None, start_date=date(2026, 4, 1), room="Garden room",
            facilitator=iop["other"])

    first, second = _sessions_of(iop["evening"])
    assert (first.room, first.facilitator_id) == ("Room 2", iop["wrenna"].id)
    assert (second.room, second.facilitator_id) == ("Garden room", iop["other"].id)


def test_a_series_by_count_stops_after_that_many_sessions_counting_from_the_start_date(ctx, iop):
    _series(iop, weekdays=[MON, WED], start_date=date(2026, 3, 4), until=None, count=4)

    assert [s.starts_at for s in _sessions_of(iop["evening"])] == [
        datetime(2026, 3, 4, 17), datetime(2026, 3, 9, 17),
        datetime(2026, 3, 11, 17), datetime(2026, 3, 16, 17),
    ]


def test_every_session_of_a_series_shares_one_series_id_and_the_next_series_gets_its_own(ctx, iop):
    first = _series(iop)
    second = _series(iop, weekdays=[FRI])

    assert len({s.series_id for s in first}) == 1
    assert len({s.series_id for s in second}) == 1
    assert first[0].series_id != second[0].series_id
    assert len(first[0].series_id) == 36


def test_creating_a_series_writes_one_audit_create_event_per_session(ctx, iop):
    sessions = _series(iop)
    ids = sorted(str(s.id) for s in sessions)

    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity == "group_session", AuditEvent.action == "create")
    ).all()
    assert sorted(e.entity_id for e in events) == ids
    assert all(e.changes["series_id"][1] == sessions[0].series_id for e in events)


def test_a_series_that_clashes_with_the_facilitators_other_session_is_refused_whole(ctx, iop):
    # Wrenna also leads a one-off session of the morning group on the second Wednesday.
    _session(iop["morning"], datetime(2026, 3, 11, 17, 30), 60, facilitator_id=iop["wrenna"].id)

    with pytest.raises(RuleViolation) as refused:
        _series(iop)

    message = str(refused.value)
    assert "Wrenna Stillwater already leads IOP Morning B on 2026-03-11 17:30–18:30" in message
    assert "2026-03-11 17:00–18:30" in message  # the occurrence that could not be booked
    db.session.rollback()
    assert _sessions_of(iop["evening"]) == []


def test_a_series_that_clashes_with_a_booked_room_is_refused_and_names_the_room(ctx, iop):
    _session(iop["morning"], datetime(2026, 3, 19, 16, 0), 120, room="room 2")

    with pytest.raises(RuleViolation) as refused:
        _series(iop)

    assert "Room 2 is already booked for IOP Morning B on 2026-03-19 16:00–18:00" in str(refused.value)
    db.session.rollback()
    assert _sessions_of(iop["evening"]) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GroupSession)) == 1


def test_a_session_ending_when_the_series_starts_is_not_a_clash(ctx, iop):
    _session(iop["morning"], datetime(2026, 3, 2, 15, 30), 90, facilitator_id=iop["wrenna"].id, room="Room 2")

    assert len(_series(iop)) == 9


def test_a_cancelled_session_does_not_block_its_time_slot(ctx, iop):
    _session(iop["morning"], datetime(2026, 3, 2, 17, 0), 90, facilitator_id=iop["wrenna"].id,
             status="cancelled")

    assert len(_series(iop)) == 9


def test_two_new_bookings_that_overlap_each_other_are_refused(ctx, iop):
    wrenna = iop["wrenna"].id
    with pytest.raises(RuleViolation, match="Wrenna Stillwater would already lead another session"):
        series_service.check_clashes([
            series_service.Booking(datetime(2026, 3, 2, 17), datetime(2026, 3, 2, 18), wrenna, "Room 2"),
            series_service.Booking(datetime(2026, 3, 2, 17, 30), datetime(2026, 3, 2, 19), wrenna, "Room 9"),
        ])


@pytest.mark.parametrize(
    "changes, refusal",
    [
        ({"weekdays": []}, "Choose at least one weekday"),
        ({"until": date(2026, 2, 27)}, "cannot end (2026-02-27) before it starts (2026-03-02)"),
        ({"until": None, "count": 0}, "at least one session"),
        ({"until": None, "count": None}, "an end date, a number of sessions or a number of weeks"),
        ({"until": None, "weeks": 0}, "1 to 52 weeks"),
        ({"until": None, "weeks": 53}, "1 to 52 weeks"),
        ({"weeks": 2}, "not both"),
        ({"count": 3}, "not both"),
        ({"until": None, "count": 201}, "at most 200 sessions"),
        ({"until": date(2028, 1, 1)}, "more than 200 sessions"),
        ({"duration_minutes": 0}, "between 1 and 720 minutes"),
        ({"weekdays": [7]}, "not a weekday"),
    ],
)
def test_a_series_that_breaks_a_limit_is_refused_with_a_reason_and_creates_nothing(ctx, iop, changes, refusal):
    with pytest.raises(RuleViolation) as refused:
        _series(iop, **changes)

    assert refusal in str(refused.value)
    db.session.rollback()
    assert _sessions_of(iop["evening"]) == []


def test_an_inactive_group_gets_no_new_sessions(ctx, iop):
    iop["evening"].active = False
    db.session.commit()

    with pytest.raises(RuleViolation, match="inactive"):
        _series(iop)


def test_the_clash_check_runs_the_same_queries_for_two_sessions_and_for_a_hundred(ctx, iop):
    # Busy calendars for both the facilitator and the room.
    for week in range(30):
        _session(iop["morning"], datetime(2026, 3, 3, 9) + (datetime(2026, 3, 10) - datetime(2026, 3, 3)) * week,
                 60, facilitator_id=iop["wrenna"].id, room="Room 2")

    def statements_for(count, start):
        seen = []
        listener = lambda *args, **kw: seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            series_service.create_series(iop["evening"], weekdays=[MON, WED, THU], start_time=time(17),
                                     duration_minutes=90, start_date=start, count=count, commit=False)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        db.session.rollback()
        return [s for s in seen if s.lstrip().upper().startswith("SELECT")]

    few = statements_for(2, date(2026, 3, 2))
    many = statements_for(100, date(2026, 3, 2))
    assert len(few) == len(many) <= 3, (few, many)


# Changing and cancelling occurrences ------------------------------------------------
NOW = datetime(2026, 3, 10, 12, 0)  # a Tuesday: the first three sessions below are past


@pytest.fixture
def series(ctx, iop):
    """Mon/Wed 17:00 sessions from 2026-03-02: 03-02, 03-04, 03-09 are past; 03-11 … 03-25 are not."""
    sessions = _series(iop, weekdays=[MON, WED], until=date(2026, 3, 25))
    return [s.id for s in sessions]


def _by_id(ids):
    db.session.expire_all()
    return [db.session.get(GroupSession, i) for i in ids]


def test_changing_this_occurrence_moves_only_that_session(iop, series):
    target = db.session.get(GroupSession, series[4])  # 2026-03-16

    series_service.update_occurrence(target, scope="this", starts_time=time(18, 15), now=NOW)

    sessions = _by_id(series)
    assert sessions[4].starts_at == datetime(2026, 3, 16, 18, 15)
    assert {s.starts_at.time() for i, s in enumerate(sessions) if i != 4} == {time(17)}


def test_changing_this_and_following_leaves_earlier_past_and_held_sessions_untouched(iop, series):
    held = db.session.get(GroupSession, series[5])  # 2026-03-18, recorded early as held
    held.status = "held"
    db.session.commit()
    target = db.session.get(GroupSession, series[3])  # 2026-03-11

    changed = series_service.update_occurrence(target, scope="following", room="Garden room",
                                           duration_minutes=60, activity=None, now=NOW)

    assert sorted(s.id for s in changed) == [series[3], series[4], series[6], series[7]]
    sessions = _by_id(series)
    assert [s.room for s in sessions] == ["Room 2"] * 3 + ["Garden room"] * 2 + ["Room 2"] + ["Garden room"] * 2
    assert [s.duration_minutes for s in sessions] == [90] * 3 + [60] * 2 + [90] + [60] * 2
    assert sessions[0].activity_id == iop["circle"].id
    assert sessions[3].activity_id is None


def test_this_and_following_from_a_past_session_changes_only_the_later_planned_ones(iop, series):
    past = db.session.get(GroupSession, series[0])

    changed = series_service.update_occurrence(past, scope="following", facilitator=iop["other"], now=NOW)

    assert sorted(s.id for s in changed) == series[3:]
    sessions = _by_id(series)
    assert [s.facilitator_id for s in sessions[:3]] == [iop["wrenna"].id] * 3
    assert {s.facilitator_id for s in sessions[3:]} == {iop["other"].id}


def test_a_past_session_cannot_be_changed_on_its_own(iop, series):
    past = db.session.get(GroupSession, series[2])  # 2026-03-09

    with pytest.raises(RuleViolation, match="in the past"):
        series_service.update_occurrence(past, scope="this", room="Garden room", now=NOW)
    with pytest.raises(RuleViolation, match="in the past"):
        series_service.cancel_occurrence(past, scope="this", now=NOW)
    assert _by_id([series[2]])[0].room == "Room 2"


def test_a_held_session_cannot_be_changed_even_before_its_start(iop, series):
    held = db.session.get(GroupSession, series[6])
    held.status = "held"
    db.session.commit()

    with pytest.raises(RuleViolation, match="already held"):
        series_service.update_occurrence(held, scope="this", starts_time=time(9), now=NOW)


def test_a_change_that_creates_a_clash_is_refused_and_changes_nothing(iop, series):
    _session(iop["morning"], datetime(2026, 3, 23, 9, 0), 60, facilitator_id=iop["wrenna"].id)
    target = db.session.get(GroupSession, series[3])

    with pytest.raises(RuleViolation) as refused:
        series_service.update_occurrence(target, scope="following", starts_time=time(9, 30), now=NOW)

    assert "Wrenna Stillwater already leads IOP Morning B on 2026-03-23 09:00–10:00" in str(refused.value)
    db.session.rollback()
    assert {s.starts_at.time() for s in _by_id(series)} == {time(17)}


def test_a_longer_session_does_not_clash_with_its_own_old_time(iop, series):
    target = db.session.get(GroupSession, series[3])

    changed = series_service.update_occurrence(target, scope="following", duration_minutes=150, now=NOW)

    assert len(changed) == 5


def test_moving_a_session_to_a_time_already_past_is_refused(iop, series):
    target = db.session.get(GroupSession, series[3])  # Wednesday 2026-03-11 17:00

    with pytest.raises(RuleViolation, match="already passed"):
        series_service.update_occurrence(target, scope="this", starts_time=time(9), now=datetime(2026, 3, 11, 10))


def test_cancelling_this_and_following_cancels_only_later_planned_sessions_and_keeps_the_reason(iop, series):
    target = db.session.get(GroupSession, series[5])  # 2026-03-18

    cancelled = series_service.cancel_occurrence(target, scope="following", reason="Room refurbishment", now=NOW)

    assert sorted(s.id for s in cancelled) == series[5:]
    sessions = _by_id(series)
    assert [s.status for s in sessions] == ["planned"] * 5 + ["cancelled"] * 3
    assert sessions[5].cancel_reason == "Room refurbishment"
    assert sessions[5].group_note == ""
    updates = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity == "group_session", AuditEvent.action == "update")
    ).all()
    assert sorted(int(e.entity_id) for e in updates) == series[5:]
    assert all(e.changes["status"] == ["planned", "cancelled"] for e in updates)


def test_cancelling_one_occurrence_frees_its_slot_for_another_group(iop, series):
    target = db.session.get(GroupSession, series[4])  # 2026-03-16 17:00

    series_service.cancel_occurrence(target, scope="this", now=NOW)
    series_service.create_series(iop["morning"], weekdays=[MON], start_time=time(17), duration_minutes=60,
                             facilitator=iop["wrenna"], room="Room 2", start_date=date(2026, 3, 16), count=1)

    assert len(_sessions_of(iop["morning"])) == 1


def test_an_already_cancelled_session_cannot_be_cancelled_again(iop, series):
    target = db.session.get(GroupSession, series[4])
    series_service.cancel_occurrence(target, scope="this", now=NOW)

    with pytest.raises(RuleViolation, match="already cancelled"):
        series_service.cancel_occurrence(target, scope="this", now=NOW)


def test_asking_for_no_change_is_refused(iop, series):
    target = db.session.get(GroupSession, series[4])

    with pytest.raises(RuleViolation, match="Nothing to change"):
        series_service.update_occurrence(target, scope="this", now=NOW)


# For N weeks, the group's usual length, preview and all clashes -------------------
def test_mon_wed_fri_for_eight_weeks_is_every_such_day_of_those_weeks_whatever_the_first_day(ctx, iop):
    from_monday = series_service.occurrences(weekdays=[MON, WED, FRI], start_time=time(17),
                                             start_date=date(2026, 3, 2), weeks=8)
    from_wednesday = series_service.occurrences(weekdays=[MON, WED, FRI], start_time=time(17),
                                                start_date=date(2026, 3, 4), weeks=8)

    assert len(from_monday) == 24 and len(from_wednesday) == 24
    assert (from_monday[0], from_monday[-1]) == (datetime(2026, 3, 2, 17), datetime(2026, 4, 24, 17))
    # Eight weeks from a Wednesday end on the Monday before the ninth Wednesday.
    assert (from_wednesday[0], from_wednesday[-1]) == (datetime(2026, 3, 4, 17), datetime(2026, 4, 27, 17))
    assert {d.weekday() for d in from_monday} == {MON, WED, FRI}


def test_a_series_for_n_weeks_creates_them_and_takes_the_groups_usual_length(ctx, iop):
    for week in range(3):  # the evening group usually meets for 75 minutes
        _session(iop["evening"], datetime(2026, 2, 2 + 7 * week, 17), 75)
    _session(iop["evening"], datetime(2026, 2, 27, 17), 120)

    sessions = _series(iop, until=None, weeks=2, start_date=date(2026, 3, 2), duration_minutes=None)

    assert len(sessions) == 6
    assert {s.duration_minutes for s in sessions} == {75}  # not the activity's 90


def test_the_usual_length_falls_back_to_the_activity_only_for_a_group_without_sessions(ctx, iop):
    _session(iop["morning"], datetime(2026, 2, 2, 9), 45)
    _session(iop["morning"], datetime(2026, 2, 3, 9), 45, status="cancelled")
    _session(iop["morning"], datetime(2026, 2, 4, 9), 50, status="cancelled")

    morning = series_service.usual_length(iop["morning"], iop["circle"])
    fresh = series_service.usual_length(iop["evening"], iop["circle"])
    bare = series_service.usual_length(iop["evening"])

    assert (morning.minutes, morning.source) == (45, "group")
    assert (fresh.minutes, fresh.source) == (90, "activity")
    assert (bare.minutes, bare.source) == (60, "default")
    assert "group's usual length" in morning.explanation
    assert "activity's usual length" in fresh.explanation


def _two_clashes(iop):
    """Wrenna leads the morning group on the second Wednesday; Room 2 is taken on the last Thursday."""
    _session(iop["morning"], datetime(2026, 3, 11, 17, 30), 60, facilitator_id=iop["wrenna"].id)
    _session(iop["morning"], datetime(2026, 3, 19, 16, 0), 120, room="room 2")


def test_the_preview_lists_every_date_and_every_clash_and_creates_nothing(ctx, iop):
    _two_clashes(iop)
    _session(iop["evening"], datetime(2026, 3, 2, 17, 30), 30, room="Garden room", facilitator_id=None)

    preview = series_service.preview_series(
        iop["evening"], weekdays=[MON, WED, THU], start_time=time(17), duration_minutes=90,
        activity=iop["circle"], start_date=date(2026, 3, 2), until=date(2026, 3, 19))

    assert preview.count == 9 and preview.clash_count == 3 and preview.clashing_dates == 3
    clashes = {s.starts_at: s.clashes for s in preview.sessions if s.clashes}
    assert clashes == {
        datetime(2026, 3, 2, 17): ("IOP Evening A already meets on 2026-03-02 17:30–18:00.",),
        datetime(2026, 3, 11, 17): ("Wrenna Stillwater already leads IOP Morning B on 2026-03-11 17:30–18:30.",),
        datetime(2026, 3, 19, 17): ("Room 2 is already booked for IOP Morning B on 2026-03-19 16:00–18:00.",),
    }
    db.session.rollback()
    assert len(_sessions_of(iop["evening"])) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GroupSession)) == 3


def test_creating_a_series_with_two_clashes_is_refused_naming_both(ctx, iop):
    _two_clashes(iop)

    with pytest.raises(series_service.ClashRefusal) as refused:
        _series(iop)

    message = str(refused.value)
    assert message.startswith("2 clashes: ")
    assert "Wrenna Stillwater already leads IOP Morning B on 2026-03-11 17:30–18:30." in message
    assert "Room 2 is already booked for IOP Morning B on 2026-03-19 16:00–18:00." in message
    assert len(refused.value.clashes) == 2
    db.session.rollback()
    assert _sessions_of(iop["evening"]) == []


def test_a_facilitator_and_a_room_both_taken_are_both_named(ctx, iop):
    _session(iop["morning"], datetime(2026, 3, 4, 17), 60, facilitator_id=iop["wrenna"].id, room="Room 2")

    clashes = series_service.find_booking_clashes([series_service.Booking(
        datetime(2026, 3, 4, 17), datetime(2026, 3, 4, 18), iop["wrenna"].id, "Room 2")])

    assert [c.kind for c in clashes] == ["facilitator", "room"]


def test_a_series_changed_since_its_preview_is_not_created(ctx, iop):
    preview = series_service.preview_series(
        iop["evening"], weekdays=[MON, WED], start_time=time(17), duration_minutes=90,
        start_date=date(2026, 3, 2), weeks=2)

    with pytest.raises(RuleViolation, match="no longer the one previewed"):
        _series(iop, weekdays=[MON, WED, THU], until=None, weeks=2, expected_fingerprint=preview.fingerprint)
    db.session.rollback()
    assert _sessions_of(iop["evening"]) == []

    created = _series(iop, weekdays=[MON, WED], activity=None, until=None, weeks=2,
                      expected_fingerprint=preview.fingerprint)
    assert [s.starts_at for s in created] == [s.starts_at for s in preview.sessions]


def test_a_clash_booked_between_preview_and_create_refuses_the_create(ctx, iop):
    preview = series_service.preview_series(
        iop["evening"], weekdays=[MON, WED, THU], start_time=time(17), duration_minutes=90,
        activity=iop["circle"], start_date=date(2026, 3, 2), until=date(2026, 3, 19))
    assert preview.clash_count == 0
    _two_clashes(iop)

    with pytest.raises(series_service.ClashRefusal) as refused:
        _series(iop, expected_fingerprint=preview.fingerprint)

    assert len(refused.value.clashes) == 2
    db.session.rollback()
    assert _sessions_of(iop["evening"]) == []
