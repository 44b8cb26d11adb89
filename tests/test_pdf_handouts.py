"""Exercise handouts and personal kindness plans, read back from the PDF."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Assignment, AuditEvent, KindnessExercise
from clinic.pdf import exercise_handout, kindness_plan
from clinic.pdf.cli import print_cli
from clinic.pdf.handouts import text_blocks
from conftest import login
from test_pdf_render import (
    HOSTILE,
    HOSTILE_NAME,
    HOSTILE_TITLE,
    FetchSpy,
    assert_loads_nothing,
    contains,
    font_pt,
    page_texts,
    read_pdf,
)

MONDAY = date(2026, 1, 12)


def make_exercise(title="Write a note of appreciation", **kw) -> KindnessExercise:
    """A catalogue entry with patient-facing text in every field."""
    exercise = KindnessExercise(
        title=title,
        direction=kw.pop("direction", "others"),
        energy=kw.pop("energy", "low"),
        summary=kw.pop("summary", "Write a few honest lines to someone who helped you."),
        why_it_helps=kw.pop("why_it_helps", "Putting thanks into words makes a warm feeling last."),
        how_to=kw.pop("how_to", "1. Think of one person.\n2. Write two to five sentences.\n3. Keep it simple."),
        reflection_prompts=kw.pop("reflection_prompts", "Who came to mind first?\nHow did you feel while writing?"),
        default_times_per_week=kw.pop("default_times_per_week", 2),
        **kw,
    )
    db.session.add(exercise)
    db.session.commit()
    return exercise


def assign(patient, exercise, start=date(2026, 1, 5), times=3, status="active", due=None) -> Assignment:
    """An assignment of ``exercise`` to ``patient``."""
    assignment = Assignment(patient_id=patient.id, exercise_id=exercise.id, start_date=start,
                            due_date=due, times_per_week=times, status=status)
    db.session.add(assignment)
    db.session.commit()
    return assignment


def exports(entity=None):
    """The audit "export" events, oldest first (read fresh from the database)."""
    db.session.remove()
    query = sa.select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.id)
    if entity:
        query = query.where(AuditEvent.entity == entity)
    return list(db.session.scalars(query))


# Handouts --------------------------------------------------------------------------------------
def test_a_handout_has_the_title_the_three_sections_the_prompts_and_a_week_grid(make):
    exercise = make_exercise()
    data = exercise_handout(exercise)
    texts = page_texts(data)
    text = "\n".join(texts)
    assert len(texts) == 1
    for expected in (
        "Kindness Programme", "Write a note of appreciation", "Why it helps",
        "Putting thanks into words makes a warm feeling last.", "How to do it",
        "Think of one person.", "Write two to five sentences.", "Who came to mind first?",
        "How did you feel while writing?", "Usually twice a week", "Kindness toward others",
        "Needs little energy", "Page 1 of 1", f"Printed {date.today():%A}",
    ):
        assert contains(text, expected), expected
    assert contains(text, "Mon Tue Wed Thu Fri Sat Sun")
    assert read_pdf(data).metadata.title == "Write a note of appreciation"


def test_a_large_print_handout_is_set_in_18_point_text(make):
    exercise = make_exercise()
    regular = exercise_handout(exercise)
    large = exercise_handout(exercise, large_print=True)
    assert font_pt(regular, "Putting thanks") == 11.0
    assert font_pt(large, "Putting thanks") == 18.0
    assert len(read_pdf(large).pages) >= len(read_pdf(regular).pages)


def test_a_handout_writes_one_audit_export_event(make):
    exercise = make_exercise()
    exercise_id = exercise.id
    exercise_handout(exercise, large_print=True)
    (event,) = exports()
    assert (event.entity, event.entity_id) == ("kindness_exercise", str(exercise_id))
    assert event.changes == {"document": "exercise_handout", "large_print": True, "language": "en"}


def test_hostile_text_in_an_exercise_prints_as_plain_text_and_loads_nothing(make, monkeypatch):
    exercise = make_exercise(
        title=HOSTILE_TITLE, summary=HOSTILE[:255], why_it_helps=HOSTILE, how_to=f"1. {HOSTILE}\n2. Breathe.",
        reflection_prompts=HOSTILE,
    )
    spy = FetchSpy(monkeypatch)
    data = exercise_handout(exercise)
    text = "\n".join(page_texts(data))
    assert contains(text, HOSTILE_TITLE)
    assert contains(text, HOSTILE)
    assert contains(text, "Breathe.")
    assert "root:" not in text  # nothing of /etc/passwd
    assert_loads_nothing(spy, data)


def test_typed_steps_become_a_list_and_other_lines_paragraphs():
    blocks = text_blocks("1. One\n2) Two\n\nA line\nanother line\n\n- a\n* b")
    assert [(b.kind, b.lines) for b in blocks] == [
        ("steps", ("One", "Two")),
        ("paragraphs", ("A line", "another line")),
        ("bullets", ("a", "b")),
    ]


# Personal kindness plans ------------------------------------------------------------------------
@pytest.fixture
def two_patients(make):
    """Sam (preferred name) with two active exercises, and Alex in the same clinic."""
    sam = make.patient(first_name="Samantha", last_name="Quillfeather", preferred_name="Sam",
                       record_number="MRN-77001")
    alex = make.patient(first_name="Alexander", last_name="Brightwater", preferred_name="Alex",
                        record_number="MRN-77002")
    note = make_exercise()
    pause = make_exercise("Take a self-compassion pause", direction="self", summary="Stop for one minute.")
    volunteer = make_exercise("Volunteer for an hour", energy="high")
    assign(sam, note, times=3)
    assign(sam, pause, times=7, start=date(2026, 1, 14))  # starts on the Wednesday
    assign(sam, volunteer, status="paused")
    assign(alex, volunteer, times=1)
    return sam, alex


def test_a_plan_lists_only_the_patients_active_exercises_with_the_weeks_tick_boxes(two_patients):
    sam, alex = two_patients
    data = kindness_plan(sam, date(2026, 1, 15))  # a Thursday: the plan is for its week
    texts = page_texts(data)
    text = "\n".join(texts)
    assert len(texts) == 1
    for expected in (
        "My kindness plan", "For Sam", "Hello Sam,", "Week of 12 – 18 January 2026",
        "Write a note of appreciation", "Aim: 3 times this week",
        "Take a self-compassion pause", "Aim: 7 times this week",
        "Mon", "12 Jan", "Sun", "18 Jan", "Page 1 of 1", "Kindness Programme",
    ):
        assert contains(text, expected), expected
    assert "Volunteer for an hour" not in text  # paused
    # The pause starts on Wednesday: Monday and Tuesday have no box for it.
    assert text.count("–") >= 3


def test_a_plan_never_shows_a_record_number_a_last_name_or_another_patient(two_patients):
    sam, alex = two_patients
    for large in (False, True):
        text = "\n".join(page_texts(kindness_plan(sam, MONDAY, large_print=large)))
        for private in ("MRN-77001", "MRN-77002", "Quillfeather", "Samantha", "Alex", "Brightwater"):
            assert private not in text, private


def test_without_a_preferred_name_the_plan_uses_the_first_name_and_last_initial(make):
    patient = make.patient(first_name="Jordan", last_name="Pemberton-Hale", record_number="MRN-1")
    assign(patient, make_exercise())
    text = "\n".join(page_texts(kindness_plan(patient, MONDAY)))
    assert "Jordan P." in text
    assert "Pemberton" not in text and "MRN-1" not in text


def test_a_plan_with_no_active_exercise_says_so_kindly(make):
    patient = make.patient(preferred_name="Robin")
    text = "\n".join(page_texts(kindness_plan(patient, MONDAY)))
    assert contains(text, "There are no kindness exercises planned for you this week.")


def test_a_plan_writes_one_audit_export_event(two_patients):
    sam, _ = two_patients
    sam_id = sam.id
    kindness_plan(sam, MONDAY)
    (event,) = exports()
    assert (event.entity, event.entity_id) == ("patient", str(sam_id))
    assert event.changes == {"document": "kindness_plan", "large_print": False, "patients": [sam_id],
                             "language": "en"}


def test_a_hostile_preferred_name_prints_as_text_and_loads_nothing(make, monkeypatch):
    patient = make.patient(preferred_name=HOSTILE_NAME)
    assign(patient, make_exercise(title=HOSTILE_TITLE, summary=HOSTILE[:255]))
    spy = FetchSpy(monkeypatch)
    data = kindness_plan(patient, MONDAY)
    text = "\n".join(page_texts(data))
    assert contains(text, "Hello " + HOSTILE_NAME)
    assert contains(text, HOSTILE_TITLE)
    assert_loads_nothing(spy, data)


# Over HTTP --------------------------------------------------------------------------------------
@pytest.fixture
def caseload(make):
    """A counselor with one patient on their caseload and one on someone else's."""
    counselor = make.staff("counselor")
    other = make.staff("counselor")
    track = make.track("iop")
    mine = make.patient(preferred_name="Mina", last_name="Ownperson")
    theirs = make.patient(preferred_name="Theo", last_name="Otherperson")
    make.enrolment(mine, track, counselor)
    make.enrolment(theirs, track, other)
    assign(mine, make_exercise())
    return counselor, mine, theirs


