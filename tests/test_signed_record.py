"""A signed record is final, recording follows the clock, and signing keeps what was typed."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Assignment, Attendance, AttendanceAddendum, ExerciseCheckin, GroupSession
from clinic.services import recording
from clinic.services.checkins import CheckinInput, record_checkin
from clinic.services.errors import RuleViolation
from conftest import login
from test_lost_update import _client, _page, _state, _two_records
from test_recording import TODAY, _clinic, _entries, _form, _post, _with


def _sign(client, session_id: int, fields):
    return client.post(f"/admin/record/sign/?session={session_id}", data=_multidict(fields))


def _multidict(fields):
    from werkzeug.datastructures import MultiDict

    return MultiDict(fields)


# The clock ----------------------------------------------------------------------------
def test_a_session_cannot_be_saved_as_held_or_signed_before_it_starts(make):
    clinic = _clinic(make, 2)
    session = db.session.get(GroupSession, clinic.session.id)
    session.starts_at = datetime.combine(TODAY, time(13))
    db.session.commit()
    early = datetime.combine(TODAY, time(9, 29))
    entries = _entries(clinic)
    before = _state(clinic.session.id)
    session = db.session.get(GroupSession, clinic.session.id)

    with pytest.raises(RuleViolation, match="once it has started"):
        recording.save_record(session, entries, "", expected_version=session.version,
                              actor=session.facilitator, now=early)
    with pytest.raises(RuleViolation, match="once it has started"):
        recording.save_record(session, entries, "", expected_version=session.version,
                              actor=session.facilitator, now=early, sign=True)
    assert _state(clinic.session.id) == before
    # In progress (13:05 of a 60-minute session): allowed, and so is signing.
    session = db.session.get(GroupSession, clinic.session.id)
    result = recording.save_record(session, entries, "", expected_version=session.version,
                                   actor=session.facilitator, now=datetime.combine(TODAY, time(13, 5)), sign=True)
    assert result.saved
    db.session.remove()
    saved = db.session.get(GroupSession, clinic.session.id)
    assert saved.status == "held" and saved.signed_at is not None


def test_signing_a_saved_record_before_its_start_is_refused(make):
    clinic = _clinic(make, 1)
    session = db.session.get(GroupSession, clinic.session.id)
    recording.save_record(session, _entries(clinic), "", expected_version=session.version, actor=clinic.counselor)
    session = db.session.get(GroupSession, clinic.session.id)
    with pytest.raises(RuleViolation, match="once it has started"):
        recording.sign_record(session, clinic.counselor, now=session.starts_at - timedelta(minutes=1))
    db.session.remove()
    assert db.session.get(GroupSession, clinic.session.id).signed_at is None


def test_the_record_page_of_a_session_that_has_not_started_offers_no_save_and_refuses_one(client, make):
    clinic = _clinic(make, 1)
    session = db.session.get(GroupSession, clinic.session.id)
    session.starts_at = datetime.now() + timedelta(hours=1)
    db.session.commit()
    version = str(session.version)
    login(client, clinic.counselor.email)
    url = f"/admin/record/?session={clinic.session.id}"

    html = client.get(url).get_data(as_text=True)
    refused = client.post(url, data={"expected_version": version, f"status-{clinic.patients[0].id}": "present"})
    refused_sign = client.post(f"/admin/record/sign/?session={clinic.session.id}", data={"expected_version": version})

    assert 'id="record-closed"' in html and "once it has started" in html and 'id="record-form"' not in html
    assert "once it has started" in refused.get_data(as_text=True)
    assert "once it has started" in refused_sign.get_data(as_text=True)
    db.session.remove()
    session = db.session.get(GroupSession, clinic.session.id)
    assert (session.status, str(session.version), session.signed_at) == ("planned", version, None)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attendance)) == 0


# Signing keeps what was typed ------------------------------------------------------------
def test_sign_saves_the_changes_typed_on_the_page_and_signs_them(client, make):
    clinic = _clinic(make, 2)
    p0, p1 = (p.id for p in clinic.patients)
    a1 = clinic.assignments[p1][0].id
    login(client, clinic.counselor.email)
    _post(client, clinic.session.id, _page(client, clinic.session.id))  # saved once, everyone present
    typed = _with(_page(client, clinic.session.id), **{f"status__{p0}": "absent", f"minutes__{p0}": "0",
                                                       f"outcome__{a1}": "done", "group_note": "Typed, then signed"})

    response = _sign(client, clinic.session.id, typed)

    assert response.status_code == 302
    db.session.remove()
    session = db.session.get(GroupSession, clinic.session.id)
    assert session.signed_by_id == clinic.counselor.id and session.group_note == "Typed, then signed"
    absent = db.session.scalar(sa.select(Attendance).where(Attendance.patient_id == p0))
    assert (absent.status, absent.minutes_attended) == ("absent", 0)
    assert db.session.scalar(sa.select(ExerciseCheckin.outcome).where(ExerciseCheckin.assignment_id == a1)) == "done"


def test_sign_with_a_wrong_field_saves_and_signs_nothing_and_shows_the_error(client, make):
    clinic = _clinic(make, 2)
    p0 = clinic.patients[0].id
    login(client, clinic.counselor.email)
    before = _state(clinic.session.id)

    response = _sign(client, clinic.session.id, _with(_page(client, clinic.session.id),
                                                      **{f"status__{p0}": "late", f"minutes__{p0}": "500",
                                                         "group_note": "Kept"}))

    html = response.get_data(as_text=True)
    assert response.status_code == 200 and f'id="error-minutes-{p0}"' in html
    kept = dict(_form(html))
    assert kept[f"minutes-{p0}"] == "500" and kept["group_note"] == "Kept"
    assert _state(clinic.session.id) == before


@pytest.mark.parametrize("version", [None, "", "garbage"])
def test_sign_without_a_valid_version_is_refused(client, make, version):
    clinic = _clinic(make, 1)
    login(client, clinic.counselor.email)
    fields = [(n, v) for n, v in _page(client, clinic.session.id) if n != "expected_version"]
    if version is not None:
        fields.append(("expected_version", version))
    before = _state(clinic.session.id)

    response = _sign(client, clinic.session.id, fields)

    assert response.status_code == 200 and 'id="record-stale"' in response.get_data(as_text=True)
    assert _state(clinic.session.id) == before


def test_a_planner_may_save_but_not_sign(client, make):
    clinic = _clinic(make, 1)
    login(client, make.staff("planner").email)
    page = client.get(f"/admin/record/?session={clinic.session.id}").get_data(as_text=True)
    before = _state(clinic.session.id)

    response = _sign(client, clinic.session.id, _form(page))

    assert 'id="record-sign"' not in page
    assert "facilitator or an administrator" in response.get_data(as_text=True)
    assert _state(clinic.session.id) == before


def test_the_exercises_of_someone_absent_are_not_prefilled_as_done(client, make):
    clinic = _clinic(make, 1)
    p0 = clinic.patients[0].id
    login(client, clinic.counselor.email)
    _post(client, clinic.session.id, _with(_page(client, clinic.session.id),
                                           **{f"status__{p0}": "absent", f"minutes__{p0}": "0"}))

    fields = dict(_page(client, clinic.session.id))

    assert fields[f"status-{p0}"] == "absent"
    assert all(fields[f"outcome-{a.id}"] == "" for a in clinic.assignments[p0])


# A signed record is final ------------------------------------------------------------------
def _signed_first_record(app, make):
    """Two sessions of one group today; the first has a check-in for p0's exercise and is signed."""
    two = _two_records(make)
    p0 = two.first.patients[0].id
    a0 = two.first.assignments[p0][0].id
    mine = _client(app, two.first.counselor)
    assert _sign(mine, two.first.session.id, _with(_page(mine, two.first.session.id),
                                                   **{f"outcome__{a0}": "done"})).status_code == 302
    return two, a0


