"""PHQ-9 item 9 above 0 opens a safety task that cannot be missed and closes only by a risk assessment.

Checked where staff look (My day, the patient page, the admins' home page, the staff progress
sheet), refused where it must be (closing without an assessment, by page, hand-made POST and
plain SQL; a planner or a counselor outside the caseload), and absent from patient paper.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import AuditEvent, SafetyTask
from clinic.pdf.progress import progress_sheet
from clinic.services import measures, safety
from clinic.services.instruments import GAD7, PHQ9
from conftest import login
from test_measures import entry, pattern
from test_pdf_render import page_texts

TODAY = date.today()
SECRET_NAME = "Quillon"


@pytest.fixture
def people(make):
    track = make.track("iop")
    counselor = make.staff("counselor", full_name="Wren Stillwater")
    other = make.staff("counselor", full_name="Tam Larkfield")
    admin = make.staff("admin", full_name="Ada Admin")
    planner = make.staff("planner", full_name="Orla Planner")
    patient = make.patient(first_name="Ivo", last_name=SECRET_NAME, preferred_name="Ivo")
    calm = make.patient(first_name="Cato", last_name="Brightwell")
    make.enrolment(patient, track, counselor, start=TODAY - timedelta(days=30))
    make.enrolment(calm, track, other, start=TODAY - timedelta(days=30))
    return {"counselor": counselor, "other": other, "admin": admin, "planner": planner, "patient": patient,
            "calm": calm}


def _positive(people, answer=1, sign=True, who="counselor"):
    answers = {**pattern(PHQ9, 4), 9: answer}
    return measures.save_administration(people["patient"], "phq9", entry(PHQ9, 4 + answer, answers=answers),
                                        people[who], sign=sign)


def _tasks():
    db.session.expire_all()
    return db.session.scalars(sa.select(SafetyTask).order_by(SafetyTask.id)).all()


def _client(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


def _assess(client, task, **form):
    data = {"version": task.version, "assessed_on": TODAY.isoformat(), "assessed_time": "00:00",
            "risk_level": "moderate", "action_taken": "Safety plan reviewed with the patient; crisis line given.",
            **form}
    return client.post(f"/admin/safety/{task.id}/", data=data)


def test_item9_above_zero_opens_one_task_for_the_primary_counselor_with_the_save_itself(people):
    administration = _positive(people, answer=2, sign=False)  # a draft counts too
    [task] = _tasks()
    assert (task.patient_id, task.administration_id, task.item9_answer) == (people["patient"].id, administration.id, 2)
    assert (task.counselor_id, task.opened_by_id, task.closed_at) == (people["counselor"].id, people["counselor"].id, None)
    # Saving the same draft again (still 2) opens nothing more; GAD-7 and PHQ-9 item 9 = 0 open none.
    measures.save_administration(people["patient"], "phq9", entry(PHQ9, 6, answers={**pattern(PHQ9, 4), 9: 2}),
                                 people["counselor"], administration=administration, sign=True)
    measures.save_administration(people["patient"], "gad7", entry(GAD7, 21), people["counselor"], sign=True)
    measures.save_administration(people["patient"], "phq9", entry(PHQ9, 24), people["counselor"], sign=True)
    assert len(_tasks()) == 1


def test_a_correction_raising_item9_opens_a_new_task_and_lowering_it_closes_nothing(people):
    administration = _positive(people, answer=1)
    measures.correct_by_addendum(administration, {**pattern(PHQ9, 4), 9: 3}, 1, "Misread the paper form",
                                 people["counselor"])
    measures.correct_by_addendum(administration, {**pattern(PHQ9, 4), 9: 0}, 1, "Second look", people["counselor"])
    assert [(t.item9_answer, t.closed_at) for t in _tasks()] == [(1, None), (3, None)]


def test_the_open_task_stands_on_my_day_the_patient_page_and_the_admins_home_page(app, people):
    _positive(people)
    [task] = _tasks()
    counselor, admin = _client(app, people["counselor"]), _client(app, people["admin"])
    for client, url in ((counselor, "/admin/day/"), (counselor, f"/admin/patients/details/?id={people['patient'].id}"),
                        (admin, "/admin/"), (admin, "/admin/day/"),
                        (admin, f"/admin/patients/details/?id={people['patient'].id}")):
        text = client.get(url).get_data(as_text=True)
        assert 'id="safety-tasks"' in text, url
        assert f'href="/admin/safety/{task.id}/"' in text and "Ivo " + SECRET_NAME in text, url
        assert "item 9 answered 1 (several days)" in text, url
    # Another counselor's day does not show it; their patient's page has no task.
    other = _client(app, people["other"])
    assert 'id="safety-tasks"' not in other.get("/admin/day/").get_data(as_text=True)
    # Reading it is audited, naming the patient by id only.
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "safety_task",
                                                            AuditEvent.action == "view")).all()
    assert events and all(e.changes == {"patients": [people["patient"].id]} for e in events)


def test_it_cannot_be_closed_without_an_assessment_by_page_forged_post_or_sql(app, people):
    _positive(people)
    [task] = _tasks()
    counselor = _client(app, people["counselor"])
    page = counselor.get(f"/admin/safety/{task.id}/").get_data(as_text=True)
    assert "Record the assessment and close the task" in page and "Dismiss" not in page
    for missing, field in (({"risk_level": ""}, "Choose the risk level"), ({"action_taken": "   "}, "Say what was done"),
                           ({"assessed_on": ""}, "Give the day"),
                           ({"assessed_on": (TODAY + timedelta(days=2)).isoformat()}, "cannot be in the future"),
                           ({"risk_level": "none"}, "Choose the risk level")):
        answer = _assess(counselor, task, **missing)
        assert answer.status_code == 400 and field in answer.get_data(as_text=True), missing
        assert _tasks()[0].closed_at is None
    stale = _assess(counselor, task, version=task.version + 5)
    assert stale.status_code == 409 and _tasks()[0].closed_at is None
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.text("UPDATE safety_task SET closed_at = CURRENT_TIMESTAMP WHERE id = :id"), {"id": task.id})
        db.session.flush()
    db.session.rollback()
    assert _tasks()[0].closed_at is None


def test_planners_and_counselors_outside_the_caseload_may_not_assess(app, people):
    _positive(people)
    [task] = _tasks()
    planner = _client(app, people["planner"])
    assert "A counselor of this patient's caseload or an admin" in planner.get(f"/admin/safety/{task.id}/").get_data(as_text=True)
    assert _assess(planner, task).status_code == 403
    other = _client(app, people["other"])
    assert other.get(f"/admin/safety/{task.id}/").status_code == 404
    assert _assess(other, task).status_code == 404
    assert _tasks()[0].closed_at is None


def test_an_assessment_closes_it_and_it_leaves_every_page_but_stays_on_the_record(app, people):
    _positive(people)
    [task] = _tasks()
    admin = _client(app, people["admin"])
    answer = _assess(admin, task, risk_level="high", action_taken="Psychiatrist informed.\nSafety plan agreed.")
    assert answer.status_code == 302
    [closed] = _tasks()
    assert (closed.risk_level, closed.assessed_by_id) == ("high", people["admin"].id)
    assert closed.action_taken == "Psychiatrist informed.\nSafety plan agreed." and closed.closed_at is not None
    assert closed.assessed_at.date() == TODAY and (closed.assessed_at.hour, closed.assessed_at.minute) == (0, 0)
    for url in ("/admin/", "/admin/day/"):
        assert 'id="safety-tasks"' not in admin.get(url).get_data(as_text=True)
    patient_page = admin.get(f"/admin/patients/details/?id={people['patient'].id}").get_data(as_text=True)
    assert 'id="safety-tasks"' not in patient_page and 'id="closed-safety-tasks"' in patient_page
    assert "risk high, assessed" in patient_page
    again = _assess(admin, closed)
    assert again.status_code == 409
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "safety_task",
                                                            AuditEvent.action == "update")).all()
    assert events and events[-1].changes["risk_level"] == [None, "high"]


def test_the_staff_sheet_lists_the_periods_tasks_and_the_patient_sheet_never_does(people):
    _positive(people, answer=2)
    start, end = TODAY - timedelta(days=14), TODAY
    staff = " ".join(" ".join(page_texts(progress_sheet(people["patient"], start, end, version="staff"))).split())
    assert "Safety (PHQ-9 item 9)" in staff and "2 (more than half the days)" in staff
    assert "open: risk assessment needed" in staff
    patient = " ".join(page_texts(progress_sheet(people["patient"], start, end, version="patient"))).lower()
    for word in ("safety", "item 9", "phq", "risk", "score", "assessment", "better off dead"):
        assert word not in patient, word
    calm = " ".join(" ".join(page_texts(progress_sheet(people["calm"], start, end, version="staff"))).split())
    assert "No safety task in this period." in calm


def test_the_open_tasks_take_one_statement_however_many(people, make):
    from test_rosters import Statements

    _positive(people)
    with Statements() as few:
        assert len(safety.open_tasks_for(people["admin"])) == 1
    for _ in range(5):
        _positive(people, answer=3)
    with Statements() as many:
        assert len(safety.open_tasks_for(people["admin"])) == 6
    assert len(few) == len(many) <= 2  # the tasks, and at most the user's role after a commit


def test_an_admins_my_day_and_home_page_with_an_open_task_cost_the_same_statements_with_more_staff_and_sessions(
        app, people, make):
    """Auditing the tasks' reading commits; rows loaded before it would be read again one by one."""
    from datetime import datetime, time

    from clinic.models import GroupSession
    from test_rosters import Statements

    _positive(people)
    admin = _client(app, people["admin"])

    def counted(url: str) -> int:
        admin.get(url)
        with Statements() as seen:
            assert admin.get(url).status_code == 200
        return len(seen)

    before = (counted("/admin/day/"), counted("/admin/"))
    track = make.track("iop")
    for k in range(4):  # four more facilitators (My day's filter) with a session today (the home page)
        lead = make.staff("counselor")
        group = make.group(track, lead)
        db.session.add(GroupSession(group_id=group.id, starts_at=datetime.combine(TODAY, time(8 + k)),
                                    duration_minutes=60, facilitator_id=lead.id))
    db.session.commit()
    assert (counted("/admin/day/"), counted("/admin/")) == before


