"""The exercises report counts work in the track of the enrolment in force on its day, however
the enrolments lie: the spans it joins to must give the same track as asking, row by row, for
the enrolment covering the day that began last (``exercises.track_on``)."""

from __future__ import annotations

from collections import Counter
from datetime import date

import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Assignment, ExerciseCheckin, Track
from clinic.services.reports import exercises as report_module
from test_pdf_handouts import assign, make_exercise
from test_reports_more import START, _filters


def _checkin(assignment, day, outcome="done"):
    db.session.add(ExerciseCheckin(assignment_id=assignment.id, on_date=day, outcome=outcome))
    db.session.commit()


def _track_name(patient_id: int, day: date) -> str:
    """The old rule, one subquery per row: the track of the enrolment begun last covering ``day``."""
    track_id = db.session.scalar(sa.select(report_module.track_on(sa.literal(patient_id),
                                                                  sa.literal(day, sa.Date))))
    return db.session.get(Track, track_id).name if track_id else report_module.NOT_ENROLLED


def test_work_counts_in_the_track_in_force_on_its_day_however_the_enrolments_lie(make):
    iop, php = make.track("iop"), make.track("intensive")
    note = make_exercise("Note of appreciation")
    ash, birch, cedar, dogwood, elm = (make.patient(last_name=n) for n in ("Ash", "Birch", "Cedar", "Dogwood", "Elm"))
    # Ash: two enrolments begun the same day; the later one (higher id) ended before the period.
    make.enrolment(ash, iop, start=date(2026, 10, 1))
    make.enrolment(ash, php, start=date(2026, 10, 1), end_date=date(2026, 10, 10), status="stepped_down")
    # Birch: a short stay in PHP inside a longer one in IOP.
    make.enrolment(birch, iop, start=date(2026, 10, 1), end_date=date(2026, 11, 30), status="discharged")
    make.enrolment(birch, php, start=date(2026, 11, 10), end_date=date(2026, 11, 12), status="stepped_down")
    # Cedar: a day with no enrolment between two.
    make.enrolment(cedar, iop, start=date(2026, 10, 1), end_date=date(2026, 11, 5), status="stepped_down")
    make.enrolment(cedar, php, start=date(2026, 11, 7))
    # Dogwood: a step-down on the day: the enrolment begun that day counts.
    make.enrolment(dogwood, php, start=date(2026, 10, 1), end_date=date(2026, 11, 8), status="stepped_down")
    make.enrolment(dogwood, iop, start=date(2026, 11, 8))
    # Elm: discharged before the period.
    make.enrolment(elm, iop, start=date(2026, 9, 1), end_date=date(2026, 10, 31), status="discharged")

    work = {
        ash: (date(2026, 10, 20), [(date(2026, 11, 3), "done"), (date(2026, 11, 10), "done")]),
        birch: (date(2026, 11, 1), [(date(2026, 11, 9), "done"), (date(2026, 11, 11), "done"),
                                    (date(2026, 11, 12), "partly"), (date(2026, 11, 13), "not_done")]),
        cedar: (date(2026, 11, 6), [(date(2026, 11, 6), "done"), (date(2026, 11, 8), "done")]),
        dogwood: (date(2026, 10, 1), [(date(2026, 11, 7), "done"), (date(2026, 11, 8), "done")]),
        elm: (date(2026, 10, 1), [(date(2026, 11, 4), "partly")]),
    }
    expected_assigned, expected_checkins = Counter(), Counter()
    for patient, (begun, checkins) in work.items():
        assignment = assign(patient, note, start=begun)
        expected_assigned[_track_name(patient.id, max(begun, START))] += 1
        for day, outcome in checkins:
            _checkin(assignment, day, outcome)
            expected_checkins[(_track_name(patient.id, day), outcome)] += 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Assignment)) == 5

    report = report_module.build(_filters(), make.staff("admin"), today=date(2026, 12, 1))
    rows = {r[1]: r for r in report.table("exercises").rows}
    got_assigned = Counter({track: r[2] for track, r in rows.items() if r[2]})
    got_checkins = Counter({(track, outcome): r[n] for track, r in rows.items()
                            for n, outcome in ((5, "done"), (6, "partly"), (7, "not_done")) if r[n]})
    assert got_assigned == expected_assigned
    assert got_checkins == expected_checkins
    # By hand, so the old rule is checked too: IOP has Ash's two, Birch's 9th and 13th,
    # Dogwood's 8th; PHP Birch's 11th and 12th, Cedar's 8th, Dogwood's 7th.
    assert got_checkins[("Intensive outpatient (IOP)", "done")] == 4
    assert got_checkins[("Intensive (partial hospitalisation)", "done")] == 3
    assert got_checkins[(report_module.NOT_ENROLLED, "done")] == 1
    assert got_assigned[report_module.NOT_ENROLLED] == 2  # Cedar (begun on the gap) and Elm
