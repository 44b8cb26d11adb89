"""Signing a session record, and correcting a signed one by addendum.

A signed record is final: nothing writes to it any more except a correction, which adds
an addendum (who, when, what changed, why) and changes only what it corrects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from ...extensions import db
from ...models import Attendance, AttendanceAddendum, GroupSession, StaffUser
from ...models._types import utcnow
from .. import access
from ..errors import RuleViolation
from ..locking import StaleEdit, check_optional_version, check_version
from .load import build
from .save import SIGN_REFUSED, acting
from .validate import CONFLICT_MESSAGE, CORRECTABLE, REASON_LIMIT, StaleRecord, check_attendance, check_started

#: Passed for no version at all: a caller that is not a page (the demo clinic, the CLI).
UNCHECKED = object()
SIGNED_MEANWHILE = (
    "Someone else saved this session after you opened it, so it was not signed. "
    "Check the record as it is now and sign again."
)
CORRECTED_MEANWHILE = (
    "Someone else corrected this entry after you opened it. Nothing was saved: "
    "check the entry as it is now and correct it again."
)


@dataclass
class CorrectionResult:
    """The outcome of a correction: field errors (nothing saved), or the addendum written."""

    errors: dict[str, str] = field(default_factory=dict)
    addendum: AttendanceAddendum | None = None


def may_sign(session: GroupSession, actor: StaffUser | None) -> bool:
    """Thin alias of ``access.may_sign`` (argument order of the old helper)."""
    return access.may_sign(actor, session)


def sign_record(session: GroupSession, actor: StaffUser, *, expected_version=UNCHECKED,
                now: datetime | None = None) -> GroupSession:
    """Sign a recorded, unsigned record as its facilitator (or an admin) and commit.

    Signs what is saved: a page signs through ``save_record(..., sign=True)`` so that what
    was typed since is saved with it. ``expected_version`` (the session's version the
    signer saw; missing or malformed counts as stale) refuses the signature with
    ``StaleRecord`` when the record changed meanwhile. The session must have started at
    ``now`` (local clinic time) and everyone on the roster must have a saved entry.
    """
    if not access.may_sign(actor, session):
        raise RuleViolation(SIGN_REFUSED)
    if session.signed_at is not None:
        raise RuleViolation("This record is already signed.")
    check_started(session, now or datetime.now())
    if session.recorded_at is None:
        raise RuleViolation("Nothing has been recorded for this session yet: save the record before signing it.")
    if expected_version is not UNCHECKED:
        try:
            check_version(session, expected_version)
        except StaleEdit:
            raise StaleRecord(SIGNED_MEANWHILE) from None
    missing = sum(1 for row in build(session).rows if row.attendance is None)
    if missing:
        raise RuleViolation(
            f"{missing} {'person' if missing == 1 else 'people'} on the roster "
            f"{'has' if missing == 1 else 'have'} no saved entry yet: save the record before signing it."
        )
    try:
        with acting(actor):
            session.signed_at = utcnow()
            session.signed_by_id = actor.id
            db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise StaleRecord(SIGNED_MEANWHILE) from None
    return session


def correct_entry(
    session: GroupSession,
    patient_id: int,
    changes: dict,
    reason: str,
    actor: StaffUser,
    *,
    expected_version=UNCHECKED,
) -> CorrectionResult:
    """Correct one person's entry on a signed record by an addendum, and commit.

    ``changes`` maps any of status, minutes, engagement and note to the corrected value
    (checked like a save). The attendance row is updated and an addendum keeps who, when,
    each field's [before, after] and the reason (required). Nothing else changes: not the
    other participants, not the signature. ``expected_version`` is the attendance row's
    version the form was opened with ("new" when there was none): a correction made
    meanwhile, or a missing or malformed version, refuses this one (``StaleRecord``).
    """
    if session.signed_at is None:
        raise RuleViolation("Only a signed record is corrected by addendum; edit the record itself instead.")
    unknown = set(changes) - set(CORRECTABLE)
    if unknown:
        raise RuleViolation(f"Only {', '.join(CORRECTABLE)} can be corrected.")
    record = build(session)
    row = record.row_for(patient_id)
    if row is None:
        raise RuleViolation("That person is not on this session's record.")
    attendance = row.attendance
    if expected_version is not UNCHECKED:
        try:
            check_optional_version(attendance, expected_version)
        except StaleEdit:
            raise StaleRecord(CORRECTED_MEANWHILE) from None
    current = {"status": row.status, "minutes": row.minutes, "engagement": row.engagement, "note": row.note}
    wanted = {**current, **changes}
    values, errors = check_attendance(wanted["status"], wanted["minutes"], wanted["engagement"],
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
        with acting(actor):
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

