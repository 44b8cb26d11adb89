"""Unsigned work never disappears: Records to finish, the record-state filter, the due limit."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from clinic.admin.session_filters import RecordStateFilter
from clinic.config import ConfigError, load_config
from clinic.extensions import db
from clinic.models import Activity, GroupSession
from clinic.services import unfinished
from clinic.services.progress import counselor_day
from conftest import login


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute))


def session(group, starts_at: datetime, facilitator, *, status: str = "planned", minutes: int = 60,
            state: str = "not recorded", room: str = "Room 7", activity=None) -> GroupSession:
    """A session in the given record state: not recorded, recorded or signed."""
    s = GroupSession(group_id=group.id, starts_at=starts_at, duration_minutes=minutes, status=status,
                     room=room, facilitator_id=facilitator.id if facilitator else None,
                     activity_id=activity.id if activity else None)
    if state in ("recorded", "signed"):
        s.recorded_at, s.recorded_by_id = starts_at + timedelta(minutes=minutes), facilitator.id
    if state == "signed":
        s.signed_at, s.signed_by_id = starts_at + timedelta(minutes=minutes + 5), facilitator.id
    db.session.add(s)
    db.session.commit()
    return s


def row(body: str, element_id: str) -> str:
    """The HTML of the table row with ``element_id`` (empty when absent)."""
    match = re.search(rf'<tr id="{element_id}">(.*?)</tr>', body, re.S)
    return match.group(1) if match else ""


def section(body: str, element_id: str) -> str:
    match = re.search(rf'<section [^>]*id="{element_id}"[^>]*>(.*?)</section>', body, re.S)
    return match.group(1) if match else ""


@pytest.fixture
def world(make):
    """Two counselors' sessions in every record state, past, present and to come."""
    today = date.today()
    now = datetime.now().replace(second=0, microsecond=0)
    iop = make.track("iop")
    zoe = make.staff("counselor", full_name="Zoe Zimmer")
    ada = make.staff("counselor", full_name="Ada Abbott")
    group = make.group(iop, ada, name="IOP Evening A")
    other = make.group(iop, zoe, name="IOP Morning B")
    circle = Activity(name="Gratitude circle", default_minutes=60)
    db.session.add(circle)
    db.session.commit()
    s = {
        # Ada: oldest first, however old; these two ended 40 days and 7 days and an hour ago.
        "ada_old_saved": session(group, now - timedelta(days=40, hours=2), ada, state="recorded",
                                 activity=circle),
        "ada_week": session(group, now - timedelta(days=7, hours=2), ada, status="held"),
        "ada_signed": session(group, at(today - timedelta(days=6), 17), ada, status="held", state="signed"),
        "ada_cancelled": session(group, at(today - timedelta(days=5), 17), ada, status="cancelled"),
        # Started an hour ago, ends in an hour: due, not overdue.
        "ada_running": session(group, max(at(today, 0), now - timedelta(hours=1)), ada, minutes=120),
        "ada_to_come": session(group, now + timedelta(hours=2), ada),
        # Zoe.
        "zoe_saved": session(other, at(today - timedelta(days=3), 10), zoe, state="recorded"),
        "zoe_signed": session(other, at(today - timedelta(days=2), 10), zoe, state="signed"),
        # Nobody facilitates it: still owed, listed last.
        "nobody": session(other, at(today - timedelta(days=4), 10), None),
    }
    return {"today": today, "now": now, "ada": ada, "zoe": zoe, "sessions": s}


