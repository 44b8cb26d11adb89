"""A report as a file: CSV that spreadsheets open safely, or PDF through the existing renderer.

CSV: UTF-8 with a byte-order mark (so spreadsheets read accented names correctly), one
table a file, a heading row, then the rows. A text cell that begins with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return would be read as a formula by a spreadsheet: it is
neutralised with a leading apostrophe, which spreadsheets show as text and do not
evaluate. Numbers stay numbers; dates are written as 2026-11-30.

Every file is recorded in the audit trail as an "export" naming the report, the format,
the filters and the patients in it (``export_event``); the caller commits.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from .. import audit
from . import Report, Table

DANGEROUS_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str | int | float:
    """A cell as written to CSV: numbers as they are, text made safe for spreadsheets."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if text.startswith(DANGEROUS_STARTS):
        return "'" + text
    return text


def csv_bytes(report: Report, table: Table) -> bytes:
    """``table`` of ``report`` as CSV bytes (UTF-8 with BOM, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(c.label) for c in table.columns])
    for row in table.rows:
        writer.writerow([neutralise(v) for v in row])
    if table.footer:
        writer.writerow([neutralise(v) for v in table.footer])
    return "\ufeff".encode("utf-8") + out.getvalue().encode("utf-8")


def file_name(report: Report, extension: str, table: Table | None = None) -> str:
    """``census-2026-11-01-to-2026-11-28.csv``: the report, its period and table; no patient data."""
    period = "-to-".join(v for k, v in report.filters.items() if k in ("from", "to", "week"))
    parts = [report.key, period, table.key if table is not None and len(report.tables) > 1 else ""]
    return "-".join(p for p in parts if p) + "." + extension


def pdf_bytes(report: Report) -> bytes:
    """The whole report (notes, chart, every table with every row) as PDF."""
    from ...pdf.render import render_pdf

    return render_pdf("pdf/report.html", title=report.title, subtitle=report.period, report=report)


def export_event(report: Report, fmt: str, table: Table | None = None) -> None:
    """Add the "export" audit event of a report file to the transaction (the caller commits)."""
    changes = {"report": report.key, "format": fmt, "filters": report.filters, "patients": report.patient_ids}
    if table is not None:
        changes["table"] = table.key
    audit.record("export", entity="report", entity_id="", changes=changes)
