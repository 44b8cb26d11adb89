"""Text limits and value checks shared by every service that takes typed input.

A ``FieldViolation`` is a ``RuleViolation`` that names the form field it is about, so a
form can show the message at that field.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from .errors import RuleViolation

#: Longest individual note and group note, in characters (the record page and the admin forms).
NOTE_LIMIT = 4000
GROUP_NOTE_LIMIT = 8000
#: Longest reason for a correction (the column's size).
REASON_LIMIT = 500
#: Longest free text (descriptions, how-to, prompts) in characters.
TEXT_LIMIT = NOTE_LIMIT


class FieldViolation(RuleViolation):
    """A rule refused one field's value; ``field`` names the form field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def column_length(column: Any) -> int | None:
    """The length of a String column (a mapped attribute), None for unbounded text."""
    return getattr(column.property.columns[0].type, "length", None)


def text(values: dict, field: str, label: str, limit: int | None, *, required: bool = False) -> str:
    """The trimmed text in ``values[field]``; refused when too long or (if required) empty."""
    value = values.get(field)
    value = "" if value is None else str(value).strip()
    if required and not value:
        raise FieldViolation(field, f"Give the {label}.")
    if limit is not None and len(value) > limit:
        raise FieldViolation(field, f"Keep the {label} to {limit} characters or fewer.")
    return value


def whole(values: dict, field: str, label: str, low: int, high: int | None = None,
          *, required: bool = True) -> int | None:
    """The whole number in ``values[field]`` between ``low`` and ``high`` (inclusive)."""
    value = values.get(field)
    if value is None or value == "":
        if required:
            raise FieldViolation(field, f"Give the {label}.")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except ValueError:
            raise FieldViolation(field, f"The {label} is a whole number.") from None
    if value < low or (high is not None and value > high):
        span = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise FieldViolation(field, f"The {label} is a whole number {span}.")
    return value


def choice(values: dict, field: str, label: str, allowed: tuple[str, ...]) -> str:
    """The value in ``values[field]``, refused unless it is one of ``allowed``."""
    value = values.get(field)
    if value not in allowed:
        raise FieldViolation(field, f"The {label} must be one of: {', '.join(allowed)}.")
    return value


def day(values: dict, field: str, label: str, *, required: bool = True,
        not_after: date | None = None) -> date | None:
    """The date in ``values[field]``; refused when missing (if required) or after ``not_after``."""
    value = values.get(field)
    if value is None or value == "":
        if required:
            raise FieldViolation(field, f"Give the {label}.")
        return None
    if not isinstance(value, date):
        raise FieldViolation(field, f"The {label} is a date.")
    if not_after is not None and value > not_after:
        raise FieldViolation(field, f"The {label} cannot be after {not_after.isoformat()}.")
    return value


def required_row(values: dict, field: str, label: str) -> Any:
    """The record chosen in ``values[field]``; refused when none was chosen."""
    value = values.get(field)
    if value is None:
        raise FieldViolation(field, f"Choose the {label}.")
    return value


__all__ = [
    "FieldViolation",
    "GROUP_NOTE_LIMIT",
    "NOTE_LIMIT",
    "REASON_LIMIT",
    "TEXT_LIMIT",
    "choice",
    "column_length",
    "day",
    "required_row",
    "text",
    "whole",
]
