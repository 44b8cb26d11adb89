"""Reading level: every patient-facing text at about a 6th-grade level (textstat), named when it is not."""

from __future__ import annotations

import tomllib

import pytest
from babel.messages.pofile import read_po

from clinic.i18n import TRANSLATIONS, catalogue_languages
from clinic.services.readability import reading
from clinic.services.seeding import SEED_DIR

#: The exercise fields printed for patients (the title is a heading: too short to score).
EXERCISE_FIELDS = {"summary": "summary", "why_it_helps": "why it helps", "how_to": "how to do it",
                   "reflection_prompts": "reflection prompts"}


def catalogue_texts() -> list[tuple[str, str, str]]:
    """(name, language, text) of every exercise text in the reference catalogue (seed/reference.toml)."""
    data = tomllib.loads((SEED_DIR / "reference.toml").read_text(encoding="utf-8"))
    return [(f"exercise {exercise['title']!r}, {label}", "en", exercise.get(field, ""))
            for exercise in data["exercises"] for field, label in EXERCISE_FIELDS.items()]


def translated_catalogue_texts() -> list[tuple[str, str, str]]:
    """(name, language, text) of every exercise text in the catalogue's translations (seed/exercise_texts/)."""
    texts = []
    for path in sorted((SEED_DIR / "exercise_texts").glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        texts += [(f"exercise {exercise['exercise']!r} in {path.stem}, {label}", path.stem, exercise.get(field, ""))
                  for exercise in data["exercises"] for field, label in EXERCISE_FIELDS.items()]
    return texts


def translated_track_goals() -> list[tuple[str, str, str]]:
    """(name, language, text) of every track's default goal in the translations (seed/exercise_texts/)."""
    texts = []
    for path in sorted((SEED_DIR / "exercise_texts").glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        texts += [(f"track {code!r} default goal in {path.stem}", path.stem, row.get("default_goal", ""))
                  for code, row in data.get("tracks", {}).items()]
    return texts


def test_every_translated_track_goal_reads_at_about_grade_6():
    texts = translated_track_goals()
    assert len(texts) >= 3
    assert all(reading(text, language).scored for _, language, text in texts)
    assert too_hard(texts) == []


def template_texts() -> list[tuple[str, str, str]]:
    """(name, language, text) of every printed sentence of the templates, in English and every catalogue."""
    texts = []
    for code in catalogue_languages(TRANSLATIONS):
        with (TRANSLATIONS / code / "LC_MESSAGES" / "messages.po").open("rb") as source:
            for message in read_po(source, locale=code):
                if not message.id:
                    continue
                english = message.id if isinstance(message.id, str) else message.id[0]
                translated = message.string if isinstance(message.string, str) else message.string[0]
                texts.append((f"template text {english[:50]!r}", "en", english))
                texts.append((f"template text {english[:50]!r} in {code}", code, translated))
    return list(dict.fromkeys(texts))


def too_hard(texts) -> list[str]:
    """``name: score`` for every text above the reading level."""
    return [f"{name}: {result}" for name, language, text in texts if not (result := reading(text, language)).ok]


def test_every_exercise_text_in_the_catalogue_reads_at_about_grade_6():
    texts = catalogue_texts()
    assert len(texts) >= 4 * 18
    assert sum(reading(text, language).scored for _, language, text in texts) >= 3 * 18  # not all skipped
    assert too_hard(texts) == []


def test_every_spanish_exercise_text_in_the_catalogue_reads_easily():
    texts = translated_catalogue_texts()
    spanish = [text for text in texts if text[1] == "es"]
    assert len(spanish) == 4 * 18 and all(text for _, _, text in spanish)  # every reference exercise
    assert sum(reading(text, "es").scored for _, _, text in spanish) >= 3 * 18  # not all skipped
    assert too_hard(texts) == []


def test_a_hard_spanish_exercise_text_fails_and_is_named():
    difícil = ("La participación sistemática en intervenciones prosociales estructuradas se correlaciona "
               "significativamente con la disminución sintomatológica observada longitudinalmente.")
    fácil = "Piense en una persona que le ayudó. Escríbale unas líneas. Hágalo simple."
    named = too_hard([("exercise 'Write a note of appreciation' in es, why it helps", "es", difícil),
                      ("exercise 'Write a note of appreciation' in es, summary", "es", fácil)])
    assert len(named) == 1
    assert named[0].startswith("exercise 'Write a note of appreciation' in es, why it helps: Fernández-Huerta")
    assert "(at least 70: too hard)" in named[0]


def test_every_printed_sentence_of_the_templates_reads_easily_in_every_language():
    texts = template_texts()
    assert {language for _, language, _ in texts} >= {"en", "es"}
    assert sum(reading(text, language).scored for _, language, text in texts) >= 4
    assert too_hard(texts) == []


def test_a_hard_text_fails_and_is_named():
    hard = ("Notwithstanding considerable interpersonal apprehension, participants systematically "
            "demonstrated substantially ameliorated affective functioning subsequent to altruistic engagement.")
    difícil = ("La participación sistemática en intervenciones prosociales estructuradas se correlaciona "
               "significativamente con la disminución sintomatológica observada longitudinalmente.")
    named = too_hard([("exercise 'Hard one', why it helps", "en", hard), ("plantilla difícil", "es", difícil),
                      ("an easy one", "en", "Think of one person. Write them a short note. Keep it simple.")])
    assert len(named) == 2
    assert named[0].startswith("exercise 'Hard one', why it helps: Flesch-Kincaid grade")
    assert named[0].endswith("(at most 6: too hard)")
    assert named[1].startswith("plantilla difícil: Fernández-Huerta") and "Szigriszt-Pazos" in named[1]


@pytest.mark.parametrize("text, language", [("Why it helps", "en"), ("Mi semana", "es"), ("", "en")])
def test_a_heading_is_too_short_to_score_and_passes(text, language):
    result = reading(text, language)
    assert not result.scored and result.ok and "too short to score" in str(result)


def test_steps_typed_without_full_stops_are_scored_as_sentences():
    steps = "1. Think of one person\n2. Write two to five short sentences\n3. Give it or keep it"
    assert reading(steps).ok
    assert reading(steps).score < 6


# What planners see ----------------------------------------------------------------------------------
def test_a_planner_sees_the_reading_level_of_each_text_beside_the_exercise_they_edit(client, make):
    from conftest import login
    from test_pdf_handouts import make_exercise

    exercise = make_exercise(why_it_helps=(
        "Notwithstanding considerable interpersonal apprehension, participants systematically demonstrated "
        "substantially ameliorated affective functioning subsequent to altruistic engagement."))
    planner = make.staff("planner")
    login(client, planner.email)
    for url in (f"/admin/exercises/edit/?id={exercise.id}", f"/admin/exercises/details/?id={exercise.id}"):
        page = client.get(url).get_data(as_text=True)
        assert "Reading level of the saved texts" in page, url
        row = page[page.index(">Why it helps</th>"):]
        row = row[:row.index("</tr>")]
        assert "Flesch-Kincaid grade" in row and "too hard" in row, url
        how = page[page.index(">How to do it</th>"):]
        assert "easy enough" in how[:how.index("</tr>")], url
        assert 'class="table-warning"' in page
