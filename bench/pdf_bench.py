"""How much time our PDF exports add on top of WeasyPrint's own rendering.

    /tmp/probe-venv/bin/python bench/pdf_bench.py [--repeat 21] [--batch 30]

Builds a throwaway SQLite clinic (the migrations, then the reference data and the demo
clinic, as ``CLINIC_ENV=development``), picks the demo patient with the most active
exercises and, for each document ``documents()`` lists, times (median of ``--repeat`` runs):

(a) our whole export: load the patient, query, template, render, audit event, commit;
(b) WeasyPrint alone on the very HTML (a) renders, with the same parsed stylesheet,
    fetcher and options: ``HTML(string=...).write_pdf(...)``;

and prints both, our overhead in percent of WeasyPrint's time (the target is under 20 %;
measured inside each export run, and also as (a) against (b)), and the
throughput of a batch of ``--batch`` patients in pages per second: one export per patient,
and, where the document has one, a single batch PDF.

To add a document (e.g. the progress sheets), add a ``Document`` to ``documents()``:
``export(patient_id)`` must do what the admin does and return the PDF bytes;
``html(patient_id)`` returns the HTML that export renders; ``batch(patient_ids)``
(optional) returns one PDF for many patients.
"""

from __future__ import annotations

import argparse
import gc
import io
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: Our overhead on top of WeasyPrint must stay below this share of WeasyPrint's own time.
TARGET_OVERHEAD = 0.20


@dataclass
class Document:
    """One kind of export to measure."""

    name: str
    #: The whole export for one patient, as the admin runs it; returns the PDF.
    export: Callable[[int], bytes]
    #: The HTML that ``export`` hands to WeasyPrint, for the same patient.
    html: Callable[[int], str]
    #: One PDF for many patients (optional).
    batch: Callable[[list[int]], bytes] | None = None


def build_clinic(folder: Path):
    """A migrated SQLite clinic with the reference data and the demo loaded; returns the app."""
    from flask_migrate import upgrade

    from clinic import create_app
    from clinic.services import seeding

    app = create_app({
        "ENVIRON": {
            "CLINIC_ENV": "development",
            "SECRET_KEY": "benchmark-only-secret",
            "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite'}",
        },
    })
    with app.app_context():
        upgrade()
        seeding.load_reference()
        result = seeding.load_demo()
        print(result.message)
    return app


# The documents ------------------------------------------------------------------------------
def kindness_plan_document(today: date) -> Document:
    """The personal kindness plan for the current week."""
    from clinic.extensions import db
    from clinic.models import Patient
    from clinic.pdf import handouts, render

    def export(patient_id: int) -> bytes:
        return handouts.kindness_plan(db.session.get(Patient, patient_id), today)

    def html(patient_id: int) -> str:
        context = handouts.plan_html_context(db.session.get(Patient, patient_id), today)
        return render.render_html(**context)

    def batch(patient_ids: list[int]) -> bytes:
        week = handouts.week_of(today)
        patients = [db.session.get(Patient, pid) for pid in patient_ids]
        by_patient = handouts.active_assignments(patient_ids, week)
        plans = [handouts.plan_sheet(p, week, by_patient.get(p.id, [])) for p in patients]
        return render.render_pdf("pdf/packet.html", title="Kindness plans", plans=plans)

    return Document("Kindness plan", export, html, batch)


def progress_sheet_document(today: date, version: str) -> Document:
    """The progress sheet over the last four weeks (``version`` staff or patient).

    The staff sheet carries a typed summary and next steps, as from the admin form; the
    batch is ``progress_batch`` (one sheet per patient, each numbering its own pages).
    """
    from datetime import timedelta

    from clinic.extensions import db
    from clinic.models import Patient
    from clinic.pdf import batches, progress, render

    start = today - timedelta(days=27)
    typed = {"summary": "Engaged and steady; attendance improving.\nMood lifts after most exercises.",
             "next_steps": "Keep the appreciation note twice a week.\nReview the weekly hours."}
    if version != "staff":
        typed = {}

    def export(patient_id: int) -> bytes:
        return progress.progress_sheet(db.session.get(Patient, patient_id), start, today, version=version, **typed)

    def html(patient_id: int) -> str:
        context = progress.progress_html_context(db.session.get(Patient, patient_id), start, today,
                                                 version=version, **typed)
        return render.render_html(**context)

    def batch(patient_ids: list[int]) -> bytes:
        patients = [db.session.get(Patient, pid) for pid in patient_ids]
        return batches.progress_batch(patients, start, today, version)

    return Document(f"Progress sheet, {version} version", export, html, batch)


