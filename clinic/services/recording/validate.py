"""What staff entered on the record page, and its checks: entries, values, the clock.

Nothing here writes: ``save.py`` and ``signing.py`` call these checks before they do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from ...models import ATTENDANCE_STATUSES, ExerciseCheckin, GroupSession
from .. import checkins
from ..errors import RuleViolation
from ..limits import NOTE_LIMIT
from ..locking import StaleEdit
from .load import STATUS_LABELS, ExerciseLine

#: Statuses that mean the person was not there at all (0 minutes).
NOT_THERE = ("absent", "excused")
#: Statuses that mean part of the session (fewer minutes than its length).
PART_OF_IT = ("late", "left_early")
#: The check-in fields, as the form and the columns name them.
CHECKIN_FIELDS = ("outcome", "mood_before", "mood_after", "reflection")
#: The attendance fields a correction may change: form name -> column.
CORRECTABLE = {"status": "status", "minutes": "minutes_attended", "engagement": "engagement", "note": "note"}

STALE_MESSAGE = (
    "Someone else saved this session after you opened it. Nothing was saved. The page now "
    "shows what is saved, with the changes you made put back on top (marked): check them "
    "and save again."
)
SIGNED_MESSAGE = (
    "This record is signed, so it can no longer be edited. Correct one person's entry "
    "with an addendum instead."
)
SIGNED_CHECKIN_MESSAGE = (
    "This check-in belongs to a signed session record, so it can no longer be edited here. "
    "Correct it on that record with an addendum instead."
)


class StaleRecord(StaleEdit):
    """The record changed after it was opened (or the page sent no version); nothing was saved.

    ``lines`` holds the assignment ids of the check-in lines that moved on meanwhile.
    """

    def __init__(self, message: str = STALE_MESSAGE, lines: frozenset[int] = frozenset()):
        super().__init__(message)
        self.lines = frozenset(lines)


#: A whole number as typed (a string), as parsed (an int), or nothing.
Number = int | str | None


@dataclass
class CheckinEntry:
    """What was entered for one exercise: an empty outcome means no check-in."""

    outcome: str = ""
    mood_before: Number = None
    mood_after: Number = None
    reflection: str = ""
    #: The check-in's version the page was opened with ("new" when none existed); None when
    #: the caller is not a page (then the line is compared with what is saved now).
    version: int | str | None = None
    #: The four fields as the page showed them (strings); None when unknown.
    shown: dict | None = None

    @property
    def blank(self) -> bool:
        """True when nothing at all was entered."""
        return not (self.outcome or _text(self.mood_before) or _text(self.mood_after)
                    or (self.reflection or "").strip())


@dataclass
class Entry:
    """What was entered for one person; numbers may still be the typed text."""

    patient_id: int
    status: str = "present"
    #: Empty means the default: the full length when present, 0 when absent or excused.
    minutes: Number = None
    #: The minutes late or left early as typed, when the page asked for those instead of the
    #: minutes attended (None when it did not): the minutes attended are the length less them.
    missed: Number = None
    engagement: Number = None
    note: str = ""
    #: Assignment id -> what was entered for it.
    checkins: dict[int, CheckinEntry] = field(default_factory=dict)



INVALID = object()


def _text(value: Number) -> str:
    return "" if value is None else str(value).strip()


def whole(value: Number):
    """The int in ``value``; None when empty; ``INVALID`` when it is not a whole number."""
    if value is None:
        return None
    if isinstance(value, bool):
        return INVALID
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return INVALID


def missed_words(status: str) -> str:
    """What the minutes a person missed are called for ``status`` ("minutes late", ...)."""
    return {"late": "minutes late", "left_early": "minutes left early"}.get(status, "minutes late or left early")


def asks_missed(status: str) -> bool:
    """True when a person's minutes are entered as minutes late or left early for ``status``."""
    return status in PART_OF_IT


def missed_from_attended(status: str, minutes: int, length: int) -> str:
    """The minutes late or left early that a saved entry stands for ("" unless late or left early)."""
    return str(length - minutes) if status in PART_OF_IT else ""


def attended_from_missed(status, missed: Number, length: int):
    """Return (minutes attended, error or None) for minutes late or left early as typed.

    Late and left early take 1 to length - 1 missed minutes (a whole session missed is
    absent, none is present); present may miss 0 to length - 1 (empty: none); absent and
    excused missed the whole session, so the figure is empty or the length.
    """
    words = missed_words(status)
    gone = whole(missed)
    if gone is INVALID:
        return None, f"The {words} are a whole number."
    if status in NOT_THERE:
        if gone not in (None, length):
            return None, f"Someone {STATUS_LABELS[status]} missed the whole session: clear the {words}."
        return 0, None
    if status in PART_OF_IT:
        if length <= 1:
            return None, "A one-minute session cannot be attended in part."
        if gone is None or not 1 <= gone < length:
            return None, (f"Give the {words} as a whole number from 1 to {length - 1} "
                          f"(the session is {length} minutes).")
        return length - gone, None
    if gone is None:
        return length, None
    if not 0 <= gone < length:
        return None, f"Someone present can have missed 0 to {length - 1} minutes (the session is {length} minutes)."
    return length - gone, None


