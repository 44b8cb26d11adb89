"""The week planner and the series pages, as planners and counselors use them."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from clinic.extensions import db
from clinic.models import Activity, CareGroup, GroupSession
from clinic.services.series import create_series
from clinic.services.week_plan import facilitators, week_plan
from conftest import login

WEEK = date(2026, 3, 2)  # a Monday


@pytest.fixture
def clinic(make):
    """IOP (9 h over 3 days) and intensive (20 h over 5 days) tracks with one group each."""
    iop = make.track("iop")
    intensive = make.track("intensive")
    wrenna = make.staff("counselor", full_name="Wrenna Stillwater")
    odo = make.staff("counselor", full_name="Odo Fairweather")
    evening = make.group(iop, wrenna, name="IOP Evening A", room="Room 2")
    day = make.group(intensive, odo, name="Intensive Day 1", room="Room 5")
    circle = Activity(name="Gratitude circle", default_minutes=90)
    db.session.add(circle)
    db.session.commit()
    return {"iop": iop, "intensive": intensive, "wrenna": wrenna, "odo": odo,
            "evening": evening, "day": day, "circle": circle}


def _session(group, starts_at, minutes=60, **kw):
    session = GroupSession(group_id=group.id, starts_at=starts_at, duration_minutes=minutes,
                           room=kw.pop("room", group.room),
                           facilitator_id=kw.pop("facilitator_id", group.facilitator_id),
                           status=kw.pop("status", "planned"), **kw)
    db.session.add(session)
    db.session.commit()
    return session


def _at(day_offset, hour, minute=0, week=WEEK):
    return datetime.combine(week + timedelta(days=day_offset), time(hour, minute))


def _row(plan, code):
    return next(t for t in plan.tracks if t.code == code)


def _future_monday(weeks_ahead=6):
    today = date.today()
    return today - timedelta(days=today.weekday()) + timedelta(weeks=weeks_ahead)


# The plan -------------------------------------------------------------------------
def test_a_track_meeting_its_minimum_is_not_flagged_and_one_below_it_is(ctx, clinic):
    for day in (0, 2, 3):  # IOP: 3 h on Mon, Wed, Thu = 9 h over 3 days
        _session(clinic["evening"], _at(day, 17), 180)
    for day in (0, 1):  # intensive: 2 × 4 h
        _session(clinic["day"], _at(day, 9), 240)

    plan = week_plan(WEEK)

    iop, intensive = _row(plan, "iop"), _row(plan, "intensive")
    assert [t.code for t in plan.tracks] == ["intensive", "iop"]  # by care level
    assert (iop.planned_minutes, iop.planned_days, iop.short) == (540, 3, False)
    assert iop.figures.summary == "held 9 h over 3 days / minimum 9 h over 3 days"  # a past week
    assert (intensive.planned_minutes, intensive.planned_days, intensive.short) == (480, 2, True)
    assert intensive.figures.summary == "held 8 h over 2 days / minimum 20 h over 5 days"


def test_enough_hours_on_too_few_days_is_still_short(ctx, clinic):
    _session(clinic["evening"], _at(0, 9), 300)
    _session(clinic["evening"], _at(1, 9), 300)

    iop = _row(week_plan(WEEK), "iop")

    assert (iop.planned_minutes, iop.planned_days, iop.short) == (600, 2, True)


def test_cancelled_sessions_are_shown_but_not_counted(ctx, clinic):
    for day in (0, 2, 3):
        _session(clinic["evening"], _at(day, 17), 180)
    _session(clinic["evening"], _at(4, 17), 180, status="cancelled")

    iop = _row(week_plan(WEEK), "iop")

    assert (iop.planned_minutes, iop.planned_days, iop.short) == (540, 3, False)
    assert [s.status for s in iop.days[4]] == ["cancelled"]


def test_each_group_shows_its_own_hours_against_the_track_minimum(ctx, clinic, make):
    second = make.group(clinic["iop"], clinic["odo"], name="IOP Morning B", room="Room 7")
    for day in (0, 2, 3):
        _session(clinic["evening"], _at(day, 17), 180)
    _session(second, _at(1, 10), 180)

    iop = _row(week_plan(WEEK), "iop")

    by_name = {g.name: g.figures for g in iop.groups}
    assert by_name["IOP Evening A"].short is False
    assert (by_name["IOP Morning B"].planned_minutes, by_name["IOP Morning B"].short) == (180, True)


def _one_group_meets_one_short(clinic, make):
    """IOP Evening A: 3 h on Mon, Wed and Thu (9 h over 3 days, the minimum); IOP Morning B: 3 h on Tue."""
    morning = make.group(clinic["iop"], clinic["odo"], name="IOP Morning B", room="Room 7")
    for day in (0, 2, 3):
        _session(clinic["evening"], _at(day, 17), 180)
    _session(morning, _at(1, 10), 180)
    return morning


@pytest.mark.parametrize(
    "now, badge, evening, morning",
    [
        (datetime(2026, 3, 9, 8), "Short: 1 of 2 groups below the weekly minimum", "met", "short"),
        (datetime(2026, 3, 1, 8), "Planned: short, 1 of 2 groups below the weekly minimum",
         "planned: meets", "planned: short"),
        (datetime(2026, 3, 4, 12),
         "At risk: 1 of 2 groups cannot reach the weekly minimum with what is still planned",
         "on track", "at risk"),
    ],
    ids=["past", "future", "wednesday"],
)
def test_a_track_with_one_group_short_does_not_meet_the_minimum_whatever_the_week(ctx, clinic, make,
                                                                                   now, badge, evening, morning):
    _one_group_meets_one_short(clinic, make)

    iop = _row(week_plan(WEEK, now=now), "iop")

    assert iop.figures.planned_minutes == 720 and iop.figures.planned_days == 4  # together: enough
    assert iop.short is True
    assert iop.badge == badge
    assert {g.name: g.figures.status for g in iop.groups} == {"IOP Evening A": evening, "IOP Morning B": morning}


def test_on_a_wednesday_a_week_still_planned_to_reach_the_minimum_is_on_track_not_short(ctx, clinic):
    for day in (0, 2, 3):  # Monday held; Wednesday evening and Thursday still to come
        _session(clinic["evening"], _at(day, 17), 180)

    plan = week_plan(WEEK, now=datetime(2026, 3, 4, 12))

    iop = _row(plan, "iop")
    assert plan.phase == "current"
    assert iop.short is False
    assert iop.badge == "On track: its group can reach the weekly minimum"
    evening = iop.groups[0].figures
    assert (evening.status, evening.held_minutes, evening.held_days) == ("on track", 180, 1)
    assert evening.planned == "held so far 3 h over 1 day, with what is still planned 9 h over 3 days"


def test_in_a_week_in_progress_a_cancelled_session_puts_the_group_at_risk(ctx, clinic):
    for day in (0, 2):
        _session(clinic["evening"], _at(day, 17), 180)
    _session(clinic["evening"], _at(3, 17), 180, status="cancelled")

    iop = _row(week_plan(WEEK, now=datetime(2026, 3, 4, 12)), "iop")

    assert iop.groups[0].figures.status == "at risk"
    assert iop.badge.startswith("At risk")


def test_a_future_week_that_meets_the_minimum_in_every_group_says_so(ctx, clinic, make):
    morning = make.group(clinic["iop"], clinic["odo"], name="IOP Morning B", room="Room 7")
    for day in (0, 2, 3):
        _session(clinic["evening"], _at(day, 17), 180)
        _session(morning, _at(day, 10), 180)

    iop = _row(week_plan(WEEK, now=datetime(2026, 2, 20)), "iop")

    assert iop.badge == "Planned: every group meets the weekly minimum"
    assert {g.figures.status for g in iop.groups} == {"planned: meets"}


def test_the_page_states_each_groups_status_and_the_tracks_in_words(client, ctx, clinic, make):
    planner = make.staff("planner")
    _one_group_meets_one_short(clinic, make)
    login(client, planner.email)

    page = client.get(f"/admin/planner/?week={WEEK}").get_data(as_text=True)

    assert "Short: 1 of 2 groups below the weekly minimum" in page
    assert "Met the weekly minimum" not in page
    assert re.search(r"IOP Evening A(</a>)?: held 9 h over 3 days <span[^>]*>met</span>", page)
    assert re.search(r"IOP Morning B(</a>)?: held 3 h over 1 day <span[^>]*>short</span>", page)
    assert "A track meets the minimum only when every one of its groups does." in page


def test_any_day_of_the_week_gives_the_same_monday_to_sunday_week(ctx, clinic):
    _session(clinic["evening"], _at(6, 20), 60)  # Sunday evening
    _session(clinic["evening"], _at(7, 9), 60)  # next Monday: not this week

    plan = week_plan(WEEK + timedelta(days=4))

    assert plan.week_start == WEEK
    assert plan.days == [WEEK + timedelta(days=i) for i in range(7)]
    assert (plan.previous_week, plan.next_week) == (date(2026, 2, 23), date(2026, 3, 9))
    assert plan.session_count == 1
    assert len(_row(plan, "iop").days[6]) == 1


def test_a_facilitator_booked_twice_at_once_is_listed_as_a_clash(ctx, clinic):
    # Made outside the series rules (e.g. edited directly), so the planner must show it.
    _session(clinic["evening"], _at(2, 17), 90)
    _session(clinic["day"], _at(2, 18), 60, facilitator_id=clinic["wrenna"].id, room="Room 9")
    _session(clinic["day"], _at(2, 18, 30), 60, room="Room 9", facilitator_id=None)  # starts as the first ends

    plan = week_plan(WEEK)

    assert [c.message for c in plan.clashes] == [
        "Wrenna Stillwater leads both IOP Evening A (2026-03-04 17:00–18:30) and "
        "Intensive Day 1 (2026-03-04 18:00–19:00).",
        "Room 9 is booked for both Intensive Day 1 (2026-03-04 18:00–19:00) and "
        "Intensive Day 1 (2026-03-04 18:30–19:30).",
    ]
    assert plan.clash_count == 2
    assert [s.clash for s in _row(plan, "iop").days[2]] == [True]


def test_the_facilitator_filter_shows_only_their_sessions_and_clashes(ctx, clinic):
    _session(clinic["evening"], _at(0, 17), 90)
    _session(clinic["day"], _at(0, 9), 240)
    _session(clinic["day"], _at(1, 9), 60, room="Room 5")
    _session(clinic["day"], _at(1, 9, 30), 60, room="Room 5")  # Odo's room clash

    plan = week_plan(WEEK, facilitator_id=clinic["wrenna"].id)

    shown = [s.group_name for t in plan.tracks for day in t.days for s in day]
    assert shown == ["IOP Evening A"]
    assert plan.clashes == []
    # Odo's track holds none of her groups: not shown; her group's hours count every session.
    assert [t.code for t in plan.tracks] == ["iop"]
    assert _row(plan, "iop").planned_minutes == 90


def test_facilitators_offered_by_the_filter_are_the_staff_who_lead_groups(ctx, clinic, make):
    make.staff("planner", full_name="Pat Planner")

    names = [s.full_name for s in facilitators()]

    assert names == ["Odo Fairweather", "Wrenna Stillwater"]


# The page -------------------------------------------------------------------------
def test_a_planner_sees_the_week_with_hours_minimums_and_edit_links(client, ctx, clinic, make):
    planner = make.staff("planner")
    for day in (0, 2, 3):
        _session(clinic["evening"], _at(day, 17), 180, activity_id=clinic["circle"].id)
    session_id = _session(clinic["day"], _at(0, 9), 240).id
    login(client, planner.email)

    response = client.get(f"/admin/planner/?week={WEEK + timedelta(days=2)}")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "IOP Evening A" in page and "Gratitude circle" in page and "Wrenna Stillwater" in page
    assert "17:00–20:00" in page and "Room 2" in page
    assert "All groups together: held 9 h over 3 days / minimum 9 h over 3 days" in page
    assert "All groups together: held 4 h over 1 day / minimum 20 h over 5 days" in page
    assert re.search(r'<tr class="planner-short" id="track-intensive">', page)
    assert re.search(r'<tr class="planner-ok" id="track-iop">', page)
    assert "Short: its group below the weekly minimum" in page
    assert "Met the weekly minimum: its group" in page
    assert f'href="/admin/sessions/edit/?id={session_id}"' in page
    assert f'href="/admin/series/occurrence/?id={session_id}"' in page
    assert 'href="/admin/planner/?week=2026-02-23"' in page
    assert 'href="/admin/planner/?week=2026-03-09"' in page


def test_next_week_link_leads_to_the_next_weeks_sessions(client, ctx, clinic, make):
    planner = make.staff("planner")
    _session(clinic["evening"], _at(8, 17), 60, activity_id=clinic["circle"].id)  # Tuesday next week
    login(client, planner.email)

    this_week = client.get(f"/admin/planner/?week={WEEK}").get_data(as_text=True)
    next_week = client.get("/admin/planner/?week=2026-03-09").get_data(as_text=True)

    assert "Gratitude circle" not in this_week
    assert "Gratitude circle" in next_week
    assert "10 Mar" in next_week


def test_a_clash_is_shown_prominently_on_the_page(client, ctx, clinic, make):
    planner = make.staff("planner")
    _session(clinic["evening"], _at(2, 17), 90)
    _session(clinic["day"], _at(2, 18), 60, facilitator_id=clinic["wrenna"].id, room="Room 9")
    login(client, planner.email)

    page = client.get(f"/admin/planner/?week={WEEK}").get_data(as_text=True)

    assert 'id="clashes"' in page
    assert "1 clash this week" in page
    assert ("Wrenna Stillwater leads both IOP Evening A (2026-03-04 17:00–18:30) and "
            "Intensive Day 1 (2026-03-04 18:00–19:00).") in page


def test_the_facilitator_filter_on_the_page_keeps_the_week_and_hides_other_sessions(client, ctx, clinic, make):
    planner = make.staff("planner")
    _session(clinic["evening"], _at(0, 17), 90)
    _session(clinic["day"], _at(0, 9), 240)
    wrenna_id = clinic["wrenna"].id
    login(client, planner.email)

    page = client.get(f"/admin/planner/?week={WEEK}&facilitator={wrenna_id}").get_data(as_text=True)

    assert f'<option value="{wrenna_id}" selected>Wrenna Stillwater</option>' in page
    assert "IOP Evening A</div>" in page
    assert "Intensive Day 1</div>" not in page
    assert f'href="/admin/planner/?week=2026-03-09&amp;facilitator={wrenna_id}"' in page


def test_a_counselor_reads_the_planner_without_edit_links(client, ctx, clinic):
    _session(clinic["evening"], _at(0, 17), 90)
    login(client, clinic["wrenna"].email)

    response = client.get(f"/admin/planner/?week={WEEK}")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "IOP Evening A" in page
    assert "/admin/sessions/edit/" not in page
    assert "/admin/series/" not in page


def test_the_record_link_shows_on_the_sessions_the_user_may_record(client, ctx, clinic, make):
    hers = _session(clinic["evening"], _at(0, 17), 90).id
    his = _session(clinic["day"], _at(1, 9), 240).id
    cancelled = _session(clinic["evening"], _at(2, 17), 90, status="cancelled").id

    def record_links(email) -> set[int]:
        client.post("/logout")
        login(client, email)
        page = client.get(f"/admin/planner/?week={WEEK}").get_data(as_text=True)
        return {int(i) for i in re.findall(r'href="/admin/record/\?session=(\d+)"', page)}

    assert record_links(clinic["wrenna"].email) == {hers}
    assert record_links(clinic["odo"].email) == {his}
    assert record_links(make.staff("planner").email) == {hers, his}
    assert cancelled not in record_links(make.staff("admin").email)


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, ctx):
    response = client.get("/admin/planner/")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("query", ["week=2026-13-45", "week=next", "facilitator=abc"])
def test_a_malformed_query_shows_a_plain_message_not_an_error_page(client, ctx, make, query):
    planner = make.staff("planner")
    login(client, planner.email)

    response = client.get(f"/admin/planner/?{query}")

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="planner-problem"' in page
    assert "Traceback" not in page


def test_the_planner_page_runs_the_same_number_of_statements_with_10_and_500_sessions(client, ctx, clinic, make):
    planner = make.staff("planner")
    login(client, planner.email)
    groups = [clinic["evening"], clinic["day"]]
    activity_id = clinic["circle"].id
    made = 0

    def statements_with(total):
        nonlocal made
        # 20-minute slots across the week: 500 sessions fit without clashing.
        db.session.add_all(
            GroupSession(group_id=groups[i % 2].id, activity_id=activity_id,
                         starts_at=datetime.combine(WEEK, time()) + timedelta(minutes=20 * i),
                         duration_minutes=15, room=f"Room {i % 2}",
                         facilitator_id=groups[i % 2].facilitator_id, status="planned")
            for i in range(made, total)
        )
        db.session.commit()
        made = total
        seen = []
        listener = lambda *args, **kw: seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            response = client.get(f"/admin/planner/?week={WEEK}")
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert response.status_code == 200
        assert response.get_data(as_text=True).count('class="planner-session') == total
        return len(seen)

    ten = statements_with(10)
    five_hundred = statements_with(500)
    assert ten == five_hundred, (ten, five_hundred)
    assert ten <= 8


# The series pages ---------------------------------------------------------------
def _series_form(clinic, **changes):
    data = {
        "group": str(clinic["evening"].id),
        "weekdays": ["0", "2", "3"],
        "start_time": "17:00",
        "duration_minutes": "90",
        "activity": str(clinic["circle"].id),
        "room": "",
        "facilitator": "",
        "start_date": "2026-03-02",
        "end": "until",
        "until": "2026-03-19",
        "count": "",
        "weeks": "",
    }
    data.update(changes)
    return data


def _previewed(page):
    """The fingerprint the preview put on the page (what "Create" will create)."""
    return re.search(r'name="previewed" type="hidden" value="([0-9a-f]*)"', page).group(1)


def _preview_then_create(client, data):
    """Preview the series as a person would, then press "Create N sessions"."""
    preview = client.post("/admin/series/", data=data)
    assert preview.status_code == 200
    return client.post("/admin/series/", data={**data, "previewed": _previewed(preview.get_data(as_text=True)),
                                               "create": "1"})


def _count_sessions():
    db.session.remove()
    return db.session.scalar(sa.select(sa.func.count()).select_from(GroupSession))


def test_a_planner_previews_a_series_then_creates_exactly_it_and_sees_it_in_the_planner(client, ctx, clinic, make):
    planner = make.staff("planner")
    login(client, planner.email)
    assert client.get("/admin/series/").status_code == 200

    preview = client.post("/admin/series/", data=_series_form(clinic))

    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert _count_sessions() == 0  # previewing creates nothing
    assert page.count('<li class="series-date') == 9
    assert "Mon 2026-03-02 17:00–18:30" in page and "Thu 2026-03-19 17:00–18:30" in page
    assert "No clashes. Nothing has been created yet." in page
    assert ">Create 9 sessions</button>" in page

    response = client.post("/admin/series/", data={**_series_form(clinic), "previewed": _previewed(page),
                                                   "create": "1"})

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/planner/?week=2026-03-02")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Created 9 sessions for IOP Evening A, from 2026-03-02 to 2026-03-19." in page
    assert page.count("IOP Evening A</div>") == 3
    assert _count_sessions() == 9
    starts = db.session.scalars(sa.select(GroupSession.starts_at).order_by(GroupSession.starts_at)).all()
    assert starts[:3] == [datetime(2026, 3, 2, 17), datetime(2026, 3, 4, 17), datetime(2026, 3, 5, 17)]
    assert db.session.scalar(sa.select(sa.func.count(sa.distinct(GroupSession.series_id)))) == 1


def test_for_n_weeks_on_the_form_previews_every_chosen_weekday_of_those_weeks(client, ctx, clinic, make):
    planner = make.staff("planner")
    login(client, planner.email)

    response = _preview_then_create(client, _series_form(
        clinic, weekdays=["0", "2", "4"], end="weeks", weeks="8", until="2026-03-05", count="3"))

    assert response.status_code == 302
    assert _count_sessions() == 24  # the other ends' values are ignored


def test_create_without_a_preview_only_previews(client, ctx, clinic, make):
    planner = make.staff("planner")
    login(client, planner.email)

    response = client.post("/admin/series/", data={**_series_form(clinic), "create": "1"})

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Nothing was created yet: check the dates below, then create the series." in page
    assert page.count('<li class="series-date') == 9
    assert _count_sessions() == 0


def test_a_series_changed_after_its_preview_is_not_created_and_is_previewed_again(client, ctx, clinic, make):
    planner = make.staff("planner")
    login(client, planner.email)
    page = client.post("/admin/series/", data=_series_form(clinic)).get_data(as_text=True)

    response = client.post("/admin/series/", data={**_series_form(clinic, start_time="18:00"),
                                                   "previewed": _previewed(page), "create": "1"})

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "no longer the one previewed" in page
    assert "Mon 2026-03-02 18:00–19:30" in page
    assert _count_sessions() == 0


def test_the_series_form_uses_the_groups_usual_length_and_the_activitys_only_without_sessions(
        client, ctx, clinic, make):
    planner = make.staff("planner")
    login(client, planner.email)

    _preview_then_create(client, _series_form(clinic, duration_minutes="", until="", end="count", count="2"))
    db.session.remove()
    assert db.session.scalars(sa.select(GroupSession.duration_minutes)).all() == [90, 90]  # the activity's
    _session(clinic["evening"], datetime(2026, 2, 23, 17), 75)
    _session(clinic["evening"], datetime(2026, 2, 24, 17), 75)
    _session(clinic["evening"], datetime(2026, 2, 25, 17), 75)

    page = client.post("/admin/series/", data=_series_form(
        clinic, duration_minutes="", end="count", count="2", start_date="2026-04-06")).get_data(as_text=True)

    assert "75 min: the group&#39;s usual length" in page
    assert "Mon 2026-04-06 17:00–18:15" in page
    assert "the most common length of its last 10 sessions" in page  # the form says so


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"weekdays": []}, "Choose at least one weekday."),
        ({"until": "2026-02-20"}, "The series cannot end (2026-02-20) before it starts (2026-03-02)."),
        ({"until": "", "count": ""}, "Give the series an end date, a number of sessions or a number of weeks."),
        ({"end": "weeks", "weeks": "60"}, "A series runs for 1 to 52 weeks (asked for 60)."),
        ({"end": "count", "count": "0"}, "A series needs at least one session."),
        ({"start_time": "late"}, "Not a valid time value."),
    ],
)
def test_an_invalid_series_form_shows_the_problem_and_creates_nothing(client, ctx, clinic, make, changes, message):
    planner = make.staff("planner")
    login(client, planner.email)

    response = client.post("/admin/series/", data=_series_form(clinic, **changes))

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in page
    assert _count_sessions() == 0


def test_a_clashing_series_is_previewed_naming_every_clash_keeping_the_values_and_not_offered(
        client, ctx, clinic, make):
    planner = make.staff("planner")
    _session(clinic["day"], datetime(2026, 3, 12, 16, 30), 60, facilitator_id=clinic["wrenna"].id)
    _session(clinic["day"], datetime(2026, 3, 4, 17), 60, room="garden room ")
    group_id = clinic["evening"].id
    login(client, planner.email)

    response = client.post("/admin/series/", data=_series_form(clinic, room="Garden room"))

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 clashes on 2 dates" in page
    assert "Clash: Wrenna Stillwater already leads Intensive Day 1 on 2026-03-12 16:30–17:30." in page
    assert "Clash: Garden room is already booked for Intensive Day 1 on 2026-03-04 17:00–18:00." in page
    assert 'id="create-series"' not in page
    assert f'<option selected value="{group_id}">' in page
    assert 'value="Garden room"' in page and 'value="17:00"' in page and 'value="2026-03-19"' in page
    checked = re.findall(r'<input checked[^>]*name="weekdays"[^>]*value="(\d)"', page)
    assert checked == ["0", "2", "3"]
    assert _count_sessions() == 2


def test_clashes_booked_after_the_preview_refuse_the_create_listing_all_of_them(client, ctx, clinic, make):
    planner = make.staff("planner")
    login(client, planner.email)
    data = _series_form(clinic, room="Garden room")
    page = client.post("/admin/series/", data=data).get_data(as_text=True)
    assert "No clashes" in page
    # Meanwhile someone books Wrenna and the garden room.
    _session(clinic["day"], datetime(2026, 3, 12, 16, 30), 60, facilitator_id=clinic["wrenna"].id)
    _session(clinic["day"], datetime(2026, 3, 4, 17), 60, room="Garden room")

    response = client.post("/admin/series/", data={**data, "previewed": _previewed(page), "create": "1"})

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    refusal = page[page.index('id="series-refusal"'):page.index("</div>", page.index('id="series-refusal"'))]
    assert "The series was not created: 2 clashes." in refusal
    assert "Wrenna Stillwater already leads Intensive Day 1 on 2026-03-12 16:30–17:30." in refusal
    assert "Garden room is already booked for Intensive Day 1 on 2026-03-04 17:00–18:00." in refusal
    assert _count_sessions() == 2


@pytest.mark.parametrize("url", ["/admin/series/", "/admin/series/occurrence/?id=1"])
def test_a_counselor_may_not_open_or_post_the_series_pages(client, ctx, clinic, url):
    _session(clinic["evening"], _at(0, 17), 90)
    login(client, clinic["wrenna"].email)

    assert client.get(url).status_code == 403
    assert client.post(url, data=_series_form(clinic)).status_code == 403
    assert client.post(url, data={**_series_form(clinic), "create": "1", "previewed": "0" * 32}).status_code == 403
    assert _count_sessions() == 1


def test_a_planner_moves_this_and_following_sessions_through_the_occurrence_page(client, ctx, clinic, make):
    planner = make.staff("planner")
    monday = _future_monday()
    sessions = create_series(clinic["evening"], weekdays=[0], start_time=time(17), duration_minutes=90,
                                        start_date=monday, count=4)
    ids = [s.id for s in sessions]
    login(client, planner.email)

    form = client.get(f"/admin/series/occurrence/?id={ids[1]}").get_data(as_text=True)
    assert "4 planned sessions from this one onwards" not in form
    assert "3 planned sessions from this one onwards" in form
    response = client.post(f"/admin/series/occurrence/?id={ids[1]}", data={
        "scope": "following", "row_version": "1", "start_time": "18:00", "duration_minutes": "90",
        "activity": "", "room": "Room 2", "facilitator": str(clinic["wrenna"].id), "save": "Save changes",
    })

    assert response.status_code == 302
    db.session.remove()
    starts = db.session.scalars(
        sa.select(GroupSession.starts_at).where(GroupSession.id.in_(ids)).order_by(GroupSession.starts_at)
    ).all()
    assert [s.time() for s in starts] == [time(17), time(18), time(18), time(18)]


def test_a_planner_cancels_one_occurrence_with_a_reason_through_the_occurrence_page(client, ctx, clinic, make):
    planner = make.staff("planner")
    sessions = create_series(clinic["evening"], weekdays=[0], start_time=time(17), duration_minutes=90,
                                        start_date=_future_monday(), count=3)
    ids = [s.id for s in sessions]
    login(client, planner.email)

    response = client.post(f"/admin/series/occurrence/?id={ids[0]}", data={
        "scope": "this", "row_version": "1", "reason": "Clinic closed", "cancel_sessions": "Cancel sessions",
    })

    assert response.status_code == 302
    assert "Cancelled 1 session." in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.remove()
    statuses = db.session.scalars(
        sa.select(GroupSession.status).where(GroupSession.id.in_(ids)).order_by(GroupSession.starts_at)
    ).all()
    assert statuses == ["cancelled", "planned", "planned"]


def test_changing_a_past_session_on_the_occurrence_page_is_refused_with_a_message(client, ctx, clinic, make):
    planner = make.staff("planner")
    past = _session(clinic["evening"], datetime(2025, 1, 6, 17), 90)
    past_id = past.id
    login(client, planner.email)

    response = client.post(f"/admin/series/occurrence/?id={past_id}", data={
        "scope": "this", "row_version": "1", "start_time": "18:00", "duration_minutes": "90",
        "activity": "", "room": "Room 2", "facilitator": str(clinic["wrenna"].id), "save": "Save changes",
    })

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "past sessions are not changed" in page
    db.session.remove()
    assert db.session.get(GroupSession, past_id).starts_at == datetime(2025, 1, 6, 17)


def test_an_unknown_session_on_the_occurrence_page_is_a_plain_not_found(client, ctx, make):
    planner = make.staff("planner")
    login(client, planner.email)

    response = client.get("/admin/series/occurrence/?id=999")

    assert response.status_code == 404
    assert "There is no such session." in response.get_data(as_text=True)


@pytest.mark.parametrize("version", [None, "", "x"])
def test_the_occurrence_page_refuses_a_change_without_the_version_it_was_opened_with(client, ctx, clinic, make,
                                                                                       version):
    planner = make.staff("planner")
    sessions = create_series(clinic["evening"], weekdays=[0], start_time=time(17), duration_minutes=90,
                             start_date=_future_monday(), count=1)
    session_id = sessions[0].id
    login(client, planner.email)
    data = {"scope": "this", "reason": "Clinic closed", "cancel_sessions": "Cancel sessions"}
    if version is not None:
        data["row_version"] = version
    response = client.post(f"/admin/series/occurrence/?id={session_id}", data=data)
    assert response.status_code == 200
    assert 'id="occurrence-refusal"' in response.get_data(as_text=True)
    db.session.remove()
    saved = db.session.get(GroupSession, session_id)
    assert (saved.status, saved.version) == ("planned", 1)


def test_the_series_preview_runs_the_same_number_of_statements_for_4_and_100_dates(client, ctx, clinic, make):
    planner = make.staff("planner")
    for week in range(30):  # a busy calendar for the facilitator, the room and the group
        _session(clinic["evening"], datetime(2026, 3, 3, 9) + timedelta(weeks=week), 60)
    login(client, planner.email)

    def statements_for(count):
        seen = []
        listener = lambda *args, **kw: seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            response = client.post("/admin/series/", data=_series_form(
                clinic, duration_minutes="", end="count", until="", count=str(count)))
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert response.get_data(as_text=True).count('<li class="series-date') == count
        return len(seen)

    statements_for(4)  # the first request after login also touches the login row
    four, hundred = statements_for(4), statements_for(100)
    assert four == hundred, (four, hundred)
    assert _count_sessions() == 30


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"end": "weeks", "weeks": "60"}, "weeks", "A series runs for 1 to 52 weeks (asked for 60)."),
        ({"end": "weeks", "weeks": ""}, "weeks", "Give the series an end date, a number of sessions or a number of weeks."),
        ({"end": "until", "until": "2026-02-20"}, "until", "The series cannot end (2026-02-20) before it starts"),
        ({"duration_minutes": "900"}, "duration_minutes", "The length must be between 1 and 720 minutes"),
    ],
)
def test_a_refused_series_value_is_explained_at_its_field(client, ctx, clinic, make, changes, field, message):
    planner = make.staff("planner")
    login(client, planner.email)

    page = client.post("/admin/series/", data=_series_form(clinic, **changes)).get_data(as_text=True)

    at_field = re.search(rf'id="{field}"[^>]*>\s*<div class="invalid-feedback d-block">([^<]*)</div>', page)
    assert at_field and message in at_field.group(1)
    assert 'id="series-preview"' not in page
    assert _count_sessions() == 0


def test_the_record_link_shows_only_on_sessions_that_have_started(client, ctx, clinic):
    """A facilitator sees Record where the record page opens, not on sessions still to come."""
    started = _session(clinic["evening"], datetime.now() - timedelta(hours=2))
    to_come = _session(clinic["evening"], datetime.now() + timedelta(days=2))
    login(client, clinic["wrenna"].email)

    for session, shown in ((started, True), (to_come, False)):
        page = client.get(f"/admin/planner/?week={session.starts_at.date().isoformat()}").get_data(as_text=True)
        assert f'data-session="{session.id}"' in page
        assert (f"/admin/record/?session={session.id}" in page) is shown


def test_the_planner_shows_12_groups_a_page_and_a_track_filter_each_badge_judging_the_pages_groups(
        client, ctx, clinic, make):
    """A large week stays readable: groups a page at a time, each session on exactly one page,
    narrowed by track; a track spread over pages is judged on each by its groups there, and
    says how many of its groups the page holds."""
    from clinic.services.week_plan import GROUPS_PAGE

    assert GROUPS_PAGE == 12
    iop = clinic["iop"]
    made = {}
    for n in range(30):
        group = make.group(iop, clinic["wrenna"], name=f"IOP Z{n:02d}", room=f"Room Z{n:02d}")
        made[group.id] = _session(group, _at(n % 5, 8 + n // 5), minutes=60).id
    made[clinic["evening"].id] = _session(clinic["evening"], _at(0, 18)).id
    made[clinic["day"].id] = _session(clinic["day"], _at(1, 18)).id
    login(client, make.staff("planner").email)

    def sessions_on(url):
        body = client.get(url).get_data(as_text=True)
        return body, {int(x) for x in re.findall(r'data-session="(\d+)"', body)}

    first, on_first = sessions_on(f"/admin/planner/?week={WEEK.isoformat()}")
    # Intensive (1 group) and IOP (31 groups): 32 groups, by track then name.
    assert "1–12 of 32 groups" in first and "Page 1 of 3" in first
    second, on_second = sessions_on(f"/admin/planner/?week={WEEK.isoformat()}&page=2")
    assert "13–24 of 32 groups" in second
    third, on_third = sessions_on(f"/admin/planner/?week={WEEK.isoformat()}&page=3")
    assert "25–32 of 32 groups" in third
    assert not on_first & on_second and not on_second & on_third and not on_first & on_third
    assert on_first | on_second | on_third == set(made.values())
    # The IOP badge judges the IOP groups of each page (11 on the first, 12, then 8).
    assert "Short: 11 of the 11 groups on this page below the weekly minimum" in first
    assert "11 of its 31 groups on this page" in first
    assert "Short: 12 of the 12 groups on this page below the weekly minimum" in second
    assert "12 of its 31 groups on this page" in second
    assert "Short: 8 of the 8 groups on this page below the weekly minimum" in third
    assert "8 of its 31 groups on this page" in third
    # The intensive track's one group is on the first page: its badge is the track's.
    assert "Short: its group below the weekly minimum" in first
    narrowed, on_track = sessions_on(f"/admin/planner/?week={WEEK.isoformat()}&track={clinic['intensive'].id}")
    assert on_track == {made[clinic["day"].id]} and 'id="track-iop"' not in narrowed
    assert "1 group" in narrowed
    assert client.get("/admin/planner/?track=abc").status_code == 400



# The figures and clashes in SQL, against a count by hand --------------------------------


def _busy_week(make, seed, groups=34, sessions=220):
    """A busy, untidy week: two tracks, many groups (one inactive with sessions, one inactive
    without, active ones without any), five facilitators, rooms written differently, cancelled,
    held and planned sessions, sessions running past midnight, touching and overlapping ones."""
    import random

    rng = random.Random(seed)
    tracks = [make.track("iop"), make.track("intensive")]
    staff = [make.staff("counselor", full_name=f"Staff {n}") for n in range(5)]
    made = []
    for n in range(groups):
        made.append(make.group(tracks[n % 2], rng.choice(staff + [None]), name=f"Busy {n:02d}",
                               room="Room 1", active=n != 3 and n != 4))
    rows = []
    for i in range(sessions):
        group = rng.choice(made[:-6])  # the last six groups have no session this week
        day = rng.randrange(7)
        start = datetime.combine(WEEK + timedelta(days=day), time(rng.choice((9, 10, 13, 17, 23)),
                                                                  rng.choice((0, 30))))
        rows.append(GroupSession(
            group_id=group.id, starts_at=start, duration_minutes=rng.choice((30, 45, 60, 90, 120, 180)),
            facilitator_id=rng.choice([s.id for s in staff] + [None]),
            room=rng.choice(("", "Room 1", " room 1 ", "ROOM 1", "Room 2", "Hall")),
            status=rng.choice(("planned", "planned", "held", "cancelled"))))
    # Just outside the week: never counted.
    rows.append(GroupSession(group_id=made[0].id, starts_at=datetime.combine(WEEK, time()) - timedelta(minutes=30),
                             duration_minutes=120, facilitator_id=staff[0].id, room="Room 1"))
    rows.append(GroupSession(group_id=made[0].id, starts_at=datetime.combine(WEEK + timedelta(days=7), time()),
                             duration_minutes=60, facilitator_id=staff[0].id, room="Room 1"))
    db.session.add_all(rows)
    db.session.commit()
    return tracks, staff, made


def _entries_by_hand():
    """Every session of WEEK as the pairwise check takes them, read plainly."""
    from clinic.models import CareGroup, StaffUser
    from clinic.services.week_plan import SessionEntry

    rows = db.session.execute(
        sa.select(GroupSession, CareGroup.name, CareGroup.track_id, StaffUser.full_name)
        .join(CareGroup, CareGroup.id == GroupSession.group_id)
        .outerjoin(StaffUser, StaffUser.id == GroupSession.facilitator_id)
        .where(GroupSession.starts_at >= datetime.combine(WEEK, time()),
               GroupSession.starts_at < datetime.combine(WEEK + timedelta(days=7), time()))
    ).all()
    return [SessionEntry(id=s.id, group_id=s.group_id, group_name=name, activity_name="", starts_at=s.starts_at,
                         ends_at=s.starts_at + timedelta(minutes=s.duration_minutes),
                         duration_minutes=s.duration_minutes, facilitator_id=s.facilitator_id,
                         facilitator_name=person or "", room=s.room, status=s.status, series_id=None,
                         track_id=track_id)
            for s, name, track_id, person in rows]


def _by_hand(entries, now):
    """(minutes, days, held minutes, held days) of the non-cancelled entries."""
    live = [e for e in entries if e.status != "cancelled"]
    held = [e for e in live if e.starts_at < now]
    return (sum(e.duration_minutes for e in live), len({e.starts_at.date() for e in live}),
            sum(e.duration_minutes for e in held), len({e.starts_at.date() for e in held}))


@pytest.mark.parametrize("seed", range(3))
def test_the_sql_figures_badges_and_clashes_agree_with_a_count_by_hand(ctx, make, seed):
    """Every group's hours and days (held and planned, on a Wednesday), each track's over
    its groups on the page and its groups counted, each badge's "k of n groups", the cells
    of every page, the clash marks, the page's clashes counted and listed and the clashes
    page, with and without a facilitator and a track filter, equal what a plain pass over
    the week's sessions finds."""
    from clinic.models import CareGroup
    from clinic.services.week_plan import CLASH_COUNT_CAP, MAX_LISTED_CLASHES, find_clashes, week_clashes

    tracks, staff, groups = _busy_week(make, seed)
    now = datetime(2026, 3, 4, 12)
    entries = _entries_by_hand()
    everything = find_clashes(entries)
    assert len(everything) > MAX_LISTED_CLASHES  # more than the planner lists
    all_groups = db.session.scalars(sa.select(CareGroup)).all()

    for facilitator_id in (None, staff[1].id):
        mine = [c for c in everything
                if facilitator_id is None or facilitator_id in (c[2].facilitator_id, c[3].facilitator_id)]
        clashing = {e.id for c in mine for e in (c[2], c[3])}
        for track_id in (None, tracks[0].id):
            shown_groups = [g for g in all_groups
                            if (g.active or any(e.group_id == g.id for e in entries))]
            pageable = sorted(
                (g for g in shown_groups if track_id is None or g.track_id == track_id
                 if facilitator_id is None or g.facilitator_id == facilitator_id
                 or any(e.group_id == g.id and e.facilitator_id == facilitator_id for e in entries)),
                key=lambda g: (next(t.care_level for t in tracks if t.id == g.track_id), g.name))
            seen_groups, seen_sessions, page = [], set(), 1
            while True:
                plan = week_plan(WEEK, facilitator_id=facilitator_id, now=now, track_id=track_id, page=page)
                assert plan.window.total == len(pageable)
                for row in plan.tracks:
                    in_track = [g for g in pageable if g.track_id == row.track_id]
                    here = {g.id for g in row.groups}
                    figures = row.figures
                    assert (figures.planned_minutes, figures.planned_days, figures.held_minutes,
                            figures.held_days) == _by_hand([e for e in entries if e.group_id in here], now)
                    if row.whole:
                        assert here == {g.id for g in in_track}
                    short = [g for g in in_track if g.id in here
                             if _by_hand([e for e in entries if e.group_id == g.id], now)[0] < figures.min_minutes
                             or _by_hand([e for e in entries if e.group_id == g.id], now)[1] < figures.min_days]
                    assert (row.group_count, row.short_count) == (len(in_track), len(short))
                    for g in row.groups:
                        mine_g = [e for e in entries if e.group_id == g.id]
                        assert (g.figures.planned_minutes, g.figures.planned_days, g.figures.held_minutes,
                                g.figures.held_days) == _by_hand(mine_g, now)
                        seen_groups.append(g.id)
                    for day, cell in zip(plan.days, row.days):
                        for s in cell:
                            assert s.starts_at.date() == day
                            assert s.clash == (s.id in clashing)
                            seen_sessions.add(s.id)
                on_page = {g.id for row in plan.tracks for g in row.groups}
                listed = [c for c in mine if c[2].group_id in on_page or c[3].group_id in on_page]
                assert [(c.kind, c.label, c.first.id, c.second.id) for c in plan.clashes] == \
                    [(k, label, a.id, b.id) for k, label, a, b in listed[:MAX_LISTED_CLASHES]]
                assert (plan.clash_count, plan.clash_count_capped) == \
                    (min(len(listed), CLASH_COUNT_CAP), len(listed) > CLASH_COUNT_CAP)
                if not plan.window.has_next:
                    break
                page += 1
            assert seen_groups == [g.id for g in pageable]  # each group once, in order, over the pages
            assert seen_sessions == {e.id for e in entries if e.group_id in set(seen_groups)
                                     and (facilitator_id is None or e.facilitator_id == facilitator_id)}
        # The clashes page: every clash once, in the same order, 25 a page.
        paged, page = [], 1
        while True:
            result = week_clashes(WEEK, facilitator_id=facilitator_id, page=page)
            assert result.window.total == len(mine) and len(result.clashes) <= 25
            paged += [(c.kind, c.label, c.first.id, c.second.id) for c in result.clashes]
            if not result.window.has_next:
                break
            page += 1
        assert paged == [(k, label, a.id, b.id) for k, label, a, b in mine]


