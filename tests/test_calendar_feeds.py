"""Calendar feeds: staff subscribe to their sessions as iCalendar, at a secret address they control.

The feed is read back with two independent readers (``icalendar`` and ``vobject``); it carries
group, activity, room and time, never a patient; UIDs are stable and a cancelled session is
sent as cancelled; the address works without a login, stops when turned off, renewed, or when
its owner may no longer see it; group and room feeds are for planners.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import icalendar
import pytest
import sqlalchemy as sa
import vobject

from clinic.config import ConfigError, load_config
from clinic.extensions import db
from clinic.models import Activity, AuditEvent, CalendarFeed, GroupSession, StaffUser
from clinic.services import calendar_feeds, series
from conftest import login

TODAY = date.today()


def _session(group, day: date, *, facilitator, room="Garden Room", status="planned", activity=None,
             hour=17) -> GroupSession:
    session = GroupSession(group_id=group.id, starts_at=datetime.combine(day, time(hour, 30)), duration_minutes=90,
                           room=room, facilitator_id=facilitator.id, status=status,
                           activity_id=activity.id if activity else None)
    db.session.add(session)
    db.session.commit()
    return session


@pytest.fixture
def clinic(make):
    """Wren facilitates IOP Evening A (two sessions this week, one cancelled later); Tam leads
    Evening B in the Willow Room. Members carry names that must never reach a feed."""
    wren = make.staff("counselor", full_name="Wren Stillwater")
    tam = make.staff("counselor", full_name="Tam Larkfield")
    iop = make.track("iop")
    evening_a = make.group(iop, facilitator=wren, name="IOP Evening A")
    evening_b = make.group(iop, facilitator=tam, name="IOP Evening B")
    activity = Activity(name="Compliment round", default_minutes=90)
    db.session.add(activity)
    db.session.commit()
    for first, last in (("Zebulon", "Quillfeather"), ("Ottilie", "Brackenridge")):
        patient = make.patient(first_name=first, last_name=last, preferred_name=first[:3])
        make.enrolment(patient, iop, wren, start=TODAY - timedelta(days=30))
        make.membership(evening_a, patient, start=TODAY - timedelta(days=30))
    mine = [_session(evening_a, TODAY + timedelta(days=d), facilitator=wren, activity=activity) for d in (1, 3)]
    cancelled = _session(evening_a, TODAY + timedelta(days=8), facilitator=wren, status="cancelled")
    theirs = _session(evening_b, TODAY + timedelta(days=1), facilitator=tam, room="Willow Room", hour=18)
    old = _session(evening_a, TODAY - timedelta(days=200), facilitator=wren)  # before the feed's window
    return {"wren": wren, "tam": tam, "a": evening_a, "b": evening_b, "mine": mine, "cancelled": cancelled,
            "theirs": theirs, "old": old}


def _make(client, **form) -> str:
    """Make a feed through the page; return the address shown once."""
    answer = client.post("/admin/calendar/new/", data=form)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    found = re.search(r'id="calendar-url" value="([^"]+)"', answer.get_data(as_text=True))
    assert found, "the new address is shown"
    return found.group(1)


def _path(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def _fetch(app, url: str):
    return app.test_client().get(_path(url))  # a calendar app: no login, no cookie


def _events(body: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(body)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def test_a_counselor_subscribes_to_her_sessions_and_the_feed_names_no_patient(app, client, clinic):
    login(client, clinic["wren"].email)
    url = _make(client, kind="staff")
    assert re.fullmatch(r"http://localhost/calendar/[A-Za-z0-9_-]{43}\.ics", url)
    answer = _fetch(app, url)
    assert answer.status_code == 200 and answer.mimetype == "text/calendar"
    body = answer.get_data()
    events = _events(body)
    expected = {f"session-{s.id}@localhost" for s in (*clinic["mine"], clinic["cancelled"])}
    assert set(events) == expected  # not Tam's session, not the one 200 days ago
    first = events[f"session-{clinic['mine'][0].id}@localhost"]
    assert str(first["SUMMARY"]) == "IOP Evening A: Compliment round"
    assert str(first["LOCATION"]) == "Garden Room"
    assert first.decoded("DTSTART") == datetime.combine(TODAY + timedelta(days=1), time(17, 30))
    assert first.decoded("DTEND") - first.decoded("DTSTART") == timedelta(minutes=90)
    assert "Facilitator: Wren Stillwater" in str(first["DESCRIPTION"])
    assert str(first["STATUS"]) == "CONFIRMED"
    assert str(events[f"session-{clinic['cancelled'].id}@localhost"]["STATUS"]) == "CANCELLED"
    text = body.decode()
    for name in ("Zebulon", "Quillfeather", "Ottilie", "Brackenridge", "Zeb", "Ott"):
        assert name not in text
    # The address is shown once: the page does not show it again.
    assert 'id="calendar-url"' not in client.get("/admin/calendar/").get_data(as_text=True)


def test_a_second_reader_sees_the_same_events(app, client, clinic):
    login(client, clinic["wren"].email)
    body = _fetch(app, _make(client, kind="staff")).get_data(as_text=True)
    parsed = vobject.readOne(body)
    seen = {(e.uid.value, e.summary.value, e.status.value) for e in parsed.vevent_list}
    assert seen == {(f"session-{s.id}@localhost", "IOP Evening A: Compliment round", "CONFIRMED") for s in clinic["mine"]} | {
        (f"session-{clinic['cancelled'].id}@localhost", "IOP Evening A: Group session", "CANCELLED")}
    assert parsed.x_wr_calname.value == "Kindness Programme: Wren Stillwater"


def test_uids_are_stable_and_a_change_raises_the_sequence_and_a_cancellation_is_sent(app, client, clinic):
    login(client, clinic["wren"].email)
    url = _make(client, kind="staff")
    session = clinic["mine"][1]
    uid = f"session-{session.id}@localhost"
    before = _events(_fetch(app, url).get_data())[uid]
    series.cancel_occurrence(session, scope="this", reason="Staff training", expected_version=session.version)
    after = _events(_fetch(app, url).get_data())[uid]
    assert str(after["STATUS"]) == "CANCELLED" and int(after["SEQUENCE"]) > int(before["SEQUENCE"])
    assert set(_events(_fetch(app, url).get_data())) == set(_events(_fetch(app, url).get_data()))


def test_turning_off_and_renewing_stop_the_old_address_at_once(app, client, clinic):
    login(client, clinic["wren"].email)
    url = _make(client, kind="staff")
    feed_id = db.session.scalar(sa.select(CalendarFeed.id))
    renewed = client.post("/admin/calendar/renew/", data={"feed_id": feed_id})
    new_url = re.search(r'id="calendar-url" value="([^"]+)"', renewed.get_data(as_text=True)).group(1)
    assert new_url != url
    assert _fetch(app, url).status_code == 404
    assert _fetch(app, new_url).status_code == 200
    new_id = db.session.scalar(sa.select(sa.func.max(CalendarFeed.id)))
    off = client.post("/admin/calendar/off/", data={"feed_id": new_id})
    assert off.status_code == 302
    assert _fetch(app, new_url).status_code == 404
    again = client.post("/admin/calendar/off/", data={"feed_id": new_id})
    assert again.status_code == 409 and "already turned off" in again.get_data(as_text=True)
    assert "You have no feed yet." in client.get("/admin/calendar/").get_data(as_text=True)


def test_someone_elses_feed_cannot_be_turned_off_or_renewed(app, client, clinic):
    login(client, clinic["wren"].email)
    url = _make(client, kind="staff")
    feed_id = db.session.scalar(sa.select(CalendarFeed.id))
    other = app.test_client()
    login(other, clinic["tam"].email)
    for action in ("off", "renew"):
        assert other.post(f"/admin/calendar/{action}/", data={"feed_id": feed_id}).status_code == 404
        assert other.post(f"/admin/calendar/{action}/", data={"feed_id": "x' OR 1=1"}).status_code == 404
    assert _fetch(app, url).status_code == 200


def test_only_the_tokens_hash_is_stored_and_the_audit_trail_hides_it(app, client, clinic):
    login(client, clinic["wren"].email)
    url = _make(client, kind="staff")
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    feed = db.session.scalar(sa.select(CalendarFeed))
    assert token not in (feed.token_hash, feed.room) and len(feed.token_hash) == 64
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.entity == "calendar_feed"))
    assert event.action == "create" and event.actor_id == clinic["wren"].id
    assert event.changes["token_hash"] == [None, "(set)"]
    assert token not in str(event.changes)


def test_group_and_room_feeds_are_for_planners_and_carry_only_that_group_or_room(app, client, clinic, make):
    login(client, clinic["wren"].email)
    for form in ({"kind": "group", "group_id": clinic["b"].id}, {"kind": "room", "room": "Willow Room"}):
        refused = client.post("/admin/calendar/new/", data=form)
        assert refused.status_code == 400 and "for planners and admins" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarFeed)) == 0
    assert 'id="calendar-new-group"' not in client.get("/admin/calendar/").get_data(as_text=True)

    planner = make.staff("planner", full_name="Orla Planner")
    planning = app.test_client()
    login(planning, planner.email)
    group_url = _make(planning, kind="group", group_id=clinic["b"].id)
    room_url = _make(planning, kind="room", room="Garden Room")
    assert set(_events(_fetch(app, group_url).get_data())) == {f"session-{clinic['theirs'].id}@localhost"}
    assert set(_events(_fetch(app, room_url).get_data())) == {
        f"session-{s.id}@localhost" for s in (*clinic["mine"], clinic["cancelled"])}
    for form in ({"kind": "room", "room": "Broom cupboard"}, {"kind": "group", "group_id": "999999"},
                 {"kind": "group"}, {"kind": "everything"}):
        assert planning.post("/admin/calendar/new/", data=form).status_code == 400
    # A planner who becomes a counselor: their group and room feeds stop.
    db.session.execute(sa.update(StaffUser).where(StaffUser.id == planner.id).values(role="counselor"))
    db.session.commit()
    assert _fetch(app, group_url).status_code == 404 and _fetch(app, room_url).status_code == 404


def test_a_deactivated_accounts_feed_stops(app, client, clinic):
    login(client, clinic["wren"].email)
    url = _make(client, kind="staff")
    db.session.execute(sa.update(StaffUser).where(StaffUser.id == clinic["wren"].id).values(is_active_account=False))
    db.session.commit()
    assert _fetch(app, url).status_code == 404


def test_unknown_addresses_and_pages_without_login(app, client, clinic):
    assert app.test_client().get("/calendar/" + "A" * 43 + ".ics").status_code == 404
    assert app.test_client().get("/calendar/" + "A" * 300 + ".ics").status_code == 404
    page = app.test_client().get("/admin/calendar/")
    assert page.status_code == 302 and "/login" in page.location


def test_the_feed_takes_the_same_statements_for_2_or_20_sessions(app, client, clinic):
    login(client, clinic["wren"].email)
    url = _make(client, kind="staff")
    counted = []

    def count():
        statements = []
        with app.app_context():
            listener = lambda *a, **k: statements.append(1)  # noqa: E731
            sa.event.listen(db.engine, "before_cursor_execute", listener)
            try:
                assert _fetch(app, url).status_code == 200
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    assert _fetch(app, url).status_code == 200  # the first fetch also notes when it was fetched
    counted.append(count())
    for d in range(20):
        _session(clinic["a"], TODAY + timedelta(days=10 + d), facilitator=clinic["wren"])
    counted.append(count())
    assert counted[0] == counted[1] and counted[0] <= 6
    assert len(_events(_fetch(app, url).get_data())) == 23


def test_with_a_clinic_time_zone_the_times_carry_it(app, client, clinic):
    login(client, clinic["wren"].email)
    url = _make(client, kind="staff")
    app.config["CLINIC_TIMEZONE"] = "Europe/London"
    body = _fetch(app, url).get_data()
    calendar = icalendar.Calendar.from_ical(body)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/London"]
    start = _events(body)[f"session-{clinic['mine'][0].id}@localhost"].decoded("DTSTART")
    assert str(start.tzinfo) == "Europe/London" and (start.hour, start.minute) == (17, 30)
    parsed = vobject.readOne(body.decode())
    assert {e.dtstart.value.hour for e in parsed.vevent_list} == {17}


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd"])
def test_an_unknown_time_zone_is_refused_in_one_line(tmp_path, zone):
    with pytest.raises(ConfigError, match="CLINIC_TIMEZONE"):
        load_config(str(tmp_path), {"CLINIC_ENV": "testing", "SECRET_KEY": "x" * 40, "CLINIC_TIMEZONE": zone})


def test_the_database_refuses_a_feed_of_a_group_and_a_room_at_once(clinic):
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError, match="ck_calendar_feed_one_subject"):
        db.session.add(CalendarFeed(owner_id=clinic["wren"].id, token_hash="f" * 64, kind="group",
                                    group_id=clinic["a"].id, room="Garden Room"))
        db.session.commit()
    db.session.rollback()


def test_the_rooms_offered_are_every_room_groups_or_sessions_name_in_one_statement_however_many_sessions(clinic):
    """Read room by room through the room index (a skip scan), not by reading every session."""
    from test_rosters import Statements

    _session(clinic["a"], TODAY - timedelta(days=400), facilitator=clinic["wren"], room="  Attic  ")
    _session(clinic["a"], TODAY + timedelta(days=2), facilitator=clinic["wren"], room="")  # no room named
    with Statements() as few:
        offered = calendar_feeds.rooms()
    assert offered == ["Attic", "Garden Room", "Room 1", "Willow Room"]  # groups' "Room 1" too
    for d in range(12):
        _session(clinic["b"], TODAY + timedelta(days=20 + d), facilitator=clinic["tam"],
                 room=("Willow Room", "Garden Room", "attic loft")[d % 3])
    with Statements() as many:
        assert calendar_feeds.rooms() == ["Attic", "attic loft", "Garden Room", "Room 1", "Willow Room"]
    assert len(few) == len(many) == 1