def check_attendance(status, minutes: Number, engagement: Number, note, length: int, missed: Number = None):
    """Return (clean values by column, errors by field) for one person's entry.

    ``minutes`` are the minutes attended; when ``missed`` (minutes late or left early, as
    typed) is given instead, the minutes attended are computed from it and its errors are
    worded in its terms. Either way the error is at ``minutes``.
    """
    errors: dict[str, str] = {}
    if missed is not None:
        minutes, problem = attended_from_missed(status, missed, length)
        if problem:
            errors["minutes"] = problem
    minutes = whole(minutes)
    engagement = whole(engagement)
    note = (note or "").strip()
    if status not in ATTENDANCE_STATUSES:
        errors["status"] = "Choose present, late, left early, absent or excused."
    if "minutes" in errors:
        pass
    elif minutes is INVALID:
        errors["minutes"] = "Minutes are a whole number."
    elif status in NOT_THERE:
        if minutes not in (None, 0):
            errors["minutes"] = f"Someone {STATUS_LABELS[status]} attended 0 minutes."
        minutes = 0
    elif status in PART_OF_IT:
        if length <= 1:
            errors["minutes"] = "A one-minute session cannot be attended in part."
        elif minutes is None or not 0 < minutes < length:
            errors["minutes"] = (
                f"Late or left early means fewer minutes than the session's {length}: "
                f"give 1 to {length - 1}."
            )
    elif status == "present":
        if minutes is None:
            minutes = length
        elif not 1 <= minutes <= length:
            errors["minutes"] = f"Present means 1 to {length} minutes (the session's length)."
    if engagement is INVALID or (engagement is not None and not 1 <= engagement <= 5):
        errors["engagement"] = "Engagement is a whole number from 1 to 5, or empty."
    elif engagement is not None and status in NOT_THERE:
        errors["engagement"] = "Leave engagement empty for someone absent or excused."
    if len(note) > NOTE_LIMIT:
        errors["note"] = f"Keep the note to {NOTE_LIMIT} characters or fewer."
    values = {"status": status, "minutes_attended": minutes, "engagement": engagement, "note": note}
    return values, errors


def check_checkin(entry: CheckinEntry, line: ExerciseLine | None, day: date, today: date):
    """Return (CheckinInput or None when no check-in is meant, errors by field)."""
    if line is None or not line.editable:
        if entry.blank or (line is not None and same_checkin(line.checkin, entry)):
            return None, {}
        return None, {"record": "A check-in was entered for an exercise that is no longer active for "
                                "that person. Nothing was saved: reload the page and enter it again."}
    if not (entry.outcome or "").strip():
        if line.checkin is not None:
            return None, {"outcome": "This check-in is already saved: choose done, partly or not done "
                                     "(a saved check-in is not removed from here)."}
        if not entry.blank:
            return None, {"outcome": "Choose done, partly or not done, or clear the mood and reflection."}
        return None, {}
    errors: dict[str, str] = {}
    moods = {}
    for name in ("mood_before", "mood_after"):
        mood = whole(getattr(entry, name))
        if mood is INVALID:
            errors[name] = "Mood is a number from 0 to 10."
            mood = None
        moods[name] = mood
    values = checkins.CheckinInput(
        outcome=entry.outcome.strip(), reflection=(entry.reflection or "").strip(), **moods
    )
    for name, message in checkins.validate(values, line.assignment, day, today).items():
        errors.setdefault(name if name in ("outcome", "mood_before", "mood_after", "reflection") else "outcome",
                          message)
    return values, errors


def same_checkin(checkin: ExerciseCheckin | None, entry: CheckinEntry) -> bool:
    """True when ``entry`` holds exactly what ``checkin`` saved."""
    if checkin is None:
        return False
    return (
        checkin.outcome == (entry.outcome or "").strip()
        and checkin.mood_before == whole(entry.mood_before)
        and checkin.mood_after == whole(entry.mood_after)
        and checkin.reflection == (entry.reflection or "").strip()
    )



def touched(entry: CheckinEntry, checkin: ExerciseCheckin | None) -> set[str]:
    """The check-in fields the person changed: against what the page showed, else what is saved."""
    typed = _checkin_texts(entry)
    if entry.shown is not None:
        before = _checkin_texts(CheckinEntry(**{name: entry.shown.get(name) for name in CHECKIN_FIELDS}))
    elif checkin is not None:
        before = _checkin_texts(CheckinEntry(checkin.outcome, checkin.mood_before, checkin.mood_after,
                                             checkin.reflection))
    else:
        before = _checkin_texts(CheckinEntry())
    return {name for name in CHECKIN_FIELDS if typed[name] != before[name]}


def _checkin_texts(entry: CheckinEntry) -> dict[str, str]:
    return {"outcome": (entry.outcome or "").strip(), "mood_before": _text(entry.mood_before),
            "mood_after": _text(entry.mood_after), "reflection": (entry.reflection or "").strip()}


def check_session_open(session: GroupSession, now: datetime) -> None:
    """Refuse (``RuleViolation``) unless ``session`` may be recorded at ``now``.

    Not once signed, not when cancelled, and not before it starts (``starts_at`` is local
    clinic time, like ``now``); a session in progress may be recorded.
    """
    if session.signed_at is not None:
        raise RuleViolation(SIGNED_MESSAGE)
    if session.status == "cancelled":
        raise RuleViolation("This session was cancelled, so there is no participation to record.")
    check_started(session, now)


def has_started(session, now: datetime) -> bool:
    """True once ``session`` (anything with ``starts_at``) has started at ``now``: it may be recorded."""
    return session.starts_at <= now


def check_started(session: GroupSession, now: datetime) -> None:
    """Refuse (``RuleViolation``) when ``session`` has not started at ``now``."""
    if not has_started(session, now):
        raise RuleViolation(
            f"This session starts at {session.starts_at.strftime('%Y-%m-%d %H:%M')}; "
            "it can be recorded and signed once it has started."
        )