def documents(today: date) -> list[Document]:
    """Everything to measure."""
    return [
        kindness_plan_document(today),
        progress_sheet_document(today, "staff"),
        progress_sheet_document(today, "patient"),
    ]


# Measuring ----------------------------------------------------------------------------------
def weasyprint_alone(html: str) -> bytes:
    """WeasyPrint on ``html`` with exactly our stylesheet, fetcher and options, nothing else."""
    from weasyprint import HTML

    from clinic.pdf import render
    from clinic.pdf.fetcher import make_fetcher

    return HTML(string=html, base_url=render.base_url(), url_fetcher=make_fetcher()).write_pdf(
        stylesheets=[render.base_stylesheet()], pdf_variant=render.PDF_VARIANT
    )


def weasyprint_parsing_css(html: str) -> bytes:
    """WeasyPrint as a naive caller uses it: the stylesheet parsed again on every call."""
    from flask import current_app
    from weasyprint import CSS, HTML

    from clinic.pdf import render
    from clinic.pdf.fetcher import make_fetcher

    folder = Path(current_app.template_folder) / "pdf"
    source = (folder / render.STYLESHEET).read_text()
    source += f"\n@page {{ size: {render.PAGE_SIZES[render.page_size()]}; }}\n"
    css = CSS(string=source, base_url=folder.as_uri() + "/", url_fetcher=make_fetcher())
    return HTML(string=html, base_url=render.base_url(), url_fetcher=make_fetcher()).write_pdf(
        stylesheets=[css], pdf_variant=render.PDF_VARIANT
    )


