"""Batches of progress sheets for a group or a track: one PDF, each sheet numbering its own pages."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.pdf import render
from clinic.pdf.batches import group_patients, progress_batch, track_patients
from clinic.pdf.cli import print_cli
from clinic.pdf.progress import progress_html_context
from clinic.services.errors import RuleViolation
from clinic.services.period_progress import period_progress
from conftest import login
from print_helpers import follow_batch
from test_pdf_handouts import exports
from test_pdf_progress import ASH_NOTE, BEA_NOTE, END, GROUP_NOTE, START, clinic  # noqa: F401 (fixture)
from test_pdf_render import HOSTILE_NAME, FetchSpy, assert_loads_nothing, contains, page_texts, read_pdf

PAGE = re.compile(r"Page (\d+) of (\d+)")


def sheets(texts: list[str]) -> list[list[str]]:
    """Pages grouped into sheets by their own "Page X of Y" footers (which must run 1..Y)."""
    grouped: list[list[str]] = []
    for text in texts:
        number, total = map(int, PAGE.findall(text)[-1])
        if number == 1:
            grouped.append([])
        grouped[-1].append(text)
        assert len(grouped[-1]) == number and number <= total
    for sheet in grouped:
        assert int(PAGE.findall(sheet[-1])[-1][1]) == len(sheet)
    return grouped


def sheet_pages(patient, version: str) -> int:
    """Pages of one patient's sheet rendered on its own (no audit)."""
    return len(read_pdf(render.render_pdf(**progress_html_context(patient, START, END, version=version))).pages)


@pytest.fixture
def roster(clinic, make):  # noqa: F811 (the fixture imported above)
    """Besides Ash and Bea: Cory left IOP Evening A on 10 March, Dana left before March,
    Eli joins in April, Finn is in IOP without a group."""
    iop = make.track("iop")
    cory = make.patient(first_name="Cory", last_name="Dunmore", record_number="MRN-70003")
    dana = make.patient(first_name="Dana", last_name="Farleft", preferred_name="Dana", record_number="MRN-70004")
    eli = make.patient(first_name="Eli", last_name="Laterjoin", preferred_name="Eli", record_number="MRN-70005")
    finn = make.patient(first_name="Finn", last_name="Nogroup", preferred_name="Finn", record_number="MRN-70006")
    make.enrolment(cory, iop, start=date(2026, 2, 23), end_date=date(2026, 3, 10), status="discharged")
    make.enrolment(dana, iop, start=date(2026, 2, 1), end_date=date(2026, 2, 20), status="discharged")
    make.enrolment(eli, iop, start=date(2026, 4, 6))
    make.enrolment(finn, iop, start=date(2026, 3, 20))
    make.membership(clinic.group, cory, start=date(2026, 2, 23), end_date=date(2026, 3, 10))
    make.membership(clinic.group, dana, start=date(2026, 2, 1), end_date=date(2026, 2, 20))
    make.membership(clinic.group, eli, start=date(2026, 4, 6))
    clinic.others = {"cory": cory, "dana": dana, "eli": eli, "finn": finn}
    return clinic


def test_a_group_batch_holds_the_members_of_the_period_each_sheet_numbering_its_own_pages(roster):
    group = roster.group
    patients = group_patients(group, START, END)
    assert [p.last_name for p in patients] == ["Dunmore", "Eastwood", "Northcote"]
    expected_pages = [sheet_pages(p, "staff") for p in patients]
    data = progress_batch(patients, START, END, "staff", title="Progress sheets, staff version: IOP Evening A")
    texts = page_texts(data)
    assert len(texts) == sum(expected_pages)
    grouped = sheets(texts)
    assert [len(s) for s in grouped] == expected_pages
    for sheet, name in zip(grouped, ["Cory Dunmore", "Beatrice Eastwood", "Ashley Northcote"]):
        assert contains(sheet[0], f"Progress sheet: {name}")
        assert contains(sheet[0], "1 – 31 March 2026")
        assert all(contains(page, name) for page in sheet)  # the running header names whose sheet it is
    assert contains("\n".join(grouped[2]), ASH_NOTE) and ASH_NOTE not in "\n".join(grouped[1])
    assert read_pdf(data).metadata.title == "Progress sheets, staff version: IOP Evening A"
    assert "/StructTreeRoot" in read_pdf(data).trailer["/Root"]


def test_a_track_batch_holds_everyone_enrolled_in_the_period(roster, make):
    iop = make.track("iop")
    names = [p.first_name for p in track_patients(iop, START, END)]
    assert names == ["Cory", "Beatrice", "Finn", "Ashley"]  # Dunmore, Eastwood, Nogroup, Northcote
    assert [p.display_name for p in track_patients(iop, START, END, "patient")] == ["Ash", "Bea", "Cory D.", "Finn"]


