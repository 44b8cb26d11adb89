"""Input bounded at the edge: no NUL bytes, ids within 32 bits, dates within a sane window.

Values outside these bounds would otherwise reach the database (PostgreSQL refuses
NUL bytes and integers over 2**31 - 1) or date arithmetic (``date.max`` overflows) and
end in a 500. They are refused before any view runs: a 404 for an id that cannot
exist, a 400 with a plain message for anything else.
"""

from __future__ import annotations

import re

from flask import request
from wtforms.validators import ValidationError

MAX_INT = 2**31 - 1
MIN_YEAR = 1900
MAX_YEAR = 2200
NUL_MESSAGE = "This field contains a character that cannot be stored (a NUL byte)."

_INTEGER = re.compile(r"[+-]?\d+")
_DATE = re.compile(r"([+-]?\d+)-\d{1,2}-\d{1,2}([T ].*)?")
#: Query arguments that hold typed text, not ids or dates.
_TEXT_ARGUMENTS = frozenset({"search"})
#: Views that refuse a NUL byte in their own form, with a message at the field (besides
#: every model view's create and edit forms, see ``SecureModelView.validate_form``).
_OWN_NUL_CHECK = frozenset({"auth.login"})
#: Form fields that carry ids (besides any ``*_id``).
_ID_FIELDS = frozenset({"id", "session", "patient", "group", "track", "exercise", "assignment",
                        "counselor", "facilitator", "row_version", "version"})


class InputRefused(Exception):
    """A request argument is outside what the app can handle."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def no_nul(form, field) -> None:
    """WTForms validator: refuse a NUL byte."""
    if isinstance(field.data, str) and "\x00" in field.data:
        raise ValidationError(NUL_MESSAGE)


def _beyond_int(text: str) -> bool:
    """True when the integer ``text`` does not fit 32 bits (judged by length first: no huge ``int()``)."""
    digits = text.lstrip("+-").lstrip("0")
    return len(digits) > 10 or (digits != "" and int(digits) > MAX_INT)


def _far_date(text: str) -> bool:
    """True when ``text`` looks like a date whose year lies outside the app's window."""
    match = _DATE.fullmatch(text)
    if not match:
        return False
    year = match.group(1).lstrip("+-").lstrip("0")
    return match.group(1).startswith("-") or len(year) > 4 or not MIN_YEAR <= int(year or "0") <= MAX_YEAR


def _check_argument(name: str, value: str) -> None:
    if "\x00" in value:
        raise InputRefused(400, "The address contains a character that cannot be used (a NUL byte).")
    if name in _TEXT_ARGUMENTS:
        return
    text = value.strip()
    if _INTEGER.fullmatch(text):
        if _beyond_int(text):
            raise InputRefused(404, "There is no page at this address.")
        return
    if _far_date(text):
        raise InputRefused(400, f"Dates must lie between {MIN_YEAR} and {MAX_YEAR}.")


def _checks_nul_itself(endpoint: str) -> bool:
    """True for views that refuse a NUL byte at the field (the login, model create/edit forms)."""
    return endpoint in _OWN_NUL_CHECK or endpoint.endswith((".create_view", ".edit_view"))


def check_request() -> None:
    """Refuse query arguments and form values the app cannot handle (before each request)."""
    for name, value in request.args.items(multi=True):
        _check_argument(name, value)
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    own_check = _checks_nul_itself(request.endpoint or "")
    for name, value in request.form.items(multi=True):
        if "\x00" in value and not own_check:
            raise InputRefused(400, "The form contains a character that cannot be stored (a NUL byte). Nothing was saved.")
        text = value.strip()
        if (name in _ID_FIELDS or name.endswith("_id")) and _INTEGER.fullmatch(text) and _beyond_int(text):
            raise InputRefused(404, "There is no page at this address.")
        if _far_date(text):
            raise InputRefused(400, f"Dates must lie between {MIN_YEAR} and {MAX_YEAR}. Nothing was saved.")
