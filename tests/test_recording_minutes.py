"""Late and left early are typed as minutes late or early; the minutes attended follow from them.

The service is the authority (``attended_from_missed``); the page asks the figure the status
calls for, keeps its meaning when it was typed without JavaScript, and shows a saved late
entry as minutes late again. Corrections speak the same language.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Attendance, AttendanceAddendum, GroupSession
from clinic.services import recording
from conftest import login
from test_recording import _clinic, _count, _entries, _form, _post, _save, _with


def _rows() -> dict:
    db.session.remove()
    return {a.patient_id: (a.status, a.minutes_attended) for a in db.session.scalars(sa.select(Attendance))}


def _page(client, session_id: int) -> str:
    return client.get(f"/admin/record/?session={session_id}").get_data(as_text=True)


# The rule, in the service --------------------------------------------------------------
def test_minutes_late_or_left_early_are_stored_as_the_minutes_attended(make):
    clinic = _clinic(make, 4)
    p0, p1, p2, p3 = (p.id for p in clinic.patients)
    result = _save(clinic, _entries(clinic, p0={"status": "late", "missed": "15"},
                                    p1={"status": "left_early", "missed": "20"},
                                    p2={"status": "absent", "missed": ""},
                                    p3={"status": "present", "missed": ""}))
    assert result.saved, result.errors
    assert _rows() == {p0: ("late", 45), p1: ("left_early", 40), p2: ("absent", 0), p3: ("present", 60)}


@pytest.mark.parametrize("typed", ["0", "60", "75", "-5", "soon", ""])
def test_minutes_late_outside_the_session_are_refused_at_the_field_and_nothing_is_saved(make, typed):
    clinic = _clinic(make, 2)
    p0 = clinic.patients[0].id
    result = _save(clinic, _entries(clinic, p0={"status": "late", "missed": typed}))
    message = result.errors[f"minutes-{p0}"]
    if typed == "soon":
        assert message == "The minutes late are a whole number."
    else:
        assert message == "Give the minutes late as a whole number from 1 to 59 (the session is 60 minutes)."
    assert set(result.errors) == {f"minutes-{p0}"}
    assert _count(Attendance) == 0


def test_left_early_is_worded_as_left_early_and_absent_with_minutes_missed_is_refused(make):
    clinic = _clinic(make, 2)
    p0, p1 = (p.id for p in clinic.patients)
    result = _save(clinic, _entries(clinic, p0={"status": "left_early", "missed": "90"},
                                    p1={"status": "absent", "missed": "15"}))
    assert result.errors == {
        f"minutes-{p0}": "Give the minutes left early as a whole number from 1 to 59 (the session is 60 minutes).",
        f"minutes-{p1}": "Someone absent missed the whole session: clear the minutes late or left early.",
    }
    assert _count(Attendance) == 0


# The page ---------------------------------------------------------------------------
def test_the_page_asks_minutes_late_and_stores_length_less_them_and_shows_them_again(client, make):
    clinic = _clinic(make, 3)
    p0, p1, p2 = (p.id for p in clinic.patients)
    login(client, clinic.counselor.email)
    fields = _form(_page(client, clinic.session.id))
    # As the page's script leaves it: late and left early send "missed-<id>", not the minutes attended.
    fields = [(name.replace(f"minutes-{p0}", f"missed-{p0}").replace(f"minutes-{p1}", f"missed-{p1}")
               if not name.startswith("was-") else name, value) for name, value in fields]
    fields = _with(fields, **{f"status__{p0}": "late", f"missed__{p0}": "15",
                              f"status__{p1}": "left_early", f"missed__{p1}": "10",
                              f"status__{p2}": "absent", f"minutes__{p2}": "0"})
    response = _post(client, clinic.session.id, fields)
    assert response.status_code == 302
    assert _rows() == {p0: ("late", 45), p1: ("left_early", 50), p2: ("absent", 0)}

    # Reopened: the late and early figures are shown as typed, labelled by the status.
    html = _page(client, clinic.session.id)
    kept = dict(_form(html))
    assert kept[f"missed-{p0}"] == "15" and f"minutes-{p0}" not in kept
    assert kept[f"missed-{p1}"] == "10"
    assert kept[f"minutes-{p2}"] == "0" and f"missed-{p2}" not in kept
    assert re.search(rf'id="minutes-label-{p0}">Minutes late<', html)
    assert re.search(rf'id="minutes-label-{p1}">Minutes left early<', html)
    assert re.search(rf'id="minutes-label-{p2}">Minutes attended<', html)
    assert f'id="attended-{p0}" aria-live="polite">45 of 60 minutes attended<' in html
    # Every minutes field has a label naming the person, read by screen readers.
    assert f'<label class="record-minutes-label" for="minutes-{p0}">' in html

    # Saving the reopened page unchanged changes nothing.
    assert _post(client, clinic.session.id, list(_form(html))).status_code == 302
    assert _rows() == {p0: ("late", 45), p1: ("left_early", 50), p2: ("absent", 0)}


def test_without_javascript_the_figure_keeps_the_meaning_its_label_gave_it(client, make):
    clinic = _clinic(make, 2)
    p0, p1 = (p.id for p in clinic.patients)
    login(client, clinic.counselor.email)
    # The label said "Minutes attended" (status present when the page was drawn): 45 attended.
    fields = _with(_form(_page(client, clinic.session.id)), **{f"status__{p0}": "late", f"minutes__{p0}": "45"})
    assert _post(client, clinic.session.id, fields).status_code == 302
    assert _rows()[p0] == ("late", 45)
    # Now the label says "Minutes late" (15): typing 20 means 20 late.
    fields = _with(_form(_page(client, clinic.session.id)), **{f"missed__{p0}": "20"})
    assert _post(client, clinic.session.id, fields).status_code == 302
    assert _rows()[p0] == ("late", 40)


def test_bad_minutes_late_are_shown_at_the_field_with_the_input_kept(client, make):
    clinic = _clinic(make, 2)
    p0, p1 = (p.id for p in clinic.patients)
    login(client, clinic.counselor.email)
    fields = [(name.replace(f"minutes-{p0}", f"missed-{p0}") if not name.startswith("was-") else name, value)
              for name, value in _form(_page(client, clinic.session.id))]
    fields = _with(fields, **{f"status__{p0}": "late", f"missed__{p0}": "75", f"note__{p1}": "Kept"})
    response = _post(client, clinic.session.id, fields)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'id="error-minutes-{p0}">Give the minutes late as a whole number from 1 to 59' in html
    kept = dict(_form(html))
    assert kept[f"missed-{p0}"] == "75" and kept[f"status-{p0}"] == "late" and kept[f"note-{p1}"] == "Kept"
    assert re.search(rf'id="minutes-label-{p0}">Minutes late<', html)
    assert _count(Attendance) == 0


def test_a_stale_page_keeps_the_minutes_late_typed_and_their_meaning(client, make, app):
    clinic = _clinic(make, 2)
    p0, p1 = (p.id for p in clinic.patients)
    login(client, clinic.counselor.email)
    old_page = _form(_page(client, clinic.session.id))
    colleague = app.test_client()
    login(colleague, make.staff("planner").email)
    theirs = _form(_page(colleague, clinic.session.id))
    assert _post(colleague, clinic.session.id, _with(theirs, group_note="Theirs")).status_code == 302
    mine = [(name.replace(f"minutes-{p0}", f"missed-{p0}") if not name.startswith("was-") else name, value)
            for name, value in old_page]
    response = _post(client, clinic.session.id, _with(mine, **{f"status__{p0}": "late", f"missed__{p0}": "15"}))
    html = response.get_data(as_text=True)
    assert 'id="record-stale"' in html
    kept = dict(_form(html))
    assert kept[f"status-{p0}"] == "late" and kept[f"missed-{p0}"] == "15"
    assert re.search(rf'id="minutes-label-{p0}">Minutes late<', html)
    assert _rows()[p0] == ("present", 60)
    assert _post(client, clinic.session.id, kept.items()).status_code == 302
    assert _rows()[p0] == ("late", 45)


def test_after_a_save_the_page_returns_to_the_row_last_touched(client, make):
    clinic = _clinic(make, 3)
    p2 = clinic.patients[2].id
    login(client, clinic.counselor.email)
    fields = _with(_form(_page(client, clinic.session.id)), return_to=f"row-{p2}")
    response = _post(client, clinic.session.id, fields)
    assert response.headers["Location"].endswith(f"?session={clinic.session.id}#row-{p2}")
    # Anything but a row of the page is ignored: no other fragment, nothing typed, in the address.
    for odd in ("javascript:alert(1)", "row-1#x", "group-note", "row-"):
        fields = _with(_form(_page(client, clinic.session.id)), return_to=odd)
        assert _post(client, clinic.session.id, fields).headers["Location"].endswith(
            f"?session={clinic.session.id}")


def test_the_save_and_sign_buttons_sit_in_the_action_bar_with_the_result(client, make):
    clinic = _clinic(make, 2)
    login(client, clinic.counselor.email)
    assert _post(client, clinic.session.id, _form(_page(client, clinic.session.id))).status_code == 302
    html = _page(client, clinic.session.id)
    start = html.index('id="record-actions"')
    bar = html[start:html.index("</form>", start)]
    assert 'id="record-saved"' in bar and 'id="record-save"' in bar and 'id="record-sign"' in bar
    assert html.count('id="record-saved"') == 1
    assert 'href="/static/css/record.css"' in html or "css/record.css" in html


# Corrections ---------------------------------------------------------------------------
def test_a_correction_asks_minutes_late_and_stores_the_minutes_attended(client, make):
    clinic = _clinic(make, 2)
    p0, p1 = (p.id for p in clinic.patients)
    session = db.session.get(GroupSession, clinic.session.id)
    _save(clinic, _entries(clinic, p0={"status": "late", "missed": "15"}))
    recording.sign_record(db.session.get(GroupSession, clinic.session.id), clinic.counselor)
    login(client, clinic.counselor.email)
    url = f"/admin/record/correct/?session={session.id}&patient={p0}"
    html = client.get(url).get_data(as_text=True)
    form = dict(_form(html, "correct-form"))
    assert form["missed"] == "15" and "minutes" not in form
    assert 'id="minutes-label">Minutes late<' in html
    refused = client.post(url, data={**form, "missed": "60", "reason": "Sign-in sheet"}).get_data(as_text=True)
    assert 'id="error-minutes">Give the minutes late as a whole number from 1 to 59' in refused
    assert dict(_form(refused, "correct-form"))["missed"] == "60"
    done = client.post(url, data={**form, "missed": "25", "reason": "Sign-in sheet says 25 minutes late"})
    assert done.status_code == 302
    assert _rows()[p0] == ("late", 35)
    addendum = db.session.scalars(sa.select(AttendanceAddendum)).one()
    assert addendum.changes == {"minutes_attended": [45, 35]}
    # Without the page's script, a correction to "late" from "present" still speaks minutes attended.
    url = f"/admin/record/correct/?session={session.id}&patient={p1}"
    form = dict(_form(client.get(url).get_data(as_text=True), "correct-form"))
    assert "missed" not in form and form["minutes"] == "60"
    assert client.post(url, data={**form, "status": "left_early", "minutes": "50",
                                  "reason": "Left for an appointment"}).status_code == 302
    assert _rows()[p1] == ("left_early", 50)


def test_the_service_corrects_by_minutes_missed_too(make):
    clinic = _clinic(make, 2)
    p0 = clinic.patients[0].id
    _save(clinic, _entries(clinic))
    session = db.session.get(GroupSession, clinic.session.id)
    recording.sign_record(session, clinic.counselor)
    result = recording.correct_entry(session, p0, {"status": "left_early", "missed": "5"}, "Left at the end",
                                     clinic.counselor)
    assert not result.errors
    assert _rows()[p0] == ("left_early", 55)
