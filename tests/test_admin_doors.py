"""The generic admin screens change nothing past the rules: every write goes through a service.

Each test drives the real admin form (GET it, change what a user or a hand-altered form
would change, POST it back) and compares the rows before and after.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from admin_helpers import link_rows, read_form, snapshot
from clinic.extensions import db
from clinic.models import (
    Assignment,
    Attendance,
    CareGroup,
    Enrolment,
    ExerciseCheckin,
    GroupMembership,
    GroupSession,
    KindnessExercise,
    Patient,
    StaffUser,
    Track,
)
from conftest import login

TODAY = date.today()
PAST = datetime.combine(TODAY - timedelta(days=7), datetime.min.time()).replace(hour=10)
FUTURE = datetime.combine(TODAY + timedelta(days=7), datetime.min.time()).replace(hour=10)
RECORDS = (GroupSession, Attendance, ExerciseCheckin)


class World:
    """A small clinic: one track, a group, a patient on a counselor's caseload, sessions in each state."""

    def __init__(self, make):
        self.admin = make.staff("admin")
        self.planner = make.staff("planner")
        self.counselor = make.staff("counselor")
        self.track = make.track("iop")
        self.exercise = KindnessExercise(title="Thank someone", direction="others", energy="low",
                                         tracks=[self.track])
        self.retired = KindnessExercise(title="Old practice", direction="self", energy="low",
                                        tracks=[self.track], active=False)
        db.session.add_all([self.exercise, self.retired])
        db.session.commit()
        self.patient = make.patient(last_name="Caseload")
        self.enrolment = make.enrolment(self.patient, self.track, self.counselor, start=TODAY - timedelta(days=60))
        self.group = make.group(self.track, facilitator=self.counselor, room="Garden Room")
        self.membership = make.membership(self.group, self.patient, start=TODAY - timedelta(days=30))
        self.assignment = Assignment(exercise_id=self.exercise.id, patient_id=self.patient.id,
                                     start_date=TODAY - timedelta(days=30), times_per_week=3)
        db.session.add(self.assignment)
        db.session.commit()
        self.signed = self._session(PAST, recorded=True)
        self.recorded = self._session(PAST + timedelta(days=1), recorded=True)
        self.planned = self._session(FUTURE)
        for session in (self.signed, self.recorded):
            db.session.add(Attendance(session_id=session.id, patient_id=self.patient.id, status="present",
                                      minutes_attended=60, engagement=4, note="Kept",
                                      recorded_by_id=self.counselor.id))
        self.checkin = ExerciseCheckin(assignment_id=self.assignment.id, on_date=self.signed.starts_at.date(),
                                       outcome="done", session_id=self.signed.id,
                                       recorded_by_id=self.counselor.id)
        db.session.add(self.checkin)
        db.session.commit()
        # Signed once its record is complete, as the record page does (the database refuses later entries).
        signed_at, signer = self.signed.starts_at + timedelta(hours=3), self.counselor.id
        self.signed.signed_at, self.signed.signed_by_id = signed_at, signer
        db.session.commit()

    def _session(self, starts_at, *, recorded=False):
        session = GroupSession(group_id=self.group.id, starts_at=starts_at, duration_minutes=60, room="Garden Room",
                               facilitator_id=self.counselor.id, status="held" if recorded else "planned")
        if recorded:
            session.recorded_at, session.recorded_by_id = starts_at + timedelta(hours=2), self.counselor.id
        db.session.add(session)
        db.session.commit()
        return session


@pytest.fixture
def world(make):
    return World(make)


def as_user(client, user):
    login(client, user.email)
    return client


def body(response) -> str:
    return response.get_data(as_text=True)


# Sessions ------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["planner", "admin"])
def test_a_signed_session_changes_in_nothing_through_the_session_form(client, world, who):
    as_user(client, getattr(world, who))
    url = f"/admin/sessions/edit/?id={world.signed.id}"
    form = read_form(client, url)
    before = snapshot(*RECORDS)
    form.update(group_note="Rewritten after signing", status="cancelled", cancel_reason="Changed my mind")
    response = client.post(url, data=form, follow_redirects=True)
    assert "record is signed" in body(response)
    form = read_form(client, url)
    form.update(room="Basement")
    client.post(url, data=form)
    assert snapshot(*RECORDS) == before


