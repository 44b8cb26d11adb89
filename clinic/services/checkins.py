"""Exercise check-ins: whether a patient did an assigned exercise on a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from ..extensions import db
from ..models import CHECKIN_OUTCOMES, Assignment, ExerciseCheckin, GroupSession, StaffUser
from .errors import RuleViolation

REFLECTION_LIMIT = 280


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
    """Copy ``values`` onto ``checkin``."""
    checkin.outcome = values.outcome
    checkin.mood_before = values.mood_before
    checkin.mood_after = values.mood_after
    checkin.reflection = (values.reflection or "").strip()


def record_checkin(
    assignment: Assignment,
    on_date: date,
    values: CheckinInput,
    *,
    recorded_by: StaffUser | None = None,
    session: GroupSession | None = None,
    today: date | None = None,
    commit: bool = True,
) -> ExerciseCheckin:
    """Record (or update: never duplicate) the check-in of ``assignment`` for ``on_date``."""
    errors = validate(values, assignment, on_date, today or date.today())
    if errors:
        raise RuleViolation(" ".join(errors.values()))
    checkin = db.session.scalar(
        sa.select(ExerciseCheckin).where(
            ExerciseCheckin.assignment_id == assignment.id, ExerciseCheckin.on_date == on_date
        )
    )
    if checkin is None:
        checkin = ExerciseCheckin(assignment_id=assignment.id, on_date=on_date)
        db.session.add(checkin)
    apply(checkin, values)
    checkin.recorded_by_id = recorded_by.id if recorded_by else None
    if session is not None:
        checkin.session_id = session.id
    if commit:
        db.session.commit()
    return checkin
