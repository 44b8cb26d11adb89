"""Pages that name groups stay the same size however many groups the clinic has.

The track page pages its groups (25 a page, its own ``gpage``, independent of the patients'
pager); the assign form and the calendar feeds page offer a group search (a track and a
name) of at most ``group_choice.CHOICES`` groups, with a JSON type-ahead, and refuse a group
of another track than the one the choice was scoped to.
"""

from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Assignment, CalendarFeed, KindnessExercise
from clinic.services import group_choice
from conftest import login

TODAY = date.today()


def _clinic(make, groups: int = 30):
    iop, intensive = make.track("iop"), make.track("intensive")
    planner = make.staff("planner")
    made = [make.group(iop, name=f"IOP Group {n:02d}", capacity=12) for n in range(1, groups + 1)]
    other = make.group(intensive, name="Intensive Group Zeta")
    exercise = KindnessExercise(title="Hold a door", direction="others", energy="low", tracks=[iop, intensive])
    db.session.add(exercise)
    db.session.commit()
    member = make.patient(first_name="Ema", last_name="Member")
    make.enrolment(member, iop, start=date(2026, 1, 5))
    make.membership(made[-1], member, start=date(2026, 1, 5))
    return {"iop": iop.id, "intensive": intensive.id, "planner": planner.email, "last": made[-1].id,
            "first": made[0].id, "other": other.id, "exercise": exercise.id, "member": member.id,
            "counselor": make.staff("counselor").email}


def _options(body: str, select_id: str) -> list[str]:
    select = body[body.index(f'id="{select_id}"'):]
    select = select[:select.index("</select>")]
    return re.findall(r'<option[^>]*value="(\d+)"', select)


