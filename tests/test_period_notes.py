"""The counselor's summary and next steps are kept with the period: saved when the sheet is
printed, shown on the patient page, offered again for the same period, never overwritten
unseen, audited, and only for the counselor's own caseload."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import AuditEvent, PeriodNote
from clinic.services import period_notes
from clinic.services.errors import RuleViolation
from clinic.services.limits import FieldViolation
from clinic.services.locking import StaleEdit
from conftest import login
from test_pdf_handouts import exports
from test_pdf_progress import END, START, clinic  # noqa: F401 (fixture)
from test_pdf_render import contains, page_texts

PERIOD = {"from": "2026-03-01", "to": "2026-03-31"}
SUMMARY = "Ash came to most sessions.\nSleep still poor."
NEXT = "Keep the note exercise; review sleep."


def form_url(patient_id, **period) -> str:
    period = period or PERIOD
    return f"/admin/print/progress/?patient={patient_id}&from={period['from']}&to={period['to']}"


def opened(client, patient_id, **period) -> dict:
    """The print form as the page shows it: its hidden fields and the typed text it holds."""
    page = client.get(form_url(patient_id, **period))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    fields = {}
    for name in ("note_version", "note_period"):
        match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', text) or re.search(
            rf'value="([^"]*)"[^>]*name="{name}"', text)
        fields[name] = html.unescape(match.group(1)) if match else None
    for name in ("summary", "next_steps"):
        match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', text, re.S)
        fields[name] = html.unescape(match.group(1)).lstrip("\r\n") if match else None
    return fields


def post(client, patient_id, fields: dict, **changes):
    data = {**PERIOD, "version": "staff", **fields, **changes}
    return client.post(f"/admin/print/progress/?patient={patient_id}", data=data)


def notes():
    db.session.remove()
    return list(db.session.scalars(sa.select(PeriodNote).order_by(PeriodNote.id)))


def events(entity="period_note"):
    db.session.remove()
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == entity).order_by(AuditEvent.id)))


def test_the_summary_is_saved_with_the_period_and_author_and_offered_again(clinic, client):  # noqa: F811
    ash_id, counselor_id = clinic.ash.id, clinic.counselor.id
    login(client, clinic.counselor.email)
    form = opened(client, ash_id)
    assert form["note_version"] == "new" and form["summary"] == ""
    response = post(client, ash_id, form, summary=SUMMARY, next_steps=NEXT)
    assert response.mimetype == "application/pdf"
    assert response.headers["X-Note-Version"] == "1"
    assert contains("\n".join(page_texts(response.data)), "Sleep still poor.")
    (note,) = notes()
    assert (note.patient_id, note.period_from, note.period_to, note.author_id) == (ash_id, START, END, counselor_id)
    assert (note.summary, note.next_steps, note.version) == (SUMMARY, NEXT, 1)
    # Opening the same period again pre-fills the saved text and its version; another period does not.
    again = opened(client, ash_id)
    assert (again["summary"], again["next_steps"], again["note_version"]) == (SUMMARY, NEXT, "1")
    assert again["note_period"] == "2026-03-01:2026-03-31"
    other = opened(client, ash_id, **{"from": "2026-03-01", "to": "2026-03-30"})
    assert (other["summary"], other["note_version"]) == ("", "new")
    # Printing it again as it is writes nothing new; changing it updates the same row.
    assert post(client, ash_id, again, version="patient").mimetype == "application/pdf"
    assert [n.version for n in notes()] == [1]
    changed = post(client, ash_id, again, next_steps="Review sleep in April.")
    assert changed.headers["X-Note-Version"] == "2"
    (note,) = notes()
    assert (note.summary, note.next_steps, note.version) == (SUMMARY, "Review sleep in April.", 2)


def test_the_patient_page_shows_the_latest_summaries_with_period_author_and_date(clinic, client, make, app):  # noqa: F811
    ash_id = clinic.ash.id
    planner = make.staff("planner", full_name="Pat Planner")
    counselor = app.test_client()
    login(counselor, clinic.counselor.email)
    post(counselor, ash_id, opened(counselor, ash_id), summary="March went well.", next_steps=NEXT)
    login(client, planner.email)
    april = {"from": "2026-04-01", "to": "2026-04-30"}
    post(client, ash_id, opened(client, ash_id, **april), **april, summary="April <b>steady</b>.")
    page = client.get(f"/admin/patients/details/?id={ash_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    section = text[text.index("Counselor's summaries and next steps"):]
    assert section.index("2026-04-01 to 2026-04-30") < section.index("2026-03-01 to 2026-03-31")
    assert "Written by Pat Planner" in section and "Written by Wren Counselor" in section
    assert "March went well." in section and NEXT in section
    assert "April &lt;b&gt;steady&lt;/b&gt;." in section and "<b>steady" not in section
    views = [e for e in events("patient") if e.action == "view" and e.actor_id == planner.id]
    assert views and views[-1].changes["patients"] == [ash_id]
    # Only the latest few.
    ash = db.session.get(type(clinic.ash), ash_id)
    for day in range(1, 5):
        period_notes.save_note(None, ash, START, START.replace(day=day + 1), f"Note {day}", "")
    db.session.commit()
    assert len(period_notes.latest_notes(ash_id)) == period_notes.NOTES_SHOWN


def test_a_stale_form_is_refused_with_the_typed_text_kept_and_nothing_printed(clinic, client, make):  # noqa: F811
    ash_id = clinic.ash.id
    planner = make.staff("planner", full_name="Pat Planner")
    login(client, planner.email)
    mine, theirs = opened(client, ash_id), opened(client, ash_id)  # two tabs, or two people
    assert post(client, ash_id, theirs, summary="Their summary.").mimetype == "application/pdf"
    printed = len(exports())
    refused = post(client, ash_id, mine, summary="My summary, typed at length.", next_steps="My steps.")
    assert refused.status_code == 409 and refused.mimetype == "text/html"
    text = refused.get_data(as_text=True)
    assert "Someone else saved a summary for this period" in text
    assert "My summary, typed at length." in text and "My steps." in text  # kept in the form
    assert "Their summary." in text  # the saved text shown to compare
    assert len(exports()) == printed
    (note,) = notes()
    assert (note.summary, note.version) == ("Their summary.", 1)
    # A blank or missing version is refused like a stale one when there is a note.
    assert post(client, ash_id, {}, note_version="", summary="Blank.").status_code == 409
    assert post(client, ash_id, {}, summary="Missing.").status_code == 409
    # Changing the dates to a period already written meets that period's note, not the form's.
    other = opened(client, ash_id, **{"from": "2026-03-01", "to": "2026-03-30"})
    moved = post(client, ash_id, other, summary="Moved.")
    assert moved.status_code == 409 and "already saved" in moved.get_data(as_text=True)
    assert [n.summary for n in notes()] == ["Their summary."]
    # Having compared, printing again from the refused page replaces the text.
    kept = re.search(r'name="note_version"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="note_version"', text)
    version = kept.group(1) or kept.group(2)
    assert version == "1"
    replaced = post(client, ash_id, {"note_version": version, "note_period": "2026-03-01:2026-03-31"},
                    summary="My summary, typed at length.")
    assert replaced.mimetype == "application/pdf"
    assert [(n.summary, n.version) for n in notes()] == [("My summary, typed at length.", 2)]


def test_every_save_is_audited_with_the_old_and_new_text_in_the_export_transaction(clinic, client):  # noqa: F811
    ash_id = clinic.ash.id
    login(client, clinic.counselor.email)
    post(client, ash_id, opened(client, ash_id), summary="First.", next_steps="Step.")
    post(client, ash_id, opened(client, ash_id), summary="Second.", next_steps="Step.")
    created, updated = events()
    assert created.action == "create" and created.actor_id == clinic.counselor.id
    assert created.changes["summary"] == [None, "First."] and created.changes["patient_id"] == [None, ash_id]
    assert updated.action == "update" and updated.changes["summary"] == ["First.", "Second."]
    assert "next_steps" not in updated.changes
    assert len(exports()) == 2


def test_too_long_text_is_refused_at_the_field_with_nothing_saved_or_printed(clinic, client):  # noqa: F811
    ash_id = clinic.ash.id
    login(client, clinic.counselor.email)
    long_text = "x" * (period_notes.TEXT_LIMIT + 1)
    refused = post(client, ash_id, opened(client, ash_id), summary=long_text)
    assert refused.mimetype == "text/html"
    assert long_text in refused.get_data(as_text=True)
    assert notes() == [] and exports() == []
    with pytest.raises(FieldViolation) as caught:
        period_notes.save_note(None, clinic.ash, START, END, "", long_text)
    assert caught.value.field == "next_steps"


def test_a_counselor_cannot_write_a_summary_for_another_caseload(clinic, client, make):  # noqa: F811
    other_counselor = make.staff("counselor", full_name="Other Counselor")
    stranger = make.patient(first_name="Stranger", last_name="Elsewhere")
    bea_id, stranger_id = clinic.bea.id, stranger.id  # Bea's primary counselor is nobody
    login(client, other_counselor.email)
    for patient_id in (clinic.ash.id, bea_id, stranger_id):
        assert client.get(form_url(patient_id)).status_code == 404
        refused = post(client, patient_id, {"note_version": "new"}, summary="Hand-made.")
        assert refused.status_code == 404
    assert notes() == [] and exports() == [] and events() == []
    # The service refuses it too, whatever door calls it.
    with pytest.raises(RuleViolation, match="caseload"):
        period_notes.save_note(other_counselor, clinic.ash, START, END, "Through the service.", "", "new")
    db.session.rollback()
    assert notes() == []


def test_the_service_refuses_a_stale_version_and_a_reversed_period(clinic):  # noqa: F811
    note = period_notes.save_note(clinic.counselor, clinic.ash, START, END, "One.", "", "new")
    db.session.commit()
    with pytest.raises(StaleEdit):
        period_notes.save_note(clinic.counselor, clinic.ash, START, END, "Two.", "", "new")
    db.session.rollback()
    with pytest.raises(StaleEdit):
        period_notes.save_note(clinic.counselor, clinic.ash, START, END, "Two.", "", str(note.version + 1))
    db.session.rollback()
    with pytest.raises(RuleViolation):
        period_notes.save_note(clinic.counselor, clinic.ash, END, START, "Two.", "", "new")
    db.session.rollback()
    assert [n.summary for n in notes()] == ["One."]


def test_a_batch_and_the_cli_print_the_saved_text_of_exactly_that_period(clinic, app, tmp_path):  # noqa: F811
    from clinic.pdf import progress_batch
    from clinic.pdf.cli import print_cli

    period_notes.save_note(clinic.counselor, clinic.ash, START, END, "Saved for March.", "Saved steps.", "new")
    db.session.commit()
    text = "\n".join(page_texts(progress_batch([clinic.ash, clinic.bea], START, END, "staff")))
    assert contains(text, "Saved for March.") and contains(text, "Saved steps.")
    other = "\n".join(page_texts(progress_batch([clinic.ash], START, END.replace(day=30), "staff")))
    assert not contains(other, "Saved for March.")
    patient_copy = "\n".join(page_texts(progress_batch([clinic.ash], START, END, "patient")))
    assert not contains(patient_copy, "Saved for March.")
    output = tmp_path / "ash.pdf"
    result = app.test_cli_runner().invoke(print_cli, [
        "progress", "--patient", str(clinic.ash.id), "--from", "2026-03-01", "--to", "2026-03-31",
        "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert contains("\n".join(page_texts(output.read_bytes())), "Saved for March.")
