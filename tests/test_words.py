"""Staff read clinic words, not Flask-Admin's generic ones; row actions have names; delete is not beside view."""

from __future__ import annotations

import re

from clinic.extensions import db
from clinic.models import Patient
from conftest import login

GENERIC = (
    "Record was successfully", "Save and Add Another", "Save and Continue Editing", "Create New Record",
    "Record does not exist", "Delete Record", "Are you sure you want to delete", "With selected",
    "Select record", "Select all records", ">List<", ">Create<", " items",
)


def _patient_form(**changes):
    data = {"record_number": "MRN-300", "first_name": "Sam", "last_name": "Wordsworth", "preferred_name": "",
            "active": "y"}
    data.update(changes)
    return data


def _text(response) -> str:
    return " ".join(response.get_data(as_text=True).split())


def _no_generic_words(page: str, where: str) -> None:
    for words in GENERIC:
        assert words not in page, (where, words)


def test_the_patient_pages_speak_clinic_words(client, make):
    admin = make.staff("admin")
    patient = make.patient(last_name="Quietname")
    login(client, admin.email)

    listing = _text(client.get("/admin/patients/"))
    assert re.search(r'aria-current="page">All patients \(1\)</a>', listing)
    assert ">New patient</a>" in listing
    assert "With the ticked patients" in listing
    assert "20 per page" in listing
    _no_generic_words(listing, "list")

    new = _text(client.get("/admin/patients/new/"))
    assert '<h1 class="h4 mb-4">New patient</h1>' in new
    assert 'value="Save and add another patient"' in new and 'value="Save and keep editing"' in new
    assert ">All patients</a>" in new
    _no_generic_words(new, "new")

    edit = _text(client.get(f"/admin/patients/edit/?id={patient.id}"))
    assert "Edit this patient" in edit and ">View</a>" in edit
    _no_generic_words(edit, "edit")

    details = _text(client.get(f"/admin/patients/details/?id={patient.id}"))
    _no_generic_words(details, "details")


def test_saves_and_deletes_flash_clinic_words_without_patient_data(client, make, ctx):
    admin = make.staff("admin")
    login(client, admin.email)
    added = _text(client.post("/admin/patients/new/", data=_patient_form(), follow_redirects=True))
    assert "Patient added." in added
    _no_generic_words(added, "after adding")
    db.session.remove()
    patient = db.session.query(Patient).filter_by(record_number="MRN-300").one()
    saved = _text(client.post(f"/admin/patients/edit/?id={patient.id}",
                              data=_patient_form(last_name="Wordsmith", row_version="1"), follow_redirects=True))
    assert "Saved." in saved
    deleted = _text(client.post("/admin/patients/delete/", data={"id": patient.id, "url": "/admin/patients/"},
                                follow_redirects=True))
    assert "Patient deleted." in deleted
    for message in re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', deleted):
        assert "Wordsmith" not in message and "MRN-300" not in message
    db.session.remove()
    assert db.session.query(Patient).filter_by(record_number="MRN-300").count() == 0


def test_rows_name_their_actions_and_delete_is_on_the_edit_page(client, make):
    admin = make.staff("admin")
    patient = make.patient()
    login(client, admin.email)
    listing = client.get("/admin/patients/").get_data(as_text=True)
    row = re.search(r'<td class="list-buttons-column">(.*?)</td>', listing, flags=re.S).group(1)
    assert re.search(r'href="/admin/patients/details/\?id=\d+[^"]*">.*?View</a>', row, flags=re.S)
    assert re.search(r'href="/admin/patients/edit/\?id=\d+[^"]*">.*?Edit</a>', row, flags=re.S)
    assert "delete" not in row.lower(), "no delete button beside View"
    # Every row checkbox has a real label, not a title only.
    for box in re.findall(r'<input type="checkbox"[^>]*>', listing):
        assert re.search(r'aria-label="[^"]+"', box), box

    edit = client.get(f"/admin/patients/edit/?id={patient.id}").get_data(as_text=True)
    form = re.search(r'<form class="clinic-delete" method="POST" action="/admin/patients/delete/">(.*?)</form>',
                     edit, flags=re.S)
    assert form, "the edit page offers deleting"
    assert f'name="id" value="{patient.id}"' in form.group(1)
    assert 'data-confirm="Delete this patient? This cannot be undone."' in form.group(1)
    assert "Delete this patient" in form.group(1)
    # The extra icons of other lists (print, record) carry their titles as accessible names.
    sessions = client.get("/admin/sessions/").get_data(as_text=True)
    for link in re.findall(r'<a class="icon clinic-row-action"[^>]*>', sessions):
        assert re.search(r'aria-label="[^"]+"', link), link


def test_a_planner_sees_no_delete_on_the_patient_edit_page_they_cannot_open(client, make):
    planner = make.staff("planner")
    patient = make.patient()
    login(client, planner.email)
    listing = client.get("/admin/patients/").get_data(as_text=True)
    assert "/admin/patients/edit/" not in listing and "clinic-delete" not in listing
    assert client.get(f"/admin/patients/edit/?id={patient.id}").status_code in (302, 403)


def test_a_counselor_is_told_kindly_that_a_patient_is_not_on_the_caseload(client, make):
    counselor = make.staff("counselor")
    outsider = make.patient(last_name="Farawayname", record_number="MRN-FAR")
    login(client, counselor.email)
    response = client.get(f"/admin/patients/details/?id={outsider.id}")
    assert response.status_code == 404
    page = _text(response)
    assert "This patient is not on your caseload. Ask the programme manager if you need access." in page
    assert '<a href="/admin/patients/">Back to all patients</a>' in page
    assert "Farawayname" not in page and "MRN-FAR" not in page and "Record does not exist" not in page
    # Other records outside the caseload get the same kind words, naming the kind of record.
    enrolment_page = _text(client.get("/admin/enrolments/details/?id=2000000000"))
    assert "This enrolment is not on your caseload" in enrolment_page
    assert "Ask the programme manager if you need access." in enrolment_page


def test_an_admin_opening_a_removed_record_is_told_so_with_a_way_back(client, make):
    admin = make.staff("admin")
    login(client, admin.email)
    for url in ("/admin/patients/details/?id=2000000000", "/admin/patients/edit/?id=2000000000"):
        response = client.get(url)
        assert response.status_code == 404, url
        page = _text(response)
        assert "There is no such patient: it may have been removed." in page
        assert '<a href="/admin/patients/">Back to all patients</a>' in page


def test_a_counselor_typing_the_edit_url_of_a_patient_elsewhere_gets_the_same_kind_page(client, make):
    counselor = make.staff("counselor")
    outsider = make.patient(last_name="Farawayname")
    login(client, counselor.email)
    theirs = client.get(f"/admin/patients/edit/?id={outsider.id}")
    missing = client.get("/admin/patients/edit/?id=2000000000")
    assert theirs.status_code == missing.status_code == 404
    assert _text(theirs) == _text(missing)
    assert "This patient is not on your caseload." in _text(theirs)
