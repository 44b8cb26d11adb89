"""The treatment plan (issue 12 item 5): problems, measurable goals, objectives and reviews per
enrolment; each new exercise serves a goal; reviews and (re)certifications listed when due.

Checked through every door (the plan page, hand-made POSTs, the service; the assign page in
test_treatment_plan_assign.py), with refusals that change nothing, audit events, the schedule
(30 days, IOP 60, PHP 18 then 30), constant statements and the database's own guards.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from clinic.extensions import db
from clinic.models import Assignment, AuditEvent, KindnessExercise, PlanGoal, PlanObjective, PlanProblem, PlanReview
from clinic.services import treatment_plan as tp
from clinic.services.errors import RuleViolation
from clinic.services.limits import FieldViolation
from clinic.services.locking import StaleEdit
from conftest import login

TODAY = date.today()
START = TODAY - timedelta(days=40)
SECRET = "Quillonby"


@pytest.fixture
def people(make):
    iop = make.track("iop", recert_first_days=60, recert_every_days=60, default_goal="Keeps up 3 acts a week.")
    counselor = make.staff("counselor", full_name="Wren Stillwater")
    other = make.staff("counselor", full_name="Tam Larkfield")
    admin = make.staff("admin", full_name="Ada Admin")
    planner = make.staff("planner", full_name="Orla Planner")
    patient = make.patient(first_name="Ivo", last_name=SECRET, preferred_name="Ivo")
    outsider = make.patient(first_name="Cato", last_name="Brightwell")
    enrolment = make.enrolment(patient, iop, counselor, start=START)
    make.enrolment(outsider, iop, other, start=START)
    return {"iop": iop, "counselor": counselor, "other": other, "admin": admin, "planner": planner,
            "patient": patient, "outsider": outsider, "enrolment": enrolment}


def _client(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


def _url(patient):
    return f"/admin/plan/?patient={patient.id}"


def _goal(people, statement="Does 3 acts of kindness a week for 4 weeks", target=None, **kw):
    goal = tp.add_goal(people["counselor"], people["enrolment"], statement=statement,
                       target_date=target or START + timedelta(days=90), **kw)
    db.session.commit()
    return goal


def _rows():
    db.session.expire_all()
    return [(m.__name__, [(r.id, r.version) for r in db.session.scalars(sa.select(m).order_by(m.id))])
            for m in (PlanProblem, PlanGoal, PlanObjective, PlanReview)]


# The service ------------------------------------------------------------------------------
def test_problems_goals_and_objectives_make_one_plan_tree_with_their_exercises(people):
    problem = tp.add_problem(people["counselor"], people["enrolment"], "Low mood and withdrawal from friends")
    goal = tp.add_goal(people["counselor"], people["enrolment"], statement="Meets a friend once a week",
                       target_date=START + timedelta(days=60), problem_id=problem.id)
    loose = tp.add_goal(people["counselor"], people["enrolment"], statement="Sleeps 7 hours on 5 nights a week",
                        target_date=START + timedelta(days=30))
    tp.add_objective(people["counselor"], goal, text="Sends one message a day", target_date=START + timedelta(days=20))
    db.session.commit()
    plan = tp.plan_of(people["patient"].id, TODAY)
    assert [p.text for p in plan.problems] == ["Low mood and withdrawal from friends"]
    assert [g.statement for g in plan.problems[0].goals] == ["Meets a friend once a week"]
    assert [o.text for o in plan.problems[0].goals[0].objectives] == ["Sends one message a day"]
    assert [g.id for g in plan.goals] == [loose.id]
    assert [g.id for g in plan.active_goals] == [goal.id, loose.id]


def test_bad_input_is_refused_at_the_field_and_nothing_is_saved(people):
    before = _rows()
    cases = [
        (lambda: tp.add_goal(people["counselor"], people["enrolment"], statement=" ", target_date=TODAY), "statement"),
        (lambda: tp.add_goal(people["counselor"], people["enrolment"], statement="x", target_date=None), "target_date"),
        (lambda: tp.add_goal(people["counselor"], people["enrolment"], statement="x",
                             target_date=START - timedelta(days=1)), "target_date"),
        (lambda: tp.add_goal(people["counselor"], people["enrolment"], statement="x" * 1001, target_date=TODAY),
         "statement"),
        (lambda: tp.add_problem(people["counselor"], people["enrolment"], ""), "text"),
        (lambda: tp.record_review(people["counselor"], people["enrolment"], kind="review",
                                  reviewed_on=TODAY + timedelta(days=1), note=""), "reviewed_on"),
        (lambda: tp.record_review(people["counselor"], people["enrolment"], kind="review",
                                  reviewed_on=START - timedelta(days=1), note=""), "reviewed_on"),
        (lambda: tp.record_review(people["counselor"], people["enrolment"], kind="audit", reviewed_on=TODAY,
                                  note=""), "kind"),
    ]
    for call, field in cases:
        with pytest.raises(FieldViolation) as refused:
            call()
        db.session.rollback()
        assert refused.value.field == field
    goal = _goal(people, target=START + timedelta(days=30))
    with pytest.raises(FieldViolation, match="after the goal's target date"):
        tp.add_objective(people["counselor"], goal, text="step", target_date=START + timedelta(days=31))
    db.session.rollback()
    with pytest.raises(FieldViolation, match="reason"):
        tp.edit_goal(people["counselor"], goal, statement=goal.statement, target_date=goal.target_date,
                     problem_id=None, status="discontinued", status_reason="", version=goal.version)
    db.session.rollback()
    assert _rows()[1][1] == [(goal.id, 1)] and before[0] == _rows()[0]


def test_a_stale_edit_is_refused_and_a_closed_goal_is_final(people):
    goal = _goal(people)
    seen = goal.version
    tp.edit_goal(people["counselor"], goal, statement="Does 4 acts a week", target_date=goal.target_date,
                 problem_id=None, status="active", status_reason="", version=seen)
    db.session.commit()
    with pytest.raises(StaleEdit):
        tp.edit_goal(people["admin"], goal, statement="Lost update", target_date=goal.target_date, problem_id=None,
                     status="active", status_reason="", version=seen)
    db.session.rollback()
    tp.edit_goal(people["counselor"], goal, statement=goal.statement, target_date=goal.target_date, problem_id=None,
                 status="met", status_reason="", version=goal.version)
    db.session.commit()
    with pytest.raises(RuleViolation, match="closed"):
        tp.edit_goal(people["counselor"], goal, statement="x", target_date=goal.target_date, problem_id=None,
                     status="active", status_reason="", version=goal.version)
    db.session.rollback()
    assert db.session.get(PlanGoal, goal.id).statement == "Does 4 acts a week"


def test_only_the_caseload_counselor_and_admins_change_the_plan(people):
    for user in (people["other"], people["planner"]):
        with pytest.raises(RuleViolation, match="caseload"):
            tp.add_problem(user, people["enrolment"], "Anything")
        db.session.rollback()
    tp.add_problem(people["admin"], people["enrolment"], "Isolation")
    db.session.commit()
    assert tp.may_edit(people["counselor"], people["patient"].id)
    assert not tp.may_edit(people["planner"], people["patient"].id)


def test_every_change_is_audited_with_its_fields(people):
    goal = _goal(people)
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "plan_goal")).all()
    assert [(e.action, e.entity_id) for e in events] == [("create", str(goal.id))]
    assert events[0].changes["statement"][1] == "Does 3 acts of kindness a week for 4 weeks"


# The schedule -----------------------------------------------------------------------------
def test_plan_reviews_fall_every_30_days_from_the_latest_review():
    start = date(2026, 3, 2)
    [review] = tp.schedule(start, None, None, None, None, None, False, date(2026, 3, 10), days=30)
    assert (review.kind, review.on, review.state) == ("review", date(2026, 4, 1), "upcoming")
    [review] = tp.schedule(start, None, None, None, date(2026, 3, 20), None, False, date(2026, 4, 15), days=30)
    assert (review.on, review.state) == (date(2026, 4, 19), "due")
    [review] = tp.schedule(start, None, None, None, None, None, False, date(2026, 4, 2), days=30)
    assert review.state == "overdue" and "overdue since 01 Apr 2026" in review.words
    assert tp.schedule(start, date(2026, 3, 31), None, None, None, None, False, date(2026, 4, 2), days=30) == []


def test_iop_certification_on_day_one_then_recertification_every_60_days():
    start = date(2026, 3, 2)
    dues = tp.schedule(start, None, 60, 60, None, None, False, date(2026, 3, 2), days=30)
    assert [(d.kind, d.on) for d in dues] == [("certification", start), ("review", date(2026, 4, 1)),
                                              ("recertification", date(2026, 5, 1))]
    dues = tp.schedule(start, None, 60, 60, date(2026, 4, 28), date(2026, 4, 28), True, date(2026, 5, 2), days=30)
    assert [(d.kind, d.on) for d in dues] == [("review", date(2026, 5, 28)), ("recertification", date(2026, 6, 27))]


def test_php_recertification_on_day_18_then_every_30_days():
    start = date(2026, 3, 2)
    dues = {d.kind: d.on for d in tp.schedule(start, None, 18, 30, start, None, True, start, days=30)}
    assert dues["recertification"] == date(2026, 3, 20)
    dues = {d.kind: d.on for d in tp.schedule(start, None, 18, 30, date(2026, 3, 19), date(2026, 3, 19), True,
                                              start, days=30)}
    assert dues["recertification"] == date(2026, 4, 18)


def test_the_review_interval_comes_from_CLINIC_PLAN_REVIEW_DAYS(app):
    from clinic.config import ConfigError, load_config

    assert load_config("/tmp/x", {"CLINIC_ENV": "testing"})["CLINIC_PLAN_REVIEW_DAYS"] == 30
    assert load_config("/tmp/x", {"CLINIC_ENV": "testing", "CLINIC_PLAN_REVIEW_DAYS": "14"})[
        "CLINIC_PLAN_REVIEW_DAYS"] == 14
    with pytest.raises(ConfigError):
        load_config("/tmp/x", {"CLINIC_ENV": "testing", "CLINIC_PLAN_REVIEW_DAYS": "0"})
    with app.app_context():
        app.config["CLINIC_PLAN_REVIEW_DAYS"] = 14
        [review] = tp.schedule(date(2026, 3, 2), None, None, None, None, None, False, date(2026, 3, 2))
        assert review.on == date(2026, 3, 16)


# The database's guards --------------------------------------------------------------------
def test_the_database_refuses_a_goal_before_the_enrolment_and_an_exercise_serving_another_patients_goal(people):
    goal = _goal(people)
    with pytest.raises(IntegrityError, match="before the enrolment began"):
        db.session.execute(sa.update(PlanGoal).where(PlanGoal.id == goal.id)
                           .values(target_date=START - timedelta(days=1)))
    db.session.rollback()
    with pytest.raises(IntegrityError, match="before the enrolment began"):
        db.session.add(PlanReview(enrolment_id=people["enrolment"].id, kind="review",
                                  reviewed_on=START - timedelta(days=1), note=""))
        db.session.flush()
    db.session.rollback()
    exercise = KindnessExercise(title="Hold a door", direction="others", energy="low")
    exercise.tracks.append(people["iop"])
    db.session.add(exercise)
    db.session.commit()
    with pytest.raises(IntegrityError, match="another patient"):
        db.session.add(Assignment(exercise_id=exercise.id, patient_id=people["outsider"].id, start_date=TODAY,
                                  goal_id=goal.id))
        db.session.flush()
    db.session.rollback()
    with pytest.raises(IntegrityError):  # a goal's patient is its enrolment's patient
        db.session.add(PlanGoal(enrolment_id=people["enrolment"].id, patient_id=people["outsider"].id,
                                statement="x", target_date=TODAY))
        db.session.flush()
    db.session.rollback()


# The plan page ----------------------------------------------------------------------------
def test_the_counselor_adds_a_problem_a_goal_and_an_objective_on_the_plan_page(app, people):
    client = _client(app, people["counselor"])
    page = client.get(_url(people["patient"]))
    assert page.status_code == 200 and "Add a goal" in page.get_data(as_text=True)
    r = client.post(_url(people["patient"]), data={"action": "add_problem", "text": "Withdrawn from friends"})
    assert r.status_code == 302 and SECRET not in r.headers["Location"]
    problem = db.session.scalar(sa.select(PlanProblem))
    r = client.post(_url(people["patient"]), data={
        "action": "add_goal", "statement": "Meets a friend weekly", "problem_id": str(problem.id),
        "target_date": (START + timedelta(days=60)).isoformat()})
    assert r.status_code == 302
    goal = db.session.scalar(sa.select(PlanGoal))
    r = client.post(_url(people["patient"]), data={"action": "add_objective", "goal_id": str(goal.id),
                                                   "text": "Texts one friend", "target_date": ""})
    assert r.status_code == 302
    text = client.get(_url(people["patient"])).get_data(as_text=True)
    assert "Meets a friend weekly" in text and "Texts one friend" in text
    with client.session_transaction() as session:
        assert SECRET not in str(session.get("_flashes"))


def test_a_refused_post_keeps_the_typed_words_and_saves_nothing(app, people):
    client = _client(app, people["counselor"])
    before = _rows()
    r = client.post(_url(people["patient"]), data={
        "action": "add_goal", "form_id": "add_goal", "statement": "My typed goal <b>",
        "target_date": (START - timedelta(days=3)).isoformat()})
    text = r.get_data(as_text=True)
    assert r.status_code == 400 and "cannot be before the enrolment began" in text
    assert "My typed goal &lt;b&gt;" in text and "<b>" not in text.split("My typed goal")[1][:10]
    r = client.post(_url(people["patient"]), data={"action": "add_goal", "form_id": "add_goal", "statement": "x",
                                                   "target_date": "31/02/2026"})
    assert r.status_code == 400 and "day of the calendar" in r.get_data(as_text=True)
    assert _rows() == before


def test_a_stale_page_is_refused_with_the_typed_input_kept(app, people):
    goal = _goal(people)
    client = _client(app, people["counselor"])
    form = {"action": "edit_goal", "form_id": f"goal-{goal.id}", "id": str(goal.id), "version": str(goal.version),
            "statement": "First save", "target_date": goal.target_date.isoformat(), "problem_id": "",
            "status": "active", "status_reason": ""}
    assert client.post(_url(people["patient"]), data=form).status_code == 302
    r = client.post(_url(people["patient"]), data={**form, "statement": "Second, from a stale page"})
    text = r.get_data(as_text=True)
    assert r.status_code == 409 and "Someone else saved" in text and "Second, from a stale page" in text
    r = client.post(_url(people["patient"]), data={**form, "version": ""})
    assert r.status_code == 409
    db.session.expire_all()
    assert db.session.get(PlanGoal, goal.id).statement == "First save"


def test_outside_the_caseload_is_a_404_and_planners_read_only(app, people):
    goal = _goal(people)
    other = _client(app, people["other"])
    assert other.get(_url(people["patient"])).status_code == 404
    assert other.post(_url(people["patient"]), data={"action": "add_problem", "text": "x"}).status_code == 404
    assert other.get("/admin/plan/?patient=999999").status_code == 404
    planner = _client(app, people["planner"])
    page = planner.get(_url(people["patient"]))
    assert page.status_code == 200 and "Read only" in page.get_data(as_text=True)
    assert "Add a goal" not in page.get_data(as_text=True)
    assert planner.post(_url(people["patient"]), data={"action": "add_problem", "text": "x"}).status_code == 403
    # Another patient's goal posted on this patient's page: 404, nothing changes.
    counselor = _client(app, people["counselor"])
    admin = _client(app, people["admin"])
    assert admin.post(f"/admin/plan/?patient={people['outsider'].id}", data={
        "action": "edit_goal", "id": str(goal.id), "version": "1", "statement": "hijack",
        "target_date": TODAY.isoformat(), "status": "active"}).status_code == 404
    assert counselor.get(_url(people["patient"])).status_code == 200
    db.session.expire_all()
    assert db.session.get(PlanGoal, goal.id).statement != "hijack"


def _count_statements(client, url):
    statements = []

    def count(*_args):
        statements.append(1)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(statements)


def test_the_patient_page_shows_the_plan_and_its_due_dates_in_constant_statements(app, people, make):
    client = _client(app, people["counselor"])
    url = f"/admin/patients/details/?id={people['patient'].id}"
    _goal(people)
    one = _count_statements(client, url)
    problem = tp.add_problem(people["counselor"], people["enrolment"], "Withdrawal")
    for n in range(4):
        goal = tp.add_goal(people["counselor"], people["enrolment"], statement=f"Goal {n}",
                           target_date=START + timedelta(days=30 + n), problem_id=problem.id if n % 2 else None)
        tp.add_objective(people["counselor"], goal, text=f"Step {n}", target_date=None)
    tp.record_review(people["counselor"], people["enrolment"], kind="certification", reviewed_on=START, note="")
    db.session.commit()
    full = _count_statements(client, url)
    assert full == one
    text = client.get(url).get_data(as_text=True)
    assert "Treatment plan" in text and "Goal 3" in text and "Step 2" in text
    assert "plan review overdue since" in text  # 40 days without a review
    assert "recertification due on" in text  # day 60 of IOP, in 20 days


def test_my_day_lists_the_counselors_plans_due_bounded_in_constant_statements(app, people, make):
    client = _client(app, people["counselor"])
    first = _count_statements(client, "/admin/day/")
    text = client.get("/admin/day/").get_data(as_text=True)
    assert "Treatment plans to review" in text and SECRET in text and "Brightwell" not in text
    for n in range(tp.SHOWN_ON_DAY + 2):
        patient = make.patient(last_name=f"Due{n}")
        make.enrolment(patient, people["iop"], people["counselor"], start=START)
    more = _count_statements(client, "/admin/day/")
    assert more == first
    text = client.get("/admin/day/").get_data(as_text=True)
    assert "and 3 more" in text
    # A review recorded today takes the patient off (the certification too).
    tp.record_review(people["counselor"], people["enrolment"], kind="review", reviewed_on=TODAY, note="")
    tp.record_review(people["counselor"], people["enrolment"], kind="certification", reviewed_on=START, note="")
    db.session.commit()
    plans, total = tp.due_plans(people["counselor"], TODAY)
    assert people["patient"].id not in [p.patient_id for p in plans] and total == tp.SHOWN_ON_DAY + 2


def test_an_admin_sees_the_plans_due_of_the_counselor_whose_day_they_open_never_the_whole_clinic(app, people):
    client = _client(app, people["admin"])
    own = client.get("/admin/day/").get_data(as_text=True)
    assert SECRET not in own and "Brightwell" not in own  # an admin's own day: no caseload
    theirs = client.get(f"/admin/day/?counselor={people['counselor'].id}").get_data(as_text=True)
    assert "Treatment plans to review" in theirs and SECRET in theirs and "Brightwell" not in theirs
    plans, total = tp.due_plans(people["admin"], TODAY, counselor_id=people["other"].id)
    assert [p.patient_id for p in plans] == [people["outsider"].id] and total == 1


# The progress sheets ----------------------------------------------------------------------
def _pdftotext(pdf: bytes, tmp_path) -> str:
    import subprocess

    path = tmp_path / "sheet.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True)
    return " ".join(out.stdout.split())


def test_the_staff_sheet_shows_each_goal_with_its_target_date_status_and_exercises(people, tmp_path):
    from clinic.pdf.progress import progress_sheet

    goal = _goal(people, statement="Meets a friend once a week", target=START + timedelta(days=60))
    tp.add_objective(people["counselor"], goal, text="Texts one friend a day", target_date=None)
    met = _goal(people, statement="Walks outside three times a week", target=START + timedelta(days=20))
    tp.edit_goal(people["counselor"], met, statement=met.statement, target_date=met.target_date, problem_id=None,
                 status="met", status_reason="", version=met.version)
    exercise = KindnessExercise(title="Send a kind message", direction="others", energy="low")
    exercise.tracks.append(people["iop"])
    db.session.add(exercise)
    db.session.flush()
    db.session.add(Assignment(exercise_id=exercise.id, patient_id=people["patient"].id, start_date=START,
                              goal_id=goal.id))
    db.session.commit()
    staff = _pdftotext(progress_sheet(people["patient"], START, TODAY, version="staff"), tmp_path)
    assert "Treatment plan goals" in staff
    assert "Meets a friend once a week" in staff and (START + timedelta(days=60)).isoformat() in staff
    assert "Send a kind message (active)" in staff and "Texts one friend a day" in staff
    assert "met" in staff.split("Walks outside three times a week")[1][:40]


def test_the_patient_sheet_says_their_goals_in_plain_words_without_dates_of_review_or_codes(people, tmp_path):
    from clinic.pdf.progress import progress_sheet

    goal = _goal(people, statement="Meets a friend once a week", target=date(2026, 12, 24) if START <= date(
        2026, 12, 24) else START + timedelta(days=60))
    tp.record_review(people["counselor"], people["enrolment"], kind="certification", reviewed_on=START,
                     note="Certified by Dr Example")
    gone = _goal(people, statement="Stops a discontinued thing")
    tp.edit_goal(people["counselor"], gone, statement=gone.statement, target_date=gone.target_date, problem_id=None,
                 status="discontinued", status_reason="Not relevant", version=gone.version)
    db.session.commit()
    text = _pdftotext(progress_sheet(people["patient"], START, TODAY, version="patient"), tmp_path)
    assert "Your goals" in text and "You are working towards this: Meets a friend once a week" in text
    for absent in ("Stops a discontinued thing", "certification", "Certified", "overdue", "review", SECRET,
                   "Not relevant"):
        assert absent not in text
    assert goal.id


def test_the_track_form_sets_the_default_goal_and_both_recertification_figures_or_neither(app, people):
    from admin_helpers import read_form

    client = _client(app, people["admin"])
    url = f"/admin/tracks/edit/?id={people['iop'].id}"
    base = read_form(client, url)
    assert base["default_goal"].strip() == "Keeps up 3 acts a week." and base["recert_every_days"] == "60"
    refused = client.post(url, data={**base, "recert_every_days": ""})
    assert "Give both recertification figures" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(people["iop"]), people["iop"].id).recert_every_days == 60
    client.post(url, data={**read_form(client, url), "recert_first_days": "18", "recert_every_days": "30",
                           "default_goal": "A PHP goal"})
    db.session.expire_all()
    track = db.session.get(type(people["iop"]), people["iop"].id)
    assert (track.recert_first_days, track.recert_every_days, track.default_goal) == (18, 30, "A PHP goal")


def test_a_review_is_audited_and_listed_and_odd_posts_change_nothing(app, people, make):
    client = _client(app, people["counselor"])
    r = client.post(_url(people["patient"]), data={"action": "record_review", "kind": "certification",
                                                   "reviewed_on": START.isoformat(), "note": "Dr Example"})
    assert r.status_code == 302
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "plan_review")).all()
    assert event.action == "create" and event.actor_id == people["counselor"].id
    assert event.changes["kind"][1] == "certification"
    text = client.get(_url(people["patient"])).get_data(as_text=True)
    assert "Certification on" in text and "Dr Example" in text
    before = _rows()
    assert client.post(_url(people["patient"]), data={"action": "drop_table"}).status_code == 400
    assert client.post(_url(people["patient"]), data={"action": "edit_goal", "id": "abc"}).status_code == 404
    # A patient never enrolled: no plan to change.
    loner = make.patient(last_name="Unenrolled")
    admin = _client(app, people["admin"])
    assert "no enrolment" in admin.get(_url(loner)).get_data(as_text=True)
    assert admin.post(_url(loner), data={"action": "add_problem", "text": "x"}).status_code == 409
    assert _rows() == before
    # An inpatient track is not certified: only a plan review can be recorded.
    inpatient = make.track("inpatient")
    patient = make.patient(last_name="Ward")
    enrolment = make.enrolment(patient, inpatient, people["counselor"], start=START)
    with pytest.raises(FieldViolation, match="not certified"):
        tp.record_review(people["counselor"], enrolment, kind="recertification", reviewed_on=TODAY, note="")
    db.session.rollback()


def test_a_step_down_carries_the_active_goals_into_the_new_plan_and_the_kept_exercises_follow(people, make):
    """The plan goes on in the new track: active goals, their problems and active objectives are
    copied (a passed target date moves to the move's day), the closed ones stay behind, and the
    exercises still running serve the copies; the old plan is left as history."""
    from clinic.services import assignments, enrolment as enrolments

    php = make.track("intensive")
    patient = people["patient"]
    # Start them in PHP, with a plan, then step down to IOP.
    db.session.delete(people["enrolment"])
    db.session.commit()
    first = make.enrolment(patient, php, people["counselor"], start=START)
    problem = tp.add_problem(people["counselor"], first, "Withdraws from people")
    db.session.commit()
    kept = tp.add_goal(people["counselor"], first, statement="Speaks to one person a day",
                       target_date=START + timedelta(days=10), problem_id=problem.id)
    done = tp.add_goal(people["counselor"], first, statement="Sleeps 7 hours", target_date=START + timedelta(days=60))
    db.session.commit()
    tp.add_objective(people["counselor"], kept, text="Says hello at breakfast", target_date=None)
    tp.edit_goal(people["counselor"], done, statement=done.statement, target_date=done.target_date,
                 problem_id=None, status="met", status_reason="", version=done.version)
    db.session.commit()
    exercise = KindnessExercise(title="Hold a door", direction="others", energy="low")
    exercise.tracks.extend([php, people["iop"]])
    db.session.add(exercise)
    db.session.commit()
    assignments.assign_exercise(exercise, [patient], start=START + timedelta(days=1), times_per_week=2,
                                goal=kept.id)
    assignment = db.session.scalar(sa.select(Assignment).where(Assignment.patient_id == patient.id,
                                                               Assignment.exercise_id == exercise.id))
    assert assignment.goal_id == kept.id

    moved = enrolments.transfer(patient, people["iop"], TODAY - timedelta(days=5), reason="Ready for less")
    db.session.commit()
    assert moved.goals_carried == 1
    copies = db.session.scalars(sa.select(PlanGoal).where(PlanGoal.enrolment_id == moved.enrolment.id,
                                                         PlanGoal.from_track_default.is_(False))).all()
    assert [g.statement for g in copies] == ["Speaks to one person a day"]
    copy = copies[0]
    assert copy.target_date == TODAY - timedelta(days=5)  # had passed: moved to the move's day
    assert copy.problem.text == "Withdraws from people" and copy.problem.enrolment_id == moved.enrolment.id
    assert [o.text for o in db.session.scalars(sa.select(PlanObjective).where(PlanObjective.goal_id == copy.id))] \
        == ["Says hello at breakfast"]
    db.session.refresh(assignment)
    assert assignment.goal_id == copy.id
    db.session.refresh(kept)
    assert kept.status == "active" and kept.enrolment_id == first.id  # the old plan, as it was
    plan = tp.plan_of(patient.id, TODAY)
    every_goal = plan.goals + [g for p in plan.problems for g in p.goals]
    shown = [g for g in every_goal if g.statement == "Speaks to one person a day"]
    assert shown and [e.title for e in shown[0].exercises] == ["Hold a door"]
