"""Reports against known answers: a small clinic built here, each figure worked out by hand
and again with plain SQL, compared with the page, the CSV, the PDF and the CLI.

The cases a checker brings: an IOP patient at 8.5 h in a week appears in hours; an enrolled
patient with no attendance at all appears at 0 h; a patient with a baseline and no second
PHQ-9 is counted in outcomes; a step-down counts once, as a step-down and a transfer in (not
as a discharge and an admission); the average length of stay of the stays that ended. Hostile
names come out of the CSV neutralised and intact; a counselor sees only their own patients in
every report and every format, including the patients they discharged (outcomes); a
hand-altered request is narrowed or refused with a message; every file is audited.
"""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Attendance, AuditEvent, GroupSession
from clinic.services import measures
from clinic.services.instruments import PHQ9
from conftest import login
from test_measures import pattern

MONDAY, SUNDAY = date(2026, 11, 2), date(2026, 11, 8)  # the week of hours
START, END = date(2026, 11, 2), date(2026, 11, 29)  # the period of census and outcomes
PERIOD = f"from={START}&to={END}"
OUTCOMES = "from=2026-11-01&to=2026-11-30"
IOP, PHP = "Intensive outpatient (IOP)", "Intensive (partial hospitalisation)"
HOSTILE = ("=cmd|' /C calc'!A0", "+1", "-1", "@SUM(A1:A9)", "\tTab", "\rReturn", "Peña-Ñúñez", "Comma, Jr",
           'Say "hi"', "Line\nbreak")
ATTENDED = ("present", "late", "left_early")


def _session(group, day: date, facilitator, minutes: int) -> GroupSession:
    s = GroupSession(group_id=group.id, starts_at=datetime.combine(day, time(10)), duration_minutes=minutes,
                     status="held", facilitator_id=facilitator.id)
    db.session.add(s)
    db.session.commit()
    return s


def _attend(session, patient, minutes: int, status: str = "present") -> None:
    db.session.add(Attendance(session_id=session.id, patient_id=patient.id, status=status,
                              minutes_attended=minutes))
    db.session.commit()


def _phq(patient, day: date, total: int, actor) -> None:
    measures.save_administration(patient, "phq9", measures.Entry(pattern(PHQ9, total), day, "in_person", 1),
                                 actor, sign=True)