def test_a_recorded_session_keeps_its_time_length_and_group_and_cannot_be_cancelled(client, world, make):
    other_group = make.group(world.track, name="Other group")
    as_user(client, world.planner)
    url = f"/admin/sessions/edit/?id={world.recorded.id}"
    before = snapshot(*RECORDS)
    for change, message in [
        ({"starts_at": (PAST + timedelta(days=1, hours=2)).strftime("%Y-%m-%d %H:%M:%S")}, "start time stays"),
        ({"duration_minutes": "90"}, "length stays"),
        ({"group": str(other_group.id)}, "group stays"),
        ({"status": "cancelled", "cancel_reason": "Storm"}, "cannot be cancelled"),
    ]:
        form = read_form(client, url)
        form.update(change)
        assert message in body(client.post(url, data=form, follow_redirects=True)), change
    assert snapshot(*RECORDS) == before
    # What a recorded session may still change: its room.
    form = read_form(client, url)
    form.update(room="Library")
    client.post(url, data=form)
    db.session.rollback()
    assert db.session.get(GroupSession, world.recorded.id).room == "Library"


def test_a_session_is_not_held_before_it_starts_nor_cancelled_without_a_reason(client, world):
    as_user(client, world.planner)
    url = f"/admin/sessions/edit/?id={world.planned.id}"
    before = snapshot(*RECORDS)
    form = read_form(client, url)
    form.update(status="held")
    assert "held only once it has started" in body(client.post(url, data=form))
    form.update(status="cancelled", cancel_reason="   ")
    assert "Give a reason for cancelling" in body(client.post(url, data=form))
    assert snapshot(*RECORDS) == before
    form.update(status="cancelled", cancel_reason="Room flooded")
    client.post(url, data=form)
    db.session.rollback()
    assert db.session.get(GroupSession, world.planned.id).status == "cancelled"


def test_a_group_note_longer_than_the_record_page_allows_is_refused_at_the_field(client, world):
    as_user(client, world.planner)
    url = f"/admin/sessions/edit/?id={world.planned.id}"
    before = snapshot(*RECORDS)
    form = read_form(client, url)
    form.update(group_note="x" * 100_000)
    page = body(client.post(url, data=form))
    assert "8000" in page
    assert snapshot(*RECORDS) == before


def test_a_session_with_recorded_participation_is_not_deleted_one_by_one_or_in_bulk(client, world):
    as_user(client, world.admin)
    planned_id, recorded_id = world.planned.id, world.recorded.id
    before = snapshot(*RECORDS)
    response = client.post("/admin/sessions/delete/", data={"id": world.recorded.id}, follow_redirects=True)
    assert "Participation was recorded" in body(response)
    client.post("/admin/sessions/action/", data={"action": "delete",
                                                 "rowid": [world.signed.id, world.recorded.id]})
    assert snapshot(*RECORDS) == before
    # A planned session nothing was recorded for can go, in the same bulk action.
    client.post("/admin/sessions/action/", data={"action": "delete", "rowid": [world.recorded.id, world.planned.id]})
    db.session.rollback()
    assert db.session.get(GroupSession, planned_id) is None
    assert db.session.get(GroupSession, recorded_id) is not None