def test_the_check_in_page_cannot_change_a_check_in_of_a_signed_record_whatever_the_role(app, make):
    two, a0 = _signed_first_record(app, make)
    admin = _client(app, make.staff("admin"))
    url = f"/admin/day/checkin/?assignment={a0}&on={TODAY.isoformat()}"
    opened = admin.get(url).get_data(as_text=True)
    version = opened.split('name="row_version" type="hidden" value="')[1].split('"')[0]
    before = _state(two.first.session.id)

    response = admin.post(url, data={"on_date": TODAY.isoformat(), "outcome": "not_done",
                                     "loaded_date": TODAY.isoformat(), "row_version": version})

    assert response.status_code == 200 and "signed session record" in response.get_data(as_text=True)
    assert _state(two.first.session.id) == before


def test_another_record_of_the_day_cannot_change_a_check_in_of_a_signed_record(app, make):
    two, a0 = _signed_first_record(app, make)
    second_id = two.second.id
    theirs = _client(app, two.other)
    before = _state(two.first.session.id)

    page = _page(theirs, second_id)
    assert f"outcome-{a0}" not in dict(page)  # shown, not offered for editing
    # A hand-made post of the line is refused by the service all the same.
    forged = page + [(f"assignment-{two.first.patients[0].id}", str(a0)), (f"outcome-{a0}", "partly"),
                     (f"cv-{a0}", "1")]
    response = _post(theirs, second_id, forged)

    html = response.get_data(as_text=True)
    assert response.status_code == 200 and f'id="error-outcome-{a0}"' in html and "signed session record" in html
    assert _state(two.first.session.id) == before
    # Not touching that line, the other record saves fine and leaves the check-in alone.
    assert _post(theirs, second_id, _page(theirs, second_id)).status_code == 302
    db.session.remove()
    assert db.session.scalar(sa.select(ExerciseCheckin.outcome).where(ExerciseCheckin.assignment_id == a0)) == "done"


