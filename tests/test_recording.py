"""Recording a whole session on one page: prefill, one save, stale and invalid saves, signing, addenda."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import (
    Assignment,
    Attendance,
    AttendanceAddendum,
    AuditEvent,
    ExerciseCheckin,
    GroupSession,
    KindnessExercise,
    StaffUser,
)
from clinic.services import recording
from clinic.services.errors import RuleViolation
from clinic.services.recording import CheckinEntry, Entry, StaleRecord
from conftest import login

TODAY = date.today()
START = TODAY - timedelta(days=30)
_numbers = itertools.count(1)


# Building a session ------------------------------------------------------------
@dataclass
class Clinic:
    """A group with a facilitator, its roster, their exercises and today's session."""

    counselor: StaffUser
    session: GroupSession
    patients: list
    #: patient id -> that patient's active assignments.
    assignments: dict = field(default_factory=dict)

    @property
    def length(self) -> int:
        return self.session.duration_minutes


def _exercise(track) -> KindnessExercise:
    exercise = KindnessExercise(title=f"Kind exercise {next(_numbers)}", direction="others",
                                energy="low", tracks=[track])
    db.session.add(exercise)
    db.session.commit()
    return exercise


def _clinic(make, size: int = 3, *, counselor=None, day: date = TODAY, exercises_each: int = 1,
            length: int = 60) -> Clinic:
    counselor = counselor or make.staff("counselor")
    iop = make.track("iop")
    group = make.group(iop, facilitator=counselor, capacity=max(size, 10))
    exercises = [_exercise(iop) for _ in range(max(exercises_each, 2))]
    patients = []
    assignments: dict[int, list[Assignment]] = {}
    for _ in range(size):
        patient = make.patient()
        make.membership(group, patient, start=START)
        patients.append(patient)
    for i, patient in enumerate(patients):
        # The first person has two exercises; everyone else has ``exercises_each``.
        count = max(exercises_each, 2) if i == 0 else exercises_each
        rows = [Assignment(exercise_id=e.id, patient_id=patient.id, start_date=START) for e in exercises[:count]]
        db.session.add_all(rows)
        assignments[patient.id] = rows
    session = GroupSession(group_id=group.id, starts_at=_start(day),
                           duration_minutes=length, room="Room 1", facilitator_id=counselor.id,
                           status="planned")
    db.session.add(session)
    db.session.commit()
    return Clinic(counselor=counselor, session=session, patients=patients, assignments=assignments)


def _start(day: date) -> datetime:
    """10:00 on ``day``; today, no later than a minute ago, so that the session has started."""
    start = datetime.combine(day, time(10))
    if day == TODAY:
        start = max(datetime.combine(day, time(0)), min(start, datetime.now() - timedelta(minutes=1)))
    return start


def _entries(clinic: Clinic, **by_patient) -> list[Entry]:
    """Everyone present by default; ``p0=dict(status=...)`` changes the first person, and so on."""
    entries = []
    for i, patient in enumerate(clinic.patients):
        changes = dict(by_patient.get(f"p{i}", {}))
        entries.append(Entry(patient_id=patient.id, **changes))
    return entries


def _save(clinic: Clinic, entries, group_note="", *, version=None, actor=None):
    session = db.session.get(GroupSession, clinic.session.id)
    return recording.save_record(
        session, entries, group_note,
        expected_version=session.version if version is None else version,
        actor=actor or clinic.counselor, today=TODAY,
    )


def _count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


# Reading the page as a browser would ------------------------------------------------
class _FormReader(HTMLParser):
    """Collects what the record form would submit: inputs, selected options and text areas."""

    def __init__(self, form_id: str = "record-form"):
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._first_option: str | None = None
        self._selected = False
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._first_option, self._selected = a["name"], None, False
        elif tag == "option" and self._select:
            if self._first_option is None:
                self._first_option = a.get("value", "")
            if "selected" in a:
                self.fields.append((self._select, a.get("value", "")))
                self._selected = True
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            if not self._selected:
                self.fields.append((self._select, self._first_option or ""))
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, self._text))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self._text += data


def _form(html: str, form_id: str = "record-form") -> list[tuple[str, str]]:
    reader = _FormReader(form_id)
    reader.feed(html)
    return reader.fields