def test_a_patient_version_batch_names_only_its_own_patient_on_each_sheet(roster, make):
    patients = track_patients(make.track("iop"), START, END, "patient")
    data = progress_batch(patients, START, END, "patient")
    grouped = sheets(page_texts(data))
    assert len(grouped) == 4
    names = {"Ash": "Ashley", "Bea": "Beatrice", "Cory D.": "Cory", "Finn": "Finn"}
    for sheet, own in zip(grouped, names):
        text = "\n".join(sheet)
        assert f"Hello {own}," in text
        for other in names:
            if other != own and not own.startswith(other):
                assert other not in text, (own, other)
        for private in ("Northcote", "Eastwood", "Dunmore", "Nogroup", "MRN-7", ASH_NOTE, BEA_NOTE, GROUP_NOTE):
            assert private not in text, private


def test_a_batch_writes_one_export_event_per_patient_and_reports_progress(roster):
    patients = group_patients(roster.group, START, END)
    ids = [p.id for p in patients]
    group_id = roster.group.id
    ticks = []
    progress_batch(patients, START, END, "staff", progress=ticks.append, source={"group": group_id})
    assert ticks == [1, 1, 1]
    events = exports()
    assert [int(e.entity_id) for e in events] == ids
    assert all(e.entity == "patient" for e in events)
    assert events[0].changes == {"document": "progress_sheet", "version": "staff", "from": "2026-03-01",
                                 "to": "2026-03-31", "patients": [ids[0]], "batch": {"group": group_id}}


def test_a_batch_reads_its_data_in_fourteen_statements_for_any_number_of_patients(roster, make):
    everyone = track_patients(make.track("iop"), START, END)

    def statements(patients) -> int:
        seen = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            period_progress(patients, START, END)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        return len(seen)

    assert statements(everyone[:1]) == statements(everyone) == 14  # with the PHQ-9 / GAD-7 scores and three for the plan's goals


def test_an_empty_batch_or_a_bad_period_is_refused_and_nothing_is_audited(roster):
    with pytest.raises(RuleViolation):
        progress_batch([], START, END, "staff")
    with pytest.raises(RuleViolation):
        progress_batch([roster.ash], END, START, "staff")
    assert exports() == []


def test_a_hostile_name_in_a_batch_prints_as_text_and_loads_nothing(roster, monkeypatch):
    roster.bea.preferred_name = HOSTILE_NAME
    db.session.commit()
    spy = FetchSpy(monkeypatch)
    data = progress_batch([roster.ash, roster.bea], START, END, "patient")
    assert contains("\n".join(page_texts(data)), f"Hello {HOSTILE_NAME},")
    assert_loads_nothing(spy, data)


# From the admin ------------------------------------------------------------------------------------
def post_batch(client, query: str, version="staff"):
    """Post the batch form; the answer is the job's page (303), whose download is the PDF."""
    return client.post(f"/admin/print/progress/batch/?{query}",
                       data={"from": "2026-03-01", "to": "2026-03-31", "version": version})


def printed_batch(client, query: str, version="staff"):
    """The PDF download of a batch posted from the form and followed through its job's page."""
    return follow_batch(client, post_batch(client, query, version))