@pytest.fixture
def clinic(make):
    iop, php = make.track("iop"), make.track("intensive")  # 9 h on 3 days; 20 h on 5 days
    admin = make.staff("admin")
    wren, odo = make.staff("counselor", full_name="Wren Counselor"), make.staff("counselor", full_name="Odo")
    circle = make.group(iop, wren, name="Circle")
    day_programme = make.group(php, odo, name="Day programme")
    iop_sessions = [_session(circle, MONDAY + timedelta(days=n), wren, 180) for n in (0, 2, 4)]
    php_sessions = [_session(day_programme, MONDAY + timedelta(days=n), odo, 240) for n in range(5)]
    p = {}

    def patient(key, first, last, track, counselor, start=date(2026, 10, 5), group=None, **kw):
        p[key] = make.patient(first_name=first, last_name=last)
        make.enrolment(p[key], track, counselor=counselor, start=start, **kw)
        if group is not None:
            make.membership(group, p[key], start=start)
        return p[key]

    patient("ana", "Ana", "Alder", iop, wren, group=circle)  # 3 x 170 min = 8.5 h: below 9 h
    patient("ben", "Ben", "Birch", iop, wren, group=circle)  # a member who never came: 0 h
    patient("cy", "Cy", "Cedar", iop, wren, group=circle)  # 3 x 180 min = 9 h on 3 days: met
    patient("di", "Di", "Dogwood", iop, wren)  # enrolled, in no group at all: 0 h
    patient("fay", "Fay", "Fir", iop, odo)  # Odo's, 0 h: never Wren's
    patient("gus", "Gus", "Gum", php, odo, group=day_programme)  # 5 x 240 = 20 h on 5 days: met
    patient("hal", "Hal", "Holm", php, odo, group=day_programme)  # 4 x 240 = 16 h on 4 days: below
    for n, last in enumerate(HOSTILE):
        patient(f"hostile{n}", "Zed", last, iop, wren, group=circle)  # 1 h each: below
    for s in iop_sessions:
        _attend(s, p["ana"], 170)
        _attend(s, p["cy"], 180)
    for s in php_sessions:
        _attend(s, p["gus"], 240)
    for s in php_sessions[:4]:
        _attend(s, p["hal"], 240)
    for n in range(len(HOSTILE)):
        _attend(iop_sessions[0], p[f"hostile{n}"], 60)
    _attend(iop_sessions[1], p["ben"], 0, status="absent")  # recorded absent: still 0 h
    # Sol steps down from PHP (Odo) to IOP (Wren) on 11 November: one move, not a discharge.
    sol = patient("sol", "Sol", "Sage", php, odo, start=date(2026, 10, 12), end_date=date(2026, 11, 10),
                  status="stepped_down")
    make.enrolment(sol, iop, counselor=wren, start=date(2026, 11, 11))
    # Discharged in the period, none of them on anyone's caseload any more.
    patient("tim", "Tim", "Teak", iop, wren, start=date(2026, 11, 3), end_date=date(2026, 11, 20),
            status="discharged")  # 18 days; a baseline PHQ-9 and no second one
    patient("uma", "Uma", "Ulm", iop, odo, start=date(2026, 9, 1), end_date=date(2026, 11, 16),
            status="discharged")  # 77 days; PHQ-9 20 then 8: a response, no remission
    patient("vic", "Vic", "Vale", iop, wren, start=date(2026, 10, 1), end_date=date(2026, 11, 25),
            status="discharged")  # 56 days; no PHQ-9 at all
    _phq(p["tim"], date(2026, 11, 4), 15, admin)
    _phq(p["uma"], date(2026, 9, 2), 20, admin)
    _phq(p["uma"], date(2026, 11, 12), 8, admin)
    return {"admin": admin, "wren": wren, "odo": odo, "p": p, "iop": iop, "php": php}


def _csv(client, url: str) -> list[list[str]]:
    answer = client.get(url)
    assert answer.status_code == 200, url
    data = answer.get_data()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte-order mark
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _pdf_text(client, url: str, tmp_path) -> str:
    answer = client.get(url)
    assert answer.status_code == 200 and answer.mimetype == "application/pdf", url
    path = tmp_path / "report.pdf"
    path.write_bytes(answer.get_data())
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def _name(patient) -> str:
    return f"{patient.last_name}, {patient.first_name}"


def _cell(text: str) -> str:
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


def _exports() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "export", AuditEvent.entity == "report"))


# Hours against the minimum ---------------------------------------------------------------------
def _hours_by_sql() -> dict[int, tuple[str, int, int, int, int]]:
    """Every enrolment in force in the week: patient -> (track code, attended minutes, attended days,
    the track's minimum minutes and days), counted with plain SQL."""
    enrolled = db.session.execute(sa.text(
        "SELECT e.patient_id, t.code, t.weekly_min_minutes, t.weekly_min_days FROM enrolment e "
        "JOIN track t ON t.id = e.track_id WHERE e.start_date <= :sunday "
        "AND (e.end_date IS NULL OR e.end_date >= :monday)"
    ).bindparams(sa.bindparam("monday", MONDAY, sa.Date), sa.bindparam("sunday", SUNDAY, sa.Date))).all()
    attended = db.session.execute(sa.text(
        "SELECT a.patient_id, s.starts_at, a.minutes_attended FROM attendance a "
        "JOIN group_session s ON s.id = a.session_id WHERE s.starts_at >= :monday AND s.starts_at < :next "
        "AND a.status IN ('present', 'late', 'left_early')"
    ).bindparams(sa.bindparam("monday", datetime.combine(MONDAY, time()), sa.DateTime),
                 sa.bindparam("next", datetime.combine(SUNDAY + timedelta(days=1), time()), sa.DateTime))).all()
    minutes: dict[int, int] = {}
    days: dict[int, set] = {}
    for patient_id, starts_at, attended_minutes in attended:
        minutes[patient_id] = minutes.get(patient_id, 0) + attended_minutes
        days.setdefault(patient_id, set()).add(str(starts_at)[:10])
    return {pid: (code, minutes.get(pid, 0), len(days.get(pid, ())), min_minutes, min_days)
            for pid, code, min_minutes, min_days in enrolled}


