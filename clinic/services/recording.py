"""Recording a whole session on one page: attendance, exercise check-ins and the group note.

The counselor opens a session's record, changes only the exceptions (everyone starts as
present for the full length), checks in exercises, writes the group note and saves once.
A save is one transaction: it validates everything first and saves nothing when any
field is wrong, it is refused when someone else saved the session after the page was
opened (the session row's version is the record's concurrency token), and saving again
updates rather than duplicates. The facilitator signs the record; after that an entry
changes only by a per-person addendum.

Speed: loading runs a fixed number of queries whatever the roster size. Saving creates
new rows through the ORM (the audit listener records them) but sends the updates of
existing attendance rows and check-ins as one executemany UPDATE per table, because the
ORM sends one UPDATE per versioned row. Those updates bump each row's version, check it,
and write their audit events here, in the listener's format and the same transaction.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload
from sqlalchemy.orm.exc import StaleDataError

from ..extensions import db
from ..models import (
    ATTENDANCE_STATUSES,
    Assignment,
    Attendance,
    AttendanceAddendum,
    AuditEvent,
    ExerciseCheckin,
    GroupSession,
    KindnessExercise,
    Patient,
    StaffUser,
)
from ..models._types import utcnow
from . import audit, checkins
from .errors import RuleViolation
from .membership import roster

#: How each attendance status reads on the page.
STATUS_LABELS = {
    "present": "present",
    "late": "late",
    "left_early": "left early",
    "absent": "absent",
    "excused": "excused",
}
#: How each check-in outcome reads on the page.
OUTCOME_LABELS = {"done": "done", "partly": "partly", "not_done": "not done"}
#: Statuses that mean the person was not there at all (0 minutes).
NOT_THERE = ("absent", "excused")
#: Statuses that mean part of the session (fewer minutes than its length).
PART_OF_IT = ("late", "left_early")
#: Longest individual note and group note, in characters.
NOTE_LIMIT = 4000
GROUP_NOTE_LIMIT = 8000
#: Longest reason for a correction (the column's size).
REASON_LIMIT = 500
#: The attendance fields a correction may change: form name -> column.
CORRECTABLE = {"status": "status", "minutes": "minutes_attended", "engagement": "engagement", "note": "note"}

STALE_MESSAGE = (
    "Someone else saved this session after you opened it. Nothing was saved. The page now "
    "shows what is saved, with the changes you made put back on top (marked): check them "
    "and save again."
)
SIGNED_MESSAGE = (
    "This record is signed, so it can no longer be edited. Correct one person's entry "
    "with an addendum instead."
)
CONFLICT_MESSAGE = (
    "The record could not be saved because a check-in or entry for the same people was "
    "saved at the same moment. Nothing was saved: reload the page and try again."
)


class StaleRecord(RuleViolation):
    """The record changed after it was opened; nothing was saved."""

    def __init__(self, message: str = STALE_MESSAGE):
        super().__init__(message)


# What the page shows ---------------------------------------------------------
@dataclass
class ExerciseLine:
    """One assignment under a person, with its check-in for the session's day if any."""

    assignment: Assignment
    checkin: ExerciseCheckin | None
    #: False when the assignment is no longer active: the check-in is shown, not edited.
    editable: bool


@dataclass
class RecordRow:
    """One person on the record: their saved entry (or none yet) and their exercises."""

    patient: Patient
    attendance: Attendance | None
    #: False for someone with a saved entry who has since left the group.
    on_roster: bool
    length: int
    exercises: list[ExerciseLine] = field(default_factory=list)
    addenda: list[AttendanceAddendum] = field(default_factory=list)

    @property
    def status(self) -> str:
        """The saved status, or present when nothing was recorded yet."""
        return self.attendance.status if self.attendance else "present"

    @property
    def minutes(self) -> int:
        """The saved minutes, or the session's full length when nothing was recorded yet."""
        return self.attendance.minutes_attended if self.attendance else self.length

    @property
    def engagement(self) -> int | None:
        """The saved engagement (1–5), or None."""
        return self.attendance.engagement if self.attendance else None

    @property
    def note(self) -> str:
        """The saved individual note, or an empty one."""
        return self.attendance.note if self.attendance else ""

    def line_for(self, assignment_id: int) -> ExerciseLine | None:
        """The exercise line of ``assignment_id``, if it is listed for this person."""
        return next((line for line in self.exercises if line.assignment.id == assignment_id), None)


