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
