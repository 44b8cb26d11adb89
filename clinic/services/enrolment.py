"""Enrolment in a track, step-down (or up) to another track, and discharge."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import Assignment, Enrolment, Patient, StaffUser, Track
from .errors import RuleViolation
from .limits import FieldViolation, day, required_row, text
from .locking import UNCHECKED, check_version, check_version_unless_unchecked
from .membership import end_memberships_in_track

FINAL_STATUSES = ("discharged", "withdrawn")
STALE_TRANSFER = (
    "The patient's enrolment changed after you opened this page (someone else moved, discharged "
    "or corrected it). Nothing was changed: check the track history and try again."
)


@dataclass
class EnrolmentResult:
    """What an enrolment or a transfer did."""

    enrolment: Enrolment
    closed: Enrolment | None = None
    memberships_ended: int = 0
    starter_result: object | None = None
    assignments_stopped: int = 0
    #: Active treatment-plan goals copied into the new track's plan (a transfer).
    goals_carried: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def starters_assigned(self) -> int:
        """How many starter exercises the new enrolment assigned."""
        return sum(len(result.assigned) for result in self.starter_result or [])


def _overlapping(patient_id: int, start: date, end: date | None, exclude_id: int | None = None):
    conditions = [
        Enrolment.patient_id == patient_id,
        sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= start),
    ]
    if end is not None:
        conditions.append(Enrolment.start_date <= end)
    if exclude_id is not None:
        conditions.append(Enrolment.id != exclude_id)
    return db.session.scalar(
        sa.select(Enrolment).where(*conditions).order_by(Enrolment.start_date)
    )


def _describe(enrolment: Enrolment) -> str:
    until = enrolment.end_date.isoformat() if enrolment.end_date else "open"
    return f"the enrolment in {enrolment.track.name} from {enrolment.start_date.isoformat()} ({until})"


def check_dates(patient_id: int, start: date, end: date | None, exclude_id: int | None = None) -> None:
    """Refuse an enrolment period that is inverted or overlaps another of the patient's."""
    if end is not None and end < start:
        raise RuleViolation("An enrolment cannot end before it starts.")
    clash = _overlapping(patient_id, start, end, exclude_id)
    if clash is not None:
        raise RuleViolation(f"These dates overlap {_describe(clash)}.")


def open_enrolment(patient_id: int) -> Enrolment | None:
    """The patient's open enrolment, if any."""
    return db.session.scalar(
        sa.select(Enrolment).where(Enrolment.patient_id == patient_id, Enrolment.end_date.is_(None))
    )


def _assign_starters(patient: Patient, track: Track, start: date, actor: StaffUser | None):
    from .assignments import assign_exercise

    results = []
    for exercise in track.starter_exercises:
        if not exercise.active:
            continue
        results.append(
            assign_exercise(exercise, [patient], start=start, source="track", actor=actor, commit=False)
        )
    return results


def enrol(patient: Patient, track: Track, start: date, *, counselor: StaffUser | None = None,
          actor: StaffUser | None = None, commit: bool = True) -> EnrolmentResult:
    """Enrol a patient in a track from ``start`` and assign the track's starter exercises."""
    if not patient.active:
        raise RuleViolation("This patient record is inactive; reactivate it before enrolling.")
    if counselor is not None and counselor.role != "counselor":
        raise RuleViolation("The primary counselor must be a staff member with the counselor role.")
    check_dates(patient.id, start, None)
    enrolment = Enrolment(
        patient_id=patient.id, track_id=track.id, start_date=start, status="active",
        primary_counselor_id=counselor.id if counselor else None,
    )
    db.session.add(enrolment)
    db.session.flush()
    result = EnrolmentResult(enrolment=enrolment)
    result.starter_result = _assign_starters(patient, track, start, actor)
    if commit:
        db.session.commit()
    return result


def transfer(patient: Patient, to_track: Track, on: date, *, reason: str,
             counselor: StaffUser | None = None, actor: StaffUser | None = None,
             commit: bool = True, expected_version=UNCHECKED) -> EnrolmentResult:
    """Step a patient down (or up) to another track on ``on``, in one transaction.

    The open enrolment ends the day before ``on`` with status stepped_down or
    stepped_up (by care level) and the reason; memberships in groups of the old track
    end that day too; the new enrolment opens on ``on`` with the track's starter
    exercises. The closed enrolment stays as history. Exercise assignments the patient
    already has are left as they are: ``step_down.settle`` keeps or stops each one. A page
    passes the open enrolment's ``expected_version`` it showed (a stale page is refused).
    """
    current = open_enrolment(patient.id)
    if current is None:
        raise RuleViolation("The patient has no open enrolment to step down from; enrol them instead.")
    check_version_unless_unchecked(current, expected_version, STALE_TRANSFER)
    if current.track_id == to_track.id:
        raise RuleViolation(f"The patient is already enrolled in {to_track.name}.")
    if not (reason or "").strip():
        raise RuleViolation("Give a reason for the step-down or step-up.")
    last_day = on - timedelta(days=1)
    if last_day < current.start_date:
        raise RuleViolation(
            f"The change must be after the current enrolment began ({current.start_date.isoformat()})."
        )
    later = _overlapping(patient.id, on, None, exclude_id=current.id)
    if later is not None:
        raise RuleViolation(f"These dates overlap {_describe(later)}.")
    old_track = db.session.get(Track, current.track_id)
    current.end_date = last_day
    current.status = "stepped_down" if to_track.care_level > old_track.care_level else "stepped_up"
    current.end_reason = reason.strip()[:255]
    ended = end_memberships_in_track(patient.id, current.track_id, last_day)
    db.session.flush()
    result = enrol(
        patient, to_track, on,
        counselor=counselor if counselor is not None else current.primary_counselor,
        actor=actor, commit=False,
    )
    result.closed = current
    result.memberships_ended = len(ended)
    from .treatment_plan import carry_forward

    result.goals_carried = carry_forward(current, result.enrolment, actor.id if actor else None)
    if commit:
        db.session.commit()
    return result


