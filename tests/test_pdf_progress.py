"""Progress sheets, staff and patient versions, and the mood chart, read back from the PDF."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Activity, Attendance, Enrolment, ExerciseCheckin, GroupSession
from clinic.pdf import progress as progress_module
from clinic.pdf.cli import print_cli
from clinic.pdf.progress import patient_wins, progress_html_context, progress_sheet
from clinic.pdf.render import render_html
from clinic.services import chart as chart_service
from clinic.services.errors import RuleViolation
from clinic.services.period_progress import period_progress
from conftest import login
from test_pdf_handouts import assign, exports, make_exercise
from test_pdf_render import HOSTILE, HOSTILE_NAME, FetchSpy, assert_loads_nothing, contains, page_texts, read_pdf

START = date(2026, 3, 1)  # a Sunday: the first ISO week of the period is a part week
END = date(2026, 3, 31)
MARCH = "1 – 31 March 2026"

ASH_NOTE = "Ash said sleep is poor; watch for early waking"
BEA_NOTE = "Bea mentioned a family conflict at home"
GROUP_NOTE = "Bea and Ash paired up for the compliment round"
SUMMARY = "Steady progress in IOP.\nAttendance dipped in week 12."
NEXT_STEPS = "Keep the appreciation note twice a week.\n\nReview sleep at the next meeting."


def at(day: date, hour: int = 17, minute: int = 30) -> datetime:
    return datetime.combine(day, datetime.min.time()).replace(hour=hour, minute=minute)


def make_session(group, day: date, *, status="held", note="", activity=None, minutes=90, recorded=True,
                 facilitator=None) -> GroupSession:
    """A session of ``group`` on ``day`` at 17:30."""
    session = GroupSession(
        group_id=group.id, starts_at=at(day), duration_minutes=minutes, room="Garden Room",
        status=status, group_note=note, activity_id=activity.id if activity else None,
        facilitator_id=facilitator.id if facilitator else group.facilitator_id,
        recorded_at=at(day, 19, 30) if recorded else None,
    )
    db.session.add(session)
    db.session.commit()
    return session


def attend(session, patient, status="present", minutes=None, engagement=None, note="") -> Attendance:
    row = Attendance(
        session_id=session.id, patient_id=patient.id, status=status,
        minutes_attended=(session.duration_minutes if minutes is None else minutes)
        if status not in ("absent", "excused") else 0,
        engagement=engagement, note=note,
    )
    db.session.add(row)
    db.session.commit()
    return row


def checkin(assignment, day: date, outcome="done", before=None, after=None) -> ExerciseCheckin:
    row = ExerciseCheckin(assignment_id=assignment.id, on_date=day, outcome=outcome,
                          mood_before=before, mood_after=after, reflection="felt fine")
    db.session.add(row)
    db.session.commit()
    return row


@dataclass
class Clinic:
    ash: object
    bea: object
    counselor: object
    group: object
    note_assignment: object
    sessions: list


@pytest.fixture
def clinic(make):
    """Ash stepped down inpatient → intensive → IOP; Bea shares Ash's IOP group in March 2026.

    IOP Evening A meets Monday, Wednesday and Thursday at 17:30 for 90 minutes. Ash joins
    on 9 March (week 11). Both have distinctive individual notes; the group note names them both.
    """
    counselor = make.staff("counselor", full_name="Wren Counselor")
    inpatient, intensive, iop = make.track("inpatient"), make.track("intensive"), make.track("iop")
    ash = make.patient(first_name="Ashley", last_name="Northcote", preferred_name="Ash", record_number="MRN-70001")
    bea = make.patient(first_name="Beatrice", last_name="Eastwood", preferred_name="Bea", record_number="MRN-70002")
    db.session.add_all([
        Enrolment(patient_id=ash.id, track_id=inpatient.id, start_date=date(2026, 2, 2), end_date=date(2026, 2, 20),
                  status="stepped_down", end_reason="Stable on the ward", primary_counselor_id=counselor.id),
        Enrolment(patient_id=ash.id, track_id=intensive.id, start_date=date(2026, 2, 21), end_date=date(2026, 3, 8),
                  status="stepped_down", end_reason="Ready for evenings", primary_counselor_id=counselor.id),
    ])
    db.session.commit()
    make.enrolment(ash, iop, counselor, start=date(2026, 3, 9))
    make.enrolment(bea, iop, None, start=date(2026, 3, 1))
    group = make.group(iop, facilitator=counselor, name="IOP Evening A")
    make.membership(group, ash, start=date(2026, 3, 9))
    make.membership(group, bea, start=date(2026, 3, 1))
    activity = Activity(name="Compliment round", default_minutes=90)
    db.session.add(activity)
    db.session.commit()
    sessions = []
    # Week 10 (2–8 March): Bea only. Week 11 (9–15): both; Ash attends all three.
    # Week 12 (16–22): Ash attends one, is absent once, one is not recorded yet. One cancelled.
    for day in (date(2026, 3, 2), date(2026, 3, 4), date(2026, 3, 5)):
        s = make_session(group, day, activity=activity)
        attend(s, bea, engagement=3)
        sessions.append(s)
    week11 = [make_session(group, d, activity=activity, note=GROUP_NOTE if d.day == 9 else "")
              for d in (date(2026, 3, 9), date(2026, 3, 11), date(2026, 3, 12))]
    attend(week11[0], ash, engagement=4, note=ASH_NOTE)
    attend(week11[0], bea, engagement=2, note=BEA_NOTE)
    attend(week11[1], ash, status="late", minutes=60, engagement=3)
    attend(week11[2], ash, engagement=5)
    sessions += week11
    s16 = make_session(group, date(2026, 3, 16), activity=activity)
    attend(s16, ash, engagement=4)
    s18 = make_session(group, date(2026, 3, 18), activity=activity)
    attend(s18, ash, status="absent")
    s19 = make_session(group, date(2026, 3, 19), activity=activity, status="planned", recorded=False)
    make_session(group, date(2026, 3, 23), activity=activity, status="cancelled", recorded=False)
    sessions += [s16, s18, s19]
    note = make_exercise()
    pause = make_exercise("Take a self-compassion pause", direction="self")
    retired = make_exercise("Volunteer for an hour")
    note_assignment = assign(ash, note, start=date(2026, 3, 9), times=2)
    pause_assignment = assign(ash, pause, start=date(2026, 3, 9), times=3)
    assign(ash, retired, start=date(2026, 1, 5), status="stopped")  # before the period, never checked in
    checkin(note_assignment, date(2026, 3, 10), "done", 3, 6)
    checkin(note_assignment, date(2026, 3, 13), "done", 4, 6)
    checkin(pause_assignment, date(2026, 3, 13), "partly", 6, 6)  # same day: averaged 5 → 6
    checkin(pause_assignment, date(2026, 3, 17), "not_done", 5, None)
    checkin(note_assignment, date(2026, 3, 20), "partly", 5, 7)
    bea_pause = assign(bea, pause, start=date(2026, 3, 1), times=1)
    checkin(bea_pause, date(2026, 3, 4), "done", 2, 8)
    return Clinic(ash, bea, counselor, group, note_assignment, sessions)


def staff_text(clinic, **kw) -> tuple[list[str], bytes]:
    data = progress_sheet(clinic.ash, START, END, version="staff", summary=kw.get("summary", SUMMARY),
                          next_steps=kw.get("next_steps", NEXT_STEPS))
    return page_texts(data), data


def test_the_staff_sheet_has_every_section_with_the_patients_figures(clinic):
    texts, data = staff_text(clinic)
    text = "\n".join(texts)
    for expected in (
        "Kindness Programme", "Progress sheet: Ashley Northcote", MARCH, "Printed ",
        "Staff version: contains clinical notes. Not for the patient.", "MRN-70001", "Wren Counselor",
        "Track history",
        "Path: Inpatient → Intensive (partial hospitalisation) → Intensive outpatient (IOP)",
        "stepped down", "Stable on the ward", "Ready for evenings",
        "Sessions and engagement",
        # Offered while a member (from 9 March): 9, 11, 12, 16, 18, 19 March; the 23rd was cancelled.
        "Attended 4 of 6 sessions offered (67 %), on 4 days.",
        "1 offered session not recorded yet.",
        "Average engagement 4.0 of 5, over 4 sessions with a rating.",
        "Hours per week against the track minimum", "2026-W11", "9 Mar – 15 Mar", "9.0 h, 3 d",
        "Sessions", "Mon 9 Mar 17:30 IOP Evening A, Compliment round: present, 90 of 90 min, engagement 4",
        "Wed 11 Mar 17:30 IOP Evening A, Compliment round: late, 60 of 90 min, engagement 3",
        "Wed 18 Mar 17:30 IOP Evening A, Compliment round: absent, 0 of 90 min",
        "Thu 19 Mar 17:30 IOP Evening A, Compliment round: not recorded yet, 0 of 90 min",
        "Kindness exercises", "Check-ins in the period: 2 done, 2 partly, 1 not done.",
        "Write a note of appreciation", "Take a self-compassion pause", "twice a week",
        "Mood before and after", "over the 4 check-ins with both; mood was higher after in 3 of them.",
        "Individual notes", ASH_NOTE,
        "Counselor's summary", "Steady progress in IOP.", "Attendance dipped in week 12.",
        "Next steps", "Keep the appreciation note twice a week.", "Review sleep at the next meeting.",
        "Counselor (name and signature)", "Date",
    ):
        assert contains(text, expected), expected
    assert "Volunteer for an hour" not in text  # stopped before the period, never checked in
    for n, page in enumerate(texts, start=1):
        assert f"Page {n} of {len(texts)}" in page
    # Bea's note and name never appear on Ash's sheet; the group note is not a sheet item.
    assert BEA_NOTE not in text and "Beatrice" not in text and GROUP_NOTE not in text


def test_the_staff_sheet_weeks_are_measured_against_the_track_minimum(clinic):
    progress = period_progress([clinic.ash], START, END)[clinic.ash.id]
    weeks = {w.label: w for w in progress.weeks}
    assert list(weeks) == ["2026-W09", "2026-W10", "2026-W11", "2026-W12", "2026-W13", "2026-W14"]
    w09, w10, w11, w12 = weeks["2026-W09"], weeks["2026-W10"], weeks["2026-W11"], weeks["2026-W12"]
    assert (w09.first, w09.last, w09.partial, w09.track_name) == (START, START, True, "Intensive (partial hospitalisation)")
    assert w10.offered == 0 and w10.partial is False and w10.met is False  # intensive all week, no IOP group yet
    assert (w11.offered, w11.attended, w11.minutes, w11.days) == (3, 3, 240, 3)
    assert w11.track_name == "Intensive outpatient (IOP)" and w11.min_minutes == 540
    assert w11.met is False and w11.state_label == "below: 5.0 h short"
    assert (w12.offered, w12.attended, w12.minutes, w12.days) == (3, 1, 90, 1)
    assert w12.state_label == "below: 7.5 h short, 2 days short"
    assert weeks["2026-W14"].partial  # 30–31 March only



# The patient version ---------------------------------------------------------------------------
PRIVATE_TO_ASH = ("Northcote", "Ashley", "MRN-70001", ASH_NOTE, BEA_NOTE, GROUP_NOTE)
OTHER_PATIENT = ("Bea", "Beatrice", "Eastwood", "MRN-70002")


def test_the_patient_sheet_celebrates_small_wins_with_the_chart_and_current_exercises(clinic):
    data = progress_sheet(clinic.ash, START, END, version="patient", summary=SUMMARY, next_steps=NEXT_STEPS)
    texts = page_texts(data)
    text = "\n".join(texts)
    assert len(texts) == 1
    for expected in (
        "Kindness Programme", "Your progress, Ash", MARCH, "Printed ", "Page 1 of 1", "Hello Ash,",
        "Your small wins",
        "You came to 4 group sessions. Showing up takes energy, and you did it.",
        "You did a kindness exercise twice, and gave one a try twice more.",
        "Your mood lifted after an exercise 3 times.",
        "How you felt", "Mood before", "Mood after", "Mood (0–10)", "Day of check-in",
        "Your kindness exercises now",
        "Take a self-compassion pause: aim for 3 times a week.",
        "Write a note of appreciation: aim for twice a week.",
        "Something I am proud of", "Be patient with yourself: small steps add up.",
    ):
        assert contains(text, expected), expected
    assert "Volunteer for an hour" not in text  # stopped: not a current exercise


def test_the_patient_sheet_has_no_notes_record_number_last_name_or_other_patient(clinic):
    data = progress_sheet(clinic.ash, START, END, version="patient", summary=SUMMARY, next_steps=NEXT_STEPS)
    text = "\n".join(page_texts(data))
    for private in PRIVATE_TO_ASH + OTHER_PATIENT + (
        "Steady progress", "appreciation note twice", "Review sleep",  # summary and next steps
        "Individual notes", "summary", "Next steps", "Wren Counselor", "staff",
    ):
        assert private not in text, private
    html = render_html(**progress_html_context(clinic.ash, START, END, version="patient"))
    for private in PRIVATE_TO_ASH + OTHER_PATIENT:
        assert private not in html, private


def test_the_patient_sheet_goes_by_first_name_and_initial_without_a_preferred_name(make):
    cory = make.patient(first_name="Cory", last_name="Dunmore", record_number="MRN-70003")
    text = "\n".join(page_texts(progress_sheet(cory, START, END, version="patient")))
    assert "Hello Cory D.," in text and "Your progress, Cory D." in text
    assert "Dunmore" not in text and "MRN-70003" not in text


def test_a_patient_sheet_with_little_to_show_is_gentle(make):
    quiet = make.patient(preferred_name="Sam")
    text = "\n".join(page_texts(progress_sheet(quiet, START, END, version="patient")))
    for expected in (
        "Your group is there for you whenever you feel ready. There is nothing to catch up on.",
        "Kindness exercises can wait for a day with a little more energy.",
        "No moods were noted from 1 March 2026 to 31 March 2026.",
        "You have no kindness exercises at the moment.",
    ):
        assert contains(text, expected), expected
    for harsh in (" 0 ", "missed", "failed", "only", "didn't", "did not", "no sessions", "should"):
        assert harsh not in text.lower(), harsh


def test_patient_wins_count_kindly_in_words():
    assert patient_wins(1, 1, 0, 1, 1) == (
        "You came to 1 group session. Showing up takes energy, and you did it.",
        "You did a kindness exercise once. Each one is a real act of kindness.",
        "Your mood lifted after an exercise once.",
    )
    assert patient_wins(0, 0, 2, 0, 2)[1:] == (
        "You gave a kindness exercise a try twice. Starting is often the hardest part, and you did it.",
        "Thank you for noticing how you felt. Paying attention to your mood is a skill in itself.",
    )


# Hostile input ---------------------------------------------------------------------------------
def test_hostile_notes_names_and_summary_print_as_plain_text_and_load_nothing(clinic, make, monkeypatch):
    clinic.ash.preferred_name = HOSTILE_NAME
    clinic.group.name = '<img src="http://127.0.0.1:9/g">'
    db.session.commit()
    row = db.session.scalar(sa.select(Attendance).where(Attendance.patient_id == clinic.ash.id,
                                                        Attendance.note == ASH_NOTE))
    row.note = HOSTILE
    db.session.commit()
    spy = FetchSpy(monkeypatch)
    staff = progress_sheet(clinic.ash, START, END, version="staff", summary=HOSTILE, next_steps=HOSTILE)
    text = "\n".join(page_texts(staff))
    assert contains(text, HOSTILE) and text.count("<script>alert(1)</script>") == 3
    assert contains(text, f"(prefers “{HOSTILE_NAME}”)")
    assert contains(text, '<img src="http://127.0.0.1:9/g">')
    assert "root:" not in text
    assert_loads_nothing(spy, staff)
    patient = progress_sheet(clinic.ash, START, END, version="patient", summary=HOSTILE)
    text = "\n".join(page_texts(patient))
    assert contains(text, f"Hello {HOSTILE_NAME},")
    assert "<script>" not in text  # the note and summary are not on the patient version at all
    assert_loads_nothing(spy, patient)
    html = render_html(**progress_html_context(clinic.ash, START, END, version="staff", summary=HOSTILE))
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<img src="file:///etc/passwd">' not in html
    assert read_pdf(patient).metadata.title == f"Your progress, {HOSTILE_NAME}"


def test_a_bad_period_or_version_is_refused_and_nothing_is_audited(clinic):
    for start, end, version in ((END, START, "staff"), (START, END, "family"),
                                (date(2025, 1, 1), date(2026, 3, 1), "staff")):
        with pytest.raises(RuleViolation):
            progress_sheet(clinic.ash, start, end, version=version)
    with pytest.raises(RuleViolation):
        progress_sheet(clinic.ash, START, END, summary="x" * 4001)
    assert exports() == []


# Audit and queries ------------------------------------------------------------------------------
def test_each_sheet_writes_one_export_event_with_the_version_and_period(clinic):
    ash_id = clinic.ash.id
    progress_sheet(clinic.ash, START, END, version="staff")
    progress_sheet(clinic.ash, START, END, version="patient")
    staff_event, patient_event = exports()
    assert (staff_event.entity, staff_event.entity_id) == ("patient", str(ash_id))
    assert staff_event.changes == {"document": "progress_sheet", "version": "staff",
                                   "from": "2026-03-01", "to": "2026-03-31", "patients": [ash_id]}
    assert patient_event.changes["version"] == "patient"


def test_a_sheet_takes_fourteen_statements_however_many_sessions_and_check_ins(clinic):
    def statements_for_sheet() -> int:
        seen = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        assert clinic.ash.record_number  # the patient is loaded already when a sheet is asked for
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            render_html(**progress_html_context(clinic.ash, START, END, version="staff"))
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        return len(seen)

    before = statements_for_sheet()
    for offset in range(20):
        s = make_session(clinic.group, date(2026, 3, 24) + timedelta(days=offset % 7), minutes=45 + offset)
        attend(s, clinic.ash, engagement=3, note=f"note {offset}")
    for offset in range(10):
        checkin(clinic.note_assignment, date(2026, 3, 21) + timedelta(days=offset), "done", 4, 5)
    after = statements_for_sheet()
    # six for participation, three for the kindness dose, one for safety tasks, three for the plan's goals, one for the PHQ-9 / GAD-7 scores
    assert before == after == 14


# The mood chart -------------------------------------------------------------------------------
def svg_of(html: str, chart_id: str) -> str:
    match = re.search(rf'<figure class="mood-chart" id="{chart_id}".*?</figure>', html, flags=re.S)
    assert match, f"no chart {chart_id}"
    return match.group(0)


def test_the_chart_averages_moods_per_day_and_draws_an_accessible_svg(clinic, app):
    days = chart_service.mood_days([clinic.ash.id], START, END)[clinic.ash.id]
    assert [(d.day.day, d.before, d.after, d.checkins) for d in days] == [
        (10, 3.0, 6.0, 1), (13, 5.0, 6.0, 2), (17, 5.0, None, 1), (20, 5.0, 7.0, 1),
    ]
    chart = chart_service.mood_chart(days, START, END, chart_id="c1")
    assert len(chart.before.points) == 4 and len(chart.after.points) == 3
    assert chart.before.points[0].y > chart.after.points[0].y  # lower mood sits lower
    assert [t.label for t in chart.y_ticks] == ["0", "2", "4", "6", "8", "10"]
    assert [t.label for t in chart.x_ticks][:2] == ["1 Mar", "8 Mar"]
    with app.test_request_context():
        from flask import render_template_string

        svg = render_template_string('{% include "admin/chart/_mood.html" %}', chart=chart)
    for expected in ('role="img"', 'aria-labelledby="c1-title c1-desc"',
                     '<title id="c1-title">Mood before and after kindness exercises</title>',
                     "Mood (0–10)", "Day of check-in", "Mood before", "Mood after",
                     'stroke-dasharray="6 4"', "<circle", "<rect"):
        assert expected in svg, expected
    assert "4 days with a mood noted from 1 March 2026 to 31 March 2026." in svg
    for forbidden in ("<script", "href", "url(", "<image", "<foreignObject", "<use"):
        assert forbidden not in svg, forbidden
    assert not re.search(r"\son[a-z]+=", svg)  # no event handlers


def test_without_moods_the_chart_says_so_instead_of_drawing(make, app):
    quiet = make.patient()
    chart = chart_service.patient_mood_chart(quiet.id, START, END)
    assert not chart.has_data
    html = render_html(**progress_html_context(quiet, START, END, version="staff"))
    assert "<svg" not in html and "No moods were noted from 1 March 2026 to 31 March 2026." in html


def test_the_print_form_shows_the_same_chart_svg_as_both_pdfs(clinic, client, make):
    planner = make.staff("planner")
    ash_id = clinic.ash.id
    login(client, planner.email)
    page = client.get(f"/admin/print/progress/?patient={ash_id}&from=2026-03-01&to=2026-03-31")
    assert page.status_code == 200
    admin_svg = svg_of(page.get_data(as_text=True), f"mood-chart-{ash_id}")
    assert "<svg" in admin_svg
    for version in ("staff", "patient"):
        html = render_html(**progress_html_context(clinic.ash, START, END, version=version))
        assert svg_of(html, f"mood-chart-{ash_id}") == admin_svg, version


def test_the_patient_page_shows_the_same_chart_as_the_pdf_of_the_last_four_weeks(make, client):
    planner = make.staff("planner")
    patient = make.patient(preferred_name="Kit")
    exercise = make_exercise()
    assignment = assign(patient, exercise, start=date.today() - timedelta(days=30))
    checkin(assignment, date.today() - timedelta(days=3), "done", 3, 7)
    checkin(assignment, date.today() - timedelta(days=1), "partly", 5, 6)
    login(client, planner.email)
    page = client.get(f"/admin/patients/details/?id={patient.id}").get_data(as_text=True)
    chart_id = f"mood-chart-{patient.id}"
    if f'id="{chart_id}"' not in page:
        pytest.skip("the patient page does not include admin/chart/_mood.html yet (see clinic.services.chart)")
    start, end = chart_service.page_period()
    html = render_html(**progress_html_context(patient, start, end, version="patient"))
    assert svg_of(page, chart_id) == svg_of(html, chart_id)


# From the admin ------------------------------------------------------------------------------------
def post_sheet(client, patient_id, **data):
    form = {"from": "2026-03-01", "to": "2026-03-31", "version": "staff", "summary": "", "next_steps": ""}
    form.update(data)
    return client.post(f"/admin/print/progress/?patient={patient_id}", data=form)


def test_a_counselor_prints_sheets_for_their_caseload_only(clinic, client, make):
    stranger = make.patient(first_name="Stranger", last_name="Elsewhere")
    ash_id, counselor_id = clinic.ash.id, clinic.counselor.id
    login(client, clinic.counselor.email)
    form = client.get(f"/admin/print/progress/?patient={ash_id}")
    assert form.status_code == 200 and "Staff version" in form.get_data(as_text=True)
    response = post_sheet(client, ash_id, summary=SUMMARY, next_steps=NEXT_STEPS)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="progress-{ash_id}-staff.pdf"'
    assert response.headers["Cache-Control"] == "no-store"
    assert contains("\n".join(page_texts(response.data)), "Steady progress in IOP.")
    # The same period again, as the form shows it then: the saved text and its version.
    patient_copy = post_sheet(client, ash_id, version="patient", summary=SUMMARY, next_steps=NEXT_STEPS,
                              note_version="1", note_period="2026-03-01:2026-03-31")
    assert patient_copy.headers["Content-Disposition"] == f'attachment; filename="progress-{ash_id}-patient.pdf"'
    assert client.get(f"/admin/print/progress/?patient={stranger.id}").status_code == 404
    assert post_sheet(client, stranger.id).status_code == 404
    events = exports()
    assert [(e.entity_id, e.changes["version"], e.actor_id) for e in events] == [
        (str(ash_id), "staff", counselor_id), (str(ash_id), "patient", counselor_id),
    ]


def test_a_planner_prints_any_sheet_and_a_bad_period_shows_the_form_again(clinic, client, make):
    planner = make.staff("planner")
    ash_id = clinic.ash.id
    login(client, planner.email)
    assert post_sheet(client, ash_id).mimetype == "application/pdf"
    refused = post_sheet(client, ash_id, **{"from": "2026-03-31", "to": "2026-03-01"})
    assert refused.status_code == 200 and refused.mimetype == "text/html"
    assert "The period cannot end before it starts." in refused.get_data(as_text=True)
    assert post_sheet(client, ash_id, version="family").mimetype == "text/html"
    assert len(exports()) == 1
    assert client.get("/admin/print/progress/?patient=999999").status_code == 404
    assert client.get("/admin/print/progress/?patient=abc").status_code == 400


def test_anonymous_visitors_are_sent_to_the_login_page(clinic, client):
    response = client.get(f"/admin/print/progress/?patient={clinic.ash.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert exports() == []


# From the command line --------------------------------------------------------------------------
def test_the_cli_prints_one_patients_sheet_audited_as_cli(app, clinic, tmp_path):
    output = tmp_path / "ash.pdf"
    ash_id = clinic.ash.id
    result = app.test_cli_runner().invoke(print_cli, [
        "progress", "--patient", str(ash_id), "--from", "2026-03-01", "--to", "2026-03-31",
        "--version", "patient", "--output", str(output),
    ])
    assert result.exit_code == 0, result.output
    assert "Hello Ash," in "\n".join(page_texts(output.read_bytes()))
    assert oct(output.stat().st_mode & 0o777) == "0o600"
    assert "Ash" not in result.output and "Northcote" not in result.output
    (event,) = exports()
    assert (event.actor_email, event.changes["version"]) == ("cli", "patient")


def test_progress_module_exports_its_public_functions():
    assert {"progress_sheet", "check_request", "VERSIONS"} <= set(progress_module.__all__)


def test_a_discharged_or_not_yet_enrolled_patient_sheet_says_what_happened_not_not_enrolled(make):
    counselor = make.staff("counselor", full_name="Wren Counselor")
    intensive, iop = make.track("intensive"), make.track("iop")
    gone = make.patient(first_name="Dana", last_name="Westmoor", record_number="MRN-70010")
    later = make.patient(first_name="Eli", last_name="Southby", record_number="MRN-70011")
    db.session.add_all([
        Enrolment(patient_id=gone.id, track_id=intensive.id, start_date=date(2026, 2, 2), end_date=date(2026, 3, 13),
                  status="discharged", end_reason="Completed the programme", primary_counselor_id=counselor.id),
        Enrolment(patient_id=later.id, track_id=iop.id, start_date=date(2026, 4, 6), end_date=None,
                  status="active", end_reason="", primary_counselor_id=counselor.id),
    ])
    db.session.commit()
    discharged = " ".join(" ".join(page_texts(progress_sheet(gone, START, END, version="staff"))).split())
    assert f"Track {intensive.name} until Friday 13 March 2026 (discharged)" in discharged
    assert "Primary counselor Wren Counselor" in discharged and "Track not enrolled" not in discharged
    coming = " ".join(" ".join(page_texts(progress_sheet(later, START, END, version="staff"))).split())
    assert f"Track not yet enrolled (joins {iop.name} on Monday 6 April 2026)" in coming
