"""The patient progress sheet in the patient's language, alone and in batches (in process, in a
job's chunks, from the command line), read back from the PDF; the staff sheet stays in English."""

from __future__ import annotations

import io
import re
from datetime import date

import pikepdf
import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Assignment
from clinic.pdf import batches
from clinic.pdf.cli import print_cli
from clinic.pdf.progress import progress_sheet
from clinic.services import print_jobs
from clinic.services import treatment_plan as tp
from test_languages import embedded_fonts, english_left, pdftotext, spanish_exercise
from test_pdf_handouts import assign, exports, make_exercise
from test_pdf_progress import attend, checkin, make_session
from test_pdf_render import contains, page_texts, read_pdf

START, END = date(2026, 3, 1), date(2026, 3, 31)
#: Goals typed by the counselor in Spanish (printed as typed).
GOALS = ["Llamar a mi hermana cada semana"] + [f"Meta número {n}: salir a caminar con una vecina" for n in range(2, 15)]
#: The footer of each page, in either language.
FOOTER = re.compile(r"(Page|Página) (\d+) (of|de) (\d+)")


@pytest.fixture
def mixed(make):
    """The IOP track in March 2026: Lucía (Spanish; a long sheet with fourteen goals) and Sam (English),
    in the same group; each attended two sessions and did their exercise."""
    counselor = make.staff("counselor", full_name="Wren Counselor")
    iop = make.track("iop")
    group = make.group(iop, facilitator=counselor, name="IOP Evening A")
    lucia = make.patient(first_name="Lucía", last_name="Peña", preferred_name="Lucía", preferred_language="es",
                         record_number="MRN-80001")
    sam = make.patient(first_name="Samantha", last_name="Quill", preferred_name="Sam", record_number="MRN-80002")
    enrolment = make.enrolment(lucia, iop, counselor, start=date(2026, 3, 1))
    make.enrolment(sam, iop, counselor, start=date(2026, 3, 1))
    for patient in (lucia, sam):
        make.membership(group, patient, start=date(2026, 3, 1))
    for day in (date(2026, 3, 2), date(2026, 3, 4)):
        session = make_session(group, day)
        attend(session, lucia)
        attend(session, sam)
    nota = assign(lucia, spanish_exercise(), start=date(2026, 3, 2), times=3)
    checkin(nota, date(2026, 3, 3), "done", 3, 6)
    checkin(nota, date(2026, 3, 5), "partly", 4, 5)
    note = assign(sam, make_exercise(), start=date(2026, 3, 2), times=2)
    checkin(note, date(2026, 3, 3), "done", 5, 7)
    for n, statement in enumerate(GOALS):
        goal = tp.add_goal(counselor, enrolment, statement=statement, target_date=date(2026, 6, 30 - n))
        db.session.commit()
        if n == 0:
            db.session.get(Assignment, nota.id).goal_id = goal.id
            db.session.commit()
    return {"lucia": lucia, "sam": sam, "track": iop, "group": group}


def sheets_of(texts: list[str]) -> list[list[str]]:
    """Pages grouped into sheets by their own footers (which must run 1..Y in one language)."""
    grouped: list[list[str]] = []
    for text in texts:
        word, number, of, total = FOOTER.findall(text)[-1]
        if int(number) == 1:
            grouped.append([])
        grouped[-1].append(text)
        assert len(grouped[-1]) == int(number) <= int(total)
    for sheet in grouped:
        assert int(FOOTER.findall(sheet[-1])[-1][3]) == len(sheet)
    return grouped


def outline(pdf: bytes) -> list[tuple[str, int]]:
    """The bookmarks (title, page index), depth first."""
    found = []
    with pikepdf.open(io.BytesIO(pdf)) as document, document.open_outline() as tree:
        pages = {page.objgen: n for n, page in enumerate(document.pages)}

        def walk(items):
            for item in items:
                destination = item.destination
                target = pages.get(destination[0].objgen) if isinstance(destination, pikepdf.Array) else None
                found.append((item.title, target))
                walk(item.children)

        walk(tree.root)
    return found