def _with(fields: list[tuple[str, str]], **changes) -> list[tuple[str, str]]:
    """The form's fields with some values replaced (keys use ``_`` for ``-``: status_12)."""
    wanted = {key.replace("__", "-"): value for key, value in changes.items()}
    return [(name, wanted.get(name, value)) for name, value in fields]


def _post(client, session_id: int, fields, follow=False):
    return client.post(f"/admin/record/?session={session_id}", data=_multidict(fields),
                       follow_redirects=follow)


def _multidict(fields):
    from werkzeug.datastructures import MultiDict

    return MultiDict(fields)


# Opening the record ------------------------------------------------------------
def test_the_record_lists_the_roster_of_the_day_prefilled_as_present_for_the_whole_session(make):
    clinic = _clinic(make, 3)
    group_id = clinic.session.group_id
    from clinic.models import CareGroup

    group = db.session.get(CareGroup, group_id)
    left = make.patient(last_name="Leftbefore")
    make.membership(group, left, start=START, end_date=TODAY - timedelta(days=1))
    later = make.patient(last_name="Joinslater")
    make.membership(group, later, start=TODAY + timedelta(days=1))

    record = recording.load_record(clinic.session.id)

    assert [row.patient.id for row in record.rows] == [
        p.id for p in sorted(clinic.patients, key=lambda p: (p.last_name, p.first_name))
    ]
    assert all(row.status == "present" and row.minutes == 60 for row in record.rows)
    assert all(row.engagement is None and row.note == "" and row.attendance is None for row in record.rows)
    assert record.version == clinic.session.version
    assert record.state == "not recorded"
    first = record.row_for(clinic.patients[0].id)
    assert [line.assignment.id for line in first.exercises] == sorted(
        (a.id for a in clinic.assignments[clinic.patients[0].id]),
        key=lambda i: db.session.get(Assignment, i).exercise.title,
    )
    assert all(line.checkin is None and line.editable for line in first.exercises)
    assert recording.load_record(999_999) is None


def test_someone_with_a_saved_entry_stays_on_the_record_after_leaving_the_group(make):
    clinic = _clinic(make, 2)
    _save(clinic, _entries(clinic, p1={"status": "late", "minutes": 30}))
    from clinic.models import GroupMembership

    membership = db.session.scalar(sa.select(GroupMembership).where(
        GroupMembership.patient_id == clinic.patients[1].id))
    membership.start_date = TODAY + timedelta(days=2)  # as if the membership had been moved
    db.session.commit()

    record = recording.load_record(clinic.session.id)
    row = record.row_for(clinic.patients[1].id)
    assert row is not None and not row.on_roster
    assert (row.status, row.minutes) == ("late", 30)


def test_assignments_that_are_paused_or_not_started_on_the_day_are_not_offered(make):
    clinic = _clinic(make, 1)
    first = clinic.assignments[clinic.patients[0].id]
    first[0].status = "paused"
    first[1].start_date = TODAY + timedelta(days=1)
    db.session.commit()
    record = recording.load_record(clinic.session.id)
    assert record.rows[0].exercises == []


