"""Reports: utilisation, exercises and outcomes by track, against hand-counted answers.

Each clinic below is small enough to count on paper; the comments say how each figure was
counted. A group's row with no attendance recorded, an assignment with no check-in and a
patient with no second PHQ-9 must appear; a counselor sees their sessions or caseload only;
files hold every row, neutralised, and are audited; the SQL stays the same as rows are added.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Activity, Attendance, AuditEvent, ExerciseCheckin, GroupSession
from clinic.services import measures
from clinic.services.instruments import PHQ9
from clinic.services.reports import ReportFilters, kinds
from conftest import login
from test_measures import pattern
from test_pdf_handouts import assign, make_exercise
from test_reports import HOSTILE, _statements

START, END = date(2026, 11, 2), date(2026, 11, 15)  # Monday 2 to Sunday 15 November 2026: two whole weeks
PERIOD = f"from={START.isoformat()}&to={END.isoformat()}"


def _filters(start=START, end=END, track=None, page=1) -> ReportFilters:
    return ReportFilters(start=start, end=end, week=start, track_id=track, page=page)


def _session(group, day: date, facilitator, activity=None, minutes: int = 60, status: str = "held",
             hour: int = 10) -> GroupSession:
    s = GroupSession(group_id=group.id, activity_id=activity.id if activity else None,
                     starts_at=datetime.combine(day, time(hour)), duration_minutes=minutes, status=status,
                     facilitator_id=facilitator.id)
    db.session.add(s)
    db.session.commit()
    return s


def _entry(session, patient, status: str, minutes: int = 0) -> None:
    db.session.add(Attendance(session_id=session.id, patient_id=patient.id, status=status, minutes_attended=minutes))
    db.session.commit()


def _table(html: str, key: str) -> list[list[str]]:
    body = html.split(f'id="report-{key}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)]
            for r in rows]


def _csv(client, url: str) -> list[list[str]]:
    answer = client.get(url)
    assert answer.status_code == 200, url
    data = answer.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


# Utilisation --------------------------------------------------------------------------------------
@pytest.fixture
def groups(make):
    """Alpha circle (Wren, capacity 10) with Gratitude sessions and one with no activity; Beta (Odo, capacity 4)."""
    iop = make.track("iop")
    wren, odo = make.staff("counselor", full_name="Wren"), make.staff("counselor", full_name="Odo")
    alpha = make.group(iop, wren, name="Alpha circle", capacity=10)
    beta = make.group(iop, odo, name=HOSTILE, capacity=4)
    gratitude = Activity(name="Gratitude", default_minutes=60)
    db.session.add(gratitude)
    db.session.commit()
    p = [make.patient(last_name=f"Member{n}") for n in range(5)]
    s1 = _session(alpha, START, wren, gratitude, minutes=180)
    s2 = _session(alpha, START + timedelta(days=2), wren, gratitude, minutes=120)
    _session(alpha, START + timedelta(days=4), wren, gratitude, status="cancelled")
    _session(alpha, START + timedelta(days=7), wren, gratitude, status="planned")  # past, never recorded
    _session(alpha, START + timedelta(days=1), wren)  # held, no activity, nobody recorded
    s7 = _session(beta, START + timedelta(days=3), odo, gratitude)
    outside = _session(alpha, END + timedelta(days=5), wren, gratitude)  # after the period
    _entry(s1, p[0], "present", 180)
    _entry(s1, p[1], "late", 150)  # 30 lost
    _entry(s1, p[2], "absent")  # a no-show
    _entry(s1, p[3], "excused")  # not a no-show
    _entry(s2, p[0], "left_early", 90)  # 30 lost
    _entry(s2, p[1], "present", 120)
    _entry(s2, p[2], "late", 130)  # more than the length: 0 lost, never negative
    _entry(s7, p[4], "present", 60)
    _entry(outside, p[4], "absent")
    return {"wren": wren, "odo": odo, "alpha": alpha, "beta": beta, "gratitude": gratitude, "iop": iop}


def test_utilisation_counts_held_cancelled_unrecorded_attendance_no_shows_and_minutes_lost(client, groups, make):
    login(client, make.staff("planner").email)
    answer = client.get(f"/admin/reports/utilisation/?{PERIOD}")
    assert answer.status_code == 200
    rows = _table(answer.get_data(as_text=True), "groups")
    assert rows[0][0] == "Group"
    # group, activity, held, cancelled, not recorded, avg attended, capacity, against capacity, recorded,
    # absent, excused, no-show rate, minutes lost
    # By group name: the group named like a formula sorts first ("=" before "A").
    assert rows[1][:8] == [HOSTILE.replace('"', "&#34;"), "Gratitude", "1", "0", "0", "1.0", "4", "25 %"]
    assert rows[2] == ["Alpha circle", "Gratitude", "2", "1", "1", "2.5", "10", "25 %", "7", "1", "1", "14 %", "60"]
    assert rows[3] == ["Alpha circle", "no activity", "1", "0", "0", "0.0", "10", "0 %", "0", "0", "0", "–", "0"]
    assert rows[4] == ["All groups", "", "4", "1", "1", "1.5", "–", "–", "8", "1", "1", "12 %", "60"]
    assert "Excused is not a no-show" in answer.get_data(as_text=True)
    # No patient is named: no view of patients is recorded.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.entity == "report")) == 0


def test_utilisation_for_a_counselor_covers_the_sessions_they_facilitate(client, groups):
    login(client, groups["wren"].email)
    html = client.get(f"/admin/reports/utilisation/?{PERIOD}").get_data(as_text=True)
    groups_seen = [r[0] for r in _table(html, "groups")[1:]]
    assert groups_seen == ["Alpha circle", "Alpha circle", "All groups"]
    assert "Your sessions only" in html
    rows = _csv(client, f"/admin/reports/utilisation.csv?{PERIOD}")
    assert [r[0] for r in rows[1:]] == ["Alpha circle", "Alpha circle", "All groups"]


def test_utilisation_pages_its_rows_on_screen_and_the_file_holds_every_row(client, groups, make, monkeypatch):
    from clinic.services.reports import utilisation

    monkeypatch.setattr(utilisation, "PAGE_SIZE", 2)
    login(client, make.staff("admin").email)
    html = client.get(f"/admin/reports/utilisation/?{PERIOD}").get_data(as_text=True)
    assert "1–2 of 3 rows" in html and 'rel="next"' in html
    assert [r[:2] for r in _table(html, "groups")[2:3]] == [["Alpha circle", "Gratitude"]]
    html = client.get(f"/admin/reports/utilisation/?{PERIOD}&page=2").get_data(as_text=True)
    assert "3–3 of 3 rows" in html and 'rel="prev"' in html
    assert _table(html, "groups")[1][:2] == ["Alpha circle", "no activity"]
    rows = _csv(client, f"/admin/reports/utilisation.csv?{PERIOD}")
    assert len(rows) == 1 + 3 + 1  # heading, every row, totals
    assert rows[1][0] == "'" + HOSTILE  # a group named like a formula is neutralised
    assert all(not c.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for c in r)
    export = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert export.changes["report"] == "utilisation" and export.changes["format"] == "csv"


def test_utilisation_says_sessions_still_ahead_are_not_counted(groups):
    from clinic.services.reports import utilisation

    _session(groups["alpha"], START + timedelta(days=9), groups["wren"], groups["gratitude"], status="planned")
    report = utilisation.build(_filters(), groups["wren"], now=datetime.combine(START + timedelta(days=8), time(12)))
    gratitude = report.table("groups").rows[0]
    assert gratitude[:2] == ("Alpha circle", "Gratitude")
    assert gratitude[2:5] == (2, 1, 1)  # the session of the 11th is still ahead on the 10th: nowhere


# Exercises ----------------------------------------------------------------------------------------
@pytest.fixture
def exercises(make):
    """Hand-counted check-ins over weeks 45 (2-8 Nov) and 46 (9-15 Nov) of 2026; target 3-5 acts a week."""
    iop, php = make.track("iop"), make.track("intensive")
    wren, odo = make.staff("counselor", full_name="Wren"), make.staff("counselor", full_name="Odo")
    note = make_exercise("Note of appreciation")
    kind_words = make_exercise("Kind words to self", direction="self")
    ana, ben, cy, di, eve = (make.patient(last_name=n) for n in ("Ana", "Ben", "Cy", "Di", "Eve"))
    for p in (ana, ben, di, eve):
        make.enrolment(p, iop, wren, start=date(2026, 10, 1))
    make.enrolment(cy, php, odo, start=date(2026, 10, 1), end_date=date(2026, 11, 8), status="stepped_down")
    make.enrolment(cy, iop, odo, start=date(2026, 11, 9))

    def checkin(assignment, day, outcome, before=None, after=None):
        db.session.add(ExerciseCheckin(assignment_id=assignment.id, on_date=day, outcome=outcome,
                                       mood_before=before, mood_after=after))
        db.session.commit()

    a1 = assign(ana, note, start=date(2026, 10, 20))
    checkin(a1, date(2026, 11, 2), "done", 4, 6)
    checkin(a1, date(2026, 11, 3), "done", 5, 6)
    checkin(a1, date(2026, 11, 4), "partly", 3)  # one mood only: not in the average
    checkin(a1, date(2026, 11, 5), "done")
    checkin(a1, date(2026, 11, 10), "not_done")
    a2 = assign(ana, kind_words, start=date(2026, 11, 9))
    checkin(a2, date(2026, 11, 11), "done", 2, 5)
    assign(ben, note, start=date(2026, 10, 25))  # never checked in: counted, 0 acts
    c1 = assign(cy, note, start=date(2026, 10, 15))
    for n in range(3, 9):
        checkin(c1, date(2026, 11, n), "done")  # 6 acts in PHP: above target
    checkin(c1, date(2026, 11, 10), "done")  # in IOP after the step-down
    assign(di, note, start=date(2026, 9, 1), status="stopped")  # stopped, nothing in the period: not counted
    e1 = assign(eve, note, start=date(2026, 11, 11))  # began mid-week 46: no week judged
    checkin(e1, date(2026, 11, 12), "done")
    return {"wren": wren, "odo": odo, "iop": iop, "php": php}


IOP, PHP = "Intensive outpatient (IOP)", "Intensive (partial hospitalisation)"


def test_exercises_count_assignments_check_ins_and_mood_change_per_exercise_and_track(client, exercises, make):
    login(client, make.staff("planner").email)
    answer = client.get(f"/admin/reports/exercises/?{PERIOD}")
    assert answer.status_code == 200
    rows = _table(answer.get_data(as_text=True), "exercises")[1:]
    # assignments, patients, with no check-in, done, partly, not done, with both moods, mood change
    assert rows == [
        ["Kind words to self", IOP, "1", "1", "0", "1", "0", "0", "1", "3.0"],
        ["Note of appreciation", PHP, "1", "1", "0", "6", "0", "0", "0", "–"],  # Cy before the step-down
        ["Note of appreciation", IOP, "3", "3", "1", "5", "1", "1", "2", "1.5"],  # Ana, Ben (none), Eve; Cy after
    ]


def test_the_kindness_dose_counts_every_patient_week_with_zero_acts_where_nothing_was_done(exercises, make):
    from clinic.services.reports import exercises as report_module

    admin = make.staff("admin")
    report = report_module.build(_filters(), admin, today=date(2026, 12, 1))
    dose = {r[0]: r for r in report.table("dose").rows}
    # IOP: Ana 3 (within) and 1; Ben 0 and 0; Cy 1 (week 46). Eve began mid-week 46: no week judged.
    assert dose[IOP][1:] == (3, 5, 5, 1.0, 4, 1, 0, 0.2)
    # PHP: Cy's week 45, 6 acts (above target: fine).
    assert dose[PHP][1:] == (1, 1, 6, 6.0, 0, 0, 1, 1.0)
    assert "target 3–5 acts a week" in report.table("dose").title
    # A week not over yet is not judged: on 12 November only week 45 is.
    early = report_module.build(_filters(), admin, today=date(2026, 11, 12))
    assert {r[0]: r[2] for r in early.table("dose").rows} == {PHP: 1, IOP: 2}


def test_exercises_for_a_counselor_cover_their_caseload_only(client, exercises):
    login(client, exercises["wren"].email)
    html = client.get(f"/admin/reports/exercises/?{PERIOD}").get_data(as_text=True)
    rows = _table(html, "exercises")[1:]
    assert [r[:2] for r in rows] == [["Kind words to self", IOP], ["Note of appreciation", IOP]]
    assert rows[1][2:6] == ["3", "3", "1", "4"]  # Ana, Ben (no check-in) and Eve; nothing of Cy's
    dose = {r[0]: r for r in _table(html, "dose")[1:]}
    assert dose[IOP][1:3] == ["2", "4"] and dose[PHP][1:3] == ["0", "0"]
    rows = _csv(client, f"/admin/reports/exercises.csv?{PERIOD}&table=exercises")
    assert [r[1] for r in rows[1:]] == [IOP, IOP]


def test_the_kindness_dose_uses_the_configured_target(client, exercises, make, app):
    app.config["CLINIC_KINDNESS_WEEKLY_TARGET_MIN"] = 1
    app.config["CLINIC_KINDNESS_WEEKLY_TARGET_MAX"] = 2
    login(client, make.staff("planner").email)
    rows = _csv(client, f"/admin/reports/exercises.csv?{PERIOD}&table=dose")
    dose = {r[0]: r for r in rows[1:]}
    # IOP weeks 3, 1, 0, 0, 1 against 1-2: two below, two within, one above
    assert dose[IOP][5:8] == ["2", "2", "1"]


# Outcomes -----------------------------------------------------------------------------------------
def _phq(patient, day, total, actor, sign=True):
    return measures.save_administration(patient, "phq9", measures.Entry(pattern(PHQ9, total), day, "in_person", 1),
                                        actor, sign=sign)


@pytest.fixture
def discharges(make):
    iop, php = make.track("iop"), make.track("intensive")
    admin, wren = make.staff("admin"), make.staff("counselor", full_name="Wren")
    p = {n: make.patient(first_name=n, last_name=last) for n, last in (
        ("Ana", "Alder"), ("Ben", "Birch"), ("Cy", "Cedar"), ("Di", "Dogwood"), ("Eve", "Elm"), ("Fay", "Fir"),
        ("Gus", "Gum"))}
    make.enrolment(p["Ana"], iop, start=date(2026, 9, 1), end_date=date(2026, 11, 10), status="discharged")
    make.enrolment(p["Ben"], php, start=date(2026, 9, 1), end_date=date(2026, 10, 15), status="stepped_down")
    make.enrolment(p["Ben"], iop, start=date(2026, 10, 16), end_date=date(2026, 11, 20), status="discharged")
    make.enrolment(p["Cy"], php, start=date(2026, 9, 1), end_date=date(2026, 11, 5), status="stepped_down")
    make.enrolment(p["Cy"], iop, start=date(2026, 11, 6))
    make.enrolment(p["Di"], iop, start=date(2026, 9, 1), end_date=date(2026, 11, 12), status="discharged")
    make.enrolment(p["Eve"], iop, start=date(2026, 9, 1), end_date=date(2026, 11, 14), status="discharged")
    make.enrolment(p["Fay"], php, start=date(2026, 9, 1), end_date=date(2026, 11, 3), status="discharged")
    make.enrolment(p["Gus"], iop, start=date(2026, 9, 1), end_date=date(2026, 11, 15), status="withdrawn")
    _phq(p["Ana"], date(2026, 9, 2), 20, admin)  # baseline
    corrected = _phq(p["Ana"], date(2026, 10, 1), 14, admin)
    measures.correct_by_addendum(corrected, pattern(PHQ9, 12), 1, "Misread item 4", admin)
    _phq(p["Ana"], date(2026, 11, 9), 8, admin)  # latest: down 12 of 20, a response, no remission
    _phq(p["Ana"], date(2026, 11, 10), 2, admin, sign=False)  # a draft: not counted
    _phq(p["Ana"], date(2026, 11, 20), 1, admin)  # after discharge: no stay's outcome
    _phq(p["Ben"], date(2026, 9, 3), 18, admin)  # in PHP, before the step-down: the stay's baseline
    _phq(p["Ben"], date(2026, 11, 18), 4, admin)  # response and remission
    _phq(p["Cy"], date(2026, 9, 3), 18, admin)  # stepped down, still enrolled: not discharged
    _phq(p["Di"], date(2026, 10, 1), 15, admin)  # one only: no second measurement
    _phq(p["Eve"], date(2026, 10, 5), 10, admin, sign=False)  # a draft only: no signed PHQ-9
    _phq(p["Fay"], date(2026, 10, 1), 3, admin)  # baseline below 5: remission not judged
    _phq(p["Fay"], date(2026, 10, 20), 2, admin)
    _phq(p["Gus"], date(2026, 10, 1), 20, admin)  # withdrew: not counted
    _phq(p["Gus"], date(2026, 11, 1), 2, admin)
    # Wren runs a group Ana and Di are still members of: they are on Wren's caseload.
    group = make.group(iop, wren)
    for n in ("Ana", "Di"):
        make.membership(group, p[n], start=date(2026, 9, 1))
    return {"admin": admin, "wren": wren, "p": p}


OUTCOME_PERIOD = "from=2026-11-01&to=2026-11-30"


def test_outcomes_per_track_count_response_remission_and_who_had_no_second_measurement(client, discharges):
    login(client, discharges["admin"].email)
    answer = client.get(f"/admin/reports/outcomes/?{OUTCOME_PERIOD}")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    tracks = {r[0]: r[1:] for r in _table(html, "tracks")[1:]}
    # discharged, two or more, one only, none, avg baseline, avg latest, response n / judged / share,
    # remission n / judged / share
    assert tracks[IOP] == ["4", "2", "1", "1", "19.0", "6.0", "2", "2", "100 %", "1", "2", "50 %"]
    assert tracks[PHP] == ["1", "1", "0", "0", "3.0", "2.0", "0", "1", "0 %", "0", "0", "–"]
    assert tracks["All tracks"] == ["5", "3", "1", "1", "13.7", "4.7", "2", "3", "67 %", "1", "2", "50 %"]
    patients = {r[0]: r[1:] for r in _table(html, "patients")[1:]}
    assert list(patients) == ["Fir, Fay", "Alder, Ana", "Birch, Ben", "Dogwood, Di", "Elm, Eve"]
    assert patients["Alder, Ana"] == [IOP, "2026-11-10", "3", "20", "8", "-12", "yes", "no"]
    assert patients["Birch, Ben"] == [IOP, "2026-11-20", "2", "18", "4", "-14", "yes", "yes"]
    assert patients["Dogwood, Di"] == [IOP, "2026-11-12", "1", "15", "–", "–", "no second measurement",
                                       "no second measurement"]
    assert patients["Elm, Eve"] == [IOP, "2026-11-14", "0", "–", "–", "–", "no PHQ-9", "no PHQ-9"]
    assert patients["Fir, Fay"][6:] == ["no", "not judged"]
    assert "Cedar" not in html and "Gum" not in html  # a step-down and a withdrawal are not discharges
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "view",
                                                           AuditEvent.entity == "report")).one()
    assert sorted(event.changes["patients"]) == sorted(discharges["p"][n].id for n in ("Ana", "Ben", "Di", "Eve",
                                                                                      "Fay"))


def test_outcomes_page_their_patients_and_the_files_hold_them_all(client, discharges, monkeypatch):
    from clinic.services.reports import outcomes

    monkeypatch.setattr(outcomes, "PAGE_SIZE", 2)
    login(client, discharges["admin"].email)
    html = client.get(f"/admin/reports/outcomes/?{OUTCOME_PERIOD}&page=2").get_data(as_text=True)
    assert "3–4 of 5 patients" in html
    assert [r[0] for r in _table(html, "patients")[1:]] == ["Birch, Ben", "Dogwood, Di"]
    # The counts per track do not depend on the page.
    assert {r[0]: r[1] for r in _table(html, "tracks")[1:]}[IOP] == "4"
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "view")).one()
    assert sorted(event.changes["patients"]) == sorted(discharges["p"][n].id for n in ("Ben", "Di"))
    rows = _csv(client, f"/admin/reports/outcomes.csv?{OUTCOME_PERIOD}&table=patients")
    assert [r[0] for r in rows[1:]] == ["Fir, Fay", "Alder, Ana", "Birch, Ben", "Dogwood, Di", "Elm, Eve"]
    assert rows[2][4:7] == ["20", "8", "-12"]  # a number stays a number (only text is neutralised)
    export = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert len(export.changes["patients"]) == 5


def test_outcomes_for_a_counselor_cover_their_caseload_only(client, discharges):
    login(client, discharges["wren"].email)
    html = client.get(f"/admin/reports/outcomes/?{OUTCOME_PERIOD}").get_data(as_text=True)
    assert [r[0] for r in _table(html, "patients")[1:]] == ["Alder, Ana", "Dogwood, Di"]
    assert "Birch" not in html and "Your caseload only" in html
    tracks = {r[0]: r[1:5] for r in _table(html, "tracks")[1:]}
    assert tracks[IOP] == ["2", "1", "1", "0"]


# Every new report ---------------------------------------------------------------------------------
NEW = ("utilisation", "exercises", "outcomes")


@pytest.mark.parametrize("key", NEW)
@pytest.mark.parametrize("query, message", [
    ("from=2026-11-10&to=2026-11-01", "ends before it starts"),
    ("from=2025-01-01&to=2026-11-01", "at most 366 days"),
    ("to=30/11/2026", "must be a date"),
    ("track=abc", "Choose one of the tracks"),
])
def test_bad_filters_are_refused_on_every_new_report(client, make, key, query, message):
    login(client, make.staff("planner").email)
    answer = client.get(f"/admin/reports/{key}/?{query}")
    assert answer.status_code == 400 and message in answer.get_data(as_text=True)
    assert client.get(f"/admin/reports/{key}.csv?{query}").status_code == 400
    assert client.get(f"/admin/reports/{key}.pdf?{query}").status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.entity == "report")) == 0


@pytest.mark.parametrize("key", NEW)
def test_unknown_tables_and_formats_are_not_found_and_anonymous_users_are_sent_away(client, make, key):
    assert client.get(f"/admin/reports/{key}/").status_code in (302, 401, 403)
    login(client, make.staff("planner").email)
    assert client.get(f"/admin/reports/{key}/").status_code == 200
    assert client.get(f"/admin/reports/{key}.csv?table=nope").status_code == 404
    assert client.get(f"/admin/reports/{key}.xlsx").status_code == 404


def test_the_new_reports_are_in_the_menu_and_print_as_pdf(client, discharges):
    assert [k.key for k in kinds()] == ["census", "hours", "utilisation", "exercises", "outcomes"]
    assert [k.key for k in kinds() if k.pages] == ["hours", "utilisation", "outcomes"]
    login(client, discharges["admin"].email)
    html = client.get("/admin/reports/").get_data(as_text=True)
    for title in ("Utilisation", "Exercises", "Outcomes by track"):
        assert title in html
    for key in NEW:
        answer = client.get(f"/admin/reports/{key}.pdf?{OUTCOME_PERIOD}")
        assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    exports = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export")
                                 .order_by(AuditEvent.id)).all()
    assert [e.changes["report"] for e in exports] == list(NEW)
    assert exports[-1].changes["format"] == "pdf" and len(exports[-1].changes["patients"]) == 5


def test_each_new_report_reads_a_fixed_number_of_statements_however_many_rows(client, groups, exercises,
                                                                               discharges, make):
    login(client, discharges["admin"].email)
    urls = [f"/admin/reports/utilisation/?{PERIOD}", f"/admin/reports/exercises/?{PERIOD}",
            f"/admin/reports/outcomes/?{OUTCOME_PERIOD}", f"/admin/reports/utilisation.csv?{PERIOD}",
            f"/admin/reports/outcomes.csv?{OUTCOME_PERIOD}&table=patients"]
    before = [_statements(client, url) for url in urls]
    iop, php = make.track("iop"), make.track("intensive")
    note = make_exercise("Another exercise")
    admin = discharges["admin"]
    for n in range(12):
        group = make.group(iop, groups["wren"], name=f"Extra {n}")
        activity = Activity(name=f"Activity {n}", default_minutes=60)
        db.session.add(activity)
        db.session.commit()
        patient = make.patient()
        make.enrolment(patient, php if n % 2 else iop, start=date(2026, 9, 1), end_date=date(2026, 11, 3 + n),
                       status="discharged")
        for day in range(3):
            s = _session(group, START + timedelta(days=day), groups["wren"], activity if day else None)
            _entry(s, patient, ("present", "late", "absent")[day], 30 if day < 2 else 0)
        a = assign(patient, note, start=date(2026, 10, 1))
        db.session.add(ExerciseCheckin(assignment_id=a.id, on_date=START + timedelta(days=n), outcome="done",
                                       mood_before=3, mood_after=5))
        db.session.commit()
        for k in range(n % 3):
            _phq(patient, date(2026, 9, 2 + 10 * k), 10 + k, admin)
    after = [_statements(client, url) for url in urls]
    assert after == before


def test_a_chosen_track_narrows_every_new_report(client, groups, exercises, discharges):
    php = exercises["php"]
    login(client, discharges["admin"].email)
    html = client.get(f"/admin/reports/exercises/?{PERIOD}&track={php.id}").get_data(as_text=True)
    assert [r[1] for r in _table(html, "exercises")[1:]] == [PHP]
    assert [r[0] for r in _table(html, "dose")[1:]] == [PHP]
    html = client.get(f"/admin/reports/outcomes/?{OUTCOME_PERIOD}&track={php.id}").get_data(as_text=True)
    assert [r[0] for r in _table(html, "patients")[1:]] == ["Fir, Fay"]
    html = client.get(f"/admin/reports/utilisation/?{PERIOD}&track={php.id}").get_data(as_text=True)
    assert 'id="report-groups-empty"' in html  # every group here is in IOP
