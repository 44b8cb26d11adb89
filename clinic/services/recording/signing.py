"""Signing a session record: what was saved (or, from the page, what it shows) becomes final.

A signed record is final: nothing writes to it any more except a correction by addendum
(``correcting.py``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm.exc import StaleDataError

from ...extensions import db
from ...models import GroupSession, StaffUser
from ...models._types import utcnow
from .. import access
from ..errors import RuleViolation
from ..locking import UNCHECKED, StaleEdit, check_version
from .load import build
from .save import SIGN_REFUSED, acting
from .validate import StaleRecord, check_started

SIGNED_MEANWHILE = (
    "Someone else saved this session after you opened it, so it was not signed. "
    "Check the record as it is now and sign again."
)


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
