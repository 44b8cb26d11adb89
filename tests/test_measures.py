"""PHQ-9 and GAD-7: scoring by hand, the prorating rule, LOINC codes, storage, signing, addenda and the pages.

Scores are checked against answer patterns scored by hand at every band edge; the database is
checked with plain SQL, as someone at a console would type it, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import AuditEvent, MeasureAddendum, MeasureAdministration, MeasureItem, SafetyTask
from clinic.services import instruments, measures
from clinic.services.errors import RuleViolation
from clinic.services.instruments import GAD7, PHQ9, score
from clinic.services.locking import StaleEdit
from conftest import login
from test_migrations import scratch_url  # noqa: F401 - a fixture
from test_rosters import Statements

TODAY = date.today()


def pattern(form, total: int) -> dict[int, int]:
    """Answers adding up to ``total``, filled item by item (3, 3, ..., remainder, 0, ...)."""
    answers, left = {}, total
    for item in form.items:
        answers[item.number] = min(3, left)
        left -= answers[item.number]
    assert left == 0
    return answers


# Scoring ------------------------------------------------------------------------------
@pytest.mark.parametrize(("total", "band"), [
    (0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
    (15, "moderately_severe"), (19, "moderately_severe"), (20, "severe"), (27, "severe"),
])
def test_phq9_band_edges_match_hand_scoring(total, band):
    result = score(PHQ9, pattern(PHQ9, total))
    assert (result.total, result.band, result.prorated) == (total, band, False)


@pytest.mark.parametrize(("total", "band"), [
    (0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
    (15, "severe"), (21, "severe"),
])
def test_gad7_band_edges_match_hand_scoring(total, band):
    result = score(GAD7, pattern(GAD7, total))
    assert (result.total, result.band, result.prorated) == (total, band, False)


def test_a_hand_scored_mixed_phq9_pattern():
    # 1+2+0+3+1+2+0+1+0 = 10: moderate.
    answers = dict(zip(range(1, 10), (1, 2, 0, 3, 1, 2, 0, 1, 0)))
    assert score(PHQ9, answers).total == 10
    assert score(PHQ9, answers).band_label == "Moderate"


def test_phq9_with_one_missing_item_is_prorated_half_up():
    # Answered: 2,2,2,2,2,1,1,0 (item 8 missing) = 12 over 8 items; 12/8*9 = 13.5 -> 14 (half up).
    answers = {1: 2, 2: 2, 3: 2, 4: 2, 5: 2, 6: 1, 7: 1, 8: None, 9: 0}
    result = score(PHQ9, answers)
    assert (result.total, result.prorated, result.band, result.missing) == (14, True, "moderate", (8,))


def test_phq9_with_two_missing_items_is_prorated():
    # Answered: 3,3,3,3,3,3,0 = 18 over 7; 18/7*9 = 23.14 -> 23: severe.
    answers = {1: 3, 2: 3, 3: 3, 4: 3, 5: None, 6: 3, 7: None, 8: 3, 9: 0}
    result = score(PHQ9, answers)
    assert (result.total, result.prorated, result.band) == (23, True, "severe")


def test_gad7_with_one_missing_item_is_prorated():
    # Answered: 1,1,1,1,1,0 = 5 over 6; 5/6*7 = 5.83 -> 6: mild.
    result = score(GAD7, {1: 1, 2: 1, 3: 1, 4: None, 5: 1, 6: 1, 7: 0})
    assert (result.total, result.prorated, result.band) == (6, True, "mild")


def test_phq9_with_three_missing_items_is_refused_naming_the_rule():
    with pytest.raises(RuleViolation) as refused:
        score(PHQ9, {1: None, 2: None, 3: None, 4: 1, 5: 1, 6: 1, 7: 1, 8: 1, 9: 0})
    assert "Too many items are missing (3)" in str(refused.value)
    assert "at most 2 items may be marked missing" in str(refused.value)


def test_phq9_item_9_can_never_be_missing():
    with pytest.raises(RuleViolation) as refused:
        score(PHQ9, {**pattern(PHQ9, 8), 9: None})
    assert "Item 9 of the PHQ-9 must be answered" in str(refused.value)


def test_gad7_with_two_missing_items_is_refused_naming_the_rule():
    with pytest.raises(RuleViolation) as refused:
        score(GAD7, {1: None, 2: None, 3: 1, 4: 1, 5: 1, 6: 1, 7: 1})
    assert "at most 1 item may be marked missing" in str(refused.value)


def test_an_item_neither_answered_nor_marked_missing_is_refused():
    answers = pattern(GAD7, 6)
    del answers[4]
    with pytest.raises(RuleViolation) as refused:
        score(GAD7, answers)
    assert "item 4 has no answer" in str(refused.value)


# The instruments as published ------------------------------------------------------------
def test_loinc_codes_are_the_published_ones():
    assert (PHQ9.loinc_panel, PHQ9.loinc_total, PHQ9.item(9).loinc) == ("44249-1", "44261-6", "44260-8")
    assert (GAD7.loinc_panel, GAD7.loinc_total) == ("69737-5", "70274-6")
    assert [i.loinc for i in PHQ9.items] == ["44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2",
                                            "44252-5", "44253-3", "44260-8"]
    assert [i.loinc for i in GAD7.items] == ["69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8",
                                            "69736-7"]


def test_the_wording_is_the_public_domain_instruments():
    assert PHQ9.stem == "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
    assert GAD7.stem == "Over the last 2 weeks, how often have you been bothered by the following problems?"
    assert PHQ9.item(9).text == "Thoughts that you would be better off dead or of hurting yourself in some way"
    assert PHQ9.item(6).text.startswith("Feeling bad about yourself — or that you are a failure")
    assert GAD7.item(7).text == "Feeling afraid, as if something awful might happen"
    assert [w for _v, w in instruments.ANSWERS] == [
        "Not at all", "Several days", "More than half the days", "Nearly every day"]
    assert [w for _v, w in instruments.DIFFICULTY_CHOICES] == [
        "Not difficult at all", "Somewhat difficult", "Very difficult", "Extremely difficult"]
    assert instruments.COPYRIGHT.startswith("PHQ-9 and GAD-7 were developed by Drs. Robert L. Spitzer")


# Storage and the service -----------------------------------------------------------------
@pytest.fixture
def people(make):
    track = make.track("iop")
    counselor = make.staff("counselor")
    other = make.staff("counselor")
    admin = make.staff("admin")
    patient = make.patient()
    outsider = make.patient()
    make.enrolment(patient, track, counselor, start=TODAY - timedelta(days=30))
    make.enrolment(outsider, track, other, start=TODAY - timedelta(days=30))
    return {"counselor": counselor, "other": other, "admin": admin, "patient": patient, "outsider": outsider}


def entry(form, total, **kw) -> measures.Entry:
    return measures.Entry(answers=kw.pop("answers", None) or pattern(form, total),
                          administered_on=kw.pop("on", TODAY - timedelta(days=1)), mode=kw.pop("mode", "in_person"),
                          difficulty=kw.pop("difficulty", 1))


def test_a_signed_phq9_is_stored_per_item_with_who_when_and_the_enrolment(people):
    a = measures.save_administration(people["patient"], "phq9", entry(PHQ9, 12), people["counselor"], sign=True)
    assert (a.total, a.band, a.prorated, a.status, a.mode) == (12, "moderate", False, "signed", "in_person")
    assert a.entered_by_id == people["counselor"].id and a.signed_by_id == people["counselor"].id
    assert a.enrolment_id is not None
    assert [(i.item_number, i.answer) for i in a.items] == sorted(pattern(PHQ9, 12).items())
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity.in_(
        ["measure_administration", "measure_item"]))).all()
    assert {(e.action, e.entity) for e in events} == {("create", "measure_administration"), ("create", "measure_item"),
                                                      ("update", "measure_administration")}
    assert all(e.actor_id == people["counselor"].id for e in events)


def test_the_day_answered_is_neither_in_the_future_nor_before_the_first_enrolment(people):
    for day in (TODAY + timedelta(days=1), TODAY - timedelta(days=31)):
        with pytest.raises(measures.MeasureRefused) as refused:
            measures.save_administration(people["patient"], "gad7", entry(GAD7, 3, on=day), people["counselor"])
        assert "administered_on" in refused.value.errors
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MeasureAdministration)) == 0


def test_a_counselor_cannot_enter_a_measure_for_a_patient_outside_the_caseload(people):
    with pytest.raises(RuleViolation):
        measures.save_administration(people["outsider"], "phq9", entry(PHQ9, 3), people["counselor"])


def test_a_draft_is_continued_with_its_version_and_a_stale_version_is_refused(people):
    draft = measures.save_administration(people["patient"], "gad7", entry(GAD7, 3), people["counselor"])
    assert draft.status == "draft"
    seen = draft.version
    measures.save_administration(people["patient"], "gad7", entry(GAD7, 8), people["counselor"],
                                 administration=draft, expected_version=seen)
    with pytest.raises(StaleEdit):
        measures.save_administration(people["patient"], "gad7", entry(GAD7, 15), people["counselor"],
                                     administration=draft, expected_version=seen)
    db.session.rollback()
    db.session.refresh(draft)
    assert draft.total == 8


def test_a_signed_measure_is_corrected_by_addendum_keeping_the_original(people):
    a = measures.save_administration(people["patient"], "phq9", entry(PHQ9, 4), people["counselor"], sign=True)
    original = {(i.item_number, i.answer) for i in a.items}
    with pytest.raises(RuleViolation):
        measures.save_administration(people["patient"], "phq9", entry(PHQ9, 9), people["counselor"],
                                     administration=a, expected_version=a.version)
    db.session.rollback()
    corrected = {**pattern(PHQ9, 4), 5: 3, 6: 3}  # 4 + 6 = 10
    addendum = measures.correct_by_addendum(a, corrected, 1, "Items 5 and 6 read from the wrong line",
                                            people["admin"], seen_addendum="none")
    db.session.expire_all()
    a = db.session.get(MeasureAdministration, a.id)
    assert (a.total, a.band) == (4, "minimal")  # the signed row as it was
    assert {(i.item_number, i.answer) for i in a.items} == original
    assert (a.current_total, addendum.total, addendum.author_id) == (10, 10, people["admin"].id)
    assert addendum.changes == {"item 5": [0, 3], "item 6": [0, 3], "total": [4, 10]}
    # A second correction from a page that did not see the first is refused.
    with pytest.raises(StaleEdit):
        measures.correct_by_addendum(a, corrected | {1: 0}, 1, "again", people["admin"], seen_addendum="none")


def test_item9_above_zero_opens_a_safety_task_with_the_save_and_zero_does_not(people):
    positive = measures.save_administration(people["patient"], "phq9", entry(PHQ9, 5, answers={**pattern(PHQ9, 4), 9: 1}),
                                            people["counselor"])
    calm = measures.save_administration(people["patient"], "phq9", entry(PHQ9, 4), people["counselor"])
    assert (positive.item9_positive, calm.item9_positive) == (True, False)
    tasks = db.session.scalars(sa.select(SafetyTask)).all()
    assert [(t.administration_id, t.item9_answer, t.closed_at) for t in tasks] == [(positive.id, 1, None)]


# The database itself ------------------------------------------------------------------------
def _refused_sql(sql: str, **params) -> str:
    with pytest.raises(sa.exc.DatabaseError) as caught, db.engine.begin() as conn:
        conn.execute(sa.text(sql), params)
    return str(caught.value.orig)


@pytest.mark.parametrize("sql", [
    "UPDATE measure_administration SET total = 0 WHERE id = :a",
    "UPDATE measure_administration SET signed_at = NULL, signed_by_id = NULL WHERE id = :a",
    "DELETE FROM measure_administration WHERE id = :a",
    "UPDATE measure_item SET answer = 0 WHERE administration_id = :a",
    "DELETE FROM measure_item WHERE administration_id = :a",
    "INSERT INTO measure_item (administration_id, item_number, answer) VALUES (:a, 8, 1)",
])
def test_plain_sql_cannot_change_a_signed_measure(people, sql):
    answers = {**pattern(GAD7, 5), 7: None}
    a = measures.save_administration(people["patient"], "gad7", entry(GAD7, 5, answers=answers), people["counselor"],
                                     sign=True)
    ident = a.id
    db.session.close()
    assert "signed" in _refused_sql(sql, a=ident)
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT total FROM measure_administration WHERE id = :a"), {"a": ident}).scalar() == 6
        assert conn.execute(sa.text("SELECT count(*) FROM measure_item WHERE administration_id = :a"),
                            {"a": ident}).scalar() == 7


def test_plain_sql_cannot_change_an_addendum_and_a_draft_stays_editable(people):
    a = measures.save_administration(people["patient"], "gad7", entry(GAD7, 5), people["counselor"], sign=True)
    measures.correct_by_addendum(a, pattern(GAD7, 6), 1, "typo", people["counselor"])
    draft = measures.save_administration(people["patient"], "gad7", entry(GAD7, 5), people["counselor"])
    ident = draft.id
    db.session.close()
    assert "append-only" in _refused_sql("UPDATE measure_addendum SET total = 0")
    assert "append-only" in _refused_sql("DELETE FROM measure_addendum")
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE measure_item SET answer = 0 WHERE administration_id = :a"), {"a": ident})


@pytest.mark.parametrize("sql", [
    "UPDATE measure_item SET answer = 4 WHERE administration_id = :a",
    "UPDATE measure_administration SET total = 22 WHERE id = :a",  # a GAD-7 tops out at 21
    "UPDATE measure_administration SET difficulty = 4 WHERE id = :a",
])
def test_the_database_keeps_answers_and_totals_in_range(people, sql):
    draft = measures.save_administration(people["patient"], "gad7", entry(GAD7, 5), people["counselor"])
    ident = draft.id
    db.session.close()
    assert "check" in _refused_sql(sql, a=ident).lower()


# Pages ----------------------------------------------------------------------------------------
def _post_form(total=None, answers=None, **extra):
    data = {"administered_on": (TODAY - timedelta(days=1)).isoformat(), "mode": "paper", "difficulty": "2",
            "action": "sign", "expected_version": ""}
    for n, v in (answers or pattern(PHQ9, total)).items():
        data[f"item-{n}"] = "missing" if v is None else str(v)
    data.update(extra)
    return data


def test_a_counselor_enters_a_phq9_on_the_page_and_sees_total_band_and_prorated(client, people):
    login(client, people["counselor"].email)
    patient_id = people["patient"].id
    page = client.get(f"/admin/measures/new/?patient={patient_id}&instrument=phq9").get_data(as_text=True)
    assert PHQ9.item(8).text in page and PHQ9.stem in page and instruments.COPYRIGHT in page
    assert "<legend" in page and 'value="missing"' in page and "at most 2 items may be marked missing" in page
    answers = {1: 2, 2: 2, 3: 2, 4: 2, 5: 2, 6: 1, 7: 1, 8: None, 9: 0}
    response = client.post(f"/admin/measures/new/?patient={patient_id}&instrument=phq9",
                           data=_post_form(answers=answers), follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="measure-total">14<' in html and "Moderate" in html and 'id="measure-prorated"' in html
    assert "Correct by addendum" in html
    patient_page = client.get(f"/admin/patients/details/?id={patient_id}").get_data(as_text=True)
    assert 'id="patient-measures"' in patient_page and "14 (prorated)" in patient_page and "signed" in patient_page


def test_an_incomplete_form_is_refused_with_the_answers_kept(client, people):
    login(client, people["counselor"].email)
    data = _post_form(total=7)
    del data["item-3"]
    response = client.post(f"/admin/measures/new/?patient={people['patient'].id}&instrument=phq9", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="measure-refusal"' in html and "the form is incomplete" in html
    assert 'id="error-item-3"' in html
    assert 'name="item-1" id="item-1-3" value="3" checked' in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MeasureAdministration)) == 0


def test_a_stale_draft_save_is_refused_with_the_input_kept(client, people):
    draft = measures.save_administration(people["patient"], "gad7", entry(GAD7, 3), people["counselor"])
    old_version = draft.version
    measures.save_administration(people["patient"], "gad7", entry(GAD7, 4), people["counselor"],
                                 administration=draft, expected_version=old_version)
    login(client, people["counselor"].email)
    data = _post_form(answers=pattern(GAD7, 12), expected_version=str(old_version))
    html = client.post(f"/admin/measures/edit/?id={draft.id}", data=data).get_data(as_text=True)
    assert "Someone else saved this record after you opened it" in html
    assert 'name="item-4" id="item-4-3" value="3" checked' in html
    db.session.expire_all()
    assert db.session.get(MeasureAdministration, draft.id).total == 4


def test_a_counselor_gets_404_for_a_patient_outside_the_caseload_by_page_and_by_hand_made_post(client, people):
    other = measures.save_administration(people["outsider"], "phq9", entry(PHQ9, 3), people["other"], sign=True)
    login(client, people["counselor"].email)
    outsider = people["outsider"].id
    for url in (f"/admin/measures/new/?patient={outsider}&instrument=phq9", f"/admin/measures/view/?id={other.id}",
                f"/admin/measures/correct/?id={other.id}", f"/admin/measures/edit/?id={other.id}",
                f"/admin/measures/blank/?instrument=phq9&patient={outsider}"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/admin/measures/new/?patient={outsider}&instrument=phq9",
                       data=_post_form(total=5)).status_code == 404
    assert client.post(f"/admin/measures/correct/?id={other.id}",
                       data={**_post_form(total=5), "reason": "x", "seen_addendum": "none"}).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MeasureAdministration)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MeasureAddendum)) == 0


def test_correcting_on_the_page_adds_an_addendum_shown_with_the_original(client, people):
    a = measures.save_administration(people["patient"], "gad7", entry(GAD7, 9), people["counselor"], sign=True)
    login(client, people["counselor"].email)
    form = client.get(f"/admin/measures/correct/?id={a.id}").get_data(as_text=True)
    assert 'name="seen_addendum" value="none"' in form
    data = {**_post_form(answers=pattern(GAD7, 10)), "reason": "Item 4 was misread", "seen_addendum": "none"}
    html = client.post(f"/admin/measures/correct/?id={a.id}", data=data, follow_redirects=True).get_data(as_text=True)
    assert 'id="measure-total">10<' in html and "as first signed: 9" in html and "Item 4 was misread" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MeasureAddendum)) == 1
    views = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "view",
                                                           AuditEvent.entity == "measure_administration")).all()
    assert views and all(e.changes["patients"] == [people["patient"].id] for e in views)


def test_the_patient_page_takes_the_same_statements_with_1_or_10_measures(client, people):
    def statements() -> int:
        with Statements() as seen:
            assert client.get(f"/admin/patients/details/?id={people['patient'].id}").status_code == 200
        return len(seen)

    login(client, people["counselor"].email)
    measures.save_administration(people["patient"], "phq9", entry(PHQ9, 3), people["counselor"], sign=True)
    one = statements()
    for n in range(9):
        a = measures.save_administration(people["patient"], "gad7", entry(GAD7, n), people["counselor"], sign=True)
        if n % 3 == 0:
            measures.correct_by_addendum(a, pattern(GAD7, n + 1), 1, "typo", people["counselor"])
    assert statements() == one


def test_the_blank_form_prints_the_wording_and_copyright_and_no_score(client, people):
    from pypdf import PdfReader

    login(client, people["counselor"].email)
    response = client.get(f"/admin/measures/blank/?instrument=phq9&patient={people['patient'].id}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(response.data)).pages)
    assert PHQ9.stem in text
    assert "Little interest or pleasure in doing things" in text and "hurting yourself in some way" in text
    assert "Nearly every day" in text and "Extremely difficult" in text
    assert "No permission required to reproduce, translate, display or distribute." in text
    assert people["patient"].display_name in text and people["patient"].last_name not in text
    for word in ("Total", "score", "Minimal", "Moderate", "Severe", "prorated", people["patient"].record_number):
        assert word not in text
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.changes == {"document": "blank_phq9", "patients": [people["patient"].id]}


def test_the_measures_menu_page_lists_only_the_caseload_and_offers_the_blank_forms(client, people):
    mine = measures.save_administration(people["patient"], "phq9", entry(PHQ9, 3), people["counselor"], sign=True)
    theirs = measures.save_administration(people["outsider"], "gad7", entry(GAD7, 3), people["other"], sign=True)
    login(client, people["counselor"].email)
    html = client.get("/admin/measures/").get_data(as_text=True)
    assert f"/admin/measures/view/?id={mine.id}" in html and f"/admin/measures/view/?id={theirs.id}" not in html
    assert people["outsider"].last_name not in html
    assert "/admin/measures/blank/?instrument=phq9" in html and "/admin/measures/blank/?instrument=gad7" in html


def test_a_downgrade_below_0015_refuses_while_measures_exist(scratch_url, tmp_path, monkeypatch):  # noqa: F811
    from alembic import command
    from flask import current_app

    from conftest import _make_app

    monkeypatch.delenv("CLINIC_DOWNGRADE_FORCE", raising=False)
    app = _make_app(scratch_url, tmp_path)
    with app.app_context():
        try:
            config = current_app.extensions["migrate"].migrate.get_config()
            command.upgrade(config, "head")
            with db.engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO patient (record_number, first_name, last_name, active, created_at, "
                                     "version) VALUES ('R-1', 'Ada', 'Ash', true, CURRENT_TIMESTAMP, 1)"))
                conn.execute(sa.text(
                    "INSERT INTO measure_administration (patient_id, instrument, administered_on, mode, total, "
                    "prorated, band, entered_at, version) SELECT id, 'phq9', CURRENT_DATE, 'phone', 3, false, "
                    "'minimal', CURRENT_TIMESTAMP, 1 FROM patient"))
            with pytest.raises(SystemExit) as refused:
                command.downgrade(config, "0012")
            assert "1 outcome measures" in str(refused.value) and "force=yes" in str(refused.value)
            config.cmd_opts = type("Opts", (), {"x": ["force=yes"]})()
            command.downgrade(config, "0012")
            with db.engine.connect() as conn:
                assert "measure_administration" not in sa.inspect(conn).get_table_names()
        finally:
            db.session.remove()
            db.engine.dispose()


def test_the_measures_list_costs_the_same_statements_however_many_patients_it_names(client, people, make):
    """The list's audit commits: its lines carry plain names, never rows a commit expires."""
    measures.save_administration(people["patient"], "phq9", entry(PHQ9, 12), people["counselor"], sign=True)
    login(client, people["admin"].email)

    def counted() -> tuple[int, str]:
        client.get("/admin/measures/")
        with Statements() as seen:
            answer = client.get("/admin/measures/")
        assert answer.status_code == 200
        return len(seen), answer.get_data(as_text=True)

    few, _ = counted()
    track = make.track("iop")
    names = []
    for _ in range(4):
        patient = make.patient()
        make.enrolment(patient, track, people["counselor"], start=TODAY - timedelta(days=30))
        measures.save_administration(patient, "gad7", entry(GAD7, 6), people["counselor"], sign=True)
        names.append(f"{patient.last_name}, {patient.first_name}")
    many, text = counted()
    assert many == few
    assert all(name in text for name in names)