# Saving -----------------------------------------------------------------------------
def test_saving_again_updates_the_entries_and_never_duplicates_them(make):
    clinic = _clinic(make, 3)
    session_id = clinic.session.id
    first = _save(clinic, _entries(clinic, p0={"status": "late", "minutes": "45", "engagement": "4"}),
                  "A warm round of thanks.")
    assert first.saved and (first.created, first.updated, first.unchanged) == (3, 0, 0)
    assert _count(Attendance, Attendance.session_id == session_id) == 3
    session = db.session.get(GroupSession, session_id)
    assert session.status == "held" and session.recorded_by_id == clinic.counselor.id
    assert session.recorded_at is not None and session.group_note == "A warm round of thanks."
    version_after_first = session.version

    second = _save(clinic, _entries(clinic, p0={"status": "late", "minutes": "40", "engagement": "4"},
                                    p1={"status": "absent"}), "A warm round of thanks.")
    assert (second.created, second.updated, second.unchanged) == (0, 2, 1)
    assert _count(Attendance, Attendance.session_id == session_id) == 3
    rows = {a.patient_id: a
            for a in db.session.scalars(sa.select(Attendance).where(Attendance.session_id == session_id))}
    assert (rows[clinic.patients[0].id].status, rows[clinic.patients[0].id].minutes_attended) == ("late", 40)
    assert (rows[clinic.patients[1].id].status, rows[clinic.patients[1].id].minutes_attended) == ("absent", 0)
    assert rows[clinic.patients[0].id].version == 2 and rows[clinic.patients[2].id].version == 1
    assert db.session.get(GroupSession, session_id).version == version_after_first + 1

    updates = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity == "attendance", AuditEvent.action == "update").order_by(AuditEvent.id)).all()
    assert {e.entity_id for e in updates} == {str(rows[clinic.patients[0].id].id), str(rows[clinic.patients[1].id].id)}
    assert all(e.actor_id == clinic.counselor.id for e in updates)
    changed = {e.entity_id: e.changes for e in updates}[str(rows[clinic.patients[1].id].id)]
    assert changed["status"] == ["present", "absent"] and changed["minutes_attended"] == [60, 0]
    creates = _count(AuditEvent, AuditEvent.entity == "attendance", AuditEvent.action == "create")
    assert creates == 3

    # The same page saved a third time changes no entry; only the session row moves on.
    third = _save(clinic, _entries(clinic, p0={"status": "late", "minutes": "40", "engagement": "4"},
                                   p1={"status": "absent"}), "A warm round of thanks.")
    assert (third.created, third.updated, third.unchanged) == (0, 0, 3)
    assert _count(Attendance, Attendance.session_id == session_id) == 3
    assert db.session.get(GroupSession, session_id).version == version_after_first + 2


def test_a_save_from_a_page_opened_before_someone_elses_save_is_refused_and_changes_nothing(make):
    clinic = _clinic(make, 2)
    opened = recording.load_record(clinic.session.id).version
    _save(clinic, _entries(clinic, p0={"status": "excused"}), "First save", version=opened)
    before = [(a.id, a.status, a.minutes_attended, a.version) for a in db.session.scalars(
        sa.select(Attendance).order_by(Attendance.id))]
    events = _count(AuditEvent)

    with pytest.raises(StaleRecord, match="Someone else saved this session after you opened it"):
        _save(clinic, _entries(clinic, p1={"status": "absent"}), "Second save", version=opened)

    db.session.expire_all()
    after = [(a.id, a.status, a.minutes_attended, a.version) for a in db.session.scalars(
        sa.select(Attendance).order_by(Attendance.id))]
    assert after == before
    assert db.session.get(GroupSession, clinic.session.id).group_note == "First save"
    assert _count(AuditEvent) == events


def test_a_save_racing_another_between_the_check_and_the_commit_is_refused(make, app):
    clinic = _clinic(make, 2)
    session = db.session.get(GroupSession, clinic.session.id)
    opened = session.version
    # Another server commits a save of the same session after this one checked the version.
    with db.engine.begin() as other:
        other.execute(sa.update(GroupSession.__table__)
                      .where(GroupSession.__table__.c.id == session.id)
                      .values(version=GroupSession.__table__.c.version + 1, group_note="Theirs"))
    with pytest.raises(StaleRecord):
        recording.save_record(session, _entries(clinic), "Mine", expected_version=opened,
                              actor=clinic.counselor, today=TODAY)
    db.session.expire_all()
    assert _count(Attendance) == 0
    assert db.session.get(GroupSession, clinic.session.id).group_note == "Theirs"


def test_invalid_entries_are_refused_at_their_fields_and_nothing_is_saved(make):
    clinic = _clinic(make, 3)
    p0, p1, p2 = (p.id for p in clinic.patients)
    a0 = clinic.assignments[p0][0].id
    version = clinic.session.version
    entries = _entries(
        clinic,
        p0={"status": "late", "minutes": "60",
            "checkins": {a0: CheckinEntry(outcome="done", mood_before="3", mood_after="11")}},
        p1={"engagement": "6"},
        p2={"status": "left_early", "minutes": "soon", "note": "x" * (recording.NOTE_LIMIT + 1)},
    )
    result = _save(clinic, entries, "Group note")

    assert not result.saved
    assert result.errors[f"minutes-{p0}"].startswith("Late or left early means fewer minutes than the session's 60")
    assert result.errors[f"mood_after-{a0}"] == "Mood is a number from 0 to 10."
    assert result.errors[f"engagement-{p1}"].startswith("Engagement is a whole number from 1 to 5")
    assert result.errors[f"minutes-{p2}"] == "Minutes are a whole number."
    assert f"note-{p2}" in result.errors
    assert f"mood_before-{a0}" not in result.errors
    assert all(p.first_name not in message for message in result.errors.values() for p in clinic.patients)
    db.session.expire_all()
    assert _count(Attendance) == 0 and _count(ExerciseCheckin) == 0
    session = db.session.get(GroupSession, clinic.session.id)
    assert (session.version, session.group_note, session.status) == (version, "", "planned")


