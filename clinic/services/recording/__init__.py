"""Recording a whole session on one page: attendance, exercise check-ins and the group note.

The counselor opens a session's record (``load``), changes only the exceptions (everyone
starts as present for the full length), checks in exercises, writes the group note and
saves once (``save``, after the checks in ``validate``). The facilitator signs the record
(``signing``); after that it changes only by addendum (``correcting``). Check-in rules live in
``clinic.services.checkins``.
"""

from ..limits import GROUP_NOTE_LIMIT, NOTE_LIMIT, REASON_LIMIT
from .load import OUTCOME_LABELS, STATUS_LABELS, ExerciseLine, RecordRow, SessionRecord, load_record
from .save import SaveResult, save_record
from .correcting import CorrectionResult, correct_entry, correct_group_note
from .signing import UNCHECKED, sign_record
from .validate import (
    CORRECTABLE,
    CheckinEntry,
    Entry,
    StaleRecord,
    asks_missed,
    attended_from_missed,
    has_started,
    missed_from_attended,
    missed_words,
)

__all__ = [
    "CORRECTABLE",
    "GROUP_NOTE_LIMIT",
    "NOTE_LIMIT",
    "OUTCOME_LABELS",
    "REASON_LIMIT",
    "STATUS_LABELS",
    "UNCHECKED",
    "CheckinEntry",
    "CorrectionResult",
    "Entry",
    "ExerciseLine",
    "RecordRow",
    "SaveResult",
    "SessionRecord",
    "StaleRecord",
    "asks_missed",
    "attended_from_missed",
    "correct_entry",
    "correct_group_note",
    "has_started",
    "load_record",
    "missed_from_attended",
    "missed_words",
    "save_record",
    "sign_record",
]
