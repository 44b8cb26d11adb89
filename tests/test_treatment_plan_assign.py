"""Each new kindness exercise names the treatment-plan goal it serves (issue 12 item 5).

The rule (services/treatment_plan.goals_for_assignments): a patient whose enrolment on the
start date has an active goal "has a plan"; one patient assigned individually must then name
one of those goals. A fan-out (group, track, selection, starter plan) uses the track's default
goal, attached to each patient's plan once; a track without one refuses the patients who have a
plan. Checked through the assign page, the generic admin form and the service.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Assignment, KindnessExercise, PlanGoal
from clinic.services import assignments, enrolment, treatment_plan as tp
from clinic.services.limits import FieldViolation
from conftest import login

TODAY = date.today()
START = TODAY - timedelta(days=20)
DEFAULT = "Keeps up 3 acts of kindness a week."


@pytest.fixture
def world(make):
    iop = make.track("iop", default_goal=DEFAULT, recert_first_days=60, recert_every_days=60)
    counselor = make.staff("counselor")
    planner = make.staff("planner")
    admin = make.staff("admin")
    planned = make.patient(first_name="Pia", last_name="Planned")
    bare = make.patient(first_name="Ben", last_name="Bare")
    e1 = make.enrolment(planned, iop, counselor, start=START)
    make.enrolment(bare, iop, counselor, start=START)
    exercise = KindnessExercise(title="Send a kind message", direction="others", energy="low", tracks=[iop])
    second = KindnessExercise(title="Keep a gratitude list", direction="self", energy="low", tracks=[iop])
    db.session.add_all([exercise, second])
    db.session.commit()
    goal = tp.add_goal(counselor, e1, statement="Meets a friend once a week", target_date=START + timedelta(days=60))
    db.session.commit()
    return {"iop": iop, "counselor": counselor, "planner": planner, "admin": admin, "planned": planned,
            "bare": bare, "exercise": exercise, "second": second, "goal": goal}


def _assignments():
    db.session.expire_all()
    return db.session.scalars(sa.select(Assignment).order_by(Assignment.id)).all()


def test_one_patient_with_a_plan_must_name_one_of_their_active_goals(world):
    with pytest.raises(FieldViolation, match="choose the goal") as refused:
        assignments.assign_exercise(world["exercise"], [world["planned"]], start=TODAY)
    assert refused.value.field == "goal"
    db.session.rollback()
    other_goal = tp.add_goal(world["counselor"], tp.plan_enrolment(world["bare"].id), statement="Other's goal",
                             target_date=TODAY)
    db.session.commit()
    with pytest.raises(FieldViolation, match="active goals"):
        assignments.assign_exercise(world["exercise"], [world["planned"]], start=TODAY, goal=other_goal.id)
    db.session.rollback()
    assert _assignments() == []
    result = assignments.assign_exercise(world["exercise"], [world["planned"]], start=TODAY, goal=world["goal"].id)
    assert [a.goal_id for a in result.assigned] == [world["goal"].id]


def test_a_patient_without_an_active_goal_is_assigned_and_the_exercise_serves_none_yet(world):
    result = assignments.assign_exercise(world["exercise"], [world["bare"]], start=TODAY)
    assert [a.goal_id for a in result.assigned] == [None]
    plan = tp.plan_of(world["bare"].id, TODAY)
    assert [e.title for e in plan.unserved] == ["Send a kind message"]


def test_a_track_fan_out_attaches_the_tracks_default_goal_once_to_each_plan(world):
    result = assignments.assign_to_track(world["exercise"], world["iop"], start=TODAY)
    assert len(result.assigned) == 2
    assignments.assign_to_track(world["second"], world["iop"], start=TODAY)
    defaults = db.session.scalars(sa.select(PlanGoal).where(PlanGoal.from_track_default.is_(True))).all()
    assert sorted(g.patient_id for g in defaults) == sorted([world["planned"].id, world["bare"].id])
    assert {g.statement for g in defaults} == {DEFAULT}
    assert all(g.target_date == TODAY + timedelta(days=tp.DEFAULT_GOAL_TARGET_DAYS) for g in defaults)
    by_patient = {g.patient_id: g.id for g in defaults}
    assert all(a.goal_id == by_patient[a.patient_id] for a in _assignments())
    plan = tp.plan_of(world["planned"].id, TODAY)
    [default] = [g for g in plan.all_goals if g.from_track_default]
    assert [e.title for e in default.exercises] == ["Keep a gratitude list", "Send a kind message"]
    # The goals made set-based are in the audit trail as the flush listener writes them.
    from clinic.models import AuditEvent

    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "plan_goal",
                                                            AuditEvent.action == "create")).all()
    made = [e for e in events if int(e.entity_id) != world["goal"].id]  # the fixture's own goal aside
    assert sorted(int(e.entity_id) for e in made) == sorted(by_patient.values())
    assert all(e.changes["statement"] == [None, DEFAULT] and e.changes["patient_id"][1] in by_patient
               and e.changes["from_track_default"] == [None, True] for e in made)


def test_without_a_default_goal_a_fan_out_refuses_the_patients_with_a_plan_and_says_why(world):
    world["iop"].default_goal = ""
    db.session.commit()
    group_result = assignments.assign_exercise(world["exercise"], [world["planned"], world["bare"]], start=TODAY)
    assert [a.patient_id for a in group_result.assigned] == [world["bare"].id]
    assert [(p.id, reason) for p, reason in group_result.unsuitable] == [(world["planned"].id, tp.NO_DEFAULT)]
    track_result = assignments.assign_to_track(world["second"], world["iop"], start=TODAY)
    assert [line.id for line, _ in track_result.unsuitable] == [world["planned"].id]
    assert [a.goal_id for a in _assignments()] == [None, None]


def test_the_starter_plan_at_enrolment_serves_the_tracks_default_goal(world, make):
    world["iop"].starter_exercises.append(world["exercise"])
    db.session.commit()
    newcomer = make.patient(first_name="Nia", last_name="New")
    enrolment.enrol(newcomer, world["iop"], TODAY, counselor=world["counselor"], actor=world["admin"])
    db.session.commit()
    [made] = [a for a in _assignments() if a.patient_id == newcomer.id]
    goal = db.session.get(PlanGoal, made.goal_id)
    assert goal.statement == DEFAULT and goal.from_track_default and goal.patient_id == newcomer.id


def test_the_assign_page_lists_the_patients_goals_and_refuses_without_one(app, world):
    client = app.test_client()
    login(client, world["planner"].email)
    ids = {k: world[k].id for k in ("planned", "exercise", "goal")}
    page = client.get(f"/admin/assign/?patient={ids['planned']}").get_data(as_text=True)
    assert "Goal it serves" in page and "Meets a friend once a week" in page
    form = {"exercise": ids["exercise"], "target": "patient", "patient": ids["planned"],
            "start": TODAY.isoformat(), "times_per_week": "3"}
    refused = client.post(f"/admin/assign/?patient={ids['planned']}", data=form)
    assert "choose the goal this exercise serves" in refused.get_data(as_text=True)
    assert _assignments() == []
    done = client.post(f"/admin/assign/?patient={ids['planned']}", data={**form, "goal": ids["goal"]})
    assert "Assigned to 1 patient;" in done.get_data(as_text=True)
    assert [a.goal_id for a in _assignments()] == [ids["goal"]]


def test_the_generic_assignment_form_is_refused_for_a_patient_with_a_plan(app, world):
    from admin_helpers import read_form

    client = app.test_client()
    login(client, world["planner"].email)
    base = read_form(client, "/admin/assignments/new/")
    form = {**base, "patient": world["planned"].id, "exercise": world["exercise"].id,
            "start_date": TODAY.isoformat(), "times_per_week": "3"}
    text = client.post("/admin/assignments/new/", data=form).get_data(as_text=True)
    assert "choose the goal this exercise serves" in text and "Assign an exercise" in text
    assert _assignments() == []
