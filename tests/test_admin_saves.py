"""Saving through the admin: audited, atomic, no raw database errors, no stale overwrites."""

from __future__ import annotations

from clinic.extensions import db
from clinic.models import AuditEvent, Patient, StaffUser
from conftest import login


def _patient_form(patient=None, **changes):
    data = {
        "record_number": patient.record_number if patient else "MRN-100",
        "first_name": patient.first_name if patient else "Sam",
        "last_name": patient.last_name if patient else "Example",
        "preferred_name": "",
        "active": "y",
    }
    data.update(changes)
    return data


def test_creating_and_editing_a_patient_writes_audit_events_naming_the_fields(client, make, ctx):
    admin = make.staff("admin")
    admin_id = admin.id
    login(client, admin.email)
    client.post("/admin/patients/new/", data=_patient_form())
    db.session.remove()
    patient = db.session.query(Patient).filter_by(record_number="MRN-100").one()
    page = client.get(f"/admin/patients/edit/?id={patient.id}").get_data(as_text=True)
    assert 'name="row_version" type="hidden" value="1"' in page
    client.post(f"/admin/patients/edit/?id={patient.id}",
                data=_patient_form(patient, last_name="Renamed", row_version="1"))
    db.session.remove()
    events = db.session.query(AuditEvent).filter_by(entity="patient", entity_id=str(patient.id)).order_by(AuditEvent.id).all()
    assert [e.action for e in events] == ["create", "update"]
    assert all(e.actor_id == admin_id for e in events)
    assert events[1].changes == {"last_name": ["Example", "Renamed"]}


def test_a_duplicate_record_number_is_refused_at_the_field(client, make, ctx):
    admin = make.staff("admin")
    make.patient(record_number="MRN-DUP", last_name="Firstholder")
    login(client, admin.email)
    response = client.post("/admin/patients/new/", data=_patient_form(record_number="MRN-DUP", last_name="Secondname"))
    body = response.get_data(as_text=True)
    assert "Already exists" in body
    assert 'value="Secondname"' in body  # what was typed is kept for correction
    db.session.remove()
    assert db.session.query(Patient).count() == 1


def test_a_save_the_database_refuses_shows_a_plain_message_and_no_sql(client, make, ctx, monkeypatch):
    from clinic.services import patients

    admin = make.staff("admin")
    make.patient(record_number="MRN-RACE", last_name="Firstholder")
    login(client, admin.email)
    events_before = db.session.query(AuditEvent).count()
    # Another server registers the same record number between the check and the insert:
    # only the database's unique constraint still knows, and its refusal stays plain.
    checked = patients._patient_values

    def check_without_uniqueness(values, patient):
        return checked({**values, "record_number": "MRN-OTHER"}, patient) | {"record_number": "MRN-RACE"}

    monkeypatch.setattr(patients, "_patient_values", check_without_uniqueness)
    from clinic.admin.views_people import PatientView

    monkeypatch.setattr(PatientView, "form_args", {"record_number": {"validators": []}}, raising=False)
    response = client.post("/admin/patients/new/", data=_patient_form(record_number="MRN-NEW",
                                                                      last_name="Typedname"),
                           follow_redirects=True)
    body = response.get_data(as_text=True)
    assert "conflicts with other data" in body
    for leaked in ("INSERT", "UNIQUE constraint", "IntegrityError", "violates", "sqlite", "psycopg", "MRN-RACE"):
        assert leaked not in body, leaked
    assert 'value="Typedname"' in body  # the form comes back with what was typed
    cookie = client.get_cookie("clinic_session")
    assert cookie is None or "INSERT" not in cookie.value
    db.session.remove()
    assert db.session.query(Patient).count() == 1
    assert db.session.query(AuditEvent).filter(AuditEvent.entity == "patient").count() == 1
    assert db.session.query(AuditEvent).count() == events_before


def test_a_stale_edit_is_refused_and_keeps_what_was_typed(client, make, ctx):
    admin = make.staff("admin")
    patient = make.patient(last_name="Original")
    patient_id = patient.id
    login(client, admin.email)
    # Someone else saves first (version 1 -> 2).
    patient.preferred_name = "Sunny"
    db.session.commit()
    response = client.post(f"/admin/patients/edit/?id={patient.id}",
                           data=_patient_form(patient, last_name="Mine", preferred_name="", row_version="1"),
                           follow_redirects=True)
    body = response.get_data(as_text=True)
    assert "Someone else saved this record" in body
    assert 'value="Mine"' in body
    db.session.remove()
    fresh = db.session.get(Patient, patient_id)
    assert fresh.last_name == "Original" and fresh.preferred_name == "Sunny"


def test_an_admin_creates_a_staff_account_and_the_password_is_hashed_not_logged(client, make, ctx):
    admin = make.staff("admin")
    login(client, admin.email)
    client.post("/admin/staff/new/", data={
        "full_name": "New Planner", "email": "New.Planner@Clinic.example", "role": "planner",
        "is_active_account": "y", "new_password": "a long enough password",
    })
    db.session.remove()
    user = db.session.query(StaffUser).filter_by(email="new.planner@clinic.example").one()
    assert user.password_hash.startswith("$argon2id$")
    event = db.session.query(AuditEvent).filter_by(entity="staff_user", entity_id=str(user.id)).one()
    assert event.changes["password_hash"] == [None, "(set)"]
    assert "a long enough password" not in str(event.changes)
    new_client = client.application.test_client()
    assert login(new_client, "new.planner@clinic.example", "a long enough password").status_code == 302