def discharge(patient: Patient, on: date, *, reason: str, status: str = "discharged",
              commit: bool = True) -> EnrolmentResult:
    """End the open enrolment on ``on`` with its memberships and active assignments together."""
    if status not in FINAL_STATUSES:
        raise RuleViolation("Choose discharged or withdrawn.")
    if not (reason or "").strip():
        raise RuleViolation("Give a reason for the discharge.")
    current = open_enrolment(patient.id)
    if current is None:
        raise RuleViolation("The patient has no open enrolment to end.")
    if on < current.start_date:
        raise RuleViolation(
            f"The discharge date cannot be before the enrolment began ({current.start_date.isoformat()})."
        )
    current.end_date = on
    current.status = status
    current.end_reason = reason.strip()[:255]
    ended = end_memberships_in_track(patient.id, current.track_id, on)
    stopped = 0
    for assignment in db.session.scalars(
        sa.select(Assignment).where(
            Assignment.patient_id == patient.id, Assignment.status.in_(("active", "paused"))
        )
    ):
        assignment.status = "stopped"
        assignment.status_reason = f"Enrolment ended ({status})"
        stopped += 1
    result = EnrolmentResult(enrolment=current, memberships_ended=len(ended), assignments_stopped=stopped)
    if commit:
        db.session.commit()
    return result


def history(patient_id: int) -> list[Enrolment]:
    """The patient's enrolments, oldest first, with track and counselor loaded."""
    return list(
        db.session.scalars(
            sa.select(Enrolment)
            .where(Enrolment.patient_id == patient_id)
            .options(sa.orm.joinedload(Enrolment.track), sa.orm.joinedload(Enrolment.primary_counselor))
            .order_by(Enrolment.start_date)
        )
    )


# Corrections made from the enrolment list ---------------------------------------------
def _counselor(values: dict) -> StaffUser | None:

    counselor = values.get("primary_counselor")
    if counselor is not None and counselor.role != "counselor":
        raise FieldViolation("primary_counselor", "The primary counselor must have the counselor role.")
    return counselor


def create_enrolment(values: dict, *, actor: StaffUser | None = None) -> EnrolmentResult:
    """Enrol from a form's values (patient, track, start_date, primary_counselor); no commit.

    The same path as the patient page: dates checked, the starter plan assigned.
    """

    patient = required_row(values, "patient", "patient")
    track = required_row(values, "track", "track")
    start = day(values, "start_date", "start date")
    try:
        return enrol(patient, track, start, counselor=_counselor(values), actor=actor, commit=False)
    except FieldViolation:
        raise
    except RuleViolation as exc:
        raise FieldViolation("start_date", str(exc)) from exc


def update_enrolment(enrolment: Enrolment, values: dict, version) -> Enrolment:
    """Correct an enrolment opened at ``version``: dates, reason and primary counselor; no commit.

    The status and the closing of an open enrolment belong to step-down and discharge
    (which also end memberships and assignments), so this refuses them; the patient and
    the track never change here.
    """

    check_version(enrolment, version)
    if values.get("status", enrolment.status) != enrolment.status:
        raise FieldViolation("status", "The status changes only by a step-down, step-up or discharge "
                                       "from the patient's page.")
    track = values.get("track", enrolment.track)
    if track is None or track.id != enrolment.track_id:
        raise FieldViolation("track", "The track does not change here: step the patient down or up "
                                      "from their page.")
    start = day(values, "start_date", "start date")
    end = day(values, "end_date", "end date", required=False)
    if enrolment.end_date is None and end is not None:
        raise FieldViolation("end_date", "An open enrolment ends by a step-down or discharge from the "
                                         "patient's page.")
    if enrolment.end_date is not None and end is None:
        raise FieldViolation("end_date", "A closed enrolment cannot be reopened here; enrol the patient again.")
    reason = text(values, "end_reason", "reason", 255)
    counselor = _counselor(values)
    try:
        with db.session.no_autoflush:
            check_dates(enrolment.patient_id, start, end, exclude_id=enrolment.id)
    except RuleViolation as exc:
        raise FieldViolation("start_date", str(exc)) from exc
    changes = {"start_date": start, "end_date": end, "end_reason": reason,
               "primary_counselor_id": counselor.id if counselor else None}
    for key, value in changes.items():
        if getattr(enrolment, key) != value:
            setattr(enrolment, key, value)
    db.session.flush()
    return enrolment


def delete_enrolment(enrolment: Enrolment) -> None:
    """Remove an enrolment made by mistake: only while no membership or assignment rests on it."""
    from .membership import covers

    from ..models import CareGroup, GroupMembership

    memberships = sa.select(GroupMembership.id).join(CareGroup, CareGroup.id == GroupMembership.group_id).where(
        GroupMembership.patient_id == enrolment.patient_id, CareGroup.track_id == enrolment.track_id,
        covers(Enrolment, GroupMembership.start_date), Enrolment.id == enrolment.id,
    )
    assignments = sa.select(Assignment.id).where(
        Assignment.patient_id == enrolment.patient_id, covers(Enrolment, Assignment.start_date),
        Enrolment.id == enrolment.id,
    )
    if db.session.scalar(sa.select(memberships.exists())) or db.session.scalar(sa.select(assignments.exists())):
        raise RuleViolation("Group memberships or exercise assignments rest on this enrolment, so it is kept. "
                            "To end it, use discharge or step-down on the patient's page.")
    db.session.delete(enrolment)
    db.session.flush()