SPANISH_SHEET = (
    "Su progreso, Lucía", "1 – 31 de marzo de 2026", "Hola, Lucía:", "Así le fue del 1 – 31 de marzo de 2026.",
    "Sus pequeños logros", "Vino a 2 sesiones de grupo. Venir pide energía, y usted lo hizo.",
    "Hizo un ejercicio de bondad una vez, y lo intentó una vez más.", "Su ánimo mejoró después de un ejercicio dos veces.",
    "Sus actos de bondad", "En la semana del 2 mar hizo 1 acto de bondad por los demás. Intentó 1 más.",
    "Cómo se sintió", "Cada marca es un día en que anotó su ánimo.", "Ánimo antes", "Ánimo después", "Ánimo (0–10)",
    "Día del registro", "15 mar", "Sus metas",
    "Usted trabaja para lograr esto: Llamar a mi hermana cada semana (para el martes 30 de junio de 2026). "
    "Los ejercicios que le ayudan con esto: Escriba una nota de agradecimiento.",
    "Sus ejercicios de bondad ahora", "Escriba una nota de agradecimiento: intente hacerlo 3 veces por semana.",
    "Unas líneas sinceras para alguien que le ayudó.", "Algo que me da orgullo",
    "Tenga paciencia consigo: los pasos pequeños suman.",
)
ENGLISH_SHEET = ("Your progress, Sam", "Hello Sam,", "1 – 31 March 2026", "Your small wins",
                 "You came to 2 group sessions.", "Mood before", "Mood (0–10)", "Day of check-in", "15 Mar",
                 "Write a note of appreciation: aim for twice a week.", "Be patient with yourself")


def assert_spanish(text: str) -> None:
    for expected in SPANISH_SHEET:
        assert contains(text, expected), expected
    assert re.search(r"Impreso el (lunes|martes|miércoles|jueves|viernes|sábado|domingo) \d+ de \w+ de \d{4}", text)
    assert english_left(text) == []
    assert "Peña" not in text and "MRN-80001" not in text  # the display name only, as in English


def assert_english(text: str) -> None:
    for expected in ENGLISH_SHEET:
        assert contains(text, expected), expected
    for spanish in ("Hola", "Página", "Ánimo", "Impreso", "mar "):
        assert spanish not in text, spanish


# One sheet ----------------------------------------------------------------------------------
def test_a_spanish_speaking_patients_sheet_is_in_spanish_with_accents_dates_and_footer(mixed, tmp_path):
    data = progress_sheet(mixed["lucia"], START, END, version="patient")
    text = pdftotext(data, tmp_path)  # poppler's reading: the text a reader copies
    assert_spanish(text)
    assert "pequeños" in text and "Ánimo" in text and "Día" in text and "Cómo" in text  # ñ and accents kept
    pages = page_texts(data)
    assert len(pages) == 2  # fourteen goals: two pages, each with its own footer
    assert contains(pages[0], "Página 1 de 2") and contains(pages[1], "Página 2 de 2")
    assert read_pdf(data).trailer["/Root"]["/Lang"] == "es"
    assert any("DejaVu" in name for name in embedded_fonts(data))
    (event,) = exports()
    assert event.changes["language"] == "es" and event.changes["version"] == "patient"


def test_an_english_speaking_patients_sheet_is_unchanged(mixed, tmp_path):
    data = progress_sheet(mixed["sam"], START, END, version="patient")
    text = pdftotext(data, tmp_path)
    assert_english(text)
    assert contains(text, "Page 1 of 1")
    assert read_pdf(data).trailer["/Root"]["/Lang"] == "en"
    (event,) = exports()
    assert event.changes["language"] == "en"


def test_the_staff_sheet_of_a_spanish_speaking_patient_stays_in_english(mixed, tmp_path):
    data = progress_sheet(mixed["lucia"], START, END, version="staff")
    text = pdftotext(data, tmp_path)
    for expected in ("Progress sheet: Lucía Peña", "Staff version", "MRN-80001", "1 – 31 March 2026",
                     "Treatment plan goals", "Mood before", "Day of check-in", "Page 1 of", "Printed"):
        assert contains(text, expected), expected
    for spanish in ("Página", "Hola", "Ánimo", "Impreso", "marzo", "Su progreso"):
        assert spanish not in text, spanish
    assert read_pdf(data).trailer["/Root"]["/Lang"] == "en"
    (event,) = exports()
    assert "language" not in event.changes  # staff paper is in the staff's language


# Batches ------------------------------------------------------------------------------------
def check_mixed_batch(data: bytes, tmp_path, singles: dict[str, bytes]) -> None:
    """Lucía's two Spanish pages, then Sam's English page, each sheet numbering its own pages,
    with the bookmarks of each sheet on its own pages."""
    grouped = sheets_of(page_texts(data))
    assert [len(sheet) for sheet in grouped] == [2, 1]
    lucia, sam = ("\n".join(sheet) for sheet in grouped)
    assert contains(grouped[0][0], "Página 1 de 2") and contains(grouped[0][1], "Página 2 de 2")
    assert contains(grouped[1][0], "Page 1 of 1")
    assert_spanish(lucia)
    assert_english(sam)
    assert "Sam" not in lucia and "Lucía" not in sam
    text = pdftotext(data, tmp_path)
    assert "pequeños" in text and "Ánimo" in text
    expected = outline(singles["lucia"]) + [(title, page + 2) for title, page in outline(singles["sam"])]
    assert outline(data) == expected and len(expected) >= 2


