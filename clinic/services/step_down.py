"""Completing a step-down (or step-up): the default next track and the old track's exercises.

``enrolment.transfer`` moves the patient: it closes the old enrolment, ends the old
track's group memberships and assigns the new track's starter plan. It leaves the
exercise assignments the patient already had alone (an exercise that helps does not stop
helping on a move), so the person completing the move decides for each: keep it (nothing
changes) or stop it (through ``assignments.change_status`` with the reason "Stepped down
to …"). Both check the version the page showed, so a stale page is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Assignment, Enrolment, Track
from .assignments import change_status
from .errors import RuleViolation
from .locking import check_version

#: Assignment states that are still running and so can be kept or stopped after a move.
OPEN_STATUSES = ("active", "paused")

STALE_DECISION = (
    "This exercise changed after you opened the page (someone paused, stopped or edited it). "
    "Nothing was changed: look at its state below and decide again."
)


def next_track_down(track: Track | None) -> Track | None:
    """The next level of care down from ``track`` (inpatient → intensive → IOP).

    None from the least intensive track: stepping down from IOP is a discharge, and a
    step up is a clinical decision the form should not pre-fill.
    """
    if track is None:
        return None
    return db.session.scalar(
        sa.select(Track).where(Track.care_level > track.care_level).order_by(Track.care_level).limit(1)
    )


def moved_enrolment(patient_id: int) -> tuple[Enrolment | None, Enrolment | None]:
    """The patient's latest enrolment and the one it followed on from (None when it was the first).

    The move is the latest enrolment's start: the previous enrolment ended the day before.
    """
    rows = db.session.scalars(
        sa.select(Enrolment).where(Enrolment.patient_id == patient_id)
        .options(joinedload(Enrolment.track))
        .order_by(Enrolment.start_date.desc(), Enrolment.id.desc()).limit(2)
    ).all()
    latest = rows[0] if rows else None
    previous = rows[1] if len(rows) > 1 else None
    if previous is not None and previous.status not in ("stepped_down", "stepped_up"):
        previous = None
    return latest, previous


@dataclass(frozen=True)
class CarriedExercise:
    """An exercise assigned before the move that is still running."""

    assignment: Assignment
    #: True when the new track's starter plan has the same exercise (so keeping it is the plan).
    in_new_plan: bool


def carried_over(enrolment: Enrolment) -> list[CarriedExercise]:
    """The patient's assignments from before ``enrolment`` began that are still active or paused."""
    starters = {e.id for e in enrolment.track.starter_exercises}
    rows = db.session.scalars(
        sa.select(Assignment)
        .where(Assignment.patient_id == enrolment.patient_id, Assignment.status.in_(OPEN_STATUSES),
               Assignment.start_date < enrolment.start_date)
        .options(joinedload(Assignment.exercise))
        .order_by(Assignment.start_date, Assignment.id)
    ).all()
    return [CarriedExercise(assignment=a, in_new_plan=a.exercise_id in starters) for a in rows]


def stop_reason(enrolment: Enrolment, previous: Enrolment | None) -> str:
    """The reason a carried-over exercise is stopped with: "Stepped down to IOP" (or up)."""
    way = "up" if previous is not None and previous.status == "stepped_up" else "down"
    return f"Stepped {way} to {enrolment.track.name}"


def stopped_at_move(enrolment: Enrolment, previous: Enrolment | None) -> list[Assignment]:
    """The exercises from before the move that were stopped for it (so the page can show what was decided)."""
    return list(db.session.scalars(
        sa.select(Assignment)
        .where(Assignment.patient_id == enrolment.patient_id, Assignment.status == "stopped",
               Assignment.start_date < enrolment.start_date,
               Assignment.status_reason == stop_reason(enrolment, previous))
        .options(joinedload(Assignment.exercise))
        .order_by(Assignment.start_date, Assignment.id)
    ))


def settle(enrolment: Enrolment, assignment: Assignment, decision: str, version, *,
           commit: bool = True) -> str:
    """Keep or stop an exercise carried over into ``enrolment``, as the page at ``version`` saw it.

    Keep changes nothing (the version is still checked, so a decision taken on a stale
    page is refused); stop ends it with the reason "Stepped down to <track>" (or up).
    Returns the plain result to show.
    """
    if decision not in ("keep", "stop"):
        raise RuleViolation("Choose keep or stop.")
    if assignment.patient_id != enrolment.patient_id or assignment.start_date >= enrolment.start_date:
        raise RuleViolation("This exercise was not carried over from the previous track.")
    check_version(assignment, version, STALE_DECISION)
    if assignment.status not in OPEN_STATUSES:
        raise RuleViolation(STALE_DECISION)
    title = assignment.exercise.title
    if decision == "keep":
        return f"Kept: {title}."
    _, previous = moved_enrolment(enrolment.patient_id)
    change_status(assignment, "stopped", stop_reason(enrolment, previous), commit=False,
                  expected_version=version)
    if commit:
        db.session.commit()
    return f"Stopped: {title}."


__all__ = ["CarriedExercise", "OPEN_STATUSES", "carried_over", "moved_enrolment", "next_track_down", "settle",
           "stop_reason", "stopped_at_move"]