@dataclass
class SessionRecord:
    """Everything the record page of one session shows."""

    session: GroupSession
    #: The session's date: the roster and the check-ins are those of this day.
    day: date
    rows: list[RecordRow]
    #: The session row's version when loaded; a save must bring the same one back.
    version: int

    @property
    def length(self) -> int:
        """The session's length in minutes."""
        return self.session.duration_minutes

    @property
    def state(self) -> str:
        """not recorded, recorded or signed."""
        return self.session.record_state

    @property
    def signed(self) -> bool:
        """True once the facilitator signed the record."""
        return self.session.signed_at is not None

    def row_for(self, patient_id: int) -> RecordRow | None:
        """The row of ``patient_id``, if they are on the record."""
        return next((row for row in self.rows if row.patient.id == patient_id), None)


def _session_query(session_id: int) -> sa.Select:
    return (
        sa.select(GroupSession)
        .where(GroupSession.id == session_id)
        .options(
            joinedload(GroupSession.group),
            joinedload(GroupSession.activity),
            joinedload(GroupSession.facilitator),
            joinedload(GroupSession.recorded_by),
            joinedload(GroupSession.signed_by),
        )
    )


def load_record(session_id: int) -> SessionRecord | None:
    """Load a session's record page, or None when there is no such session.

    Runs at most six queries whatever the size of the roster: the session (with its
    group, activity and staff), the roster, the saved attendance, the assignments, their
    check-ins for the day and, once signed, the addenda.
    """
    session = db.session.scalar(_session_query(session_id))
    if session is None:
        return None
    return _build(session)


def _build(session: GroupSession) -> SessionRecord:
    """The rows of ``session``'s record, in a fixed number of queries."""
    day = session.starts_at.date()
    length = session.duration_minutes
    members = roster(session.group_id, day)
    saved = db.session.scalars(
        sa.select(Attendance)
        .where(Attendance.session_id == session.id)
        .options(joinedload(Attendance.patient))
    ).all()
    by_patient = {row.patient_id: row for row in saved}
    member_ids = {patient.id for patient in members}
    # Nothing recorded may vanish: people with a saved entry stay even after leaving the group.
    former = sorted(
        (row.patient for row in saved if row.patient_id not in member_ids),
        key=lambda p: (p.last_name, p.first_name, p.id),
    )
    rows = [
        RecordRow(patient=p, attendance=by_patient.get(p.id), on_roster=p.id in member_ids, length=length)
        for p in list(members) + former
    ]
    patient_ids = [row.patient.id for row in rows]
    if patient_ids:
        checked_in_that_day = sa.select(ExerciseCheckin.assignment_id).where(ExerciseCheckin.on_date == day)
        assignments = db.session.scalars(
            sa.select(Assignment)
            .join(Assignment.exercise)
            .options(contains_eager(Assignment.exercise))
            .where(
                Assignment.patient_id.in_(patient_ids),
                sa.or_(
                    sa.and_(Assignment.status == "active", Assignment.start_date <= day),
                    Assignment.id.in_(checked_in_that_day),
                ),
            )
            .order_by(KindnessExercise.title, Assignment.id)
        ).all()
        found = {}
        if assignments:
            found = {
                c.assignment_id: c
                for c in db.session.scalars(
                    sa.select(ExerciseCheckin).where(
                        ExerciseCheckin.assignment_id.in_([a.id for a in assignments]),
                        ExerciseCheckin.on_date == day,
                    )
                )
            }
        by_id = {row.patient.id: row for row in rows}
        for assignment in assignments:
            by_id[assignment.patient_id].exercises.append(
                ExerciseLine(
                    assignment=assignment,
                    checkin=found.get(assignment.id),
                    editable=assignment.status == "active" and assignment.start_date <= day,
                )
            )
        if session.signed_at is not None and saved:
            by_attendance = {row.attendance.id: row for row in rows if row.attendance is not None}
            for addendum in db.session.scalars(
                sa.select(AttendanceAddendum)
                .join(Attendance, Attendance.id == AttendanceAddendum.attendance_id)
                .where(Attendance.session_id == session.id)
                .options(joinedload(AttendanceAddendum.author))
                .order_by(AttendanceAddendum.created_at, AttendanceAddendum.id)
            ):
                by_attendance[addendum.attendance_id].addenda.append(addendum)
    return SessionRecord(session=session, day=day, rows=rows, version=session.version)


# What staff entered -------------------------------------------------------------
#: A whole number as typed (a string), as parsed (an int), or nothing.
Number = int | str | None