def test_a_counselor_prints_the_plan_of_a_patient_on_their_caseload(client, caseload):
    counselor, mine, _ = caseload
    login(client, counselor.email)
    response = client.get(f"/admin/print/plan/?patient={mine.id}&large=1")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="kindness-plan-{mine.id}-large-print.pdf"'
    assert response.headers["Cache-Control"] == "no-store"
    assert "Mina" in "\n".join(page_texts(response.data))
    (event,) = exports()
    assert event.actor_id == counselor.id and event.actor_email == counselor.email
    assert (event.entity, event.entity_id) == ("patient", str(mine.id))
    assert event.changes == {"document": "kindness_plan", "large_print": True, "patients": [mine.id],
                             "language": "en"}


def test_a_counselor_may_not_print_the_plan_of_someone_elses_patient(client, caseload):
    counselor, _, theirs = caseload
    login(client, counselor.email)
    response = client.get(f"/admin/print/plan/?patient={theirs.id}")
    assert response.status_code == 404
    assert b"%PDF" not in response.data and b"Theo" not in response.data
    assert exports() == []


def test_a_planner_prints_any_patients_plan_for_a_chosen_week(client, make, caseload):
    _, _, theirs = caseload
    planner = make.staff("planner")
    login(client, planner.email)
    response = client.get(f"/admin/print/plan/?patient={theirs.id}&week=2026-01-14")
    assert response.status_code == 200
    assert contains("\n".join(page_texts(response.data)), "Week of 12 – 18 January 2026")
    assert client.get(f"/admin/print/plan/?patient={theirs.id}&week=soon").status_code == 400
    assert client.get("/admin/print/plan/?patient=999999").status_code == 404
    assert client.get("/admin/print/plan/").status_code == 400


