"""The edge: no open redirect, and no input (huge ids, far dates, NUL bytes) ends in a 500."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import AuditEvent, Patient
from conftest import PASSWORD, login

#: Known ways to smuggle another host past a "relative URL" check.
BYPASSES = [
    "http:evil.example",
    "https://evil.example/",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/%2F%2Fevil.example",
    "/%5Cevil.example",
    "%2F%2Fevil.example",
    "/\t/evil.example",
    "\t//evil.example",
    "/\n/evil.example",
    "javascript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
]


def _stays_on_site(response) -> bool:
    location = response.headers.get("Location", "")
    return (
        location.startswith("/")
        and not location.startswith("//")
        and "\\" not in location
        and "evil" not in location
        and "javascript" not in location.lower()
    )


@pytest.mark.parametrize("target", BYPASSES)
def test_login_never_sends_anyone_to_another_site(client, make, target):
    user = make.staff("counselor")
    response = client.post("/login", query_string={"next": target},
                           data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert _stays_on_site(response), response.headers["Location"]
    assert response.headers["Location"] == "/admin/"


def test_login_still_follows_a_path_on_this_site(client, make):
    user = make.staff("counselor")
    response = login(client, user.email, next_url="/admin/patients/")
    assert response.headers["Location"] == "/admin/patients/"


@pytest.fixture
def admin_with_patient(client, make):
    admin = make.staff("admin")
    patient = make.patient()
    login(client, admin.email)
    return patient.id


def _admin_doors(patient_id: int):
    return [
        ("get", f"/admin/patients/details/?id={patient_id}"),
        ("get", f"/admin/patients/edit/?id={patient_id}"),
        ("get", "/admin/patients/details/?id=2000000000"),  # missing: a kind 404 page, no redirect
        ("get", "/admin/patients/new/"),
        ("get", "/admin/patients/export/csv/"),
        ("get", "/admin/sessions/export/csv/"),
        ("post", "/admin/patients/delete/"),
        ("post", "/admin/patients/action/"),
    ]


@pytest.mark.parametrize("target", BYPASSES)
def test_no_admin_page_follows_a_url_argument_off_the_site(client, admin_with_patient, target):
    for method, url in _admin_doors(admin_with_patient):
        joiner = "&" if "?" in url else "?"
        full = f"{url}{joiner}url={quote(target, safe='')}"
        form = {"id": "2000000000", "action": "delete", "rowid": "2000000000"}
        response = getattr(client, method)(full, data=form if method == "post" else None)
        if response.status_code == 302:
            assert _stays_on_site(response), (url, target, response.headers["Location"])
        else:
            assert response.status_code in (200, 404), (url, response.status_code)
            page = response.get_data(as_text=True)
            assert "evil.example" not in page and "javascript:alert" not in page, (url, target)


def test_an_admin_url_argument_on_this_site_is_still_followed(client, admin_with_patient):
    response = client.post("/admin/patients/delete/", data={"id": "2000000000", "url": "/admin/patients/?page=1"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/patients/?page=1"


# No 500s --------------------------------------------------------------------------------

HOSTILE_VALUES = [
    "99999999999",
    "99999999999999999999",
    "9999-12-31",
    "0001-01-01",
    "99999-01-01",
    "abc\x00def",
    "2026-13-45",
]
ARGUMENTS = ["id", "session", "patient", "group", "track", "exercise", "assignment", "page",
             "week", "from", "to", "date", "on_date", "counselor", "q", "search", "page_size",
             "sort", "start", "end"]


def _get_routes(app):
    routes = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments - {"export_type"}:
            continue
        if rule.endpoint in ("static", "admin.static"):
            continue
        routes.append(rule.rule.replace("<export_type>", "csv"))
    return sorted(routes)


def test_no_get_route_answers_500_to_hostile_arguments(app, client, make):
    admin = make.staff("admin")
    make.patient()
    login(client, admin.email)
    failures = []
    for route in _get_routes(app):
        for name in ARGUMENTS:
            for value in HOSTILE_VALUES:
                response = client.get(route, query_string={name: value})
                if response.status_code >= 500:
                    failures.append((route, name, repr(value), response.status_code))
    assert failures == []


def test_a_huge_id_is_not_found_and_a_far_date_is_refused_with_a_message(client, make):
    admin = make.staff("admin")
    login(client, admin.email)
    assert client.get("/admin/record/", query_string={"session": "99999999999"}).status_code == 404
    assert client.get("/admin/patients/", query_string={"page": "99999999999999999999"}).status_code == 404
    # Too many digits for int() itself: judged by length, still a 404 / 400.
    assert client.get("/admin/record/", query_string={"session": "9" * 5000}).status_code == 404
    assert client.get("/admin/planner/", query_string={"week": "9" * 5000 + "-01-01"}).status_code == 400
    assert client.get("/admin/planner/", query_string={"week": "-2026-01-01"}).status_code == 400
    assert client.get("/admin/record/", query_string={"session": "0002147483647"}).status_code == 404  # fits: not found
    response = client.get("/admin/planner/", query_string={"week": "9999-12-31"})
    assert response.status_code == 400
    assert "Dates must lie between 1900 and 2200" in response.get_data(as_text=True)


def test_a_nul_byte_in_the_login_e_mail_is_a_form_error_and_an_audited_failure(client, make):
    user = make.staff("counselor")
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                               .where(AuditEvent.action == "failed_login"))
    response = client.post("/login", data={"email": user.email + "\x00", "password": PASSWORD})
    assert response.status_code == 400
    assert "cannot be stored (a NUL byte)" in response.get_data(as_text=True)
    assert "_user_id" not in (client.get_cookie("clinic_session").value if client.get_cookie("clinic_session") else "")
    assert client.get("/admin/").status_code == 302
    db.session.expire_all()
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "failed_login")).all()
    assert len(events) == before + 1
    assert events[-1].actor_email == user.email and "\x00" not in events[-1].actor_email


def test_a_list_search_with_a_nul_byte_is_refused_without_a_500(client, make):
    admin = make.staff("admin")
    make.patient(last_name="Searchable")
    login(client, admin.email)
    response = client.post("/admin/patients/search/", data={"search": "Sea\x00rch"})
    assert response.status_code == 400
    assert "NUL byte" in response.get_data(as_text=True)
    listing = client.get("/admin/patients/", query_string={"search": "Sea\x00rch"})
    assert listing.status_code == 400


def test_a_nul_byte_in_an_admin_form_is_refused_at_the_field_and_changes_nothing(client, make):
    from admin_helpers import read_form

    admin = make.staff("admin")
    patient = make.patient(first_name="Kept")
    login(client, admin.email)
    url = f"/admin/patients/edit/?id={patient.id}"
    values = read_form(client, url)
    values["first_name"] = "Bad\x00Name"
    response = client.post(url, data=values)
    assert response.status_code == 200
    assert "This field contains a character that cannot be stored (a NUL byte)." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).first_name == "Kept"


def test_a_nul_byte_in_another_form_is_refused_with_a_message_and_changes_nothing(client, make):
    admin = make.staff("admin")
    patient = make.patient(first_name="Kept")
    login(client, admin.email)
    response = client.post(f"/admin/programme/enrol/?patient={patient.id}", data={"note": "a\x00b"})
    assert response.status_code == 400
    assert "cannot be stored (a NUL byte). Nothing was saved." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).first_name == "Kept"


def test_a_series_starting_at_the_end_of_time_is_refused(client, make):
    admin = make.staff("admin")
    login(client, admin.email)
    response = client.post("/admin/series/", data={"start_date": "9999-12-31", "first_date": "9999-12-31"})
    assert response.status_code == 400


def test_a_record_save_with_out_of_range_values_gives_no_500_and_changes_nothing(client, make):
    from test_recording import _clinic, _form, _post

    from clinic.models import Attendance, ExerciseCheckin

    clinic = _clinic(make, 2)
    login(client, clinic.counselor.email)
    page = client.get(f"/admin/record/?session={clinic.session.id}").get_data(as_text=True)
    fields = _form(page)
    huge = [(name, "99999999999999" if value.isdigit() or name.split("-")[0] in
             ("minutes", "engagement", "mood_before", "mood_after") else value) for name, value in fields]
    for hostile in (huge, [(n, v + "\x00" if n.startswith("note") else v) for n, v in fields]):
        response = _post(client, clinic.session.id, hostile)
        assert response.status_code < 500
        db.session.expire_all()
        assert db.session.scalars(sa.select(Attendance)).all() == []
        assert db.session.scalars(sa.select(ExerciseCheckin)).all() == []


def test_no_list_filter_answers_500_to_a_value_it_cannot_hold(app, client, make):
    admin = make.staff("admin")
    make.patient()
    login(client, admin.email)
    failures = []
    for view in app.extensions["admin"][0]._views:
        filters = getattr(view, "_filters", None) or []
        for index, _ in enumerate(filters):
            for value in ("2000000000", "not-a-value", "9999-12-31", "2026-01-01 to 9999-12-31", "-1", "x\x00"):
                url = f"/admin/{view.endpoint}/"
                response = client.get(url, query_string={f"flt0_{index}": value})
                if response.status_code >= 500:
                    failures.append((view.endpoint, index, repr(value)))
    assert failures == []