@dataclass
class CheckinEntry:
    """What was entered for one exercise: an empty outcome means no check-in."""

    outcome: str = ""
    mood_before: Number = None
    mood_after: Number = None
    reflection: str = ""

    @property
    def blank(self) -> bool:
        """True when nothing at all was entered."""
        return not (self.outcome or _text(self.mood_before) or _text(self.mood_after)
                    or (self.reflection or "").strip())


@dataclass
class Entry:
    """What was entered for one person; numbers may still be the typed text."""

    patient_id: int
    status: str = "present"
    #: Empty means the default: the full length when present, 0 when absent or excused.
    minutes: Number = None
    engagement: Number = None
    note: str = ""
    #: Assignment id -> what was entered for it.
    checkins: dict[int, CheckinEntry] = field(default_factory=dict)


@dataclass
class SaveResult:
    """The outcome of a save: field errors (nothing saved), or counts of what was saved."""

    #: Field name on the record page (``minutes-<patient id>``, ``mood_after-<assignment id>``,
    #: ``group_note``, or ``record`` for the page as a whole) -> message.
    errors: dict[str, str] = field(default_factory=dict)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    checkins_created: int = 0
    checkins_updated: int = 0

    @property
    def saved(self) -> bool:
        """True when the record was saved."""
        return not self.errors

    def summary(self) -> str:
        """One line of counts for a flash message; it never names anyone."""
        people = self.created + self.updated + self.unchanged
        return (
            f"Saved the record for {people} {'person' if people == 1 else 'people'}: "
            f"{self.created} new, {self.updated} changed, {self.unchanged} unchanged; "
            f"check-ins: {self.checkins_created} new, {self.checkins_updated} changed."
        )


@dataclass
class CorrectionResult:
    """The outcome of a correction: field errors (nothing saved), or the addendum written."""

    errors: dict[str, str] = field(default_factory=dict)
    addendum: AttendanceAddendum | None = None


_INVALID = object()


def _text(value: Number) -> str:
    return "" if value is None else str(value).strip()


def _whole(value: Number):
    """The int in ``value``; None when empty; ``_INVALID`` when it is not a whole number."""
    if value is None:
        return None
    if isinstance(value, bool):
        return _INVALID
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return _INVALID


def _check_attendance(status, minutes: Number, engagement: Number, note, length: int):
    """Return (clean values by column, errors by field) for one person's entry."""
    errors: dict[str, str] = {}
    minutes = _whole(minutes)
    engagement = _whole(engagement)
    note = (note or "").strip()
    if status not in ATTENDANCE_STATUSES:
        errors["status"] = "Choose present, late, left early, absent or excused."
    if minutes is _INVALID:
        errors["minutes"] = "Minutes are a whole number."
    elif status in NOT_THERE:
        if minutes not in (None, 0):
            errors["minutes"] = f"Someone {STATUS_LABELS[status]} attended 0 minutes."
        minutes = 0
    elif status in PART_OF_IT:
        if length <= 1:
            errors["minutes"] = "A one-minute session cannot be attended in part."
        elif minutes is None or not 0 < minutes < length:
            errors["minutes"] = (
                f"Late or left early means fewer minutes than the session's {length}: "
                f"give 1 to {length - 1}."
            )
    elif status == "present":
        if minutes is None:
            minutes = length
        elif not 1 <= minutes <= length:
            errors["minutes"] = f"Present means 1 to {length} minutes (the session's length)."
    if engagement is _INVALID or (engagement is not None and not 1 <= engagement <= 5):
        errors["engagement"] = "Engagement is a whole number from 1 to 5, or empty."
    elif engagement is not None and status in NOT_THERE:
        errors["engagement"] = "Leave engagement empty for someone absent or excused."
    if len(note) > NOTE_LIMIT:
        errors["note"] = f"Keep the note to {NOTE_LIMIT} characters or fewer."
    values = {"status": status, "minutes_attended": minutes, "engagement": engagement, "note": note}
    return values, errors


