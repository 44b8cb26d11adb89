"""Assigning exercises: the fan-out's exact result, its rules, its audit trail and its page."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Assignment, AuditEvent, KindnessExercise, Patient
from clinic.services.assignments import (
    assign_exercise,
    assign_to_group,
    assign_to_track,
    change_status,
)
from clinic.services.errors import RuleViolation
from conftest import login

START = date(2026, 2, 2)
ENROLLED = date(2026, 1, 5)


def _exercise(*tracks, title="Write a note of appreciation", **kw) -> KindnessExercise:
    exercise = KindnessExercise(title=title, direction="self", energy="low", tracks=list(tracks), **kw)
    db.session.add(exercise)
    db.session.commit()
    return exercise


def _enrolled(make, track, start=ENROLLED, **kw) -> Patient:
    patient = make.patient(**kw)
    make.enrolment(patient, track, start=start)
    return patient


def _assignments(exercise_id: int | None = None) -> list[Assignment]:
    query = sa.select(Assignment).order_by(Assignment.id)
    if exercise_id is not None:
        query = query.where(Assignment.exercise_id == exercise_id)
    return list(db.session.scalars(query))


def _assignment_events() -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.entity == "assignment").order_by(AuditEvent.id)
        )
    )


# The fan-out ------------------------------------------------------------------
def test_assigning_to_one_patient_makes_one_active_assignment_with_the_exercises_usual_frequency(make):
    iop = make.track("iop")
    planner = make.staff("planner")
    exercise = _exercise(iop, default_times_per_week=4)
    patient = _enrolled(make, iop)

    result = assign_exercise(exercise, [patient], start=START, actor=planner)

    assert [a.patient_id for a in result.assigned] == [patient.id]
    assert result.already == [] and result.unsuitable == []
    (saved,) = _assignments()
    assert (saved.status, saved.source, saved.times_per_week) == ("active", "individual", 4)
    assert (saved.start_date, saved.due_date, saved.assigned_by_id) == (START, None, planner.id)


def test_a_selection_is_sorted_exactly_into_assigned_already_active_and_not_suited(make):
    iop, inpatient = make.track("iop"), make.track("inpatient")
    exercise = _exercise(iop, title="Volunteer for an hour")
    fresh = _enrolled(make, iop)
    holder = _enrolled(make, iop)
    assign_exercise(exercise, [holder], start=date(2026, 1, 20))
    wrong_track = _enrolled(make, inpatient)
    not_enrolled = make.patient()
    left_before = _enrolled(make, iop)
    left_before.enrolments[0].end_date = date(2026, 1, 30)
    inactive = _enrolled(make, iop, active=False)
    db.session.commit()

    result = assign_exercise(
        exercise,
        [fresh, holder, wrong_track, not_enrolled, fresh, left_before, inactive],
        start=START,
        due=date(2026, 3, 1),
        times_per_week=2,
    )

    assert [a.patient for a in result.assigned] == [fresh]
    assert result.already == [holder]
    assert result.unsuitable == [
        (wrong_track, "not meant for Inpatient"),
        (not_enrolled, "not enrolled on 2026-02-02"),
        (left_before, "not enrolled on 2026-02-02"),
        (inactive, "patient record is inactive"),
    ]
    assert result.counts() == {"assigned": 1, "already": 1, "unsuitable": 4}
    assert result.total == 6  # the repeated patient counted once
    assert len(_assignments()) == 2


def test_the_summary_gives_counts_and_never_a_name_or_record_number(make):
    iop, inpatient = make.track("iop"), make.track("inpatient")
    exercise = _exercise(iop)
    fresh = _enrolled(make, iop, last_name="Fresh")
    refused = _enrolled(make, inpatient, last_name="Refused")

    summary = assign_exercise(exercise, [fresh, refused], start=START).summary()

    assert summary == (
        "Assigned to 1 patient; 0 patients already had it active (no duplicate made); "
        "1 patient not suited (refused)."
    )
    for patient in (fresh, refused):
        assert patient.last_name not in summary and patient.record_number not in summary


def test_a_group_fan_out_reaches_the_roster_on_the_start_date_and_not_those_who_left_or_join_later(make):
    iop = make.track("iop")
    group = make.group(iop)
    exercise = _exercise(iop)
    member = _enrolled(make, iop)
    make.membership(group, member)
    left = _enrolled(make, iop)
    make.membership(group, left, end_date=date(2026, 1, 30))
    joins_later = _enrolled(make, iop)
    make.membership(group, joins_later, start=date(2026, 2, 9))
    outsider = _enrolled(make, iop)

    result = assign_to_group(exercise, group, start=START)

    assert [a.patient for a in result.assigned] == [member]
    assert result.already == [] and result.unsuitable == []
    assert [(a.patient_id, a.source) for a in _assignments()] == [(member.id, "group")]
    assert outsider.id not in {a.patient_id for a in _assignments()}


def test_a_group_member_whose_enrolment_does_not_suit_the_exercise_is_refused_not_skipped(make):
    iop, intensive = make.track("iop"), make.track("intensive")
    group = make.group(iop)
    exercise = _exercise(intensive)
    member = _enrolled(make, iop)
    make.membership(group, member)

    result = assign_to_group(exercise, group, start=START)

    assert result.unsuitable == [(member, "not meant for Intensive outpatient (IOP)")]
    assert _assignments() == []


def test_a_track_fan_out_reaches_everyone_enrolled_in_the_track_on_the_start_date(make):
    iop, intensive = make.track("iop"), make.track("intensive")
    exercise = _exercise(iop, intensive)
    a = _enrolled(make, iop, last_name="Adams")
    b = _enrolled(make, iop, last_name="Baker")
    discharged = _enrolled(make, iop, last_name="Gone")
    discharged.enrolments[0].end_date = date(2026, 1, 31)
    discharged.enrolments[0].status = "discharged"
    later = _enrolled(make, iop, start=date(2026, 2, 3), last_name="Later")
    elsewhere = _enrolled(make, intensive, last_name="Elsewhere")
    db.session.commit()

    result = assign_to_track(exercise, iop, start=START)

    assert [x.patient_id for x in result.assigned] == [a.id, b.id]
    assert result.already == [] and result.unsuitable == []
    saved = _assignments()
    assert {x.patient_id for x in saved} == {a.id, b.id}
    assert {x.source for x in saved} == {"track"}
    assert not {discharged.id, later.id, elsewhere.id} & {x.patient_id for x in saved}


def test_a_track_the_exercise_is_not_meant_for_refuses_everyone_with_the_reason(make):
    iop, inpatient = make.track("iop"), make.track("inpatient")
    exercise = _exercise(iop, title="Volunteer for an hour")
    patients = [_enrolled(make, inpatient) for _ in range(2)]

    result = assign_to_track(exercise, inpatient, start=START)

    assert [(p.id, reason) for p, reason in result.unsuitable] == [
        (p.id, "not meant for Inpatient") for p in sorted(patients, key=lambda p: p.last_name)]
    assert _assignments() == []


def test_no_duplicate_active_assignment_is_ever_made_but_a_stopped_or_completed_one_does_not_block(make):
    iop = make.track("iop")
    exercise = _exercise(iop)
    patient = _enrolled(make, iop)

    first = assign_exercise(exercise, [patient], start=START).assigned[0]
    again = assign_exercise(exercise, [patient, patient], start=date(2026, 2, 9))
    assert again.assigned == [] and again.already == [patient]

    change_status(first, "stopped", "Felt too much this week")
    second = assign_exercise(exercise, [patient], start=date(2026, 2, 9)).assigned[0]
    change_status(second, "completed", "")
    third = assign_exercise(exercise, [patient], start=date(2026, 2, 16)).assigned

    assert len(third) == 1
    statuses = [a.status for a in _assignments()]
    assert statuses == ["stopped", "completed", "active"]


def test_each_assignment_made_writes_one_audit_create_event_and_the_refused_write_none(make):
    iop, inpatient = make.track("iop"), make.track("inpatient")
    planner = make.staff("planner")
    exercise = _exercise(iop)
    holder = _enrolled(make, iop)
    assign_exercise(exercise, [holder], start=START)
    before = len(_assignment_events())
    fresh = [_enrolled(make, iop) for _ in range(3)]
    refused = _enrolled(make, inpatient)

    result = assign_exercise(exercise, [*fresh, holder, refused], start=START, actor=planner)

    events = _assignment_events()[before:]
    assert [e.action for e in events] == ["create"] * 3
    assert sorted(e.entity_id for e in events) == sorted(str(a.id) for a in result.assigned)
    assert {e.actor_id for e in events} == {planner.id}
    assert {e.changes["patient_id"][1] for e in events} == {p.id for p in fresh}


@pytest.mark.parametrize(
    "times_per_week, due, message",
    [
        (0, None, "Times per week must be a whole number from 1 to 14."),
        (15, None, "Times per week must be a whole number from 1 to 14."),
        ("3", None, "Times per week must be a whole number from 1 to 14."),
        (3, date(2026, 2, 1), "The due date (2026-02-01) cannot be before the start date (2026-02-02)."),
    ],
)
def test_invalid_times_per_week_or_a_due_date_before_the_start_is_refused_and_nothing_saved(
    make, times_per_week, due, message
):
    iop = make.track("iop")
    exercise = _exercise(iop)
    patients = [_enrolled(make, iop) for _ in range(2)]
    events_before = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))

    with pytest.raises(RuleViolation) as refused:
        assign_exercise(exercise, patients, start=START, times_per_week=times_per_week, due=due)

    assert str(refused.value) == message
    db.session.rollback()
    assert _assignments() == []
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == events_before


def test_a_retired_exercise_is_refused_outright(make):
    iop = make.track("iop")
    group = make.group(iop)
    exercise = _exercise(iop, active=False)
    patient = _enrolled(make, iop)
    make.membership(group, patient)

    for attempt in (
        lambda: assign_exercise(exercise, [patient], start=START),
        lambda: assign_to_group(exercise, group, start=START),
        lambda: assign_to_track(exercise, iop, start=START),
    ):
        with pytest.raises(RuleViolation, match="retired"):
            attempt()
    assert _assignments() == []


def test_a_fan_out_inside_a_callers_transaction_is_not_committed_and_rolls_back_with_it(make):
    iop = make.track("iop")
    exercise = _exercise(iop)
    patient = _enrolled(make, iop)

    result = assign_exercise(exercise, [patient], start=START, source="track", commit=False)
    assert result.assigned[0].id is not None  # flushed, so the caller can use it
    db.session.rollback()

    assert _assignments() == []
    assert _assignment_events() == []


# Status changes ---------------------------------------------------------------
@pytest.fixture
def active_assignment(make) -> Assignment:
    iop = make.track("iop")
    exercise = _exercise(iop)
    patient = _enrolled(make, iop)
    return assign_exercise(exercise, [patient], start=START).assigned[0]


@pytest.mark.parametrize("status", ["paused", "stopped"])
def test_pausing_or_stopping_needs_a_reason(active_assignment, status):
    with pytest.raises(RuleViolation, match="Give a reason"):
        change_status(active_assignment, status, "   ")
    db.session.rollback()
    assert active_assignment.status == "active"

    change_status(active_assignment, status, "Low energy after a medication change")
    db.session.expire_all()
    assert (active_assignment.status, active_assignment.status_reason) == (
        status, "Low energy after a medication change"
    )


def test_a_paused_assignment_resumes_and_the_change_is_audited(active_assignment):
    change_status(active_assignment, "paused", "Away for two days")
    change_status(active_assignment, "active", "")

    assert active_assignment.status == "active"
    updates = [e for e in _assignment_events() if e.action == "update"]
    assert [e.changes["status"] for e in updates] == [["active", "paused"], ["paused", "active"]]


def test_resuming_is_refused_while_another_active_assignment_of_the_exercise_exists(active_assignment):
    change_status(active_assignment, "paused", "Away for two days")
    exercise, patient = active_assignment.exercise, active_assignment.patient
    newer = assign_exercise(exercise, [patient], start=date(2026, 2, 9)).assigned[0]

    with pytest.raises(RuleViolation) as refused:
        change_status(active_assignment, "active", "")

    assert f"assignment #{newer.id}" in str(refused.value)
    assert patient.last_name not in str(refused.value)
    db.session.rollback()
    assert active_assignment.status == "paused"


@pytest.mark.parametrize("final", ["completed", "stopped"])
def test_a_completed_or_stopped_assignment_is_final(active_assignment, final):
    change_status(active_assignment, final, "Done for this stay")

    for status in ("active", "paused", "completed", "stopped"):
        with pytest.raises(RuleViolation, match="final"):
            change_status(active_assignment, status, "Trying anyway")
        db.session.rollback()
    assert active_assignment.status == final


def test_an_unknown_status_is_refused(active_assignment):
    with pytest.raises(RuleViolation, match="must be one of"):
        change_status(active_assignment, "archived", "No such thing")


# The pages --------------------------------------------------------------------
def test_a_planner_assigns_to_a_track_and_sees_the_exact_summary(client, make):
    iop = make.track("iop")
    planner = make.staff("planner")
    exercise = _exercise(iop, title="Celebrate a small win")
    new_a = _enrolled(make, iop, first_name="Ada", last_name="Alpha")
    new_b = _enrolled(make, iop, first_name="Bo", last_name="Beta")
    holder = _enrolled(make, iop, first_name="Cy", last_name="Gamma")
    assign_exercise(exercise, [holder], start=date(2026, 1, 12))
    inactive = _enrolled(make, iop, first_name="Di", last_name="Delta", active=False)
    ids = {
        "exercise": exercise.id, "track": iop.id, "a": new_a.id, "b": new_b.id,
        "inactive": inactive.id, "planner": planner.id,
    }
    login(client, planner.email)

    page = client.get(f"/admin/assign/?track={ids['track']}")
    assert page.status_code == 200
    assert f'<option selected value="{ids["track"]}">' in page.get_data(as_text=True)

    response = client.post("/admin/assign/?track=1", data={
        "exercise": ids["exercise"], "target": "track", "track": ids["track"],
        "start": "2026-02-02", "times_per_week": "2", "due": "2026-03-02",
    })
    body = response.get_data(as_text=True)

    assert response.status_code == 200
    assert (
        "Assigned to 2 patients; 1 patient already had it active (no duplicate made); "
        "1 patient not suited (refused)."
    ) in body
    assigned = body.split('id="assigned"')[1].split("</section>")[0]
    already = body.split('id="already"')[1].split("</section>")[0]
    unsuitable = body.split('id="unsuitable"')[1].split("</section>")[0]
    assert "Assigned to (2)" in assigned and "Ada Alpha" in assigned and "Bo Beta" in assigned
    assert "Cy Gamma" not in assigned and "Di Delta" not in assigned
    assert "(1)" in already and "Cy Gamma" in already and "Ada Alpha" not in already
    assert "(1)" in unsuitable and "Di Delta" in unsuitable and "patient record is inactive" in unsuitable
    assert "everyone enrolled in Intensive outpatient (IOP) on 2026-02-02" in body

    db.session.remove()
    saved = _assignments(ids["exercise"])
    made = [a for a in saved if a.start_date == START]
    assert sorted(a.patient_id for a in made) == sorted([ids["a"], ids["b"]])
    assert {(a.source, a.times_per_week, a.due_date, a.assigned_by_id) for a in made} == {
        ("track", 2, date(2026, 3, 2), ids["planner"])
    }
    assert ids["inactive"] not in {a.patient_id for a in saved}


def test_a_planner_assigns_to_a_group_roster_from_the_page(client, make):
    iop = make.track("iop")
    planner = make.staff("planner")
    group = make.group(iop, name="IOP Evening A")
    exercise = _exercise(iop)
    member = _enrolled(make, iop, first_name="Ema", last_name="Member")
    make.membership(group, member)
    ids = {"exercise": exercise.id, "group": group.id, "member": member.id}
    login(client, planner.email)

    body = client.post("/admin/assign/", data={
        "exercise": ids["exercise"], "target": "group", "group": ids["group"], "start": "2026-02-02",
    }).get_data(as_text=True)

    assert "Assigned to 1 patient;" in body and "Ema Member" in body
    assert "everyone on the roster of IOP Evening A on 2026-02-02" in body
    db.session.remove()
    assert [(a.patient_id, a.source) for a in _assignments()] == [(ids["member"], "group")]


def test_the_patient_list_selection_arrives_pre_selected_and_is_assigned(client, make):
    iop, inpatient = make.track("iop"), make.track("inpatient")
    planner = make.staff("planner")
    exercise = _exercise(iop)
    chosen = _enrolled(make, iop, first_name="Sel", last_name="Ected")
    refused = _enrolled(make, inpatient, first_name="Not", last_name="Suited")
    make.patient(first_name="Left", last_name="Out")
    ids = {"exercise": exercise.id, "chosen": chosen.id, "refused": refused.id}
    login(client, planner.email)

    page = client.get(f"/admin/assign/?patients={ids['chosen']}&patients={ids['refused']}&patients=999999")
    body = page.get_data(as_text=True)
    assert f'value="{ids["chosen"]}" checked' in body and f'value="{ids["refused"]}" checked' in body
    assert "Left Out" not in body.split('id="selected-patients"')[1].split("</div>\n\n")[0]
    assert "1 of the selected records could not be found" in body

    body = client.post(f"/admin/assign/?patients={ids['chosen']}&patients={ids['refused']}", data={
        "exercise": ids["exercise"], "target": "patients", "patients": [ids["chosen"], ids["refused"]],
        "start": "2026-02-02",
    }).get_data(as_text=True)

    assert "Assigned to 1 patient;" in body
    assert "not meant for Inpatient" in body.split('id="unsuitable"')[1]
    db.session.remove()
    assert [a.patient_id for a in _assignments()] == [ids["chosen"]]


def test_invalid_input_shows_errors_at_the_fields_and_saves_nothing(client, make):
    iop = make.track("iop")
    planner = make.staff("planner")
    exercise = _exercise(iop)
    _enrolled(make, iop)
    exercise_id, track_id = exercise.id, iop.id
    login(client, planner.email)

    body = client.post("/admin/assign/", data={
        "exercise": exercise_id, "target": "track", "track": track_id,
        "start": "2026-02-02", "times_per_week": "20", "due": "2026-02-01",
    }).get_data(as_text=True)
    assert "Give a whole number from 1 to 14." in body
    assert "The due date cannot be before the start date." in body
    assert "Nothing was saved" in body

    body = client.post("/admin/assign/", data={
        "exercise": "", "target": "group", "group": "", "start": "",
    }).get_data(as_text=True)
    assert "Choose an exercise." in body and "Choose a group." in body and "Give a start date." in body

    db.session.remove()
    assert _assignments() == []


def test_the_status_page_pauses_with_a_reason_and_shows_refusals(client, make):
    iop = make.track("iop")
    planner = make.staff("planner")
    exercise = _exercise(iop)
    patient = _enrolled(make, iop, last_name="Privatename")
    assignment = assign_exercise(exercise, [patient], start=START).assigned[0]
    assignment_id = assignment.id
    login(client, planner.email)
    url = f"/admin/assign/status/?id={assignment_id}"

    body = client.post(url, data={"status": "paused", "reason": "", "row_version": "1"}).get_data(as_text=True)
    assert "Give a reason for pausing the assignment." in body

    response = client.post(url, data={"status": "paused", "reason": "Away for two days", "row_version": "1"})
    assert response.status_code == 302
    assert "Privatename" not in response.headers["Location"]
    body = client.get(url).get_data(as_text=True)
    assert "The assignment is now paused." in body
    assert 'id="assignment-status">paused<' in body

    stale = client.post(url, data={"status": "completed", "reason": "", "row_version": "1"}).get_data(as_text=True)
    assert "Someone else changed this assignment" in stale

    client.post(url, data={"status": "completed", "reason": "Done", "row_version": "2"})
    body = client.post(url, data={"status": "active", "reason": "", "row_version": "3"}).get_data(as_text=True)
    assert "which is final" in body
    db.session.remove()
    assert db.session.get(Assignment, assignment_id).status == "completed"
    assert client.get("/admin/assign/status/?id=999999").status_code == 404


def test_a_counselor_gets_403_on_the_assign_pages(client, make):
    counselor = make.staff("counselor")
    login(client, counselor.email)

    assert client.get("/admin/assign/").status_code == 403
    assert client.post("/admin/assign/", data={}).status_code == 403
    assert client.get("/admin/assign/status/?id=1").status_code == 403


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    for response in (client.get("/admin/assign/"), client.post("/admin/assign/", data={})):
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_the_menu_offers_the_page_under_programme_to_planners_only(client, make):
    planner, counselor = make.staff("planner"), make.staff("counselor")
    login(client, planner.email)
    home = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/assign/"' in home and "Assign an exercise" in home
    client.post("/logout")
    login(client, counselor.email)
    home = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/assign/"' not in home and "Assign an exercise" not in home


def test_a_fan_out_page_runs_as_many_sql_statements_for_25_patients_as_for_5(client, make, app):
    iop, intensive = make.track("iop"), make.track("intensive")
    planner = make.staff("planner")
    exercise = _exercise(iop, intensive)
    for track, size in ((iop, 5), (intensive, 25)):
        patients = [_enrolled(make, track) for _ in range(size)]
        assign_exercise(exercise, patients[:1], start=date(2026, 1, 12))  # one already has it
    ids = {"exercise": exercise.id, "small": iop.id, "large": intensive.id}
    login(client, planner.email)
    client.get("/admin/assign/")  # warm up

    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        words = statement.split()
        if words[0].upper() == "WITH" and "INSERT" in words:  # INSERT … SELECT from a CTE
            words = words[words.index("INSERT"):]
        statements.append(words[:3])

    def fan_out(track_id: int) -> tuple[list, str]:
        statements.clear()
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            body = client.post("/admin/assign/", data={
                "exercise": ids["exercise"], "target": "track", "track": track_id, "start": "2026-02-02",
            }).get_data(as_text=True)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        return list(statements), body

    small, small_body = fan_out(ids["small"])
    large, large_body = fan_out(ids["large"])

    assert "Assigned to 4 patients; 1 patient already had it active" in small_body
    assert "Assigned to 24 patients; 1 patient already had it active" in large_body

    def split(executed):
        inserts = [s for s in executed if s[0].upper() == "INSERT"]
        return [s for s in executed if s[0].upper() != "INSERT"], inserts

    small_other, small_inserts = split(small)
    large_other, large_inserts = split(large)
    # Reading, checking and showing never grows with the number of patients.
    assert small_other == large_other
    # One INSERT … SELECT makes every assignment and one writes all their audit events,
    # on both databases.
    for inserts in (small_inserts, large_inserts):
        assert sorted(s[2] for s in inserts) == ["assignment", "audit_event"]
    assert len(small) == len(large)
    print(
        f"\n[{app.config['TEST_BACKEND']}] fan-out page SQL statements: "
        f"5 patients {len(small)} ({len(small_inserts)} INSERT), "
        f"25 patients {len(large)} ({len(large_inserts)} INSERT); other statements {len(small_other)}"
    )


@pytest.mark.parametrize("version", [None, "", "  ", "abc"])
def test_the_status_page_refuses_a_change_without_the_version_it_was_opened_with(client, make, version):
    iop = make.track("iop")
    planner = make.staff("planner")
    assignment = assign_exercise(_exercise(iop), [_enrolled(make, iop)], start=START).assigned[0]
    assignment_id = assignment.id
    login(client, planner.email)
    data = {"status": "stopped", "reason": "Hand-altered form"}
    if version is not None:
        data["row_version"] = version
    body = client.post(f"/admin/assign/status/?id={assignment_id}", data=data).get_data(as_text=True)
    assert "Someone else changed this assignment" in body
    db.session.remove()
    saved = db.session.get(Assignment, assignment_id)
    assert (saved.status, saved.version) == ("active", 1)


def test_the_form_names_only_the_patients_asked_for_never_the_whole_clinic(client, make):
    """The patient selects stay one patient long however many patients the clinic has."""
    iop = make.track("iop")
    planner = make.staff("planner")
    exercise = _exercise(iop)
    one = _enrolled(make, iop, first_name="Una", last_name="Chosen")
    _enrolled(make, iop, first_name="Ola", last_name="Other")
    ids = {"exercise": exercise.id, "one": one.id}
    login(client, planner.email)

    plain = client.get("/admin/assign/").get_data(as_text=True)
    assert "Una Chosen" not in plain and "Ola Other" not in plain
    assert 'id="patient-hint"' in plain and 'id="patients-hint"' in plain

    from_page = client.get(f"/admin/assign/?patient={ids['one']}").get_data(as_text=True)
    assert f'<option selected value="{ids["one"]}">' in from_page
    assert "Una" in from_page and "Ola Other" not in from_page

    body = client.post(f"/admin/assign/?patient={ids['one']}", data={
        "exercise": ids["exercise"], "target": "patient", "patient": ids["one"], "start": "2026-02-02",
    }).get_data(as_text=True)
    assert "Assigned to 1 patient;" in body

    refused = client.post("/admin/assign/", data={
        "exercise": ids["exercise"], "target": "patient", "patient": 999999, "start": "2026-02-02",
    })
    assert refused.status_code == 200 and "Not a valid choice" in refused.get_data(as_text=True)
    db.session.remove()
    assert [a.patient_id for a in _assignments()] == [ids["one"]]


def test_a_whole_track_assigned_in_bulk_writes_the_same_audit_events_as_one_by_one(make):
    """The bulk INSERT makes no ORM objects: its audit events must still say exactly what the
    flush listener says for an assignment made one at a time."""
    iop = make.track("iop")
    planner = make.staff("planner")
    exercise = _exercise(iop)
    one = _enrolled(make, iop, last_name="Alpha")
    single = assign_exercise(exercise, [one], start=START, due=date(2026, 3, 2), times_per_week=2,
                             source="track", actor=planner).assigned[0]
    one_event = _assignment_events()[-1]
    change_status(single, "stopped", "to compare")
    before = len(_assignment_events())
    others = [_enrolled(make, iop, last_name=f"Beta{n}") for n in range(3)]

    result = assign_to_track(exercise, iop, start=START, due=date(2026, 3, 2), times_per_week=2, actor=planner)

    assert [a.patient_id for a in result.assigned] == [one.id] + [p.id for p in others]
    events = [e for e in _assignment_events()[before:] if e.action == "create"]
    assert sorted(e.entity_id for e in events) == sorted(str(a.id) for a in result.assigned)
    assert {e.actor_id for e in events} == {planner.id}
    shape = {key: value for key, value in one_event.changes.items() if key not in ("id", "patient_id", "created_at")}
    for event in events:
        assert set(event.changes) == set(one_event.changes)
        assert {k: v for k, v in event.changes.items() if k not in ("id", "patient_id", "created_at")} == shape
        assert event.changes["id"] == [None, int(event.entity_id)]
    saved = {a.patient_id: a for a in _assignments() if a.status == "active"}
    assert set(saved) == {one.id} | {p.id for p in others}
    assert {(a.source, a.version, a.assigned_by_id) for a in saved.values()} == {("track", 1, planner.id)}


def test_the_result_of_a_large_track_names_the_first_patients_and_counts_the_rest(client, make):
    iop = make.track("iop")
    planner = make.staff("planner")
    exercise = _exercise(iop)
    for n in range(30):
        _enrolled(make, iop, first_name="Pat", last_name=f"Name{n:02d}")
    login(client, planner.email)

    body = client.post("/admin/assign/", data={
        "exercise": exercise.id, "target": "track", "track": iop.id, "start": "2026-02-02",
    }).get_data(as_text=True)

    assert "Assigned to 30 patients; 0 patients already had it active" in body
    assigned = body.split('id="assigned"')[1].split("</section>")[0]
    assert "Assigned to (30)" in assigned and "Pat Name24" in assigned and "Pat Name25" not in assigned
    assert "5 more were assigned" in assigned
    assert len(_assignments(exercise.id)) == 30


def test_a_whole_track_names_the_first_25_of_each_kind_and_counts_the_rest(client, make):
    """Assigned, already had it and not suited: each list names the first 25 by last name and
    says "and N more"; the counts are exact and nobody already holding it gets a second one."""
    iop = make.track("iop")
    planner = make.staff("planner")
    exercise = _exercise(iop)
    fresh = [_enrolled(make, iop, first_name="New", last_name=f"Fresh{n:02d}") for n in range(27)]
    holders = [_enrolled(make, iop, first_name="Had", last_name=f"Holder{n:02d}") for n in range(28)]
    assign_exercise(exercise, holders, start=date(2026, 1, 12))
    for n in range(26):
        _enrolled(make, iop, first_name="Off", last_name=f"Inactive{n:02d}", active=False)
    ids = {"exercise": exercise.id, "track": iop.id, "fresh": [p.id for p in fresh],
           "holders": [p.id for p in holders]}
    events_before = len(_assignment_events())
    login(client, planner.email)

    body = client.post("/admin/assign/", data={
        "exercise": ids["exercise"], "target": "track", "track": ids["track"], "start": "2026-02-02",
    }).get_data(as_text=True)

    assert ("Assigned to 27 patients; 28 patients already had it active (no duplicate made); "
            "26 patients not suited (refused).") in body
    assigned = body.split('id="assigned"')[1].split("</section>")[0]
    already = body.split('id="already"')[1].split("</section>")[0]
    unsuitable = body.split('id="unsuitable"')[1].split("</section>")[0]
    assert "Assigned to (27)" in assigned and "New Fresh24" in assigned and "New Fresh25" not in assigned
    assert "and 2 more were assigned" in assigned
    assert "(28)" in already and "Had Holder24" in already and "Had Holder25" not in already
    assert "and 3 more already had it active" in already
    assert "(26)" in unsuitable and "Off Inactive24" in unsuitable and "Off Inactive25" not in unsuitable
    assert "and 1 more was not suited" in unsuitable
    assert unsuitable.count("patient record is inactive") == 25
    # Each holder's existing assignment is linked, never a new one.
    db.session.remove()
    saved = _assignments(ids["exercise"])
    holding = {a.patient_id: a.id for a in saved if a.patient_id in ids["holders"]}
    assert len(holding) == 28 and f"#{holding[ids['holders'][0]]}" in already
    assert sorted(a.patient_id for a in saved if a.start_date == START) == sorted(ids["fresh"])
    assert len(saved) == 27 + 28
    assert len(_assignment_events()) - events_before == 27


def test_a_whole_track_skips_an_already_active_exercise_and_writes_no_event_for_it(make):
    iop = make.track("iop")
    exercise = _exercise(iop)
    holder = _enrolled(make, iop, last_name="Holder")
    first = assign_exercise(exercise, [holder], start=date(2026, 1, 12)).assigned[0]
    newcomer = _enrolled(make, iop, last_name="Newcomer")
    before = len(_assignment_events())

    result = assign_to_track(exercise, iop, start=START)

    assert [p.id for p in result.already] == [holder.id]
    assert result.holding == {holder.id: first.id}
    assert [a.patient_id for a in result.assigned] == [newcomer.id]
    assert result.counts() == {"assigned": 1, "already": 1, "unsuitable": 0}
    active = [a for a in _assignments() if a.status == "active"]
    assert sorted(a.patient_id for a in active) == sorted([holder.id, newcomer.id])
    events = _assignment_events()[before:]
    assert [e.entity_id for e in events] == [str(result.assigned[0].id)]
    # A second whole-track assign changes nothing and says so.
    again = assign_to_track(exercise, iop, start=START)
    assert again.counts() == {"assigned": 0, "already": 2, "unsuitable": 0}
    assert len(_assignments()) == 2 and len(_assignment_events()) == before + 1


def test_a_whole_track_decides_as_one_by_one_on_a_change_over_day(make):
    """On a day two enrolments cover, the later one counts, for a track as for a selection."""
    iop, intensive = make.track("iop"), make.track("intensive")
    exercise = _exercise(iop, title="Thank a nurse")
    moving = make.patient(last_name="Moving")
    make.enrolment(moving, iop, start=ENROLLED, end_date=START, status="stepped_up")
    make.enrolment(moving, intensive, start=START)
    staying = _enrolled(make, iop, last_name="Staying")

    one_by_one = assign_exercise(exercise, [moving, staying], start=START, commit=False)
    expected = ([a.patient_id for a in one_by_one.assigned],
                [(p.id, reason) for p, reason in one_by_one.unsuitable])
    db.session.rollback()
    result = assign_to_track(exercise, iop, start=START)

    assert ([a.patient_id for a in result.assigned], [(p.id, r) for p, r in result.unsuitable]) == expected
    assert expected == ([staying.id], [(moving.id, "not meant for Intensive (partial hospitalisation)")])


def test_a_whole_track_assign_writes_the_listeners_audit_event_exactly(make):
    """Field for field (who, from where, what, the JSON of the changes in column order) the
    set-based events are what the flush listener writes for one assignment."""
    iop = make.track("iop")
    planner = make.staff("planner")
    exercise = _exercise(iop)
    one = _enrolled(make, iop, last_name="Alpha")
    two = _enrolled(make, iop, last_name="Beta")
    single = assign_exercise(exercise, [one], start=START, due=date(2026, 3, 2), times_per_week=2,
                             source="track", actor=planner).assigned[0]
    listener = _assignment_events()[-1]
    change_status(single, "stopped", "to compare")
    before = len(_assignment_events())

    result = assign_to_track(exercise, iop, start=START, due=date(2026, 3, 2), times_per_week=2, actor=planner)

    bulk = {e.entity_id: e for e in _assignment_events()[before:]}
    assert sorted(bulk) == sorted(str(a.id) for a in result.assigned)
    made = {a.patient_id: a for a in _assignments() if a.status == "active"}
    for patient in (one, two):
        event, row = bulk[str(made[patient.id].id)], made[patient.id]
        assert (event.action, event.entity, event.actor_id, event.actor_email, event.ip_address) == (
            listener.action, listener.entity, listener.actor_id, listener.actor_email, listener.ip_address)
        assert list(event.changes) == list(listener.changes)  # the same keys, in the same order
        assert event.changes["id"] == [None, row.id] and event.changes["patient_id"] == [None, patient.id]
        assert event.changes["created_at"] == [None, row.created_at.isoformat()]
        same = {k: v for k, v in listener.changes.items() if k not in ("id", "patient_id", "created_at")}
        assert {k: v for k, v in event.changes.items() if k in same} == same


def test_a_whole_track_assign_that_meets_someone_elses_assignment_saves_nothing(make, monkeypatch):
    """If the INSERT makes a different number than the rule decided (another assignment landed
    in between), the whole fan-out is refused: no assignment, no event."""
    from clinic.services import assignments as service

    iop = make.track("iop")
    exercise = _exercise(iop)
    patients = [_enrolled(make, iop, last_name=f"Race{n}") for n in range(3)]
    events_before = len(_assignment_events())
    decided = service._track_result

    def decide_then_someone_assigns(*args):
        result = decided(*args)
        db.session.execute(sa.insert(Assignment.__table__).values(
            exercise_id=exercise.id, patient_id=patients[1].id, start_date=START, times_per_week=3,
            status="active", status_reason="", source="individual", version=1))
        return result

    monkeypatch.setattr(service, "_track_result", decide_then_someone_assigns)
    with pytest.raises(RuleViolation, match="at the same moment"):
        assign_to_track(exercise, iop, start=START)

    assert _assignments() == [] and len(_assignment_events()) == events_before
