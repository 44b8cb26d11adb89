"""Progress sheets for many patients as one PDF: a group's members or a track's patients.

Each sheet is laid out by WeasyPrint as a document of its own, then the pages of all
sheets are joined into one PDF (``Document.copy`` with every page, as WeasyPrint
documents for merging). So each sheet starts on a fresh page and carries its own
"Page X of Y": a sheet of three pages reads 1 of 3, 2 of 3, 3 of 3 wherever it sits in
the batch, which is what a counselor handing out or filing single sheets needs. (CSS
alone cannot do this: ``counter(pages)`` always counts the whole document.) The data
for all sheets is read up front in the same eight statements as one sheet.

The same sheets can be rendered in parts: ``render_chunk`` renders a run of a batch's
sheets (names told apart among the whole batch, no audit) and ``merge_pdfs`` joins the
parts in order with pikepdf, keeping every page (and so each sheet's "Page X of Y"), the
tagged structure and the bookmarks. The background print jobs (``services.print_jobs``)
and ``flask print progress --jobs N`` are built on these two.

Languages: a staff sheet is in the staff's language; a patient sheet in its own patient's
(``progress.sheet_html_context`` words each sheet, whoever renders it), so a batch of a
mixed track holds English and Spanish sheets side by side, each with its own footer
("Page 1 of 2", "Página 1 de 2"). The PDF's language is its first sheet's.

Audit: one "export" event per patient included, naming the batch's group or track,
added once the PDF exists and committed (unless ``commit=False``: the caller commits,
e.g. the CLI once the file is written).
"""

from __future__ import annotations

import io
from datetime import date
from typing import Callable, Iterable

import pikepdf
import sqlalchemy as sa
from weasyprint import HTML

from ..extensions import db
from ..models import CareGroup, Patient, Track
from ..services import exercise_texts, participants, period_notes, track_texts
from ..services.errors import RuleViolation
from ..services.period_progress import period_progress
from ..services.printed_names import printed_names, staff_names
from . import render
from .fetcher import make_fetcher
from .progress import (VERSION_LABELS, audit_export, check_request, sheet_exercise_ids, sheet_goal_tracks,
                       sheet_html_context, sheet_language)
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


def render_sheets(patients: list[Patient], start: date, end: date, version: str, *,
                  names: dict[int, str] | None = None, title: str = "",
                  progress: Callable[[int], object] | None = None) -> bytes:
    """One PDF of progress sheets for ``patients`` in the order given; no audit, no commit.

    Each sheet starts on a new page and numbers its own pages. ``names`` (patient id ->
    printed name) are the names told apart among the whole batch (``sheet_names`` of every
    patient printed together); by default among ``patients``. Reads the data of all the
    sheets in the same fixed number of statements, whatever their number. ``progress`` is
    called with 1 after each sheet is laid out. This is the chunk renderer of the
    background jobs (``services.print_jobs``) and of ``progress_batch``.
    """
    names = names if names is not None else sheet_names(patients, version)
    data = period_progress(patients, start, end)
    saved = period_notes.notes_for([p.id for p in patients], start, end) if version == "staff" else {}
    # The patient sheets' exercises in their patients' languages: one statement for the chunk.
    translations = (exercise_texts.translated_rows(
        {exercise_id for patient in patients for exercise_id in sheet_exercise_ids(data[patient.id])},
        {sheet_language(patient, version) for patient in patients}) if version == "patient" else None)
    # Their goals made from a track's default goal, in their languages: one statement for the chunk.
    goal_texts = (track_texts.goal_rows(
        {track_id for patient in patients for track_id in sheet_goal_tracks(data[patient.id])},
        {sheet_language(patient, version) for patient in patients}) if version == "patient" else None)
    pages = []
    for patient in patients:
        note = saved.get(patient.id)
        context = sheet_html_context(data[patient.id], version, note.summary if note else "",
                                     note.next_steps if note else "", name=names[patient.id],
                                     translations=translations, goal_texts=goal_texts)
        pages.append(render.render_html(**context))
    # Everything is read: ``progress`` may end the transaction (a job's heartbeat commits).
    documents = []
    for html in pages:
        documents.append(_layout(html))
        if progress is not None:
            progress(1)
    merged = documents[0].copy([page for document in documents for page in document.pages])
    merged.metadata.title = title or batch_title(version, "", start, end)
    render._without_attachments(merged)
    return merged.write_pdf(pdf_variant=render.PDF_VARIANT, attachments=None)


