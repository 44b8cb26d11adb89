"""A track's default goal in the patient's language (``services.track_texts``, migration 0034).

A goal made from the track's default stores the English text (that is how it is matched to
the default). The patient progress sheet prints the track's translation into the patient's
language while the goal still reads as the current English default and a translation exists;
an edited goal, a goal of a track without a translation and an English sheet print as typed.
Every door that saves a translation (the service, the planners' page) refuses an unknown
language, English, a too-long text and a stale version, and changes nothing when it does.
"""

from __future__ import annotations

import tomllib
from datetime import date

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import PlanGoal, TrackText
from clinic.pdf import batches
from clinic.pdf.progress import progress_sheet
from clinic.services import readability, track_texts
from clinic.services import treatment_plan as tp
from clinic.services.limits import FieldViolation
from clinic.services.locking import StaleEdit
from clinic.services.seed_files import SEED_DIR
from clinic.services.seeding import load_reference
from conftest import login
from test_languages import pdftotext
from test_pdf_render import contains

START, END = date(2026, 3, 1), date(2026, 3, 31)
ENGLISH_GOAL = "Keeps up 3 to 5 acts of kindness a week between sessions, including one that reconnects with someone."
SPANISH_GOAL = ("Mantiene de 3 a 5 actos de bondad a la semana entre sesiones, incluido uno para volver a "
                "conectar con alguien.")
EDITED_GOAL = "Keeps up 2 acts of kindness a week, one of them a phone call to Ana."


def default_goal(counselor, enrolment, statement: str, target: date = date(2026, 6, 30)) -> PlanGoal:
    """A goal as a fan-out makes it: ``from_track_default`` with the statement given."""
    goal = tp.add_goal(counselor, enrolment, statement=statement, target_date=target)
    goal.from_track_default = True
    db.session.commit()
    return goal


def texts() -> list[tuple]:
    return sorted(db.session.execute(sa.select(TrackText.track_id, TrackText.language, TrackText.default_goal,
                                               TrackText.version)).all())


@pytest.fixture
def clinic(make):
    """IOP in March 2026 with its default goal: Lucía (Spanish) and Sam (English), each with the default goal."""
    counselor = make.staff("counselor")
    iop = make.track("iop", default_goal=ENGLISH_GOAL)
    lucia = make.patient(first_name="Lucía", last_name="Peña", preferred_name="Lucía", preferred_language="es")
    sam = make.patient(first_name="Samantha", last_name="Quill", preferred_name="Sam")
    enrolments = {}
    for patient in (lucia, sam):
        enrolments[patient.id] = make.enrolment(patient, iop, counselor, start=date(2026, 3, 1))
        default_goal(counselor, enrolments[patient.id], ENGLISH_GOAL)
    return {"counselor": counselor, "track": iop, "lucia": lucia, "sam": sam, "enrolments": enrolments}


def translate(track, text: str = SPANISH_GOAL) -> TrackText:
    row = track_texts.save_goal(track, "es", text, "new")
    db.session.commit()
    return row


# The printed sheet -----------------------------------------------------------------------------
def test_a_spanish_speaking_patients_sheet_prints_the_tracks_default_goal_in_spanish(clinic, tmp_path):
    translate(clinic["track"])
    text = pdftotext(progress_sheet(clinic["lucia"], START, END, version="patient"), tmp_path)
    assert contains(text, f"Usted trabaja para lograr esto: {SPANISH_GOAL}")
    assert not contains(text, "Keeps up 3 to 5 acts") and "reconnects" not in text
    # What is stored is unchanged: the goal still matches the English default.
    assert set(db.session.scalars(sa.select(PlanGoal.statement))) == {ENGLISH_GOAL}


def test_an_english_speaking_patients_sheet_prints_the_english_default_goal(clinic, tmp_path):
    translate(clinic["track"])
    text = pdftotext(progress_sheet(clinic["sam"], START, END, version="patient"), tmp_path)
    assert contains(text, f"You are working towards this: {ENGLISH_GOAL}")
    assert "Mantiene" not in text


def test_an_edited_goal_prints_as_typed_beside_the_translated_default(clinic, tmp_path):
    translate(clinic["track"])
    edited = default_goal(clinic["counselor"], clinic["enrolments"][clinic["lucia"].id], EDITED_GOAL,
                          date(2026, 7, 30))
    assert edited.from_track_default
    text = pdftotext(progress_sheet(clinic["lucia"], START, END, version="patient"), tmp_path)
    assert contains(text, EDITED_GOAL)  # a goal someone changed is theirs: as typed
    assert contains(text, SPANISH_GOAL)