@pytest.mark.parametrize("role", ["admin", "planner", "counselor"])
def test_every_role_prints_handouts_and_anonymous_visitors_none(client, make, role):
    exercise = make_exercise("Give a sincere compliment")
    anonymous = client.get(f"/admin/print/handout/?exercise={exercise.id}")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    user = make.staff(role)
    login(client, user.email)
    response = client.get(f"/admin/print/handout/?exercise={exercise.id}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="handout-give-a-sincere-compliment.pdf"'
    assert response.headers["Cache-Control"] == "no-store"
    (event,) = exports()
    assert event.actor_id == user.id and event.entity == "kindness_exercise"


# From the command line ----------------------------------------------------------------------------
def test_the_cli_prints_a_handout_by_title_to_a_private_file_audited_as_cli(app, make, tmp_path):
    exercise_id = make_exercise().id
    output = tmp_path / "handout.pdf"
    result = app.test_cli_runner().invoke(
        print_cli, ["handout", "--exercise", "write a NOTE of appreciation", "--large", "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    assert (output.stat().st_mode & 0o777) == 0o600
    assert "Write a note of appreciation" in "\n".join(page_texts(output.read_bytes()))
    (event,) = exports()
    assert event.actor_email == "cli" and event.actor_id is None
    assert (event.entity_id, event.changes["large_print"]) == (str(exercise_id), True)


def test_the_cli_prints_a_plan_by_patient_id_and_refuses_unknown_records(app, make, tmp_path):
    patient = make.patient(preferred_name="Kit")
    output = tmp_path / "plan.pdf"
    runner = app.test_cli_runner()
    ok = runner.invoke(print_cli, ["plan", "--patient", str(patient.id), "--week", "2026-01-12", "-o", str(output)])
    assert ok.exit_code == 0, ok.output
    assert "Kit" not in ok.output
    assert "Hello Kit," in page_texts(output.read_bytes())[0]
    missing = runner.invoke(print_cli, ["handout", "--exercise", "No such thing", "-o", str(tmp_path / "x.pdf")])
    assert missing.exit_code != 0 and "There is no exercise titled" in missing.output
    assert not (tmp_path / "x.pdf").exists()
