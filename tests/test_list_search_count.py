"""A search over several tables: what its count says, which rows each page shows, and whose.

The check-in list searches a check-in's patient (name, record number) and its exercise
(title). Read part by part (``paging.search_parts``), a row found through both is counted
and listed once, the count stops at the cap and says "more than", and the pages follow the
list's order (newest first) without a row twice. The cap and
the page size are made tiny here so a few rows make a long list.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from clinic.admin import paging
from clinic.admin.views_records import CheckinView
from clinic.extensions import db
from clinic.models import Assignment, ExerciseCheckin, KindnessExercise
from conftest import login

TODAY = date.today()
COUNT_LABEL = re.compile(r'class="nav-link active"[^>]*>All [\w -]+ \(([^)]*)\)<')
ROW = re.compile(r"/admin/checkins/details/\?id=(\d+)")


def _count_label(page: str) -> str:
    found = COUNT_LABEL.search(page)
    return found.group(1) if found else ""


def _rows(page: str) -> list[int]:
    return list(dict.fromkeys(int(found) for found in ROW.findall(page)))


def _dates(walkers, rows) -> list:
    return [walkers.found[row][1] for row in rows]


class Walkers:
    """Check-ins found by "walk": through the patient (Walker), the exercise (a walk) or both."""

    def __init__(self, make):
        self.counselor = make.staff("counselor")
        self.other = make.staff("counselor")
        track = make.track("iop")
        self.walk = KindnessExercise(title="Walk with a friend", direction="others", energy="low", tracks=[track])
        self.thanks = KindnessExercise(title="Thank someone", direction="others", energy="low", tracks=[track])
        db.session.add_all([self.walk, self.thanks])
        db.session.commit()
        # On the counselor's caseload: a Walker thanking people (found by name) and a Quiet
        # walking (found by exercise); another counselor's Walker walks (found both ways).
        self.mine_walker = self._patient(make, track, self.counselor, "Walker", "WK-1001")
        self.mine_quiet = self._patient(make, track, self.counselor, "Quiet", "QT-2002")
        self.their_walker = self._patient(make, track, self.other, "Walkley", "WK-3003")
        self.nobody = self._patient(make, track, self.other, "Still", "ST-4004")
        self.found = {}
        self._checkins(self.mine_walker, self.thanks, days=range(1, 5), found=True)
        self._checkins(self.mine_quiet, self.walk, days=range(2, 6), found=True)
        self._checkins(self.mine_quiet, self.thanks, days=range(1, 3), found=False)
        self._checkins(self.their_walker, self.walk, days=range(1, 4), found=True)
        self._checkins(self.nobody, self.thanks, days=range(1, 4), found=False)

    @staticmethod
    def _patient(make, track, counselor, last_name, record_number):
        patient = make.patient(last_name=last_name, record_number=record_number)
        make.enrolment(patient, track, counselor, start=TODAY - timedelta(days=60))
        return patient

    def _checkins(self, patient, exercise, days, found):
        assignment = Assignment(exercise_id=exercise.id, patient_id=patient.id,
                                start_date=TODAY - timedelta(days=30), status="active")
        db.session.add(assignment)
        db.session.commit()
        for day in days:
            # Two patients' check-ins fall on the same days: ties of the sort, broken by id.
            checkin = ExerciseCheckin(assignment_id=assignment.id, on_date=TODAY - timedelta(days=day),
                                      outcome="done")
            db.session.add(checkin)
            db.session.commit()
            if found:
                self.found[checkin.id] = (patient.id, checkin.on_date)

    def in_list_order(self, patient_ids=None) -> list[int]:
        """The found check-ins, newest first and ties by id, as the list orders them."""
        rows = [(on, cid) for cid, (pid, on) in self.found.items() if patient_ids is None or pid in patient_ids]
        return [cid for on, cid in sorted(rows, reverse=True)]


@pytest.fixture
def walkers(make):
    return Walkers(make)


def _search(client, term, **args):
    first = client.post("/admin/checkins/search/", data={"search": term, **args})
    assert first.status_code == 302
    return first.headers["Location"]


def test_a_search_through_two_tables_counts_each_row_once(client, make, walkers):
    planner = make.staff("planner")
    login(client, planner.email)
    page = client.get(_search(client, "walk")).get_data(as_text=True)
    # 4 by name + 4 by exercise + 3 by both: 11 rows, the walking Walkley's counted once.
    assert _count_label(page) == str(len(walkers.found)) == "11"
    assert "list-cap-note" not in page
    assert sorted(_rows(page)) == sorted(walkers.found)
    assert _dates(walkers, _rows(page)) == _dates(walkers, walkers.in_list_order())


def test_a_search_past_the_cap_says_more_than_and_its_pages_follow_the_list_order(
        client, make, walkers, monkeypatch):
    planner = make.staff("planner")
    login(client, planner.email)
    monkeypatch.setattr(paging, "COUNT_CAP", 5)
    monkeypatch.setattr(CheckinView, "page_size", 3)
    url = _search(client, "walk")
    first = client.get(url).get_data(as_text=True)
    assert _count_label(first) == "more than 5"
    assert "More than 5 match: narrow the list with a filter or a search" in first
    # Page by page (3 rows each, as far as the cap lets the pager go): the list's order
    # (newest first; rows of one day in either order), no row twice.
    shown = []
    for number in range(2):
        page = client.get(f"{url}&page={number}").get_data(as_text=True)
        shown += _rows(page)
    assert len(set(shown)) == len(shown) == 6
    assert set(shown) <= set(walkers.found)
    assert _dates(walkers, shown) == _dates(walkers, walkers.in_list_order()[:6])
    # Past the cap: no page is read, the note says how to narrow.
    beyond = client.get(f"{url}&page=2").get_data(as_text=True)
    assert "There are no pages beyond the first 5 rows" in beyond
    assert _rows(beyond) == []
    # A second word narrows below the cap: counted exactly again (one word the patient's, one
    # the exercise's).
    narrowed = client.get(_search(client, "walkley friend")).get_data(as_text=True)
    assert _count_label(narrowed) == "3"
    assert "list-cap-note" not in narrowed
    assert _rows(narrowed) == walkers.in_list_order({walkers.their_walker.id})  # one a day


def test_a_record_number_finds_one_patients_rows_though_no_exercise_matches(client, make, walkers):
    admin = make.staff("admin")
    login(client, admin.email)
    page = client.get(_search(client, "WK-1001")).get_data(as_text=True)
    assert _count_label(page) == "4"
    assert sorted(_rows(page)) == sorted(walkers.in_list_order({walkers.mine_walker.id}))
    assert _dates(walkers, _rows(page)) == _dates(walkers, walkers.in_list_order({walkers.mine_walker.id}))
    nothing = client.get(_search(client, "no such thing")).get_data(as_text=True)
    assert _count_label(nothing) == "" and _rows(nothing) == []


def test_a_counselors_capped_search_stays_on_their_caseload(client, walkers, monkeypatch):
    login(client, walkers.counselor.email)
    mine = walkers.in_list_order({walkers.mine_walker.id, walkers.mine_quiet.id})
    page = client.get(_search(client, "walk")).get_data(as_text=True)
    assert _count_label(page) == "8"
    assert sorted(_rows(page)) == sorted(mine)
    assert [walkers.found[row][1] for row in _rows(page)] == [walkers.found[row][1] for row in mine]  # newest first
    assert "Walkley" not in page and "WK-3003" not in page
    monkeypatch.setattr(paging, "COUNT_CAP", 5)
    monkeypatch.setattr(CheckinView, "page_size", 3)
    capped = client.get(_search(client, "walk")).get_data(as_text=True)
    assert _count_label(capped) == "more than 5"
    assert [walkers.found[row][1] for row in _rows(capped)] == [walkers.found[row][1] for row in mine[:3]]
    # Another counselor's Walkley is not found by record number either.
    theirs = client.get(_search(client, "WK-3003")).get_data(as_text=True)
    assert _count_label(theirs) == "" and _rows(theirs) == []
