"""The kindness dose: acts of kindness per week against the target, others and self apart, and
the weekly connectedness answer, on the patient page and both progress sheets."""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask import render_template
from flask_login import login_user
from pypdf import PdfReader
from sqlalchemy.exc import IntegrityError

from clinic.admin.kindness import kindness_context
from clinic.config import ConfigError, load_config
from clinic.extensions import db
from clinic.models import AuditEvent, ConnectednessRating, ExerciseCheckin
from clinic.pdf.progress import progress_html_context
from clinic.pdf.render import render_pdf
from clinic.services import kindness_dose
from clinic.services.errors import RuleViolation
from clinic.services.kindness_dose import DoseWeek, Target
from clinic.services.locking import StaleEdit
from clinic.services.participation import monday_of
from conftest import login
from test_pdf_handouts import assign, make_exercise

#: A Thursday in ISO week 13 (23-29 March 2026): the page's six weeks run from 16 February.
TODAY = date(2026, 3, 26)
START = date(2026, 2, 16)

#: The hand-counted weeks: (label, for others, for self, acts, partly, verdict, connectedness).
EXPECTED = [
    ("2026-W08", 5, 0, 5, 0, "within target", None),
    ("2026-W09", 5, 1, 6, 0, "above target", None),
    ("2026-W10", 3, 1, 4, 1, "within target", 7),
    ("2026-W11", 1, 1, 2, 0, "below target", 4),
    ("2026-W12", 0, 0, 0, 0, "below target", None),  # nothing recorded: 0, not hidden
    ("2026-W13", 0, 0, 0, 1, "week not over yet", None),
]


@dataclass
class Dose:
    dara: object
    other: object
    counselor: object
    stranger: object


def _checkin(assignment, day: date, outcome: str) -> None:
    db.session.add(ExerciseCheckin(assignment_id=assignment.id, on_date=day, outcome=outcome))
    db.session.commit()


def _rating(patient, monday: date, value: int) -> None:
    db.session.add(ConnectednessRating(patient_id=patient.id, week_start=monday, rating=value))
    db.session.commit()


@pytest.fixture
def dose(make):
    """Dara (on the counselor's caseload) with check-ins counted by hand, week by week."""
    counselor = make.staff("counselor", full_name="Wren Counselor")
    stranger = make.staff("counselor", full_name="Sol Elsewhere")
    iop = make.track("iop")
    dara = make.patient(first_name="Dara", last_name="Quillfeather", record_number="MRN-80001")
    other = make.patient(first_name="Eli", last_name="Farrow", record_number="MRN-80002")
    make.enrolment(dara, iop, counselor, start=date(2026, 2, 2))
    make.enrolment(other, iop, stranger, start=date(2026, 2, 2))
    compliment = make_exercise("Give a compliment", direction="others")
    pause = make_exercise("Take a self-compassion pause", direction="self")
    for_others = assign(dara, compliment, start=date(2026, 2, 2))
    for_self = assign(dara, pause, start=date(2026, 2, 2))
    # Before the six weeks: not counted anywhere on the page.
    _checkin(for_others, date(2026, 2, 13), "done")
    # W08: five for others.
    for day in range(16, 21):
        _checkin(for_others, date(2026, 2, day), "done")
    # W09: five for others and one for self.
    for day in range(23, 28):
        _checkin(for_others, date(2026, 2, day), "done")
    _checkin(for_self, date(2026, 2, 28), "done")
    # W10: three for others, one for self, one partly, one not done.
    for day in (2, 3, 4):
        _checkin(for_others, date(2026, 3, day), "done")
    _checkin(for_self, date(2026, 3, 5), "done")
    _checkin(for_self, date(2026, 3, 6), "partly")
    _checkin(for_self, date(2026, 3, 7), "not_done")
    # W11: one each, and a not done.
    _checkin(for_others, date(2026, 3, 9), "done")
    _checkin(for_self, date(2026, 3, 10), "done")
    _checkin(for_others, date(2026, 3, 11), "not_done")
    # W12: nothing at all. W13 (this week): one partly.
    _checkin(for_self, date(2026, 3, 23), "partly")
    # Someone else's acts never count for Dara.
    theirs = assign(other, compliment, start=date(2026, 2, 2))
    _checkin(theirs, date(2026, 3, 3), "done")
    _rating(dara, date(2026, 3, 2), 7)
    _rating(dara, date(2026, 3, 9), 4)
    _rating(other, date(2026, 3, 9), 9)
    return Dose(dara, other, counselor, stranger)