# The rule ------------------------------------------------------------------------
def test_a_record_is_due_the_configured_hours_after_the_session_ends_and_overdue_after_that():
    ends = datetime(2026, 3, 2, 10, 0)

    assert unfinished.due(ends, ends + timedelta(hours=24), 24).overdue is False  # exactly on time
    late = unfinished.due(ends, ends + timedelta(hours=24, minutes=1), 24)
    assert late.overdue is True and late.days_overdue == 0
    assert late.text == "overdue by less than an hour"
    assert unfinished.due(ends, ends + timedelta(hours=29), 24).text == "overdue by 5 hours"
    three = unfinished.due(ends, ends + timedelta(days=4, hours=2), 24)
    assert (three.overdue, three.days_overdue, three.text) == (True, 3, "overdue by 3 days")
    assert unfinished.due(ends, ends + timedelta(days=2), 24).text == "overdue by 1 day"
    soon = unfinished.due(ends, ends - timedelta(hours=1), 24)
    assert (soon.overdue, soon.text) == (False, "due in 1 day")
    assert unfinished.due(ends, ends + timedelta(hours=19), 24).text == "due in 5 hours"
    assert unfinished.due(ends, ends, 72).text == "due in 3 days"
    # With a shorter limit the same moment is already overdue.
    assert unfinished.due(ends, ends + timedelta(hours=5), 4).text == "overdue by 1 hour"


def test_records_to_finish_groups_per_facilitator_oldest_first_leaving_out_signed_cancelled_and_future(world):
    s = world["sessions"]

    groups = unfinished.records_to_finish(world["now"], 24)

    assert [g.name for g in groups] == ["Ada Abbott", "Zoe Zimmer", unfinished.NO_FACILITATOR]
    ada, zoe, nobody = groups
    assert [x.id for x in ada.sessions] == [s["ada_old_saved"].id, s["ada_week"].id, s["ada_running"].id]
    assert [x.record_state for x in ada.sessions] == ["recorded", "not recorded", "not recorded"]
    assert (ada.count, ada.not_recorded, ada.unsigned, ada.overdue) == (3, 2, 1, 2)
    assert [x.id for x in zoe.sessions] == [s["zoe_saved"].id]
    assert [x.id for x in nobody.sessions] == [s["nobody"].id]
    old, week, running = ada.sessions
    assert old.due.overdue and old.due.days_overdue == 39  # ended 40 days ago, due a day later
    assert old.due.text == "overdue by 39 days"
    assert (old.group_name, old.activity_name) == ("IOP Evening A", "Gratitude circle")
    assert week.due.days_overdue == 6
    assert running.due.overdue is False and running.due.text.startswith("due in ")


def test_the_due_limit_comes_from_the_configuration(app, world):
    s = world["sessions"]
    app.config["CLINIC_RECORD_DUE_HOURS"] = 24 * 10

    groups = unfinished.records_to_finish(world["now"])

    ada = groups[0]
    assert [x.due.overdue for x in ada.sessions] == [True, False, False]
    assert ada.sessions[0].due.days_overdue == 30
    assert ada.sessions[1].due.text == "due in 2 days"
    day = counselor_day(world["ada"].id, world["today"], world["now"])
    assert [x.id for x in day.unsigned] == [s["ada_old_saved"].id, s["ada_week"].id]
    assert [x.due.overdue for x in day.unsigned] == [True, False]


@pytest.mark.parametrize("value,expected", [(None, 24), ("", 24), ("48", 48), (" 0 ", 0)])
def test_the_due_limit_defaults_to_a_day_and_is_read_from_the_environment(tmp_path, value, expected):
    env = {"CLINIC_ENV": "testing"}
    if value is not None:
        env["CLINIC_RECORD_DUE_HOURS"] = value
    assert load_config(str(tmp_path), env)["CLINIC_RECORD_DUE_HOURS"] == expected


@pytest.mark.parametrize("value", ["a day", "1.5", "-1", "9999999"])
def test_a_due_limit_that_is_not_a_sensible_whole_number_of_hours_is_refused(tmp_path, value):
    with pytest.raises(ConfigError, match="CLINIC_RECORD_DUE_HOURS"):
        load_config(str(tmp_path), {"CLINIC_ENV": "testing", "CLINIC_RECORD_DUE_HOURS": value})


