"""Patients and their enrolments in a track."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import VersionedMixin, choice, trigram_index, utcnow

ENROLMENT_STATUSES = ("active", "stepped_down", "stepped_up", "discharged", "withdrawn")


class Patient(VersionedMixin, db.Model):
    """A person in the programme."""

    __tablename__ = "patient"
    # Migration 0009: the name and record-number searches (PostgreSQL trigram indexes).
    __table_args__ = (
        trigram_index("ix_patient_last_name_trgm", "last_name"),
        trigram_index("ix_patient_first_name_trgm", "first_name"),
        trigram_index("ix_patient_preferred_name_trgm", "preferred_name"),
        trigram_index("ix_patient_record_number_trgm", "record_number"),
        # Migration 0028: the order of every list of patients by name (a track's page walks it).
        sa.Index("ix_patient_name", "last_name", "first_name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The clinic's record number; unique, never printed on patient material.
    record_number: Mapped[str] = mapped_column(sa.String(40), unique=True)
    #: Legal first name.
    first_name: Mapped[str] = mapped_column(sa.String(80))
    #: Legal last name.
    last_name: Mapped[str] = mapped_column(sa.String(80), index=True)
    #: What the patient likes to be called; used on everything the patient reads.
    preferred_name: Mapped[str | None] = mapped_column(sa.String(80))
    #: The language of everything printed for the patient (``services.languages``: ``en`` or a
    #: catalogue's code). Migration 0031.
    preferred_language: Mapped[str] = mapped_column(sa.String(12), default="en", server_default="en")
    #: Inactive patients are kept for the record but left out of planning.
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    #: When the record was made.
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

    enrolments: Mapped[list["Enrolment"]] = relationship(
        back_populates="patient", order_by="Enrolment.start_date"
    )

    @property
    def display_name(self) -> str:
        """The name for patient-facing material: preferred name, else first name + initial."""
        if self.preferred_name:
            return self.preferred_name
        initial = f" {self.last_name[:1]}." if self.last_name else ""
        return f"{self.first_name}{initial}"

    @property
    def full_name(self) -> str:
        """First and last name, for staff."""
        return f"{self.first_name} {self.last_name}"

    def __str__(self) -> str:
        return f"{self.last_name}, {self.first_name} ({self.record_number})"


class Enrolment(VersionedMixin, db.Model):
    """A patient's stay in one track over a date range."""

    __tablename__ = "enrolment"
    __table_args__ = (
        sa.CheckConstraint(
            "end_date IS NULL OR end_date >= start_date", name="end_not_before_start"
        ),
        # At most one open enrolment per patient, enforced by the database.
        sa.Index(
            "uq_enrolment_one_open_per_patient",
            "patient_id",
            unique=True,
            sqlite_where=sa.text("end_date IS NULL"),
            postgresql_where=sa.text("end_date IS NULL"),
        ),
        # Migration 0009: a patient's enrolments in date order.
        sa.Index("ix_enrolment_patient_start", "patient_id", "start_date"),
        # Migration 0011: a counselor's open enrolments (where a caseload starts).
        sa.Index(
            "ix_enrolment_open_primary_counselor",
            "primary_counselor_id",
            sqlite_where=sa.text("end_date IS NULL"),
            postgresql_where=sa.text("end_date IS NULL"),
        ),
        # Migration 0012: who is enrolled in a track on a day (track page, whole-track
        # assigning), reaching the open enrolments without reading the ended ones.
        sa.Index("ix_enrolment_track_end", "track_id", "end_date"),
        # Migration 0023: what a plan goal's (enrolment, patient) foreign key points at.
        sa.Index("uq_enrolment_id_patient", "id", "patient_id", unique=True),
        # Migration 0033: a period's ends and starts (census, outcomes), read from the index alone.
        sa.Index("ix_enrolment_end_date", "end_date",
                 postgresql_include=["track_id", "start_date", "status", "patient_id"]),
        sa.Index("ix_enrolment_start_date", "start_date", postgresql_include=["track_id", "patient_id", "id"]),
        # Migration 0033: whether a start continues a stay (a step-down or step-up ending the day before).
        sa.Index(
            "ix_enrolment_moved_patient_end",
            "patient_id",
            "end_date",
            sqlite_where=sa.text("status IN ('stepped_down', 'stepped_up')"),
            postgresql_where=sa.text("status IN ('stepped_down', 'stepped_up')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Who is enrolled.
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), index=True)
    #: In which level of care.
    track_id: Mapped[int] = mapped_column(sa.ForeignKey("track.id"), index=True)
    #: First day in the track.
    start_date: Mapped[date] = mapped_column(sa.Date)
    #: Last day in the track; empty while the enrolment is open.
    end_date: Mapped[date | None] = mapped_column(sa.Date)
    #: active, stepped_down, stepped_up, discharged or withdrawn.
    status: Mapped[str] = mapped_column(
        choice("enrolment_status", ENROLMENT_STATUSES), default="active"
    )
    #: Why the enrolment ended.
    end_reason: Mapped[str] = mapped_column(sa.String(255), default="")
    #: The counselor responsible for this patient in this track.
    primary_counselor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff_user.id"), index=True
    )

    patient: Mapped[Patient] = relationship(back_populates="enrolments")
    track: Mapped["Track"] = relationship()  # noqa: F821
    primary_counselor: Mapped["StaffUser | None"] = relationship()  # noqa: F821

    def __str__(self) -> str:
        return f"Enrolment #{self.id}"
