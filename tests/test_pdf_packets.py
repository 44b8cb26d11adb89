"""Session packets: a sign-in sheet, then one plan per roster member, read back from the PDF."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from clinic.extensions import db
from clinic.models import Activity, GroupSession
from clinic.pdf import session_packet
from clinic.pdf.cli import print_cli
from conftest import login
from test_pdf_handouts import assign, exports, make_exercise
from test_pdf_render import HOSTILE_NAME, FetchSpy, assert_loads_nothing, contains, page_texts, read_pdf

SESSION_DAY = date(2026, 1, 14)  # a Wednesday


def make_session(group, facilitator=None, status="planned", activity=None, starts_at=None) -> GroupSession:
    """A 90-minute session of ``group`` on SESSION_DAY at 17:30."""
    session = GroupSession(
        group_id=group.id,
        activity_id=activity.id if activity else None,
        starts_at=starts_at or datetime.combine(SESSION_DAY, datetime.min.time()).replace(hour=17, minute=30),
        duration_minutes=90,
        room="Garden Room",
        facilitator_id=facilitator.id if facilitator else None,
        status=status,
    )
    db.session.add(session)
    db.session.commit()
    return session


@pytest.fixture
def packet_setup(make):
    """A group with three members on the session's date, one who left and one who joins later."""
    facilitator = make.staff("counselor", full_name="Wren Facilitator")
    track = make.track("iop")
    group = make.group(track, facilitator=facilitator, name="IOP Evening A")
    activity = Activity(name="Compliment round", default_minutes=90)
    db.session.add(activity)
    db.session.commit()
    people = {
        "Ash": make.patient(first_name="Ashley", last_name="Northcote", preferred_name="Ash", record_number="MRN-90001"),
        "Bea": make.patient(first_name="Beatrice", last_name="Eastwood", preferred_name="Bea", record_number="MRN-90002"),
        "Cory D.": make.patient(first_name="Cory", last_name="Dunmore", record_number="MRN-90003"),
    }
    left = make.patient(first_name="Lena", last_name="Leftearly", preferred_name="Lena", record_number="MRN-90004")
    later = make.patient(first_name="Otto", last_name="Laterjoin", preferred_name="Otto", record_number="MRN-90005")
    for patient in people.values():
        make.membership(group, patient, start=date(2026, 1, 5))
    make.membership(group, left, start=date(2026, 1, 5), end_date=date(2026, 1, 13))
    make.membership(group, later, start=date(2026, 1, 15))
    note = make_exercise()
    pause = make_exercise("Take a self-compassion pause", direction="self")
    assign(people["Ash"], note, times=2)
    assign(people["Bea"], pause, times=5)
    assign(people["Bea"], note, times=1)
    session = make_session(group, facilitator, activity=activity)
    return session, people, facilitator


LAST_NAMES = ("Northcote", "Eastwood", "Dunmore", "Leftearly", "Laterjoin")
RECORD_NUMBERS = ("MRN-90001", "MRN-90002", "MRN-90003", "MRN-90004", "MRN-90005")


def test_a_packet_is_a_sign_in_sheet_then_one_plan_page_per_member(packet_setup):
    session, people, _ = packet_setup
    texts = page_texts(session_packet(session))
    assert len(texts) == 1 + 3
    sign_in = texts[0]
    for expected in ("Kindness Programme", "Sign-in sheet", "IOP Evening A", "Compliment round",
                     "Wednesday 14 January 2026", "17:30 – 19:00", "Garden Room", "Wren Facilitator",
                     "Name", "Signature", "Page 1 of 4"):
        assert contains(sign_in, expected), expected
    for name in people:
        assert name in sign_in
    assert "Lena" not in sign_in and "Otto" not in sign_in
    # Sign-in order is by display name, and so are the plans that follow.
    assert [n for n in sorted(people, key=str.casefold)] == ["Ash", "Bea", "Cory D."]
    for page, name in zip(texts[1:], ["Ash", "Bea", "Cory D."]):
        assert f"Hello {name}," in page
        assert contains(page, "Week of 12 – 18 January 2026")
    assert contains(texts[1], "Aim: twice this week")
    assert contains(texts[2], "Take a self-compassion pause") and contains(texts[2], "Aim: 5 times this week")
    assert contains(texts[3], "There are no kindness exercises planned for you this week.")


def test_each_plan_page_names_only_its_own_patient_and_no_page_a_last_name_or_record_number(packet_setup):
    session, people, _ = packet_setup
    texts = page_texts(session_packet(session))
    for page, own in zip(texts[1:], ["Ash", "Bea", "Cory D."]):
        for other in people:
            if other != own:
                assert other not in page, (own, other)
    for page in texts:
        for private in LAST_NAMES + RECORD_NUMBERS + ("Ashley", "Beatrice"):
            assert private not in page, private