def _rows(weeks) -> list[tuple]:
    return [(w.label, w.for_others, w.for_self, w.acts, w.partly, w.verdict_label, w.connectedness) for w in weeks]


# The counting -------------------------------------------------------------------------------------
def test_weeks_are_counted_by_hand_others_and_self_apart_partly_apart_and_empty_weeks_shown(dose):
    page = kindness_dose.patient_dose(dose.dara.id, TODAY)
    assert _rows(page.weeks) == EXPECTED
    assert page.target == Target(3, 5) and page.target.text == "3–5 acts a week"
    w10 = page.weeks[2]
    assert (w10.monday, w10.not_done) == (date(2026, 3, 2), 1)


def test_the_verdict_at_two_three_five_and_six_acts(ctx):
    target = Target(3, 5)
    assert [target.verdict(n) for n in (2, 3, 5, 6)] == ["below", "within", "within", "above"]
    monday = date(2026, 3, 2)
    past = date(2026, 3, 20)

    def week(others, self_, today=past, first=monday):
        return DoseWeek(monday=monday, first=first, last=monday + timedelta(days=6), today=today, target=target,
                        for_others=others, for_self=self_)

    assert [week(o, s).verdict_label for o, s in ((2, 0), (1, 2), (3, 2), (0, 6))] == [
        "below target", "within target", "within target", "above target"]
    # A week not over says "below" only once it is over; within and above are said at once.
    assert week(2, 0, today=date(2026, 3, 4)).verdict_label == "week not over yet"
    assert week(0, 3, today=date(2026, 3, 4)).verdict_label == "within target"
    assert week(2, 0, today=date(2026, 3, 8)).verdict_label == "below target"  # Sunday: over
    # A week cut by the edge of a printed period is a part week, not "below".
    assert week(1, 0, first=date(2026, 3, 5)).verdict_label == "part week"


def test_the_target_comes_from_the_settings_and_bad_settings_refuse_to_start(app, tmp_path):
    env = {"CLINIC_ENV": "development"}
    config = load_config(str(tmp_path), env)
    assert (config["CLINIC_KINDNESS_WEEKLY_TARGET_MIN"], config["CLINIC_KINDNESS_WEEKLY_TARGET_MAX"]) == (3, 5)
    config = load_config(str(tmp_path), {**env, "CLINIC_KINDNESS_WEEKLY_TARGET_MIN": "2",
                                         "CLINIC_KINDNESS_WEEKLY_TARGET_MAX": "4"})
    assert (config["CLINIC_KINDNESS_WEEKLY_TARGET_MIN"], config["CLINIC_KINDNESS_WEEKLY_TARGET_MAX"]) == (2, 4)
    for bad in ({"CLINIC_KINDNESS_WEEKLY_TARGET_MIN": "6"}, {"CLINIC_KINDNESS_WEEKLY_TARGET_MAX": "many"},
                {"CLINIC_KINDNESS_WEEKLY_TARGET_MIN": "0"}):
        with pytest.raises(ConfigError, match="CLINIC_KINDNESS_WEEKLY_TARGET"):
            load_config(str(tmp_path), {**env, **bad})
    app.config.update(CLINIC_KINDNESS_WEEKLY_TARGET_MIN=2, CLINIC_KINDNESS_WEEKLY_TARGET_MAX=2)
    with app.app_context():
        assert kindness_dose.target().verdict(2) == "within"
        assert kindness_dose.target().text == "2 acts a week"


