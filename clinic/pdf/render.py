"""From a Jinja template to PDF bytes, always through the same safe path.

``render_pdf`` = ``render_html`` (Flask's ``render_template``, autoescaped) +
``render_html_to_pdf`` (WeasyPrint with the locked fetcher, the cached base
stylesheet, a tagged ``pdf/ua-1`` output and no attachments). The two halves are
separate so a benchmark can time WeasyPrint alone against the whole export.
"""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

from babel import Locale
from babel.dates import format_date, get_day_names
from flask import current_app, render_template
from flask_babel import get_locale, gettext
from weasyprint import CSS, HTML

from ..i18n import SOURCE_LANGUAGE
from .fetcher import make_fetcher

#: Tagged, accessible PDF; needs ``<html lang>`` and ``<title>`` (base.html has both).
PDF_VARIANT = "pdf/ua-1"
#: ``CLINIC_PAGE_SIZE`` values and the CSS ``size`` keyword for each.
PAGE_SIZES = {"A4": "A4", "Letter": "letter"}
#: The stylesheet every document gets, in ``templates/pdf/``.
STYLESHEET = "print.css"

_stylesheets: dict[tuple[str, str], CSS] = {}
_stylesheets_lock = threading.Lock()


def page_size() -> str:
    """The configured page size, ``A4`` or ``Letter``."""
    size = current_app.config.get("CLINIC_PAGE_SIZE", "A4")
    if size not in PAGE_SIZES:
        raise ValueError("CLINIC_PAGE_SIZE must be A4 or Letter.")
    return size


def _pdf_templates() -> Path:
    return Path(current_app.template_folder) / "pdf"


def base_stylesheet(size: str | None = None) -> CSS:
    """The parsed base stylesheet for a page size, parsed once per process and reused."""
    size = size or page_size()
    folder = _pdf_templates()
    key = (str(folder), size)
    sheet = _stylesheets.get(key)
    if sheet is None:
        with _stylesheets_lock:
            sheet = _stylesheets.get(key)
            if sheet is None:
                source = (folder / STYLESHEET).read_text(encoding="utf-8")
                source += f"\n@page {{ size: {PAGE_SIZES[size]}; }}\n"
                sheet = CSS(string=source, base_url=folder.as_uri() + "/", url_fetcher=make_fetcher())
                _stylesheets[key] = sheet
    return sheet


def pdf_options() -> dict:
    """The WeasyPrint options every document is written with."""
    return {"stylesheets": [base_stylesheet()], "pdf_variant": PDF_VARIANT}


def base_url() -> str:
    """Relative URLs in a document resolve into the app's ``static/`` folder."""
    return Path(current_app.static_folder).as_uri() + "/"


# Formatting helpers the templates use, in the language being printed ------------------
# The date patterns are catalogue entries (Unicode/CLDR patterns: ``EEEE`` the day's name,
# ``MMMM`` the month's), so a language sets its own order and words; the names come from
# Babel's locale data. English prints "Monday 12 January 2026" as it always did.
def printing_locale() -> Locale:
    """The language a document is being printed in (the staff's unless ``force_locale`` says otherwise)."""
    return get_locale() or Locale.parse(SOURCE_LANGUAGE)


def printing_language() -> str:
    """The code of ``printing_locale``, for ``<html lang>``."""
    return str(printing_locale()).replace("_", "-")


def _format(day: date, pattern: str) -> str:
    return format_date(day, pattern, locale=printing_locale())


def long_date(day: date | None) -> str:
    """``Monday 12 January 2026`` (``lunes 12 de enero de 2026``)."""
    return _format(day, gettext("EEEE d MMMM y")) if day else ""


def day_month(day: date | None) -> str:
    """``12 Jan`` (``12 ene``)."""
    return _format(day, gettext("d MMM")).replace(".", "") if day else ""


def period_text(start: date, end: date) -> str:
    """``12 – 18 January 2026`` (months and years only where they differ)."""
    if start.year != end.year:
        pattern = gettext("d MMMM y")
        return f"{_format(start, pattern)} – {_format(end, pattern)}"
    end_text = _format(end, gettext("d MMMM y"))
    if start.month != end.month:
        return _format(start, gettext("d MMMM")) + " – " + end_text
    return _format(start, "d") + " – " + end_text


def weekday_short_names() -> tuple[str, ...]:
    """``Mon`` … ``Sun`` (``lun`` … ``dom``), Monday first."""
    names = get_day_names("abbreviated", locale=printing_locale())
    return tuple(names[index].rstrip(".") for index in range(7))


def printed_text(day: date) -> str:
    """``Printed Monday 12 January 2026``."""
    return gettext("Printed %(date)s", date=long_date(day))


def render_html(template_name: str, *, title: str, **context) -> str:
    """The document's HTML: ``template_name`` under ``templates/pdf/``, autoescaped.

    Every document gets ``title``, ``clinic_name``, ``printed_on`` (today) and
    ``printed_text`` ("Printed Monday 12 January 2026"), ``period`` and ``subtitle``
    (None unless given; base.html prints them under the title), ``large_print``
    (False unless given), ``document_language`` (the language being printed, for
    ``<html lang>``) and the date helpers ``long_date`` and ``day_month``.
    """
    context.setdefault("period", None)
    context.setdefault("subtitle", None)
    context.setdefault("large_print", False)
    context.setdefault("printed_on", date.today())
    context.setdefault("printed_text", printed_text(context["printed_on"]))
    context.setdefault("document_language", printing_language())
    return render_template(
        template_name,
        title=title,
        clinic_name=current_app.config.get("CLINIC_NAME", ""),
        long_date=long_date,
        day_month=day_month,
        **context,
    )


def _without_attachments(document) -> None:
    """Drop every file ``<link rel=attachment>`` or ``<a rel=attachment>`` would embed."""
    document.metadata.attachments = []
    for page in document.pages:
        page.links = [link for link in page.links if link[0] != "attachment"]


def render_html_to_pdf(html: str) -> bytes:
    """WeasyPrint's part: lay out ``html`` and write a tagged PDF with no attachments."""
    options = pdf_options()
    document = HTML(string=html, base_url=base_url(), url_fetcher=make_fetcher()).render(**options)
    _without_attachments(document)
    return document.write_pdf(pdf_variant=options["pdf_variant"], attachments=None)


def render_pdf(template_name: str, *, title: str, **context) -> bytes:
    """Render ``template_name`` with ``context`` to PDF bytes."""
    return render_html_to_pdf(render_html(template_name, title=title, **context))


__all__ = [
    "PDF_VARIANT",
    "base_stylesheet",
    "day_month",
    "long_date",
    "pdf_options",
    "period_text",
    "printed_text",
    "printing_language",
    "render_html",
    "render_html_to_pdf",
    "render_pdf",
]
