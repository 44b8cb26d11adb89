"""The session list's record state: its filter (not recorded, saved (unsigned), signed) and its words."""

from __future__ import annotations

from flask_admin.contrib.sqla.filters import BaseSQLAFilter

from ..models import GroupSession
from ..services import unfinished


class RecordStateFilter(BaseSQLAFilter):
    """Sessions whose record is in one state; the states are defined in ``services.unfinished``."""

    def __init__(self) -> None:
        super().__init__(GroupSession.signed_at, "Record", options=unfinished.RECORD_STATES)

    def validate(self, value) -> bool:
        return value in dict(unfinished.RECORD_STATES)

    def apply(self, query, value, alias=None):
        return query.filter(unfinished.record_state_clause(value))

    def operation(self):
        return "is"


def record_state_text(view, context, model, name) -> str:
    """The record state in the words of the filter: "saved (unsigned)" rather than "recorded"."""
    return unfinished.record_state_label(model.record_state)