def test_hours_list_exactly_who_sql_finds_below_the_minimum_with_their_hours(client, clinic, tmp_path):
    p = clinic["p"]
    truth = _hours_by_sql()
    below = {pid for pid, (_, m, d, mm, md) in truth.items() if m < mm or d < md}
    # The hand-worked cases agree with the SQL.
    assert truth[p["ana"].id][1:3] == (510, 3) and p["ana"].id in below  # 8.5 h of 9
    assert truth[p["ben"].id][1:3] == (0, 0) and p["ben"].id in below  # zero attendance
    assert p["di"].id in below and p["cy"].id not in below and p["gus"].id not in below
    assert truth[p["hal"].id][1:3] == (960, 4) and p["hal"].id in below

    login(client, clinic["admin"].email)
    rows = _csv(client, f"/admin/reports/hours.csv?week={MONDAY}&table=patients")
    header, rows = rows[0], rows[1:]
    assert header[:2] == ["Patient", "Track"]
    by_name = {_name(x): x.id for x in p.values()}
    listed = {by_name[r[0] if not r[0].startswith("'") else r[0][1:]]: r for r in rows}
    assert set(listed) == below  # nobody missing, nobody extra
    for pid, row in listed.items():
        _, minutes, days, min_minutes, _ = truth[pid]
        assert float(row[4]) == round(minutes / 60, 1) and int(row[5]) == days
        assert float(row[8]) == round(max(min_minutes - minutes, 0) / 60, 1)
    assert listed[p["ana"].id][4:9] == ["8.5", "3", "9.0", "3", "0.5"]
    assert listed[p["ben"].id][4:6] == ["0.0", "0"]
    assert "part of the week: from 3 November 2026" in listed[p["tim"].id][3]
    # Per track: enrolled in the week and below it, as SQL counts them.
    tracks = {r[0]: r for r in _csv(client, f"/admin/reports/hours.csv?week={MONDAY}&table=tracks")[1:]}
    for code, name in (("iop", IOP), ("intensive", PHP)):
        in_track = [pid for pid, t in truth.items() if t[0] == code]
        assert int(tracks[name][2]) == len(in_track)
        assert int(tracks[name][4]) + int(tracks[name][5]) == len([x for x in in_track if x in below])
    # The page and the PDF say the same.
    html = client.get(f"/admin/reports/hours/?week={MONDAY}").get_data(as_text=True)
    assert "Alder, Ana" in html and "Birch, Ben" in html and "Cedar, Cy" not in html
    text = _pdf_text(client, f"/admin/reports/hours.pdf?week={MONDAY}", tmp_path)
    for key in ("ana", "ben", "di", "hal", "tim"):
        assert _name(p[key]) in text
    assert "Cedar, Cy" not in text and "Gum, Gus" not in text
    assert _exports() == 3  # two CSV files and a PDF, each audited


# Census -----------------------------------------------------------------------------------------
def _census_by_sql(track_code: str) -> list[int]:
    return [db.session.scalar(sa.text(
        "SELECT count(*) FROM enrolment e JOIN track t ON t.id = e.track_id WHERE t.code = :code "
        "AND e.start_date <= :day AND (e.end_date IS NULL OR e.end_date >= :day)"
    ).bindparams(sa.bindparam("day", START + timedelta(days=n), sa.Date), code=track_code))
        for n in range((END - START).days + 1)]