@pytest.mark.parametrize("status", ["absent", "excused"])
def test_absent_or_excused_means_zero_minutes_and_no_engagement(make, status):
    clinic = _clinic(make, 2)
    p0, p1 = (p.id for p in clinic.patients)
    refused = _save(clinic, _entries(clinic, p0={"status": status, "minutes": "30"},
                                     p1={"status": status, "engagement": "3"}))
    assert refused.errors[f"minutes-{p0}"] == f"Someone {status} attended 0 minutes."
    assert refused.errors[f"engagement-{p1}"] == "Leave engagement empty for someone absent or excused."
    assert _count(Attendance) == 0

    saved = _save(clinic, _entries(clinic, p0={"status": status}, p1={"status": status, "minutes": "0"}))
    assert saved.saved
    assert {(a.status, a.minutes_attended) for a in db.session.scalars(sa.select(Attendance))} == {(status, 0)}


def test_present_defaults_to_the_full_length_and_never_exceeds_it(make):
    clinic = _clinic(make, 2, length=90)
    p0, p1 = (p.id for p in clinic.patients)
    refused = _save(clinic, _entries(clinic, p0={"minutes": "91"}))
    assert refused.errors == {f"minutes-{p0}": "Present means 1 to 90 minutes (the session's length)."}
    _save(clinic, _entries(clinic, p1={"minutes": "80"}))
    minutes = {a.patient_id: a.minutes_attended for a in db.session.scalars(sa.select(Attendance))}
    assert minutes == {p0: 90, p1: 80}


def test_check_ins_are_saved_with_the_session_and_updated_on_the_next_save(make):
    clinic = _clinic(make, 3)
    p0, p1, p2 = (p.id for p in clinic.patients)
    a0, a0b = (a.id for a in clinic.assignments[p0])
    a1 = clinic.assignments[p1][0].id
    a2 = clinic.assignments[p2][0].id
    result = _save(clinic, _entries(
        clinic,
        p0={"checkins": {a0: CheckinEntry("done", "3", "6", "Felt lighter afterwards"), a0b: CheckinEntry()}},
        p1={"status": "absent", "checkins": {a1: CheckinEntry("partly", None, "5")}},
        p2={"checkins": {a2: CheckinEntry("")}},
    ))
    assert (result.checkins_created, result.checkins_updated) == (2, 0)
    checkins = {c.assignment_id: c for c in db.session.scalars(sa.select(ExerciseCheckin))}
    assert set(checkins) == {a0, a1}  # no outcome, no check-in; absent people only when entered
    first = checkins[a0]
    assert (first.outcome, first.mood_before, first.mood_after, first.reflection) == (
        "done", 3, 6, "Felt lighter afterwards")
    assert first.session_id == clinic.session.id and first.on_date == TODAY
    assert first.recorded_by_id == clinic.counselor.id

    again = _save(clinic, _entries(
        clinic,
        p0={"checkins": {a0: CheckinEntry("done", "4", "6", "Felt lighter afterwards")}},
        p1={"status": "absent", "checkins": {a1: CheckinEntry("partly", None, "5")}},
    ))
    assert (again.checkins_created, again.checkins_updated) == (0, 1)
    db.session.expire_all()
    assert _count(ExerciseCheckin) == 2
    assert db.session.get(ExerciseCheckin, first.id).mood_before == 4
    assert db.session.get(ExerciseCheckin, first.id).version == 2
    event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.entity == "exercise_checkin", AuditEvent.action == "update"))
    assert event.entity_id == str(first.id) and event.changes["mood_before"] == [3, 4]


