"""The session list's record-state filter: not recorded, saved (unsigned) or signed."""

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
