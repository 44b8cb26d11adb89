"""The role table, written out by hand and proven by typed URL: role x URL x method -> answer.

This table does not read ``clinic.services.access.PERMISSIONS``: a wrong role table fails here.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from clinic.extensions import db
from clinic.models import (
    Activity,
    Assignment,
    Attendance,
    AuditEvent,
    CareGroup,
    Enrolment,
    ExerciseCheckin,
    GroupMembership,
    GroupSession,
    KindnessExercise,
    Patient,
    StaffUser,
    Track,
)
from conftest import login

TODAY = date.today()

#: endpoint -> role -> (list GET, new GET, edit GET, details GET). 302 on new/edit means
#: "sent back to the list": the role may read but not do that. 403: not for this role at all.
EXPECTED = {
    "tracks":      {"admin": (200, 200, 200, 200), "planner": (200, 200, 200, 200), "counselor": (200, 302, 302, 200)},
    "groups":      {"admin": (200, 200, 200, 200), "planner": (200, 200, 200, 200), "counselor": (200, 302, 302, 200)},
    "memberships": {"admin": (200, 200, 200, 200), "planner": (200, 200, 200, 200), "counselor": (200, 302, 302, 200)},
    "activities":  {"admin": (200, 200, 200, 200), "planner": (200, 200, 200, 200), "counselor": (200, 302, 302, 200)},
    "sessions":    {"admin": (200, 200, 200, 200), "planner": (200, 200, 200, 200), "counselor": (200, 302, 302, 200)},
    "exercises":   {"admin": (200, 200, 200, 200), "planner": (200, 200, 200, 200), "counselor": (200, 302, 302, 200)},
    "assignments": {"admin": (200, 200, 200, 200), "planner": (200, 200, 200, 200), "counselor": (200, 302, 302, 200)},
    "patients":    {"admin": (200, 200, 200, 200), "planner": (200, 302, 302, 200), "counselor": (200, 302, 302, 200)},
    "enrolments":  {"admin": (200, 200, 200, 200), "planner": (200, 200, 200, 200), "counselor": (200, 302, 302, 200)},
    "attendance":  {"admin": (200, 302, 302, 200), "planner": (200, 302, 302, 200), "counselor": (200, 302, 302, 200)},
    "checkins":    {"admin": (200, 302, 302, 200), "planner": (200, 302, 302, 200), "counselor": (200, 302, 302, 200)},
    "staff":       {"admin": (200, 200, 200, 200), "planner": (403, 403, 403, 403), "counselor": (403, 403, 403, 403)},
    "audit":       {"admin": (200, 302, 302, 200), "planner": (403, 403, 403, 403), "counselor": (403, 403, 403, 403)},
}

#: Who may delete what (a row nothing rests on). Every other pair deletes nothing.
DELETES = {
    ("admin", "tracks"), ("admin", "groups"), ("admin", "memberships"), ("admin", "activities"),
    ("admin", "sessions"), ("admin", "exercises"), ("admin", "assignments"), ("admin", "patients"),
    ("admin", "enrolments"),
    ("planner", "groups"), ("planner", "memberships"), ("planner", "activities"), ("planner", "sessions"),
    ("planner", "exercises"), ("planner", "assignments"), ("planner", "enrolments"),
}

MODELS = {
    "tracks": Track, "groups": CareGroup, "memberships": GroupMembership, "activities": Activity,
    "sessions": GroupSession, "exercises": KindnessExercise, "assignments": Assignment, "patients": Patient,
    "enrolments": Enrolment, "attendance": Attendance, "checkins": ExerciseCheckin, "staff": StaffUser,
    "audit": AuditEvent,
}


def _rows(make, counselor) -> dict[str, object]:
    """One row per list that nothing rests on, each within the counselor's scope where it can be.

    ``patients`` is a patient without history (deletable, on nobody's caseload);
    ``caseload_patient`` is one the counselor sees.
    """
    track = make.track("iop")
    exercise = KindnessExercise(title="Spare exercise", direction="self", energy="low", tracks=[track])
    spare_exercise = KindnessExercise(title="Never assigned", direction="others", energy="high", tracks=[track])
    activity = Activity(name="Spare activity")
    spare_track = Track(code="spare", name="Spare track", care_level=50)
    db.session.add_all([exercise, spare_exercise, activity, spare_track])
    db.session.commit()
    patient = make.patient()
    make.enrolment(patient, track, counselor, start=TODAY - timedelta(days=30))
    spare_patient = make.patient()
    enrolled_only = make.patient()
    make.enrolment(enrolled_only, track, counselor, start=TODAY - timedelta(days=30))
    group = make.group(track, facilitator=counselor)
    spare_group = make.group(track)
    membership = make.membership(group, patient, start=TODAY + timedelta(days=10))
    assignment = Assignment(exercise_id=exercise.id, patient_id=patient.id, start_date=TODAY - timedelta(days=5))
    session = GroupSession(group_id=group.id, starts_at=datetime.combine(TODAY + timedelta(days=3),
                                                                         datetime.min.time()).replace(hour=9),
                           duration_minutes=60, facilitator_id=counselor.id)
    held = GroupSession(group_id=group.id, starts_at=datetime.combine(TODAY - timedelta(days=3),
                                                                      datetime.min.time()).replace(hour=9),
                        duration_minutes=60, facilitator_id=counselor.id, status="held")
    db.session.add_all([assignment, session, held])
    db.session.commit()
    used = Assignment(exercise_id=exercise.id, patient_id=enrolled_only.id, start_date=TODAY - timedelta(days=40))
    db.session.add(used)
    db.session.commit()
    attendance = Attendance(session_id=held.id, patient_id=patient.id, status="present", minutes_attended=60)
    checkin = ExerciseCheckin(assignment_id=used.id, on_date=TODAY - timedelta(days=1), outcome="done")
    db.session.add_all([attendance, checkin])
    db.session.commit()
    # ``used`` rests on the enrolment; give the deletable enrolment its own patient.
    fresh = make.patient()
    enrolment = make.enrolment(fresh, track, counselor, start=TODAY - timedelta(days=2))
    audit = db.session.query(AuditEvent).order_by(AuditEvent.id).first()
    return {
        "tracks": spare_track, "groups": spare_group, "memberships": membership, "activities": activity,
        "sessions": session, "exercises": spare_exercise, "assignments": assignment,
        "patients": spare_patient, "enrolments": enrolment, "attendance": attendance, "checkins": checkin,
        "staff": counselor, "audit": audit, "caseload_patient": patient,
    }


@pytest.mark.parametrize("role", ["admin", "planner", "counselor"])
def test_each_role_gets_exactly_the_answers_written_in_the_table(client, make, role):
    counselor = make.staff("counselor")
    user = counselor if role == "counselor" else make.staff(role)
    rows = _rows(make, counselor)
    ids = {endpoint: row.id for endpoint, row in rows.items()}
    ids["patients"] = ids.pop("caseload_patient")
    login(client, user.email)
    got, wanted = {}, {}
    for endpoint, by_role in EXPECTED.items():
        urls = (f"/admin/{endpoint}/", f"/admin/{endpoint}/new/", f"/admin/{endpoint}/edit/?id={ids[endpoint]}",
                f"/admin/{endpoint}/details/?id={ids[endpoint]}")
        got[endpoint] = tuple(client.get(url).status_code for url in urls)
        wanted[endpoint] = by_role[role]
    assert got == wanted


@pytest.mark.parametrize("role", ["admin", "planner", "counselor"])
def test_each_role_deletes_exactly_what_the_table_allows_one_by_one_and_in_bulk(client, make, role):
    counselor = make.staff("counselor")
    user = counselor if role == "counselor" else make.staff(role)
    rows = _rows(make, counselor)
    ids = {endpoint: row.id for endpoint, row in rows.items() if endpoint in MODELS}
    login(client, user.email)
    for endpoint, row_id in ids.items():
        if endpoint in ("patients", "groups", "tracks"):
            client.post(f"/admin/{endpoint}/action/", data={"action": "delete", "rowid": [row_id]})
        else:
            client.post(f"/admin/{endpoint}/delete/", data={"id": row_id})
    db.session.remove()
    deleted = {(role, endpoint) for endpoint, row_id in ids.items()
               if db.session.get(MODELS[endpoint], row_id) is None}
    assert deleted == {pair for pair in DELETES if pair[0] == role}


def test_an_anonymous_visitor_is_sent_to_the_login_from_every_list_form_and_delete(client, make):
    counselor = make.staff("counselor")
    ids = {endpoint: row.id for endpoint, row in _rows(make, counselor).items()}
    for endpoint in EXPECTED:
        for method, url in [("GET", f"/admin/{endpoint}/"), ("GET", f"/admin/{endpoint}/new/"),
                            ("POST", f"/admin/{endpoint}/new/"),
                            ("GET", f"/admin/{endpoint}/edit/?id={ids[endpoint]}"),
                            ("POST", f"/admin/{endpoint}/delete/")]:
            response = client.open(url, method=method, data={"id": ids[endpoint]})
            assert response.status_code == 302, (method, url)
            assert "/login" in response.headers["Location"], (method, url)
