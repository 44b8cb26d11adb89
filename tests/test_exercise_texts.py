"""The exercise catalogue in the patient's language: translations, their page, and printing with them.

English stays on the exercise; ``exercise_text`` holds each other language. A blank
translated field prints in English and lists the exercise as missing. Every door that
saves a translation (the service, the planners' page) refuses an unknown language,
English, a too-long text and a stale version, and changes nothing when it does.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from clinic.extensions import db
from clinic.models import AuditEvent, ExerciseText, KindnessExercise
from clinic.pdf import exercise_handout, kindness_plan
from clinic.pdf.handouts import plan_html_context
from clinic.services import catalogue, exercise_texts
from clinic.services.limits import FieldViolation
from clinic.services.locking import StaleEdit
from clinic.services.seed_files import SEED_DIR, SeedError
from clinic.services.seeding import load_reference
from conftest import login
from test_pdf_handouts import assign, make_exercise
from test_pdf_render import contains, page_texts

MONDAY = date(2026, 1, 12)
SPANISH = tomllib.loads((SEED_DIR / "exercise_texts" / "es.toml").read_text(encoding="utf-8"))["exercises"]
ENGLISH = tomllib.loads((SEED_DIR / "reference.toml").read_text(encoding="utf-8"))["exercises"]
HARD_ES = ("La participación sistemática en intervenciones prosociales estructuradas se correlaciona "
           "significativamente con la disminución sintomatológica observada longitudinalmente.")


def seeded(title: str) -> KindnessExercise:
    """The reference exercise ``title`` (its Spanish loaded with it)."""
    load_reference()
    return db.session.scalar(sa.select(KindnessExercise).where(KindnessExercise.title == title))


def spanish_of(title: str) -> dict:
    return next(item for item in SPANISH if item["exercise"] == title)


def english_of(title: str) -> dict:
    return next(item for item in ENGLISH if item["title"] == title)


def translations() -> list[tuple]:
    """Every translation as saved (read fresh), to prove a refusal changed nothing."""
    with db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            sa.select(ExerciseText.exercise_id, ExerciseText.language, ExerciseText.version,
                      *(getattr(ExerciseText, name) for name in exercise_texts.FIELDS)).order_by(ExerciseText.id))]


def lines_of(text: str) -> list[str]:
    """The printed lines of a typed text: steps without their numbers."""
    return [re.sub(r"^\d+\.\s+", "", line.strip()) for line in text.strip().splitlines() if line.strip()]


# The seed ------------------------------------------------------------------------------------
def test_every_reference_exercise_has_all_its_texts_in_spanish():
    assert len(ENGLISH) == 18
    assert [item["exercise"] for item in SPANISH] == [item["title"] for item in ENGLISH]
    for item in SPANISH:
        for name in exercise_texts.FIELDS:
            assert item[name].strip(), (item["exercise"], name)
        english = english_of(item["exercise"])
        # The same steps and the same number of prompts as the English.
        assert len(lines_of(item["how_to"])) == len(lines_of(english["how_to"])), item["exercise"]
        assert len(lines_of(item["reflection_prompts"])) == len(lines_of(english["reflection_prompts"]))
        assert item["how_to"].strip().startswith("1. ")


def test_the_seed_loads_the_spanish_once_and_keeps_what_planners_changed(app):
    with app.app_context():
        first = load_reference()
        assert first["exercise translations"] == 18
        exercise = db.session.scalar(sa.select(KindnessExercise).where(KindnessExercise.title == "Treat yourself"))
        row = exercise_texts.translation(exercise, "es")
        assert row.title == "Dese un gusto"
        row.summary = "Nuestro propio texto."
        db.session.delete(exercise_texts.translation(
            db.session.scalar(sa.select(KindnessExercise).where(KindnessExercise.title == "Rest without guilt")), "es"))
        db.session.commit()
        again = load_reference()
        assert again["exercise translations"] == 1  # the deleted one comes back, the edited one stays
        assert exercise_texts.translation(exercise, "es").summary == "Nuestro propio texto."
        assert load_reference()["exercise translations"] == 0


def test_a_translation_naming_an_exercise_the_catalogue_lacks_is_refused(app, monkeypatch, tmp_path):
    (tmp_path / "reference.toml").write_text((SEED_DIR / "reference.toml").read_text(encoding="utf-8"),
                                             encoding="utf-8")
    (tmp_path / "exercise_texts").mkdir()
    (tmp_path / "exercise_texts" / "es.toml").write_text(
        '[[exercises]]\nexercise = "Juggle"\ntitle = "Haga malabares"\n', encoding="utf-8")
    monkeypatch.setitem(app.config, "SEED_DIR", str(tmp_path))
    with app.app_context():
        with pytest.raises(SeedError, match="es.toml exercise 'Juggle'.*no exercise with this title"):
            load_reference()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(KindnessExercise)) == 0


# Reading an exercise's words ------------------------------------------------------------------
def test_an_untranslated_field_falls_back_to_english_and_the_exercise_is_listed_missing(make):
    exercise = make_exercise()
    other = make_exercise("Rest without guilt")
    assert [m.title for m in exercise_texts.missing("es")] == ["Rest without guilt", "Write a note of appreciation"]
    exercise_texts.save_translation(exercise, "es", {"title": "Escriba una nota", "summary": "Unas líneas.",
                                                     "how_to": "1. Piense en alguien."}, "new")
    db.session.commit()
    words = exercise_texts.words_for([exercise, other], "es")
    assert (words[exercise.id].title, words[exercise.id].how_to) == ("Escriba una nota", "1. Piense en alguien.")
    assert words[exercise.id].why_it_helps == exercise.why_it_helps  # left blank: English
    assert words[exercise.id].english == {"why_it_helps", "reflection_prompts"}
    assert words[other.id].title == "Rest without guilt" and words[other.id].english == set(exercise_texts.FIELDS)
    (gap,) = [m for m in exercise_texts.missing("es") if m.exercise_id == exercise.id]
    assert gap.fields == ("why_it_helps", "reflection_prompts")
    assert gap.labels == ["Why it helps", "Reflection prompts"]
    english = exercise_texts.words_for([exercise], "en")[exercise.id]
    assert english.title == exercise.title and english.english == frozenset()


@pytest.mark.parametrize("language, values, version, field", [
    ("xx", {"title": "Titre"}, "new", "language"),
    ("en", {"title": "Another English title"}, "new", "language"),
    ("es", {"summary": "a" * 256}, "new", "summary"),
    ("es", {"how_to": "a" * 20001}, "new", "how_to"),
])
def test_the_service_refuses_a_bad_translation_and_changes_nothing(make, language, values, version, field):
    exercise = make_exercise()
    before = translations()
    with pytest.raises(FieldViolation) as refused:
        exercise_texts.save_translation(exercise, language, values, version)
    assert refused.value.field == field and str(refused.value)
    db.session.rollback()
    assert translations() == before


def test_a_stale_or_missing_version_is_refused_and_changes_nothing(make):
    exercise = make_exercise()
    exercise_texts.save_translation(exercise, "es", {"title": "Primera"}, "new")
    db.session.commit()
    row = exercise_texts.translation(exercise, "es")
    exercise_texts.save_translation(exercise, "es", {"title": "Segunda"}, str(row.version))
    db.session.commit()
    before = translations()
    for version in ("1", "new", "", None, "x"):  # the page saw version 1, or no translation
        with pytest.raises(StaleEdit):
            exercise_texts.save_translation(exercise, "es", {"title": "Tercera"}, version)
        db.session.rollback()
    assert translations() == before and before[0][3] == "Segunda"


def test_saving_a_translation_is_audited_and_removing_the_exercise_removes_it(make):
    exercise = make_exercise()
    exercise_texts.save_translation(exercise, "es", {"title": "Escriba una nota"}, "new")
    db.session.commit()
    events = list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "exercise_text")))
    assert [e.action for e in events] == ["create"]
    catalogue.delete_exercise(exercise)
    db.session.commit()
    assert translations() == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.entity == "exercise_text", AuditEvent.action == "delete")) == 1


# Printing --------------------------------------------------------------------------------------
@pytest.mark.parametrize("large", [False, True])
def test_a_spanish_handout_prints_the_spanish_exercise_and_none_of_its_english(make, large):
    exercise = seeded("Celebrate a small win")
    spanish, english = spanish_of(exercise.title), english_of(exercise.title)
    text = "\n".join(page_texts(exercise_handout(exercise, large, language="es")))
    assert contains(text, "Celebre un pequeño logro") and contains(text, spanish["summary"])
    for line in lines_of(spanish["how_to"]) + lines_of(spanish["reflection_prompts"]):
        assert contains(text, line), line
    assert contains(text, "Cómo hacerlo")  # the template's words, from the gettext catalogue
    assert not contains(text, english["title"])
    for line in lines_of(english["summary"]) + lines_of(english["why_it_helps"]) + lines_of(english["how_to"]):
        assert not contains(text, line), line


def test_a_field_left_untranslated_prints_in_english_on_the_spanish_handout(make):
    exercise = seeded("Celebrate a small win")
    row = exercise_texts.translation(exercise, "es")
    exercise_texts.save_translation(exercise, "es", {**{n: getattr(row, n) for n in exercise_texts.FIELDS},
                                                     "how_to": ""}, str(row.version))
    db.session.commit()
    text = "\n".join(page_texts(exercise_handout(exercise, language="es")))
    assert contains(text, "Celebre un pequeño logro")
    for line in lines_of(english_of(exercise.title)["how_to"]):
        assert contains(text, line), line
    assert [(m.title, m.fields) for m in exercise_texts.missing("es")] == [("Celebrate a small win", ("how_to",))]


def test_the_english_handout_keeps_the_english_texts(make):
    exercise = seeded("Celebrate a small win")
    text = "\n".join(page_texts(exercise_handout(exercise)))
    assert contains(text, "Celebrate a small win") and not contains(text, "Celebre un pequeño logro")


def test_a_spanish_speaking_patients_plan_names_the_exercises_in_spanish(make):
    seeded("Celebrate a small win")
    lucia = make.patient(preferred_name="Lucía", preferred_language="es")
    sam = make.patient(preferred_name="Sam")
    for title in ("Celebrate a small win", "Rest without guilt"):
        exercise = db.session.scalar(sa.select(KindnessExercise).where(KindnessExercise.title == title))
        assign(lucia, exercise, start=MONDAY)
        assign(sam, exercise, start=MONDAY)
    spanish = "\n".join(page_texts(kindness_plan(lucia, MONDAY)))
    for title in ("Celebrate a small win", "Rest without guilt"):
        assert contains(spanish, spanish_of(title)["title"]) and contains(spanish, spanish_of(title)["summary"])
        assert not contains(spanish, title) and not contains(spanish, english_of(title)["summary"])
    english = "\n".join(page_texts(kindness_plan(sam, MONDAY)))
    assert contains(english, "Celebrate a small win") and not contains(english, "Celebre un pequeño logro")


def test_a_mixed_groups_packet_prints_each_plans_exercises_in_its_patients_language(make):
    from test_pdf_packets import make_session

    from clinic.pdf import session_packet

    exercise = seeded("Give a sincere compliment")
    group = make.group(make.track("iop"))
    lucia = make.patient(preferred_name="Lucía", preferred_language="es")
    sam = make.patient(preferred_name="Sam")
    for patient in (lucia, sam):
        make.membership(group, patient, start=date(2026, 1, 5))
        assign(patient, exercise, start=date(2026, 1, 5))
    _, lucia_page, sam_page = page_texts(session_packet(make_session(group)))
    assert contains(lucia_page, "Haga un elogio sincero") and not contains(lucia_page, "Give a sincere compliment")
    assert contains(sam_page, "Give a sincere compliment") and not contains(sam_page, "Haga un elogio sincero")


def test_printing_a_plan_reads_the_exercise_texts_in_one_statement_for_any_number_of_exercises(make):
    load_reference()
    exercises = list(db.session.scalars(sa.select(KindnessExercise).order_by(KindnessExercise.title)))
    one = make.patient(preferred_language="es")
    many = make.patient(preferred_language="es")
    assign(one, exercises[0], start=MONDAY)
    for exercise in exercises[:6]:
        assign(many, exercise, start=MONDAY)

    def statements(patient) -> tuple[int, int]:
        seen = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        db.session.expire_all()
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            with force_locale("es"):
                context = plan_html_context(patient, MONDAY)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        spanish_titles = {item["title"] for item in SPANISH}
        assert context["plan"].rows and all(row.title in spanish_titles for row in context["plan"].rows)
        return len(seen), sum("exercise_text" in s for s in seen)

    assert statements(one) == statements(many)
    assert statements(many)[1] == 1


# The planners' page ----------------------------------------------------------------------------
def _form(exercise, language="es", version="new", **texts) -> dict:
    """What the page's form posts (the tests' configuration turns the CSRF check off)."""
    data = {"language": language, "version": version}
    data.update({name: "" for name in exercise_texts.FIELDS})
    data.update(texts)
    return data


def test_a_planner_translates_beside_the_english_and_sees_both_reading_scores(client, make):
    planner = make.staff("planner")
    exercise = make_exercise()
    login(client, planner.email)
    url = f"/admin/exercise-texts/edit/?exercise={exercise.id}&language=es"
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Putting thanks into words makes a warm feeling last." in html  # the English beside
    assert "Flesch-Kincaid grade" in html and "Not translated yet: prints in English." in html
    how_to = "1. Piense en una persona que le ayudó.\n2. Escriba de dos a cinco frases cortas.\n3. Hágalo simple."
    saved = client.post(url, data=_form(exercise, title="Escriba una nota", how_to=how_to))
    assert saved.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "Fernández-Huerta" in page and "Flesch-Kincaid grade" in page
    assert "Escriba una nota" in page and 'name="version" value="1"' in page
    row = exercise_texts.translation(exercise, "es")
    assert (row.title, row.how_to) == ("Escriba una nota", how_to)
    # A too-hard Spanish text is saved, with a warning.
    answer = client.post(url, data=_form(exercise, version="1", title="Escriba una nota", why_it_helps=HARD_ES),
                         follow_redirects=True)
    html = answer.get_data(as_text=True)
    assert "Harder to read than patient paper should be: Why it helps" in html
    assert 'id="too-hard-why_it_helps"' in html
    db.session.expire_all()
    assert exercise_texts.translation(exercise, "es").why_it_helps == HARD_ES


def test_the_missing_list_names_each_exercise_and_its_untranslated_texts(client, make):
    planner = make.staff("planner")
    exercise = make_exercise()
    exercise_texts.save_translation(exercise, "es", {"title": "Escriba una nota", "summary": "Unas líneas."}, "new")
    db.session.commit()
    login(client, planner.email)
    html = client.get("/admin/exercise-texts/").get_data(as_text=True)
    assert "Español" in html and "1 of 1 current exercises" in html
    assert f"/admin/exercise-texts/edit/?exercise={exercise.id}&amp;language=es" in html
    assert "Why it helps, How to do it, Reflection prompts" in html
    details = client.get(f"/admin/exercises/details/?id={exercise.id}").get_data(as_text=True)
    assert "Translate into Español" in details


def test_the_translations_page_opens_every_exercise_even_when_nothing_is_missing(client, make):
    """A finished translation is still reachable from the page, to correct it."""
    planner = make.staff("planner")
    done = make_exercise()
    exercise_texts.save_translation(done, "es", {name: f"Texto {name}" for name in exercise_texts.FIELDS}, "new")
    db.session.commit()
    login(client, planner.email)
    html = client.get("/admin/exercise-texts/").get_data(as_text=True)
    assert "Every current exercise is translated." in html
    assert 'id="every-exercise"' in html
    assert f"/admin/exercise-texts/edit/?exercise={done.id}&amp;language=es" in html


@pytest.mark.parametrize("change, status, message", [
    ({"language": "xx"}, 400, "Patient paper can be printed in"),
    ({"language": "en"}, 400, "English is the exercise&#39;s own text"),
    ({"summary": "a" * 256}, 400, "Keep the summary to 255 characters or fewer."),
    ({"version": "1"}, 409, "Someone else saved this record after you opened it."),
    ({"version": "new"}, 409, "Someone else saved this record after you opened it."),
    ({"version": ""}, 409, "Someone else saved this record after you opened it."),
])
def test_a_hand_altered_post_is_refused_with_a_clear_message_and_changes_nothing(client, make, change, status,
                                                                                 message):
    planner = make.staff("planner")
    exercise = make_exercise()
    exercise_texts.save_translation(exercise, "es", {"title": "Primera"}, "new")
    db.session.commit()
    exercise_texts.save_translation(exercise, "es", {"title": "Segunda"}, "1")  # now at version 2
    db.session.commit()
    exercise_id, title = exercise.id, exercise.title
    before = translations()
    login(client, planner.email)
    data = {**_form(exercise, version="2", title="Cambiada"), **change}
    answer = client.post(f"/admin/exercise-texts/edit/?exercise={exercise_id}&language=es", data=data)
    html = answer.get_data(as_text=True)
    assert answer.status_code == status and message in html
    assert "Cambiada" in html  # what was typed is kept
    assert translations() == before
    assert db.session.scalar(sa.select(KindnessExercise.title).where(KindnessExercise.id == exercise_id)) == title


def test_a_counselor_may_not_open_or_post_the_translations(client, make):
    counselor = make.staff("counselor")
    exercise = make_exercise()
    exercise_id = exercise.id
    login(client, counselor.email)
    url = f"/admin/exercise-texts/edit/?exercise={exercise_id}&language=es"
    assert client.get("/admin/exercise-texts/").status_code == 403
    assert client.get(url).status_code == 403
    assert client.post(url, data=_form(exercise, title="Escriba una nota")).status_code == 403
    assert translations() == []
    assert "Translate into" not in client.get(f"/admin/exercises/details/?id={exercise_id}").get_data(as_text=True)


def test_an_unknown_exercise_or_language_in_the_address_is_not_found(client, make):
    planner = make.staff("planner")
    exercise = make_exercise()
    login(client, planner.email)
    for url in (f"/admin/exercise-texts/edit/?exercise={exercise.id}&language=xx",
                f"/admin/exercise-texts/edit/?exercise={exercise.id}&language=en",
                "/admin/exercise-texts/edit/?exercise=999999&language=es",
                "/admin/exercise-texts/edit/?exercise=abc&language=es",
                "/admin/exercise-texts/?language=xx"):
        assert client.get(url).status_code == 404, url