# Attendance and check-ins: read-only here ---------------------------------------------------
@pytest.mark.parametrize("who", ["admin", "planner", "counselor"])
def test_attendance_and_check_ins_cannot_be_created_edited_or_deleted_from_their_lists(client, world, who):
    as_user(client, getattr(world, who))
    stranger = Patient(record_number="NOT-ON-ROSTER", first_name="Not", last_name="Onroster")
    db.session.add(stranger)
    db.session.commit()
    before = snapshot(*RECORDS)
    attendance = db.session.query(Attendance).filter_by(session_id=world.signed.id).one()
    for url, data in [
        ("/admin/attendance/new/", {"session": world.signed.id, "patient": stranger.id, "status": "present",
                                    "minutes_attended": 60}),
        (f"/admin/attendance/edit/?id={attendance.id}", {"status": "absent", "minutes_attended": 9999,
                                                          "note": "x" * 100_000, "row_version": "1"}),
        ("/admin/attendance/delete/", {"id": attendance.id}),
        ("/admin/attendance/action/", {"action": "delete", "rowid": [attendance.id]}),
        ("/admin/checkins/new/", {"assignment": world.assignment.id, "on_date": (TODAY + timedelta(days=5)).isoformat(),
                                  "outcome": "done"}),
        (f"/admin/checkins/edit/?id={world.checkin.id}", {"outcome": "not_done", "row_version": "1"}),
        ("/admin/checkins/delete/", {"id": world.checkin.id}),
        ("/admin/checkins/action/", {"action": "delete", "rowid": [world.checkin.id]}),
        ("/admin/attendance/ajax/update/", {"list_form_pk": attendance.id, "minutes_attended": 9999}),
    ]:
        response = client.post(url, data=data)
        assert response.status_code in (302, 404), (url, response.status_code)
    assert snapshot(*RECORDS) == before
    listing = body(client.get("/admin/attendance/"))
    assert "/admin/attendance/new/" not in listing and "/admin/attendance/edit/" not in listing


def test_attendance_and_check_in_pages_lead_to_the_session_record_and_the_patient(client, world):
    as_user(client, world.counselor)
    attendance = db.session.query(Attendance).filter_by(session_id=world.signed.id).one()
    for url in (f"/admin/attendance/details/?id={attendance.id}", f"/admin/checkins/details/?id={world.checkin.id}"):
        page = body(client.get(url))
        assert f"/admin/record/?session={world.signed.id}" in page, url
        assert f"/admin/patients/details/?id={world.patient.id}" in page, url
    assert f"/admin/record/?session={world.signed.id}" in body(client.get("/admin/attendance/"))


# Enrolments ----------------------------------------------------------------------------
def test_an_enrolment_made_from_the_list_gets_the_starter_plan_without_retired_exercises(client, world, make):
    world.track.starter_exercises = [world.exercise, world.retired]
    db.session.commit()
    newcomer = make.patient(last_name="Newcomer")
    as_user(client, world.planner)
    form = read_form(client, "/admin/enrolments/new/")
    form.update(patient=str(newcomer.id), track=str(world.track.id), start_date=TODAY.isoformat(),
                primary_counselor=str(world.counselor.id))
    client.post("/admin/enrolments/new/", data=form)
    db.session.rollback()
    enrolment = db.session.query(Enrolment).filter_by(patient_id=newcomer.id).one()
    assert (enrolment.track_id, enrolment.status, enrolment.end_date) == (world.track.id, "active", None)
    titles = [a.exercise.title for a in db.session.query(Assignment).filter_by(patient_id=newcomer.id)]
    assert titles == ["Thank someone"]


def test_an_enrolment_list_edit_keeps_the_dates_rule_and_leaves_status_to_step_down_and_discharge(
        client, world, make):
    make.enrolment(world.patient, world.track, start=TODAY - timedelta(days=200),
                   end_date=TODAY - timedelta(days=100), status="discharged", end_reason="Earlier stay")
    as_user(client, world.planner)
    url = f"/admin/enrolments/edit/?id={world.enrolment.id}"
    form = read_form(client, url)
    assert "status" not in form and "patient" not in form and "track" not in form
    before = snapshot(Enrolment, GroupMembership, Assignment)
    for change, message in [
        ({"end_date": TODAY.isoformat(), "end_reason": "Done"}, "ends by a step-down or discharge"),
        ({"start_date": (TODAY - timedelta(days=150)).isoformat()}, "These dates overlap"),
    ]:
        form = read_form(client, url)
        form.update(change)
        assert message in body(client.post(url, data=form, follow_redirects=True)), change
    # Hand-added fields that only step-down and discharge may set change nothing.
    form = read_form(client, url)
    form.update(status="discharged", track="999999", patient="999999")
    client.post(url, data=form)
    after = snapshot(Enrolment, GroupMembership, Assignment)
    assert [row for row in after if row[0] != "enrolment"] == [row for row in before if row[0] != "enrolment"]
    db.session.rollback()
    row = db.session.get(Enrolment, world.enrolment.id)
    assert (row.status, row.track_id, row.patient_id, row.end_date) == ("active", world.track.id,
                                                                         world.patient.id, None)


