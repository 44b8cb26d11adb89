"""The role table of DESIGN.md, proven by request: by menu and by typed URL."""

from __future__ import annotations

import re
from datetime import date

import pytest

from clinic.services.access import PERMISSIONS
from conftest import login
from print_helpers import print_batch

ROLES = ("admin", "planner", "counselor")
#: Pages reached from another page (a patient's), never from the menu.
NOT_IN_MENU = {"programme", "record", "print", "connectedness", "plan"}


def _admin_urls(app) -> list[tuple[str, str]]:
    """Every (rule, endpoint) in the URL map, with sample values for parameters."""
    rules = []
    for rule in app.url_map.iter_rules():
        url = re.sub(r"<(?:[^:>]+:)?([^>]+)>", "1", rule.rule)
        rules.append((url, rule.endpoint, rule.methods))
    return rules


def test_an_anonymous_visitor_gets_no_page_anywhere_but_the_login(client, app):
    for url, endpoint, methods in _admin_urls(app):
        for method in ("GET", "POST"):
            if method not in methods:
                continue
            response = client.open(url, method=method)
            body = response.get_data(as_text=True)
            if endpoint in {"auth.login"}:
                continue
            if endpoint == "static" or endpoint.endswith(".static"):
                # Only the shipped CSS and scripts, never data.
                assert response.status_code in (200, 404), url
                continue
            assert response.status_code in (302, 401, 403, 404, 405), (method, url, response.status_code)
            if response.status_code == 302:
                location = response.headers["Location"]
                assert "/login" in location or location.endswith("/admin/"), (url, location)
            assert "Record no." not in body
            assert "<table" not in body


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_the_views_the_role_table_gives_it(client, make, role):
    user = make.staff(role)
    login(client, user.email)
    for endpoint, by_role in PERMISSIONS.items():
        response = client.get(f"/admin/{endpoint}/")
        if "r" in by_role.get(role, ""):
            if endpoint in NOT_IN_MENU:
                # Reached with a record id from another page; bare, it sends you back.
                assert response.status_code in (302, 400), (role, endpoint, response.status_code)
            else:
                assert response.status_code == 200, (role, endpoint)
        else:
            assert response.status_code == 403, (role, endpoint, response.status_code)


@pytest.mark.parametrize("role", ROLES)
def test_the_menu_offers_only_what_the_role_may_open(client, make, role):
    user = make.staff(role)
    login(client, user.email)
    home = client.get("/admin/").get_data(as_text=True)
    for endpoint, by_role in PERMISSIONS.items():
        link = f'href="/admin/{endpoint}/"'
        if "r" in by_role.get(role, "") and endpoint not in NOT_IN_MENU:
            assert link in home, (role, endpoint)
        else:
            assert link not in home, (role, endpoint)


@pytest.mark.parametrize("role,may_create", [("admin", True), ("planner", False), ("counselor", False)])
def test_only_an_admin_can_register_a_patient(client, make, ctx, role, may_create):
    from clinic.extensions import db
    from clinic.models import Patient

    user = make.staff(role)
    login(client, user.email)
    form = client.get("/admin/patients/new/")
    assert (form.status_code == 200) == may_create
    client.post("/admin/patients/new/", data={
        "record_number": "NEW-1", "first_name": "Ari", "last_name": "Newcomer", "active": "y",
    })
    db.session.remove()
    created = db.session.query(Patient).filter_by(record_number="NEW-1").count()
    assert created == (1 if may_create else 0)


def test_a_counselor_sees_only_the_patients_on_their_caseload(client, make):
    counselor = make.staff("counselor")
    other = make.staff("counselor")
    track = make.track("iop")
    mine = make.patient(last_name="Caseloadperson")
    theirs = make.patient(last_name="Otherperson")
    in_my_group = make.patient(last_name="Groupmember")
    make.enrolment(mine, track, counselor)
    make.enrolment(theirs, track, other)
    make.enrolment(in_my_group, track, other)
    group = make.group(track, facilitator=counselor)
    make.membership(group, in_my_group, start=date(2020, 1, 1))
    login(client, counselor.email)

    listing = client.get("/admin/patients/").get_data(as_text=True)
    assert "Caseloadperson" in listing
    assert "Groupmember" in listing
    assert "Otherperson" not in listing

    # Typed URLs load through the same scope: details and edit of someone else's patient.
    details = client.get(f"/admin/patients/details/?id={theirs.id}", follow_redirects=True)
    assert "Otherperson" not in details.get_data(as_text=True)
    mine_details = client.get(f"/admin/patients/details/?id={mine.id}")
    assert "Caseloadperson" in mine_details.get_data(as_text=True)
    enrolments = client.get("/admin/enrolments/").get_data(as_text=True)
    assert "Otherperson" not in enrolments


