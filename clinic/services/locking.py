"""Optimistic locking: the one check every save makes before it writes.

Every edited table carries a ``version`` column that each UPDATE increments. A page
carries the version of each row it showed; a save brings it back, and is refused when
the row moved on meanwhile. A version that is missing, blank or not a number is refused
exactly like a stale one: a hand-altered form must not skip the check.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from ..extensions import db
from .errors import RuleViolation

STALE_MESSAGE = (
    "Someone else saved this record after you opened it. Your changes were not saved "
    "and are still in the form: reload the record in another tab, compare, and apply them again."
)


#: Passed as the version by callers that are not a page (the demo clinic, the CLI, tests of
#: rules): the save is not checked against what someone saw. A page always passes what it got.
UNCHECKED = object()


class StaleEdit(RuleViolation):
    """The row changed after the page was opened (or the page sent no version); nothing was saved."""

    def __init__(self, message: str = STALE_MESSAGE):
        super().__init__(message)


def parse_version(submitted: Any, message: str | None = None) -> int:
    """Return the version a form sent as an int; ``StaleEdit`` when missing, blank or malformed."""
    if isinstance(submitted, bool):
        raise StaleEdit(message or STALE_MESSAGE)
    if isinstance(submitted, int):
        value = submitted
    else:
        text = "" if submitted is None else str(submitted).strip()
        if not text.isdigit() or len(text) > 18:
            raise StaleEdit(message or STALE_MESSAGE)
        value = int(text)
    if value < 1:
        raise StaleEdit(message or STALE_MESSAGE)
    return value


def check_version(row: Any, submitted: Any, message: str | None = None) -> int:
    """Refuse (``StaleEdit``) unless ``submitted`` is ``row``'s current version; return it.

    ``row`` is any model with a ``version`` column. The UPDATE that follows checks the
    version again in its WHERE clause (SQLAlchemy's ``version_id_col``), so a save that
    races this check between two servers is refused as well.
    """
    expected = parse_version(submitted, message)
    if getattr(row, "version", None) != expected:
        raise StaleEdit(message or STALE_MESSAGE)
    return expected


def check_version_unless_unchecked(row: Any, submitted: Any, message: str | None = None) -> None:
    """``check_version`` unless the caller passed ``UNCHECKED`` (it is not a page)."""
    if submitted is not UNCHECKED:
        check_version(row, submitted, message)


def check_optional_version(row: Any | None, submitted: Any, message: str | None = None) -> None:
    """Like ``check_version`` for a row the page may have shown as absent.

    The page sends ``"new"`` for a row that did not exist when it was opened: then the
    row must still not exist. Otherwise the row must exist with the submitted version.
    """
    text = "" if submitted is None else str(submitted).strip()
    if text == "new":
        if row is not None:
            raise StaleEdit(message or STALE_MESSAGE)
        return
    if row is None:
        raise StaleEdit(message or STALE_MESSAGE)
    check_version(row, submitted, message)


def add_unless_taken(row: Any) -> Any:
    """Add ``row``, new under a unique key the page saw free; ``StaleEdit`` when someone took it meanwhile.

    The insert runs in a savepoint, so the refusal leaves the rest of the transaction alone.
    """
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        raise StaleEdit() from None
    return row


def flush_unless_stale() -> None:
    """Write the pending changes; ``StaleEdit`` when a changed row's version moved on meanwhile."""
    try:
        db.session.flush()
    except StaleDataError:
        raise StaleEdit() from None


__all__ = [
    "STALE_MESSAGE", "UNCHECKED", "StaleEdit", "add_unless_taken", "check_optional_version", "check_version",
    "check_version_unless_unchecked", "flush_unless_stale", "parse_version",
]