def test_a_check_in_made_earlier_that_day_is_shown_and_updated_not_duplicated(make):
    from clinic.services.checkins import CheckinInput, record_checkin

    clinic = _clinic(make, 1)
    assignment = clinic.assignments[clinic.patients[0].id][0]
    record_checkin(assignment, TODAY, CheckinInput("partly", 2, 3), recorded_by=clinic.counselor, today=TODAY)
    row = recording.load_record(clinic.session.id).rows[0]
    assert row.line_for(assignment.id).checkin.outcome == "partly"
    _save(clinic, _entries(clinic, p0={"checkins": {assignment.id: CheckinEntry("done", "2", "3")}}))
    checkins = db.session.scalars(sa.select(ExerciseCheckin)).all()
    assert [(c.outcome, c.session_id) for c in checkins] == [("done", clinic.session.id)]


def test_a_saved_check_in_is_not_silently_dropped_and_half_entered_ones_are_refused(make):
    clinic = _clinic(make, 1)
    a0, a0b = (a.id for a in clinic.assignments[clinic.patients[0].id])
    _save(clinic, _entries(clinic, p0={"checkins": {a0: CheckinEntry("done")}}))
    result = _save(clinic, _entries(clinic, p0={"checkins": {a0: CheckinEntry(""), a0b: CheckinEntry("", "4")}}))
    assert result.errors[f"outcome-{a0}"].startswith("This check-in is already saved")
    assert result.errors[f"outcome-{a0b}"].startswith("Choose done, partly or not done")
    assert _count(ExerciseCheckin) == 1


def test_a_session_still_to_come_or_cancelled_cannot_be_recorded(make):
    later = _clinic(make, 1, day=TODAY + timedelta(days=1))
    with pytest.raises(RuleViolation, match="it can be recorded and signed once it has started"):
        _save(later, _entries(later))
    later.session.status = "cancelled"
    later.session.starts_at = datetime.combine(TODAY, time(8))
    db.session.commit()
    with pytest.raises(RuleViolation, match="cancelled"):
        _save(later, _entries(later))


# Signing and correcting -----------------------------------------------------------------
def test_only_the_facilitator_or_an_admin_signs_a_recorded_record(make):
    clinic = _clinic(make, 2)
    planner, admin = make.staff("planner"), make.staff("admin")
    session = db.session.get(GroupSession, clinic.session.id)
    with pytest.raises(RuleViolation, match="save the record before signing"):
        recording.sign_record(session, clinic.counselor)
    _save(clinic, _entries(clinic))
    with pytest.raises(RuleViolation, match="facilitator or an administrator"):
        recording.sign_record(session, planner)
    with pytest.raises(StaleRecord):
        recording.sign_record(session, clinic.counselor, expected_version=session.version - 1)
    recording.sign_record(session, admin)
    assert session.signed_by_id == admin.id and session.record_state == "signed"
    with pytest.raises(RuleViolation, match="already signed"):
        recording.sign_record(session, clinic.counselor)


def test_a_signed_record_cannot_be_edited(make):
    clinic = _clinic(make, 2)
    _save(clinic, _entries(clinic))
    session = db.session.get(GroupSession, clinic.session.id)
    recording.sign_record(session, clinic.counselor)
    version = session.version
    with pytest.raises(RuleViolation, match="This record is signed"):
        _save(clinic, _entries(clinic, p0={"status": "absent"}))
    db.session.expire_all()
    assert {a.status for a in db.session.scalars(sa.select(Attendance))} == {"present"}
    assert db.session.get(GroupSession, clinic.session.id).version == version


