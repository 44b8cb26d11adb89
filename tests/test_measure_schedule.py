"""When PHQ-9 and GAD-7 are due (issue 12 item 3): the schedule's rules, the track's interval,
My day's overdue list for the caseload and the patient page's due measures."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Track
from clinic.services import catalogue, measure_schedule, measures
from clinic.services.enrolment import discharge, enrol, transfer
from clinic.services.instruments import GAD7, PHQ9
from clinic.services.limits import FieldViolation
from conftest import login
from test_measures import pattern
from test_rosters import Statements

TODAY = date.today()


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


@pytest.fixture
def setup(make):
    inpatient, intensive, iop = make.track("inpatient"), make.track("intensive"), make.track("iop")
    counselor = make.staff("counselor", full_name="Cora Caseload")
    other = make.staff("counselor", full_name="Otto Other")
    admin = make.staff("admin")
    return {"inpatient": inpatient, "intensive": intensive, "iop": iop, "counselor": counselor,
            "other": other, "admin": admin}


def give(patient, code: str, on: date, actor, total: int = 10, sign: bool = True):
    form = PHQ9 if code == "phq9" else GAD7
    entry = measures.Entry(answers=pattern(form, total), administered_on=on, mode="in_person", difficulty=1)
    return measures.save_administration(patient, code, entry, actor, sign=sign, today=max(on, TODAY))


def schedule(patient, today: date = TODAY) -> dict[str, measure_schedule.DueMeasure]:
    return {d.instrument: d for d in measure_schedule.patient_schedule(patient.id, today)}


# The rules ------------------------------------------------------------------------------------
def test_at_admission_both_are_due_on_the_first_day_and_overdue_after_the_grace_day(setup, make):
    patient = make.patient()
    make.enrolment(patient, setup["iop"], setup["counselor"], start=ago(1))
    due = schedule(patient)
    assert set(due) == {"phq9", "gad7"}
    assert due["phq9"].occasion == "admission" and due["phq9"].due_on == ago(1)
    assert due["phq9"].state == "due"  # passed by 1 day: still within the grace day
    later = schedule(patient, TODAY + timedelta(days=1))
    assert later["phq9"].state == "overdue" and later["phq9"].days_overdue == 2
    assert later["phq9"].state_words == f"overdue by 2 days (due {measure_schedule._long(ago(1))})"


def test_the_grace_is_configurable(setup, make, app):
    patient = make.patient()
    make.enrolment(patient, setup["iop"], setup["counselor"], start=ago(1))
    app.config["CLINIC_MEASURE_GRACE_DAYS"] = 0
    assert schedule(patient)["phq9"].state == "overdue"


@pytest.mark.parametrize("track", ["inpatient", "intensive", "iop"])
def test_every_track_defaults_to_weekly_after_the_last_administration(setup, make, track):
    patient = make.patient()
    make.enrolment(patient, setup[track], setup["counselor"], start=ago(30))
    assert setup[track].measure_interval_days == 7
    give(patient, "phq9", ago(9), setup["admin"])
    give(patient, "gad7", ago(3), setup["admin"])
    due = schedule(patient)
    assert (due["phq9"].occasion, due["phq9"].due_on, due["phq9"].state) == ("interval", ago(2), "overdue")
    assert (due["gad7"].due_on, due["gad7"].state) == (TODAY + timedelta(days=4), "coming")
    assert due["phq9"].occasion_words == f"weekly in {setup[track].name}"


def test_a_draft_counts_as_given_and_an_administration_before_admission_does_not(setup, make):
    patient = make.patient()
    make.enrolment(patient, setup["iop"], setup["counselor"], start=ago(40))
    give(patient, "phq9", ago(20), setup["admin"])
    db.session.execute(sa.update(measures.Enrolment).where(measures.Enrolment.patient_id == patient.id)
                       .values(end_date=ago(12), status="discharged"))
    db.session.commit()
    make.enrolment(patient, setup["iop"], setup["counselor"], start=ago(5))  # re-admitted
    due = schedule(patient)
    assert due["phq9"].occasion == "admission" and due["phq9"].due_on == ago(5)
    give(patient, "phq9", ago(1), setup["admin"], sign=False)  # a draft: the patient answered
    assert schedule(patient)["phq9"].due_on == ago(1) + timedelta(days=7)


def test_the_configured_interval_is_used_and_the_form_refuses_outside_1_to_90(setup, make):
    patient = make.patient()
    make.enrolment(patient, setup["iop"], setup["counselor"], start=ago(30))
    give(patient, "phq9", ago(9), setup["admin"])
    iop = setup["iop"]
    values = {"code": iop.code, "name": iop.name, "care_level": iop.care_level,
              "weekly_min_minutes": iop.weekly_min_minutes, "weekly_min_days": iop.weekly_min_days,
              "description": "", "starter_exercises": []}
    for bad in (0, 91, "often"):
        with pytest.raises(FieldViolation) as refused:
            catalogue.update_track(iop, {**values, "measure_interval_days": bad}, iop.version)
        assert refused.value.field == "measure_interval_days"
        db.session.rollback()
    assert db.session.get(Track, iop.id).measure_interval_days == 7
    catalogue.update_track(iop, {**values, "measure_interval_days": 14}, iop.version)
    db.session.commit()
    due = schedule(patient)["phq9"]
    assert (due.due_on, due.state, due.occasion_words) == (ago(9) + timedelta(days=14), "coming",
                                                          f"every 14 days in {iop.name}")


def test_the_database_refuses_an_interval_outside_1_to_90(setup):
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.text("UPDATE track SET measure_interval_days = 0 WHERE code = 'iop'"))
        db.session.commit()
    db.session.rollback()


def test_at_step_down_a_measure_is_due_unless_one_was_given_in_the_window_before_the_move(setup, make):
    stepped, covered = make.patient(), make.patient()
    for patient in (stepped, covered):
        enrol(patient, setup["inpatient"], ago(30), counselor=setup["counselor"])
        give(patient, "phq9", ago(20), setup["admin"])
        give(patient, "gad7", ago(20), setup["admin"])
    give(covered, "phq9", ago(5), setup["admin"])  # within the week before the move
    for patient in (stepped, covered):
        transfer(patient, setup["intensive"], ago(2), reason="Better")
    due = schedule(stepped)
    assert (due["phq9"].occasion, due["phq9"].due_on, due["phq9"].state) == ("stepped_down", ago(2), "overdue")
    assert due["phq9"].occasion_words == "at step-down"
    after = schedule(covered)
    assert after["phq9"].occasion == "interval" and after["phq9"].due_on == ago(5) + timedelta(days=7)
    assert after["gad7"].occasion == "stepped_down"


def test_a_planned_discharge_wants_a_measure_in_its_last_week_and_after_the_discharge(setup, make):
    patient = make.patient()
    enrol(patient, setup["iop"], ago(30), counselor=setup["counselor"])
    give(patient, "phq9", ago(2), setup["admin"])
    give(patient, "gad7", ago(2), setup["admin"])
    discharge(patient, TODAY + timedelta(days=14), reason="Planned")
    due = schedule(patient)  # the weekly one falls due before the discharge week opens
    assert due["phq9"].occasion == "interval" and due["phq9"].due_on == ago(2) + timedelta(days=7)
    in_window = schedule(patient, TODAY + timedelta(days=8))
    assert in_window["phq9"].occasion == "discharge" and in_window["phq9"].state == "due"
    assert in_window["phq9"].due_on == TODAY + timedelta(days=14)
    assert in_window["phq9"].state_words.startswith("due by ")
    just_after = schedule(patient, TODAY + timedelta(days=16))
    assert just_after["phq9"].occasion == "discharge" and just_after["phq9"].state == "overdue"
    assert schedule(patient, TODAY + timedelta(days=14 + 15)) == {}  # dropped two weeks after
    # A weekly measure that would fall inside the discharge week is the discharge one.
    give(patient, "phq9", TODAY + timedelta(days=1), setup["admin"])
    assert schedule(patient, TODAY + timedelta(days=8))["phq9"].occasion == "discharge"
    give(patient, "phq9", TODAY + timedelta(days=8), setup["admin"])
    assert "phq9" not in schedule(patient, TODAY + timedelta(days=9))


def test_a_patient_not_enrolled_has_nothing_due(setup, make):
    patient = make.patient()
    assert schedule(patient) == {}
    make.enrolment(patient, setup["iop"], setup["counselor"], start=TODAY + timedelta(days=3))
    assert schedule(patient) == {}


# My day -----------------------------------------------------------------------------------------
def day_page(client) -> str:
    response = client.get("/admin/day/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_my_day_lists_the_caseloads_overdue_measures_until_entered(client, setup, make):
    mine = make.patient(first_name="Mina", last_name="Overdue")
    theirs = make.patient(first_name="Theo", last_name="Elsewhere")
    make.enrolment(mine, setup["iop"], setup["counselor"], start=ago(10))
    make.enrolment(theirs, setup["iop"], setup["other"], start=ago(10))
    give(mine, "gad7", ago(1), setup["admin"])
    login(client, setup["counselor"].email)
    html = day_page(client)
    assert 'id="overdue-measures"' in html and "Mina Overdue" in html and "Theo Elsewhere" not in html
    assert f'id="overdue-{mine.id}-phq9"' in html and f'id="overdue-{mine.id}-gad7"' not in html
    assert f"/admin/measures/new/?patient={mine.id}&amp;instrument=phq9" in html
    assert "overdue by 10 days" in html
    give(mine, "phq9", TODAY, setup["counselor"])
    html = day_page(client)
    assert "Mina Overdue" not in html and 'id="no-overdue-measures"' in html


def test_my_day_shows_ten_and_counts_the_rest_in_the_same_statements(client, app, setup, make):
    def statements() -> int:
        with Statements() as seen:
            day_page(client)
        return len(seen)

    first = make.patient()
    make.enrolment(first, setup["iop"], setup["counselor"], start=ago(10))
    login(client, setup["counselor"].email)
    one = statements()
    for _ in range(7):
        make.enrolment(make.patient(), setup["iop"], setup["counselor"], start=ago(10))
    assert statements() == one
    html = day_page(client)
    assert html.count('class="overdue-measure"') == measure_schedule.DAY_SHOWN
    assert "and 6 more" in html  # 8 patients x 2 instruments = 16 overdue


# The patient page -------------------------------------------------------------------------------
def test_the_patient_page_shows_what_is_due_with_a_link_and_what_comes_next(client, setup, make):
    patient = make.patient()
    make.enrolment(patient, setup["iop"], setup["counselor"], start=ago(10))
    give(patient, "gad7", ago(2), setup["admin"])
    login(client, setup["counselor"].email)
    html = client.get(f"/admin/patients/details/?id={patient.id}").get_data(as_text=True)
    assert 'id="measures-due"' in html
    assert 'id="due-phq9"' in html and "PHQ-9 at admission: overdue by 10 days" in html
    assert f"/admin/measures/new/?patient={patient.id}&amp;instrument=phq9" in html
    assert "GAD-7 weekly in Intensive outpatient (IOP): due on" in html
    give(patient, "phq9", TODAY, setup["counselor"])
    html = client.get(f"/admin/patients/details/?id={patient.id}").get_data(as_text=True)
    assert "at admission: overdue" not in html


def test_the_generic_track_form_goes_through_the_service_for_the_interval(client, setup):
    from admin_helpers import read_form

    login(client, setup["admin"].email)
    iop = setup["iop"]
    url = f"/admin/tracks/edit/?id={iop.id}"
    form = read_form(client, url)
    assert form["measure_interval_days"] == "7"
    for bad in ("0", "91", "", "weekly"):
        attempt = read_form(client, url)
        attempt["measure_interval_days"] = bad
        page = client.post(url, data=attempt).get_data(as_text=True)
        assert "days between PHQ-9 and GAD-7 measures" in page or "Not a valid integer" in page, bad
        db.session.expire_all()
        assert db.session.get(Track, iop.id).measure_interval_days == 7
    form["measure_interval_days"] = "14"
    client.post(url, data=form)
    db.session.expire_all()
    assert db.session.get(Track, iop.id).measure_interval_days == 14