def test_the_check_in_service_refuses_any_door_into_a_signed_record(app, make):
    two, a0 = _signed_first_record(app, make)
    signed_id = two.first.session.id
    a1 = two.first.assignments[two.first.patients[1].id][0].id
    admin = make.staff("admin")
    before = _state(signed_id)
    assignment, other = db.session.get(Assignment, a0), db.session.get(Assignment, a1)
    signed = db.session.get(GroupSession, signed_id)

    with pytest.raises(RuleViolation, match="signed session record"):
        record_checkin(assignment, TODAY, CheckinInput("not_done"), recorded_by=admin, today=TODAY)
    with pytest.raises(RuleViolation, match="signed session record"):
        record_checkin(other, TODAY, CheckinInput("done"), recorded_by=admin, session=signed, today=TODAY)
    db.session.rollback()
    assert _state(signed_id) == before


# Corrections by addendum -------------------------------------------------------------------
def _addenda():
    db.session.remove()
    return db.session.scalars(sa.select(AttendanceAddendum).order_by(AttendanceAddendum.id)).all()


def test_a_correction_changes_one_persons_entry_and_check_in_each_with_its_addendum(app, make):
    two, a0 = _signed_first_record(app, make)
    session_id = two.first.session.id
    p0, p1 = (p.id for p in two.first.patients)
    a0b = two.first.assignments[p0][1].id
    admin_user = make.staff("admin")
    admin = _client(app, admin_user)
    db.session.remove()
    signature = db.session.scalar(sa.select(GroupSession.signed_at).where(GroupSession.id == session_id))
    other_entry = db.session.scalar(sa.select(Attendance).where(Attendance.patient_id == p1))
    other = (other_entry.status, other_entry.version)
    url = f"/admin/record/correct/?session={session_id}&patient={p0}"
    form = _form(admin.get(url).get_data(as_text=True), "correct-form")

    response = admin.post(url, data=_multidict(_with(form, **{
        "status": "late", "minutes": "40", f"mood_after__{a0}": "7", f"outcome__{a0b}": "partly",
        "reason": "Sign-in sheet and diary card checked"})))

    assert response.status_code == 302
    entry, line, created = _addenda()
    assert (entry.session_id, entry.patient_id, entry.assignment_id) == (session_id, p0, None)
    assert entry.changes == {"status": ["present", "late"], "minutes_attended": [60, 40]}
    assert (line.patient_id, line.assignment_id, line.changes) == (p0, a0, {"mood_after": [None, 7]})
    assert (created.assignment_id, created.changes["outcome"]) == (a0b, [None, "partly"])
    assert {a.author_id for a in (entry, line, created)} == {admin_user.id}
    assert {a.reason for a in (entry, line, created)} == {"Sign-in sheet and diary card checked"}
    corrected = db.session.scalar(sa.select(Attendance).where(Attendance.patient_id == p0))
    assert (corrected.status, corrected.minutes_attended, corrected.last_addendum_id) == ("late", 40, entry.id)
    checkin = db.session.scalar(sa.select(ExerciseCheckin).where(ExerciseCheckin.assignment_id == a0))
    assert (checkin.outcome, checkin.mood_after, checkin.last_addendum_id) == ("done", 7, line.id)
    new = db.session.scalar(sa.select(ExerciseCheckin).where(ExerciseCheckin.assignment_id == a0b))
    assert (new.outcome, new.session_id, new.last_addendum_id) == ("partly", session_id, created.id)
    still = db.session.scalar(sa.select(Attendance).where(Attendance.patient_id == p1))
    assert (still.status, still.version) == other
    assert db.session.scalar(sa.select(GroupSession.signed_at).where(GroupSession.id == session_id)) == signature

    html = admin.get(f"/admin/record/?session={session_id}").get_data(as_text=True)
    assert f'id="addenda-{p0}"' in html and f'id="addenda-exercise-{a0}"' in html
    assert f'id="addenda-exercise-{a0b}"' in html and f'id="addenda-{p1}"' not in html
    assert "Sign-in sheet and diary card checked" in html