def test_a_planner_prints_a_group_or_track_batch_from_the_admin(roster, client, make):
    planner = make.staff("planner")
    group_id, track_id = roster.group.id, make.track("iop").id
    login(client, planner.email)
    form = client.get(f"/admin/print/progress/batch/?group={group_id}&from=2026-03-01&to=2026-03-31")
    assert form.status_code == 200
    assert re.search(r"Members of the group\s+from 2026-03-01 to 2026-03-31:\s+<strong>3</strong>",
                     form.get_data(as_text=True))
    response = printed_batch(client, f"group={group_id}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="progress-group-{group_id}-staff.pdf"'
    assert response.headers["Cache-Control"] == "no-store"
    assert len(sheets(page_texts(response.data))) == 3
    track = printed_batch(client, f"track={track_id}", version="patient")
    assert track.headers["Content-Disposition"] == f'attachment; filename="progress-track-{track_id}-patient.pdf"'
    assert len(sheets(page_texts(track.data))) == 4
    assert len(exports()) == 7
    assert client.get("/admin/print/progress/batch/").status_code == 400
    assert client.get(f"/admin/print/progress/batch/?group={group_id}&track={track_id}").status_code == 400
    assert client.get("/admin/print/progress/batch/?group=999999").status_code == 404
    bad = client.post(f"/admin/print/progress/batch/?group={group_id}",
                      data={"from": "2026-03-31", "to": "2026-03-01", "version": "staff"})
    assert bad.mimetype == "text/html" and "The period cannot end before it starts." in bad.get_data(as_text=True)
    assert len(exports()) == 7


def test_a_counselors_batch_holds_only_their_caseload_and_none_is_refused(roster, client, make):
    # Wren facilitates the group: Ash and Bea are current members; Cory left on 10 March.
    group_id, mine = roster.group.id, sorted([roster.ash.id, roster.bea.id])
    login(client, roster.counselor.email)
    form = client.get(f"/admin/print/progress/batch/?group={group_id}&from=2026-03-01&to=2026-03-31")
    assert "On your caseload, and so printed: <strong>2</strong>" in form.get_data(as_text=True)
    response = printed_batch(client, f"group={group_id}")
    grouped = sheets(page_texts(response.data))
    assert [contains(s[0], "Progress sheet: Beatrice Eastwood") or contains(s[0], "Progress sheet: Ashley Northcote")
            for s in grouped] == [True, True]
    assert "Dunmore" not in "\n".join(page_texts(response.data))
    assert sorted(int(e.entity_id) for e in exports()) == mine
    other = make.staff("counselor")
    client.post("/logout")
    login(client, other.email)
    assert post_batch(client, f"group={group_id}").status_code == 404
    assert len(exports()) == 2


# From the command line ----------------------------------------------------------------------------
def run(app, *args):
    return app.test_cli_runner().invoke(print_cli, ["progress", *args])


def test_the_cli_prints_a_track_batch_with_a_progress_bar(app, roster, tmp_path):
    output = tmp_path / "iop.pdf"
    result = run(app, "--track", "iop", "--from", "2026-03-01", "--to", "2026-03-31", "--output", str(output))
    assert result.exit_code == 0, result.output
    assert "Progress sheets for 4 patients" in result.output
    assert "Wrote 4 staff progress sheets for track" in result.output
    assert not any(name in result.output for name in ("Ash", "Bea", "Northcote", "Eastwood"))
    assert oct(output.stat().st_mode & 0o777) == "0o600"
    assert len(sheets(page_texts(output.read_bytes()))) == 4
    events = exports()
    assert len(events) == 4 and {e.actor_email for e in events} == {"cli"}


def test_the_cli_prints_a_group_batch_by_name_or_id(app, roster, tmp_path):
    group_id = roster.group.id
    by_name = tmp_path / "a.pdf"
    by_id = tmp_path / "b.pdf"
    assert run(app, "--group", "iop evening a", "--from", "2026-03-01", "--to", "2026-03-31",
               "--version", "patient", "--output", str(by_name)).exit_code == 0
    assert run(app, "--group", str(group_id), "--from", "2026-03-01", "--to", "2026-03-31",
               "--output", str(by_id)).exit_code == 0
    assert len(sheets(page_texts(by_name.read_bytes()))) == len(sheets(page_texts(by_id.read_bytes()))) == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["--track", "nope"], "There is no track with code 'nope'"),
        (["--group", "No Such Group"], "There is no group named 'No Such Group'"),
        (["--group", "999999"], "There is no group with id 999999"),
        (["--patient", "999999"], "There is no patient with id 999999"),
        (["--track", "iop", "--from", "2026-13-01"], "use the form YYYY-MM-DD"),
        (["--track", "iop", "--from", "2026-03-31", "--to", "2026-03-01"], "The period cannot end before it starts."),
        (["--track", "iop", "--from", "2026-04-01", "--to", "2027-06-01"], "Choose a period of at most 366 days."),
        (["--track", "iop", "--version", "family"], "'family' is not one of"),
        (["--track", "iop", "--group", "1"], "Give exactly one of --track, --group or --patient."),
        ([], "Give exactly one of --track, --group or --patient."),
        (["--track", "inpatient", "--from", "2027-01-01", "--to", "2027-01-31"], "Nobody was in track"),
    ],
)
def test_the_cli_refuses_bad_input_clearly_and_writes_nothing(app, roster, make, tmp_path, args, message):
    make.track("inpatient")
    output = tmp_path / "never.pdf"
    defaults = []
    if "--from" not in args:
        defaults += ["--from", "2026-03-01"]
    if "--to" not in args:
        defaults += ["--to", "2026-03-31"]
    result = run(app, *args, *defaults, "--output", str(output))
    assert result.exit_code != 0
    assert message in result.output, result.output
    assert not output.exists()
    assert exports() == []
