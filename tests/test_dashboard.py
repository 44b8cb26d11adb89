"""The home page: a counselor counts their caseload and sees their own sessions today."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import GroupSession
from conftest import login


def _today_at(hour: int) -> datetime:
    return datetime.combine(date.today(), time(hour))


def _home(client, email) -> str:
    client.post("/logout")
    login(client, email)
    return client.get("/admin/").get_data(as_text=True)


def test_a_counselor_counts_their_caseload_and_sees_only_their_sessions_today(client, ctx, make):
    iop = make.track("iop")
    wren, odo = make.staff("counselor"), make.staff("counselor")
    mine = make.group(iop, wren, name="Wren's group")
    theirs = make.group(iop, odo, name="Odo's group")
    for group, counselor in ((mine, wren), (theirs, odo), (theirs, odo)):
        patient = make.patient()
        make.enrolment(patient, iop, counselor=counselor)
        make.membership(group, patient)
    db.session.add_all([
        GroupSession(group_id=mine.id, starts_at=_today_at(9), duration_minutes=60, facilitator_id=wren.id),
        GroupSession(group_id=theirs.id, starts_at=_today_at(11), duration_minutes=60, facilitator_id=odo.id),
    ])
    db.session.commit()

    wrens_home = _home(client, wren.email)
    planners_home = _home(client, make.staff("planner").email)

    assert re.search(r'id="patient-count">1<', wrens_home)
    assert "Wren&#39;s group" in wrens_home and "Odo&#39;s group" not in wrens_home
    assert re.search(r'id="patient-count">3<', planners_home)
    assert "Wren&#39;s group" in planners_home and "Odo&#39;s group" in planners_home


def test_a_busy_day_lists_the_first_ten_sessions_counts_the_rest_and_points_to_the_planner(client, ctx, make):
    """A large clinic's home page stays one screen: the earliest ten sessions, then "and N more"."""
    iop = make.track("iop")
    wren = make.staff("counselor")
    groups = [make.group(iop, wren, name=f"Busy group {n:02d}") for n in range(13)]
    db.session.add_all([
        GroupSession(group_id=group.id, starts_at=_today_at(8) + timedelta(minutes=5 * n), duration_minutes=60,
                     facilitator_id=wren.id)
        for n, group in enumerate(groups)
    ])
    db.session.commit()

    home = _home(client, make.staff("planner").email)

    assert [f"Busy group {n:02d}" for n in range(10)] == re.findall(r"Busy group \d\d", home)
    assert re.search(r'id="more-sessions">and 3 more today: <a href="/admin/planner/">', home)
    # A quiet day lists everything and has nothing more to say.
    db.session.execute(sa.delete(GroupSession).where(GroupSession.group_id.in_([g.id for g in groups[2:]])))
    db.session.commit()
    quiet = _home(client, make.staff("planner").email)
    assert re.findall(r"Busy group \d\d", quiet) == ["Busy group 00", "Busy group 01"]
    assert 'id="more-sessions"' not in quiet


def _statements(client, app, url: str) -> int:
    count = [0]

    def tick(*_args, **_kwargs):
        count[0] += 1

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", tick)
        try:
            assert client.get(url).status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", tick)
    return count[0]


def test_covering_one_session_of_a_group_puts_its_members_on_the_caseload_whatever_the_history(
        client, app, ctx, make):
    """The groups a counselor facilitated sessions of are found one probe per group: covering
    one session counts as much as running a hundred, and a long history costs no statement."""
    iop = make.track("iop")
    wren, odo = make.staff("counselor"), make.staff("counselor")
    mine = make.group(iop, wren, name="Wren's group")
    theirs = make.group(iop, odo, name="Odo's group")
    for group, counselor in ((mine, wren), (theirs, odo), (theirs, odo)):
        patient = make.patient()
        make.enrolment(patient, iop, counselor=counselor)
        make.membership(group, patient)
    db.session.add(GroupSession(group_id=mine.id, starts_at=_today_at(9), duration_minutes=60,
                                facilitator_id=wren.id))
    db.session.commit()
    email = wren.email

    assert re.search(r'id="patient-count">1<', _home(client, email))
    few = _statements(client, app, "/admin/")
    # Wren covers one of Odo's sessions, long ago, and runs a year of her own group.
    db.session.add(GroupSession(group_id=theirs.id, starts_at=_today_at(9) - timedelta(days=200),
                                duration_minutes=60, facilitator_id=wren.id))
    db.session.add_all([GroupSession(group_id=mine.id, starts_at=_today_at(9) - timedelta(days=n),
                                     duration_minutes=60, facilitator_id=wren.id) for n in range(1, 60)])
    db.session.commit()

    assert re.search(r'id="patient-count">3<', _home(client, email))
    assert _statements(client, app, "/admin/") == few


def test_the_home_page_stops_counting_at_a_thousand_patients_and_a_hundred_sessions(client, ctx, make):
    from clinic.admin import dashboard

    iop = make.track("iop")
    group = make.group(iop, name="Crowded group")
    planner = make.staff("planner")
    old = (dashboard.COUNTED_PATIENTS, dashboard.COUNTED_SESSIONS)
    dashboard.COUNTED_PATIENTS, dashboard.COUNTED_SESSIONS = 3, 12
    try:
        for _ in range(4):
            make.enrolment(make.patient(), iop)
        db.session.add_all([GroupSession(group_id=group.id, starts_at=_today_at(8) + timedelta(minutes=n),
                                         duration_minutes=60) for n in range(13)])
        db.session.commit()
        home = _home(client, planner.email)
        assert re.search(r'id="patient-count">more than 3<', home)
        assert re.search(r'id="more-sessions">and more than 2 more today', home)
        db.session.execute(sa.delete(GroupSession).where(GroupSession.starts_at > _today_at(8) + timedelta(minutes=11)))
        db.session.commit()
        exact = _home(client, planner.email)
        assert re.search(r'id="more-sessions">and 2 more today', exact)
    finally:
        dashboard.COUNTED_PATIENTS, dashboard.COUNTED_SESSIONS = old
