"""Patient paper in the patient's language: the catalogue, the preferred language, Spanish read back."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from clinic.extensions import db
from clinic.i18n import ROOT, TRANSLATIONS, compile_catalogues
from clinic.models import AuditEvent, Patient
from clinic.pdf import exercise_handout, kindness_plan
from clinic.pdf.cli import print_cli
from clinic.services import languages, patients
from clinic.services.limits import FieldViolation
from conftest import login
from test_pdf_handouts import assign, exports, make_exercise
from test_pdf_render import contains, read_pdf

MONDAY = date(2026, 1, 12)
#: A date pattern in the catalogue (``EEEE d MMMM y``) is not English to look for.
DATE_PATTERN = re.compile(r"^[dEMy' ]+$")


def catalogue(code: str):
    with (TRANSLATIONS / code / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source, locale=code)


def template_english() -> list[str]:
    """The English words of printed patient paper (the catalogue's ids, placeholders cut out)."""
    with (TRANSLATIONS / "messages.pot").open("rb") as source:
        template = read_po(source)
    words = []
    for message in template:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        for text in ids:
            if not text or DATE_PATTERN.match(text):
                continue
            words += [part.strip(" ,:") for part in re.split(r"%\(\w+\)[sd]", text) if len(part.strip(" ,:")) >= 2]
    return words + ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "January", "Printed"]


def pdftotext(data: bytes, tmp_path: Path) -> str:
    """What ``pdftotext`` (poppler) reads from the PDF: the text a reader copies, not our own parser's."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    source = tmp_path / "sheet.pdf"
    source.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(source), "-"], check=True, capture_output=True,
                          text=True).stdout


def english_left(text: str) -> list[str]:
    """The template's English words still in ``text`` (whole words, case kept)."""
    return [word for word in template_english() if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text)]


def spanish_exercise(title="Escriba una nota de agradecimiento"):
    """An exercise whose own text a planner typed in Spanish (its English texts come with the catalogue's slice)."""
    return make_exercise(
        title, summary="Unas líneas sinceras para alguien que le ayudó.",
        why_it_helps="Poner el agradecimiento en palabras hace que el buen sentimiento dure.",
        how_to="1. Piense en una persona.\n2. Escriba de dos a cinco frases.\n3. Hágalo sencillo.",
        reflection_prompts="¿Quién le vino a la mente primero?\n¿Cómo se sintió al escribir?")


def embedded_fonts(data: bytes) -> set[str]:
    """The names of the fonts embedded in the PDF (each has its font file inside)."""
    names = set()
    for page in read_pdf(data).pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for font in fonts.values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", [font]):
                descriptor = descendant.get_object().get("/FontDescriptor")
                if descriptor is not None and any(key in descriptor.get_object()
                                                  for key in ("/FontFile", "/FontFile2", "/FontFile3")):
                    names.add(str(descendant.get_object()["/BaseFont"]))
    return names


# The catalogue ---------------------------------------------------------------------------------
def test_every_printed_word_is_in_the_template_and_translated_in_every_language():
    """A word added to a printed template without `make translations-update` fails here, named."""
    method_map = [("clinic/pdf/**.py", "python"), ("templates/pdf/**.html", "jinja2")]
    extracted = {(context, message if isinstance(message, str) else message[0])
                 for _, _, message, _, context in extract_from_dir(str(ROOT), method_map)}
    with (TRANSLATIONS / "messages.pot").open("rb") as source:
        template = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in read_po(source) if m.id}
    assert extracted - template == set(), "printed words missing from translations/messages.pot"
    for code in languages.available()[1:]:
        translated = catalogue(code)
        untranslated = [m.id for m in translated if m.id and (m.fuzzy or not all(
            m.string if isinstance(m.string, tuple) else (m.string,)))]
        assert untranslated == [], f"{code}: not translated: {untranslated}"
        missing = template - {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in translated if m.id}
        assert missing == set(), f"{code}: missing from the catalogue: {missing}"
        problems = [(m.id, [str(e) for e in errors]) for m, errors in translated.check()]
        assert problems == [], f"{code}: placeholders differ: {problems}"