def test_a_correction_changes_one_entry_by_addendum_and_leaves_the_rest_and_the_signature(make):
    clinic = _clinic(make, 3)
    p0, p1, p2 = (p.id for p in clinic.patients)
    planner = make.staff("planner")
    _save(clinic, _entries(clinic, p1={"engagement": "3", "note": "Quiet today"}))
    session = db.session.get(GroupSession, clinic.session.id)
    recording.sign_record(session, clinic.counselor)
    signed = (session.signed_at, session.signed_by_id, session.version)
    others = [(a.id, a.status, a.minutes_attended, a.engagement, a.note, a.version)
              for a in db.session.scalars(sa.select(Attendance).where(Attendance.patient_id != p1))]

    refused = recording.correct_entry(session, p1, {"status": "late", "minutes": "70"}, "", planner)
    assert set(refused.errors) == {"minutes", "reason"}
    same = recording.correct_entry(session, p1, {"engagement": "3"}, "Checked", planner)
    assert "form" in same.errors
    assert _count(AttendanceAddendum) == 0

    result = recording.correct_entry(session, p1, {"status": "late", "minutes": "45", "note": "Quiet today"},
                                     "Arrived 15 minutes late; sign-in sheet checked.", planner)
    assert not result.errors
    db.session.expire_all()
    corrected = db.session.scalar(sa.select(Attendance).where(Attendance.patient_id == p1))
    assert (corrected.status, corrected.minutes_attended, corrected.engagement) == ("late", 45, 3)
    addendum = db.session.scalar(sa.select(AttendanceAddendum))
    assert addendum.attendance_id == corrected.id and addendum.author_id == planner.id
    assert addendum.created_at is not None
    assert addendum.changes == {"status": ["present", "late"], "minutes_attended": [60, 45]}
    assert addendum.reason == "Arrived 15 minutes late; sign-in sheet checked."
    session = db.session.get(GroupSession, clinic.session.id)
    assert (session.signed_at, session.signed_by_id, session.version) == signed
    assert [(a.id, a.status, a.minutes_attended, a.engagement, a.note, a.version)
            for a in db.session.scalars(sa.select(Attendance).where(Attendance.patient_id != p1))] == others
    audit = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity.in_(["attendance", "attendance_addendum"]), AuditEvent.actor_id == planner.id)).all()
    assert sorted((e.entity, e.action) for e in audit) == [("attendance", "update"), ("attendance_addendum", "create")]

    record = recording.load_record(clinic.session.id)
    assert [a.reason for a in record.row_for(p1).addenda] == [addendum.reason]
    assert record.row_for(p0).addenda == [] and record.row_for(p2).addenda == []


def test_an_unsigned_record_is_edited_not_corrected(make):
    clinic = _clinic(make, 1)
    _save(clinic, _entries(clinic))
    session = db.session.get(GroupSession, clinic.session.id)
    with pytest.raises(RuleViolation, match="Only a signed record"):
        recording.correct_entry(session, clinic.patients[0].id, {"status": "late"}, "why", clinic.counselor)