def test_a_week_counted_by_hand(ctx, clinic, make):
    """One small week with every case, its figures written out: on Wednesday noon the IOP
    evening group held Monday's 3 h and plans Thursday's 3 h and a session past midnight on
    Friday; Tuesday's session is cancelled. Wrenna leads two sessions at once on Thursday
    and a room is booked twice on Monday (written differently)."""
    evening, day = clinic["evening"], clinic["day"]
    _session(evening, _at(0, 17), 180)                             # Mon, held
    _session(evening, _at(1, 17), 180, status="cancelled")         # Tue, not counted
    _session(evening, _at(3, 17), 180)                             # Thu, planned
    _session(evening, _at(4, 23), 120)                             # Fri 23:00–01:00: one day, Friday
    _session(day, _at(3, 18), 60, facilitator_id=clinic["wrenna"].id, room="Room 9")  # Wrenna twice
    _session(day, _at(0, 9), 240, room=" room 2 ")                 # Room 2 (Mon 09:00–13:00) ...
    _session(day, _at(0, 12, 30), 60, room="ROOM 2", facilitator_id=None)  # ... booked again at 12:30
    _session(day, _at(0, 13), 60, room="Room 2", facilitator_id=None)      # touching 13:00: no clash

    plan = week_plan(WEEK, now=datetime(2026, 3, 4, 12))

    iop, intensive = _row(plan, "iop"), _row(plan, "intensive")
    assert (iop.figures.held_minutes, iop.figures.held_days) == (180, 1)
    assert (iop.planned_minutes, iop.planned_days) == (480, 3)
    assert iop.figures.status == "at risk"  # 8 h < 9 h
    assert iop.badge == "At risk: its group cannot reach the weekly minimum with what is still planned"
    assert (intensive.planned_minutes, intensive.planned_days) == (420, 2)
    # Room 2 at 09:00 with 12:30, 12:30 with 13:00 (13:00 only touches 09:00–13:00); Wrenna.
    # A room is named as the later session writes it.
    assert plan.clash_count == 3
    assert [c.message for c in plan.clashes] == [
        "ROOM 2 is booked for both Intensive Day 1 (2026-03-02 09:00–13:00) and "
        "Intensive Day 1 (2026-03-02 12:30–13:30).",
        "Room 2 is booked for both Intensive Day 1 (2026-03-02 12:30–13:30) and "
        "Intensive Day 1 (2026-03-02 13:00–14:00).",
        "Wrenna Stillwater leads both IOP Evening A (2026-03-05 17:00–20:00) and "
        "Intensive Day 1 (2026-03-05 18:00–19:00).",
    ]
    # Wrenna's own view: her sessions, her clash, the whole tracks' hours.
    hers = week_plan(WEEK, facilitator_id=clinic["wrenna"].id, now=datetime(2026, 3, 4, 12))
    assert hers.clash_count == 1 and len(hers.clashes) == 1
    assert {s.id for t in hers.tracks for d in t.days for s in d if s.clash} == \
        {hers.clashes[0].first.id, hers.clashes[0].second.id}
    assert _row(hers, "intensive").planned_minutes == 420


