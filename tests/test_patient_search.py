"""The patient list's search: record number, last, first or preferred name, sorted by last name.

A one-word search reads each column alone and takes the page and the capped count from their
union (``PatientView._search_parts``); what a user sees must be what a plain "any of the four
columns contains the word" finds, page after page, with ties of a common surname in a stable
order (by id), on both databases.
"""

from __future__ import annotations

import re

import pytest

from clinic.admin import paging
from conftest import login


def _count_label(page: str) -> str:
    found = re.search(r'class="nav-link active"[^>]*>All [\w -]+ \(([^)]*)\)<', page)
    return found.group(1) if found else ""


def _found(client, term: str, page: int = 0) -> tuple[list[int], str]:
    """The ids of the patients a search shows (in order) and its count label."""
    url = f"/admin/patients/?search={term}" + (f"&page={page}" if page else "")
    response = client.get(url)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    ids = []
    for pid in re.findall(r"details/\?id=(\d+)", text):
        if int(pid) not in ids:
            ids.append(int(pid))
    return ids, _count_label(text)


@pytest.fixture
def people(make, client):
    planner = make.staff("planner")
    rows = {
        "record": make.patient(record_number="ZX-4471", last_name="Abbott", first_name="Ann"),
        "last": make.patient(last_name="Quillfeather", first_name="Bea"),
        "first": make.patient(last_name="Carter", first_name="Quillon"),
        "preferred": make.patient(last_name="Dunn", first_name="Cal", preferred_name="Quill"),
        "wild": make.patient(last_name="Per_cent%Smith", first_name="Dee"),
        "other": make.patient(last_name="Evans", first_name="Eli"),
    }
    login(client, planner.email)
    return rows


def test_each_column_finds_its_patient_and_the_list_stays_sorted_by_last_name(client, people):
    ids, count = _found(client, "quill")
    assert ids == [people["first"].id, people["preferred"].id, people["last"].id]  # Carter, Dunn, Quillfeather
    assert count == "3"
    assert _found(client, "ZX-44") == ([people["record"].id], "1")
    assert _found(client, "Evans") == ([people["other"].id], "1")


def test_a_term_that_matches_nothing_shows_no_patient(client, people):
    assert _found(client, "Nobodyhere") == ([], "")


def test_like_wildcards_in_the_term_behave_as_they_always_have(client, people):
    # The search has always passed % and _ to LIKE: "_" is any one character, "%" any run.
    assert _found(client, "Per_cent") == ([people["wild"].id], "1")
    assert _found(client, "r%25Smith")[0] == [people["wild"].id]
    assert _found(client, "Q_ill")[0] == [people["first"].id, people["preferred"].id, people["last"].id]
    assert _found(client, "%25")[0] == sorted(
        (p.id for p in people.values()), key=lambda pid: [p for p in people.values() if p.id == pid][0].last_name)


def test_a_common_surname_pages_in_a_stable_order_without_gaps_or_repeats(client, make, people, monkeypatch):
    many = [make.patient(last_name="Moreau", first_name=f"M{k:02d}").id for k in range(45)]
    first, count = _found(client, "Moreau")
    second, _ = _found(client, "Moreau", page=1)
    third, _ = _found(client, "Moreau", page=2)
    assert count == "45"
    assert first + second + third == sorted(many)  # ties of the last name by id, page after page
    monkeypatch.setattr(paging, "COUNT_CAP", 30)
    capped, label = _found(client, "Moreau")
    assert label == "more than 30" and capped == sorted(many)[:20]


def test_two_words_must_both_match(client, people):
    assert _found(client, "Quill Dunn") == ([people["preferred"].id], "1")
    assert _found(client, "Quill Evans") == ([], "")