def test_a_missing_or_stale_compiled_catalogue_is_compiled_and_a_fresh_one_left_alone(tmp_path):
    shutil.copytree(TRANSLATIONS, tmp_path / "translations", ignore=shutil.ignore_patterns("*.mo"))
    folder = tmp_path / "translations"
    mo = folder / "es" / "LC_MESSAGES" / "messages.mo"
    assert compile_catalogues(folder) == [mo]
    assert mo.stat().st_size > 0
    assert compile_catalogues(folder) == []
    later = mo.stat().st_mtime + 10
    os.utime(mo.with_suffix(".po"), (later, later))  # the .po edited after the last compile
    assert compile_catalogues(folder) == [mo]


def test_the_languages_are_english_and_every_catalogue(app, tmp_path):
    with app.app_context():
        assert languages.available() == ["en", "es"]
        assert languages.choices() == [("en", "English"), ("es", "Español")]
        # Adding a language is adding a catalogue: no code.
        shutil.copytree(TRANSLATIONS, tmp_path / "translations")
        shutil.copytree(tmp_path / "translations" / "es", tmp_path / "translations" / "pt")
        app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(tmp_path / "translations")
        assert languages.available() == ["en", "es", "pt"]
        assert languages.check_language("pt") == "pt"


# The preferred language: one rule, every door ---------------------------------------------------------
def test_the_service_keeps_a_known_language_and_refuses_any_other(ctx):
    values = {"record_number": "MRN-L1", "first_name": "Lucía", "last_name": "Peña", "active": True}
    assert patients.create_patient({**values, "preferred_language": "es"}).preferred_language == "es"
    assert patients.create_patient({**values, "record_number": "MRN-L2"}).preferred_language == "en"
    for bad in ("fr", "ES", "es'; --", 7):
        with pytest.raises(FieldViolation) as refused:
            patients.create_patient({**values, "record_number": "MRN-L3", "preferred_language": bad})
        assert refused.value.field == "preferred_language"
    db.session.rollback()
    assert db.session.query(Patient).filter_by(record_number="MRN-L3").count() == 0


def _form(**changes):
    return {"record_number": "MRN-200", "first_name": "Lucía", "last_name": "Peña", "preferred_name": "",
            "preferred_language": "es", "active": "y", **changes}


def test_the_patient_form_offers_the_languages_and_saves_the_choice(client, make, ctx):
    admin = make.staff("admin")
    login(client, admin.email)
    page = client.get("/admin/patients/new/").get_data(as_text=True)
    assert '<option value="es">Español</option>' in page and "Language of patient paper" in page
    client.post("/admin/patients/new/", data=_form())
    db.session.remove()
    patient = db.session.query(Patient).filter_by(record_number="MRN-200").one()
    assert patient.preferred_language == "es"
    details = client.get(f"/admin/patients/details/?id={patient.id}").get_data(as_text=True)
    assert "Español" in details
    client.post(f"/admin/patients/edit/?id={patient.id}",
                data=_form(preferred_language="en", row_version="1"))
    db.session.remove()
    assert db.session.get(Patient, patient.id).preferred_language == "en"
    event = db.session.query(AuditEvent).filter_by(entity="patient", action="update").one()
    assert event.changes == {"preferred_language": ["es", "en"]}


def test_a_hand_made_request_with_an_unknown_language_is_refused_at_the_field(client, make, ctx, monkeypatch):
    admin = make.staff("admin")
    login(client, admin.email)
    response = client.post("/admin/patients/new/", data=_form(preferred_language="fr"))
    assert response.status_code == 200 and "Not a valid choice" in response.get_data(as_text=True)
    # Past the form's own list (say a list offering a language whose catalogue is gone), the
    # service still refuses, at the field, and saves nothing.
    monkeypatch.setattr(languages, "choices", lambda: [("en", "English"), ("es", "Español"), ("fr", "Français")])
    body = client.post("/admin/patients/new/", data=_form(preferred_language="fr")).get_data(as_text=True)
    assert "Patient paper can be printed in English, Español; choose one of them." in body
    db.session.remove()
    assert db.session.query(Patient).count() == 0


# Spanish paper, read back -------------------------------------------------------------------------------
def test_a_spanish_handout_has_the_spanish_words_accents_and_no_english_of_the_template(make, tmp_path):
    exercise = spanish_exercise()
    data = exercise_handout(exercise, language="es")
    text = pdftotext(data, tmp_path)
    for expected in ("Ejercicio de bondad", "Bondad con los demás", "Pide poca energía",
                     "Por lo general, dos veces por semana", "Por qué ayuda", "Cómo hacerlo", "Mi semana",
                     "Marque una casilla cada día que lo haga. Un intento pequeño también cuenta.",
                     "Semana que empieza el:", "Hecho", "Unas palabras", "Después, puede preguntarse",
                     "Página 1 de 1", "lun mar mié jue vie sáb dom"):
        assert contains(text, expected), expected
    assert re.search(r"Impreso el (lunes|martes|miércoles|jueves|viernes|sábado|domingo) \d+ de \w+ de \d{4}", text)
    assert english_left(text) == []
    assert read_pdf(data).trailer["/Root"]["/Lang"] == "es"
    assert any("DejaVu" in name for name in embedded_fonts(data))
    (event,) = exports()
    assert event.changes["language"] == "es"


