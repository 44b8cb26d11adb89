"""Groups and tracks show their people; the patient list shows each patient's programme."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Attendance, AuditEvent, GroupSession
from clinic.services import enrolment, membership
from clinic.services.participation import monday_of, patient_figures
from clinic.services.rosters import group_roster, patient_list_lines, track_roster, week_minutes
from conftest import login

TODAY = date.today()
MONDAY = monday_of(TODAY)


def _session(group, day: date, *, hour: int = 10, minutes: int = 60, status: str = "planned", **kw) -> GroupSession:
    s = GroupSession(group_id=group.id, starts_at=datetime.combine(day, time(hour)), duration_minutes=minutes,
                     status=status, room=kw.pop("room", "Willow Room"), **kw)
    db.session.add(s)
    db.session.commit()
    return s


def _attend(s, patient, status="present", minutes=None):
    minutes = s.duration_minutes if minutes is None else minutes
    db.session.add(Attendance(session_id=s.id, patient_id=patient.id, status=status, minutes_attended=minutes))
    db.session.commit()


class Statements:
    """Counts the SQL statements run inside the block."""

    def __enter__(self):
        self.seen = []
        sa.event.listen(db.engine, "before_cursor_execute", self._count)
        return self

    def _count(self, conn, cursor, statement, *args):
        self.seen.append(statement)

    def __exit__(self, *exc):
        sa.event.remove(db.engine, "before_cursor_execute", self._count)

    def __len__(self):
        return len(self.seen)


@pytest.fixture
def clinic(make):
    """An IOP group run by Wren with two members (one on Wren's caseload), and a counselor with none."""
    iop = make.track("iop")
    wren = make.staff("counselor", full_name="Wren Facilitator")
    other = make.staff("counselor", full_name="Otto Elsewhere")
    planner = make.staff("planner")
    group = make.group(iop, name="IOP Evening A", room="Lantern Room", capacity=6)
    ash = make.patient(first_name="Ada", last_name="Ashgrove")
    bram = make.patient(first_name="Bo", last_name="Bramblecot")
    start = TODAY - timedelta(days=21)
    enrolment.enrol(ash, iop, start, counselor=wren)
    enrolment.enrol(bram, iop, start, counselor=other)
    membership.add_member(group, ash, start)
    membership.add_member(group, bram, TODAY - timedelta(days=7))
    return {"iop": iop, "wren": wren, "other": other, "planner": planner, "group": group, "ash": ash,
            "bram": bram, "start": start}


# The group's page -------------------------------------------------------------------
def test_the_group_page_lists_todays_members_with_links_and_the_coming_sessions(client, clinic):
    c = clinic
    started = _session(c["group"], TODAY, hour=0, facilitator_id=c["wren"].id)
    coming = _session(c["group"], TODAY + timedelta(days=2), hour=18, minutes=90, facilitator_id=c["wren"].id)
    _session(c["group"], TODAY + timedelta(days=3), status="cancelled")
    _session(c["group"], TODAY - timedelta(days=3))  # the past is not listed
    login(client, c["planner"].email)
    page = client.get(f"/admin/groups/details/?id={c['group'].id}").get_data(as_text=True)
    members = page[page.index('id="group-members"'):page.index("</table>", page.index('id="group-members"'))]
    assert f'href="/admin/patients/details/?id={c["ash"].id}">Ada Ashgrove</a>' in members
    assert f'href="/admin/patients/details/?id={c["bram"].id}">Bo Bramblecot</a>' in members
    assert c["start"].isoformat() in members and "Intensive outpatient (IOP)" in members
    assert "Members today (2 of 6)" in page
    assert re.search(r"<b>Name</b>\s*</td>\s*<td>\s*IOP Evening A\s*</td>", page)  # the record itself
    sessions = page[page.index('id="group-sessions"'):]
    assert coming.starts_at.strftime("%Y-%m-%d") in sessions and "18:00 (90 min)" in sessions
    assert "Wren Facilitator" in sessions and "Willow Room" in sessions and "cancelled" in sessions
    assert f"/admin/record/?session={started.id}" in sessions
    assert f"/admin/record/?session={coming.id}" not in sessions  # not started: nothing to record yet
    assert (TODAY - timedelta(days=3)).isoformat() not in sessions


def test_a_member_who_left_is_not_on_the_group_page(client, clinic):
    c = clinic
    membership.end_membership(membership_of(c["bram"], c["group"]), TODAY - timedelta(days=1))
    login(client, c["planner"].email)
    page = client.get(f"/admin/groups/details/?id={c['group'].id}").get_data(as_text=True)
    assert "Ada Ashgrove" in page and "Bramblecot" not in page and "Members today (1 of 6)" in page


def membership_of(patient, group):
    from clinic.models import GroupMembership

    return db.session.scalar(sa.select(GroupMembership).where(GroupMembership.patient_id == patient.id,
                                                              GroupMembership.group_id == group.id))


def test_opening_the_group_page_audits_a_view_of_the_members_named(client, clinic):
    c = clinic
    login(client, c["planner"].email)
    client.get(f"/admin/groups/details/?id={c['group'].id}")
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "view",
                                                           AuditEvent.entity == "care_group")).one()
    assert event.entity_id == str(c["group"].id)
    assert event.changes["patients"] == sorted([c["ash"].id, c["bram"].id])