# The clashes page -------------------------------------------------------------------


def _clashing_week(clinic, count):
    """``count`` clashes: Wrenna leads two sessions at once, ``count`` times over the week."""
    for n in range(count):
        start = _at(n % 7, 8 + n // 7)
        _session(clinic["evening"], start, 30, room=f"Room E{n}")
        _session(clinic["day"], start, 30, facilitator_id=clinic["wrenna"].id, room=f"Room D{n}")


def test_the_clashes_page_lists_every_clash_of_the_week_25_a_page(client, ctx, clinic, make):
    _clashing_week(clinic, 30)
    login(client, make.staff("planner").email)

    planner = client.get(f"/admin/planner/?week={WEEK}").get_data(as_text=True)
    assert "30 clashes this week on this page's groups" in planner
    # The planner's warning lists the first ten; the clashes page lists every one.
    assert planner.count('class="clash-line"') == 10 and "… and 20 more." in planner
    assert f'href="/admin/planner/clashes/?week={WEEK}">Show every clash of the week, all groups</a>' in planner

    first = client.get(f"/admin/planner/clashes/?week={WEEK}").get_data(as_text=True)
    assert "1–25 of 30 clashes" in first and "Page 1 of 2" in first
    assert first.count('class="list-group-item clash-line"') == 25
    assert "Wrenna Stillwater leads both IOP Evening A (2026-03-02 08:00–08:30) and " \
           "Intensive Day 1 (2026-03-02 08:00–08:30)." in first
    second = client.get(f"/admin/planner/clashes/?week={WEEK}&page=2").get_data(as_text=True)
    assert "26–30 of 30 clashes" in second and second.count('class="list-group-item clash-line"') == 5
    assert 'rel="prev"' in second
    lines = re.findall(r'data-first="(\d+)" data-second="(\d+)"', first + second)
    assert len(set(lines)) == 30  # each clash once over the two pages
    # Another week: none.
    quiet = client.get(f"/admin/planner/clashes/?week={WEEK + timedelta(days=7)}").get_data(as_text=True)
    assert 'id="no-clashes"' in quiet


def test_a_counselor_reads_the_clashes_page_as_the_planner_and_a_visitor_is_sent_to_log_in(client, ctx, clinic):
    _clashing_week(clinic, 2)

    anonymous = client.get(f"/admin/planner/clashes/?week={WEEK}")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]

    login(client, clinic["odo"].email)
    assert client.get(f"/admin/planner/?week={WEEK}").status_code == 200
    page = client.get(f"/admin/planner/clashes/?week={WEEK}")
    assert page.status_code == 200 and "2 clashes" in page.get_data(as_text=True)
    # Odo's own clashes: none (he is in neither pair).
    mine = client.get(f"/admin/planner/clashes/?week={WEEK}&facilitator={clinic['odo'].id}")
    assert 'id="no-clashes"' in mine.get_data(as_text=True)
    bad = client.get("/admin/planner/clashes/?week=2026-13-01")
    assert bad.status_code == 400 and 'id="planner-problem"' in bad.get_data(as_text=True)