def test_a_counselor_cannot_edit_or_delete_patients_by_typed_url(client, make, ctx):
    from clinic.extensions import db
    from clinic.models import Patient

    counselor = make.staff("counselor")
    track = make.track("iop")
    mine = make.patient(last_name="Unchanged")
    make.enrolment(mine, track, counselor)
    login(client, counselor.email)
    client.post(f"/admin/patients/edit/?id={mine.id}", data={
        "record_number": mine.record_number, "first_name": "X", "last_name": "Changed",
    })
    client.post("/admin/patients/delete/", data={"id": mine.id})
    db.session.remove()
    patient = db.session.get(Patient, mine.id)
    assert patient is not None and patient.last_name == "Unchanged"


def test_the_audit_log_is_read_only_even_for_an_admin(client, make, ctx):
    from clinic.extensions import db
    from clinic.models import AuditEvent

    admin = make.staff("admin")
    login(client, admin.email)
    assert client.get("/admin/audit/").status_code == 200
    event = db.session.query(AuditEvent).filter_by(action="login").first()
    assert client.get("/admin/audit/new/").status_code == 302
    assert client.get(f"/admin/audit/edit/?id={event.id}").status_code == 302
    client.post("/admin/audit/delete/", data={"id": event.id})
    db.session.remove()
    assert db.session.get(AuditEvent, event.id) is not None
    listing = client.get("/admin/audit/").get_data(as_text=True)
    assert "/admin/audit/new/" not in listing
    assert "/admin/audit/delete/" not in listing


@pytest.mark.parametrize("role", ROLES)
def test_attendance_is_recorded_on_the_record_page_never_through_the_attendance_list(client, make, ctx, role):
    from datetime import datetime

    from clinic.extensions import db
    from clinic.models import Attendance, GroupSession

    user = make.staff(role)
    track = make.track("iop")
    patient = make.patient()
    make.enrolment(patient, track, user if role == "counselor" else None)
    group = make.group(track, facilitator=user)
    mine = GroupSession(group_id=group.id, starts_at=datetime(2026, 3, 2, 10), duration_minutes=60,
                        facilitator_id=user.id, status="held")
    db.session.add(mine)
    db.session.commit()
    login(client, user.email)
    assert client.get("/admin/attendance/new/").status_code == 302
    client.post("/admin/attendance/new/", data={
        "session": mine.id, "patient": patient.id, "status": "present",
        "minutes_attended": 60, "engagement": 4, "note": "",
    })
    db.session.remove()
    assert db.session.query(Attendance).count() == 0
    assert "/admin/attendance/new/" not in client.get("/admin/attendance/").get_data(as_text=True)


def test_a_counselor_reads_their_sessions_here_and_changes_none(client, make, ctx):
    from datetime import datetime

    from clinic.extensions import db
    from clinic.models import GroupSession

    counselor = make.staff("counselor")
    other = make.staff("counselor")
    track = make.track("iop")
    group = make.group(track, facilitator=counselor)
    mine = GroupSession(group_id=group.id, starts_at=datetime(2026, 3, 2, 10), duration_minutes=60,
                        facilitator_id=counselor.id, room="Room 1")
    theirs = GroupSession(group_id=group.id, starts_at=datetime(2026, 3, 3, 10), duration_minutes=60,
                          facilitator_id=other.id, room="Room 1")
    db.session.add_all([mine, theirs])
    db.session.commit()
    mine_id, theirs_id = mine.id, theirs.id
    login(client, counselor.email)

    assert client.get(f"/admin/sessions/details/?id={mine_id}").status_code == 200
    assert client.get(f"/admin/sessions/edit/?id={mine_id}").status_code == 302
    for session_id in (mine_id, theirs_id):
        client.post(f"/admin/sessions/edit/?id={session_id}", data={
            "status": "cancelled", "cancel_reason": "Mine", "group_note": "Typed here", "row_version": "1",
        })
    db.session.remove()
    for session_id in (mine_id, theirs_id):
        session = db.session.get(GroupSession, session_id)
        assert (session.status, session.group_note, session.version) == ("planned", "", 1)