# The track page ----------------------------------------------------------------------
def test_the_track_page_pages_its_groups_and_a_group_on_page_2_is_reachable(client, make):
    ids = _clinic(make)
    login(client, ids["planner"])
    first = client.get(f"/admin/tracks/details/?id={ids['iop']}").get_data(as_text=True)
    groups = first[first.index('id="track-groups"'):first.index("</table>", first.index('id="track-groups"'))]
    assert groups.count("<tr>") == 26  # the header and 25 groups
    assert "IOP Group 01" in groups and "IOP Group 26" not in groups
    assert "1–25 of 30 groups" in first and "Groups (30)" in first
    assert "Intensive Group Zeta" not in first
    next_link = re.search(r'<a class="page-link page-next" rel="next" href="([^"]+)"', first[first.index('id="groups-pager"'):])
    assert next_link and "gpage=2" in next_link.group(1)

    second = client.get(next_link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    groups = second[second.index('id="track-groups"'):second.index("</table>", second.index('id="track-groups"'))]
    assert "IOP Group 30" in groups and "IOP Group 01" not in groups
    assert "1 of 12" in groups  # the member of the last group, counted in SQL
    assert "26–30 of 30 groups" in second
    # The patients' pager and search keep the groups' page; the groups' pager keeps the patients'.
    assert 'name="gpage" value="2"' in second
    past = client.get(f"/admin/tracks/details/?id={ids['iop']}&gpage=99&page=3").get_data(as_text=True)
    assert "26–30 of 30 groups" in past  # past the end: the last page
    previous = re.search(r'<a class="page-link page-previous" rel="prev" href="([^"]+)"',
                         past[past.index('id="groups-pager"'):]).group(1)
    assert "gpage=1" in previous and "page=1" in previous.replace("gpage=1", "")


def test_the_track_page_takes_the_same_statements_for_3_or_30_groups(client, make, app):
    small, large = make.track("inpatient"), make.track("iop")
    for track, n in ((small, 3), (large, 30)):
        for i in range(n):
            make.group(track, name=f"{track.code} g{i:02d}")
    ids = (small.id, large.id)
    login(client, make.staff("admin").email)
    counts = []
    for track_id in ids:
        client.get(f"/admin/tracks/details/?id={track_id}")
        seen = []
        listener = lambda *a: seen.append(1)  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get(f"/admin/tracks/details/?id={track_id}&gpage=2").status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        counts.append(len(seen))
    assert counts[0] == counts[1]


# The chooser -------------------------------------------------------------------------
def test_the_chooser_returns_at_most_n_groups_in_one_statement(client, make):
    ids = _clinic(make, groups=group_choice.CHOICES + 5)
    found = group_choice.find_groups("", ids["iop"])
    assert len(found.groups) == group_choice.CHOICES and found.total == group_choice.CHOICES + 5
    assert found.more == 5 and "type more of the name" in found.text()
    assert [g.name for g in group_choice.find_groups("30 group", None).groups] == ["IOP Group 30"]
    assert group_choice.find_groups("100%", None).groups == []  # % is a plain character
    assert [g.name for g in group_choice.find_groups("zeta", ids["iop"]).groups] == []

    login(client, ids["planner"])
    answer = client.get(f"/admin/assign/groups/?q=&track={ids['iop']}").get_json()
    assert len(answer["groups"]) == group_choice.CHOICES and answer["total"] == group_choice.CHOICES + 5
    assert all(g["track"] == "Intensive outpatient (IOP)" for g in answer["groups"])
    answer = client.get("/admin/assign/groups/?q=zeta").get_json()
    assert [g["id"] for g in answer["groups"]] == [ids["other"]]
    assert client.get(f"/admin/assign/groups/?q=zeta&track={ids['iop']}").get_json()["groups"] == []
    for url in ("/admin/calendar/groups/?q=", "/admin/assign/groups/?q="):
        assert len(client.get(url).get_json()["groups"]) == group_choice.CHOICES

    counselor = client.application.test_client()
    login(counselor, ids["counselor"])
    assert counselor.get("/admin/assign/groups/?q=").status_code == 403
    assert counselor.get("/admin/calendar/groups/?q=").status_code == 403


def test_the_assign_form_offers_the_tracks_first_groups_never_every_group(client, make):
    ids = _clinic(make)
    login(client, ids["planner"])
    body = client.get(f"/admin/assign/?track={ids['iop']}").get_data(as_text=True)
    offered = _options(body, "group")
    assert len(offered) == group_choice.CHOICES and str(ids["other"]) not in offered
    assert "The first 25 of 30 groups by name" in body
    assert f'id="group-scope" name="group_track" type="hidden" value="{ids["iop"]}"' in body

    # From a group's page: that group is chosen, with its track's first groups.
    body = client.get(f"/admin/assign/?group={ids['last']}").get_data(as_text=True)
    assert f'<option selected value="{ids["last"]}">' in body and len(_options(body, "group")) == 26

    # Without JavaScript, "Find groups" is a GET of the page with the search.
    body = client.get(f"/admin/assign/?target=group&group_track=&group_q=zeta&exercise={ids['exercise']}")
    body = body.get_data(as_text=True)
    assert _options(body, "group") == [str(ids["other"])] and 'id="target-group" value="group" checked' in body
    assert f'<option selected value="{ids["exercise"]}">' in body


def test_a_group_of_another_track_is_refused_on_post_with_a_clear_message(client, make):
    ids = _clinic(make)
    login(client, ids["planner"])
    form = {"exercise": ids["exercise"], "target": "group", "start": TODAY.isoformat()}
    refused = client.post("/admin/assign/", data={**form, "group": ids["other"], "group_track": ids["iop"]})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 200
    assert "Intensive Group Zeta is not a group of Intensive outpatient (IOP)" in body
    assert str(ids["other"]) not in _options(body, "group")  # shown again: still not offered
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Assignment)) == 0

    assigned = client.post("/admin/assign/", data={**form, "group": ids["last"], "group_track": ids["iop"]})
    assert "Assigned to 1 patient;" in assigned.get_data(as_text=True)
    # Scoped to every track, any active group is accepted.
    everyone = client.post("/admin/assign/", data={**form, "group": ids["other"], "group_track": ""})
    assert "everyone on the roster of Intensive Group Zeta" in everyone.get_data(as_text=True)


def test_the_calendar_page_offers_a_group_search_not_every_group(client, make):
    ids = _clinic(make)
    login(client, ids["planner"])
    body = client.get("/admin/calendar/").get_data(as_text=True)
    assert len(_options(body, "calendar-group")) == group_choice.CHOICES
    body = client.get("/admin/calendar/?group_track=&group_q=zeta").get_data(as_text=True)
    assert _options(body, "calendar-group") == [str(ids["other"])]

    refused = client.post("/admin/calendar/new/", data={"kind": "group", "group_id": ids["other"],
                                                        "group_track": ids["iop"]})
    assert refused.status_code == 400
    assert "Intensive Group Zeta is not a group of Intensive outpatient (IOP)" in refused.get_data(as_text=True)
    made = client.post("/admin/calendar/new/", data={"kind": "group", "group_id": ids["last"],
                                                     "group_track": ids["iop"]})
    assert made.status_code == 200 and 'id="calendar-made"' in made.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarFeed)) == 1
