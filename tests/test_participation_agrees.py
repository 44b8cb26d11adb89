"""The patient page and the staff progress sheet report the same participation figures."""

from __future__ import annotations

import io
import re
from datetime import date

from flask import render_template
from pypdf import PdfReader

from clinic.admin.day import participation_context
from clinic.pdf.progress import progress_html_context
from clinic.pdf.render import render_pdf
from clinic.services.participation import patient_figures
from clinic.services.period_progress import period_progress

from test_progress import TODAY, example  # noqa: F401 (fixture)

#: From before the patient's first session up to the day the page is looked at.
START = date(2026, 1, 1)


def _pdf_text(data: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return re.sub(r"\s+", " ", text)


def _page_html(patient, app) -> str:
    with app.test_request_context("/admin/patients/details/"):
        return render_template("admin/patient/_participation.html",
                               participation=participation_context(patient, TODAY), model=patient)


def _staff_sheet_text(patient, app) -> str:
    with app.test_request_context("/admin/print/progress/"):
        context = progress_html_context(patient, START, TODAY, version="staff", today=TODAY)
        return _pdf_text(render_pdf(**context))


def test_page_and_staff_sheet_show_the_same_offered_attended_and_hours_this_week(example, app):  # noqa: F811
    page = _page_html(example, app)
    sheet = _staff_sheet_text(example, app)

    # The example: 8 sessions offered up to today, 5 attended, 4.5 h on 2 days this week.
    assert "Attended 5 of 8 offered" in page
    assert "Attended 5 of 8 sessions offered" in sheet
    assert "4.5 h on 2 days" in page
    week = re.search(r"2026-W11 9 Mar – 12 Mar (.+?) (\d+) of (\d+) ([\d.]+) h (\d+) ", sheet)
    assert week is not None, sheet
    # This week: 2 of the 4 sessions offered so far attended, 4.5 h on 2 days, on both.
    assert (week.group(2), week.group(3), week.group(4), week.group(5)) == ("2", "4", "4.5", "2")
    assert "minimum: 9.0 h on 3 days" in page and "9.0 h, 3 d" in sheet


def test_the_figures_behind_both_come_from_one_definition(example):  # noqa: F811
    figures = patient_figures(example.id, TODAY)
    progress = period_progress([example], START, TODAY, TODAY)[example.id]
    this_week = progress.weeks[-1]

    assert (progress.offered, progress.attended) == (figures.sessions_offered, figures.sessions_attended)
    assert progress.unrecorded == figures.sessions_unrecorded
    assert (this_week.minutes, this_week.days) == (figures.minutes_this_week, figures.days_this_week)
    assert this_week.min_minutes == figures.weekly_min_minutes
    assert this_week.min_days == figures.weekly_min_days
