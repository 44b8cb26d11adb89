"""The counselor's day page and exercise check-ins recorded outside a session."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Activity, Assignment, ExerciseCheckin, GroupSession, KindnessExercise
from clinic.services.progress import counselor_day
from conftest import login


@pytest.fixture(autouse=True)
def record_page(app):
    """The day page links to the session record page; stand in for it until it is registered."""
    if "record.index" not in app.view_functions:
        app.add_url_rule("/admin/record/", "record.index", lambda: "record page")
    return app


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute))


def session(group, starts_at: datetime, facilitator, *, status: str = "planned", minutes: int = 60,
            state: str = "not recorded", activity=None) -> GroupSession:
    """A session in the given record state: not recorded, recorded or signed."""
    s = GroupSession(group_id=group.id, starts_at=starts_at, duration_minutes=minutes, status=status,
                     room="Room 7", facilitator_id=facilitator.id if facilitator else None,
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


@pytest.fixture
def day_setup(make):
    """Counselor Ada's groups and sessions today and before, and Bo's sessions beside them."""
    today = date.today()
    iop = make.track("iop")
    ada = make.staff("counselor", full_name="Ada Facilitator")
    bo = make.staff("counselor", full_name="Bo Otherone")
    group = make.group(iop, ada, name="IOP Evening A", room="Room 7")
    theirs = make.group(iop, bo, name="IOP Morning B")
    for _ in range(3):
        make.membership(group, make.patient(), start=today - timedelta(days=60))
    make.membership(theirs, make.patient(), start=today - timedelta(days=60))
    circle = Activity(name="Gratitude circle", default_minutes=60)
    db.session.add(circle)
    db.session.commit()
    s = {
        "open": session(group, at(today, 9), ada, activity=circle),
        "recorded": session(group, at(today, 11), ada, status="held", state="recorded"),
        "signed": session(group, at(today, 14), ada, status="held", state="signed"),
        "bo_today": session(theirs, at(today, 10), bo),
        "covered_by_bo": session(group, at(today, 16), bo),
        "held_unrecorded": session(group, at(today - timedelta(days=3), 17), ada, status="held"),
        "planned_past": session(group, at(today - timedelta(days=2), 17), ada),
        "held_recorded": session(group, at(today - timedelta(days=5), 17), ada, status="held", state="recorded"),
        "cancelled_past": session(group, at(today - timedelta(days=1), 17), ada, status="cancelled"),
        "bo_overdue": session(theirs, at(today - timedelta(days=1), 9), bo, status="held"),
    }
    return {"today": today, "ada": ada, "bo": bo, "group": group, "sessions": s}


def test_the_day_service_lists_todays_sessions_with_state_and_roster_and_every_earlier_unsigned_record(day_setup):
    s, today = day_setup["sessions"], day_setup["today"]

    day = counselor_day(day_setup["ada"].id, today, now=at(today, 12))

    assert [e.id for e in day.sessions] == [s["open"].id, s["recorded"].id, s["signed"].id]
    assert [e.record_state for e in day.sessions] == ["not recorded", "recorded", "signed"]
    assert [e.roster_size for e in day.sessions] == [3, 3, 3]
    first = day.sessions[0]
    assert (first.group_name, first.activity_name, first.room) == ("IOP Evening A", "Gratitude circle", "Room 7")
    assert first.needs_recording is True  # planned 09:00-10:00, ended by noon, no record
    # Every earlier session not signed, oldest first: the saved-but-unsigned one too.
    assert [e.id for e in day.unsigned] == [s["held_recorded"].id, s["held_unrecorded"].id, s["planned_past"].id]
    assert [e.record_state for e in day.unsigned] == ["recorded", "not recorded", "not recorded"]


def test_a_planned_session_today_that_has_not_ended_does_not_need_recording_yet(day_setup):
    today = day_setup["today"]

    day = counselor_day(day_setup["ada"].id, today, now=at(today, 9, 30))

    assert day.sessions[0].needs_recording is False


def test_the_day_page_shows_each_state_and_the_unsigned_list_and_nobody_elses_sessions(client, day_setup):
    s = day_setup["sessions"]
    login(client, day_setup["ada"].email)

    body = client.get("/admin/day/").get_data(as_text=True)

    assert 'data-state="not recorded"' in row(body, f"session-{s['open'].id}")
    assert 'data-state="recorded"' in row(body, f"session-{s['recorded'].id}")
    assert 'data-state="signed"' in row(body, f"session-{s['signed'].id}")
    assert f'href="/admin/record/?session={s["open"].id}"' in row(body, f"session-{s['open'].id}")
    assert "IOP Evening A" in row(body, f"session-{s['open'].id}")
    assert "Gratitude circle" in row(body, f"session-{s['open'].id}")
    assert "Room 7" in row(body, f"session-{s['open'].id}")
    assert 'data-state="not recorded"' in row(body, f"unsigned-{s['held_unrecorded'].id}")
    assert 'data-state="not recorded"' in row(body, f"unsigned-{s['planned_past'].id}")
    assert 'data-state="recorded"' in row(body, f"unsigned-{s['held_recorded'].id}")
    assert 'data-action="Record"' in row(body, f"unsigned-{s['planned_past'].id}")
    assert 'data-action="Sign"' in row(body, f"unsigned-{s['held_recorded'].id}")
    assert body.index(f"unsigned-{s['held_recorded'].id}") < body.index(f"unsigned-{s['held_unrecorded'].id}")
    assert body.index(f"unsigned-{s['held_unrecorded'].id}") < body.index(f"unsigned-{s['planned_past'].id}")
    for other in ("bo_today", "covered_by_bo", "cancelled_past", "bo_overdue"):
        assert f"session-{s[other].id}\"" not in body and f"unsigned-{s[other].id}\"" not in body, other
    assert "IOP Morning B" not in body


def test_a_counselor_cannot_look_at_another_counselors_day_by_query_argument(client, day_setup):
    s = day_setup["sessions"]
    login(client, day_setup["ada"].email)

    body = client.get(f"/admin/day/?counselor={day_setup['bo'].id}").get_data(as_text=True)

    assert f'id="session-{s["open"].id}"' in body
    assert f'id="session-{s["bo_today"].id}"' not in body
    assert "IOP Morning B" not in body and "Bo Otherone" not in body


@pytest.mark.parametrize("role", ["admin", "planner"])
def test_admins_and_planners_can_look_at_a_counselors_day(client, make, day_setup, role):
    s = day_setup["sessions"]
    login(client, make.staff(role).email)

    body = client.get(f"/admin/day/?counselor={day_setup['bo'].id}").get_data(as_text=True)

    assert "Day of Bo Otherone" in body
    assert f'id="session-{s["bo_today"].id}"' in body
    assert f'id="session-{s["covered_by_bo"].id}"' in body
    assert f'id="unsigned-{s["bo_overdue"].id}"' in body
    assert f'id="session-{s["open"].id}"' not in body
    own = client.get("/admin/day/?counselor=nobody").get_data(as_text=True)
    assert 'id="day-problem"' in own and "You facilitate no sessions today." in own


def _found(body: str) -> list[str]:
    """The names a "look at the day of" search lists, in order."""
    return re.findall(r'<a class="found-counselor" href="[^"]*">([^<]*)</a>', body)


@pytest.mark.parametrize("role", ["admin", "planner"])
def test_admins_and_planners_find_a_counselors_day_by_part_of_the_name_without_a_list_of_everyone(
        client, make, day_setup, role):
    s = day_setup["sessions"]
    login(client, make.staff(role).email)

    own = client.get("/admin/day/").get_data(as_text=True)
    # The form is a name search: no list of every facilitator of the clinic.
    assert 'id="find-counselor"' in own and "<select" not in own.split('id="choose-counselor"')[1].split("</form>")[0]
    assert "Bo Otherone" not in own and "Ada Facilitator" not in own

    # One match: their day, straight away.
    body = client.get("/admin/day/?find=otherON").get_data(as_text=True)
    assert "Day of Bo Otherone" in body
    assert f'id="session-{s["bo_today"].id}"' in body and f'id="unsigned-{s["bo_overdue"].id}"' in body
    assert f'id="session-{s["open"].id}"' not in body

    # Several: links to each, by name; the page stays on the user's own day meanwhile.
    several = client.get("/admin/day/?find=o").get_data(as_text=True)
    assert _found(several) == ["Ada Facilitator", "Bo Otherone"]
    assert f'href="/admin/day/?counselor={day_setup["bo"].id}"' in several
    assert "Day of" not in several and 'id="found-more"' not in several

    # Nobody: said so, and the user's own day. "%" is a character, not a wildcard.
    for term in ("Zebedee", "%"):
        none = client.get(f"/admin/day/?find={term}").get_data(as_text=True)
        assert 'id="day-problem"' in none and "Day of" not in none and _found(none) == [], term


def test_the_day_search_lists_ten_facilitators_and_asks_for_more_of_the_name_and_leaves_out_non_facilitators(
        client, make, day_setup):
    iop = make.track("search")
    for n in range(12):
        make.group(iop, make.staff("counselor", full_name=f"Sam Lead{n:02d}"), name=f"Search group {n}")
    make.staff("counselor", full_name="Sam Nogroups")  # leads nothing: not a facilitator
    inactive = make.staff("counselor", full_name="Sam Gone")
    make.group(iop, inactive, name="Old group")
    inactive.is_active_account = False
    db.session.commit()
    login(client, make.staff("planner").email)

    body = client.get("/admin/day/?find=sam").get_data(as_text=True)

    assert _found(body) == [f"Sam Lead{n:02d}" for n in range(10)]
    assert 'id="found-more"' in body
    assert _found(client.get("/admin/day/?find=sam lead1").get_data(as_text=True)) == ["Sam Lead10", "Sam Lead11"]
    for nobody in ("Sam Nogroups", "Sam Gone"):
        assert 'id="day-problem"' in client.get(f"/admin/day/?find={nobody}").get_data(as_text=True), nobody


def test_a_counselors_day_search_is_ignored(client, day_setup):
    login(client, day_setup["ada"].email)

    body = client.get("/admin/day/?find=Otherone").get_data(as_text=True)

    assert "My day" in body and 'id="choose-counselor"' not in body and "Bo Otherone" not in body
    assert f'id="session-{day_setup["sessions"]["open"].id}"' in body


def test_an_admins_day_takes_the_same_statements_however_many_facilitators(client, app, make, day_setup):
    login(client, make.staff("admin").email)
    few = _statements_for(client, app, "/admin/day/")
    few_search = _statements_for(client, app, "/admin/day/?find=o")
    iop = make.track("more")
    for n in range(15):
        make.group(iop, make.staff("counselor", full_name=f"More Person{n:02d}"), name=f"More group {n}")

    assert _statements_for(client, app, "/admin/day/") == few
    assert _statements_for(client, app, "/admin/day/?find=o") == few_search
    assert "More Person" not in client.get("/admin/day/").get_data(as_text=True)


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, day_setup):
    for method, url in (("GET", "/admin/day/"), ("GET", "/admin/day/checkin/?assignment=1"),
                        ("POST", "/admin/day/checkin/?assignment=1")):
        response = client.open(url, method=method)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"]


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


def test_the_day_page_takes_the_same_number_of_statements_whatever_the_number_of_sessions(client, app, make):
    today = date.today()
    iop = make.track("iop")
    ada = make.staff("counselor")
    group = make.group(iop, ada)
    for _ in range(4):
        make.membership(group, make.patient(), start=today - timedelta(days=30))
    session(group, at(today, 8), ada)
    session(group, at(today - timedelta(days=1), 8), ada, status="held")
    login(client, ada.email)
    few = _statements_for(client, app, "/admin/day/")

    for hour in range(9, 18):
        session(group, at(today, hour), ada, state="recorded" if hour % 2 else "not recorded")
    for days in range(2, 10):
        session(group, at(today - timedelta(days=days), 8), ada, status="held",
                state="recorded" if days % 2 else "not recorded")
    for days in range(40, 46):  # however old, saved or not, an unsigned record stays listed
        session(group, at(today - timedelta(days=days), 8), ada, state="recorded" if days % 2 else "not recorded")
    many = _statements_for(client, app, "/admin/day/")

    assert few == many
    body = client.get("/admin/day/").get_data(as_text=True)
    assert body.count('<tr id="unsigned-') == 1 + 8 + 6


# Check-ins outside a session -------------------------------------------------
@pytest.fixture
def checkin_setup(make):
    """Patient Kim on counselor Cy's caseload with an active assignment; Dee's patient beside."""
    today = date.today()
    iop = make.track("iop")
    cy = make.staff("counselor")
    dee = make.staff("counselor")
    kim = make.patient(first_name="Kimberly", last_name="Unique")
    lou = make.patient()
    make.enrolment(kim, iop, counselor=cy, start=today - timedelta(days=30))
    make.enrolment(lou, iop, counselor=dee, start=today - timedelta(days=30))
    exercise = KindnessExercise(title="Write a note of appreciation", direction="others", energy="low")
    db.session.add(exercise)
    db.session.commit()
    kims = Assignment(exercise_id=exercise.id, patient_id=kim.id, start_date=today - timedelta(days=14),
                      times_per_week=3, status="active")
    lous = Assignment(exercise_id=exercise.id, patient_id=lou.id, start_date=today - timedelta(days=14),
                      times_per_week=3, status="active")
    db.session.add_all([kims, lous])
    db.session.commit()
    return {"today": today, "cy": cy, "dee": dee, "kim": kim, "lou": lou, "kims": kims, "lous": lous}


def _form(today: date, **overrides) -> dict:
    data = {"on_date": today.isoformat(), "outcome": "done", "mood_before": "3", "mood_after": "6",
            "reflection": "Felt lighter afterwards", "loaded_date": today.isoformat(), "row_version": "new"}
    data.update(overrides)
    return data


def _checkins(assignment_id: int) -> list[ExerciseCheckin]:
    db.session.expire_all()
    return db.session.scalars(
        sa.select(ExerciseCheckin).where(ExerciseCheckin.assignment_id == assignment_id)
    ).all()


def _flashes(client) -> list[str]:
    with client.session_transaction() as cookie:
        return [message for _category, message in cookie.get("_flashes", [])]


def test_a_check_in_outside_a_session_is_saved_and_leads_back_to_the_patient(client, checkin_setup):
    setup = checkin_setup
    login(client, setup["cy"].email)
    url = f"/admin/day/checkin/?assignment={setup['kims'].id}"

    page = client.get(url).get_data(as_text=True)
    response = client.post(url, data=_form(setup["today"]))

    assert "Write a note of appreciation" in page and f'value="{setup["today"].isoformat()}"' in page
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/patients/details/?id={setup['kim'].id}")
    assert _flashes(client) == ["Check-in saved."]
    (saved,) = _checkins(setup["kims"].id)
    assert (saved.on_date, saved.outcome, saved.mood_before, saved.mood_after, saved.reflection) == (
        setup["today"], "done", 3, 6, "Felt lighter afterwards")
    assert saved.recorded_by_id == setup["cy"].id and saved.session_id is None


def test_saving_the_same_day_again_updates_the_check_in_instead_of_adding_one(client, checkin_setup):
    setup = checkin_setup
    login(client, setup["cy"].email)
    url = f"/admin/day/checkin/?assignment={setup['kims'].id}"
    client.post(url, data=_form(setup["today"]))
    _flashes(client)

    reopened = client.get(url).get_data(as_text=True)
    version = re.search(r'name="row_version" type="hidden" value="(\d+)"', reopened).group(1)
    response = client.post(url, data=_form(setup["today"], outcome="partly", mood_after="4", row_version=version))

    assert response.status_code == 302
    assert "Felt lighter afterwards" in reopened and version != "0"
    (saved,) = _checkins(setup["kims"].id)
    assert (saved.outcome, saved.mood_after) == ("partly", 4)
    assert "Check-in updated." in _flashes(client)


def test_a_mood_of_eleven_is_refused_at_the_field_and_nothing_is_saved(client, checkin_setup):
    setup = checkin_setup
    login(client, setup["cy"].email)

    response = client.post(f"/admin/day/checkin/?assignment={setup['kims'].id}",
                           data=_form(setup["today"], mood_after="11"))
    body = response.get_data(as_text=True)

    assert response.status_code == 200
    field = body[body.index('id="mood_after"'):]
    assert field.index("Mood is a number from 0 to 10.") < field.index("</div>\n")
    assert 'value="11"' in body  # the input is kept for correction
    assert _checkins(setup["kims"].id) == []


def test_a_check_in_for_a_day_that_has_not_come_is_refused_at_the_date(client, checkin_setup):
    setup = checkin_setup
    login(client, setup["cy"].email)
    tomorrow = (setup["today"] + timedelta(days=1)).isoformat()

    body = client.post(f"/admin/day/checkin/?assignment={setup['kims'].id}",
                       data=_form(setup["today"], on_date=tomorrow)).get_data(as_text=True)

    assert "A check-in cannot be for a day that has not come yet." in body
    assert _checkins(setup["kims"].id) == []


def test_a_check_in_saved_by_someone_else_meanwhile_is_not_overwritten(client, checkin_setup, make):
    setup = checkin_setup
    login(client, setup["cy"].email)
    url = f"/admin/day/checkin/?assignment={setup['kims'].id}"
    client.get(url)  # opened while the day had no check-in (row_version "new")
    other = make.staff("planner")
    other_client = client.application.test_client()
    login(other_client, other.email)
    other_client.post(url, data=_form(setup["today"], outcome="not_done", reflection="Too tired"))

    response = client.post(url, data=_form(setup["today"]))
    body = response.get_data(as_text=True)

    assert response.status_code == 200 and 'id="checkin-refusal"' in body
    assert "Felt lighter afterwards" in body  # the input is kept
    (saved,) = _checkins(setup["kims"].id)
    assert (saved.outcome, saved.reflection) == ("not_done", "Too tired")


def test_a_counselor_cannot_check_in_for_a_patient_outside_their_caseload(client, checkin_setup):
    setup = checkin_setup
    login(client, setup["cy"].email)
    url = f"/admin/day/checkin/?assignment={setup['lous'].id}"

    # The same answer as an assignment that does not exist: nothing learnt about other caseloads.
    assert client.get(url).status_code == 404
    assert client.post(url, data=_form(setup["today"])).status_code == 404
    assert _checkins(setup["lous"].id) == []


@pytest.mark.parametrize("role", ["admin", "planner"])
def test_admins_and_planners_may_check_in_for_any_patient(client, checkin_setup, make, role):
    setup = checkin_setup
    login(client, make.staff(role).email)

    response = client.post(f"/admin/day/checkin/?assignment={setup['lous'].id}", data=_form(setup["today"]))

    assert response.status_code == 302
    assert len(_checkins(setup["lous"].id)) == 1


def test_the_check_in_flash_names_no_patient(client, checkin_setup):
    setup = checkin_setup
    login(client, setup["cy"].email)

    client.post(f"/admin/day/checkin/?assignment={setup['kims'].id}", data=_form(setup["today"]))

    flashes = " ".join(_flashes(client))
    assert flashes and "Kimberly" not in flashes and "Unique" not in flashes
    assert setup["kim"].record_number not in flashes