def test_the_group_note_of_a_signed_record_is_corrected_by_a_session_addendum(app, make):
    two, _a0 = _signed_first_record(app, make)
    session_id = two.first.session.id
    client = _client(app, two.first.counselor)
    url = f"/admin/record/correct-note/?session={session_id}"
    form = _form(client.get(url).get_data(as_text=True), "correct-note-form")

    no_reason = client.post(url, data=_multidict(_with(form, group_note="Corrected note")))
    assert 'id="error-reason"' in no_reason.get_data(as_text=True) and _addenda() == []
    done = client.post(url, data=_multidict(_with(form, group_note="Corrected note", reason="Typo in the names")))

    assert done.status_code == 302
    (addendum,) = _addenda()
    assert (addendum.patient_id, addendum.assignment_id, addendum.attendance_id) == (None, None, None)
    assert addendum.changes == {"group_note": ["", "Corrected note"]}
    session = db.session.get(GroupSession, session_id)
    assert (session.group_note, session.last_addendum_id) == ("Corrected note", addendum.id)
    html = client.get(f"/admin/record/?session={session_id}").get_data(as_text=True)
    assert 'id="addenda-group-note"' in html and "Typo in the names" in html


@pytest.mark.parametrize("version", [None, "", "bogus"])
def test_a_correction_without_a_valid_version_is_refused(app, make, version):
    two, _a0 = _signed_first_record(app, make)
    session_id = two.first.session.id
    p0 = two.first.patients[0].id
    client = _client(app, two.first.counselor)
    url = f"/admin/record/correct/?session={session_id}&patient={p0}"
    fields = [(n, v) for n, v in _form(client.get(url).get_data(as_text=True), "correct-form")
              if n != "expected_version"]
    if version is not None:
        fields.append(("expected_version", version))
    before = _state(session_id)

    response = client.post(url, data=_multidict(_with(fields, status="excused", minutes="0", reason="Was excused")))

    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="correct-error"' in html
    assert dict(_form(html, "correct-form"))["status"] == "excused"  # the input stays
    assert _state(session_id) == before and _addenda() == []


def test_a_correction_of_a_check_in_corrected_meanwhile_is_refused(app, make):
    two, a0 = _signed_first_record(app, make)
    session_id = two.first.session.id
    p0 = two.first.patients[0].id
    mine, theirs = _client(app, two.first.counselor), _client(app, make.staff("admin"))
    url = f"/admin/record/correct/?session={session_id}&patient={p0}"
    my_form = _form(mine.get(url).get_data(as_text=True), "correct-form")
    their_form = _form(theirs.get(url).get_data(as_text=True), "correct-form")
    assert theirs.post(url, data=_multidict(_with(their_form, **{f"mood_before__{a0}": "2",
                                                                 "reason": "Diary card"}))).status_code == 302
    before = _state(session_id)

    response = mine.post(url, data=_multidict(_with(my_form, **{f"mood_before__{a0}": "5", "reason": "Memory"})))

    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Someone else corrected this entry" in html
    assert dict(_form(html, "correct-form"))[f"mood_before-{a0}"] == "5"
    assert _state(session_id) == before and len(_addenda()) == 1