# The page --------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["admin", "planner"])
def test_admins_and_planners_see_the_records_to_finish_per_facilitator_with_counts_and_links(client, make, world,
                                                                                            role):
    s = world["sessions"]
    login(client, make.staff(role).email)

    body = client.get("/admin/unfinished/").get_data(as_text=True)

    ada = section(body, f"facilitator-{world['ada'].id}")
    zoe = section(body, f"facilitator-{world['zoe'].id}")
    nobody = section(body, "facilitator-none")
    assert "Ada Abbott" in ada and "Zoe Zimmer" in zoe and "No facilitator" in nobody
    assert body.index("Ada Abbott</h2>") < body.index("Zoe Zimmer</h2>") < body.index("No facilitator</h2>")
    assert 'data-count="3" data-not-recorded="2" data-unsigned="1" data-overdue="2"' in ada
    assert 'data-count="1" data-not-recorded="0" data-unsigned="1" data-overdue="1"' in zoe
    assert "5 records to finish, 4 overdue." in body
    # Oldest first, each with its state, how overdue and the way to the record.
    ids = re.findall(r'<tr id="unfinished-(\d+)">', ada)
    assert ids == [str(s["ada_old_saved"].id), str(s["ada_week"].id), str(s["ada_running"].id)]
    old = row(body, f"unfinished-{s['ada_old_saved'].id}")
    assert 'data-state="recorded"' in old and "overdue by 39 days" in old
    assert f'href="/admin/record/?session={s["ada_old_saved"].id}"' in old
    assert 'data-state="not recorded"' in row(body, f"unfinished-{s['ada_week'].id}")
    assert "due in" in row(body, f"unfinished-{s['ada_running'].id}")
    for gone in ("ada_signed", "ada_cancelled", "ada_to_come", "zoe_signed"):
        assert f'id="unfinished-{s[gone].id}"' not in body, gone


def test_the_page_says_so_when_nothing_is_left_to_finish(client, make):
    login(client, make.staff("planner").email)

    body = client.get("/admin/unfinished/").get_data(as_text=True)

    assert 'id="nothing-to-finish"' in body


