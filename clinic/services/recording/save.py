"""Saving a session's record: one transaction that writes only what the person changed.

A save validates everything first and saves nothing when any field is wrong. The session
row's version guards attendance and the group note; each check-in line carries its own
version because check-ins are one row per assignment and day, shared by every record of
that day and by the check-in page. A line the person did not change is not written at
all; a changed line whose check-in moved on meanwhile refuses the whole save.

Speed: new rows go through the ORM (the audit listener records them), but the updates of
existing attendance rows and check-ins are sent as one executemany UPDATE per table and
column set, because the ORM sends one UPDATE per versioned row. Those updates bump and
check each row's version and write their audit events here, in the listener's format and
the same transaction.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from ...extensions import db
from ...models import Attendance, AuditEvent, ExerciseCheckin, GroupSession, StaffUser
from ...models._types import utcnow
from .. import access, audit, checkins
from ..errors import RuleViolation
from ..locking import StaleEdit, check_optional_version, check_version
from ..limits import GROUP_NOTE_LIMIT
from .load import ExerciseLine, RecordRow, build
from .validate import (
    SIGNED_CHECKIN_MESSAGE,
    STALE_MESSAGE,
    StaleRecord,
    check_attendance,
    check_checkin,
    check_session_open,
    touched,
)

SIGN_REFUSED = "Only the session's facilitator or an administrator can sign its record."


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



@contextlib.contextmanager
def acting(actor: StaffUser | None):
    """Attribute audit events to ``actor`` unless a request already says who is acting."""
    if actor is not None and audit.current_actor()[0] is None:
        with audit.acting_as(actor):
            yield
    else:
        yield


def _plain(value):
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def bulk_update(model, updates: list[tuple[object, dict]]) -> None:
    """UPDATE many rows of ``model``, one executemany statement per column set, checking versions.

    ``updates`` holds (loaded row, new values by column). Each row's version must still be
    the loaded one; otherwise ``StaleDataError``. The matching audit events are written in
    the same transaction.
    """
    by_columns: dict[tuple, list] = {}
    for row, values in updates:
        by_columns.setdefault(tuple(sorted(values)), []).append((row, values))
    for group in by_columns.values():
        _bulk_update(model, group)


def _bulk_update(model, updates: list[tuple[object, dict]]) -> None:
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


def save_record(
    session: GroupSession,
    entries,
    group_note: str | None,
    *,
    expected_version: int | str | None,
    actor: StaffUser,
    today: date | None = None,
    now: datetime | None = None,
    group_note_shown: str | None = None,
    sign: bool = False,
) -> SaveResult:
    """Save a session's participation in one transaction; return field errors or counts.

    ``entries`` holds one ``Entry`` per person entered; people without one are left as
    they are. Refused with ``RuleViolation`` when the record is signed, the session was
    cancelled or has not started at ``now`` (local clinic time, default now), and with
    ``StaleRecord`` when ``expected_version`` is not the session's version (missing or
    malformed counts as not), when a changed check-in line moved on after the page was
    opened (``StaleRecord.lines``), or when any of that happens before the commit. When
    any field is invalid nothing is saved and the errors come back. Otherwise only what
    the person changed is written (against the page's ``shown`` values when it sent them),
    the group note (when it differs from ``group_note_shown``) and who recorded it when
    are set, and a planned session becomes held. With ``sign`` the saved record is signed
    in the same transaction (the facilitator or an admin; everyone needs an entry).
    """
    now = now or datetime.now()
    today = today or now.date()
    check_session_open(session, now)
    if sign and not access.may_sign(actor, session):
        raise RuleViolation(SIGN_REFUSED)
    try:
        check_version(session, expected_version, STALE_MESSAGE)
    except StaleEdit:
        raise StaleRecord() from None
    record = build(session)
    errors: dict[str, str] = {}
    attendance_values: list[tuple[RecordRow, dict]] = []
    checkin_values: list[tuple[ExerciseLine, checkins.CheckinInput, set[str]]] = []
    stale_lines: set[int] = set()
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
        values, problems = check_attendance(entry.status, entry.minutes, entry.engagement, entry.note,
                                            record.length, missed=entry.missed)
        errors.update({f"{name}-{row.patient.id}": message for name, message in problems.items()})
        attendance_values.append((row, values))
        for assignment_id, checkin_entry in entry.checkins.items():
            line = row.line_for(assignment_id)
            changed = touched(checkin_entry, line.checkin if line else None)
            if not changed:
                continue  # not changed on the page: not written, whatever happened meanwhile
            if line is not None and line.signed:
                errors[f"outcome-{assignment_id}"] = SIGNED_CHECKIN_MESSAGE
                continue
            values, problems = check_checkin(checkin_entry, line, record.day, today)
            for name, message in problems.items():
                errors[name if name == "record" else f"{name}-{assignment_id}"] = message
            if checkin_entry.version is not None and line is not None:
                try:
                    check_optional_version(line.checkin, checkin_entry.version)
                except StaleEdit:
                    stale_lines.add(assignment_id)
            if values is not None and not problems:
                checkin_values.append((line, values, changed))
    if stale_lines:
        raise StaleRecord(lines=frozenset(stale_lines))
    note = None
    if group_note is not None:
        note = group_note.strip()
        if len(note) > GROUP_NOTE_LIMIT:
            errors["group_note"] = f"Keep the group note to {GROUP_NOTE_LIMIT} characters or fewer."
        shown = session.group_note if group_note_shown is None else group_note_shown.strip()
        if note == shown or note == (session.group_note or ""):
            note = None  # not changed: not written
    if sign:
        missing = sum(1 for row in record.rows if row.attendance is None and row.patient.id not in seen)
        if missing:
            errors["record"] = (
                f"{missing} {'person' if missing == 1 else 'people'} on the roster "
                f"{'has' if missing == 1 else 'have'} no entry: reload the page before signing."
            )
    if errors:
        return SaveResult(errors=errors)

    result = SaveResult()
    stamp = utcnow()
    new_rows: list[object] = []
    attendance_updates: list[tuple[Attendance, dict]] = []
    for row, values in attendance_values:
        if row.attendance is None:
            new_rows.append(Attendance(session_id=session.id, patient_id=row.patient.id,
                                       recorded_by_id=actor.id, recorded_at=stamp, **values))
            result.created += 1
            continue
        changes = {name: value for name, value in values.items() if getattr(row.attendance, name) != value}
        if changes:
            attendance_updates.append((row.attendance, {**changes, "recorded_by_id": actor.id,
                                                        "recorded_at": stamp}))
            result.updated += 1
        else:
            result.unchanged += 1
    checkin_updates: list[tuple[ExerciseCheckin, dict]] = []
    for line, values, changed in checkin_values:
        fields = {name: getattr(values, name) for name in ("outcome", "mood_before", "mood_after", "reflection")}
        if line.checkin is None:
            new_rows.append(ExerciseCheckin(assignment_id=line.assignment.id, on_date=record.day,
                                            session_id=session.id, recorded_by_id=actor.id,
                                            recorded_at=stamp, **fields))
            result.checkins_created += 1
            continue
        changes = {name: fields[name] for name in changed if getattr(line.checkin, name) != fields[name]}
        if not changes:
            continue
        if line.checkin.session_id is None:
            changes["session_id"] = session.id  # a check-in from outside a session joins this record
        checkin_updates.append((line.checkin, {**changes, "recorded_by_id": actor.id, "recorded_at": stamp}))
        result.checkins_updated += 1

    try:
        with acting(actor):
            # The session row is updated on every save, so its version always moves on and
            # the UPDATE (which checks the version) takes the row first: a save that raced
            # this one stops here with StaleDataError before anything else is written.
            if note is not None:
                session.group_note = note
            session.recorded_at = stamp
            session.recorded_by_id = actor.id
            if session.status == "planned":
                session.status = "held"
            db.session.flush()
            db.session.add_all(new_rows)
            db.session.flush()
            bulk_update(Attendance, attendance_updates)
            bulk_update(ExerciseCheckin, checkin_updates)
            if sign:
                # Signed last: once signed, the database refuses any further entry.
                session.signed_at = utcnow()
                session.signed_by_id = actor.id
                db.session.flush()
        db.session.commit()
    except (StaleDataError, IntegrityError):
        # A racing save changed the session or a check-in, or added the same check-in.
        db.session.rollback()
        raise StaleRecord() from None
    return result
