"""Correcting a signed session record by addendum: one person's entry and check-ins, or the group note.

Each corrected row gets its own addendum (who, when, each field's [before, after], why)
and points at it through ``last_addendum_id``: the database refuses any other change to a
signed session. The addenda are written first, then the rows, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from ...extensions import db
from ...models import Attendance, AttendanceAddendum, ExerciseCheckin, GroupSession, StaffUser
from ...models._types import utcnow
from ..errors import RuleViolation
from ..locking import StaleEdit, check_optional_version, check_version
from ..limits import GROUP_NOTE_LIMIT, REASON_LIMIT
from .load import build
from .save import acting
from .validate import (
    CHECKIN_FIELDS,
    CORRECTABLE,
    CheckinEntry,
    StaleRecord,
    check_attendance,
    check_checkin,
    touched,
)
from .signing import UNCHECKED

CORRECTED_MEANWHILE = (
    "Someone else corrected this entry after you opened it. Nothing was saved: "
    "check the entry as it is now and correct it again."
)
NOTE_CORRECTED_MEANWHILE = (
    "Someone else corrected the group note after you opened it. Nothing was saved: "
    "check the note as it is now and correct it again."
)
NOT_THIS_RECORD = (
    "This check-in was not recorded in this session, so it is not corrected here: "
    "change it where it was recorded."
)


@dataclass
class CorrectionResult:
    """The outcome of a correction: field errors (nothing saved), or the addenda written."""

    errors: dict[str, str] = field(default_factory=dict)
    addenda: list[AttendanceAddendum] = field(default_factory=list)

    @property
    def addendum(self) -> AttendanceAddendum | None:
        """The first addendum written (the entry's, when the entry was corrected)."""
        return self.addenda[0] if self.addenda else None


def _signed_only(session: GroupSession) -> None:
    if session.signed_at is None:
        raise RuleViolation("Only a signed record is corrected by addendum; edit the record itself instead.")


def _check(check, row, version) -> None:
    try:
        check(row, version)
    except StaleEdit:
        raise StaleRecord(CORRECTED_MEANWHILE) from None


def _reason(reason: str | None, errors: dict[str, str]) -> str:
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = "Give the reason for the correction."
    elif len(reason) > REASON_LIMIT:
        errors["reason"] = f"Keep the reason to {REASON_LIMIT} characters or fewer."
    return reason


def correct_entry(
    session: GroupSession,
    patient_id: int,
    changes: dict,
    reason: str,
    actor: StaffUser,
    *,
    expected_version=UNCHECKED,
    checkins: dict[int, CheckinEntry] | None = None,
) -> CorrectionResult:
    """Correct one person's entry and check-ins on a signed record by addenda, and commit.

    ``changes`` maps any of status, minutes, engagement and note to the corrected value
    (checked like a save), or ``missed`` (minutes late or left early) in place of minutes; ``checkins`` maps the person's assignment ids to the corrected
    check-in of the session's day (its ``version`` is the one the form showed). Every row
    that changes gets an addendum with who, when, each field's [before, after] and the
    reason (required). Nothing else changes: not the other participants, not the signature.
    ``expected_version`` is the entry's version the form was opened with ("new" when there
    was none): a correction made meanwhile, or a missing or malformed version, refuses
    this one (``StaleRecord``), as does a check-in line whose version moved on.
    """
    _signed_only(session)
    changes = dict(changes)
    missed = changes.pop("missed", None)
    unknown = set(changes) - set(CORRECTABLE)
    if unknown:
        raise RuleViolation(f"Only {', '.join(CORRECTABLE)} can be corrected.")
    record = build(session)
    row = record.row_for(patient_id)
    if row is None:
        raise RuleViolation("That person is not on this session's record.")
    attendance = row.attendance
    if expected_version is not UNCHECKED:
        _check(check_optional_version, attendance, expected_version)

    current = {"status": row.status, "minutes": row.minutes, "engagement": row.engagement, "note": row.note}
    wanted = {**current, **changes}
    if missed is not None:
        wanted["minutes"] = None  # the minutes attended follow from the minutes missed
    values, errors = check_attendance(wanted["status"], wanted["minutes"], wanted["engagement"],
                                      wanted["note"], record.length, missed=missed)
    before = {name: getattr(attendance, name) if attendance else None for name in values}
    entry_diff = {name: [before[name], value] for name, value in values.items() if before[name] != value}

    checkin_diffs = []
    for assignment_id, entry in (checkins or {}).items():
        line = row.line_for(assignment_id)
        if line is None:
            errors["record"] = "That exercise is not on this person's record for the session."
            continue
        saved = line.checkin
        if not touched(entry, saved):
            continue  # not changed on the form: not corrected, whatever happened meanwhile
        if entry.version is not None:
            _check(check_optional_version, saved, entry.version)
        if saved is not None and saved.session_id != session.id:
            errors[f"outcome-{assignment_id}"] = NOT_THIS_RECORD
            continue
        checked, problems = check_checkin(entry, line, record.day, record.day)
        errors.update({name if name == "record" else f"{name}-{assignment_id}": message
                       for name, message in problems.items()})
        if checked is None or problems:
            continue
        old = {name: getattr(saved, name) if saved else None for name in CHECKIN_FIELDS}
        new = {name: getattr(checked, name) for name in CHECKIN_FIELDS}
        diff = {name: [old[name], new[name]] for name in CHECKIN_FIELDS if old[name] != new[name]}
        if diff:
            checkin_diffs.append((line, new, diff))
    reason = _reason(reason, errors)
    if not entry_diff and not checkin_diffs and not errors:
        errors["form"] = "Nothing to correct: the values are the same as recorded."
    if errors:
        return CorrectionResult(errors=errors)

    now = utcnow()
    result = CorrectionResult()
    try:
        with acting(actor):
            entry_addendum = None
            if entry_diff:
                entry_addendum = AttendanceAddendum(
                    session_id=session.id, patient_id=patient_id, assignment_id=None,
                    attendance_id=attendance.id if attendance else None,
                    author_id=actor.id, created_at=now, changes=entry_diff, reason=reason)
                result.addenda.append(entry_addendum)
            line_addenda = []
            for line, new, diff in checkin_diffs:
                addendum = AttendanceAddendum(
                    session_id=session.id, patient_id=patient_id, assignment_id=line.assignment.id,
                    author_id=actor.id, created_at=now, changes=diff, reason=reason)
                line_addenda.append((line, new, addendum))
                result.addenda.append(addendum)
            db.session.add_all(result.addenda)
            db.session.flush()
            if entry_addendum is not None:
                if attendance is None:
                    # Someone added to the roster after the signature: their entry starts here.
                    db.session.add(Attendance(session_id=session.id, patient_id=patient_id,
                                              recorded_by_id=actor.id, recorded_at=now,
                                              last_addendum_id=entry_addendum.id, **values))
                else:
                    for name, value in values.items():
                        if getattr(attendance, name) != value:
                            setattr(attendance, name, value)
                    attendance.last_addendum_id = entry_addendum.id
            for line, new, addendum in line_addenda:
                if line.checkin is None:
                    db.session.add(ExerciseCheckin(assignment_id=line.assignment.id, on_date=record.day,
                                                   session_id=session.id, recorded_by_id=actor.id,
                                                   recorded_at=now, last_addendum_id=addendum.id, **new))
                else:
                    for name, value in new.items():
                        if getattr(line.checkin, name) != value:
                            setattr(line.checkin, name, value)
                    line.checkin.last_addendum_id = addendum.id
            db.session.flush()
        db.session.commit()
    except (StaleDataError, IntegrityError):
        db.session.rollback()
        raise StaleRecord(CORRECTED_MEANWHILE) from None
    return result


def correct_group_note(
    session: GroupSession,
    note: str,
    reason: str,
    actor: StaffUser,
    *,
    expected_version=UNCHECKED,
) -> CorrectionResult:
    """Correct the group note of a signed record by a session-level addendum, and commit.

    ``expected_version`` is the session's version the form was opened with: a change
    meanwhile, or a missing or malformed version, refuses this one (``StaleRecord``).
    """
    _signed_only(session)
    if expected_version is not UNCHECKED:
        try:
            check_version(session, expected_version)
        except StaleEdit:
            raise StaleRecord(NOTE_CORRECTED_MEANWHILE) from None
    errors: dict[str, str] = {}
    note = (note or "").strip()
    if len(note) > GROUP_NOTE_LIMIT:
        errors["group_note"] = f"Keep the group note to {GROUP_NOTE_LIMIT} characters or fewer."
    reason = _reason(reason, errors)
    before = session.group_note or ""
    if note == before and not errors:
        errors["form"] = "Nothing to correct: the note is the same as recorded."
    if errors:
        return CorrectionResult(errors=errors)
    try:
        with acting(actor):
            addendum = AttendanceAddendum(session_id=session.id, patient_id=None, assignment_id=None,
                                          author_id=actor.id, created_at=utcnow(),
                                          changes={"group_note": [before, note]}, reason=reason)
            db.session.add(addendum)
            db.session.flush()
            session.group_note = note
            session.last_addendum_id = addendum.id
            db.session.flush()
        db.session.commit()
    except (StaleDataError, IntegrityError):
        db.session.rollback()
        raise StaleRecord(NOTE_CORRECTED_MEANWHILE) from None
    return CorrectionResult(addenda=[addendum])