def test_weeks_before_the_first_exercise_are_not_called_below_target(dose, make):
    """A patient who joined last week: the earlier weeks on the page are "before the first
    exercise", the week of the first exercise a part week, never "below target"."""
    newcomer = make.patient(first_name="Noor", last_name="Late", record_number="MRN-80003")
    make.enrolment(newcomer, make.track("iop"), dose.counselor, start=date(2026, 3, 11))
    kind = assign(newcomer, make_exercise("Thank a neighbour", direction="others"), start=date(2026, 3, 11))
    _checkin(kind, date(2026, 3, 12), "done")
    weeks = kindness_dose.patient_dose(newcomer.id, TODAY).weeks
    assert [w.verdict_label for w in weeks] == ["before the first exercise"] * 3 + [
        "part week", "below target", "week not over yet"]
    assert [w.verdict for w in weeks][:4] == [None] * 4
    assert weeks[3].acts == 1
    # Dara's weeks, who began before the page's first week, are judged as before.
    assert _rows(kindness_dose.patient_dose(dose.dara.id, TODAY).weeks) == EXPECTED


def test_the_dose_takes_three_statements_however_many_weeks_and_check_ins(dose):
    def statements(work) -> int:
        seen = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        db.session.expire_all()
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            work()
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        return len(seen)

    dara_id, other_id = dose.dara.id, dose.other.id
    few = statements(lambda: kindness_dose.patient_dose(dara_id, TODAY, weeks=2))
    many = statements(lambda: kindness_dose.patient_dose(dara_id, TODAY, weeks=26))
    sheets = statements(lambda: kindness_dose.weekly_dose([dara_id, other_id], START, TODAY, TODAY))
    assert few == many == sheets == 3


# The patient page and the sheets agree ------------------------------------------------------------
def _page_html(dose, app) -> str:
    """The patient page's "Kindness dose" block for Dara as of TODAY, as the counselor sees it."""
    with app.test_request_context("/admin/patients/details/"):
        login_user(dose.counselor)
        return render_template("admin/patient/_kindness_dose.html", p=kindness_context(dose.dara, TODAY),
                               model=dose.dara)


def _page_rows(page: str) -> list[tuple]:
    rows = []
    for body in re.findall(r'<tr class="dose-week"[^>]*>(.*?)</tr>', page, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]
        label = cells[0].split()[0]
        rows.append((label, int(cells[1]), int(cells[2]), int(cells[3]), int(cells[4]), cells[5],
                     None if cells[6] == "—" else int(cells[6])))
    return rows