def _check_checkin(entry: CheckinEntry, line: ExerciseLine | None, day: date, today: date):
    """Return (CheckinInput or None when no check-in is meant, errors by field)."""
    if line is None or not line.editable:
        if entry.blank or (line is not None and _same_checkin(line.checkin, entry)):
            return None, {}
        return None, {"record": "A check-in was entered for an exercise that is no longer active for "
                                "that person. Nothing was saved: reload the page and enter it again."}
    if not (entry.outcome or "").strip():
        if line.checkin is not None:
            return None, {"outcome": "This check-in is already saved: choose done, partly or not done "
                                     "(a saved check-in is not removed from here)."}
        if not entry.blank:
            return None, {"outcome": "Choose done, partly or not done, or clear the mood and reflection."}
        return None, {}
    errors: dict[str, str] = {}
    moods = {}
    for name in ("mood_before", "mood_after"):
        mood = _whole(getattr(entry, name))
        if mood is _INVALID:
            errors[name] = "Mood is a number from 0 to 10."
            mood = None
        moods[name] = mood
    values = checkins.CheckinInput(
        outcome=entry.outcome.strip(), reflection=(entry.reflection or "").strip(), **moods
    )
    for name, message in checkins.validate(values, line.assignment, day, today).items():
        errors.setdefault(name if name in ("outcome", "mood_before", "mood_after", "reflection") else "outcome",
                          message)
    return values, errors


def _same_checkin(checkin: ExerciseCheckin | None, entry: CheckinEntry) -> bool:
    if checkin is None:
        return False
    return (
        checkin.outcome == (entry.outcome or "").strip()
        and checkin.mood_before == _whole(entry.mood_before)
        and checkin.mood_after == _whole(entry.mood_after)
        and checkin.reflection == (entry.reflection or "").strip()
    )


def _check_session_open(session: GroupSession, today: date) -> None:
    if session.signed_at is not None:
        raise RuleViolation(SIGNED_MESSAGE)
    if session.status == "cancelled":
        raise RuleViolation("This session was cancelled, so there is no participation to record.")
    if session.starts_at.date() > today:
        raise RuleViolation(
            f"This session is on {session.starts_at.date().isoformat()}; it can be recorded from that day on."
        )


@contextlib.contextmanager
def _acting(actor: StaffUser | None):
    """Attribute audit events to ``actor`` unless a request already says who is acting."""
    if actor is not None and audit.current_actor()[0] is None:
        with audit.acting_as(actor):
            yield
    else:
        yield


def _plain(value):
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _bulk_update(model, updates: list[tuple[object, dict]]) -> None:
    """UPDATE many rows of ``model`` in one executemany statement, checking each row's version.

    ``updates`` holds (loaded row, new values by column); every entry sets the same columns.
    Each row's version must still be the loaded one; otherwise ``StaleDataError``. The
    matching audit events are written in the same transaction.
    """
    if not updates:
        return
    table = model.__table__
    columns = list(updates[0][1])
    statement = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("p_id"), table.c.version == sa.bindparam("p_version"))
        .values(version=table.c.version + 1, **{name: sa.bindparam(f"p_{name}") for name in columns})
    )
    params = []
    events = []
    actor_id, email, address = audit.current_actor()
    now = utcnow()
    for row, values in updates:
        params.append({"p_id": row.id, "p_version": row.version,
                       **{f"p_{name}": value for name, value in values.items()}})
        changes = {
            name: [_plain(getattr(row, name)), _plain(value)]
            for name, value in values.items()
            if getattr(row, name) != value
        }
        events.append({
            "at": now, "actor_id": actor_id, "actor_email": email[:254], "action": "update",
            "entity": table.name, "entity_id": str(row.id), "changes": changes, "ip_address": address[:45],
        })
    result = db.session.execute(statement, params)
    if result.rowcount != len(params):
        raise StaleDataError(f"{table.name}: {len(params) - result.rowcount} rows changed meanwhile")
    db.session.execute(sa.insert(AuditEvent.__table__), events)
    for row, _values in updates:
        db.session.expire(row)