def test_the_planner_lists_and_counts_the_clashes_of_its_pages_groups_and_links_every_clash(
        client, ctx, clinic, make):
    """30 groups: the clash of a group on the last page (3) is neither listed nor counted on
    page 1, which links the clashes page; page 3 lists it."""
    iop = clinic["iop"]
    for n in range(30):
        make.group(iop, clinic["odo"], name=f"IOP Z{n:02d}", room="Room Z")
    late = db.session.scalar(sa.select(CareGroup).where(CareGroup.name == "IOP Z29"))
    _session(late, _at(0, 9), 60, room="Hall")
    _session(late, _at(0, 9, 30), 60, room=" hall", facilitator_id=None)  # two sessions share the hall
    login(client, make.staff("planner").email)

    first = client.get(f"/admin/planner/?week={WEEK}").get_data(as_text=True)
    assert 'id="no-clashes"' in first and "booked twice this week on this page's groups" in first
    assert f'href="/admin/planner/clashes/?week={WEEK}">Every clash of the week, all groups</a>' in first
    second = client.get(f"/admin/planner/?week={WEEK}&page=3").get_data(as_text=True)
    assert "1 clash this week on this page's groups" in second and second.count('class="clash-line"') == 1
    assert "hall is booked for both IOP Z29" in second