def _pdf_text(data: bytes) -> str:
    return re.sub(r"\s+", " ", "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))


def _sheet(patient, app, version: str) -> str:
    with app.test_request_context("/admin/print/progress/"):
        return _pdf_text(render_pdf(**progress_html_context(patient, START, TODAY, version=version, today=TODAY)))


def test_the_patient_page_shows_the_weeks_the_verdict_in_words_and_connectedness(dose, app):
    page = _page_html(dose, app)
    assert "Kindness dose" in page
    assert list(reversed(_page_rows(page))) == EXPECTED  # newest first on the page
    assert "Target: 3–5 acts a week" in html.unescape(page)
    assert "how connected did you feel to other people?" in page
    assert 'id="connectedness-form"' in page


def test_the_staff_sheet_shows_the_same_figures_as_the_patient_page(dose, app):
    page = _page_rows(_page_html(dose, app))
    sheet = _sheet(dose.dara, app, "staff")
    assert "Kindness dose" in sheet and "Target: 3–5 acts a week" in sheet
    for label, others, self_, acts, partly, verdict, connected in page:
        found = re.search(rf"{label} \S+ \S+ – \S+ \S+ (\d+) (\d+) (\d+) (\d+) (.+?) (\d+|—)(?= 2026-W| Mood)", sheet)
        assert found is not None, (label, sheet)
        assert found.groups() == (str(others), str(self_), str(acts), str(partly), verdict,
                                  "—" if connected is None else str(connected)), label


def test_the_patient_sheet_says_it_warmly_without_a_target_a_verdict_or_a_score(dose, app):
    sheet = _sheet(dose.dara, app, "patient")
    assert "In the week of 2 Mar you did 4 acts of kindness: 3 for others and 1 for yourself. " \
           "You gave 1 more a try." in sheet
    assert "In the week of 23 Feb you did 6 acts of kindness: 5 for others and 1 for yourself." in sheet
    assert "In the week of 16 Feb you did 5 acts of kindness, all for others." in sheet
    assert "In the week of 9 Mar you did 2 acts of kindness: 1 for others and 1 for yourself." in sheet
    assert "Thank you for telling us, week by week, how connected you felt to other people." in sheet
    assert "16 Mar" not in sheet.split("Your acts of kindness")[1].split("How you felt")[0]  # no act: no line
    lowered = sheet.lower()
    for word in ("target", "below", "above", "within", "connectedness", "verdict", "score"):
        assert word not in lowered, word


# Entering the answer --------------------------------------------------------------------------------
def _this_week() -> date:
    return monday_of(date.today())


def _post(client, patient_id, week: date, rating, seen="new", **extra):
    data = {"week": week.isoformat(), "rating": rating, **extra}
    if seen is not None:
        data[f"seen-{week.isoformat()}"] = seen
    return client.post(f"/admin/connectedness/?patient={patient_id}", data=data)


def _saved(patient_id) -> list[tuple]:
    db.session.remove()
    return [(r.week_start, r.rating, r.version, r.recorded_by_id) for r in db.session.scalars(
        sa.select(ConnectednessRating).where(ConnectednessRating.patient_id == patient_id)
        .order_by(ConnectednessRating.week_start))]


def test_staff_enter_the_weeks_answer_on_the_patient_page_and_it_is_audited(dose, client):
    dara_id, counselor_id = dose.dara.id, dose.counselor.id
    login(client, dose.counselor.email)
    page = client.get(f"/admin/patients/details/?id={dara_id}").get_data(as_text=True)
    week = _this_week()
    assert f'name="seen-{week.isoformat()}" value="new"' in page
    response = _post(client, dara_id, week, "6")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/patients/details/?id={dara_id}#kindness-dose")
    assert (week, 6, 1, counselor_id) in _saved(dara_id)
    page = client.get(f"/admin/patients/details/?id={dara_id}").get_data(as_text=True)
    assert "Connectedness answer saved." in page
    assert f'name="seen-{week.isoformat()}" value="1"' in page
    # Changing it carries the version the page showed.
    assert _post(client, dara_id, week, "8", seen="1").status_code == 302
    assert (week, 8, 2, counselor_id) in _saved(dara_id)
    events = list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "connectedness_rating")
                                     .order_by(AuditEvent.id)))
    created, changed = events[-2:]
    assert (created.action, created.actor_id) == ("create", counselor_id)
    assert created.changes["rating"] == [None, 6] and created.changes["patient_id"] == [None, dara_id]
    assert (changed.action, changed.changes["rating"]) == ("update", [6, 8])
    # The form page for a week shows clinical data: its opening is audited as a view of the patient.
    assert client.get(f"/admin/connectedness/?patient={dara_id}&week={week.isoformat()}").status_code == 200
    view = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (view.action, view.entity, view.changes) == ("view", "patient", {"patients": [dara_id]})


@pytest.mark.parametrize("rating", ["11", "-1", "seven", ""])
def test_an_answer_out_of_range_is_refused_at_the_form_and_nothing_is_saved(dose, client, rating):
    dara_id = dose.dara.id
    login(client, dose.counselor.email)
    before = _saved(dara_id)
    response = _post(client, dara_id, _this_week(), rating)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "The answer is a whole number from 0 to 10." in text
    assert f'value="{html.escape(rating)}"' in text  # what was typed is kept
    assert _saved(dara_id) == before


def test_the_database_refuses_an_answer_out_of_range_a_second_row_for_a_week_and_a_week_not_on_monday(dose):
    dara_id = dose.dara.id
    insert = ("INSERT INTO connectedness_rating (patient_id, week_start, rating, recorded_at, version) "
              "VALUES (:patient, :week, :rating, CURRENT_TIMESTAMP, 1)")
    for week, rating, constraint in (
        (date(2026, 3, 16), 11, "ck_connectedness_rating_rating_range"),
        (date(2026, 3, 16), -1, "ck_connectedness_rating_rating_range"),
        (date(2026, 3, 2), 5, "uq_connectedness_rating_patient_week"),
        (date(2026, 3, 17), 5, "ck_connectedness_rating_week_starts_monday"),
    ):
        with pytest.raises(IntegrityError) as caught:
            db.session.execute(sa.text(insert), {"patient": dara_id, "week": week, "rating": rating})
        db.session.rollback()
        message = str(caught.value.orig)
        if db.engine.dialect.name == "postgresql":
            assert constraint in message, message
        else:  # SQLite names CHECK constraints, and says UNIQUE for the key
            assert constraint in message or ("UNIQUE" in message and constraint.startswith("uq_")), message
    assert _saved(dara_id) == [(date(2026, 3, 2), 7, 1, None), (date(2026, 3, 9), 4, 1, None)]