def test_planners_find_assign_links_on_groups_and_tracks_and_counselors_do_not(client, make, ctx):
    track = make.track("iop")
    group = make.group(track)
    planner = make.staff("planner")
    counselor = make.staff("counselor")
    login(client, planner.email)
    assert f"/admin/assign/?group={group.id}" in client.get("/admin/groups/").get_data(as_text=True)
    assert f"/admin/assign/?track={track.id}" in client.get("/admin/tracks/").get_data(as_text=True)
    client.post("/logout")
    login(client, counselor.email)
    assert "/admin/assign/" not in client.get("/admin/groups/").get_data(as_text=True)


def test_a_planner_sends_selected_patients_to_the_assign_page_with_ids_only(client, make, ctx):
    planner = make.staff("planner")
    first, second = make.patient(last_name="Alpha"), make.patient(last_name="Beta")
    ids = [first.id, second.id]
    login(client, planner.email)
    listing = client.get("/admin/patients/").get_data(as_text=True)
    assert "Assign an exercise" in listing
    response = client.post("/admin/patients/action/", data={"action": "assign", "rowid": ids})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "/admin/assign/" in location and f"patients={ids[0]}" in location and f"patients={ids[1]}" in location
    assert "Alpha" not in location and "Beta" not in location
    page = client.get(location).get_data(as_text=True)
    assert "Alpha" in page and "Beta" in page


def test_record_pages_offer_their_print_buttons(client, make, ctx):
    from datetime import datetime

    from clinic.extensions import db
    from clinic.models import GroupSession, KindnessExercise

    planner = make.staff("planner")
    track = make.track("iop")
    group = make.group(track)
    exercise = KindnessExercise(title="Keep a gratitude list", direction="self", energy="low", tracks=[track])
    session = GroupSession(group_id=group.id, starts_at=datetime(2026, 3, 2, 17), duration_minutes=60)
    db.session.add_all([exercise, session])
    db.session.commit()
    login(client, planner.email)
    exercise_page = client.get(f"/admin/exercises/details/?id={exercise.id}").get_data(as_text=True)
    assert f"/admin/print/handout/?exercise={exercise.id}" in exercise_page
    session_page = client.get(f"/admin/sessions/details/?id={session.id}").get_data(as_text=True)
    assert f"/admin/print/packet/?session={session.id}" in session_page
    assert f"/admin/record/?session={session.id}" in session_page
    group_page = client.get(f"/admin/groups/details/?id={group.id}").get_data(as_text=True)
    assert f"/admin/print/progress/batch/?group={group.id}" in group_page


def test_selected_patients_go_to_a_progress_batch_by_id_and_a_counselor_prints_only_their_own(client, make, ctx):
    counselor = make.staff("counselor")
    track = make.track("iop")
    mine, other = make.patient(last_name="Mineperson"), make.patient(last_name="Otherperson")
    make.enrolment(mine, track, counselor)
    ids = [mine.id, other.id]
    login(client, counselor.email)
    response = client.post("/admin/patients/action/", data={"action": "print_progress", "rowid": [mine.id]})
    location = response.headers["Location"]
    assert "/admin/print/progress/batch/" in location and f"patients={mine.id}" in location
    assert "Mineperson" not in location
    form = client.get(location).get_data(as_text=True)
    assert "Selected patients" in form
    query = "&".join(f"patients={i}" for i in ids)
    pdf = print_batch(client, f"/admin/print/progress/batch/?{query}", {
        "from": "2026-01-01", "to": "2026-01-31", "version": "patient",
    })
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    from io import BytesIO

    from pypdf import PdfReader

    text = " ".join(page.extract_text() for page in PdfReader(BytesIO(pdf.data)).pages)
    assert "Robin" in text  # the factory's first names; only the caseload patient's sheet
    assert text.count("Your progress") == 1
    only_other = client.post(f"/admin/print/progress/batch/?patients={other.id}", data={
        "from": "2026-01-01", "to": "2026-01-31", "version": "patient",
    })
    assert only_other.status_code == 404
