"""The languages a patient's paper can be printed in: English, and every catalogue in ``translations/``.

One home for the rule: a preferred language is one of ``available()``; the patient form,
the generic admin form, the demo clinic and the print commands all ask ``check_language``.
Adding a language is adding a catalogue (see the README's "Languages"), no code.
"""

from __future__ import annotations

from pathlib import Path

from babel import Locale
from flask import current_app, has_app_context

from ..i18n import SOURCE_LANGUAGE, TRANSLATIONS, catalogue_languages
from .limits import FieldViolation


def available() -> list[str]:
    """The language codes patient paper can be printed in, English first."""
    folder = TRANSLATIONS
    if has_app_context():
        folder = Path(current_app.config.get("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS)))
    return [SOURCE_LANGUAGE] + [code for code in catalogue_languages(folder) if code != SOURCE_LANGUAGE]


def language_name(code: str) -> str:
    """A language's name in that language, as its speakers would pick it: ``English``, ``Español``."""
    try:
        name = Locale.parse(code).get_display_name(code) or code
    except (ValueError, TypeError):
        return code
    return name[:1].upper() + name[1:]


def choices() -> list[tuple[str, str]]:
    """``(code, name)`` for a form's list of languages."""
    return [(code, language_name(code)) for code in available()]


def check_language(value, field: str = "preferred_language") -> str:
    """``value`` as a known language code (blank means English); anything else is refused at ``field``."""
    code = (value or "").strip() if isinstance(value, str) or value is None else None
    if code is None:
        raise FieldViolation(field, "Choose a language from the list.")
    if not code:
        return SOURCE_LANGUAGE
    known = available()
    if code not in known:
        names = ", ".join(language_name(known_code) for known_code in known)
        raise FieldViolation(field, f"Patient paper can be printed in {names}; choose one of them.")
    return code


__all__ = ["SOURCE_LANGUAGE", "available", "check_language", "choices", "language_name"]
