"""A track's default goal in the languages patients read: the one home of its translations.

English is the track's own ``default_goal`` (edited on the track's page). A goal made from
it (``PlanGoal.from_track_default``) stores the English text, and that text is how it is
matched to the default, so what is stored never changes here. What changes is what the
patient progress sheet prints (``goal_text``): the translation into the patient's language
while the goal is still the track's default word for word (an edited goal prints as typed,
and so does a goal whose track's default changed since) and a translation exists; else the
statement as typed.

Saving (``save_goal``) is refused, changing nothing, for an unknown language, for English,
for a text longer than the English may be and for a row that changed since the form was
opened; nothing is committed here, the caller commits. The change is audited like every
edit (the flush writes the event). Printers read translations with ``goal_rows``: one
statement for any number of tracks and languages.
"""

from __future__ import annotations

from typing import Iterable

import sqlalchemy as sa

from ..extensions import db
from ..models import Track, TrackText
from . import languages
from .exercise_texts import translation_language
from .limits import text
from .locking import add_unless_taken, check_optional_version, flush_unless_stale

#: The most characters a default goal may hold, in English as in any language (a CHECK on both tables).
GOAL_LIMIT = 1000


def goal_rows(track_ids: Iterable[int], codes: Iterable[str]) -> dict[tuple[int, str], str]:
    """``(track id, language)`` -> the translated default goal, for the tracks ``track_ids`` in
    the languages ``codes`` (English and languages not available are not read). Always one
    statement, whatever the tracks and languages, so a batch reads the same number of
    statements however its patients' tracks and languages mix."""
    ids = sorted({i for i in track_ids if i is not None})
    wanted = sorted({code for code in codes
                     if code and code != languages.SOURCE_LANGUAGE and code in languages.available()})
    return {(track_id, language): goal for track_id, language, goal in db.session.execute(
        sa.select(TrackText.track_id, TrackText.language, TrackText.default_goal)
        .where(TrackText.language.in_(wanted), TrackText.track_id.in_(ids)))}


def goal_text(statement: str, from_track_default: bool, track_id: int | None, track_default: str | None,
              language: str | None, rows: dict[tuple[int, str], str]) -> str:
    """What to print for a goal in ``language``: the track's translated default goal only when
    the goal was made from the default, its statement still equals the track's current English
    default and a non-blank translation is in ``rows`` (``goal_rows``); else ``statement`` as typed."""
    if not from_track_default or track_id is None or not (track_default or "").strip():
        return statement
    if (statement or "").strip() != track_default.strip():
        return statement
    translated = (rows.get((track_id, language or "")) or "").strip()
    return translated or statement


def translation(track: Track, language: str) -> TrackText | None:
    """The saved translation of ``track``'s default goal into ``language``, if any."""
    return db.session.scalar(sa.select(TrackText).where(
        TrackText.track_id == track.id, TrackText.language == language))


def version_of(row: TrackText | None) -> str:
    """What a form carries for a translation: its version, or ``new`` when there is none yet."""
    return "new" if row is None else str(row.version)


#: Why an "English translation" of a track's goal is refused.
ENGLISH_GOAL_REFUSED = ("English is the track's own default goal: change it on the track's page. "
                        "Choose another language to translate into.")


def save_goal(track: Track, language, value, version) -> TrackText:
    """Save ``track``'s default goal in ``language`` (blank: printed in English).

    ``version`` is what the form carried: the row's version, or ``"new"`` when it showed
    none. Refused (``FieldViolation``/``StaleEdit``), changing nothing: an unknown language,
    English, a text longer than 1000 characters, a stale or missing version.
    """
    code = translation_language(language, refused=ENGLISH_GOAL_REFUSED)
    clean = text({"default_goal": value}, "default_goal", "default goal", GOAL_LIMIT)
    row = translation(track, code)
    check_optional_version(row, version)
    if row is None:
        # Saved by someone else between the check and the insert: StaleEdit.
        row = add_unless_taken(TrackText(track_id=track.id, language=code, default_goal=clean))
        db.session.flush()
        return row
    if row.default_goal != clean:
        row.default_goal = clean
    flush_unless_stale()
    return row


__all__ = ["GOAL_LIMIT", "goal_rows", "goal_text", "save_goal", "translation", "version_of"]