def test_a_packet_writes_an_export_event_for_the_session_and_one_per_included_patient(packet_setup):
    session, people, _ = packet_setup
    session_id = session.id
    ids = sorted(p.id for p in people.values())
    session_packet(session)
    events = exports()
    (session_event,) = [e for e in events if e.entity == "group_session"]
    assert session_event.entity_id == str(session_id)
    assert session_event.changes["document"] == "session_packet"
    assert sorted(session_event.changes["patients"]) == ids
    patient_events = [e for e in events if e.entity == "patient"]
    assert sorted(int(e.entity_id) for e in patient_events) == ids
    assert all(e.changes["session_id"] == session_id for e in patient_events)


def test_a_forty_member_roster_spans_pages_and_repeats_the_table_header(make):
    track = make.track("iop")
    group = make.group(track, name="Big Group", capacity=40)
    for n in range(40):
        make.membership(group, make.patient(first_name=f"Member{n:02d}", last_name=f"Family{n:02d}",
                                            preferred_name=f"Member{n:02d}"))
    texts = page_texts(session_packet(make_session(group)))
    sign_in_pages = [t for t in texts if "Signature" in t]
    assert len(sign_in_pages) >= 2
    assert len(texts) == len(sign_in_pages) + 40
    for page in sign_in_pages:
        assert "Name" in page and "Signature" in page and "No." in page
    sign_in = "\n".join(sign_in_pages)
    assert all(f"Member{n:02d}" in sign_in for n in range(40))
    plans = texts[len(sign_in_pages):]
    assert [p.count("Hello ") for p in plans] == [1] * 40
    assert f"Page {len(texts)} of {len(texts)}" in texts[-1]
    assert not any("Family" in t for t in texts)


def test_a_hostile_preferred_name_in_a_packet_prints_as_text_and_loads_nothing(make, monkeypatch):
    track = make.track("iop")
    group = make.group(track, name="Safe Group")
    make.membership(group, make.patient(preferred_name=HOSTILE_NAME))
    spy = FetchSpy(monkeypatch)
    data = session_packet(make_session(group))
    texts = page_texts(data)
    assert len(texts) == 2
    assert contains(texts[0], HOSTILE_NAME) and contains(texts[1], "Hello " + HOSTILE_NAME)
    assert_loads_nothing(spy, data)


def test_a_cancelled_session_has_no_packet(make, client):
    from clinic.services.errors import RuleViolation

    track = make.track("iop")
    group = make.group(track)
    session = make_session(group, status="cancelled")
    with pytest.raises(RuleViolation):
        session_packet(session)
    assert exports() == []


def test_a_counselor_prints_the_packet_of_a_session_they_facilitate_only(client, make, packet_setup):
    session, _, facilitator = packet_setup
    other_group = make.group(make.track("iop"), name="Someone else's")
    other_session = make_session(other_group, make.staff("counselor"))
    login(client, facilitator.email)
    response = client.get(f"/admin/print/packet/?session={session.id}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="session-{session.id}-packet.pdf"'
    assert response.headers["Cache-Control"] == "no-store"
    assert len(read_pdf(response.data).pages) == 4
    assert client.get(f"/admin/print/packet/?session={other_session.id}").status_code == 404
    assert {e.actor_id for e in exports()} == {facilitator.id}


def test_a_planner_prints_any_packet_and_a_cancelled_one_is_refused_with_a_message(client, make, packet_setup):
    session, _, _ = packet_setup
    cancelled = make_session(session.group, status="cancelled",
                             starts_at=datetime(2026, 1, 21, 17, 30))
    planner = make.staff("planner")
    login(client, planner.email)
    assert client.get(f"/admin/print/packet/?session={session.id}").status_code == 200
    refused = client.get(f"/admin/print/packet/?session={cancelled.id}")
    assert refused.status_code == 302 and "/admin/sessions/details/" in refused.headers["Location"]


def test_the_cli_prints_a_packet_audited_as_cli(app, packet_setup, tmp_path):
    session, _, _ = packet_setup
    output = tmp_path / "packet.pdf"
    result = app.test_cli_runner().invoke(print_cli, ["packet", "--session", str(session.id), "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert len(read_pdf(output.read_bytes()).pages) == 4
    assert {e.actor_email for e in exports()} == {"cli"}
    missing = app.test_cli_runner().invoke(print_cli, ["packet", "--session", "999999", "--output", str(output)])
    assert missing.exit_code != 0 and "There is no session with id 999999" in missing.output
