"""What the record page of one session shows: its rows, their exercises and addenda.

Loading runs a fixed number of queries whatever the roster size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, joinedload

from ...extensions import db
from ...models import Assignment, Attendance, AttendanceAddendum, ExerciseCheckin, GroupSession, KindnessExercise, Patient
from ..membership import roster

#: How each attendance status reads on the page.
STATUS_LABELS = {
    "present": "present",
    "late": "late",
    "left_early": "left early",
    "absent": "absent",
    "excused": "excused",
}
#: How each check-in outcome reads on the page.
OUTCOME_LABELS = {"done": "done", "partly": "partly", "not_done": "not done"}


@dataclass
class ExerciseLine:
    """One assignment under a person, with its check-in for the session's day if any."""

    assignment: Assignment
    checkin: ExerciseCheckin | None
    #: False when the assignment is no longer active: the check-in is shown, not edited.
    editable: bool
    #: Corrections of this check-in after the record was signed, oldest first.
    addenda: list[AttendanceAddendum] = field(default_factory=list)

    @property
    def signed(self) -> bool:
        """True when the check-in belongs to a signed session record (it changes only by addendum)."""
        session = self.checkin.session if self.checkin is not None else None
        return session is not None and session.signed_at is not None


@dataclass
class RecordRow:
    """One person on the record: their saved entry (or none yet) and their exercises."""

    patient: Patient
    attendance: Attendance | None
    #: False for someone with a saved entry who has since left the group.
    on_roster: bool
    length: int
    exercises: list[ExerciseLine] = field(default_factory=list)
    addenda: list[AttendanceAddendum] = field(default_factory=list)

    @property
    def status(self) -> str:
        """The saved status, or present when nothing was recorded yet."""
        return self.attendance.status if self.attendance else "present"

    @property
    def minutes(self) -> int:
        """The saved minutes, or the session's full length when nothing was recorded yet."""
        return self.attendance.minutes_attended if self.attendance else self.length

    @property
    def engagement(self) -> int | None:
        """The saved engagement (1–5), or None."""
        return self.attendance.engagement if self.attendance else None

    @property
    def note(self) -> str:
        """The saved individual note, or an empty one."""
        return self.attendance.note if self.attendance else ""

    def line_for(self, assignment_id: int) -> ExerciseLine | None:
        """The exercise line of ``assignment_id``, if it is listed for this person."""
        return next((line for line in self.exercises if line.assignment.id == assignment_id), None)


@dataclass
class SessionRecord:
    """Everything the record page of one session shows."""

    session: GroupSession
    #: The session's date: the roster and the check-ins are those of this day.
    day: date
    rows: list[RecordRow]
    #: The session row's version when loaded; a save must bring the same one back.
    version: int
    #: Corrections of the group note after the record was signed, oldest first.
    note_addenda: list[AttendanceAddendum] = field(default_factory=list)

    @property
    def length(self) -> int:
        """The session's length in minutes."""
        return self.session.duration_minutes

    @property
    def state(self) -> str:
        """not recorded, recorded or signed."""
        return self.session.record_state

    @property
    def signed(self) -> bool:
        """True once the facilitator signed the record."""
        return self.session.signed_at is not None

    def row_for(self, patient_id: int) -> RecordRow | None:
        """The row of ``patient_id``, if they are on the record."""
        return next((row for row in self.rows if row.patient.id == patient_id), None)


def _session_query(session_id: int) -> sa.Select:
    return (
        sa.select(GroupSession)
        .where(GroupSession.id == session_id)
        .options(
            joinedload(GroupSession.group),
            joinedload(GroupSession.activity),
            joinedload(GroupSession.facilitator),
            joinedload(GroupSession.recorded_by),
            joinedload(GroupSession.signed_by),
        )
    )


def load_record(session_id: int) -> SessionRecord | None:
    """Load a session's record page, or None when there is no such session.

    Runs at most six queries whatever the size of the roster: the session (with its
    group, activity and staff), the roster, the saved attendance, the assignments, their
    check-ins for the day and, once signed, the addenda.
    """
    session = db.session.scalar(_session_query(session_id))
    if session is None:
        return None
    return build(session)


def build(session: GroupSession) -> SessionRecord:
    """The rows of ``session``'s record, in a fixed number of queries."""
    day = session.starts_at.date()
    length = session.duration_minutes
    members = roster(session.group_id, day)
    saved = db.session.scalars(
        sa.select(Attendance)
        .where(Attendance.session_id == session.id)
        .options(joinedload(Attendance.patient))
    ).all()
    by_patient = {row.patient_id: row for row in saved}
    member_ids = {patient.id for patient in members}
    # Nothing recorded may vanish: people with a saved entry stay even after leaving the group.
    former = sorted(
        (row.patient for row in saved if row.patient_id not in member_ids),
        key=lambda p: (p.last_name, p.first_name, p.id),
    )
    rows = [
        RecordRow(patient=p, attendance=by_patient.get(p.id), on_roster=p.id in member_ids, length=length)
        for p in list(members) + former
    ]
    patient_ids = [row.patient.id for row in rows]
    if patient_ids:
        checked_in_that_day = sa.select(ExerciseCheckin.assignment_id).where(ExerciseCheckin.on_date == day)
        assignments = db.session.scalars(
            sa.select(Assignment)
            .join(Assignment.exercise)
            .options(contains_eager(Assignment.exercise))
            .where(
                Assignment.patient_id.in_(patient_ids),
                sa.or_(
                    sa.and_(Assignment.status == "active", Assignment.start_date <= day),
                    Assignment.id.in_(checked_in_that_day),
                ),
            )
            .order_by(KindnessExercise.title, Assignment.id)
        ).all()
        found = {}
        if assignments:
            found = {
                c.assignment_id: c
                for c in db.session.scalars(
                    sa.select(ExerciseCheckin)
                    .where(
                        ExerciseCheckin.assignment_id.in_([a.id for a in assignments]),
                        ExerciseCheckin.on_date == day,
                    )
                    .options(joinedload(ExerciseCheckin.session))
                )
            }
        by_id = {row.patient.id: row for row in rows}
        for assignment in assignments:
            by_id[assignment.patient_id].exercises.append(
                ExerciseLine(
                    assignment=assignment,
                    checkin=found.get(assignment.id),
                    editable=assignment.status == "active" and assignment.start_date <= day,
                )
            )
    record = SessionRecord(session=session, day=day, rows=rows, version=session.version)
    if session.signed_at is not None:
        _attach_addenda(record)
    return record


def _attach_addenda(record: SessionRecord) -> None:
    """Put each addendum of a signed record where it applies: person, exercise line or group note."""
    for addendum in db.session.scalars(
        sa.select(AttendanceAddendum)
        .where(AttendanceAddendum.session_id == record.session.id)
        .options(joinedload(AttendanceAddendum.author))
        .order_by(AttendanceAddendum.created_at, AttendanceAddendum.id)
    ):
        if addendum.patient_id is None:
            record.note_addenda.append(addendum)
            continue
        row = record.row_for(addendum.patient_id)
        if row is None:
            continue  # cannot happen: a person with an entry stays on the record
        if addendum.assignment_id is None:
            row.addenda.append(addendum)
        else:
            line = row.line_for(addendum.assignment_id)
            (line.addenda if line is not None else row.addenda).append(addendum)