# Saving ---------------------------------------------------------------------------
def save_record(
    session: GroupSession,
    entries,
    group_note: str | None,
    *,
    expected_version: int | None,
    actor: StaffUser,
    today: date | None = None,
) -> SaveResult:
    """Save a session's participation in one transaction; return field errors or counts.

    ``entries`` holds one ``Entry`` per person entered; people without one are left as
    they are. Refused with ``RuleViolation`` when the record is signed, the session was
    cancelled or is still to come, and with ``StaleRecord`` when the session's version is
    not ``expected_version`` (someone saved after the page was opened), also when that
    happens between this check and the commit. When any field is invalid nothing is
    saved and the errors come back. Otherwise attendance and check-ins are created or
    updated (never duplicated; an unchanged entry is left alone), the group note and
    who recorded it when are set, a planned session becomes held, and the session's
    version goes up.
    """
    today = today or date.today()
    _check_session_open(session, today)
    if expected_version is None or session.version != expected_version:
        raise StaleRecord()
    record = _build(session)
    errors: dict[str, str] = {}
    attendance_values: list[tuple[RecordRow, dict]] = []
    checkin_values: list[tuple[ExerciseLine, checkins.CheckinInput]] = []
    seen: set[int] = set()
    for entry in entries:
        row = record.row_for(entry.patient_id)
        if row is None or entry.patient_id in seen:
            errors["record"] = (
                "Someone on the page is no longer on this session's roster. Nothing was saved: "
                "reload the page and enter the record again."
            )
            continue
        seen.add(entry.patient_id)
        values, problems = _check_attendance(entry.status, entry.minutes, entry.engagement, entry.note,
                                             record.length)
        errors.update({f"{name}-{row.patient.id}": message for name, message in problems.items()})
        attendance_values.append((row, values))
        for assignment_id, checkin_entry in entry.checkins.items():
            line = row.line_for(assignment_id)
            values, problems = _check_checkin(checkin_entry, line, record.day, today)
            for name, message in problems.items():
                errors[name if name == "record" else f"{name}-{assignment_id}"] = message
            if values is not None and not problems:
                checkin_values.append((line, values))
    if group_note is not None and len(group_note.strip()) > GROUP_NOTE_LIMIT:
        errors["group_note"] = f"Keep the group note to {GROUP_NOTE_LIMIT} characters or fewer."
    if errors:
        return SaveResult(errors=errors)

    result = SaveResult()
    now = utcnow()
    new_rows: list[object] = []
    attendance_updates: list[tuple[Attendance, dict]] = []
    for row, values in attendance_values:
        if row.attendance is None:
            new_rows.append(Attendance(session_id=session.id, patient_id=row.patient.id,
                                       recorded_by_id=actor.id, recorded_at=now, **values))
            result.created += 1
        elif any(getattr(row.attendance, name) != value for name, value in values.items()):
            attendance_updates.append((row.attendance, {**values, "recorded_by_id": actor.id, "recorded_at": now}))
            result.updated += 1
        else:
            result.unchanged += 1
    checkin_updates: list[tuple[ExerciseCheckin, dict]] = []
    for line, values in checkin_values:
        fields = {"outcome": values.outcome, "mood_before": values.mood_before,
                  "mood_after": values.mood_after, "reflection": values.reflection}
        if line.checkin is None:
            new_rows.append(ExerciseCheckin(assignment_id=line.assignment.id, on_date=record.day,
                                            session_id=session.id, recorded_by_id=actor.id,
                                            recorded_at=now, **fields))
            result.checkins_created += 1
        elif any(getattr(line.checkin, name) != value for name, value in fields.items()):
            checkin_updates.append((line.checkin, {**fields, "session_id": session.id,
                                                   "recorded_by_id": actor.id, "recorded_at": now}))
            result.checkins_updated += 1

    try:
        with _acting(actor):
            # The session row is updated on every save, so its version always moves on and
            # the UPDATE (which checks the version) takes the row first: a save that raced
            # this one stops here with StaleDataError before anything else is written.
            if group_note is not None:
                session.group_note = group_note.strip()
            session.recorded_at = now
            session.recorded_by_id = actor.id
            if session.status == "planned":
                session.status = "held"
            db.session.flush()
            db.session.add_all(new_rows)
            db.session.flush()
            _bulk_update(Attendance, attendance_updates)
            _bulk_update(ExerciseCheckin, checkin_updates)
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise StaleRecord() from None
    except IntegrityError:
        db.session.rollback()
        raise RuleViolation(CONFLICT_MESSAGE) from None
    return result


# Signing and correcting -------------------------------------------------------------
def may_sign(session: GroupSession, actor: StaffUser | None) -> bool:
    """True when ``actor`` may sign the session's record: its facilitator, or an admin."""
    return actor is not None and (actor.role == "admin" or session.facilitator_id == actor.id)