def test_the_enrolment_service_refuses_a_status_change(world):
    from clinic.services.enrolment import update_enrolment
    from clinic.services.errors import RuleViolation

    values = {"status": "stepped_down", "track": world.track, "start_date": world.enrolment.start_date,
              "end_date": None, "end_reason": "", "primary_counselor": world.counselor}
    with pytest.raises(RuleViolation, match="changes only by a step-down"):
        update_enrolment(world.enrolment, values, world.enrolment.version)


def test_an_overlapping_enrolment_is_refused_at_the_field(client, world):
    as_user(client, world.planner)
    before = snapshot(Enrolment, Assignment)
    form = read_form(client, "/admin/enrolments/new/")
    form.update(patient=str(world.patient.id), track=str(world.track.id), start_date=TODAY.isoformat())
    assert "overlap" in body(client.post("/admin/enrolments/new/", data=form))
    assert snapshot(Enrolment, Assignment) == before


# Assignments ---------------------------------------------------------------------------
def test_a_stopped_assignment_is_final_and_pausing_needs_a_reason(client, world):
    as_user(client, world.planner)
    url = f"/admin/assignments/edit/?id={world.assignment.id}"
    form = read_form(client, url)
    assert set(form) == {"due_date", "times_per_week", "status", "status_reason", "row_version"}
    before = snapshot(Assignment)
    form.update(status="paused", status_reason="")
    assert "Give a reason for pausing" in body(client.post(url, data=form))
    assert snapshot(Assignment) == before
    form.update(status="stopped", status_reason="Not helping")
    client.post(url, data=form)
    stopped = snapshot(Assignment)
    assert stopped != before
    form = read_form(client, url)
    form.update(status="active", status_reason="")
    assert "which is final" in body(client.post(url, data=form, follow_redirects=True))
    assert snapshot(Assignment) == stopped


def test_times_per_week_and_due_date_are_checked_and_other_fields_cannot_be_slipped_in(client, world, make):
    other = make.patient()
    as_user(client, world.planner)
    url = f"/admin/assignments/edit/?id={world.assignment.id}"
    before = snapshot(Assignment)
    form = read_form(client, url)
    form.update(times_per_week="99")
    assert "a whole number from 1 to 14" in body(client.post(url, data=form))
    form.update(times_per_week="3", due_date=(TODAY - timedelta(days=365)).isoformat())
    assert "cannot be before the start date" in body(client.post(url, data=form))
    assert snapshot(Assignment) == before
    # A hand-added field (another patient, another exercise, a start date) changes nothing.
    form = read_form(client, url)
    form.update(times_per_week="4", patient=str(other.id), exercise=str(world.retired.id),
                start_date="2020-01-01", source="track", version="99")
    client.post(url, data=form)
    db.session.rollback()
    row = db.session.get(Assignment, world.assignment.id)
    assert (row.times_per_week, row.patient_id, row.exercise_id, row.source) == (
        4, world.patient.id, world.exercise.id, "individual")


def test_an_assignment_made_from_the_list_follows_the_assign_rules(client, world, make):
    outsider = make.patient(last_name="Notenrolled")
    other_track = make.track("intensive")
    unsuited = KindnessExercise(title="Only for intensive", direction="self", energy="low", tracks=[other_track])
    db.session.add(unsuited)
    db.session.commit()
    as_user(client, world.planner)
    before = snapshot(Assignment)
    page = body(client.get("/admin/assignments/new/"))
    assert "Old practice" not in page  # a retired exercise is never offered
    base = read_form(client, "/admin/assignments/new/")
    for change, message in [
        ({"patient": world.patient.id, "exercise": world.retired.id}, "Not a valid choice"),
        ({"patient": outsider.id, "exercise": world.exercise.id}, "not enrolled on"),
        ({"patient": world.patient.id, "exercise": unsuited.id}, "not meant for"),
        ({"patient": world.patient.id, "exercise": world.exercise.id}, "already has this exercise active"),
    ]:
        form = {**base, "start_date": TODAY.isoformat(), "times_per_week": "3", **change}
        assert message in body(client.post("/admin/assignments/new/", data=form)), change
    assert snapshot(Assignment) == before


