"""Long lists count up to a cap and never page past it; searches reach rows through related tables.

The cap is made tiny here (``paging.COUNT_CAP``) so three rows are "a long list".
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from clinic.admin import paging
from clinic.extensions import db
from conftest import login
from test_list_scoping import Clinic


@pytest.fixture
def clinic(make):
    return Clinic(make)


def _count_label(page: str) -> str:
    found = re.search(r'class="nav-link active"[^>]*>All [\w -]+ \(([^)]*)\)<', page)
    return found.group(1) if found else ""


def _statements(app, client, url):
    count = [0]

    def tick(*_args, **_kw):
        count[0] += 1

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", tick)
    try:
        response = client.get(url)
    finally:
        with app.app_context():
            sa.event.remove(db.engine, "before_cursor_execute", tick)
    return response, count[0]


def test_a_list_longer_than_the_cap_says_more_than_and_how_to_narrow_it(client, make, clinic, monkeypatch):
    planner = make.staff("planner")
    login(client, planner.email)
    below = client.get("/admin/attendance/").get_data(as_text=True)
    assert _count_label(below) == "3"
    assert "list-cap-note" not in below

    monkeypatch.setattr(paging, "COUNT_CAP", 2)
    for endpoint in ("attendance", "checkins", "assignments", "patients", "memberships", "enrolments"):
        page = client.get(f"/admin/{endpoint}/").get_data(as_text=True)
        assert _count_label(page) == "more than 2", endpoint
        assert "narrow the list with a filter or a search" in page, endpoint
    # A search that narrows the list below the cap is counted exactly again, without the note.
    narrowed = client.get("/admin/attendance/?search=Minename", follow_redirects=True).get_data(as_text=True)
    assert _count_label(narrowed) == "1"
    assert "list-cap-note" not in narrowed


def test_a_page_past_the_cap_is_not_read_and_says_why(app, client, make, clinic, monkeypatch):
    planner = make.staff("planner")
    login(client, planner.email)
    monkeypatch.setattr(paging, "COUNT_CAP", 2)
    first, first_statements = _statements(app, client, "/admin/attendance/?page_size=20")
    beyond, beyond_statements = _statements(app, client, "/admin/attendance/?page=5")
    assert beyond.status_code == 200
    text = beyond.get_data(as_text=True)
    assert "There are no pages beyond the first 2 rows" in text
    assert "Minename" not in text and "Theirname" not in text
    assert beyond_statements == first_statements - 1  # the rows' query is not sent at all
    assert "Minename" in first.get_data(as_text=True)
    # The pager of a capped list stops at the cap: no link to a page past it.
    assert "page=1" not in first.get_data(as_text=True)


@pytest.mark.parametrize(("endpoint", "term", "found", "not_found"), [
    ("checkins", "Minename", ["mine"], ["theirs", "former"]),  # the assignment's patient
    ("checkins", "Thank", ["mine", "theirs", "former"], []),  # the assignment's exercise
    ("attendance", "Theirname", ["theirs"], ["mine", "former"]),
    ("assignments", "Formername", ["former"], ["mine", "theirs"]),
    ("memberships", "Minename", ["mine"], ["theirs", "former"]),
    ("patients", "Theirname", ["theirs"], ["mine", "former"]),  # matching patients first, then sorted
    ("patients", "name", ["mine", "theirs", "former"], []),
])
def test_searches_find_rows_through_their_related_records(client, make, clinic, endpoint, term, found, not_found):
    planner = make.staff("planner")
    login(client, planner.email)
    page = client.post(f"/admin/{endpoint}/search/", data={"search": term}, follow_redirects=True)
    text = page.get_data(as_text=True)
    assert _count_label(text) == str(len(found)), text
    ids = {who: clinic.rows[who][endpoint] for who in ("mine", "theirs", "former")}
    for who in found:
        assert f'value="{ids[who]}"' in text or f"id={ids[who]}" in text, who
    for who in not_found:
        assert f"id={ids[who]}&" not in text and f'value="{ids[who]}"' not in text, who


def test_every_word_of_a_search_must_match_and_the_caseload_still_applies(client, clinic):
    login(client, clinic.counselor.email)
    # Both words match the counselor's own patient (name, exercise): found.
    mine = client.post("/admin/checkins/search/", data={"search": "Minename Thank"}, follow_redirects=True)
    assert _count_label(mine.get_data(as_text=True)) == "1"
    # Another counselor's patient is not found by name, nor the former patient.
    for name in ("Theirname", "Formername"):
        other = client.post("/admin/checkins/search/", data={"search": name}, follow_redirects=True)
        assert _count_label(other.get_data(as_text=True)) == "", name
        assert "Assignment #" not in other.get_data(as_text=True), name


def test_session_search_finds_a_group_by_name_or_a_room(client, make, clinic):
    planner = make.staff("planner")
    login(client, planner.email)
    text = client.post("/admin/sessions/search/", data={"search": "Gentle"},
                       follow_redirects=True).get_data(as_text=True)
    assert _count_label(text) == "1"
    assert "Gentle Group" in text and "Harbour Group" not in text


def test_the_audit_trail_is_not_counted_and_pages_previous_and_next(app, client, make, monkeypatch):
    from clinic.models import AuditEvent

    admin = make.staff("admin")
    db.session.add_all([AuditEvent(actor_email="someone@clinic.example", action="view", entity="patient",
                                   entity_id=str(n)) for n in range(60)])
    db.session.commit()
    login(client, admin.email)
    first, first_statements = _statements(app, client, "/admin/audit/")
    text = first.get_data(as_text=True)
    assert _count_label(text) == ""  # no count(*) over the trail
    assert "count(" not in text
    assert 'rel="next"' in text and "page=1" in text and 'rel="prev"' not in text
    second = client.get("/admin/audit/?page=1").get_data(as_text=True)
    assert 'rel="prev"' in second and 'rel="next"' not in second  # 60 and more events: 50 + the rest
    # The trail pages no deeper than the cap; a page past it says how to narrow instead.
    monkeypatch.setattr(paging, "COUNT_CAP", 50)
    capped = client.get("/admin/audit/").get_data(as_text=True)
    assert 'rel="next"' not in capped
    beyond, beyond_statements = _statements(app, client, "/admin/audit/?page=1")
    assert "There are no pages beyond the first 50 rows" in beyond.get_data(as_text=True)
    assert beyond_statements < first_statements