def test_a_counselor_is_refused_the_records_to_finish_by_menu_and_by_url(client, world):
    login(client, world["ada"].email)

    assert client.get("/admin/unfinished/").status_code == 403
    assert client.get("/admin/unfinished/?facilitator=1").status_code == 403
    home = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/unfinished/"' not in home
    assert "Records to finish" not in home


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, world):
    response = client.get("/admin/unfinished/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_planner_finds_records_to_finish_in_the_reports_menu(client, make):
    login(client, make.staff("planner").email)
    home = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/unfinished/"' in home and "Records to finish" in home


def _statements_for(client, app, url: str) -> int:
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(statements)


def test_the_page_takes_the_same_number_of_statements_whatever_the_number_of_sessions(client, app, make, world):
    login(client, make.staff("planner").email)
    few = _statements_for(client, app, "/admin/unfinished/")

    today = world["today"]
    iop = make.track("intensive")
    for n in range(6):
        counselor = make.staff("counselor", full_name=f"Counselor {n}")
        group = make.group(iop, counselor, name=f"Group {n}")
        for days in range(1, 5):
            session(group, at(today - timedelta(days=days), 9), counselor,
                    state="recorded" if days % 2 else "not recorded")
    many = _statements_for(client, app, "/admin/unfinished/")

    assert few == many
    body = client.get("/admin/unfinished/").get_data(as_text=True)
    assert body.count('<tr id="unfinished-') == 5 + 6 * 4


# My day -----------------------------------------------------------------------
def test_my_day_keeps_every_earlier_unsigned_session_however_old_with_how_overdue_it_is(client, world):
    s = world["sessions"]
    login(client, world["ada"].email)

    body = client.get("/admin/day/").get_data(as_text=True)

    old = row(body, f"unsigned-{s['ada_old_saved'].id}")
    assert 'data-state="recorded"' in old and "overdue by 39 days" in old
    assert 'data-action="Sign"' in old
    week = row(body, f"unsigned-{s['ada_week'].id}")
    assert 'data-state="not recorded"' in week and "overdue by 6 days" in week and 'data-action="Record"' in week
    assert body.index(f"unsigned-{s['ada_old_saved'].id}") < body.index(f"unsigned-{s['ada_week'].id}")
    for gone in ("ada_signed", "ada_cancelled", "zoe_saved", "nobody"):
        assert f'id="unsigned-{s[gone].id}"' not in body, gone


@pytest.mark.parametrize("role,action", [("planner", "Open record"), ("admin", "Sign")])
def test_only_those_who_may_sign_are_offered_sign_on_a_counselors_day(client, make, world, role, action):
    s = world["sessions"]
    login(client, make.staff(role).email)

    body = client.get(f"/admin/day/?counselor={world['ada'].id}").get_data(as_text=True)

    assert f'data-action="{action}"' in row(body, f"unsigned-{s['ada_old_saved'].id}")


# The session list ----------------------------------------------------------------
def _filter_index(app) -> int:
    view = next(v for v in app.extensions["admin"][0]._views if getattr(v, "endpoint", "") == "sessions")
    return next(i for i, f in enumerate(view._filters) if isinstance(f, RecordStateFilter))


@pytest.fixture
def listed(make):
    today = date.today()
    iop = make.track("iop")
    ada = make.staff("counselor", full_name="Ada Abbott")
    zoe = make.staff("counselor", full_name="Zoe Zimmer")
    group = make.group(iop, ada, name="IOP Evening A")
    rooms = {}
    for who, person in (("ada", ada), ("zoe", zoe)):
        for state in ("not recorded", "recorded", "signed"):
            room = f"Room {who}-{state.replace(' ', '-')}"
            session(group, at(today - timedelta(days=2), 9 + len(rooms)), person, status="held", state=state,
                    room=room)
            rooms[(who, state)] = room
    return {"ada": ada, "rooms": rooms}


@pytest.mark.parametrize("value,state", [("not_recorded", "not recorded"), ("saved", "recorded"),
                                         ("signed", "signed")])
def test_the_session_list_filters_by_record_state(client, app, make, listed, value, state):
    login(client, make.staff("planner").email)

    body = client.get(f"/admin/sessions/?flt0_{_filter_index(app)}={value}").get_data(as_text=True)

    for (who, shown_state), room in listed["rooms"].items():
        assert (room in body) == (shown_state == state), (value, room)


def test_the_filter_offers_the_three_states_in_clinic_words_and_the_list_shows_them(client, app, make, listed):
    login(client, make.staff("planner").email)
    body = client.get("/admin/sessions/").get_data(as_text=True)
    for label in ("not recorded", "saved (unsigned)", "signed"):
        assert label in body
    saved = client.get(f"/admin/sessions/?flt0_{_filter_index(app)}=saved").get_data(as_text=True)
    cells = re.findall(r'<td class="col-record_state">\s*(.*?)\s*</td>', saved, re.S)
    assert cells == ["saved (unsigned)", "saved (unsigned)"]


def test_a_counselor_filtering_by_state_still_sees_only_their_own_sessions(client, app, listed):
    login(client, listed["ada"].email)

    body = client.get(f"/admin/sessions/?flt0_{_filter_index(app)}=saved").get_data(as_text=True)

    assert listed["rooms"][("ada", "recorded")] in body
    assert listed["rooms"][("zoe", "recorded")] not in body
    assert listed["rooms"][("ada", "signed")] not in body


def test_an_unknown_state_filters_nothing_in_and_breaks_nothing(client, app, make, listed):
    login(client, make.staff("planner").email)
    response = client.get(f"/admin/sessions/?flt0_{_filter_index(app)}=lost")
    assert response.status_code == 200


def test_a_hostile_group_name_is_printed_as_text_on_both_pages(client, make):
    today = date.today()
    ada = make.staff("counselor", full_name="<i>Ada</i>")
    group = make.group(make.track("iop"), ada, name="<script>alert(1)</script>")
    session(group, at(today - timedelta(days=3), 9), ada)
    login(client, make.staff("admin").email)

    for url in ("/admin/unfinished/", f"/admin/day/?counselor={ada.id}"):
        body = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body, url
        assert "<i>Ada</i>" not in body, url


def test_a_facilitator_with_many_records_shows_the_oldest_and_the_rest_are_paged_on_their_own_list(
        client, app, make, world):
    """The summary shows each facilitator's oldest few; "and N more" leads to every one of them, paged."""
    ada = world["ada"]
    group = make.group(make.track("long"), ada, name="Long group")
    first_day = world["today"] - timedelta(days=200)
    extra = [session(group, at(first_day + timedelta(days=n), 9), ada) for n in range(30)]
    login(client, make.staff("planner").email)

    body = client.get("/admin/unfinished/").get_data(as_text=True)

    mine = section(body, f"facilitator-{ada.id}")
    assert 'data-count="33" data-not-recorded="32" data-unsigned="1" data-overdue="32"' in mine
    shown = re.findall(r'<tr id="unfinished-(\d+)">', mine)
    assert shown == [str(s.id) for s in extra[:unfinished.PER_FACILITATOR]]
    assert "and 28 more" in mine and f'href="/admin/unfinished/?facilitator={ada.id}"' in mine
    assert "and " not in section(body, f"facilitator-{world['zoe'].id}").split("</table>")[1]

    everything = []
    page = client.get(f"/admin/unfinished/?facilitator={ada.id}").get_data(as_text=True)
    assert "1–25 of 33 records" in page and "Page 1 of 2" in page
    everything += re.findall(r'<tr id="unfinished-(\d+)">', page)
    assert f'href="/admin/unfinished/?page=2&amp;facilitator={ada.id}"' in page \
        or f'href="/admin/unfinished/?facilitator={ada.id}&amp;page=2"' in page
    last = client.get(f"/admin/unfinished/?facilitator={ada.id}&page=2").get_data(as_text=True)
    assert "26–33 of 33 records" in last
    everything += re.findall(r'<tr id="unfinished-(\d+)">', last)
    s = world["sessions"]
    assert everything == [str(x.id) for x in extra] + [str(s["ada_old_saved"].id), str(s["ada_week"].id),
                                                       str(s["ada_running"].id)]
    # A page past the end shows the last page; nobody's sessions have their own list too.
    assert "26–33 of 33 records" in client.get(f"/admin/unfinished/?facilitator={ada.id}&page=99").get_data(
        as_text=True)
    nobody = client.get("/admin/unfinished/?facilitator=none").get_data(as_text=True)
    assert re.findall(r'<tr id="unfinished-(\d+)">', nobody) == [str(s["nobody"].id)]


def test_a_facilitator_list_takes_the_same_statements_however_many_and_refuses_nonsense(client, app, make, world):
    ada = world["ada"]
    login(client, make.staff("planner").email)
    url = f"/admin/unfinished/?facilitator={ada.id}"
    few = _statements_for(client, app, url)
    summary_few = _statements_for(client, app, "/admin/unfinished/")
    group = make.group(make.track("long"), ada, name="Long group")
    for n in range(40):
        session(group, at(world["today"] - timedelta(days=100 - n), 9), ada)

    assert _statements_for(client, app, url) == few
    assert _statements_for(client, app, "/admin/unfinished/") == summary_few
    assert client.get("/admin/unfinished/?facilitator=abc").status_code == 404
    body = client.get("/admin/unfinished/?facilitator=999999").get_data(as_text=True)
    assert 'id="nothing-to-finish"' in body


def test_facilitators_are_shown_ten_a_page_by_name_with_everyones_totals(client, app, make, world):
    assert unfinished.FACILITATORS_PAGE == 10
    group = make.group(make.track("many"), None, name="Many group")
    for n in range(20):
        counselor = make.staff("counselor", full_name=f"Mid Person{n:02d}")
        session(group, at(world["today"] - timedelta(days=3 + n), 9), counselor)
        if n == 4:  # one of them has seven: the five oldest are shown and "and 2 more"
            for extra in range(6):
                session(group, at(world["today"] - timedelta(days=30 + extra), 9), counselor)
    login(client, make.staff("planner").email)
    statements = _statements_for(client, app, "/admin/unfinished/")

    first = client.get("/admin/unfinished/").get_data(as_text=True)

    # Ada Abbott, 20 Mid Persons, Zoe Zimmer, No facilitator: 23 facilitators, 31 records.
    name = r'<h2 class="h6" id="facilitator-[^"]+-name">([^<]+)</h2>'
    assert "31 records to finish" in first
    assert "1–10 of 23 facilitators" in first
    assert re.findall(name, first) == ["Ada Abbott"] + [f"Mid Person{n:02d}" for n in range(9)]
    busy = first.split(">Mid Person04</h2>")[1].split('<h2 class="h6"')[0]
    assert busy.count("overdue by") == 5 and "and 2 more" in busy
    second = client.get("/admin/unfinished/?page=2").get_data(as_text=True)
    assert "11–20 of 23 facilitators" in second and "31 records to finish" in second
    assert re.findall(name, second) == [f"Mid Person{n:02d}" for n in range(9, 19)]
    third = client.get("/admin/unfinished/?page=3").get_data(as_text=True)
    assert "21–23 of 23 facilitators" in third
    assert re.findall(name, third) == ["Mid Person19", "Zoe Zimmer", unfinished.NO_FACILITATOR]
    assert _statements_for(client, app, "/admin/unfinished/?page=2") == statements
    assert _statements_for(client, app, "/admin/unfinished/?page=3") == statements


def test_a_long_list_of_facilitators_is_counted_a_few_pages_ahead_and_the_totals_up_to_a_cap(
        client, app, make, world, monkeypatch):
    """In a large clinic the page neither counts every record nor every facilitator: the
    totals stop at ``COUNTED`` ("more than"), the facilitators ``PAGES_AHEAD`` pages past the
    page shown; every facilitator is still reached by Next, nobody's sessions last."""
    from clinic.services import page_window

    group = make.group(make.track("many"), None, name="Many group")
    for n in range(20):
        counselor = make.staff("counselor", full_name=f"Mid Person{n:02d}")
        session(group, at(world["today"] - timedelta(days=3 + n), 9), counselor)
        if n == 4:
            for extra in range(6):
                session(group, at(world["today"] - timedelta(days=30 + extra), 9), counselor)
    # 31 records (30 overdue) of 22 facilitators and nobody's; count 30 and one page ahead.
    monkeypatch.setattr(unfinished, "COUNTED", 30)
    monkeypatch.setattr(page_window, "PAGES_AHEAD", 1)
    login(client, make.staff("planner").email)
    statements = _statements_for(client, app, "/admin/unfinished/")

    first = client.get("/admin/unfinished/").get_data(as_text=True)

    name = r'<h2 class="h6" id="facilitator-[^"]+-name">([^<]+)</h2>'
    assert "More than 30 records to finish, 30 overdue." in first
    assert "1–10 of more than 20 facilitators" in first and "Page 1 of more than 2" in first
    assert 'href="/admin/unfinished/?page=2"' in first
    assert re.findall(name, first) == ["Ada Abbott"] + [f"Mid Person{n:02d}" for n in range(9)]
    # Each facilitator's own counts stay exact.
    assert 'data-count="7" data-not-recorded="7" data-unsigned="0" data-overdue="7"' in section(
        first, "facilitator-" + re.search(r'id="facilitator-(\d+)-name">Mid Person04<', first).group(1))
    second = client.get("/admin/unfinished/?page=2").get_data(as_text=True)
    assert "11–20 of 23 facilitators" in second and "More than 30 records to finish" in second
    third = client.get("/admin/unfinished/?page=3").get_data(as_text=True)
    assert re.findall(name, third) == ["Mid Person19", "Zoe Zimmer", unfinished.NO_FACILITATOR]
    assert 'href="/admin/unfinished/?page=4"' not in third
    assert _statements_for(client, app, "/admin/unfinished/?page=3") == statements
