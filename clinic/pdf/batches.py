"""Progress sheets for many patients as one PDF: a group's members or a track's patients.

Each sheet is laid out by WeasyPrint as a document of its own, then the pages of all
sheets are joined into one PDF (``Document.copy`` with every page, as WeasyPrint
documents for merging). So each sheet starts on a fresh page and carries its own
"Page X of Y": a sheet of three pages reads 1 of 3, 2 of 3, 3 of 3 wherever it sits in
the batch, which is what a counselor handing out or filing single sheets needs. (CSS
alone cannot do this: ``counter(pages)`` always counts the whole document.) The data
for all sheets is read up front in the same six statements as one sheet.

Audit: one "export" event per patient included, naming the batch's group or track,
added once the PDF exists and committed (unless ``commit=False``: the caller commits,
e.g. the CLI once the file is written).
"""

from __future__ import annotations

from datetime import date
from typing import Callable

from weasyprint import HTML

from ..extensions import db
from ..models import CareGroup, Patient, Track
from ..services import participants, period_notes
from ..services.errors import RuleViolation
from ..services.period_progress import period_progress
from ..services.printed_names import printed_names, staff_names
from . import render
from .fetcher import make_fetcher
from .progress import VERSION_LABELS, audit_export, check_request, sheet_html_context
from .render import period_text


def sheet_names(patients: list[Patient], version: str) -> dict[int, str]:
    """Patient id -> the name each sheet of a batch prints (``services.printed_names``)."""
    return printed_names(patients) if version == "patient" else staff_names(patients)


def in_print_order(patients: list[Patient], version: str) -> list[Patient]:
    """Staff sheets by last and first name; patient sheets by the name they print with."""
    if version == "patient":
        names = printed_names(patients)
        return sorted(patients, key=lambda p: (names[p.id].casefold(), p.id))
    return sorted(patients, key=lambda p: (p.last_name.casefold(), p.first_name.casefold(), p.id))


def group_patients(group: CareGroup, start: date, end: date, version: str = "staff") -> list[Patient]:
    """Everyone who was a member of ``group`` during the period, in the version's order."""
    return in_print_order(participants.group_patients(group.id, start, end), version)


def track_patients(track: Track, start: date, end: date, version: str = "staff") -> list[Patient]:
    """Everyone enrolled in ``track`` during the period, in the version's order."""
    return in_print_order(participants.track_patients(track.id, start, end), version)


def batch_title(version: str, what: str, start: date, end: date) -> str:
    """``Progress sheets, staff version: IOP Evening A, 1 – 31 March 2026``."""
    label = VERSION_LABELS[version].lower()
    return f"Progress sheets, {label}: {what}, {period_text(start, end)}" if what else \
        f"Progress sheets, {label}, {period_text(start, end)}"


def _layout(html: str):
    """WeasyPrint's layout of one sheet, with the same stylesheet, fetcher and options as any document."""
    return HTML(string=html, base_url=render.base_url(), url_fetcher=make_fetcher()).render(**render.pdf_options())


def progress_batch(patients: list[Patient], start: date, end: date, version: str = "staff",
                   progress: Callable[[int], object] | None = None, *, title: str = "",
                   source: dict | None = None, commit: bool = True) -> bytes:
    """One PDF of progress sheets, one sheet per patient in the order given; audited.

    Each sheet starts on a new page and numbers its own pages ("Page 1 of 2"). Patients
    who would print the same name are told apart (``services.printed_names``). Staff
    sheets print the summary and next steps saved for exactly this period
    (``services.period_notes``), else lines to write on.
    ``progress`` (e.g. a click progress bar's ``update``) is called with 1 after each
    sheet is laid out. ``title`` names the PDF; ``source`` (e.g. ``{"group": 3}``) is
    added to every patient's export event, committed unless ``commit`` is False. Refuses
    an empty list, a bad period or version with ``RuleViolation``; nothing is audited then.
    """
    check_request(start, end, version)
    if not patients:
        raise RuleViolation("There is nobody to print a progress sheet for in this period.")
    data = period_progress(patients, start, end)
    names = sheet_names(patients, version)
    saved = period_notes.notes_for([p.id for p in patients], start, end) if version == "staff" else {}
    documents = []
    for patient in patients:
        note = saved.get(patient.id)
        context = sheet_html_context(data[patient.id], version, note.summary if note else "",
                                     note.next_steps if note else "", name=names[patient.id])
        documents.append(_layout(render.render_html(**context)))
        if progress is not None:
            progress(1)
    merged = documents[0].copy([page for document in documents for page in document.pages])
    merged.metadata.title = title or batch_title(version, "", start, end)
    render._without_attachments(merged)
    pdf = merged.write_pdf(pdf_variant=render.PDF_VARIANT, attachments=None)
    for patient in patients:
        audit_export(patient.id, version, start, end, **({"batch": source} if source else {}))
    if commit:
        db.session.commit()
    return pdf


__all__ = ["batch_title", "group_patients", "in_print_order", "progress_batch", "sheet_names", "track_patients"]