# The page -----------------------------------------------------------------------------
def test_a_counselor_records_their_own_session_on_one_page_with_one_save(client, make):
    clinic = _clinic(make, 3)
    p0, p1, p2 = (p.id for p in clinic.patients)
    a0 = clinic.assignments[p0][0].id
    login(client, clinic.counselor.email)
    page = client.get(f"/admin/record/?session={clinic.session.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'id="status-{p0}"' in html and f'id="outcome-{a0}"' in html
    fields = _with(_form(html), **{f"status__{p1}": "absent", f"minutes__{p1}": "0",
                                   f"status__{p2}": "late", f"minutes__{p2}": "40",
                                   f"outcome__{a0}": "done", f"mood_after__{a0}": "7",
                                   "group_note": "We wrote thank-you notes."})
    response = _post(client, clinic.session.id, fields)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/record/?session={clinic.session.id}")
    saved = client.get(f"/admin/record/?session={clinic.session.id}").get_data(as_text=True)
    assert 'id="record-saved"' in saved
    message = re.search(r'id="record-saved">([^<]*)<', saved).group(1)
    assert message.startswith("Saved the record for 3 people: 3 new, 0 changed, 0 unchanged; check-ins: 1 new")
    assert not any(p.last_name in message or p.first_name in message for p in clinic.patients)
    db.session.remove()
    rows = {a.patient_id: (a.status, a.minutes_attended) for a in db.session.scalars(sa.select(Attendance))}
    assert rows == {p0: ("present", 60), p1: ("absent", 0), p2: ("late", 40)}
    assert db.session.scalar(sa.select(ExerciseCheckin.mood_after)) == 7
    assert db.session.get(GroupSession, clinic.session.id).group_note == "We wrote thank-you notes."
    views = _count(AuditEvent, AuditEvent.action == "view", AuditEvent.entity == "group_session")
    assert views == 2


def test_invalid_input_is_shown_at_the_fields_with_everything_typed_kept(client, make):
    clinic = _clinic(make, 2)
    p0, p1 = (p.id for p in clinic.patients)
    a0 = clinic.assignments[p0][0].id
    login(client, clinic.counselor.email)
    fields = _with(_form(client.get(f"/admin/record/?session={clinic.session.id}").get_data(as_text=True)),
                   **{f"status__{p0}": "late", f"minutes__{p0}": "75", f"engagement__{p1}": "6",
                      f"note__{p1}": "Brought <b>cake</b>", f"outcome__{a0}": "done",
                      f"mood_before__{a0}": "11", "group_note": "Kept group note"})
    response = _post(client, clinic.session.id, fields)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="record-invalid"' in html
    assert f'id="error-minutes-{p0}"' in html and f'id="error-engagement-{p1}"' in html
    assert f'id="error-mood_before-{a0}"' in html
    kept = dict(_form(html))
    assert kept[f"status-{p0}"] == "late" and kept[f"minutes-{p0}"] == "75"
    assert kept[f"engagement-{p1}"] == "6" and kept[f"mood_before-{a0}"] == "11"
    assert kept[f"note-{p1}"] == "Brought <b>cake</b>" and kept["group_note"] == "Kept group note"
    assert "Brought &lt;b&gt;cake&lt;/b&gt;" in html and "<b>cake</b>" not in html
    db.session.remove()
    assert _count(Attendance) == 0 and _count(ExerciseCheckin) == 0


def test_a_stale_page_is_refused_with_a_message_and_the_users_changes_kept(client, make, app):
    clinic = _clinic(make, 3)
    p0, p1, p2 = (p.id for p in clinic.patients)
    login(client, clinic.counselor.email)
    old_page = _form(client.get(f"/admin/record/?session={clinic.session.id}").get_data(as_text=True))
    colleague = app.test_client()
    login(colleague, make.staff("planner").email)
    theirs = _form(colleague.get(f"/admin/record/?session={clinic.session.id}").get_data(as_text=True))
    assert _post(colleague, clinic.session.id, _with(theirs, **{f"status__{p0}": "excused", f"minutes__{p0}": "0",
                                                                "group_note": "Theirs"})).status_code == 302
    db.session.remove()
    before = sorted((a.patient_id, a.status, a.version) for a in db.session.scalars(sa.select(Attendance)))

    response = _post(client, clinic.session.id, _with(old_page, **{f"status__{p1}": "absent", f"minutes__{p1}": "0",
                                                                   "group_note": "Mine"}))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="record-stale"' in html
    assert "Someone else saved this session after you opened it" in html
    kept = dict(_form(html))
    assert kept[f"status-{p1}"] == "absent"        # my change, put back to re-apply
    assert kept[f"status-{p0}"] == "excused"       # theirs, which I had not touched
    assert kept["group_note"] == "Mine" and 'id="saved-now-group_note"' in html
    db.session.remove()
    assert sorted((a.patient_id, a.status, a.version) for a in db.session.scalars(sa.select(Attendance))) == before
    assert db.session.get(GroupSession, clinic.session.id).group_note == "Theirs"

    # Saving the kept page again, knowingly, goes through.
    assert _post(client, clinic.session.id, kept.items()).status_code == 302
    db.session.remove()
    statuses = {a.patient_id: a.status for a in db.session.scalars(sa.select(Attendance))}
    assert statuses == {p0: "excused", p1: "absent", p2: "present"}


def test_sign_then_the_page_is_read_only_and_offers_a_correction_with_a_reason(client, make):
    clinic = _clinic(make, 2)
    p0, p1 = (p.id for p in clinic.patients)
    login(client, clinic.counselor.email)
    url = f"/admin/record/?session={clinic.session.id}"
    _post(client, clinic.session.id, _form(client.get(url).get_data(as_text=True)))
    html = client.get(url).get_data(as_text=True)
    sign = dict(_form(html))
    assert client.post(f"/admin/record/sign/?session={clinic.session.id}", data=sign).status_code == 302
    html = client.get(url).get_data(as_text=True)
    assert 'id="record-signed"' in html and 'id="record-form"' not in html and 'id="record-sign"' not in html
    assert f'id="correct-{p0}"' in html

    # A save posted anyway is refused.
    refused = client.post(url, data={"expected_version": "99", f"status-{p0}": "absent"}).get_data(as_text=True)
    assert 'id="record-error"' in refused and "This record is signed" in refused

    correct_url = f"/admin/record/correct/?session={clinic.session.id}&patient={p1}"
    form = dict(_form(client.get(correct_url).get_data(as_text=True), "correct-form"))
    no_reason = client.post(correct_url, data={**form, "status": "left_early", "minutes": "50"})
    assert 'id="error-reason"' in no_reason.get_data(as_text=True)
    done = client.post(correct_url, data={**form, "status": "left_early", "minutes": "50",
                                          "reason": "Left for an appointment"})
    assert done.status_code == 302
    html = client.get(url).get_data(as_text=True)
    assert 'id="record-corrected"' in html and "Left for an appointment" in html
    assert f'id="view-status-{p1}">left early<' in html and f'id="view-minutes-{p1}">50<' in html
    assert f'id="view-status-{p0}">present<' in html


@pytest.mark.parametrize("role", ["counselor", "planner", "admin"])
def test_who_may_open_save_sign_and_correct_a_session_record(client, make, role):
    clinic = _clinic(make, 1)
    user = make.staff(role)
    login(client, user.email)
    url = f"/admin/record/?session={clinic.session.id}"
    if role == "counselor":
        # Another counselor's session answers as if it did not exist.
        assert client.get(url).status_code == 404
        assert client.post(url, data={"expected_version": "1"}).status_code == 404
        assert client.post(f"/admin/record/sign/?session={clinic.session.id}").status_code == 404
        assert client.get(f"/admin/record/correct/?session={clinic.session.id}&patient=1").status_code == 404
        db.session.remove()
        assert _count(Attendance) == 0
        own = _clinic(make, 1, counselor=user)
        own_url = f"/admin/record/?session={own.session.id}"
        assert client.get(own_url).status_code == 200
        form = _form(client.get(own_url).get_data(as_text=True))
        assert _post(client, own.session.id, form).status_code == 302
    else:
        page = client.get(url)
        assert page.status_code == 200
        assert _post(client, clinic.session.id, _form(page.get_data(as_text=True))).status_code == 302
        html = client.get(url).get_data(as_text=True)
        assert ('id="record-sign"' in html) == (role == "admin")
    db.session.remove()
    assert _count(Attendance) == 1


def test_the_record_page_without_a_session_goes_to_the_session_list_and_an_unknown_one_is_404(client, make):
    login(client, make.staff("planner").email)
    response = client.get("/admin/record/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/sessions/")
    assert client.get("/admin/record/?session=424242").status_code == 404
    assert client.get("/admin/record/?session=abc").status_code == 404


# Speed --------------------------------------------------------------------------------
def test_opening_and_saving_a_session_runs_as_many_statements_for_15_people_as_for_5(client, make, app):
    planner = make.staff("planner")
    small = _clinic(make, 5)
    large = _clinic(make, 15)
    login(client, planner.email)
    client.get(f"/admin/record/?session={small.session.id}")  # warm up

    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.lstrip().split(None, 1)[0].upper())


    def measure(call):
        statements.clear()
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            response = call()
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        return response, list(statements)

    figures = {}
    for name, clinic in (("5", small), ("15", large)):
        url = f"/admin/record/?session={clinic.session.id}"
        page, opened = measure(lambda: client.get(url))
        assert page.status_code == 200
        fields = [(key, "done" if key.startswith("outcome-") else value)
                  for key, value in _form(page.get_data(as_text=True))]
        first, saved = measure(lambda: _post(client, clinic.session.id, fields))
        assert first.status_code == 302
        # Everyone changes on the second save: each entry and each check-in is updated.
        changes = {"status": "late", "minutes": "20", "outcome": "partly"}
        changed = [(key, changes.get(key.split("-")[0], value))
                   for key, value in _form(client.get(url).get_data(as_text=True))]
        second, updated = measure(lambda: _post(client, clinic.session.id, changed))
        assert second.status_code == 302
        figures[name] = {"open": opened, "first save": saved, "re-save": updated}

    db.session.remove()
    assert _count(Attendance) == 20 and {a.minutes_attended for a in db.session.scalars(sa.select(Attendance))} == {20}

    def other(executed):
        return [s for s in executed if s != "INSERT"]

    lines = []
    for what in ("open", "first save", "re-save"):
        few, many = figures["5"][what], figures["15"][what]
        assert other(few) == other(many), (what, other(few), other(many))
        assert len(other(few)) <= 12, (what, other(few))
        lines.append(
            f"{what}: 5 people {len(few)} statements ({len(few) - len(other(few))} INSERT), "
            f"15 people {len(many)} ({len(many) - len(other(many))} INSERT); other statements {len(other(few))}"
        )
    print(f"\n[{app.config['TEST_BACKEND']}] record page SQL: " + "; ".join(lines))
