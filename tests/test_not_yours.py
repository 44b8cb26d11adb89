"""For a counselor, "not yours" answers exactly like "not there", and no page counts other caseloads."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from conftest import login
from test_list_scoping import Clinic

MISSING = 2_000_000_000  # a valid id no table will reach in a test

MODEL_VIEWS = ("patients", "enrolments", "memberships", "assignments", "attendance", "checkins")
PERIOD = {"from": "2026-01-01", "to": "2026-01-31", "version": "staff"}


@pytest.fixture
def clinic(make):
    return Clinic(make)


def _answer(response) -> tuple:
    """What a visitor notices: status, the pages it went through, and the page text without ids."""
    body = response.get_data(as_text=True)
    # CSRF tokens are signed with the second they were made: equal pages may differ there.
    body = re.sub(r'"[\w-]{10,}\.[\w-]{4,}\.[\w-]{10,}"', '"signed-token"', body)
    body = re.sub(r"\d+", "#", body)
    return response.status_code, [r.headers.get("Location") for r in response.history], body


def _doors(clinic) -> list[tuple[str, str, str]]:
    """(method, url template, what the id is): {} takes another counselor's id or a missing one."""
    theirs = clinic.rows["theirs"]
    doors = []
    for endpoint in MODEL_VIEWS:
        doors.append(("get", f"/admin/{endpoint}/details/?id={{}}", theirs[endpoint]))
        doors.append(("get", f"/admin/{endpoint}/edit/?id={{}}", theirs[endpoint]))
    doors += [
        ("get", "/admin/sessions/details/?id={}", clinic.their_session.id),
        ("get", "/admin/record/?session={}", clinic.their_session.id),
        ("post", "/admin/record/?session={}", clinic.their_session.id),
        ("post", "/admin/record/sign/?session={}", clinic.their_session.id),
        ("get", "/admin/record/correct/?session={}&patient=" + str(theirs["patients"]), clinic.their_session.id),
        ("get", "/admin/print/packet/?session={}", clinic.their_session.id),
        ("get", "/admin/print/plan/?patient={}", theirs["patients"]),
        ("get", "/admin/print/progress/?patient={}", theirs["patients"]),
        ("post", "/admin/print/progress/?patient={}", theirs["patients"]),
        ("get", "/admin/day/checkin/?assignment={}", theirs["assignments"]),
        ("post", "/admin/day/checkin/?assignment={}", theirs["assignments"]),
        ("get", "/admin/print/progress/batch/?patients={}", theirs["patients"]),
        ("post", "/admin/print/progress/batch/?patients={}", theirs["patients"]),
    ]
    return doors


def test_another_counselors_record_answers_exactly_like_a_missing_one(client, clinic):
    login(client, clinic.counselor.email)
    differ = []
    for method, template, their_id in _doors(clinic):
        # Redirects are followed, so a flash is read on the page it was meant for.
        if method == "get":
            def call(url):
                return client.get(url, follow_redirects=True)
        else:
            def call(url):
                return client.post(url, data=PERIOD, follow_redirects=True)
        theirs = call(template.format(their_id))
        missing = call(template.format(MISSING))
        if _answer(theirs) != _answer(missing):
            differ.append((method, template, theirs.status_code, missing.status_code))
        assert theirs.status_code != 403, template
        assert "Theirname" not in theirs.get_data(as_text=True), template
    assert differ == []


def test_model_pages_answer_both_with_the_same_kind_page(client, clinic):
    login(client, clinic.counselor.email)
    theirs = client.get(f"/admin/patients/details/?id={clinic.rows['theirs']['patients']}", follow_redirects=True)
    missing = client.get(f"/admin/patients/details/?id={MISSING}", follow_redirects=True)
    assert _answer(theirs) == _answer(missing)
    assert theirs.status_code == 404
    page = theirs.get_data(as_text=True)
    assert "This patient is not on your caseload. Ask the programme manager if you need access." in " ".join(page.split())
    assert 'href="/admin/patients/"' in page  # a way back
    assert "Record does not exist" not in page and "Theirname" not in page


def test_the_batch_form_counts_only_the_counselors_own_patients(client, clinic, make):
    # Harbour Group (another counselor's) has members; the form must not say how many.
    for _ in range(3):
        patient = make.patient(last_name="Extraname")
        make.enrolment(patient, clinic.track, clinic.other, start=date.today() - timedelta(days=40))
        make.membership(clinic.their_group, patient, start=date.today() - timedelta(days=30))
    login(client, clinic.counselor.email)
    period = f"from={date.today() - timedelta(days=28)}&to={date.today()}"
    page = client.get(f"/admin/print/progress/batch/?group={clinic.their_group.id}&{period}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    count = re.search(r'<p id="batch-count">(.*?)</p>', text, flags=re.S).group(1)
    assert re.findall(r"<strong>(\d+)</strong>", count) == ["0"]
    assert "On your caseload, and so printed: <strong>0</strong>" in count
    own = client.get(f"/admin/print/progress/batch/?group={clinic.mine_group.id}&{period}").get_data(as_text=True)
    own_count = re.search(r'<p id="batch-count">(.*?)</p>', own, flags=re.S).group(1)
    assert re.findall(r"<strong>(\d+)</strong>", own_count) == ["1"]


def test_a_planner_still_sees_the_whole_count(client, clinic, make):
    planner = make.staff("planner")
    login(client, planner.email)
    period = f"from={date.today() - timedelta(days=28)}&to={date.today()}"
    text = client.get(f"/admin/print/progress/batch/?group={clinic.their_group.id}&{period}").get_data(as_text=True)
    count = re.search(r'<p id="batch-count">(.*?)</p>', text, flags=re.S).group(1)
    assert re.findall(r"<strong>(\d+)</strong>", count) == ["1"]