def test_a_goal_made_from_a_default_that_changed_since_prints_as_typed(clinic, tmp_path):
    translate(clinic["track"])
    clinic["track"].default_goal = "Does one kind thing a day."
    db.session.commit()
    text = pdftotext(progress_sheet(clinic["lucia"], START, END, version="patient"), tmp_path)
    assert contains(text, ENGLISH_GOAL) and "Mantiene" not in text


@pytest.mark.parametrize("saved", [None, "   "])
def test_without_a_translation_the_default_goal_prints_in_english(clinic, tmp_path, saved):
    if saved is not None:
        translate(clinic["track"], saved)
    text = pdftotext(progress_sheet(clinic["lucia"], START, END, version="patient"), tmp_path)
    assert contains(text, f"Usted trabaja para lograr esto: {ENGLISH_GOAL}")


def test_a_batch_prints_each_patients_default_goal_in_their_language(clinic, tmp_path):
    translate(clinic["track"])
    patients = batches.track_patients(clinic["track"], START, END, "patient")
    text = pdftotext(batches.render_sheets(patients, START, END, "patient"), tmp_path)
    assert contains(text, f"Usted trabaja para lograr esto: {SPANISH_GOAL}")
    assert contains(text, f"You are working towards this: {ENGLISH_GOAL}")


def test_a_chunk_with_default_goals_reads_in_the_same_statements_whatever_its_size(clinic, make):
    translate(clinic["track"])
    inpatient = make.track("inpatient", default_goal="Takes part in one act of kindness a day on the ward.")
    track_texts.save_goal(inpatient, "es", "Participa en un acto de bondad al día en la unidad.", "new")
    db.session.commit()
    for n in range(3):
        patient = make.patient(preferred_name=f"Ana{n}", preferred_language="es" if n % 2 else "en")
        enrolment = make.enrolment(patient, inpatient if n else clinic["track"], clinic["counselor"],
                                   start=date(2026, 3, 1))
        default_goal(clinic["counselor"], enrolment, enrolment.track.default_goal)
    ids = [p.id for p in batches.in_print_order(
        [clinic["lucia"], clinic["sam"], *batches.track_patients(inpatient, START, END, "patient")], "patient")]
    ids += [p.id for p in batches.track_patients(clinic["track"], START, END, "patient") if p.id not in ids]
    assert len(ids) == 5

    def statements(chunk: list[int]) -> int:
        seen = []
        listener = lambda *a, **k: seen.append(1)  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            batches.render_chunk(ids, chunk, START, END, "patient")
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        db.session.rollback()
        return len(seen)

    assert statements(ids[:1]) == statements(ids)


def test_goal_rows_is_one_statement_and_skips_english(make):
    seen = []
    listener = lambda *a, **k: seen.append(1)  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert track_texts.goal_rows([1, 2, 3], ["es", "en", "xx"]) == {}
        assert track_texts.goal_rows([], []) == {}
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    assert len(seen) == 2


def test_the_printed_text_is_the_translation_only_for_an_unchanged_default():
    rows = {(7, "es"): "Meta en español."}
    assert track_texts.goal_text("Goal.", True, 7, "Goal.", "es", rows) == "Meta en español."
    assert track_texts.goal_text("Goal.", False, 7, "Goal.", "es", rows) == "Goal."  # typed by hand
    assert track_texts.goal_text("My goal.", True, 7, "Goal.", "es", rows) == "My goal."  # edited
    assert track_texts.goal_text("Goal.", True, 7, "Goal.", "en", rows) == "Goal."
    assert track_texts.goal_text("Goal.", True, 8, "Goal.", "es", rows) == "Goal."  # another track
    assert track_texts.goal_text("Goal.", True, 7, "Goal.", "es", {(7, "es"): " "}) == "Goal."


# The service's refusals --------------------------------------------------------------------------
@pytest.mark.parametrize("language, text, version, error, message", [
    ("xx", SPANISH_GOAL, "2", FieldViolation, "Patient paper can be printed in"),
    ("en", SPANISH_GOAL, "2", FieldViolation, "English is the track's own default goal"),
    ("es", "a" * 1001, "2", FieldViolation, "Keep the default goal to 1000 characters or fewer."),
    ("es", SPANISH_GOAL, "1", StaleEdit, "Someone else saved this record"),
    ("es", SPANISH_GOAL, "new", StaleEdit, "Someone else saved this record"),
    ("es", SPANISH_GOAL, "", StaleEdit, "Someone else saved this record"),
])
def test_a_refused_save_changes_nothing(make, language, text, version, error, message):
    track = make.track("iop", default_goal=ENGLISH_GOAL)
    translate(track, "Primera")
    track_texts.save_goal(track, "es", "Segunda", "1")  # now at version 2
    db.session.commit()
    before = texts()
    with pytest.raises(error, match=message):
        track_texts.save_goal(track, language, text, version)
    db.session.rollback()
    assert texts() == before


