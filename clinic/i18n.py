"""Languages of printed patient paper: Flask-Babel with the gettext catalogues in ``translations/``.

Staff pages and staff sheets are in the staff's language (``CLINIC_STAFF_LANGUAGE``,
English); a patient's paper is rendered inside ``flask_babel.force_locale`` with the
patient's preferred language (see ``clinic.services.languages``). A language is a
catalogue: ``translations/<code>/LC_MESSAGES/messages.po``. The compiled ``.mo`` files
are not kept in git: ``make translations`` compiles them, and the app compiles any that
is missing or older than its ``.po`` when it starts (``compile_catalogues``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app
from flask_babel import Babel

ROOT = Path(__file__).resolve().parent.parent
#: Where the catalogues live: ``<code>/LC_MESSAGES/messages.po`` (and the compiled ``.mo``).
TRANSLATIONS = ROOT / "translations"
#: The language the templates and the code are written in; it needs no catalogue.
SOURCE_LANGUAGE = "en"

babel = Babel()
log = logging.getLogger(__name__)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it (translated where it is printed)."""
    return message


def catalogue_languages(folder: Path = TRANSLATIONS) -> list[str]:
    """The codes that have a catalogue in ``folder``, sorted."""
    if not folder.is_dir():
        return []
    return sorted(entry.name for entry in folder.iterdir()
                  if (entry / "LC_MESSAGES" / "messages.po").is_file())


def compile_catalogues(folder: Path = TRANSLATIONS, *, force: bool = False) -> list[Path]:
    """Compile every ``messages.po`` whose ``.mo`` is missing or older (all of them with ``force``).

    Returns the ``.mo`` files written. Fuzzy entries are left out, as ``pybabel compile`` does.
    """
    written = []
    for code in catalogue_languages(folder):
        po = folder / code / "LC_MESSAGES" / "messages.po"
        mo = po.with_suffix(".mo")
        if not force and mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=code)
        # Written aside, then renamed: two app servers starting together never read half a file.
        partial = mo.with_name(f".{mo.name}.{os.getpid()}")
        with partial.open("wb") as target:
            write_mo(target, catalog)
        os.replace(partial, mo)
        written.append(mo)
    return written


def _staff_language() -> str:
    return current_app.config.get("CLINIC_STAFF_LANGUAGE", SOURCE_LANGUAGE)


def init_app(app: Flask) -> None:
    """Bind Flask-Babel: staff pages in the staff's language; catalogues compiled if needed."""
    app.config.setdefault("CLINIC_STAFF_LANGUAGE", SOURCE_LANGUAGE)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", SOURCE_LANGUAGE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    try:
        compile_catalogues(Path(app.config["BABEL_TRANSLATION_DIRECTORIES"]))
    except OSError as exc:  # a read-only install: the .mo files must come with it (make translations)
        log.warning("Could not compile the translation catalogues: %s", exc)
    babel.init_app(app, locale_selector=_staff_language)


__all__ = ["N_", "SOURCE_LANGUAGE", "TRANSLATIONS", "babel", "catalogue_languages", "compile_catalogues",
           "init_app"]