def render_chunk(batch_ids: list[int], chunk_ids: list[int], start: date, end: date, version: str, *,
                 title: str = "", progress: Callable[[int], object] | None = None) -> bytes:
    """The PDF of the sheets of ``chunk_ids``, a run of the batch ``batch_ids`` (print order); no audit.

    The printed names are told apart among the whole batch, so a chunk prints exactly what
    the serial batch prints for its patients. Reads in a fixed number of statements (one for
    the batch's patients, then ``render_sheets``'s). Patients no longer on file are left out.
    """
    wanted = set(batch_ids) | set(chunk_ids)
    found = {p.id: p for p in db.session.scalars(sa.select(Patient).where(Patient.id.in_(wanted)))}
    names = sheet_names([found[i] for i in batch_ids if i in found], version)
    patients = [found[i] for i in chunk_ids if i in found]
    if not patients:
        raise RuleViolation("The patients of this part of the batch are no longer on file.")
    return render_sheets(patients, start, end, version, names=names, title=title, progress=progress)


def _copy_into(out: pikepdf.Pdf, value):
    """``value`` of another PDF as an object of ``out`` (indirect objects copied once, direct ones rebuilt)."""
    if isinstance(value, pikepdf.Object) and value.is_indirect:
        return out.copy_foreign(value)
    if isinstance(value, pikepdf.Array):
        return pikepdf.Array([_copy_into(out, item) for item in value])
    if isinstance(value, pikepdf.Dictionary):
        return pikepdf.Dictionary({key: _copy_into(out, item) for key, item in value.items()})
    return value


def _number_tree(node) -> list:
    """The (key, value) pairs of a PDF number tree (``/Nums``, or under ``/Kids``)."""
    pairs = []
    if "/Nums" in node:
        numbers = node.Nums
        pairs += [(int(numbers[i]), numbers[i + 1]) for i in range(0, len(numbers), 2)]
    for kid in node.get("/Kids", []):
        pairs += _number_tree(kid)
    return pairs


def _outline(items, page_index: dict, offset: int) -> list[pikepdf.OutlineItem]:
    """Outline entries (bookmarks) pointing at the same pages of the joined PDF."""
    copied = []
    for item in items:
        destination = item.destination
        target = None
        if isinstance(destination, pikepdf.Array) and len(destination) and hasattr(destination[0], "objgen"):
            target = page_index.get(destination[0].objgen)
        entry = pikepdf.OutlineItem(item.title, offset + target if target is not None else None)
        entry.children.extend(_outline(item.children, page_index, offset))
        copied.append(entry)
    return copied


