"""Every page that shows a patient's clinical data leaves one "view" event naming them by id."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import (
    Assignment,
    Attendance,
    AuditEvent,
    ExerciseCheckin,
    GroupSession,
    KindnessExercise,
    Patient,
)
from clinic.admin.views_records import PatientFilter
from clinic.services import audit

from conftest import login

TODAY = date.today()

#: Model views whose details page shows no patient's data (and so writes no "view" event).
NO_PATIENT_DATA = {"activities", "exercises", "staff", "audit"}


@dataclass
class World:
    admin: object
    counselor: object
    p0: int
    p1: int
    outsider: int
    group: int
    track: int
    session: int
    enrolment: int
    membership: int
    assignment: int
    attendance: int
    checkin: int


@pytest.fixture
def world(make) -> World:
    """Two members of one group with a started session, an attendance, an exercise and a check-in."""
    admin = make.staff("admin")
    counselor = make.staff("counselor")
    iop = make.track("iop")
    group = make.group(iop, facilitator=counselor)
    p0, p1, outsider = make.patient(), make.patient(), make.patient()
    enrolment = make.enrolment(p0, iop, counselor)
    make.enrolment(p1, iop, counselor)
    membership = make.membership(group, p0, start=TODAY - timedelta(days=30))
    make.membership(group, p1, start=TODAY - timedelta(days=30))
    exercise = KindnessExercise(title="Thank someone", direction="others", energy="low", tracks=[iop])
    db.session.add(exercise)
    db.session.flush()
    assignment = Assignment(exercise_id=exercise.id, patient_id=p0.id, start_date=TODAY - timedelta(days=7))
    session = GroupSession(group_id=group.id, starts_at=datetime.now() - timedelta(hours=2), duration_minutes=60,
                           room="Room 1", facilitator_id=counselor.id, status="planned", group_note="We talked.")
    db.session.add_all([assignment, session])
    db.session.flush()
    attendance = Attendance(session_id=session.id, patient_id=p0.id, status="present", minutes_attended=60)
    checkin = ExerciseCheckin(assignment_id=assignment.id, on_date=TODAY - timedelta(days=1), outcome="done",
                              session_id=session.id)
    db.session.add_all([attendance, checkin])
    db.session.commit()
    return World(admin=admin, counselor=counselor, p0=p0.id, p1=p1.id, outsider=outsider.id, group=group.id,
                 track=iop.id,
                 session=session.id, enrolment=enrolment.id, membership=membership.id,
                 assignment=assignment.id, attendance=attendance.id, checkin=checkin.id)


def _padded(number: int) -> str:
    """An id as a person might type it, with leading zeros."""
    return f"000{number}"


def _pages(w: World) -> list[tuple[str, str, str, int | str, list[int]]]:
    """(endpoint, url, entity, stored id, patient ids) of every page that shows clinical data."""
    both = sorted([w.p0, w.p1])
    return [
        ("patients.details_view", f"/admin/patients/details/?id={_padded(w.p0)}", "patient", w.p0, [w.p0]),
        ("enrolments.details_view", f"/admin/enrolments/details/?id={_padded(w.enrolment)}", "enrolment",
         w.enrolment, [w.p0]),
        ("memberships.details_view", f"/admin/memberships/details/?id={_padded(w.membership)}",
         "group_membership", w.membership, [w.p0]),
        ("assignments.details_view", f"/admin/assignments/details/?id={_padded(w.assignment)}", "assignment",
         w.assignment, [w.p0]),
        ("attendance.details_view", f"/admin/attendance/details/?id={_padded(w.attendance)}", "attendance",
         w.attendance, [w.p0]),
        ("checkins.details_view", f"/admin/checkins/details/?id={_padded(w.checkin)}", "exercise_checkin",
         w.checkin, [w.p0]),
        # A group's and a track's pages list their members and enrolled patients by name.
        ("groups.details_view", f"/admin/groups/details/?id={_padded(w.group)}", "care_group", w.group, both),
        ("tracks.details_view", f"/admin/tracks/details/?id={_padded(w.track)}", "track", w.track, both),
        ("sessions.details_view", f"/admin/sessions/details/?id={_padded(w.session)}", "group_session",
         w.session, both),
        ("record.index", f"/admin/record/?session={_padded(w.session)}", "group_session", w.session, both),
        ("print.progress", f"/admin/print/progress/?patient={_padded(w.p0)}", "patient", w.p0, [w.p0]),
        ("print.progress_batch", f"/admin/print/progress/batch/?group={_padded(w.group)}", "care_group",
         w.group, both),
        ("day.checkin", f"/admin/day/checkin/?assignment={_padded(w.assignment)}", "assignment", w.assignment,
         [w.p0]),
        ("assign.status", f"/admin/assign/status/?id={_padded(w.assignment)}", "assignment", w.assignment,
         [w.p0]),
    ] + [
        # The patient-programme forms show the enrolment history.
        (f"programme.{action}", f"/admin/programme/{action}/?patient={w.p0}{extra}", "patient", w.p0, [w.p0])
        for action, extra in (("enrol", ""), ("transfer", ""), ("discharge", ""), ("join", ""),
                              ("leave", f"&membership={w.membership}"))
    ]


def _events() -> list[AuditEvent]:
    db.session.remove()
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "view")
                                   .order_by(AuditEvent.id)))


def test_each_page_showing_clinical_data_writes_one_view_event_with_normalised_ids(client, world):
    login(client, world.admin.email)
    admin_id = world.admin.id
    for endpoint, url, entity, entity_id, patients in _pages(world):
        before = len(_events())
        response = client.get(url)
        assert response.status_code == 200, endpoint
        new = _events()[before:]
        assert [(e.actor_id, e.entity, e.entity_id, e.changes) for e in new] == [
            (admin_id, entity, str(entity_id), {"patients": patients})
        ], endpoint


def test_every_details_page_of_a_model_view_is_walked_or_known_to_hold_no_patient_data(app, client, world):
    details = {rule.endpoint.rsplit(".", 1)[0] for rule in app.url_map.iter_rules()
               if rule.endpoint.endswith(".details_view")}
    walked = {endpoint.rsplit(".", 1)[0] for endpoint, *_ in _pages(world) if endpoint.endswith(".details_view")}
    assert details - NO_PATIENT_DATA == walked, "a details page that is neither audited here nor exempt"
    assert NO_PATIENT_DATA <= details
    # The exempt pages really show no patient and write nothing.
    ids = {
        "exercises": db.session.scalar(sa.select(sa.func.min(KindnessExercise.id))),
        "staff": world.counselor.id,
        "audit": db.session.scalar(sa.select(sa.func.min(AuditEvent.id))),
    }
    login(client, world.admin.email)
    for name in sorted(ids):
        response = client.get(f"/admin/{name}/details/?id={ids[name]}")
        assert response.status_code == 200, name
    assert _events() == []


def test_a_refused_or_missing_record_writes_no_view_event(client, world):
    stranger = world.counselor.email  # the counselor has p0 and p1, not the outsider
    login(client, stranger)
    assert client.get(f"/admin/patients/details/?id={world.outsider}").status_code in (302, 404)
    assert client.get("/admin/patients/details/?id=999999").status_code == 404
    assert client.get("/admin/record/?session=999999").status_code == 404
    assert _events() == []


def test_the_counselor_reading_their_patient_is_named_as_the_actor(client, world):
    counselor_id = world.counselor.id
    login(client, world.counselor.email)
    assert client.get(f"/admin/patients/details/?id={world.p0}").status_code == 200
    assert [(e.actor_id, e.entity_id, e.changes) for e in _events()] == [
        (counselor_id, str(world.p0), {"patients": [world.p0]})
    ]


def test_typed_ids_are_stored_as_whole_numbers():
    assert audit.whole_id("00034") == 34
    assert audit.whole_id(" 7 ") == 7
    assert audit.whole_id("selection") is None
    assert audit.whole_id("-3") is None
    assert audit.patient_ids(["0002", 2, "x", 10]) == [2, 10]


def _statements(app, work) -> int:
    """How many SQL statements ``work()`` sends."""
    seen = []

    def count(*args):
        seen.append(1)

    engine = db.engines[None] if hasattr(db, "engines") else db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        work()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def _audit_rows(body: str) -> list[str]:
    """The text of the audit list's patient cells, in page order."""
    return re.findall(r'<td class="col-patients">\s*(.*?)\s*</td>', body, re.S)