def timed(function, *args) -> tuple[float, object]:
    """Seconds ``function(*args)`` takes, after a garbage collection so none falls inside."""
    gc.collect()
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def pages(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def fresh_session() -> None:
    """Forget every loaded row, so each export runs its queries for real."""
    from clinic.extensions import db

    db.session.remove()


class InnerTimer:
    """Times ``clinic.pdf.render.render_html_to_pdf`` (WeasyPrint's part) inside an export."""

    def __init__(self):
        from clinic.pdf import render

        self.render = render
        self.original = render.render_html_to_pdf
        self.last = 0.0

    def __enter__(self):
        def timed_inner(html):
            start = time.perf_counter()
            try:
                return self.original(html)
            finally:
                self.last = time.perf_counter() - start

        self.render.render_html_to_pdf = timed_inner
        return self

    def __exit__(self, *exc):
        self.render.render_html_to_pdf = self.original


def measure(document: Document, patient_id: int, repeat: int) -> dict:
    """Median times of the whole export and of WeasyPrint alone, interleaved.

    Besides the side-by-side comparison (two separate runs, so subject to the machine's
    noise), the export's own WeasyPrint call is timed inside the same run: the rest of
    that run is exactly what our code adds.
    """
    html = document.html(patient_id)
    for _ in range(2):  # warm caches: stylesheet, fonts, templates
        fresh_session()
        document.export(patient_id)
        weasyprint_alone(html)
    ours, inner, own, alone, naive = [], [], [], [], []
    pdf = b""
    with InnerTimer() as inner_timer:
        for run in range(repeat):
            if run % 2:  # alternate the order so neither side always runs first
                alone.append(timed(weasyprint_alone, html)[0])
            fresh_session()
            elapsed, pdf = timed(document.export, patient_id)
            ours.append(elapsed)
            inner.append(inner_timer.last)
            own.append(elapsed - inner_timer.last)
            if not run % 2:
                alone.append(timed(weasyprint_alone, html)[0])
            naive.append(timed(weasyprint_parsing_css, html)[0])
    return {
        "ours": statistics.median(ours),
        "ours_best": min(ours),
        "alone_best": min(alone),
        "inner": statistics.median(inner),
        "own": statistics.median(own),
        "alone": statistics.median(alone),
        "naive": statistics.median(naive),
        "pages": pages(pdf),
    }


def measure_batch(document: Document, patient_ids: list[int]) -> dict:
    """One export per patient, then (when offered) one batch PDF for all of them."""
    fresh_session()
    total_pages = 0
    start = time.perf_counter()
    for patient_id in patient_ids:
        total_pages += pages(document.export(patient_id))
    separate = time.perf_counter() - start
    result = {"separate": separate, "separate_pages": total_pages}
    if document.batch:
        fresh_session()
        elapsed, pdf = timed(document.batch, patient_ids)
        result.update(batch=elapsed, batch_pages=pages(pdf))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21, help="runs per measurement (median)")
    parser.add_argument("--batch", type=int, default=30, help="patients in the batch")
    args = parser.parse_args(argv)

    import sqlalchemy as sa

    with tempfile.TemporaryDirectory(prefix="clinic-bench-") as folder:
        app = build_clinic(Path(folder))
        from clinic.services import audit

        with app.app_context(), audit.acting_as(None, label="benchmark"):
            from clinic.extensions import db
            from clinic.models import Assignment, Patient

            busiest = db.session.execute(
                sa.select(Assignment.patient_id, sa.func.count())
                .where(Assignment.status == "active")
                .group_by(Assignment.patient_id)
                .order_by(sa.func.count().desc(), Assignment.patient_id)
                .limit(1)
            ).first()
            patient_id = busiest[0]
            batch_ids = list(db.session.scalars(sa.select(Patient.id).order_by(Patient.id).limit(args.batch)))
            today = date.today()
            print(f"WeasyPrint {__import__('weasyprint').__version__}, page size "
                  f"{app.config['CLINIC_PAGE_SIZE']}, median of {args.repeat} runs, patient #{patient_id} "
                  f"({busiest[1]} active exercises)\n")
            failed = False
            for document in documents(today):
                m = measure(document, patient_id, args.repeat)
                overhead = m["own"] / m["inner"]
                side_by_side = (m["ours"] - m["alone"]) / m["alone"]
                best_to_best = (m["ours_best"] - m["alone_best"]) / m["alone_best"]
                failed |= overhead >= TARGET_OVERHEAD
                print(f"{document.name} ({m['pages']} page{'s' if m['pages'] != 1 else ''})")
                print(f"  (a) our whole export (query, template, render, audit)  {m['ours'] * 1000:7.1f} ms"
                      f"   (best {m['ours_best'] * 1000:.1f} ms)")
                print(f"      of which WeasyPrint                                {m['inner'] * 1000:7.1f} ms")
                print(f"      of which our code (query, template, audit, commit) {m['own'] * 1000:7.1f} ms")
                print(f"  (b) WeasyPrint alone, same HTML, stylesheet, options   {m['alone'] * 1000:7.1f} ms"
                      f"   (best {m['alone_best'] * 1000:.1f} ms)")
                print(f"  our overhead on WeasyPrint's render                    {overhead * 100:7.1f} %"
                      f"   (target < {TARGET_OVERHEAD * 100:.0f} %: {'met' if overhead < TARGET_OVERHEAD else 'MISSED'})")
                print(f"  (a) against (b), separate runs: medians {side_by_side * 100:+.1f} %, "
                      f"best runs {best_to_best * 100:+.1f} %")
                print(f"  (WeasyPrint parsing the stylesheet on every call       {m['naive'] * 1000:7.1f} ms)")
                b = measure_batch(document, batch_ids)
                print(f"  batch of {len(batch_ids)}: one export each       {b['separate']:6.2f} s, "
                      f"{b['separate_pages']} pages, {b['separate_pages'] / b['separate']:5.1f} pages/s")
                if "batch" in b:
                    print(f"  batch of {len(batch_ids)}: one PDF               {b['batch']:6.2f} s, "
                          f"{b['batch_pages']} pages, {b['batch_pages'] / b['batch']:5.1f} pages/s")
                print()
            db.session.remove()
            db.engine.dispose()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