def test_a_second_answer_for_the_same_week_from_an_old_page_is_refused_clearly(dose, client):
    dara_id = dose.dara.id
    week = _this_week() - timedelta(days=7)
    login(client, dose.counselor.email)
    assert _post(client, dara_id, week, "5").status_code == 302
    # A second form opened before the first save still says "new": refused, the typed answer kept.
    response = _post(client, dara_id, week, "9")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Someone else saved this record after you opened it." in text
    assert 'value="9"' in text and f'name="seen-{week.isoformat()}" value="1"' in text
    # A hand-made post without the version, or with an older one, is refused the same way.
    assert "Someone else saved" in _post(client, dara_id, week, "9", seen=None).get_data(as_text=True)
    assert "Someone else saved" in _post(client, dara_id, week, "9", seen="0").get_data(as_text=True)
    assert [row[:3] for row in _saved(dara_id) if row[0] == week] == [(week, 5, 1)]
    # Re-sent with the version now shown, it changes the week's answer.
    assert _post(client, dara_id, week, "9", seen="1").status_code == 302
    assert [row[:3] for row in _saved(dara_id) if row[0] == week] == [(week, 9, 2)]


def test_a_week_not_begun_is_refused(dose, client):
    dara_id = dose.dara.id
    login(client, dose.counselor.email)
    response = _post(client, dara_id, _this_week() + timedelta(days=7), "5")
    assert "That week has not begun yet." in response.get_data(as_text=True)
    assert len(_saved(dara_id)) == 2
    with pytest.raises(RuleViolation, match="not begun"):
        kindness_dose.record_connectedness(None, dara_id, TODAY + timedelta(days=7), 5, today=TODAY)


def test_a_counselor_gets_404_for_a_patient_outside_the_caseload_on_the_page_and_a_hand_made_post(dose, client):
    other_id, dara_id = dose.other.id, dose.dara.id
    login(client, dose.counselor.email)
    assert client.get(f"/admin/patients/details/?id={other_id}").status_code == 404
    assert client.get(f"/admin/connectedness/?patient={other_id}").status_code == 404
    assert client.get("/admin/connectedness/?patient=99999999").status_code == 404
    assert _post(client, other_id, _this_week(), "3").status_code == 404
    assert _saved(other_id) == [(date(2026, 3, 9), 9, 1, None)]
    views = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "view")).all()
    assert all(other_id not in e.changes.get("patients", []) for e in views)
    # The service refuses it too, whoever calls it.
    with pytest.raises(RuleViolation, match="caseload"):
        kindness_dose.record_connectedness(dose.counselor, other_id, TODAY, 3, today=TODAY)
    # Their own patient's page is open to them.
    assert client.get(f"/admin/connectedness/?patient={dara_id}").status_code == 200


def test_the_service_keeps_one_row_per_week_and_checks_the_version(dose):
    dara_id = dose.dara.id
    row = kindness_dose.record_connectedness(None, dara_id, date(2026, 3, 11), 5, version="1", today=TODAY)
    assert (row.week_start, row.rating) == (date(2026, 3, 9), 5)  # any day names its week
    db.session.commit()
    with pytest.raises(StaleEdit):
        kindness_dose.record_connectedness(None, dara_id, date(2026, 3, 9), 6, version="1", today=TODAY)
    db.session.rollback()
    with pytest.raises(StaleEdit):
        kindness_dose.record_connectedness(None, dara_id, date(2026, 3, 16), 6, version="2", today=TODAY)
    db.session.rollback()
    assert [r[:3] for r in _saved(dara_id)] == [(date(2026, 3, 2), 7, 1), (date(2026, 3, 9), 5, 2)]