def test_who_opened_this_record_lists_the_views_of_that_patient_only_with_names_for_admins(app, client, world):
    p0, p1 = world.p0, world.p1
    login(client, world.counselor.email)
    client.get(f"/admin/patients/details/?id={p0}")
    client.get(f"/admin/sessions/details/?id={world.session}")
    client.get(f"/admin/patients/details/?id={p1}")
    admin = app.test_client()
    login(admin, world.admin.email)
    page = admin.get(f"/admin/patients/details/?id={p0}").get_data(as_text=True)
    assert f'href="/admin/audit/?patient={p0}"' in page
    assert "Who opened this record" in page
    db.session.remove()
    name0 = db.session.scalar(sa.select(Patient.last_name).where(Patient.id == p0))
    name1 = db.session.scalar(sa.select(Patient.last_name).where(Patient.id == p1))
    body = admin.get(f"/admin/audit/?patient={p0}&flt1_0=view").get_data(as_text=True)
    cells = _audit_rows(body)
    # The counselor's two pages and the admin's own; the other patient's page is not listed.
    assert len(cells) == 3
    assert all(name0 in cell for cell in cells)
    assert sum(name1 in cell for cell in cells) == 1  # the session page names both
    assert name0 not in body.split("<table")[0]  # the name is in the table, not in links or titles
    assert not re.search(r'href="[^"]*' + re.escape(name0), body)


