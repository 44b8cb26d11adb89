"""Reports: the census and hours against the minimum, as pages, CSV and PDF, by role.

The figures are checked against hand-counted answers: a patient at 8.5 h in IOP is below
the 9 h minimum and listed; one with no attendance at all is listed at 0 h; one admitted
mid-week is listed as part of the week; a counselor sees their caseload only.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Attendance, AuditEvent, Enrolment, GroupSession
from conftest import login

MONDAY = date(2026, 11, 2)  # a past week: Monday 2 to Sunday 8 November 2026
HOSTILE = "=HYPERLINK(\"http://evil.example\",\"x\")"


def _session(group, day: date, hour: int = 10, minutes: int = 180, status: str = "held") -> GroupSession:
    s = GroupSession(group_id=group.id, starts_at=datetime.combine(day, time(hour)), duration_minutes=minutes,
                     status=status)
    db.session.add(s)
    db.session.commit()
    return s


def _attend(session, patient, minutes: int, status: str = "present") -> None:
    db.session.add(Attendance(session_id=session.id, patient_id=patient.id, status=status,
                              minutes_attended=minutes))
    db.session.commit()


@pytest.fixture
def week(make):
    """An IOP week (minimum 9 h on 3 days) with the cases a payer asks about."""
    iop = make.track("iop")
    wren, odo = make.staff("counselor", full_name="Wren Counselor"), make.staff("counselor", full_name="Odo")
    group = make.group(iop, wren, name="Tuesday circle")
    sessions = [_session(group, MONDAY + timedelta(days=n)) for n in (0, 2, 4)]
    people = {}
    for key, first, last, counselor in (("short", "Ana", "Alder", wren), ("absent", "Ben", "Birch", wren),
                                        ("met", "Cy", "Cedar", wren), ("no_group", "Di", "Dogwood", wren),
                                        ("late_start", "Eli", "Elm", wren), ("other", "Fay", "Fir", odo),
                                        ("hostile", HOSTILE, "Gum", wren)):
        p = make.patient(first_name=first, last_name=last)
        start = MONDAY + timedelta(days=3) if key == "late_start" else date(2026, 10, 5)
        make.enrolment(p, iop, counselor=counselor, start=start)
        if key not in ("no_group", "other"):  # Fay is Odo's, in none of Wren's groups
            make.membership(group, p, start=start)
        people[key] = p
    for s in sessions:
        _attend(s, people["short"], 170)  # 3 x 170 = 510 min = 8.5 h on 3 days
        _attend(s, people["met"], 180)
        _attend(s, people["other"], 60)
        _attend(s, people["hostile"], 60)
    _attend(sessions[2], people["late_start"], 180)  # Friday only
    return {"iop": iop, "wren": wren, "odo": odo, "people": people, "sessions": sessions}


def _page(client, url: str):
    answer = client.get(url)
    return answer.status_code, answer.get_data(as_text=True)


def _rows(html: str) -> list[str]:
    body = html.split('id="report-patients"', 1)[1].split("</table>", 1)[0]
    return [re.sub(r"<[^>]+>", "|", row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)[1:]]


def test_the_week_lists_who_fell_below_the_minimum_with_their_hours_and_nobody_vanishes(client, week, make):
    login(client, make.staff("planner").email)
    status, html = _page(client, f"/admin/reports/hours/?week={MONDAY.isoformat()}")
    assert status == 200
    rows = _rows(html)
    text = "\n".join(rows)
    assert "Alder, Ana" in text and "|8.5|" in text  # 8.5 h of 9: listed, short by 0.5
    assert "Birch, Ben" in text  # a member who never came: 0 h
    assert "Dogwood, Di" in text  # enrolled, in no group at all: 0 h
    assert "Cedar, Cy" not in text  # 9 h on 3 days: met
    elm = next(r for r in rows if "Elm, Eli" in r)
    assert "part of the week: from 5 November 2026" in elm
    alder = next(r for r in rows if "Alder, Ana" in r)
    assert "|8.5|3|9.0|3|0.5|" in re.sub(r"\|+", "|", alder)
    birch = next(r for r in rows if "Birch, Ben" in r)
    assert "|0.0|0|9.0|3|9.0|" in re.sub(r"\|+", "|", birch)
    # Per track: 7 enrolled, 1 of them part of the week; 5 below for the whole week, 1 part.
    tracks = html.split('id="report-tracks"', 1)[1].split("</table>", 1)[0]
    assert re.search(r"Intensive outpatient \(IOP\)</th><td>9\.0 h on 3 day\(s\)</td>"
                     r"<td class=\"num\">7</td><td class=\"num\">1</td><td class=\"num\">5</td>"
                     r"<td class=\"num\">1</td>", tracks), tracks
    # The page names patients: its reading is in the audit trail.
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "view",
                                                           AuditEvent.entity == "report")).one()
    assert week["people"]["short"].id in event.changes["patients"]


def test_a_counselor_sees_only_their_caseload_in_the_report_and_its_files(client, week):
    login(client, week["wren"].email)
    _, html = _page(client, f"/admin/reports/hours/?week={MONDAY.isoformat()}")
    assert "Alder, Ana" in html and "Fir, Fay" not in html
    assert "Your caseload only" in html
    data = client.get(f"/admin/reports/hours.csv?week={MONDAY.isoformat()}&table=patients").get_data()
    assert b"Fir" not in data and b"Alder" in data
    client.post("/logout")
    login(client, week["odo"].email)
    _, html = _page(client, f"/admin/reports/hours/?week={MONDAY.isoformat()}")
    assert "Fir, Fay" in html and "Alder, Ana" not in html


def test_the_csv_opens_safely_in_a_spreadsheet_and_the_export_is_audited(client, week, make):
    login(client, make.staff("admin").email)
    answer = client.get(f"/admin/reports/hours.csv?week={MONDAY.isoformat()}&table=patients")
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    assert answer.headers["Cache-Control"] == "no-store"
    assert 'filename="hours-2026-11-02-patients.csv"' in answer.headers["Content-Disposition"]
    data = answer.get_data()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte-order mark
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Patient", "Track"]
    names = [r[0] for r in rows[1:]]
    assert "Gum, " + HOSTILE in names  # the name starts with "Gum": harmless as it is
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for cell in r)
    export = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export",
                                                            AuditEvent.entity == "report")).one()
    assert export.changes["report"] == "hours" and export.changes["format"] == "csv"
    assert week["people"]["short"].id in export.changes["patients"]


def test_a_cell_that_would_be_a_formula_is_neutralised():
    from clinic.services.reports.files import neutralise

    for hostile in ("=1+1", "+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1"):
        assert neutralise(hostile) == "'" + hostile
    assert neutralise(-3) == -3 and neutralise("Ana") == "Ana" and neutralise(None) == ""


def test_the_pdf_holds_every_listed_patient_and_is_audited(client, week, make, tmp_path):
    login(client, make.staff("planner").email)
    answer = client.get(f"/admin/reports/hours.pdf?week={MONDAY.isoformat()}")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    path = tmp_path / "hours.pdf"
    path.write_bytes(answer.get_data())
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Hours against the minimum" in text
    for name in ("Alder, Ana", "Birch, Ben", "Dogwood, Di", "Elm, Eli"):
        assert name in text
    assert "Cedar, Cy" not in text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "export", AuditEvent.entity == "report")) == 1


def test_this_week_lists_who_is_at_risk_from_what_is_still_planned(make):
    """On Monday at noon of a week with three 3-hour sessions (Monday morning, Wednesday, Friday):
    who came on Monday can still make 9 h on 3 days; who missed it cannot."""
    iop = make.track("iop")
    counselor = make.staff("counselor")
    group = make.group(iop, counselor)
    sure, doomed = make.patient(last_name="Sure"), make.patient(last_name="Doomed")
    for p in (sure, doomed):
        make.enrolment(p, iop, counselor=counselor, start=MONDAY - timedelta(days=30))
        make.membership(group, p, start=MONDAY - timedelta(days=30))
    past = _session(group, MONDAY, hour=8)
    _attend(past, sure, 180)
    _attend(past, doomed, 0, status="absent")
    _session(group, MONDAY + timedelta(days=2))
    _session(group, MONDAY + timedelta(days=4))
    _session(group, MONDAY + timedelta(days=4), hour=15, status="cancelled")  # never offered
    from clinic.services.reports import ReportFilters, hours

    report = hours.build(ReportFilters(start=MONDAY, end=MONDAY, week=MONDAY), make.staff("admin"),
                         now=datetime.combine(MONDAY, time(12)))
    rows = report.table("patients").rows
    assert [r[0] for r in rows] == [f"Doomed, {doomed.first_name}"]
    assert rows[0][-2:] == (6.0, 6.0)  # still planned 6 h; at most 6 h of the 9
    assert "at risk" in report.title


@pytest.mark.parametrize("query, message", [
    ("from=2026-11-10&to=2026-11-01", "ends before it starts"),
    ("from=2025-01-01&to=2026-11-01", "at most 366 days"),
    ("from=yesterday", "must be a date"),
    ("track=999999", "Choose one of the tracks"),
])
def test_bad_filters_are_refused_at_the_form_and_nothing_is_exported(client, week, make, query, message):
    login(client, make.staff("planner").email)
    status, html = _page(client, f"/admin/reports/census/?{query}")
    assert status == 400
    assert message in html
    assert client.get(f"/admin/reports/census.csv?{query}").status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.entity == "report")) == 0


def test_the_census_counts_each_day_admissions_transfers_discharges_and_length_of_stay(client, make):
    iop, php = make.track("iop"), make.track("intensive")
    open_stay, admitted, moved, discharged = (make.patient(last_name=n) for n in ("Open", "New", "Moved", "Gone"))
    make.enrolment(open_stay, iop, start=date(2026, 10, 1))
    make.enrolment(admitted, iop, start=date(2026, 11, 5))
    make.enrolment(moved, php, start=date(2026, 10, 20), end_date=date(2026, 11, 3), status="stepped_down")
    make.enrolment(moved, iop, start=date(2026, 11, 4))
    make.enrolment(discharged, iop, start=date(2026, 10, 27), end_date=date(2026, 11, 6), status="discharged")
    login(client, make.staff("planner").email)
    status, html = _page(client, "/admin/reports/census/?from=2026-11-01&to=2026-11-10")
    assert status == 200
    from clinic.services.reports import ReportFilters, census

    report = census.build(ReportFilters(date(2026, 11, 1), date(2026, 11, 10), MONDAY), make.staff("admin"))
    summary = {row[0]: row for row in report.table("summary").rows}
    iop_row, php_row = summary["Intensive outpatient (IOP)"], summary["Intensive (partial hospitalisation)"]
    # first day, last day, admissions, transfers in, stepped down, stepped up, discharged, withdrew, LOS
    assert (iop_row[1], iop_row[2], iop_row[4], iop_row[5], iop_row[8], iop_row[10]) == (2, 3, 1, 1, 1, 11.0)
    assert (php_row[1], php_row[2], php_row[4], php_row[6], php_row[10]) == (1, 0, 0, 1, 15.0)
    daily = {row[0]: row for row in report.table("daily").rows}
    assert daily[date(2026, 11, 3)][1:] == (1, 2, 3)  # PHP Moved; IOP Open, Gone
    assert daily[date(2026, 11, 4)][1:] == (0, 3, 3)  # Moved now in IOP
    assert daily[date(2026, 11, 7)][1:] == (0, 3, 3)  # Gone discharged on the 6th; New since the 5th
    # The page draws the chart with words and the same table.
    assert 'id="census-chart"' in html and "Patients enrolled per day" in html
    assert "Open" not in html  # counts only: no patient named
    csv_text = client.get("/admin/reports/census.csv?from=2026-11-01&to=2026-11-10&table=daily") \
        .get_data().decode("utf-8-sig")
    assert "2026-11-04,0,3,3" in csv_text


def _statements(client, url: str) -> int:
    count = 0

    def counter(*_args, **_kwargs):
        nonlocal count
        count += 1

    sa.event.listen(db.engine, "before_cursor_execute", counter)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", counter)
    return count


def test_each_report_reads_a_fixed_number_of_statements_however_many_patients(client, week, make):
    login(client, make.staff("planner").email)
    urls = (f"/admin/reports/hours/?week={MONDAY.isoformat()}", "/admin/reports/census/?from=2026-10-01&to=2026-11-10")
    before = [_statements(client, url) for url in urls]
    iop = week["iop"]
    group = make.group(iop, week["wren"])
    for n in range(30):
        p = make.patient()
        make.enrolment(p, iop, start=date(2026, 10, 1) + timedelta(days=n))
        make.membership(group, p, start=date(2026, 10, 1))
    for s in (_session(group, MONDAY + timedelta(days=n)) for n in (0, 1)):
        _attend(s, p, 30)
    assert [_statements(client, url) for url in urls] == before


def test_reports_are_in_their_menu_with_records_to_finish_for_those_who_oversee(client, make):
    login(client, make.staff("planner").email)
    html = client.get("/admin/reports/").get_data(as_text=True)
    assert "Census" in html and "Hours against the minimum" in html and "Records to finish" in html
    client.post("/logout")
    login(client, make.staff("counselor").email)
    html = client.get("/admin/reports/").get_data(as_text=True)
    assert "Census" in html and "Records to finish" not in html
    assert client.get("/admin/unfinished/").status_code == 403


def test_the_cli_writes_the_same_report_to_a_file_and_audits_it(runner, week, tmp_path):
    out = tmp_path / "hours.csv"
    result = runner.invoke(args=["report", "hours", "--week", MONDAY.isoformat(), "--track", "iop",
                                 "--table", "patients", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Alder" not in result.output  # what was written, never who
    assert (out.stat().st_mode & 0o777) == 0o600
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    names = [r[0] for r in rows[1:]]
    assert "Alder, Ana" in names and "Fir, Fay" in names and "Cedar, Cy" not in names
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.actor_email == "cli" and event.changes["report"] == "hours"
    # As a counselor: their caseload only, audited under their name.
    mine = tmp_path / "mine.csv"
    result = runner.invoke(args=["report", "hours", "--week", MONDAY.isoformat(), "--as", week["wren"].email,
                                 "-o", str(mine)])
    assert result.exit_code == 0, result.output
    assert b"Fir" not in mine.read_bytes() and b"Alder" in mine.read_bytes()
    pdf = tmp_path / "census.pdf"
    result = runner.invoke(args=["report", "census", "--from", "2026-11-01", "--to", "2026-11-08", "-o", str(pdf)])
    assert result.exit_code == 0 and pdf.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("args, message", [
    (["census", "--from", "2026-11-10", "--to", "2026-11-01"], "ends before it starts"),
    (["census", "--track", "nope"], "There is no track 'nope'"),
    (["hours", "--table", "nope"], "has no table 'nope'"),
    (["hours", "--as", "nobody@clinic.example"], "no active staff account"),
])
def test_the_cli_refuses_bad_options_in_one_line_and_writes_nothing(runner, week, tmp_path, args, message):
    out = tmp_path / "out.csv"
    result = runner.invoke(args=["report", *args, "-o", str(out)])
    assert result.exit_code != 0
    assert message in result.output
    assert not out.exists()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "export")) == 0