def test_census_counts_each_day_as_sql_does_and_a_step_down_once(client, clinic, tmp_path):
    login(client, clinic["admin"].email)
    daily = _csv(client, f"/admin/reports/census.csv?{PERIOD}&table=daily")
    assert daily[0] == ["Day", PHP, IOP, "All tracks"]
    assert [r[0] for r in daily[1:]] == [str(START + timedelta(days=n)) for n in range(28)]
    assert [int(r[1]) for r in daily[1:]] == _census_by_sql("intensive")
    assert [int(r[2]) for r in daily[1:]] == _census_by_sql("iop")
    assert all(int(r[3]) == int(r[1]) + int(r[2]) for r in daily[1:])
    iop_days = _census_by_sql("iop")
    # By hand: 15 open IOP stays from 5 October (Fay's and ten hostile names among them), Uma and
    # Vic; Tim from the 3rd; Sol from the 11th; Uma, Tim and Vic gone by the 29th.
    assert (iop_days[0], iop_days[1], iop_days[9], iop_days[-1]) == (17, 18, 19, 16)

    summary = {r[0]: r[1:] for r in _csv(client, f"/admin/reports/census.csv?{PERIOD}&table=summary")[1:]}
    # first day, last day, average, admissions, transfers in, stepped down, stepped up, discharged,
    # withdrew, average length of stay
    assert summary[PHP][0:2] == ["3", "2"]  # Gus, Hal and Sol; Sol gone by the 29th
    assert summary[PHP][3:] == ["0", "0", "1", "0", "0", "0", "30.0"]  # Sol: a step-down, not a discharge
    assert summary[IOP][3:] == ["1", "1", "0", "0", "3", "0", "50.3"]  # Tim admitted, Sol moved in; (18+77+56)/3
    assert summary["All tracks"][3:] == ["1", "1", "1", "0", "3", "0", "45.3"]  # (30+18+77+56)/4 = 45.25, a half: up
    html = client.get(f"/admin/reports/census/?{PERIOD}").get_data(as_text=True)
    assert "<svg" in html and 'id="census-chart"' in html
    text = _pdf_text(client, f"/admin/reports/census.pdf?{PERIOD}", tmp_path)
    assert "Census" in text and "50.3" in text


# Outcomes ---------------------------------------------------------------------------------------
def test_outcomes_count_the_patient_with_no_second_measurement(client, clinic, tmp_path):
    p = clinic["p"]
    login(client, clinic["admin"].email)
    tracks = {r[0]: r[1:] for r in _csv(client, f"/admin/reports/outcomes.csv?{OUTCOMES}&table=tracks")[1:]}
    # discharged, two or more, only one, none, avg baseline, avg latest, response / judged / share,
    # remission / judged / share
    assert tracks[IOP][:4] == ["3", "1", "1", "1"]
    assert tracks[IOP][6:9] == ["1", "1", "1.0"]
    assert tracks[PHP][0] == "0"  # Sol stepped down: no discharge
    patients = {r[0]: r[1:] for r in _csv(client, f"/admin/reports/outcomes.csv?{OUTCOMES}&table=patients")[1:]}
    assert set(patients) == {"Teak, Tim", "Ulm, Uma", "Vale, Vic"}
    assert patients["Teak, Tim"][2:4] == ["1", "15"] and patients["Teak, Tim"][6] == "no second measurement"
    assert patients["Ulm, Uma"][2:] == ["2", "20", "8", "-12", "yes", "no"]  # a number stays a number
    assert patients["Vale, Vic"][2] == "0"
    text = _pdf_text(client, f"/admin/reports/outcomes.pdf?{OUTCOMES}", tmp_path)
    assert "Teak, Tim" in text and "no second measurement" in text
    assert _name(p["sol"]) not in text


