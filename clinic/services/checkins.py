"""Exercise check-ins: whether a patient did an assigned exercise on a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from ..extensions import db
from ..models import CHECKIN_OUTCOMES, Assignment, ExerciseCheckin, GroupSession, StaffUser
from .errors import RuleViolation
from .locking import UNCHECKED, check_optional_version

STALE_MESSAGE = (
    "There is already a check-in for this day that you had not seen: it was saved after you opened "
    "the page, or the day was changed in the form. It is listed below. Nothing was saved and your "
    "entry is still in the form: compare, then save again to replace it."
)

REFLECTION_LIMIT = 280
SIGNED_MESSAGE = (
    "This check-in belongs to a signed session record, so it can no longer be changed here. "
    "It is corrected on that record with an addendum."
)


@dataclass(frozen=True)
class CheckinInput:
    """What staff entered for one check-in, already parsed from the form."""

    outcome: str
    mood_before: int | None = None
    mood_after: int | None = None
    reflection: str = ""


def validate(values: CheckinInput, assignment: Assignment, on_date: date, today: date | None = None) -> dict[str, str]:
    """Return field name -> message for everything wrong with ``values`` (empty when fine)."""
    errors: dict[str, str] = {}
    if values.outcome not in CHECKIN_OUTCOMES:
        errors["outcome"] = "Choose done, partly or not done."
    for name in ("mood_before", "mood_after"):
        mood = getattr(values, name)
        if mood is not None and not (0 <= mood <= 10):
            errors[name] = "Mood is a number from 0 to 10."
    if len(values.reflection or "") > REFLECTION_LIMIT:
        errors["reflection"] = f"Keep the reflection to one line ({REFLECTION_LIMIT} characters at most)."
    if on_date < assignment.start_date:
        errors["on_date"] = f"The exercise was assigned from {assignment.start_date.isoformat()}."
    if today is not None and on_date > today:
        errors["on_date"] = "A check-in cannot be for a day that has not come yet."
    if assignment.status != "active":
        errors["assignment"] = f"This assignment is {assignment.status}; check-ins need an active one."
    return errors


def apply(checkin: ExerciseCheckin, values: CheckinInput) -> None:
    """Copy onto ``checkin`` the fields of ``values`` that differ from what it holds."""
    wanted = {"outcome": values.outcome, "mood_before": values.mood_before,
              "mood_after": values.mood_after, "reflection": (values.reflection or "").strip()}
    for name, value in wanted.items():
        if getattr(checkin, name) != value:
            setattr(checkin, name, value)


def saved_checkin(assignment_id: int, on_date: date) -> ExerciseCheckin | None:
    """The check-in of ``assignment_id`` for ``on_date``, if one is saved."""
    return db.session.scalar(
        sa.select(ExerciseCheckin).where(
            ExerciseCheckin.assignment_id == assignment_id, ExerciseCheckin.on_date == on_date
        )
    )


def signed(checkin: ExerciseCheckin | None) -> bool:
    """True when ``checkin`` belongs to a signed session record."""
    if checkin is None or checkin.session_id is None:
        return False
    session = db.session.get(GroupSession, checkin.session_id)
    return session is not None and session.signed_at is not None


def record_checkin(
    assignment: Assignment,
    on_date: date,
    values: CheckinInput,
    *,
    recorded_by: StaffUser | None = None,
    session: GroupSession | None = None,
    today: date | None = None,
    commit: bool = True,
    expected_version=UNCHECKED,
) -> ExerciseCheckin:
    """Record (or update: never duplicate) the check-in of ``assignment`` for ``on_date``.

    Refused (``RuleViolation``) when a value is wrong, or when the check-in (or
    ``session``) belongs to a signed session record. ``expected_version`` is the version of
    the check-in the form was opened with ("new" when there was none): a check-in saved
    meanwhile, or a missing or malformed version, refuses the save (``StaleEdit``). Only
    the fields that differ from what is saved are written.
    """
    errors = validate(values, assignment, on_date, today or date.today())
    if errors:
        raise RuleViolation(" ".join(errors.values()))
    if session is not None and session.signed_at is not None:
        raise RuleViolation(SIGNED_MESSAGE)
    checkin = saved_checkin(assignment.id, on_date)
    if expected_version is not UNCHECKED:
        check_optional_version(checkin, expected_version, STALE_MESSAGE)
    if signed(checkin):
        raise RuleViolation(SIGNED_MESSAGE)
    if checkin is None:
        checkin = ExerciseCheckin(assignment_id=assignment.id, on_date=on_date)
        db.session.add(checkin)
    apply(checkin, values)
    recorder = recorded_by.id if recorded_by else None
    if checkin.recorded_by_id != recorder:
        checkin.recorded_by_id = recorder
    if session is not None and checkin.session_id != session.id:
        checkin.session_id = session.id
    if commit:
        db.session.commit()
    return checkin