def sign_record(session: GroupSession, actor: StaffUser, *, expected_version: int | None = None) -> GroupSession:
    """Sign a recorded, unsigned record as its facilitator (or an admin) and commit.

    With ``expected_version`` the signature is refused (``StaleRecord``) when the record
    changed after the signer opened it. Everyone on the roster must have a saved entry.
    """
    if not may_sign(session, actor):
        raise RuleViolation("Only the session's facilitator or an administrator can sign its record.")
    if session.signed_at is not None:
        raise RuleViolation("This record is already signed.")
    if session.recorded_at is None:
        raise RuleViolation("Nothing has been recorded for this session yet: save the record before signing it.")
    if expected_version is not None and session.version != expected_version:
        raise StaleRecord(
            "Someone else saved this session after you opened it, so it was not signed. "
            "Check the record as it is now and sign again."
        )
    missing = sum(1 for row in _build(session).rows if row.attendance is None)
    if missing:
        raise RuleViolation(
            f"{missing} {'person' if missing == 1 else 'people'} on the roster "
            f"{'has' if missing == 1 else 'have'} no saved entry yet: save the record before signing it."
        )
    try:
        with _acting(actor):
            session.signed_at = utcnow()
            session.signed_by_id = actor.id
            db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise StaleRecord("Someone else saved this session at the same moment, so it was not signed. "
                          "Check the record and sign again.") from None
    return session


def correct_entry(
    session: GroupSession,
    patient_id: int,
    changes: dict,
    reason: str,
    actor: StaffUser,
    *,
    expected_version: int | None = None,
) -> CorrectionResult:
    """Correct one person's entry on a signed record by an addendum, and commit.

    ``changes`` maps any of status, minutes, engagement and note to the corrected value
    (checked like a save). The attendance row is updated and an addendum keeps who, when,
    each field's [before, after] and the reason (required). Nothing else changes: not the
    other participants, not the signature. With ``expected_version`` (the attendance
    row's version the form was opened with) a correction made meanwhile refuses this one.
    """
    if session.signed_at is None:
        raise RuleViolation("Only a signed record is corrected by addendum; edit the record itself instead.")
    unknown = set(changes) - set(CORRECTABLE)
    if unknown:
        raise RuleViolation(f"Only {', '.join(CORRECTABLE)} can be corrected.")
    record = _build(session)
    row = record.row_for(patient_id)
    if row is None:
        raise RuleViolation("That person is not on this session's record.")
    attendance = row.attendance
    if expected_version is not None and (attendance.version if attendance else None) != expected_version:
        raise StaleRecord(
            "Someone else corrected this entry after you opened it. Nothing was saved: "
            "check the entry as it is now and correct it again."
        )
    current = {"status": row.status, "minutes": row.minutes, "engagement": row.engagement, "note": row.note}
    wanted = {**current, **changes}
    values, errors = _check_attendance(wanted["status"], wanted["minutes"], wanted["engagement"],
                                       wanted["note"], record.length)
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = "Give the reason for the correction."
    elif len(reason) > REASON_LIMIT:
        errors["reason"] = f"Keep the reason to {REASON_LIMIT} characters or fewer."
    before = {
        "status": attendance.status if attendance else None,
        "minutes_attended": attendance.minutes_attended if attendance else None,
        "engagement": attendance.engagement if attendance else None,
        "note": attendance.note if attendance else None,
    }
    diff = {name: [before[name], value] for name, value in values.items() if before[name] != value}
    if not diff and not errors:
        errors["form"] = "Nothing to correct: the values are the same as recorded."
    if errors:
        return CorrectionResult(errors=errors)
    try:
        with _acting(actor):
            if attendance is None:
                # Someone added to the roster after the signature: their entry starts here.
                attendance = Attendance(session_id=session.id, patient_id=patient_id,
                                        recorded_by_id=actor.id, recorded_at=utcnow(), **values)
                db.session.add(attendance)
            else:
                for name, value in values.items():
                    setattr(attendance, name, value)
            db.session.flush()
            addendum = AttendanceAddendum(attendance_id=attendance.id, author_id=actor.id,
                                          created_at=utcnow(), changes=diff, reason=reason)
            db.session.add(addendum)
            db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise StaleRecord(
            "Someone else corrected this entry at the same moment. Nothing was saved: "
            "check the entry and correct it again."
        ) from None
    except IntegrityError:
        db.session.rollback()
        raise RuleViolation(CONFLICT_MESSAGE) from None
    return CorrectionResult(addendum=addendum)


__all__ = [
    "CheckinEntry",
    "CorrectionResult",
    "Entry",
    "ExerciseLine",
    "RecordRow",
    "SaveResult",
    "SessionRecord",
    "StaleRecord",
    "correct_entry",
    "load_record",
    "may_sign",
    "save_record",
    "sign_record",
]