def test_the_safety_tasks_page_lists_25_open_tasks_a_page_oldest_first_audited_in_the_same_statements(app, people):
    from test_rosters import Statements

    admin = _client(app, people["admin"])
    for _ in range(2):
        _positive(people)

    def page(query: str = "") -> tuple[int, str]:
        with Statements() as seen:
            answer = admin.get(f"/admin/safety/{query}")
        assert answer.status_code == 200
        return len(seen), answer.get_data(as_text=True)

    few, text = page()
    assert len(re.findall(r'href="/admin/safety/(\d+)/"', text)) == 2 and "2 open tasks" in text
    for _ in range(24):
        _positive(people)
    tasks = _tasks()
    many, text = page()
    assert many == few
    links = re.findall(r'href="/admin/safety/(\d+)/"', text)
    assert links == [str(t.id) for t in tasks[:25]]  # the oldest first
    assert "1–25 of 26 open tasks" in text and 'rel="next"' in text
    for query in ("?page=2", "?page=99"):  # past the end: the last page
        _, text = page(query)
        assert re.findall(r'href="/admin/safety/(\d+)/"', text) == [str(tasks[25].id)]
        assert "26–26 of 26 open tasks" in text
    _, text = page("?page=abc")
    assert "1–25 of 26 open tasks" in text
    # Its reading is audited, naming the patients listed by id only.
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "safety_task",
                                                            AuditEvent.action == "view")).all()
    assert events and all(e.changes == {"patients": [people["patient"].id]} for e in events)


def test_a_long_list_of_open_tasks_is_counted_a_few_pages_ahead_and_every_task_stays_reachable(
        app, people, monkeypatch):
    """A large clinic's open tasks are not all counted: the page counts ``PAGES_AHEAD`` pages
    past itself ("more than"), and Next reaches the rest, oldest first."""
    from clinic.services import page_window

    monkeypatch.setattr(page_window, "PAGES_AHEAD", 0)  # count only up to the page shown
    admin = _client(app, people["admin"])
    for _ in range(27):
        _positive(people)
    tasks = _tasks()

    first = admin.get("/admin/safety/").get_data(as_text=True)

    assert "1–25 of more than 25 open tasks" in first and "Page 1 of more than 1" in first
    assert 'href="/admin/safety/?page=2"' in first
    assert re.findall(r'href="/admin/safety/(\d+)/"', first) == [str(t.id) for t in tasks[:25]]
    second = admin.get("/admin/safety/?page=2").get_data(as_text=True)
    assert "26–27 of 27 open tasks" in second and 'rel="next"' not in second
    assert re.findall(r'href="/admin/safety/(\d+)/"', second) == [str(t.id) for t in tasks[25:]]
