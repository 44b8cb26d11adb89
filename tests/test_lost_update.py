"""Nothing is lost when two records (or a record and the check-in page) share check-ins.

Check-ins are one row per assignment and day: two sessions of one group on the same day,
and the patient page's check-in form, all write the same rows. A save writes only what the
person changed on their page; a changed line that someone else saved meanwhile refuses
the whole save, with the input kept and the line marked.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Attendance, AuditEvent, ExerciseCheckin, GroupSession
from conftest import login
from test_recording import TODAY, Clinic, _clinic, _count, _form, _post, _with


@dataclass
class TwoRecords:
    """One group meeting twice on one day, each session with its own facilitator."""

    first: Clinic
    second: GroupSession
    other: object  # the second session's facilitator


def _two_records(make) -> TwoRecords:
    first = _clinic(make, 2)
    other = make.staff("counselor")
    second = GroupSession(group_id=first.session.group_id, starts_at=first.session.starts_at,
                          duration_minutes=30, room="Room 2", facilitator_id=other.id, status="planned")
    db.session.add(second)
    db.session.commit()
    return TwoRecords(first=first, second=second, other=other)


def _client(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


def _page(client, session_id: int):
    return _form(client.get(f"/admin/record/?session={session_id}").get_data(as_text=True))


def _checkin(assignment_id: int):
    db.session.remove()
    row = db.session.scalar(sa.select(ExerciseCheckin).where(ExerciseCheckin.assignment_id == assignment_id))
    return None if row is None else (row.outcome, row.mood_before, row.mood_after, row.reflection, row.version)


def _state(session_id: int):
    """Everything a save of ``session_id`` could write: attendance, check-ins, the session."""
    db.session.remove()
    session = db.session.get(GroupSession, session_id)
    return (
        sorted((a.patient_id, a.status, a.minutes_attended, a.version)
               for a in db.session.scalars(sa.select(Attendance).where(Attendance.session_id == session_id))),
        sorted((c.assignment_id, c.outcome, c.mood_before, c.mood_after, c.reflection, c.version)
               for c in db.session.scalars(sa.select(ExerciseCheckin))),
        (session.version, session.status, session.group_note, session.recorded_at),
    )


def test_an_untouched_line_keeps_what_the_other_facilitator_saved_meanwhile(app, make):
    two = _two_records(make)
    p0, p1 = (p.id for p in two.first.patients)
    a0 = two.first.assignments[p0][0].id
    mine, theirs = _client(app, two.first.counselor), _client(app, two.other)
    my_page = _page(mine, two.first.session.id)
    their_page = _page(theirs, two.second.id)

    saved = _post(theirs, two.second.id, _with(their_page, **{f"outcome__{a0}": "done", f"mood_before__{a0}": "3",
                                                              f"mood_after__{a0}": "6",
                                                              f"reflection__{a0}": "Called my sister"}))
    assert saved.status_code == 302
    # My page still shows no check-in for that line; I change only someone's attendance.
    response = _post(mine, two.first.session.id, _with(my_page, **{f"status__{p1}": "late", f"minutes__{p1}": "30"}))

    assert response.status_code == 302
    assert _checkin(a0)[:4] == ("done", 3, 6, "Called my sister")
    db.session.remove()
    late = db.session.scalar(sa.select(Attendance).where(Attendance.session_id == two.first.session.id,
                                                         Attendance.patient_id == p1))
    assert (late.status, late.minutes_attended) == ("late", 30)


def test_a_changed_line_saved_meanwhile_by_the_other_record_refuses_the_whole_save(app, make):
    two = _two_records(make)
    p0, p1 = (p.id for p in two.first.patients)
    a0 = two.first.assignments[p0][0].id
    mine, theirs = _client(app, two.first.counselor), _client(app, two.other)
    my_page = _page(mine, two.first.session.id)
    their_page = _page(theirs, two.second.id)
    assert _post(theirs, two.second.id, _with(their_page, **{f"outcome__{a0}": "done",
                                                             f"mood_after__{a0}": "6"})).status_code == 302
    before = _state(two.first.session.id)

    response = _post(mine, two.first.session.id, _with(my_page, **{
        f"outcome__{a0}": "partly", f"mood_after__{a0}": "4",
        f"status__{p1}": "absent", f"minutes__{p1}": "0", "group_note": "Mine"}))

    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="record-stale"' in html
    assert f'id="stale-line-{a0}"' in html and f'id="saved-now-outcome-{a0}"' in html
    kept = dict(_form(html))
    assert kept[f"outcome-{a0}"] == "partly" and kept[f"status-{p1}"] == "absent" and kept["group_note"] == "Mine"
    assert _state(two.first.session.id) == before
    assert _checkin(a0)[:3] == ("done", None, 6)
    # Saving the page as it now stands (fresh versions, my changes on top) goes through.
    assert _post(mine, two.first.session.id, _form(html)).status_code == 302
    assert _checkin(a0)[:3] == ("partly", None, 4)


def test_a_line_the_page_showed_as_new_that_now_exists_refuses_the_save(app, make):
    two = _two_records(make)
    p0 = two.first.patients[0].id
    a0 = two.first.assignments[p0][0].id
    mine = _client(app, two.first.counselor)
    my_page = _page(mine, two.first.session.id)
    assert dict(my_page)[f"cv-{a0}"] == "new"
    theirs = _client(app, two.other)
    assert _post(theirs, two.second.id, _with(_page(theirs, two.second.id),
                                              **{f"outcome__{a0}": "not_done"})).status_code == 302
    before = _state(two.first.session.id)

    response = _post(mine, two.first.session.id, _with(my_page, **{f"outcome__{a0}": "done"}))

    assert response.status_code == 200 and f'id="stale-line-{a0}"' in response.get_data(as_text=True)
    assert _state(two.first.session.id) == before


def test_only_the_changed_fields_of_a_line_are_written(app, make):
    clinic = _clinic(make, 1)
    p0 = clinic.patients[0].id
    a0 = clinic.assignments[p0][0].id
    client = _client(app, clinic.counselor)
    assert _post(client, clinic.session.id, _with(_page(client, clinic.session.id), **{
        f"outcome__{a0}": "done", f"mood_before__{a0}": "2", f"reflection__{a0}": "First"})).status_code == 302
    version = _checkin(a0)[4]
    page = _page(client, clinic.session.id)
    assert dict(page)[f"cv-{a0}"] == str(version)

    assert _post(client, clinic.session.id, _with(page, **{f"mood_after__{a0}": "5"})).status_code == 302

    assert _checkin(a0) == ("done", 2, 5, "First", version + 1)
    db.session.remove()
    # One audit event for that update, naming only the field that changed (and when).
    (event,) = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "exercise_checkin",
                                                              AuditEvent.action == "update")).all()
    assert set(event.changes) == {"mood_after", "recorded_at"}


def test_the_patient_page_check_in_form_and_the_record_do_not_overwrite_each_other(app, make):
    clinic = _clinic(make, 1)
    p0 = clinic.patients[0].id
    a0 = clinic.assignments[p0][0].id
    planner = make.staff("planner")
    recorder, door = _client(app, clinic.counselor), _client(app, planner)
    my_page = _page(recorder, clinic.session.id)
    checkin_url = f"/admin/day/checkin/?assignment={a0}"
    door.get(checkin_url)
    form = {"on_date": TODAY.isoformat(), "outcome": "partly", "mood_before": "4", "mood_after": "",
            "reflection": "On the ward", "loaded_date": TODAY.isoformat(), "row_version": "new"}
    assert door.post(checkin_url, data=form).status_code == 302

    # The record, opened before, does not touch the line: the check-in page's values stay.
    assert _post(recorder, clinic.session.id, _with(my_page, group_note="Good group")).status_code == 302
    assert _checkin(a0)[:4] == ("partly", 4, None, "On the ward")

    # The record page, reopened, now changes the line; the check-in page (opened before) is refused.
    fresh = _page(recorder, clinic.session.id)
    assert _post(recorder, clinic.session.id, _with(fresh, **{f"outcome__{a0}": "done"})).status_code == 302
    refused = door.post(checkin_url, data={**form, "outcome": "not_done", "row_version": "1"})
    assert refused.status_code == 200 and 'id="checkin-refusal"' in refused.get_data(as_text=True)
    assert _checkin(a0)[:4] == ("done", 4, None, "On the ward")


@pytest.mark.parametrize("version", [None, "", "abc", "0"])
def test_a_record_save_without_a_valid_version_is_refused_like_a_stale_one(client, make, version):
    clinic = _clinic(make, 2)
    p0 = clinic.patients[0].id
    login(client, clinic.counselor.email)
    fields = [(name, value) for name, value in _with(_page(client, clinic.session.id), **{f"status__{p0}": "absent",
                                                                                          f"minutes__{p0}": "0"})
              if name != "expected_version"]
    if version is not None:
        fields.append(("expected_version", version))
    before = _state(clinic.session.id)

    response = _post(client, clinic.session.id, fields)

    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="record-stale"' in html
    assert dict(_form(html))[f"status-{p0}"] == "absent"  # the input stays on the page
    assert _state(clinic.session.id) == before and _count(Attendance) == 0


@pytest.mark.parametrize("version", [None, "", "x"])
def test_a_changed_line_without_its_check_in_version_is_refused(client, make, version):
    clinic = _clinic(make, 1)
    p0 = clinic.patients[0].id
    a0 = clinic.assignments[p0][0].id
    login(client, clinic.counselor.email)
    fields = [(name, value) for name, value in _with(_page(client, clinic.session.id), **{f"outcome__{a0}": "done"})
              if name != f"cv-{a0}"]
    if version is not None:
        fields.append((f"cv-{a0}", version))
    before = _state(clinic.session.id)

    response = _post(client, clinic.session.id, fields)

    assert response.status_code == 200 and 'id="record-stale"' in response.get_data(as_text=True)
    assert _state(clinic.session.id) == before


@pytest.mark.parametrize("version", [None, "", "seven"])
def test_the_check_in_page_without_a_valid_version_is_refused(client, make, version):
    clinic = _clinic(make, 1)
    p0 = clinic.patients[0].id
    a0 = clinic.assignments[p0][0].id
    login(client, clinic.counselor.email)
    form = {"on_date": TODAY.isoformat(), "outcome": "done", "loaded_date": TODAY.isoformat()}
    if version is not None:
        form["row_version"] = version

    response = client.post(f"/admin/day/checkin/?assignment={a0}", data=form)

    body = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="checkin-refusal"' in body
    assert _checkin(a0) is None


def test_concurrent_saves_of_two_records_and_the_check_in_page_lose_no_field_value(app, make, backend):
    if backend != "postgresql":
        pytest.skip("concurrent writers need a server database")
    import threading

    two = _two_records(make)
    patients = two.first.patients + [make.patient() for _ in range(2)]
    for patient in patients[2:]:
        from clinic.models import CareGroup

        make.membership(db.session.get(CareGroup, two.first.session.group_id), patient, start=TODAY)
    from clinic.models import Assignment

    exercise_id = two.first.assignments[patients[0].id][0].exercise_id
    extra = [Assignment(exercise_id=exercise_id, patient_id=p.id, start_date=TODAY) for p in patients[2:]]
    db.session.add_all(extra)
    db.session.commit()
    assignment_ids = [two.first.assignments[p.id][0].id for p in patients[:2]] + [a.id for a in extra]
    sessions = [two.first.session.id, two.second.id]
    # Every line starts with a check-in; each client changes one field of one line, no two the same.
    db.session.add_all(ExerciseCheckin(assignment_id=aid, on_date=TODAY, outcome="done", session_id=sessions[0])
                       for aid in assignment_ids)
    db.session.commit()
    jobs = []
    for n, (aid, name) in enumerate((aid, name) for aid in assignment_ids
                                    for name in ("mood_before", "mood_after", "reflection")):
        value = f"Client {n} wrote this" if name == "reflection" else str(n % 11)
        # Each client logs in as its own member of staff (a login writes the user's row).
        jobs.append((make.staff("admin").email, sessions[n % 2] if n % 5 else None, aid, name, value))
    barrier = threading.Barrier(len(jobs))
    saved: list[tuple[int, str, str]] = []
    problems: list[str] = []

    def client_run(job):
        email, session_id, aid, name, value = job
        first = True
        try:
            client = app.test_client()
            login(client, email)
            for _attempt in range(25):
                if session_id is None:  # the patient page's check-in form
                    url = f"/admin/day/checkin/?assignment={aid}&on={TODAY.isoformat()}"
                    opened = dict(_form(client.get(url).get_data(as_text=True), "checkin-form"))
                    if first:
                        first = False
                        barrier.wait(30)
                    response = client.post(url, data={**opened, name: value})
                else:
                    page = _page(client, session_id)
                    if first:
                        first = False
                        barrier.wait(30)
                    response = _post(client, session_id, _with(page, **{f"{name}__{aid}": value}))
                if response.status_code == 302:
                    saved.append((aid, name, value))
                    return
            problems.append(f"{name} of {aid} never saved")
        except Exception as exc:  # noqa: BLE001 - reported below
            problems.append(repr(exc))

    threads = [threading.Thread(target=client_run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert problems == [] and len(saved) == len(jobs), problems
    db.session.remove()
    rows = {c.assignment_id: c for c in db.session.scalars(sa.select(ExerciseCheckin))}
    lost = [(aid, name) for aid, name, value in saved if str(getattr(rows[aid], name)) != value]
    assert lost == []