def test_a_saved_translation_is_audited_and_a_thousand_characters_fit(make):
    from clinic.models import AuditEvent

    track = make.track("iop", default_goal=ENGLISH_GOAL)
    events = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    row = translate(track, "a" * 1000)
    assert (row.language, len(row.default_goal), row.version) == ("es", 1000, 1)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) > events


# The seed ------------------------------------------------------------------------------------------
def test_the_seed_loads_the_spanish_default_goals_once_and_keeps_planners_edits(app):
    with app.app_context():
        first = load_reference()
        assert first["track goal translations"] == 3
        row = db.session.scalar(sa.select(TrackText).join(TrackText.track).where(TrackText.language == "es")
                                .order_by(TrackText.id).limit(1))
        track_texts.save_goal(row.track, "es", "Nuestra propia meta.", row.version)
        db.session.commit()
        assert load_reference()["track goal translations"] == 0
        db.session.expire_all()
        assert row.default_goal == "Nuestra propia meta."


def test_the_spanish_seed_goals_are_easy_to_read():
    goals = tomllib.loads((SEED_DIR / "exercise_texts" / "es.toml").read_text(encoding="utf-8"))["tracks"]
    assert set(goals) == {"inpatient", "intensive", "iop"}
    for row in goals.values():
        assert readability.reading(row["default_goal"], "es").ok, row


# The planners' page -----------------------------------------------------------------------------
def test_a_planner_translates_a_tracks_default_goal_beside_the_english(client, make):
    planner = make.staff("planner")
    track = make.track("iop", default_goal=ENGLISH_GOAL)
    track_id = track.id
    login(client, planner.email)
    html = client.get("/admin/exercise-texts/").get_data(as_text=True)
    assert "Tracks' default goals" in html and ENGLISH_GOAL in html
    assert "Not translated yet: prints in English." in html and "Flesch-Kincaid grade" in html
    url = f"/admin/exercise-texts/track-goal/?track={track_id}"
    saved = client.post(url, data={"language": "es", "version": "new", "default_goal": SPANISH_GOAL})
    assert saved.status_code == 302
    html = client.get("/admin/exercise-texts/").get_data(as_text=True)
    assert SPANISH_GOAL in html and "Fernández-Huerta" in html
    assert texts() == [(track_id, "es", SPANISH_GOAL, 1)]


@pytest.mark.parametrize("change, status, message", [
    ({"language": "xx"}, 400, "Patient paper can be printed in"),
    ({"language": "en"}, 400, "English is the track&#39;s own default goal"),
    ({"default_goal": "a" * 1001}, 400, "Keep the default goal to 1000 characters or fewer."),
    ({"version": "1"}, 409, "Someone else saved this record after you opened it."),
    ({"version": ""}, 409, "Someone else saved this record after you opened it."),
])
def test_a_refused_post_shows_why_and_changes_nothing(client, make, change, status, message):
    planner = make.staff("planner")
    track = make.track("iop", default_goal=ENGLISH_GOAL)
    track_id = track.id
    translate(track, "Primera")
    track_texts.save_goal(track, "es", "Segunda", "1")
    db.session.commit()
    before = texts()
    login(client, planner.email)
    data = {"language": "es", "version": "2", "default_goal": "Cambiada", **change}
    answer = client.post(f"/admin/exercise-texts/track-goal/?track={track_id}", data=data)
    html = answer.get_data(as_text=True)
    assert answer.status_code == status and message in html
    if change.get("language") not in ("xx", "en"):
        assert ("Cambiada" if "default_goal" not in change else "a" * 1001) in html  # what was typed is kept
    assert texts() == before


def test_a_counselor_may_not_translate_a_tracks_default_goal(client, make):
    counselor = make.staff("counselor")
    track = make.track("iop", default_goal=ENGLISH_GOAL)
    track_id = track.id
    login(client, counselor.email)
    answer = client.post(f"/admin/exercise-texts/track-goal/?track={track_id}",
                         data={"language": "es", "version": "new", "default_goal": SPANISH_GOAL})
    assert answer.status_code == 403
    assert texts() == []