def test_a_counselor_sees_only_caseload_members_by_name_and_the_others_counted(client, clinic):
    c = clinic
    login(client, c["wren"].email)  # Ashgrove is on Wren's caseload, Bramblecot is not
    page = client.get(f"/admin/groups/details/?id={c['group'].id}").get_data(as_text=True)
    assert "Ada Ashgrove" in page
    assert "Bramblecot" not in page and "Bo " not in page
    assert "1 member(s) not on your caseload are not listed" in page
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "view",
                                                           AuditEvent.entity == "care_group")).one()
    assert event.changes["patients"] == [c["ash"].id]


def test_a_counselor_with_nobody_in_the_group_sees_no_names_and_no_view_is_audited(client, clinic, make):
    c = clinic
    stranger = make.staff("counselor")
    login(client, stranger.email)
    # A hand-typed URL for a group the counselor has nothing to do with.
    page = client.get(f"/admin/groups/details/?id={c['group'].id}").get_data(as_text=True)
    assert "Ashgrove" not in page and "Bramblecot" not in page
    assert "2 member(s) not on your caseload." in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "view")) == 0


def test_the_group_facilitator_sees_every_member(client, clinic):
    c = clinic
    group = c["group"]
    group.facilitator_id = c["other"].id
    db.session.commit()
    login(client, c["other"].email)
    page = client.get(f"/admin/groups/details/?id={group.id}").get_data(as_text=True)
    assert "Ada Ashgrove" in page and "Bo Bramblecot" in page and "not on your caseload" not in page


def test_the_group_list_links_each_name_to_its_page(client, clinic):
    c = clinic
    login(client, c["planner"].email)
    page = client.get("/admin/groups/").get_data(as_text=True)
    assert f'<a href="/admin/groups/details/?id={c["group"].id}">IOP Evening A</a>' in page