def test_the_english_handout_is_unchanged_by_the_catalogue(make, tmp_path):
    data = exercise_handout(make_exercise())
    text = pdftotext(data, tmp_path)
    for expected in ("Why it helps", "How to do it", "My week", "Usually twice a week", "Page 1 of 1",
                     "Mon Tue Wed Thu Fri Sat Sun", f"Printed {date.today():%A}"):
        assert contains(text, expected), expected
    assert read_pdf(data).trailer["/Root"]["/Lang"] == "en"


def test_a_handout_in_a_language_without_a_catalogue_is_refused_and_leaves_no_trace(make):
    exercise = make_exercise()
    with pytest.raises(FieldViolation):
        exercise_handout(exercise, language="fr")
    assert exports() == []


@pytest.mark.parametrize("large", [False, True])
def test_a_spanish_speaking_patients_plan_is_in_spanish_with_dates_in_spanish(make, tmp_path, large):
    lucia = make.patient(first_name="Lucía", last_name="Peña", preferred_name="Lucía", preferred_language="es")
    assign(lucia, spanish_exercise(), times=3)
    data = kindness_plan(lucia, MONDAY, large_print=large)
    text = pdftotext(data, tmp_path)
    for expected in ("Mi plan de bondad", "Para Lucía", "Hola, Lucía:", "Semana del 12 – 18 de enero de 2026",
                     "Meta: 3 veces esta semana", "Un intento pequeño cuenta.",
                     "Algo bondadoso que noté esta semana", "12 ene", "18 ene", "Página 1 de"):
        assert contains(text, expected), expected
    if not large:
        assert contains(text, "Ejercicio")
    assert english_left(text) == []
    assert "Peña" not in text  # the display name only, as in English
    assert read_pdf(data).trailer["/Root"]["/Lang"] == "es"


def test_a_spanish_speaking_patient_with_nothing_planned_is_told_so_in_spanish(make, tmp_path):
    patient = make.patient(preferred_name="Mateo", preferred_language="es")
    text = pdftotext(kindness_plan(patient, MONDAY), tmp_path)
    assert contains(text, "Esta semana no tiene ejercicios de bondad.")
    assert english_left(text) == []


def test_a_language_whose_catalogue_was_removed_prints_in_english(make, tmp_path):
    patient = make.patient(preferred_name="Ana", preferred_language="pt")  # stored before its catalogue went
    text = pdftotext(kindness_plan(patient, MONDAY), tmp_path)
    assert contains(text, "My kindness plan") and contains(text, "Hello Ana,")
    (event,) = exports()
    assert event.changes["language"] == "en"


# Through the pages and the command line ------------------------------------------------------------
def test_the_plan_page_prints_in_the_patients_language_and_the_handout_in_the_one_asked(client, make, tmp_path):
    planner = make.staff("planner")
    patient = make.patient(preferred_name="Lucía", preferred_language="es")
    exercise = make_exercise("Give a sincere compliment")
    login(client, planner.email)
    plan = client.get(f"/admin/print/plan/?patient={patient.id}&week=2026-01-12")
    assert plan.status_code == 200 and contains(pdftotext(plan.data, tmp_path), "Hola, Lucía:")
    handout = client.get(f"/admin/print/handout/?exercise={exercise.id}&language=es")
    assert handout.status_code == 200
    assert handout.headers["Content-Disposition"] == 'attachment; filename="handout-give-a-sincere-compliment-es.pdf"'
    assert contains(pdftotext(handout.data, tmp_path), "Por qué ayuda")
    assert client.get(f"/admin/print/handout/?exercise={exercise.id}&language=xx").status_code == 400
    page = client.get(f"/admin/exercises/details/?id={exercise.id}").get_data(as_text=True)
    assert f"/admin/print/handout/?exercise={exercise.id}&amp;language=es" in page
    assert "Handout in Español (PDF)" in page