def test_an_assignment_with_check_ins_is_stopped_not_deleted(client, world):
    as_user(client, world.planner)
    before = snapshot(Assignment, ExerciseCheckin)
    response = client.post("/admin/assignments/delete/", data={"id": world.assignment.id}, follow_redirects=True)
    assert "stop it instead" in body(response)
    client.post("/admin/assignments/action/", data={"action": "delete", "rowid": [world.assignment.id]})
    assert snapshot(Assignment, ExerciseCheckin) == before


# Stale and hand-altered forms -----------------------------------------------------------
@pytest.mark.parametrize("version", [None, "", "   ", "abc", "0", "-1", "2"])
def test_an_edit_without_the_version_it_was_opened_with_is_refused(client, world, version):
    as_user(client, world.admin)
    url = f"/admin/patients/edit/?id={world.patient.id}"
    form = read_form(client, url)
    assert form["row_version"] == "1"
    before = snapshot(Patient)
    form.update(last_name="Overwritten")
    if version is None:
        del form["row_version"]
    else:
        form["row_version"] = version
    response = client.post(url, data=form, follow_redirects=True)
    assert "Someone else saved this record" in body(response)
    assert snapshot(Patient) == before


@pytest.mark.parametrize("endpoint,attr", [
    ("tracks", "track"), ("groups", "group"), ("memberships", "membership"), ("sessions", "planned"),
    ("exercises", "exercise"), ("assignments", "assignment"), ("enrolments", "enrolment"), ("staff", "counselor"),
])
def test_every_edit_form_checks_the_version(client, world, endpoint, attr):
    as_user(client, world.admin)
    url = f"/admin/{endpoint}/edit/?id={getattr(world, attr).id}"
    form = read_form(client, url)
    models = (Track, CareGroup, GroupMembership, GroupSession, KindnessExercise, Assignment, Enrolment,
              StaffUser)
    before = snapshot(*models)
    form["row_version"] = ""
    assert "Someone else saved this record" in body(client.post(url, data=form, follow_redirects=True))
    assert snapshot(*models) == before


# Patients, staff, groups, memberships, catalogue -----------------------------------------
def test_a_record_number_is_trimmed_and_unique(client, world):
    as_user(client, world.admin)
    form = {"record_number": "  MRN-77  ", "first_name": "Ari", "last_name": "Spaced", "active": "y"}
    client.post("/admin/patients/new/", data=form)
    db.session.rollback()
    assert db.session.query(Patient).filter_by(record_number="MRN-77").count() == 1
    before = snapshot(Patient)
    page = body(client.post("/admin/patients/new/", data={**form, "record_number": " MRN-77", "last_name": "Twin"}))
    assert "already has this record number" in page
    assert snapshot(Patient) == before


def test_a_patient_with_any_history_is_kept_and_one_without_can_be_removed(client, world, make):
    mistake = make.patient(last_name="Mistake")
    mistake_id = mistake.id
    as_user(client, world.admin)
    before = snapshot(Patient)
    response = client.post("/admin/patients/delete/", data={"id": world.patient.id}, follow_redirects=True)
    assert "mark it inactive instead" in body(response)
    assert snapshot(Patient) == before
    client.post("/admin/patients/action/", data={"action": "delete", "rowid": [world.patient.id, mistake.id]})
    db.session.rollback()
    assert db.session.get(Patient, mistake_id) is None
    assert db.session.get(Patient, world.patient.id) is not None


@pytest.mark.parametrize("change", [{"is_active_account": None}, {"role": "planner"}, {"role": "counselor"}])
def test_an_admin_cannot_deactivate_or_demote_themselves(client, world, change):
    as_user(client, world.admin)
    url = f"/admin/staff/edit/?id={world.admin.id}"
    form = read_form(client, url)
    before = snapshot(StaffUser)
    for key, value in change.items():
        if value is None:
            form.pop(key, None)
        else:
            form[key] = value
    assert "cannot remove your own admin rights" in body(client.post(url, data=form, follow_redirects=True))
    assert snapshot(StaffUser) == before