def test_a_hostile_group_name_is_printed_as_text_on_its_pages(client, clinic):
    c = clinic
    c["group"].name = "<script>alert(1)</script>"
    db.session.commit()
    login(client, c["planner"].email)
    for url in ("/admin/groups/", f"/admin/groups/details/?id={c['group'].id}",
                f"/admin/tracks/details/?id={c['iop'].id}"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# The track's page -------------------------------------------------------------------
def test_the_track_page_lists_groups_with_counts_and_patients_with_this_weeks_hours(client, clinic, make):
    c = clinic
    make.group(c["iop"], name="IOP Morning B", capacity=2)
    monday = _session(c["group"], MONDAY, hour=9, minutes=180)
    _session(c["group"], MONDAY + timedelta(days=2), hour=9, minutes=180)
    _attend(monday, c["ash"], "present")
    _attend(monday, c["bram"], "late", 120)
    login(client, c["planner"].email)
    page = client.get(f"/admin/tracks/details/?id={c['iop'].id}").get_data(as_text=True)
    groups = page[page.index('id="track-groups"'):page.index('id="track-patients"')]
    assert "IOP Evening A" in groups and "2 of 6" in groups and "IOP Morning B" in groups and "0 of 2" in groups
    assert f"/admin/groups/details/?id={c['group'].id}" in groups
    patients = page[page.index('id="track-patients"'):]
    rows = re.findall(r"<tr>(.*?)</tr>", patients, re.S)
    ash = next(r for r in rows if "Ada Ashgrove" in r)
    bram = next(r for r in rows if "Bo Bramblecot" in r)
    assert "Wren Facilitator" in ash and "IOP Evening A" in ash
    assert "6.0 h" in ash and "3.0 h on 1 day(s)" in ash and "below" in ash  # minimum 9 h on 3 days
    assert "2.0 h on 1 day(s)" in bram
    assert "plan short of 9.0 h" in ash
    assert "Enrolled today (2)" in page and "the weekly minimum is\n        9.0 h on 3 day(s)" in page


def test_the_track_figures_agree_with_the_patient_page(clinic):
    c = clinic
    s1 = _session(c["group"], MONDAY, hour=9, minutes=180)
    s2 = _session(c["group"], MONDAY + timedelta(days=1), hour=9, minutes=240)
    _session(c["group"], MONDAY + timedelta(days=3), hour=9, minutes=60, status="cancelled")
    _session(c["group"], MONDAY - timedelta(days=2), hour=9, minutes=60)  # last week
    _attend(s1, c["ash"])
    _attend(s2, c["ash"], "left_early", 100)
    _attend(s2, c["bram"], "absent", 0)
    figures = week_minutes([c["ash"].id, c["bram"].id], MONDAY)
    for patient in (c["ash"], c["bram"]):
        expected = patient_figures(patient.id, MONDAY + timedelta(days=6))
        assert figures[patient.id] == (expected.minutes_offered_this_week, expected.minutes_this_week,
                                       expected.days_this_week)
    assert figures[c["ash"].id] == (420, 280, 2)


def test_the_track_page_counts_patients_a_counselor_may_not_see(client, clinic):
    c = clinic
    login(client, c["wren"].email)
    page = client.get(f"/admin/tracks/details/?id={c['iop'].id}").get_data(as_text=True)
    assert "Ada Ashgrove" in page and "Bramblecot" not in page
    assert "1 enrolled patient(s) not on your caseload are not listed" in page


def test_the_track_page_takes_the_same_statements_for_3_or_30_patients(make, ctx):
    iop = make.track("iop")
    planner = make.staff("planner")

    def statements(n: int) -> int:
        group = make.group(iop, capacity=40)
        s = _session(group, MONDAY, hour=9, minutes=60)
        for _ in range(n):
            patient = make.patient()
            enrolment.enrol(patient, iop, MONDAY - timedelta(days=7))
            membership.add_member(group, patient, MONDAY - timedelta(days=7))
            _attend(s, patient)
        db.session.expire_all()
        with Statements() as seen:
            roster = track_roster(iop, planner)
        assert roster.enrolled >= n and len(roster.patients) == min(roster.enrolled, 25)
        return len(seen)

    # Track, groups, member counts, the viewer, the counts for the pager, the page of patients,
    # their groups and their week's hours.
    assert statements(3) == statements(30) <= 8


def test_the_group_roster_takes_the_same_statements_for_3_or_30_members(make, ctx):
    iop = make.track("iop")
    counselor = make.staff("counselor")

    def statements(n: int) -> int:
        group = make.group(iop, capacity=40)
        for day in range(3):
            _session(group, TODAY + timedelta(days=day + 1))
        for i in range(n):
            patient = make.patient()
            enrolment.enrol(patient, iop, TODAY - timedelta(days=7), counselor=counselor if i % 2 else None)
            membership.add_member(group, patient, TODAY - timedelta(days=7))
        db.session.expire_all()
        with Statements() as seen:
            roster = group_roster(group, counselor)
        assert roster.member_count == n and roster.hidden_members == n - n // 2
        return len(seen)

    assert statements(3) == statements(30) <= 5  # four, plus reloading the expired group


# The patient list ------------------------------------------------------------------
def test_the_patient_list_shows_track_group_counselor_and_status_with_the_name_a_link(client, clinic, make):
    c = clinic
    gone = make.patient(first_name="Cy", last_name="Cindervale")
    enrolment.enrol(gone, c["iop"], TODAY - timedelta(days=30))
    enrolment.discharge(gone, TODAY - timedelta(days=2), reason="Finished")
    make.patient(first_name="Di", last_name="Dunmere")  # never enrolled
    login(client, c["planner"].email)
    page = client.get("/admin/patients/").get_data(as_text=True)
    for label in ("Track", "Groups today", "Primary counselor", "Enrolment status"):
        assert label in page
    rows = {name: row for row in re.findall(r"<tr>(.*?)</tr>", page, re.S)
            for name in ("Ashgrove", "Cindervale", "Dunmere") if name in row}
    assert f'<a href="/admin/patients/details/?id={c["ash"].id}">Ashgrove</a>' in rows["Ashgrove"]
    assert "Intensive outpatient (IOP)" in rows["Ashgrove"] and "IOP Evening A" in rows["Ashgrove"]
    assert "Wren Facilitator" in rows["Ashgrove"] and "active" in rows["Ashgrove"]
    assert "discharged (Intensive outpatient (IOP))" in rows["Cindervale"]
    assert "not enrolled" in rows["Dunmere"]
    # The patient's own page still shows the plain names.
    details = client.get(f"/admin/patients/details/?id={c['ash'].id}").get_data(as_text=True)
    assert re.search(r"<b>Last name</b>\s*</td>\s*<td>\s*Ashgrove\s*</td>", details)


def test_the_patient_list_sorts_by_track_and_counselor(client, make, ctx):
    inpatient, iop = make.track("inpatient"), make.track("iop")
    planner = make.staff("planner")
    anne = make.staff("counselor", full_name="Anne Alder")
    zed = make.staff("counselor", full_name="Zed Zephyr")
    first = make.patient(last_name="Quill")
    second = make.patient(last_name="Rook")
    enrolment.enrol(first, iop, TODAY, counselor=anne)
    enrolment.enrol(second, inpatient, TODAY, counselor=zed)
    login(client, planner.email)
    columns = ["record_number", "last_name", "first_name", "preferred_name", "track", "groups", "counselor",
               "status", "active"]
    by_track = client.get(f"/admin/patients/?sort={columns.index('track')}").get_data(as_text=True)
    assert by_track.index("Rook") < by_track.index("Quill")  # Inpatient before Intensive outpatient
    by_counselor = client.get(f"/admin/patients/?sort={columns.index('counselor')}&desc=1").get_data(as_text=True)
    assert by_counselor.index("Rook") < by_counselor.index("Quill")


def test_a_counselor_still_sees_only_their_caseload_in_the_patient_list(client, clinic):
    c = clinic
    login(client, c["wren"].email)
    page = client.get("/admin/patients/").get_data(as_text=True)
    assert "Ashgrove" in page and "Bramblecot" not in page


def test_the_patient_list_takes_the_same_statements_for_3_or_30_patients(client, make, ctx):
    make.track("iop")
    planner = make.staff("planner")
    counselor_id = make.staff("counselor").id
    login(client, planner.email)

    def statements(n: int) -> int:
        iop = make.track("iop")
        counselor = db.session.get(type(planner), counselor_id)
        group = make.group(iop, capacity=40)
        for _ in range(n):
            patient = make.patient()
            enrolment.enrol(patient, iop, TODAY - timedelta(days=7), counselor=counselor)
            membership.add_member(group, patient, TODAY - timedelta(days=7))
        db.session.remove()
        with Statements() as seen:
            assert client.get("/admin/patients/?page_size=50").status_code == 200
        return len(seen)

    assert statements(3) == statements(27)


def test_patient_list_lines_in_two_statements(clinic):
    ids = [clinic["ash"].id, clinic["bram"].id]
    db.session.expire_all()
    with Statements() as seen:
        lines = patient_list_lines(ids)
    assert len(seen) == 2
    assert lines[clinic["bram"].id].counselor == "Otto Elsewhere"


def test_the_group_page_lists_who_joins_later_apart_from_todays_members(client, clinic, make):
    c = clinic
    newcomer = make.patient(first_name="Nia", last_name="Newcombe")
    enrolment.enrol(newcomer, c["iop"], TODAY + timedelta(days=4))
    membership.add_member(c["group"], newcomer, TODAY + timedelta(days=4))
    login(client, c["planner"].email)
    page = client.get(f"/admin/groups/details/?id={c['group'].id}").get_data(as_text=True)
    members = page[page.index('id="group-members"'):page.index("</table>", page.index('id="group-members"'))]
    joining = page[page.index('id="group-joining"'):page.index("</table>", page.index('id="group-joining"'))]
    assert "Newcombe" not in members and "Members today (2 of 6)" in page
    assert "Nia Newcombe" in joining and (TODAY + timedelta(days=4)).isoformat() in joining
    assert "Intensive outpatient (IOP)" in joining


@pytest.mark.parametrize("page", ["groups", "tracks"])
def test_the_group_and_track_pages_take_the_same_statements_for_3_or_30_people(client, make, ctx, page):
    make.track("iop")
    planner = make.staff("planner")
    login(client, planner.email)

    def statements(n: int) -> int:
        iop = make.track("iop")
        group = make.group(iop, capacity=40)
        s = _session(group, MONDAY, hour=9)
        for _ in range(n):
            patient = make.patient()
            enrolment.enrol(patient, iop, MONDAY - timedelta(days=7))
            membership.add_member(group, patient, MONDAY - timedelta(days=7))
            _attend(s, patient)
        url = f"/admin/groups/details/?id={group.id}" if page == "groups" else f"/admin/tracks/details/?id={iop.id}"
        db.session.remove()
        with Statements() as seen:
            assert client.get(url).status_code == 200
        return len(seen)

    statements(1)  # the first visit warms what every later one shares
    assert statements(3) == statements(30)


def test_the_week_planner_links_each_track_and_group_to_its_page(client, clinic):
    c = clinic
    login(client, c["planner"].email)
    page = client.get("/admin/planner/").get_data(as_text=True)
    assert f'<a href="/admin/groups/details/?id={c["group"].id}">IOP Evening A</a>' in page
    assert f'<a href="/admin/tracks/details/?id={c["iop"].id}">Intensive outpatient (IOP)</a>' in page


def test_the_track_page_lists_its_patients_a_page_at_a_time_alphabetically_with_a_name_search(client, make, clinic):
    """Every enrolled patient stays reachable: pages of 25 by last name, Previous/Next, and a
    search whose term never reaches the URL; the week's hours are those of the shown patients."""
    c = clinic
    for n in range(30):
        patient = make.patient(first_name=f"Pat{n:02d}", last_name=f"Zulu{n:02d}")
        enrolment.enrol(patient, c["iop"], MONDAY - timedelta(days=7))
    login(client, c["planner"].email)
    url = f"/admin/tracks/details/?id={c['iop'].id}"

    first = client.get(url).get_data(as_text=True)

    assert "Enrolled today (32)" in first
    assert "1–25 of 32 patients" in first and "Page 1 of 2" in first
    names = re.findall(r'/admin/patients/details/\?id=\d+">([^<]+)</a>', first)
    assert names[:2] == ["Ada Ashgrove", "Bo Bramblecot"] and len(names) == 25
    assert f'href="/admin/tracks/details/?page=2&amp;id={c["iop"].id}#patients-heading"' in first \
        or f'href="/admin/tracks/details/?id={c["iop"].id}&amp;page=2#patients-heading"' in first
    second = client.get(url + "&page=2").get_data(as_text=True)
    assert "26–32 of 32 patients" in second
    later = re.findall(r'/admin/patients/details/\?id=\d+">([^<]+)</a>', second)
    assert later == [f"Pat{n:02d} Zulu{n:02d}" for n in range(23, 30)]

    found = client.post("/admin/tracks/details/search/", data={"id": c["iop"].id, "search": "bramble"})
    assert found.status_code == 302
    assert "bramble" not in found.headers["Location"].lower()
    page = client.get(found.headers["Location"]).get_data(as_text=True)
    assert re.findall(r'/admin/patients/details/\?id=\d+">([^<]+)</a>', page) == ["Bo Bramblecot"]
    assert "1 patient matching the search" in page and "Enrolled today (32)" in page
    nothing = client.post("/admin/tracks/details/search/", data={"id": c["iop"].id, "search": "100%_x"})
    assert 'id="no-match"' in client.get(nothing.headers["Location"]).get_data(as_text=True)
    assert client.post("/admin/tracks/details/search/", data={"id": "999999", "search": "x"}).status_code == 404


def test_a_counselors_search_on_the_track_page_finds_only_their_caseload(client, clinic):
    c = clinic
    login(client, c["wren"].email)

    hidden = client.post("/admin/tracks/details/search/", data={"id": c["iop"].id, "search": "Bramble"})
    page = client.get(hidden.headers["Location"]).get_data(as_text=True)
    assert "Bramblecot" not in page and 'id="no-match"' in page
    assert "1 enrolled patient(s) not on your caseload" in page
    mine = client.post("/admin/tracks/details/search/", data={"id": c["iop"].id, "search": "ashgr"})
    page = client.get(mine.headers["Location"]).get_data(as_text=True)
    assert re.findall(r'/admin/patients/details/\?id=\d+">([^<]+)</a>', page) == ["Ada Ashgrove"]