@pytest.fixture
def singles(mixed):
    """Each sheet rendered on its own (no audit kept)."""
    result = {name: progress_sheet(mixed[name], START, END, version="patient", commit=False)
              for name in ("lucia", "sam")}
    db.session.rollback()
    return result


def patient_batch(mixed):
    return batches.track_patients(mixed["track"], START, END, "patient")


def test_a_mixed_track_batch_prints_each_sheet_in_its_patients_language(mixed, singles, tmp_path):
    patients = patient_batch(mixed)
    assert [p.display_name for p in patients] == ["Lucía", "Sam"]
    ids = {p.display_name: p.id for p in patients}
    data = batches.progress_batch(patients, START, END, "patient", source={"track": mixed["track"].id})
    check_mixed_batch(data, tmp_path, singles)
    languages = {int(e.entity_id): e.changes["language"] for e in exports()}
    assert languages == {ids["Lucía"]: "es", ids["Sam"]: "en"}


def test_a_mixed_track_batch_as_a_job_in_chunks_reads_like_the_serial_batch(app, mixed, singles, make, tmp_path):
    app.config["CLINIC_PRINT_CHUNK_SHEETS"] = 1  # one sheet per chunk: Lucía's and Sam's rendered apart
    planner = make.staff("planner", email="planner@clinic.example")
    patients = patient_batch(mixed)
    ids = {p.display_name: p.id for p in patients}
    serial = batches.progress_batch(patients, START, END, "patient", commit=False)
    db.session.rollback()
    status = print_jobs.start_progress_batch(planner, patients, START, END, "patient", target="track:1",
                                             title="Progress sheets, test batch", source={"track": 1},
                                             filename="progress.pdf")
    assert status.state == "done" and status.sheets_total == 2
    pdf, _ = print_jobs.job_pdf(planner, status.id)
    assert page_texts(pdf) == page_texts(serial)
    check_mixed_batch(pdf, tmp_path, singles)
    languages = {int(e.entity_id): e.changes["language"] for e in exports()}
    assert languages == {ids["Lucía"]: "es", ids["Sam"]: "en"}


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_the_cli_prints_a_mixed_track_batch_in_each_patients_language(app, mixed, singles, tmp_path, jobs):
    output = tmp_path / f"iop-{jobs}.pdf"
    result = app.test_cli_runner().invoke(print_cli, [
        "progress", "--track", "iop", "--version", "patient", "--from", START.isoformat(), "--to", END.isoformat(),
        "--jobs", jobs, "--output", str(output)])
    assert result.exit_code == 0, result.output
    check_mixed_batch(output.read_bytes(), tmp_path, singles)  # with --jobs 2: rendered in other processes


def test_a_chunk_of_patient_sheets_reads_in_the_same_statements_whatever_its_size(mixed, make):
    more = [make.patient(preferred_name=f"Ana{n}", preferred_language="es" if n % 2 else "en") for n in range(3)]
    for patient in more:
        make.enrolment(patient, mixed["track"], start=date(2026, 3, 1))
    ids = [p.id for p in patient_batch(mixed)]
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


def test_each_sheet_prints_its_exercises_in_the_catalogues_translation_field_by_field(mixed, tmp_path):
    """An exercise both patients do, translated into Spanish by a planner: Lucía's sheet (alone
    and in the batch) names it in Spanish, Sam's in English; a field left untranslated (the
    second exercise's summary) prints in English."""
    from clinic.services import exercise_texts

    shared = make_exercise("Send a kind message", summary="A short kind message to someone you miss.")
    partly = make_exercise("Take a slow walk", summary="Walk for ten minutes and notice three good things.")
    exercise_texts.save_translation(shared, "es", {"title": "Envíe un mensaje amable",
                                                   "summary": "Un mensaje corto y amable para alguien que extraña."},
                                    "new")
    exercise_texts.save_translation(partly, "es", {"title": "Dé un paseo lento"}, "new")
    db.session.commit()
    for patient in (mixed["lucia"], mixed["sam"]):
        assign(patient, shared, start=date(2026, 3, 2), times=2)
    assign(mixed["lucia"], partly, start=date(2026, 3, 2), times=2)

    alone = " ".join(page_texts(progress_sheet(mixed["lucia"], START, END, version="patient", commit=False)))
    batch = batches.progress_batch(patient_batch(mixed), START, END, "patient", commit=False)
    db.session.rollback()
    lucia, sam = (" ".join(sheet) for sheet in sheets_of(page_texts(batch)))
    for text in (alone, lucia):
        assert contains(text, "Envíe un mensaje amable") and contains(text, "Un mensaje corto y amable")
        assert "Send a kind message" not in text and "someone you miss" not in text
        assert contains(text, "Dé un paseo lento") and "Take a slow walk" not in text
        assert contains(text, "Walk for ten minutes and notice three good things.")  # not translated: English
    assert contains(sam, "Send a kind message") and "Envíe" not in sam