def test_the_planner_runs_the_same_statements_for_few_and_many_groups_sessions_and_clashes(client, ctx, clinic, make):
    """3 or 60 groups, 10 or 400 sessions, 2 or 300 clashes: the same statements, whatever
    the role."""
    planner = make.staff("planner")

    def statements(url, email):
        login(client, email)
        seen = []
        listener = lambda *args, **kw: seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            response = client.get(url)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert response.status_code == 200
        return len(seen)

    def add(groups, sessions):
        made = [make.group(clinic["iop"], clinic["wrenna"], room="Room 1") for _ in range(groups)]
        db.session.add_all(
            GroupSession(group_id=made[i % groups].id, starts_at=_at(i % 7, 8 + (i // 7) % 12),
                         duration_minutes=90, room="Room 1", facilitator_id=clinic["wrenna"].id)
            for i in range(sessions))
        db.session.commit()

    add(1, 10)
    few = {who: (statements(f"/admin/planner/?week={WEEK}", email),
                 statements(f"/admin/planner/clashes/?week={WEEK}", email))
           for who, email in (("planner", planner.email), ("counselor", clinic["wrenna"].email))}
    add(57, 390)
    many = {who: (statements(f"/admin/planner/?week={WEEK}&page=2", email),
                  statements(f"/admin/planner/clashes/?week={WEEK}&page=3", email))
            for who, email in (("planner", planner.email), ("counselor", clinic["wrenna"].email))}
    assert few == many, (few, many)
    assert few["planner"][0] <= 7


def test_a_session_clashing_with_more_than_the_cap_lists_the_first_by_time_and_says_more(client, ctx, clinic, make):
    """A 12-hour session in the hall and 110 short ones in it on the same day: on either
    group's page (one group a page) the first MAX_LISTED_CLASHES (10) clashes by time are listed, exactly as a
    plain pass finds them, and the count stops at the cap ("more than 100")."""
    from clinic.services.week_plan import CLASH_COUNT_CAP, MAX_LISTED_CLASHES, find_clashes

    _session(clinic["evening"], _at(0, 8), 720, room="Hall", facilitator_id=None)
    for i in range(110):
        _session(clinic["day"], _at(0, 8) + timedelta(minutes=6 * i), 5, room=" hall", facilitator_id=None)
    everything = find_clashes(_entries_by_hand())
    assert len(everything) == 110 > CLASH_COUNT_CAP

    for page in (1, 2):
        plan = week_plan(WEEK, page=page, size=1)
        [group] = [g.id for t in plan.tracks for g in t.groups]
        listed = [c for c in everything if group in (c[2].group_id, c[3].group_id)]
        assert [(c.first.id, c.second.id) for c in plan.clashes] == \
            [(a.id, b.id) for _k, _label, a, b in listed[:MAX_LISTED_CLASHES]]
        assert (plan.clash_count, plan.clash_count_capped) == (CLASH_COUNT_CAP, True)

    login(client, make.staff("planner").email)
    body = client.get(f"/admin/planner/?week={WEEK}").get_data(as_text=True)
    assert "More than 100 clashes this week on this page's groups" in body and "… and more." in body
