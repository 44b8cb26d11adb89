"""Standardised outcome measures (PHQ-9, GAD-7): one row per administration, one per item.

The wording, codes and scoring live in ``clinic.services.instruments``; these tables keep
what was answered. Once signed, an administration and its items are final (triggers of
migration 0015 refuse any UPDATE or DELETE): a correction is a ``MeasureAddendum`` holding
the corrected answers and the new total, never a change of the signed rows.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import VersionedMixin, choice, utcnow

MEASURE_INSTRUMENTS = ("phq9", "gad7")
#: How the form was given: in person, on paper brought back, or read out over the phone.
MEASURE_MODES = ("in_person", "paper", "phone")
MEASURE_BANDS = ("minimal", "mild", "moderate", "moderately_severe", "severe")
#: The totals each instrument can reach (3 points per item): PHQ-9 0-27, GAD-7 0-21.
TOTAL_RANGE = "{col} BETWEEN 0 AND 27 AND (instrument <> 'gad7' OR {col} <= 21)"


class MeasureAdministration(VersionedMixin, db.Model):
    """One PHQ-9 or GAD-7 given to a patient on a day, as entered by staff."""

    __tablename__ = "measure_administration"
    __table_args__ = (
        sa.CheckConstraint(TOTAL_RANGE.format(col="total"), name="total_in_range"),
        sa.CheckConstraint("difficulty IS NULL OR difficulty BETWEEN 0 AND 3", name="difficulty_range"),
        sa.CheckConstraint("(signed_at IS NULL) = (signed_by_id IS NULL)", name="signed_by_someone"),
        # The patient page lists a patient's measures newest first.
        sa.Index("ix_measure_administration_patient_on", "patient_id", "administered_on"),
        # Migration 0021: the latest administration of each instrument (the schedule).
        sa.Index("ix_measure_administration_patient_instrument_on", "patient_id", "instrument", "administered_on"),
        # Migration 0022: the latest measures entered (Records -> Outcome measures).
        sa.Index("ix_measure_administration_entered_at", "entered_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Who answered.
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"))
    #: The enrolment covering the day it was given (empty when the patient was not enrolled).
    enrolment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enrolment.id"), index=True)
    #: phq9 or gad7.
    instrument: Mapped[str] = mapped_column(choice("measure_instrument", MEASURE_INSTRUMENTS))
    #: The day the patient answered (not the day it was typed in).
    administered_on: Mapped[date] = mapped_column(sa.Date)
    #: in_person, paper (a printed form brought back) or phone.
    mode: Mapped[str] = mapped_column(choice("measure_mode", MEASURE_MODES))
    #: The unscored difficulty question, 0 (not difficult at all) to 3; empty when not answered.
    difficulty: Mapped[int | None] = mapped_column(sa.Integer)
    #: The total as entered (prorated when items were missing).
    total: Mapped[int] = mapped_column(sa.Integer)
    #: True when missing items were prorated.
    prorated: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    #: The severity band of ``total``.
    band: Mapped[str] = mapped_column(choice("measure_band", MEASURE_BANDS, length=24))
    #: Who typed it in, and when.
    entered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"), index=True)
    entered_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    #: Who signed it and when; empty while it is a draft. Signed means final.
    signed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    signed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))

    patient: Mapped["Patient"] = relationship()  # noqa: F821
    entered_by: Mapped["StaffUser | None"] = relationship(foreign_keys=[entered_by_id])  # noqa: F821
    signed_by: Mapped["StaffUser | None"] = relationship(foreign_keys=[signed_by_id])  # noqa: F821
    items: Mapped[list["MeasureItem"]] = relationship(
        back_populates="administration", order_by="MeasureItem.item_number"
    )
    addenda: Mapped[list["MeasureAddendum"]] = relationship(
        back_populates="administration", order_by="MeasureAddendum.id"
    )

    @property
    def status(self) -> str:
        """"signed" once signed (final), otherwise "draft"."""
        return "draft" if self.signed_at is None else "signed"

    @property
    def latest_addendum(self) -> "MeasureAddendum | None":
        return self.addenda[-1] if self.addenda else None

    def current_answers(self) -> dict[int, int | None]:
        """Item number -> answer (None: missing) as it stands: the latest addendum's, else as entered."""
        latest = self.latest_addendum
        if latest is not None:
            return {int(number): value for number, value in latest.answers.items()}
        return {item.item_number: item.answer for item in self.items}

    @property
    def current_total(self) -> int:
        latest = self.latest_addendum
        return self.total if latest is None else latest.total

    @property
    def current_prorated(self) -> bool:
        latest = self.latest_addendum
        return self.prorated if latest is None else latest.prorated

    @property
    def item9_positive(self) -> bool:
        """True when PHQ-9 item 9 (thoughts of being better off dead or of self-harm) is above 0.

        A safety task opens on it (``services.safety.open_if_positive``).
        """
        if self.instrument != "phq9":
            return False
        return (self.current_answers().get(9) or 0) > 0

    def __str__(self) -> str:
        return f"Measure #{self.id}"


class MeasureItem(db.Model):
    """One answered (or missing) item of an administration."""

    __tablename__ = "measure_item"
    __table_args__ = (
        sa.UniqueConstraint("administration_id", "item_number", name="uq_measure_item_number"),
        sa.CheckConstraint("item_number BETWEEN 1 AND 9", name="item_number_range"),
        sa.CheckConstraint("answer IS NULL OR answer BETWEEN 0 AND 3", name="answer_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    administration_id: Mapped[int] = mapped_column(sa.ForeignKey("measure_administration.id"))
    #: 1 to 9 (PHQ-9) or 1 to 7 (GAD-7).
    item_number: Mapped[int] = mapped_column(sa.Integer)
    #: 0 (Not at all) to 3 (Nearly every day); empty when marked missing.
    answer: Mapped[int | None] = mapped_column(sa.Integer)

    administration: Mapped[MeasureAdministration] = relationship(back_populates="items")

    def __str__(self) -> str:
        return f"Measure item #{self.id}"


class MeasureAddendum(db.Model):
    """A correction of a signed administration: who, when, why, the answers and the new total.

    The signed rows stay as they were; the latest addendum's answers and total are the
    measure as it now stands. Addenda are never edited or removed (database triggers).
    """

    __tablename__ = "measure_addendum"
    __append_only__ = True
    __table_args__ = (
        sa.CheckConstraint("length(trim(reason)) > 0", name="reason_given"),
        sa.CheckConstraint("total BETWEEN 0 AND 27", name="total_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    administration_id: Mapped[int] = mapped_column(sa.ForeignKey("measure_administration.id"), index=True)
    #: Who corrected it, and when.
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    #: Why.
    reason: Mapped[str] = mapped_column(sa.String(500))
    #: Every item's answer after the correction ({"1": 2, ..., "9": null}) and the difficulty.
    answers: Mapped[dict] = mapped_column(sa.JSON)
    difficulty: Mapped[int | None] = mapped_column(sa.Integer)
    #: What changed: {"item 3": [before, after], "total": [before, after], ...}.
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: The corrected total, and whether it was prorated.
    total: Mapped[int] = mapped_column(sa.Integer)
    prorated: Mapped[bool] = mapped_column(sa.Boolean, default=False)

    administration: Mapped[MeasureAdministration] = relationship(back_populates="addenda")
    author: Mapped["StaffUser | None"] = relationship()  # noqa: F821

    def __str__(self) -> str:
        return f"Measure addendum #{self.id}"