# A counselor's reports --------------------------------------------------------------------------
def test_a_counselor_sees_the_patients_they_discharged_and_never_another_counselors(client, clinic, tmp_path):
    p = clinic["p"]
    login(client, clinic["wren"].email)
    html = client.get(f"/admin/reports/outcomes/?{OUTCOMES}").get_data(as_text=True)
    assert "Teak, Tim" in html and "Vale, Vic" in html  # discharged from Wren's care: still hers
    assert "Ulm, Uma" not in html  # Odo's
    assert "stays you were primary counselor of" in html
    patients = [r[0] for r in _csv(client, f"/admin/reports/outcomes.csv?{OUTCOMES}&table=patients")[1:]]
    assert patients == ["Teak, Tim", "Vale, Vic"]
    text = _pdf_text(client, f"/admin/reports/outcomes.pdf?{OUTCOMES}", tmp_path)
    assert "Teak, Tim" in text and "Ulm, Uma" not in text
    # Hours and census: Wren's own, and the stays she had.
    names = {r[0] for r in _csv(client, f"/admin/reports/hours.csv?week={MONDAY}&table=patients")[1:]}
    assert {"Alder, Ana", "Birch, Ben", "Dogwood, Di", "Teak, Tim", "Vale, Vic"} <= names
    others = {_name(p[k]) for k in ("fay", "hal", "uma", "gus")}
    assert not names & others
    text = _pdf_text(client, f"/admin/reports/hours.pdf?week={MONDAY}", tmp_path)
    assert not any(n in text for n in others)
    summary = {r[0]: r[1:] for r in _csv(client, f"/admin/reports/census.csv?{PERIOD}&table=summary")[1:]}
    assert summary[IOP][7] == "2"  # Tim and Vic; not Odo's Uma
    # A hand-altered track: narrowed to Wren's patients of that track, never Odo's.
    php_id = clinic["php"].id
    html = client.get(f"/admin/reports/hours/?week={MONDAY}&track={php_id}").get_data(as_text=True)
    assert "Holm, Hal" not in html and "Gum, Gus" not in html
    client.post("/logout")
    login(client, clinic["odo"].email)
    patients = [r[0] for r in _csv(client, f"/admin/reports/outcomes.csv?{OUTCOMES}&table=patients")[1:]]
    assert patients == ["Ulm, Uma"]


def test_the_cli_as_a_counselor_writes_only_their_patients(runner, clinic, tmp_path):
    out = tmp_path / "outcomes.csv"
    result = runner.invoke(args=["report", "outcomes", "--from", "2026-11-01", "--to", "2026-11-30",
                                 "--table", "patients", "--as", clinic["wren"].email, "-o", str(out)])
    assert result.exit_code == 0, result.output
    names = [r[0] for r in csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig")))][1:]
    assert names == ["Teak, Tim", "Vale, Vic"]
    hours = tmp_path / "hours.pdf"
    result = runner.invoke(args=["report", "hours", "--week", str(MONDAY), "--as", clinic["wren"].email,
                                 "-o", str(hours)])
    assert result.exit_code == 0, result.output
    text = subprocess.run(["pdftotext", "-layout", str(hours), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Alder, Ana" in text and "Fir, Fay" not in text and "Holm, Hal" not in text
    assert _exports() == 2


@pytest.mark.parametrize("url, message", [
    (f"/admin/reports/census/?from=2020-01-01&to={END}", "at most 366 days"),
    ("/admin/reports/census.csv?from=2020-01-01&to=2026-11-29&table=daily", "at most 366 days"),
    ("/admin/reports/outcomes.pdf?to=banana", "must be a date"),
    ("/admin/reports/hours.csv?week=2026-13-01", "must be a date"),
    ("/admin/reports/hours/?track=99999", "Choose one of the tracks"),
])
def test_a_hand_altered_request_is_refused_with_a_message_and_nothing_is_exported(client, clinic, url, message):
    login(client, clinic["wren"].email)
    answer = client.get(url)
    assert answer.status_code == 400
    assert message in answer.get_data(as_text=True)
    assert _exports() == 0


# Hostile names ----------------------------------------------------------------------------------
def test_hostile_names_come_out_of_the_csv_neutralised_and_intact(client, clinic):
    login(client, clinic["admin"].email)
    rows = _csv(client, f"/admin/reports/hours.csv?week={MONDAY}&table=patients")
    cells = [r[0] for r in rows[1:]]
    for last in HOSTILE:
        assert _cell(f"{last}, Zed") in cells, last  # neutralised where it would be a formula, else intact
    dangerous = [c for c in cells if c.lstrip("'") != c]
    assert sorted(dangerous) == sorted(_cell(f"{last}, Zed") for last in HOSTILE[:6])
    assert "Peña-Ñúñez, Zed" in cells and "Comma, Jr, Zed" in cells and 'Say "hi", Zed' in cells
    assert "Line\nbreak, Zed" in cells
    assert all(len(r) == len(rows[0]) for r in rows)  # commas, quotes and line breaks stay in their cell
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
