"""An exercise's words in the languages patients read: the one home of translated catalogue text.

English is the exercise's own text (``kindness_exercise``, edited on the exercise's page);
every other language of ``services.languages`` may have an ``exercise_text`` row per
exercise. A translated field left blank is not translated yet: it prints in English, field
by field (``words_for``), and the exercise shows in the planners' list of what is missing
(``missing``). Saving a translation (``save_translation``) is refused for an unknown
language, for English, for a text longer than the English field may be, and for a row
that changed since the form was opened; nothing is committed here, the caller commits.
Every printer asks ``words_for`` (one statement for any number of exercises).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import sqlalchemy as sa

from ..extensions import db
from ..models import ExerciseText, KindnessExercise
from . import languages
from .limits import TEXT_LIMIT, FieldViolation, column_length, text
from .locking import add_unless_taken, check_optional_version, flush_unless_stale

#: The patient texts of an exercise, in the order the pages show them, with their labels.
FIELDS: dict[str, str] = {
    "title": "Title",
    "summary": "Summary",
    "why_it_helps": "Why it helps",
    "how_to": "How to do it",
    "reflection_prompts": "Reflection prompts (one per line)",
}

ENGLISH_REFUSED = ("English is the exercise's own text: change it on the exercise's page. "
                   "Choose another language to translate into.")


def limit_of(name: str) -> int:
    """The most characters ``name`` may hold: the English field's own limit."""
    return column_length(getattr(KindnessExercise, name)) or TEXT_LIMIT


@dataclass(frozen=True)
class ExerciseWords:
    """An exercise's texts as printed in ``language``; ``english`` names the fields that fell back."""

    exercise_id: int
    language: str
    title: str
    summary: str
    why_it_helps: str
    how_to: str
    reflection_prompts: str
    english: frozenset[str] = field(default_factory=frozenset)

    def lang(self, name: str) -> str:
        """The language ``name`` is printed in (for an element's ``lang``)."""
        return languages.SOURCE_LANGUAGE if name in self.english else self.language


def _words(exercise: KindnessExercise, language: str, row: ExerciseText | None) -> ExerciseWords:
    values, english = {}, set()
    for name in FIELDS:
        translated = (getattr(row, name) or "").strip() if row is not None else ""
        source = getattr(exercise, name) or ""
        if translated or not source.strip():
            values[name] = translated
        else:
            values[name] = source
            english.add(name)
    if language == languages.SOURCE_LANGUAGE:
        english = set()
    return ExerciseWords(exercise.id, language, english=frozenset(english), **values)


def translated_rows(exercise_ids: Iterable[int], codes: Iterable[str]) -> dict[tuple[int, str], ExerciseText]:
    """``(exercise id, language)`` -> the translation row, for the exercises ``exercise_ids`` in
    the languages ``codes`` (English and languages not available are not read). Always one
    statement, whatever the exercises and languages, so a batch reads the same number of
    statements however its patients' exercises and languages mix."""
    ids = sorted(set(exercise_ids))
    wanted = sorted({code for code in codes
                     if code and code != languages.SOURCE_LANGUAGE and code in languages.available()})
    return {(row.exercise_id, row.language): row for row in db.session.scalars(
        sa.select(ExerciseText).where(ExerciseText.language.in_(wanted), ExerciseText.exercise_id.in_(ids)))}


def words_from(exercise, language: str | None, row: ExerciseText | None) -> ExerciseWords:
    """``exercise``'s words in ``language`` from its translation ``row`` (read by
    ``translated_rows``), each field in English where it is not translated. ``exercise`` is
    anything with the exercise's ``id`` and English fields."""
    code = language or languages.SOURCE_LANGUAGE
    if code not in languages.available():
        code, row = languages.SOURCE_LANGUAGE, None
    return _words(exercise, code, row)


def words_for(exercises: Iterable[KindnessExercise], language: str | None) -> dict[int, ExerciseWords]:
    """Exercise id -> its words in ``language``, each field in English where it is not translated.

    One statement for any number of exercises (none for English, or a language that is
    not available, which prints in English).
    """
    unique = {exercise.id: exercise for exercise in exercises}
    code = language or languages.SOURCE_LANGUAGE
    if code not in languages.available():
        code = languages.SOURCE_LANGUAGE
    rows = translated_rows(unique, [code]) if unique and code != languages.SOURCE_LANGUAGE else {}
    return {exercise_id: _words(exercise, code, rows.get((exercise_id, code)))
            for exercise_id, exercise in unique.items()}