def test_the_cli_prints_a_handout_in_spanish_and_refuses_an_unknown_language(app, make, tmp_path):
    make_exercise()
    runner = app.test_cli_runner()
    output = tmp_path / "es.pdf"
    ok = runner.invoke(print_cli, ["handout", "--exercise", "Write a note of appreciation", "--language", "es",
                                   "-o", str(output)])
    assert ok.exit_code == 0, ok.output
    assert contains(pdftotext(output.read_bytes(), tmp_path), "Cómo hacerlo")
    refused = runner.invoke(print_cli, ["handout", "--exercise", "Write a note of appreciation", "--language", "fr",
                                        "-o", str(tmp_path / "fr.pdf")])
    assert refused.exit_code != 0 and "choose one of them" in refused.output
    assert not (tmp_path / "fr.pdf").exists()


# The demo clinic ------------------------------------------------------------------------------------
def test_the_demo_has_a_few_spanish_speaking_patients_one_in_a_group_with_english_speakers(app):
    from clinic.models import GroupMembership
    from clinic.services.seeding import load_demo

    with app.app_context():
        load_demo(today=date(2026, 3, 18))
        spanish = db.session.query(Patient).filter_by(preferred_language="es").all()
        assert sorted(p.record_number for p in spanish) == ["DEMO-0002", "DEMO-0014", "DEMO-0027"]
        groups_of = {}
        for membership in db.session.query(GroupMembership).filter(GroupMembership.end_date.is_(None)):
            groups_of.setdefault(membership.group_id, set()).add(membership.patient.preferred_language)
        assert any(spoken == {"en", "es"} for spoken in groups_of.values())


def test_a_demo_file_naming_a_language_without_a_catalogue_is_refused(app):
    import tomllib

    from clinic.services.demo_spec import parse_demo
    from clinic.services.seed_files import SeedError

    data = tomllib.loads((ROOT / "seed" / "demo.toml").read_text(encoding="utf-8"))
    data["languages"] = {"DEMO-0002": "xx"}
    with app.app_context(), pytest.raises(SeedError, match=r"\[languages\] DEMO-0002: Patient paper can be printed in"):
        parse_demo(data)
    data["languages"] = {"MRN-0002": "es"}
    with app.app_context(), pytest.raises(SeedError, match=r"a demo record number starts with DEMO-"):
        parse_demo(data)


# Mixed groups ---------------------------------------------------------------------------------------
def test_a_mixed_groups_packet_prints_each_plan_in_its_patients_language_and_the_sign_in_sheet_in_english(
        make, tmp_path):
    from test_pdf_packets import make_session
    from test_pdf_render import page_texts

    from clinic.pdf import session_packet

    track = make.track("iop")
    group = make.group(track, name="IOP Evening A")
    lucia = make.patient(first_name="Lucía", last_name="Peña", preferred_name="Lucía", preferred_language="es")
    sam = make.patient(first_name="Samantha", last_name="Quill", preferred_name="Sam")
    for patient in (lucia, sam):
        make.membership(group, patient, start=date(2026, 1, 5))
    assign(lucia, spanish_exercise(), times=3, start=date(2026, 1, 5))
    assign(sam, make_exercise(), times=2, start=date(2026, 1, 5))
    lucia_id, sam_id = lucia.id, sam.id
    data = session_packet(make_session(group))
    pages = page_texts(data)
    sign_in, lucia_page, sam_page = pages  # sign-in, then the plans by printed name: Lucía, Sam
    assert contains(sign_in, "Signature") and contains(sign_in, "Page 1 of 3")
    assert contains(sign_in, "Lucía") and contains(sign_in, "Sam")
    for expected in ("Mi plan de bondad", "Hola, Lucía:", "Semana del 12 – 18 de enero de 2026",
                     "Meta: 3 veces esta semana", "lun", "mié", "Página 2 de 3", "Impreso el"):
        assert contains(lucia_page, expected), expected
    assert english_left(lucia_page) == []
    for expected in ("My kindness plan", "Hello Sam,", "Week of 12 – 18 January 2026", "Aim: twice this week",
                     "Page 3 of 3", "Printed"):
        assert contains(sam_page, expected), expected
    assert "Hola" not in sam_page and "Página" not in sam_page
    text = pdftotext(data, tmp_path)
    assert "pequeño" in text and "Peña" not in text
    languages_printed = {int(e.entity_id): e.changes["language"] for e in exports() if e.entity == "patient"}
    assert languages_printed == {lucia_id: "es", sam_id: "en"}
