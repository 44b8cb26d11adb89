"""The home page: a counselor counts their caseload and sees their own sessions today."""

from __future__ import annotations

import re
from datetime import date, datetime, time

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
