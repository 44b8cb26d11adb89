"""PHQ-9 and GAD-7 over time (issue 12 item 4): the chart's words, its accessible SVG on the
patient page, the same chart on the staff sheet, and nothing of it on patient paper."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from clinic.pdf.progress import progress_sheet
from clinic.services import measure_trend, measures
from clinic.services.instruments import GAD7, PHQ9
from clinic.services.measure_trend import Score, change_words, stay_start, trend
from conftest import login
from test_measures import pattern
from test_pdf_progress import END, START, clinic  # noqa: F401 - a fixture
from test_rosters import Statements

DAY = date(2026, 3, 31)


def phq(*totals, signed=True, first=date(2026, 3, 2)) -> list[Score]:
    return [Score(1, "phq9", first + timedelta(days=7 * i), t, False, signed) for i, t in enumerate(totals)]


def words_of(scores, code="phq9", history=()) -> str:
    return " ".join(trend(code, scores, list(history), DAY, "c").words)


# The words -------------------------------------------------------------------------------------
def test_falling_scores_say_the_change_response_and_no_remission_yet():
    t = trend("phq9", phq(18, 12, 8), [], DAY, "c")
    text = " ".join(t.words)
    assert "Baseline: 18 (moderately severe) on 2 March 2026, the first PHQ-9 on record." in text
    assert "Latest: 8 (mild) on 16 March 2026, 3 scores in all." in text
    assert "Change since baseline: down 10 points, 56 %." in text
    assert t.response is True and "Response: yes" in text
    assert t.remission is False and "No remission yet" in text


def test_below_5_is_remission_and_a_drop_under_half_is_no_response():
    assert trend("phq9", phq(12, 4), [], DAY, "c").remission is True
    assert "Remission: yes, the latest PHQ-9 is below 5." in words_of(phq(12, 4))
    t = trend("phq9", phq(12, 7), [], DAY, "c")  # 5 of 12 is 42 %
    assert (t.response, t.change_words) == (False, "down 5 points, 42 %")
    assert trend("phq9", phq(12, 6), [], DAY, "c").response is True  # exactly half


def test_rising_and_unchanged_scores_are_said_plainly():
    assert change_words(10, 12) == "up 2 points, 20 %"
    assert change_words(10, 10) == "no change"
    assert change_words(1, 0) == "down 1 point, 100 %"


def test_no_administration_one_only_and_a_baseline_of_0_are_handled():
    assert words_of([]) == "No signed PHQ-9 on record."
    assert not trend("phq9", [], [], DAY, "c").has_data
    one = trend("phq9", phq(14), [], DAY, "c")
    assert one.has_data and one.response is None and one.remission is None and one.change_words is None
    assert "One PHQ-9 so far: 14 (moderate) on 2 March 2026" in " ".join(one.words)
    zero = trend("phq9", phq(0, 3), [], DAY, "c")
    assert zero.change_words == "up 3 points" and zero.response is None
    assert "Response is not judged from a baseline of 0." in zero.words
    assert "Remission is not judged: the baseline was already below 5." in zero.words


def test_gad7_has_its_own_scale_and_no_remission_words():
    scores = [Score(1, "gad7", date(2026, 3, 2), 15, False, True), Score(1, "gad7", date(2026, 3, 20), 6, False, True)]
    t = trend("gad7", scores, [], DAY, "c")
    assert t.max_score == 21 and [b.label for b in t.bands] == ["Minimal", "Mild", "Moderate", "Severe"]
    assert t.response is True and t.remission is None and "emission" not in " ".join(t.words)


def test_the_baseline_is_the_first_of_the_stay_through_step_downs_and_drafts_are_not_drawn():
    history = [
        SimpleNamespace(start_date=date(2025, 1, 1), end_date=date(2025, 2, 1), status="discharged"),
        SimpleNamespace(start_date=date(2026, 3, 1), end_date=date(2026, 3, 10), status="stepped_down"),
        SimpleNamespace(start_date=date(2026, 3, 11), end_date=None, status="active"),
    ]
    assert stay_start(history, DAY) == date(2026, 3, 1)
    old = [Score(1, "phq9", date(2025, 1, 5), 25, False, True)]
    t = trend("phq9", old + phq(16, 10) + phq(2, signed=False, first=date(2026, 3, 30)), history, DAY, "c")
    assert t.baseline.total == 16 and "the first PHQ-9 of this stay (since 1 March 2026)" in " ".join(t.words)
    assert [p.total for p in t.points] == [16, 10] and t.drafts == 1
    assert "1 draft not shown until signed." in t.description


def test_the_bands_are_shaded_from_0_to_27_and_points_sit_on_the_scale():
    t = trend("phq9", phq(27, 0), [], DAY, "c")
    assert [b.label for b in t.bands] == ["Minimal", "Mild", "Moderate", "Moderately severe", "Severe"]
    assert t.bands[0].y_bottom == t.plot_bottom and t.bands[-1].y_top == t.plot_top
    assert [p.y for p in t.points] == [t.plot_top, t.plot_bottom]


# The patient page -----------------------------------------------------------------------------
@pytest.fixture
def ward(make):
    iop = make.track("iop")
    counselor = make.staff("counselor")
    patient = make.patient()
    make.enrolment(patient, iop, counselor, start=date.today() - timedelta(days=40))
    return SimpleNamespace(counselor=counselor, patient=patient)


def give(patient, code, on, actor, total):
    form = PHQ9 if code == "phq9" else GAD7
    return measures.save_administration(
        patient, code, measures.Entry(pattern(form, total), on, "in_person", 1), actor, sign=True)


def test_the_patient_page_draws_both_charts_with_words_and_a_table(client, ward):
    today = date.today()
    for weeks, total in ((5, 20), (3, 14), (1, 9)):
        give(ward.patient, "phq9", today - timedelta(days=7 * weeks), ward.counselor, total)
    login(client, ward.counselor.email)
    html = client.get(f"/admin/patients/details/?id={ward.patient.id}").get_data(as_text=True)
    chart = f"measure-chart-{ward.patient.id}-phq9"
    assert f'<figure class="measure-chart" id="{chart}"' in html
    assert f'role="img" aria-labelledby="{chart}-title {chart}-desc"' in html
    assert "Change since baseline: down 11 points, 55 %." in html and "Response: yes" in html
    assert f'id="{chart}-table"' in html and ">Moderately severe (15–19)</text>" in html
    assert "No signed GAD-7 of this stay" in html


def test_the_patient_page_takes_the_same_statements_with_one_or_many_scores(client, ward):
    def statements() -> int:
        with Statements() as seen:
            assert client.get(f"/admin/patients/details/?id={ward.patient.id}").status_code == 200
        return len(seen)

    today = date.today()
    login(client, ward.counselor.email)
    give(ward.patient, "phq9", today - timedelta(days=30), ward.counselor, 15)
    one = statements()
    for days in range(1, 12):
        a = give(ward.patient, "gad7" if days % 2 else "phq9", today - timedelta(days=days), ward.counselor, days)
        if days % 4 == 0:
            measures.correct_by_addendum(a, pattern(PHQ9, days + 1), 1, "typo", ward.counselor)
    assert statements() == one


def test_the_chart_uses_the_corrected_total_after_an_addendum(ward):
    a = give(ward.patient, "phq9", date.today() - timedelta(days=3), ward.counselor, 12)
    measures.correct_by_addendum(a, pattern(PHQ9, 4), 1, "Misread item 2", ward.counselor)
    [phq9, _] = measure_trend.patient_trends(ward.patient.id, [])
    assert [p.total for p in phq9.points] == [4]


# Paper ------------------------------------------------------------------------------------------
def pdftotext(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


def test_the_staff_sheet_prints_the_trend_words_and_the_patient_sheet_none_of_it(clinic):  # noqa: F811
    counselor = db_counselor(clinic)
    for day, total in ((date(2026, 2, 3), 18), (date(2026, 2, 24), 12), (date(2026, 3, 30), 8)):
        give(clinic.ash, "phq9", day, counselor, total)
    give(clinic.ash, "gad7", date(2026, 2, 3), counselor, 11)
    staff = " ".join(pdftotext(progress_sheet(clinic.ash, START, END, version="staff")).split())
    assert "Outcome measures (PHQ-9, GAD-7)" in staff and "PHQ-9 scores over time" in staff
    assert "Baseline: 18 (moderately severe) on 3 February 2026, the first PHQ-9 of this stay (since 2 February 2026)." in staff
    assert "Change since baseline: down 10 points, 56 %." in staff
    assert "Response: yes" in staff and "No remission yet" in staff
    assert "Moderately severe (15–19)" in staff and "One GAD-7 so far: 11 (moderate)" in staff
    patient = " ".join(pdftotext(progress_sheet(clinic.ash, START, END, version="patient")).split())
    for word in ("PHQ", "GAD", "Baseline", "baseline", "Response", "emission", "Moderately severe", "Minimal",
                 "scores over time", "56 %"):
        assert word not in patient, word


def db_counselor(clinic):
    return clinic.counselor

