"""Step-down completes the move: the next level down by default, then groups to join and exercises to keep or stop."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Assignment, Enrolment, GroupMembership, KindnessExercise
from clinic.services import enrolment, step_down
from clinic.services.errors import RuleViolation
from conftest import login

TODAY = date.today()
FIRST_DAY = TODAY + timedelta(days=3)


def _exercise(title, tracks):
    exercise = KindnessExercise(title=title, direction="self", energy="low", tracks=list(tracks))
    db.session.add(exercise)
    db.session.commit()
    return exercise


def _assign(patient, exercise, start):
    row = Assignment(exercise_id=exercise.id, patient_id=patient.id, start_date=start)
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def tracks(make):
    return make.track("inpatient"), make.track("intensive"), make.track("iop")


@pytest.fixture
def moving(make, tracks):
    """An intensive patient with two running exercises, an IOP group to join, and a planner."""
    _, intensive, iop = tracks
    planner = make.staff("planner")
    patient = make.patient(first_name="Sam", last_name="Stepper")
    enrolment.enrol(patient, intensive, TODAY - timedelta(days=30))
    walk = _exercise("Mindful walk", [intensive, iop])
    letter = _exercise("Gratitude letter", [intensive, iop])
    group = make.group(iop, name="IOP Evening A", capacity=8)
    full = make.group(iop, name="IOP Tiny", capacity=1)
    other = make.patient()
    enrolment.enrol(other, iop, TODAY - timedelta(days=5))
    db.session.add(GroupMembership(group_id=full.id, patient_id=other.id, start_date=TODAY - timedelta(days=5)))
    db.session.commit()
    return {
        "planner": planner, "patient": patient.id, "iop": iop, "group": group.id, "full": full.id,
        "walk": _assign(patient, walk, TODAY - timedelta(days=20)).id,
        "letter": _assign(patient, letter, TODAY - timedelta(days=20)).id,
    }


def _version(page: str, name: str) -> str:
    return re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1)


def _step_down(client, m, *, version=None):
    page = client.get(f"/admin/programme/transfer/?patient={m['patient']}").get_data(as_text=True)
    return client.post(f"/admin/programme/transfer/?patient={m['patient']}", data={
        "track": m["iop"].id, "on": FIRST_DAY.isoformat(), "reason": "Back at work part-time", "counselor": "",
        "enrolment_version": _version(page, "enrolment_version") if version is None else version,
    })


# The default track -------------------------------------------------------------------
def test_the_next_track_down_is_one_level_of_care_less(tracks):
    inpatient, intensive, iop = tracks
    assert step_down.next_track_down(inpatient) == intensive
    assert step_down.next_track_down(intensive) == iop
    assert step_down.next_track_down(iop) is None


@pytest.mark.parametrize("code, expected", [("inpatient", "intensive"), ("intensive", "iop"), ("iop", None)])
def test_the_step_down_form_chooses_the_next_level_down(client, make, tracks, code, expected):
    planner = make.staff("planner")
    patient = make.patient()
    enrolment.enrol(patient, make.track(code), TODAY - timedelta(days=10))
    login(client, planner.email)
    page = client.get(f"/admin/programme/transfer/?patient={patient.id}").get_data(as_text=True)
    selected = re.findall(r'<option selected value="([^"]*)">|<option value="([^"]*)" selected>', page)
    chosen = [a or b for a, b in selected]
    wanted = str(make.track(expected).id) if expected else ""
    assert chosen[0] == wanted


# The move and its result page -------------------------------------------------------------
def test_stepping_down_leads_to_a_page_offering_the_new_tracks_groups_from_the_first_day(client, moving):
    m = moving
    login(client, m["planner"].email)
    response = _step_down(client, m)
    assert response.status_code == 302 and f"/admin/programme/moved/?patient={m['patient']}" in response.location
    page = client.get(response.location).get_data(as_text=True)
    assert "Stepped down to Intensive outpatient (IOP)" in page
    assert f'id="first-day">{FIRST_DAY.isoformat()}<' in page
    groups = page[page.index('id="new-track-groups"'):page.index("</table>", page.index('id="new-track-groups"'))]
    join = (f'/admin/programme/join/?patient={m["patient"]}&amp;group={m["group"]}'
            f'&amp;start={FIRST_DAY.isoformat()}&amp;back=moved')
    assert join in groups and "0 of 8" in groups
    assert "IOP Tiny" in groups and "full" in groups and f"group={m['full']}" not in groups
    exercises = page[page.index('id="carried-exercises"'):]
    assert "Mindful walk" in exercises and "Gratitude letter" in exercises


def test_a_step_down_from_a_stale_page_is_refused_and_nothing_moves(client, moving):
    m = moving
    login(client, m["planner"].email)
    page = client.get(f"/admin/programme/transfer/?patient={m['patient']}").get_data(as_text=True)
    stale = _version(page, "enrolment_version")
    current = enrolment.open_enrolment(m["patient"])
    current.end_reason = "corrected meanwhile"
    db.session.commit()
    for version in (stale, "", "x"):
        response = _step_down(client, m, version=version)
        body = response.get_data(as_text=True)
        assert response.status_code == 200 and "changed after you opened this page" in body
        assert 'value="Back at work part-time"' in body
    db.session.expire_all()
    assert len(enrolment.history(m["patient"])) == 1


def test_the_join_form_defaults_to_the_first_day_when_opened_from_the_move(client, moving):
    m = moving
    login(client, m["planner"].email)
    _step_down(client, m)
    page = client.get(f"/admin/programme/join/?patient={m['patient']}&group={m['group']}"
                      f"&start={FIRST_DAY.isoformat()}&back=moved").get_data(as_text=True)
    assert f'value="{FIRST_DAY.isoformat()}"' in page
    assert re.search(rf'<option selected value="{m["group"]}">|<option value="{m["group"]}" selected>', page)
    # Opened from the patient's page too, the default is the first day still to come, not today.
    page = client.get(f"/admin/programme/join/?patient={m['patient']}").get_data(as_text=True)
    assert f'id="start" name="start" required type="date" value="{FIRST_DAY.isoformat()}"' in page or \
        f'value="{FIRST_DAY.isoformat()}"' in page
    assert f'value="{TODAY.isoformat()}"' not in page
    response = client.post(f"/admin/programme/join/?patient={m['patient']}&back=moved", data={
        "group": m["group"], "start": FIRST_DAY.isoformat(), "end": "",
    })
    assert response.status_code == 302 and "/admin/programme/moved/" in response.location
    row = db.session.scalar(sa.select(GroupMembership).where(GroupMembership.patient_id == m["patient"]))
    assert (row.group_id, row.start_date) == (m["group"], FIRST_DAY)


def test_the_join_form_defaults_to_today_for_a_patient_enrolled_already(client, make, tracks):
    planner = make.staff("planner")
    patient = make.patient()
    enrolment.enrol(patient, tracks[2], TODAY - timedelta(days=10))
    login(client, planner.email)
    page = client.get(f"/admin/programme/join/?patient={patient.id}").get_data(as_text=True)
    assert f'value="{TODAY.isoformat()}"' in page


# Keep or stop the old track's exercises --------------------------------------------------
def _moved_page(client, m) -> str:
    return client.get(f"/admin/programme/moved/?patient={m['patient']}").get_data(as_text=True)


def _settle(client, m, assignment_id, decision, version=None, page=None):
    page = page or _moved_page(client, m)
    row = page[page.index(f'data-assignment="{assignment_id}"'):]
    action = re.search(r'action="([^"]+)"', row).group(1).replace("&amp;", "&")
    if version is None:
        version = re.search(r'name="version" value="(\d+)"', row).group(1)
    return client.post(action, data={
        "assignment": assignment_id, "version": version, decision: decision.title(),
    }, follow_redirects=True)


def test_keep_leaves_an_exercise_and_stop_stops_it_with_the_reason(client, moving):
    m = moving
    login(client, m["planner"].email)
    _step_down(client, m)
    kept = _settle(client, m, m["walk"], "keep").get_data(as_text=True)
    assert "Kept: Mindful walk." in kept
    walk_row = kept[kept.index(f'data-assignment="{m["walk"]}"'):kept.index("</tr>", kept.index(f'data-assignment="{m["walk"]}"'))]
    assert "kept" in walk_row and "Keep" not in walk_row
    stopped = _settle(client, m, m["letter"], "stop", page=kept).get_data(as_text=True)
    assert "Stopped: Gratitude letter." in stopped
    assert f'data-assignment="{m["letter"]}"' not in stopped  # no longer offered a choice
    assert f'data-stopped="{m["letter"]}"' in stopped
    assert f'data-assignment="{m["walk"]}"' in stopped and "kept" in stopped  # the earlier choice still shows
    db.session.expire_all()
    walk, letter = db.session.get(Assignment, m["walk"]), db.session.get(Assignment, m["letter"])
    assert (walk.status, walk.status_reason) == ("active", "")
    assert (letter.status, letter.status_reason) == ("stopped", "Stepped down to Intensive outpatient (IOP)")


def test_a_stale_keep_or_stop_is_refused_and_nothing_changes(client, moving):
    m = moving
    login(client, m["planner"].email)
    _step_down(client, m)
    page = _moved_page(client, m)
    letter = db.session.get(Assignment, m["letter"])
    letter.times_per_week = 5  # someone edits it meanwhile
    db.session.commit()
    for decision in ("stop", "keep"):
        body = _settle(client, m, m["letter"], decision, page=page).get_data(as_text=True)
        assert "changed after you opened the page" in body
    for version in ("", "abc"):
        body = _settle(client, m, m["letter"], "stop", version=version).get_data(as_text=True)
        assert "changed after you opened the page" in body
    db.session.expire_all()
    assert db.session.get(Assignment, m["letter"]).status == "active"


def test_an_exercise_of_another_patient_or_a_new_one_cannot_be_settled_here(client, moving, make):
    m = moving
    login(client, m["planner"].email)
    _step_down(client, m)
    stranger = make.patient()
    theirs = _assign(stranger, db.session.get(KindnessExercise, 1) or db.session.scalars(
        sa.select(KindnessExercise)).first(), TODAY - timedelta(days=3))
    response = client.post(f"/admin/programme/carried/?patient={m['patient']}", data={
        "assignment": theirs.id, "version": "1", "stop": "Stop"})
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Assignment, theirs.id).status == "active"


def test_settle_refuses_an_exercise_begun_in_the_new_track(moving):
    m = moving
    patient = db.session.get(type(enrolment.open_enrolment(m["patient"]).patient), m["patient"])
    enrolment.transfer(patient, m["iop"], FIRST_DAY, reason="x")
    new = enrolment.open_enrolment(m["patient"])
    fresh = _assign(patient, _exercise("Kind word", [m["iop"]]), FIRST_DAY + timedelta(days=1))
    with pytest.raises(RuleViolation, match="not carried over"):
        step_down.settle(new, fresh, "stop", fresh.version)


def test_a_counselor_cannot_open_the_move_page_or_keep_or_stop(client, moving, make):
    m = moving
    counselor = make.staff("counselor")
    current = enrolment.open_enrolment(m["patient"])
    current.primary_counselor_id = counselor.id
    db.session.commit()
    login(client, m["planner"].email)
    _step_down(client, m)
    client.post("/logout")
    login(client, counselor.email)
    assert client.get(f"/admin/programme/moved/?patient={m['patient']}").status_code == 403
    assert client.get(f"/admin/programme/transfer/?patient={m['patient']}").status_code == 403
    response = client.post(f"/admin/programme/carried/?patient={m['patient']}", data={
        "assignment": m["letter"], "version": "1", "stop": "Stop"})
    assert response.status_code == 403
    # The generic assignment form is closed to counselors as well.
    assert client.post(f"/admin/assignments/edit/?id={m['letter']}", data={
        "status": "stopped", "status_reason": "x", "row_version": "1"}).status_code in (302, 403)
    db.session.expire_all()
    assert db.session.get(Assignment, m["letter"]).status == "active"


def test_the_move_page_audits_a_view_of_the_patient(client, moving):
    from clinic.models import AuditEvent

    m = moving
    login(client, m["planner"].email)
    _step_down(client, m)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "view"))
    _moved_page(client, m)
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "view")
                                .order_by(AuditEvent.id.desc())).all()
    assert len(events) == before + 1 and events[0].changes["patients"] == [m["patient"]]


def test_the_move_page_without_a_move_goes_back_to_the_patient(client, make, tracks):
    planner = make.staff("planner")
    patient = make.patient()
    enrolment.enrol(patient, tracks[2], TODAY - timedelta(days=10))
    login(client, planner.email)
    response = client.get(f"/admin/programme/moved/?patient={patient.id}")
    assert response.status_code == 302 and f"/admin/patients/details/?id={patient.id}" in response.location


def test_transfer_keeps_the_old_exercises_running_until_someone_decides(moving):
    m = moving
    patient = enrolment.open_enrolment(m["patient"]).patient
    enrolment.transfer(patient, m["iop"], FIRST_DAY, reason="Ready")
    new = enrolment.open_enrolment(m["patient"])
    carried = step_down.carried_over(new)
    assert [c.assignment.id for c in carried] == sorted([m["walk"], m["letter"]])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) >= 2


def test_a_hand_made_keep_or_stop_with_a_bad_or_huge_id_is_not_found(client, moving):
    m = moving
    login(client, m["planner"].email)
    _step_down(client, m)
    for bad in ("", "abc", str(2**40), "999999"):
        response = client.post(f"/admin/programme/carried/?patient={m['patient']}", data={
            "assignment": bad, "version": "1", "stop": "Stop"})
        assert response.status_code == 404, bad


def test_from_iop_nothing_is_chosen_and_a_move_without_a_track_is_refused_at_the_field(client, make, tracks):
    planner = make.staff("planner")
    patient = make.patient()
    enrolment.enrol(patient, tracks[2], TODAY - timedelta(days=10))
    login(client, planner.email)
    page = client.get(f"/admin/programme/transfer/?patient={patient.id}").get_data(as_text=True)
    version = _version(page, "enrolment_version")
    response = client.post(f"/admin/programme/transfer/?patient={patient.id}", data={
        "track": "", "on": FIRST_DAY.isoformat(), "reason": "Crisis", "counselor": "", "enrolment_version": version})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "invalid-feedback" in body and 'value="Crisis"' in body
    db.session.expire_all()
    assert len(enrolment.history(patient.id)) == 1