def _about(patient_id: int) -> int:
    """How many events are about the patient, counted in Python from the whole trail."""
    db.session.remove()
    return sum(
        (e.entity == "patient" and e.entity_id == str(patient_id))
        or patient_id in (e.changes or {}).get("patients", [])
        for e in db.session.scalars(sa.select(AuditEvent))
    )


def test_the_patient_filter_and_the_id_as_typed_list_the_same_events(app, client, world):
    login(client, world.admin.email)
    client.get(f"/admin/patients/details/?id={world.p1}")
    client.get(f"/admin/sessions/details/?id={world.session}")
    client.get(f"/admin/patients/details/?id={world.p0}")
    view = next(v for v in app.extensions["admin"][0]._views if getattr(v, "endpoint", "") == "audit")
    index = next(i for i, f in enumerate(view._filters) if isinstance(f, PatientFilter))
    by_arg = client.get(f"/admin/audit/?patient=000{world.p1}").get_data(as_text=True)
    by_filter = client.get(f"/admin/audit/?flt0_{index}={world.p1}").get_data(as_text=True)
    expected = _about(world.p1)
    assert expected == 3  # its creation, its page and the session page
    assert len(_audit_rows(by_arg)) == len(_audit_rows(by_filter)) == expected
    assert _audit_rows(by_arg) == _audit_rows(by_filter)
    assert _audit_rows(client.get("/admin/audit/?patient=x").get_data(as_text=True)) == []


def test_the_counselor_gets_no_audit_button_and_no_audit_list(client, world):
    login(client, world.counselor.email)
    page = client.get(f"/admin/patients/details/?id={world.p0}").get_data(as_text=True)
    assert "Who opened this record" not in page
    assert client.get(f"/admin/audit/?patient={world.p0}").status_code == 403


def test_patient_names_cost_one_query_per_page_whatever_the_number_of_rows(app, client, world, make):
    login(client, world.admin.email)
    client.get(f"/admin/patients/details/?id={world.p0}")
    few = _statements(app, lambda: client.get("/admin/audit/?flt1_0=view"))
    for _ in range(5):
        client.get(f"/admin/patients/details/?id={make.patient().id}")
    body = client.get("/admin/audit/?flt1_0=view").get_data(as_text=True)
    assert len(_audit_rows(body)) == 6
    many = _statements(app, lambda: client.get("/admin/audit/?flt1_0=view"))
    assert many == few


def test_pdf_exports_name_their_patients_as_the_views_do(client, world):
    login(client, world.admin.email)
    p0, p1 = world.p0, world.p1
    assert client.get(f"/admin/print/plan/?patient={_padded(p0)}").status_code == 200
    assert client.get(f"/admin/print/packet/?session={_padded(world.session)}").status_code == 200
    db.session.remove()
    exports = list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export")
                                      .order_by(AuditEvent.id)))
    named = [(e.entity, e.entity_id, e.changes["patients"]) for e in exports]
    assert named[0] == ("patient", str(p0), [p0])
    assert ("group_session", str(world.session), sorted([p0, p1])) in named
    assert sorted(n for n in named if n[0] == "patient") == sorted(
        [("patient", str(p0), [p0]), ("patient", str(p0), [p0]), ("patient", str(p1), [p1])]
    )
