"""Enrolment, step-down and discharge; group rosters by date."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Assignment, AuditEvent, Enrolment, GroupMembership, KindnessExercise
from clinic.services import enrolment, membership
from clinic.services.errors import RuleViolation
from conftest import login

D = date


def _exercise(title, tracks, **kw):
    exercise = KindnessExercise(title=title, direction=kw.pop("direction", "self"),
                                energy=kw.pop("energy", "low"), tracks=list(tracks), **kw)
    db.session.add(exercise)
    db.session.commit()
    return exercise


@pytest.fixture
def tracks(make):
    return make.track("inpatient"), make.track("intensive"), make.track("iop")


def test_enrolling_assigns_the_tracks_starter_exercises(make, tracks):
    inpatient, intensive, iop = tracks
    pause = _exercise("Pause", [inpatient, intensive, iop])
    outside = _exercise("Volunteer", [intensive, iop])
    inpatient.starter_exercises = [pause]
    db.session.commit()
    patient = make.patient()
    counselor = make.staff("counselor")
    result = enrolment.enrol(patient, inpatient, D(2026, 3, 2), counselor=counselor)
    assert result.enrolment.track_id == inpatient.id
    assigned = db.session.scalars(sa.select(Assignment).where(Assignment.patient_id == patient.id)).all()
    assert [(a.exercise_id, a.status, a.source, a.start_date) for a in assigned] == [
        (pause.id, "active", "track", D(2026, 3, 2))
    ]
    assert outside.id not in [a.exercise_id for a in assigned]


def test_a_second_open_enrolment_or_overlapping_dates_are_refused_naming_the_clash(make, tracks):
    inpatient, intensive, _ = tracks
    patient = make.patient()
    enrolment.enrol(patient, inpatient, D(2026, 3, 2))
    with pytest.raises(RuleViolation, match=r"overlap the enrolment in Inpatient from 2026-03-02"):
        enrolment.enrol(patient, intensive, D(2026, 4, 1))
    db.session.rollback()
    assert db.session.query(Enrolment).count() == 1


def test_step_down_closes_the_old_enrolment_ends_its_groups_and_keeps_the_history(make, tracks):
    inpatient, intensive, iop = tracks
    counselor = make.staff("counselor")
    patient = make.patient()
    enrolment.enrol(patient, inpatient, D(2026, 3, 2), counselor=counselor)
    ward_group = make.group(inpatient, facilitator=counselor)
    membership.add_member(ward_group, patient, D(2026, 3, 2))

    first = enrolment.transfer(patient, intensive, D(2026, 3, 16), reason="Stable on the ward")
    second = enrolment.transfer(patient, iop, D(2026, 4, 13), reason="Back at work part-time")

    history = enrolment.history(patient.id)
    assert [(e.track.code, e.start_date, e.end_date, e.status) for e in history] == [
        ("inpatient", D(2026, 3, 2), D(2026, 3, 15), "stepped_down"),
        ("intensive", D(2026, 3, 16), D(2026, 4, 12), "stepped_down"),
        ("iop", D(2026, 4, 13), None, "active"),
    ]
    assert history[0].end_reason == "Stable on the ward"
    assert history[2].primary_counselor_id == counselor.id  # carried over
    assert first.memberships_ended == 1 and second.memberships_ended == 0
    ward = db.session.scalar(sa.select(GroupMembership).where(GroupMembership.patient_id == patient.id))
    assert ward.end_date == D(2026, 3, 15)
    assert [p.id for p in membership.roster(ward_group.id, D(2026, 3, 15))] == [patient.id]
    assert membership.roster(ward_group.id, D(2026, 3, 16)) == []


def test_stepping_back_up_is_recorded_as_a_step_up(make, tracks):
    inpatient, intensive, _ = tracks
    patient = make.patient()
    enrolment.enrol(patient, intensive, D(2026, 3, 2))
    enrolment.transfer(patient, inpatient, D(2026, 3, 9), reason="Crisis admission")
    assert enrolment.history(patient.id)[0].status == "stepped_up"


def test_a_transfer_is_refused_without_reason_enrolment_or_on_a_date_before_the_current_start(make, tracks):
    inpatient, intensive, _ = tracks
    patient = make.patient()
    with pytest.raises(RuleViolation, match="no open enrolment"):
        enrolment.transfer(patient, intensive, D(2026, 3, 9), reason="x")
    enrolment.enrol(patient, inpatient, D(2026, 3, 2))
    with pytest.raises(RuleViolation, match="reason"):
        enrolment.transfer(patient, intensive, D(2026, 3, 9), reason="  ")
    with pytest.raises(RuleViolation, match="after the current enrolment began"):
        enrolment.transfer(patient, intensive, D(2026, 3, 2), reason="Too early")
    with pytest.raises(RuleViolation, match="already enrolled in Inpatient"):
        enrolment.transfer(patient, inpatient, D(2026, 3, 9), reason="Same")
    db.session.rollback()
    assert [e.end_date for e in enrolment.history(patient.id)] == [None]


def test_discharge_ends_enrolment_memberships_and_active_assignments_together(make, tracks):
    _, _, iop = tracks
    exercise = _exercise("Gratitude list", [iop])
    iop.starter_exercises = [exercise]
    db.session.commit()
    patient = make.patient()
    enrolment.enrol(patient, iop, D(2026, 3, 2))
    group = make.group(iop)
    membership.add_member(group, patient, D(2026, 3, 2))
    result = enrolment.discharge(patient, D(2026, 5, 1), reason="Completed the programme")
    assert (result.memberships_ended, result.assignments_stopped) == (1, 1)
    db.session.expire_all()
    closed = enrolment.history(patient.id)[0]
    assert (closed.end_date, closed.status) == (D(2026, 5, 1), "discharged")
    assignment = db.session.scalar(sa.select(Assignment).where(Assignment.patient_id == patient.id))
    assert assignment.status == "stopped" and "discharged" in assignment.status_reason
    assert membership.roster(group.id, D(2026, 5, 2)) == []


def test_only_patients_enrolled_in_the_groups_track_on_that_date_can_join(make, tracks):
    inpatient, _, iop = tracks
    patient = make.patient()
    group = make.group(iop)
    with pytest.raises(RuleViolation, match="not enrolled in Intensive outpatient"):
        membership.add_member(group, patient, D(2026, 3, 2))
    enrolment.enrol(patient, inpatient, D(2026, 3, 2))
    with pytest.raises(RuleViolation, match="not enrolled in Intensive outpatient"):
        membership.add_member(group, patient, D(2026, 3, 2))
    db.session.rollback()
    assert db.session.query(GroupMembership).count() == 0


def test_a_full_group_refuses_a_new_member_with_a_clear_message(make, tracks):
    _, _, iop = tracks
    group = make.group(iop, capacity=2, name="IOP Evening Z")
    members = [make.patient() for _ in range(3)]
    for patient in members:
        enrolment.enrol(patient, iop, D(2026, 3, 2))
    membership.add_member(group, members[0], D(2026, 3, 2))
    membership.add_member(group, members[1], D(2026, 3, 2), D(2026, 3, 20))
    with pytest.raises(RuleViolation, match="IOP Evening Z is full"):
        membership.add_member(group, members[2], D(2026, 3, 9))
    db.session.rollback()
    # After the second member leaves there is room again.
    membership.add_member(group, members[2], D(2026, 3, 21))
    with pytest.raises(RuleViolation, match="already a member"):
        membership.add_member(group, members[2], D(2026, 4, 1))


def test_roster_changes_flow_into_future_sessions_by_date(make, tracks):
    _, _, iop = tracks
    group = make.group(iop)
    early, late = make.patient(last_name="Early"), make.patient(last_name="Late")
    for patient in (early, late):
        enrolment.enrol(patient, iop, D(2026, 3, 2))
    first = membership.add_member(group, early, D(2026, 3, 2))
    membership.add_member(group, late, D(2026, 3, 10))
    membership.end_membership(first, D(2026, 3, 12))
    names = lambda day: [p.last_name for p in membership.roster(group.id, day)]  # noqa: E731
    assert names(D(2026, 3, 9)) == ["Early"]
    assert names(D(2026, 3, 11)) == ["Early", "Late"]
    assert names(D(2026, 3, 13)) == ["Late"]


def test_each_change_writes_audit_events(make, tracks):
    inpatient, intensive, _ = tracks
    patient = make.patient()
    enrolment.enrol(patient, inpatient, D(2026, 3, 2))
    enrolment.transfer(patient, intensive, D(2026, 3, 9), reason="Step down")
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "enrolment")
                                .order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["create", "update", "create"]
    assert events[1].changes["status"] == ["active", "stepped_down"]


def test_a_planner_steps_a_patient_down_from_the_patient_page(client, make, tracks, ctx):
    inpatient, intensive, _ = tracks
    planner = make.staff("planner")
    patient = make.patient(last_name="Stepper")
    patient_id = patient.id
    enrolment.enrol(patient, inpatient, D(2026, 3, 2))
    login(client, planner.email)
    page = client.get(f"/admin/patients/details/?id={patient_id}").get_data(as_text=True)
    assert "Step down / up" in page and "Inpatient" in page
    form = client.get(f"/admin/programme/transfer/?patient={patient_id}").get_data(as_text=True)
    version = re.search(r'name="enrolment_version" type="hidden" value="(\d+)"', form).group(1)
    refused = client.post(f"/admin/programme/transfer/?patient={patient_id}", data={
        "track": intensive.id, "on": "2026-03-01", "reason": "Too early", "counselor": "",
        "enrolment_version": version,
    })
    body = refused.get_data(as_text=True)
    assert "after the current enrolment began" in body and 'value="Too early"' in body
    done = client.post(f"/admin/programme/transfer/?patient={patient_id}", data={
        "track": intensive.id, "on": "2026-03-16", "reason": "Ready for day programme", "counselor": "",
        "enrolment_version": version,
    }, follow_redirects=True)
    body = done.get_data(as_text=True)
    assert "Stepped down" in body
    assert "Inpatient &rarr; Intensive (partial hospitalisation)" in body
    assert "Stepper" not in client.get_cookie("clinic_session").value


def test_a_counselor_cannot_use_the_programme_actions(client, make, tracks, ctx):
    inpatient, intensive, _ = tracks
    counselor = make.staff("counselor")
    patient = make.patient()
    patient_id = patient.id
    enrolment.enrol(patient, inpatient, D(2026, 3, 2), counselor=counselor)
    login(client, counselor.email)
    page = client.get(f"/admin/patients/details/?id={patient_id}").get_data(as_text=True)
    assert "Inpatient" in page and "Step down / up" not in page
    response = client.post(f"/admin/programme/transfer/?patient={patient_id}", data={
        "track": intensive.id, "on": "2026-03-16", "reason": "x",
    })
    assert response.status_code == 403
    db.session.expire_all()
    assert [e.end_date for e in enrolment.history(patient_id)] == [None]


def test_the_enrolment_form_refuses_overlapping_dates_with_a_message(client, make, tracks, ctx):
    inpatient, intensive, _ = tracks
    planner = make.staff("planner")
    patient = make.patient()
    enrolment.enrol(patient, inpatient, D(2026, 3, 2))
    login(client, planner.email)
    response = client.post("/admin/enrolments/new/", data={
        "patient": patient.id, "track": intensive.id, "start_date": "2026-04-01", "status": "active",
        "end_reason": "",
    }, follow_redirects=True)
    assert "overlap the enrolment in Inpatient" in response.get_data(as_text=True)
    db.session.remove()
    assert db.session.query(Enrolment).count() == 1


def test_a_planner_adds_a_patient_to_a_group_and_ends_it_from_the_patient_page(client, make, tracks, ctx):
    _, _, iop = tracks
    planner = make.staff("planner")
    patient = make.patient()
    enrolment.enrol(patient, iop, D(2026, 3, 2))
    small = make.group(iop, capacity=1, name="IOP Small")
    other = make.patient()
    enrolment.enrol(other, iop, D(2026, 3, 2))
    membership.add_member(small, other, D(2026, 3, 2))
    group = make.group(iop, name="IOP Evening Q")
    patient_id, group_id, small_id = patient.id, group.id, small.id
    login(client, planner.email)
    full = client.post(f"/admin/programme/join/?patient={patient_id}",
                       data={"group": small_id, "start": "2026-03-09", "end": ""})
    assert "IOP Small is full" in full.get_data(as_text=True)
    done = client.post(f"/admin/programme/join/?patient={patient_id}",
                       data={"group": group_id, "start": "2026-03-09", "end": ""}, follow_redirects=True)
    assert "Added to the group." in done.get_data(as_text=True)
    db.session.remove()
    joined = db.session.scalar(sa.select(GroupMembership).where(GroupMembership.patient_id == patient_id))
    assert (joined.group_id, joined.start_date, joined.end_date) == (group_id, D(2026, 3, 9), None)
    left = client.post(f"/admin/programme/leave/?patient={patient_id}&membership={joined.id}",
                       data={"last_day": "2026-03-20"}, follow_redirects=True)
    assert "Membership ended." in left.get_data(as_text=True)
    db.session.remove()
    assert [p.id for p in membership.roster(group_id, D(2026, 3, 21))] == []