def test_the_account_rule_holds_in_the_service_itself(world):
    from clinic.services import accounts
    from clinic.services.errors import RuleViolation

    values = {"email": world.admin.email, "full_name": world.admin.full_name, "role": "admin",
              "is_active_account": False}
    with pytest.raises(RuleViolation, match="cannot remove your own admin rights"):
        accounts.update_account(world.admin, values, "", world.admin.version, acting_user_id=world.admin.id)
    db.session.rollback()
    # Another admin may deactivate this one.
    accounts.update_account(world.admin, values, "", world.admin.version, acting_user_id=world.planner.id)
    assert world.admin.is_active_account is False


def test_a_group_capacity_is_never_below_its_current_members(client, world, make):
    second = make.patient()
    make.enrolment(second, world.track, start=TODAY - timedelta(days=60))
    make.membership(world.group, second, start=TODAY - timedelta(days=10))
    as_user(client, world.planner)
    url = f"/admin/groups/edit/?id={world.group.id}"
    before = snapshot(CareGroup)
    form = read_form(client, url)
    form["capacity"] = "1"
    assert "capacity cannot be lower" in body(client.post(url, data=form))
    assert snapshot(CareGroup) == before
    form["capacity"] = "2"
    client.post(url, data=form)
    db.session.rollback()
    assert db.session.get(CareGroup, world.group.id).capacity == 2


def test_a_membership_that_has_begun_is_ended_not_deleted_or_moved(client, world, make):
    other_group = make.group(world.track, name="Second group")
    as_user(client, world.planner)
    before = snapshot(GroupMembership)
    response = client.post("/admin/memberships/delete/", data={"id": world.membership.id}, follow_redirects=True)
    assert "end it instead" in body(response)
    url = f"/admin/memberships/edit/?id={world.membership.id}"
    form = read_form(client, url)
    form["group"] = str(other_group.id)
    assert "has begun" in body(client.post(url, data=form))
    assert snapshot(GroupMembership) == before
    form = read_form(client, url)
    form["end_date"] = TODAY.isoformat()
    client.post(url, data=form)
    db.session.rollback()
    assert db.session.get(GroupMembership, world.membership.id).end_date == TODAY


def test_a_membership_for_a_patient_not_enrolled_in_the_track_is_refused(client, world, make):
    outsider = make.patient()
    as_user(client, world.planner)
    before = snapshot(GroupMembership)
    response = client.post("/admin/memberships/new/", data={
        "group": world.group.id, "patient": outsider.id, "start_date": TODAY.isoformat()})
    assert "is not enrolled in" in body(response)
    assert snapshot(GroupMembership) == before


def test_catalogue_values_and_text_stay_within_their_limits(client, world):
    as_user(client, world.admin)
    before = snapshot(Track, KindnessExercise) + link_rows()
    url = f"/admin/exercises/edit/?id={world.exercise.id}"
    for change in ({"default_times_per_week": "99"}, {"how_to": "x" * 100_000}, {"summary": "x" * 300}):
        form = read_form(client, url)
        form.update(change)
        page = body(client.post(url, data=form))
        assert "Nothing was saved" in page or "Failed to save record" in page, change
    url = f"/admin/tracks/edit/?id={world.track.id}"
    for change, message in [({"weekly_min_days": "8"}, "0 to 7"),
                            ({"starter_exercises": [str(world.retired.id)]}, "is retired")]:
        form = read_form(client, url)
        form.update(change)
        page = body(client.post(url, data=form))
        assert message in page or "Failed to save record" in page, change
    assert snapshot(Track, KindnessExercise) + link_rows() == before


def test_a_retired_exercise_in_a_starter_plan_is_not_assigned_on_enrolment(world, make):
    from clinic.services.enrolment import enrol

    world.track.starter_exercises = [world.exercise, world.retired]
    db.session.commit()
    newcomer = make.patient()
    result = enrol(newcomer, world.track, TODAY)
    assert [a.exercise_id for r in result.starter_result for a in r.assigned] == [world.exercise.id]
    assert db.session.query(Assignment).filter_by(patient_id=newcomer.id, exercise_id=world.retired.id).count() == 0


def test_in_list_editing_is_closed(client, world):
    as_user(client, world.admin)
    before = snapshot(Patient)
    response = client.post("/admin/patients/ajax/update/", data={"list_form_pk": world.patient.id,
                                                                 "last_name": "Sneaky"})
    assert response.status_code == 404
    assert snapshot(Patient) == before
