"""In Chromium: the patient page shows the PHQ-9 trend chart, visible, with an accessible
description and its table; My day lists the overdue GAD-7 with a link that opens its form."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from clinic.extensions import db
from clinic.services import enrolment, measures
from clinic.services.instruments import PHQ9
from conftest import Factory, _make_app, _truncate, browser_login, serving
from test_measures import pattern


@pytest.fixture
def clinic(database_url, backend, tmp_path):
    """A counselor's IOP patient with three falling PHQ-9 scores and no GAD-7 (overdue)."""
    app = _make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    today = date.today()
    with app.app_context():
        make = Factory()
        counselor = make.staff("counselor", email="wren@clinic.example", full_name="Wren Facilitator")
        iop = make.track("iop")
        patient = make.patient(first_name="Tess", last_name="Trendline")
        enrolment.enrol(patient, iop, today - timedelta(days=30), counselor=counselor)
        for days, total in ((29, 19), (15, 12), (1, 4)):
            entry = measures.Entry(pattern(PHQ9, total), today - timedelta(days=days), "in_person", 1)
            measures.save_administration(patient, "phq9", entry, counselor, sign=True)
        info = {"patient": patient.id}
        db.session.remove()
    try:
        with serving(app) as url:
            yield url, info
    finally:
        if backend == "postgresql":
            _truncate(app)


@pytest.mark.browser
def test_the_patient_page_shows_a_visible_described_trend_chart_and_my_day_the_overdue_measure(clinic, browser):
    base, info = clinic
    context, page = browser_login(browser, base, "wren@clinic.example")
    try:
        page.goto(base + f"/admin/patients/details/?id={info['patient']}")
        chart = page.locator(f"#measure-chart-{info['patient']}-phq9 svg")
        chart.scroll_into_view_if_needed()
        assert chart.is_visible()
        box = chart.bounding_box()
        assert box["width"] > 300 and box["height"] > 100
        # The accessible name and description come from the SVG's title and desc.
        role_img = page.get_by_role("img", name="PHQ-9 scores over time")
        assert role_img.count() == 1
        described = chart.evaluate(
            "svg => svg.getAttribute('aria-labelledby').split(' ').map(id => document.getElementById(id).textContent).join(' ')")
        assert "down 15 points, 79 %" in described and "Remission: yes" in described
        table = page.locator(f"#measure-chart-{info['patient']}-phq9-table")
        assert table.is_visible() and table.locator("tbody tr").count() == 3
        assert "GAD-7 at admission: overdue by" in page.locator("#due-gad7").inner_text()
        page.screenshot(path="/tmp/measure-trend-patient.png", full_page=True)

        page.goto(base + "/admin/day/")
        line = page.locator(f"#overdue-{info['patient']}-gad7")
        assert "Tess Trendline" in line.inner_text() and "overdue by" in line.inner_text()
        with page.expect_navigation():
            line.get_by_role("link", name="Enter the GAD-7 for Tess Trendline").click()
        assert "/admin/measures/new/" in page.url and "instrument=gad7" in page.url
    finally:
        context.close()