def test_a_staff_account_with_a_short_password_is_refused_with_a_message(client, make, ctx):
    admin = make.staff("admin")
    login(client, admin.email)
    response = client.post("/admin/staff/new/", data={
        "full_name": "Short", "email": "short@clinic.example", "role": "planner",
        "is_active_account": "y", "new_password": "short",
    }, follow_redirects=True)
    assert "at least 12 characters" in response.get_data(as_text=True)
    db.session.remove()
    assert db.session.query(StaffUser).filter_by(email="short@clinic.example").count() == 0


def test_viewing_a_patient_record_is_audited(client, make, ctx):
    planner = make.staff("planner")
    patient = make.patient()
    planner_id, patient_id = planner.id, patient.id
    login(client, planner.email)
    assert client.get(f"/admin/patients/details/?id={patient.id}").status_code == 200
    db.session.remove()
    views = db.session.query(AuditEvent).filter_by(action="view", entity="patient").all()
    assert [(v.actor_id, v.entity_id) for v in views] == [(planner_id, str(patient_id))]


def test_typed_text_is_escaped_in_lists(client, make, ctx):
    admin = make.staff("admin")
    make.patient(last_name="<script>alert(1)</script>")
    login(client, admin.email)
    body = client.get("/admin/patients/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_a_list_page_runs_a_fixed_number_of_queries(client, make, ctx):
    from sqlalchemy import event

    admin = make.staff("admin")
    track = make.track("iop")
    login(client, admin.email)

    def count_for(n):
        for _ in range(n):
            make.enrolment(make.patient(), track, admin)
        statements = []
        listener = lambda *args, **kw: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/admin/enrolments/").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    few = count_for(2)
    many = count_for(15)
    assert few == many, (few, many)


def test_a_session_edited_in_the_plain_form_is_still_checked_for_clashes(client, make, ctx):
    from datetime import datetime

    from clinic.models import GroupSession

    planner = make.staff("planner")
    counselor = make.staff("counselor", full_name="Wren Facilitator")
    track = make.track("iop")
    first_group = make.group(track, name="IOP Evening A")
    second_group = make.group(track, name="IOP Evening B")
    booked = GroupSession(group_id=first_group.id, starts_at=datetime(2026, 3, 2, 17), duration_minutes=90,
                          facilitator_id=counselor.id, room="Lantern Room")
    db.session.add(booked)
    db.session.commit()
    login(client, planner.email)
    response = client.post("/admin/sessions/new/", data={
        "group": second_group.id, "starts_at": "2026-03-02 18:00:00", "duration_minutes": 60,
        "room": "Garden Room", "facilitator": counselor.id, "status": "planned", "group_note": "",
        "cancel_reason": "",
    }, follow_redirects=True)
    body = response.get_data(as_text=True)
    assert "Wren Facilitator already leads IOP Evening A" in body
    db.session.remove()
    assert db.session.query(GroupSession).count() == 1


def test_a_name_typed_into_a_search_never_appears_in_a_url(client, make, ctx):
    admin = make.staff("admin")
    for n in range(25):
        make.patient(last_name=f"Zephyrine{n:02d}" if n < 22 else f"Other{n}")
    login(client, admin.email)
    response = client.post("/admin/patients/search/", data={"search": "Zephyrine", "sort": "1"})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "Zephyrine" not in location and "q=" in location
    page = client.get(location)
    body = page.get_data(as_text=True)
    assert "All patients (22)" in body
    assert "Other22" not in body
    # Pagination, sorting and row links carry the token, never the term.
    hrefs = " ".join(__import__("re").findall(r'href="([^"]+)"', body))
    assert "page=1" in hrefs and "q=" in hrefs
    assert "Zephyrine" not in hrefs and "search=" not in hrefs
    # A token is personal: another user gets the plain list and a notice.
    other = make.staff("admin")
    other_client = client.application.test_client()
    login(other_client, other.email)
    foreign = other_client.get(location, follow_redirects=True).get_data(as_text=True)
    assert "That search has expired" in foreign and "All patients (25)" in foreign


def test_an_admin_cannot_remove_their_own_admin_rights(client, make, ctx):
    admin = make.staff("admin", full_name="Only Admin")
    admin_id, email = admin.id, admin.email
    login(client, email)
    db.session.remove()
    version = db.session.get(StaffUser, admin_id).version  # the login itself updated the row
    response = client.post(f"/admin/staff/edit/?id={admin_id}", data={
        "full_name": "Only Admin", "email": email, "role": "planner", "is_active_account": "y",
        "new_password": "", "row_version": str(version),
    }, follow_redirects=True)
    assert "cannot remove your own admin rights" in response.get_data(as_text=True)
    db.session.remove()
    assert db.session.get(StaffUser, admin_id).role == "admin"