def merge_pdfs(parts: Iterable[bytes], title: str) -> bytes:
    """Join PDFs (the chunks of a batch, in order) into one, titled ``title``.

    Every page is kept as it is, so each sheet keeps its own "Page X of Y". The tagged
    structure (for screen readers: the parts' structure trees and their parent trees,
    renumbered) and the bookmarks are joined in the same order; the language and the
    display of the title come from the first part. Each part is read and copied in turn,
    so only the result and one part are held at a time (``parts`` may be a generator
    reading them one by one).
    """
    out = pikepdf.new()
    kids = pikepdf.Array()
    numbers = pikepdf.Array()
    tree = out.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructTreeRoot, K=kids))
    bookmarks: list[pikepdf.OutlineItem] = []
    next_key = 0
    tagged = False
    first = True
    for part in parts:
        with pikepdf.open(io.BytesIO(part)) as source:
            if first:
                if "/Lang" in source.Root:
                    out.Root.Lang = pikepdf.String(str(source.Root.Lang))
                if "/ViewerPreferences" in source.Root:
                    out.Root.ViewerPreferences = pikepdf.Dictionary(
                        {key: value for key, value in source.Root.ViewerPreferences.items()
                         if isinstance(value, (pikepdf.Name, bool, int))})
                first = False
            offset = len(out.pages)
            page_index = {page.objgen: n for n, page in enumerate(source.pages)}
            out.pages.extend(source.pages)
            if "/StructTreeRoot" in source.Root:
                tagged = True
                base, highest = next_key, next_key - 1
                for page in out.pages[offset:]:
                    if "/StructParents" in page.obj:
                        page.obj.StructParents = int(page.obj.StructParents) + base
                        highest = max(highest, int(page.obj.StructParents))
                    for annotation in page.obj.get("/Annots", []):
                        if "/StructParent" in annotation:
                            annotation.StructParent = int(annotation.StructParent) + base
                            highest = max(highest, int(annotation.StructParent))
                root = source.Root.StructTreeRoot
                if "/ParentTree" in root:
                    # Copied whole (qpdf copies the objects it reaches once), then renumbered.
                    for key, value in _number_tree(_copy_into(out, root.ParentTree)):
                        numbers.append(key + base)
                        numbers.append(value)
                        highest = max(highest, key + base)
                elements = root.get("/K", [])
                for element in (elements if isinstance(elements, pikepdf.Array) else [elements]):
                    copied = _copy_into(out, element)
                    copied.P = tree
                    kids.append(copied)
                next_key = highest + 1
            with source.open_outline() as outline:
                bookmarks += _outline(outline.root, page_index, offset)
    if tagged:
        tree.ParentTree = out.make_indirect(pikepdf.Dictionary(Nums=numbers))
        tree.ParentTreeNextKey = next_key
        out.Root.StructTreeRoot = tree
        out.Root.MarkInfo = pikepdf.Dictionary(Marked=True)
    if bookmarks:
        with out.open_outline() as outline:
            outline.root.extend(bookmarks)
    with out.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:title"] = title
    out.docinfo["/Title"] = title
    buffer = io.BytesIO()
    out.save(buffer, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return buffer.getvalue()


def sheet_languages(patients: list[Patient], version: str) -> dict[int, str]:
    """Patient id -> the language each sheet is worded in (``progress.sheet_language``)."""
    return {p.id: sheet_language(p, version) for p in patients}


def audit_batch(patients: list[int], start: date, end: date, version: str, source: dict | None = None,
                languages: dict[int, str] | None = None) -> None:
    """Add one "export" event per patient of a batch to the transaction (the caller commits).

    A patient-version event names the language its sheet was worded in (``languages``, else
    read in one statement for the whole batch).
    """
    if version == "patient" and languages is None:
        found = db.session.scalars(sa.select(Patient).where(Patient.id.in_(patients))).all()
        languages = sheet_languages(found, version)
    for patient_id in patients:
        extra = {"batch": source} if source else {}
        if version == "patient" and patient_id in languages:
            extra["language"] = languages[patient_id]
        audit_export(patient_id, version, start, end, **extra)


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
    Rendered in this process, one sheet after the other (``services.print_jobs`` renders
    a batch in parallel chunks).
    """
    check_request(start, end, version)
    if not patients:
        raise RuleViolation("There is nobody to print a progress sheet for in this period.")
    languages = sheet_languages(patients, version)
    pdf = render_sheets(patients, start, end, version, title=title, progress=progress)
    audit_batch([p.id for p in patients], start, end, version, source, languages)
    if commit:
        db.session.commit()
    return pdf


__all__ = [
    "audit_batch", "batch_title", "group_patients", "in_print_order", "merge_pdfs", "progress_batch",
    "render_chunk", "render_sheets", "sheet_languages", "sheet_names", "track_patients",
]
