"""Patient records: registering, correcting and (only when nothing rests on it) removing one."""

from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..models import Assignment, Attendance, Enrolment, GroupMembership, Patient
from . import languages
from .errors import RuleViolation
from .limits import FieldViolation, column_length, text
from .locking import check_version


def _patient_values(values: dict, patient: Patient | None) -> dict:
    record_number = text(values, "record_number", "record number", column_length(Patient.record_number),
                         required=True)
    clash = db.session.scalar(sa.select(Patient.id).where(
        Patient.record_number == record_number, *([Patient.id != patient.id] if patient else [])))
    if clash is not None:
        raise FieldViolation("record_number", "Another patient already has this record number.")
    limit = column_length(Patient.first_name)
    return {
        "record_number": record_number,
        "first_name": text(values, "first_name", "first name", limit, required=True),
        "last_name": text(values, "last_name", "last name", column_length(Patient.last_name), required=True),
        "preferred_name": text(values, "preferred_name", "preferred name",
                               column_length(Patient.preferred_name)) or None,
        "preferred_language": languages.check_language(values.get("preferred_language")),
        "active": bool(values.get("active")),
    }


def create_patient(values: dict) -> Patient:
    """Register a patient (record number trimmed and unique; names required; a known language); no commit."""
    patient = Patient(**_patient_values(values, None))
    db.session.add(patient)
    db.session.flush()
    return patient


def update_patient(patient: Patient, values: dict, version) -> Patient:
    """Correct a patient record opened at ``version``; no commit."""
    check_version(patient, version)
    for key, value in _patient_values(values, patient).items():
        if getattr(patient, key) != value:
            setattr(patient, key, value)
    db.session.flush()
    return patient


def has_history(patient_id: int) -> bool:
    """True when anything was ever recorded for the patient (enrolment, group, exercise, session)."""
    checks = [
        sa.select(Enrolment.id).where(Enrolment.patient_id == patient_id),
        sa.select(GroupMembership.id).where(GroupMembership.patient_id == patient_id),
        sa.select(Assignment.id).where(Assignment.patient_id == patient_id),
        sa.select(Attendance.id).where(Attendance.patient_id == patient_id),
    ]
    return any(db.session.scalar(sa.select(check.exists())) for check in checks)


def delete_patient(patient: Patient) -> None:
    """Remove a patient registered by mistake; a record with any history is kept (mark it inactive)."""
    if has_history(patient.id):
        raise RuleViolation("This patient has a history in the programme, so the record is kept: "
                            "mark it inactive instead.")
    db.session.delete(patient)
    db.session.flush()


__all__ = ["create_patient", "delete_patient", "has_history", "update_patient"]