def words_of(exercise: KindnessExercise, language: str | None) -> ExerciseWords:
    """One exercise's words in ``language`` (see ``words_for``)."""
    return words_for([exercise], language)[exercise.id]


def translation_language(value, field: str = "language", refused: str = ENGLISH_REFUSED) -> str:
    """``value`` as a language catalogue text may be translated into: available, and not
    English (refused with ``refused``: where the English text is edited instead)."""
    code = languages.check_language(value, field)
    if code == languages.SOURCE_LANGUAGE:
        raise FieldViolation(field, refused)
    return code


def translation_languages() -> list[str]:
    """The languages exercises are translated into: every available one but English."""
    return [code for code in languages.available() if code != languages.SOURCE_LANGUAGE]


def translation(exercise: KindnessExercise, language: str) -> ExerciseText | None:
    """The saved translation of ``exercise`` into ``language``, if any."""
    return db.session.scalar(sa.select(ExerciseText).where(
        ExerciseText.exercise_id == exercise.id, ExerciseText.language == language))


def version_of(row: ExerciseText | None) -> str:
    """What a form carries for a translation: its version, or ``new`` when there is none yet."""
    return "new" if row is None else str(row.version)


def _clean(values: dict) -> dict[str, str]:
    return {name: text(values, name, label.split(" (")[0].lower(), limit_of(name))
            for name, label in FIELDS.items()}


def save_translation(exercise: KindnessExercise, language, values: dict, version) -> ExerciseText:
    """Save ``exercise``'s texts in ``language`` (a blank field stays in English when printed).

    ``version`` is what the form carried: the row's version, or ``"new"`` when it showed
    none. Refused (``FieldViolation``/``StaleEdit``), changing nothing: an unknown language,
    English, a text longer than the English field may be, a stale or missing version.
    The change is audited like every catalogue edit (the flush writes the event).
    """
    code = translation_language(language)
    clean = _clean(values)
    row = translation(exercise, code)
    check_optional_version(row, version)
    if row is None:
        # Saved by someone else between the check and the insert: StaleEdit.
        row = add_unless_taken(ExerciseText(exercise_id=exercise.id, language=code, **clean))
        db.session.flush()
        return row
    for name, value in clean.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
    flush_unless_stale()
    return row


def delete_translations(exercise: KindnessExercise) -> None:
    """Remove every translation of ``exercise`` (when the exercise itself is removed); audited."""
    for row in db.session.scalars(sa.select(ExerciseText).where(ExerciseText.exercise_id == exercise.id)):
        db.session.delete(row)
    db.session.flush()


@dataclass(frozen=True)
class MissingText:
    """An exercise with fields not yet translated into ``language`` (their keys in ``fields``)."""

    exercise_id: int
    title: str
    language: str
    fields: tuple[str, ...]
    active: bool = True

    @property
    def labels(self) -> list[str]:
        return [FIELDS[name].split(" (")[0] for name in self.fields]


def missing(language, *, include_retired: bool = False) -> list[MissingText]:
    """The exercises (current ones, by English title) with a text that has no translation into ``language``.

    A field counts as missing when the English one has text and the translation is blank.
    Two statements whatever the size of the catalogue.
    """
    code = translation_language(language)
    query = sa.select(KindnessExercise).order_by(KindnessExercise.title, KindnessExercise.id)
    if not include_retired:
        query = query.where(KindnessExercise.active.is_(True))
    exercises = list(db.session.scalars(query))
    rows = {row.exercise_id: row for row in db.session.scalars(
        sa.select(ExerciseText).where(ExerciseText.language == code))}
    found = []
    for exercise in exercises:
        words = _words(exercise, code, rows.get(exercise.id))
        if words.english:
            found.append(MissingText(exercise.id, exercise.title, code,
                                     tuple(name for name in FIELDS if name in words.english), exercise.active))
    return found


__all__ = [
    "ENGLISH_REFUSED",
    "FIELDS",
    "ExerciseWords",
    "MissingText",
    "delete_translations",
    "limit_of",
    "missing",
    "save_translation",
    "translation",
    "translation_language",
    "translation_languages",
    "translated_rows",
    "version_of",
    "words_for",
    "words_from",
    "words_of",
]
