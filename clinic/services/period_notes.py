"""The counselor's summary and next steps for a patient over a period, kept with the period.

Typed on the progress sheet's print form, they are saved when the form is printed
(``save_note``), shown on the patient's page (``latest_notes``) and offered again when the
same period is printed again (``note_for``). One row per patient and period: printing the
period again updates it (the audit trail keeps every earlier text, with who and when);
a form carries the row's version as it showed it ("new" when there was none) and a save
from an older version is refused with ``StaleEdit``, the typed text kept by the page.
Counselors only for patients on their caseload.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from ..extensions import db
from ..models import Patient, PeriodNote
from ..models._types import utcnow
from . import limits
from .access import may_see_patient
from .errors import RuleViolation
from .locking import UNCHECKED, add_unless_taken, check_optional_version, flush_unless_stale

#: The most characters the summary and the next steps may each hold (the table's CHECK too).
TEXT_LIMIT = limits.NOTE_LIMIT
#: How many notes the patient's page shows.
NOTES_SHOWN = 3

NOT_YOURS = "You can write a summary only for patients on your caseload."


@dataclass(frozen=True)
class NoteLine:
    """A saved summary and next steps as the patient page shows them."""

    id: int
    period_from: date
    period_to: date
    summary: str
    next_steps: str
    author: str
    written_at: datetime


def _clean(text: str | None) -> str:
    """Typed text with Windows line ends made plain and the ends trimmed."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def check_text(summary: str | None, next_steps: str | None) -> tuple[str, str]:
    """The summary and next steps as they would be saved; ``FieldViolation`` when one is too long."""
    values = {"summary": _clean(summary), "next_steps": _clean(next_steps)}
    return (limits.text(values, "summary", "summary", TEXT_LIMIT),
            limits.text(values, "next_steps", "next steps", TEXT_LIMIT))


def note_for(patient_id: int, start: date, end: date) -> PeriodNote | None:
    """The saved summary and next steps of ``patient_id`` for exactly ``start`` to ``end``."""
    return db.session.scalar(sa.select(PeriodNote).where(
        PeriodNote.patient_id == patient_id, PeriodNote.period_from == start, PeriodNote.period_to == end,
    ))


def notes_for(patient_ids, start: date, end: date) -> dict[int, PeriodNote]:
    """Patient id -> the saved note for exactly ``start`` to ``end``, for many patients (one statement)."""
    ids = sorted({int(pid) for pid in patient_ids})
    if not ids:
        return {}
    rows = db.session.scalars(sa.select(PeriodNote).where(
        PeriodNote.patient_id.in_(ids), PeriodNote.period_from == start, PeriodNote.period_to == end,
    ))
    return {row.patient_id: row for row in rows}


def version_of(note: PeriodNote | None) -> str:
    """What a form carries for ``note``: its version, or "new" when there is none yet."""
    return "new" if note is None else str(note.version)


def latest_notes(patient_id: int, limit: int = NOTES_SHOWN) -> list[NoteLine]:
    """The patient's most recently written summaries, newest first, with their authors (one statement)."""
    rows = db.session.scalars(
        sa.select(PeriodNote).where(PeriodNote.patient_id == patient_id)
        .options(sa.orm.joinedload(PeriodNote.author))
        .order_by(PeriodNote.written_at.desc(), PeriodNote.id.desc()).limit(limit)
    ).all()
    return [NoteLine(id=r.id, period_from=r.period_from, period_to=r.period_to, summary=r.summary,
                     next_steps=r.next_steps, author=r.author.full_name if r.author else "command line",
                     written_at=r.written_at) for r in rows]


def save_note(user, patient: Patient, start: date, end: date, summary: str | None, next_steps: str | None,
              version=UNCHECKED) -> PeriodNote | None:
    """Keep ``summary`` and ``next_steps`` for ``patient`` over ``start`` to ``end``; flushed, not committed.

    ``version`` is what the form carried (``version_of`` when it was opened): "new" when
    there was no note for the period, else the note's version. Creates the note, updates
    it (author and time become the writer's and now), or leaves it alone when nothing
    changed; nothing is created for empty text. The audit listener records the create or
    update, with old and new text, in the same transaction. Refuses with
    ``RuleViolation``: a patient not on a counselor's caseload, a reversed period, text
    over the limit (``FieldViolation``), a stale version (``StaleEdit``).
    """
    if user is not None and not may_see_patient(user, patient.id):
        raise RuleViolation(NOT_YOURS)
    if start is None or end is None or end < start:
        raise RuleViolation("Give a period whose last day is not before its first.")
    summary, next_steps = check_text(summary, next_steps)
    note = note_for(patient.id, start, end)
    if note is None and not summary and not next_steps:
        return None  # nothing typed, nothing saved: nothing to create or to overwrite
    if version is not UNCHECKED:
        check_optional_version(note, version)
    if note is None:
        # Someone may have saved the same period a moment ago: then StaleEdit.
        return add_unless_taken(PeriodNote(patient_id=patient.id, period_from=start, period_to=end, summary=summary,
                                           next_steps=next_steps, author_id=getattr(user, "id", None),
                                           written_at=utcnow()))
    if note.summary == summary and note.next_steps == next_steps:
        return note
    note.summary, note.next_steps = summary, next_steps
    note.author_id, note.written_at = getattr(user, "id", None), utcnow()
    flush_unless_stale()
    return note


__all__ = ["NOTES_SHOWN", "NoteLine", "TEXT_LIMIT", "check_text", "latest_notes", "note_for", "notes_for",
           "save_note",
           "version_of"]
