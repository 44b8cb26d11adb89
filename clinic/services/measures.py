"""Entering, signing and correcting PHQ-9 and GAD-7 administrations; the patient's list of them.

The instruments (wording, codes, scoring, the prorating rule) are ``instruments.py``; this
module is the only write path for their answers:

- ``save_administration``: a new or draft administration, saved as a draft or signed;
- ``correct_by_addendum``: a signed administration's correction (the signed rows never change);
- PHQ-9 item 9 above 0 opens a safety task (``services.safety``) in the same transaction as
  the save or correction that recorded it.

A staff member enters a measure for a patient they may see (``access.may_enter_measures``);
every change is audited by the flush listener; a page's save carries the version it was
opened with (``locking``) and a correction the latest addendum it showed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from ..extensions import db
from ..models import Enrolment, MeasureAddendum, MeasureAdministration, MeasureItem, Patient, StaffUser
from ..models._types import utcnow
from . import access, instruments, safety
from .errors import RuleViolation
from .instruments import MISSING, Instrument, Score
from .limits import REASON_LIMIT
from .locking import UNCHECKED, StaleEdit, check_version_unless_unchecked
from .recording.save import acting

#: How a form was given, as stored and in the clinic's words.
MODES = (("in_person", "In person"), ("paper", "Paper form brought back"), ("phone", "Phone"))
MODE_LABELS = dict(MODES)
#: Measures listed on the patient page (newest first).
LISTED = 50

NOT_YOURS = "You may enter measures only for patients on your caseload."
SIGNED_FINAL = "This measure is signed: it is final. Correct it by addendum instead."
CORRECTED_MEANWHILE = (
    "Someone else corrected this measure after you opened it. Nothing was saved: "
    "check the measure as it is now and correct it again."
)


@dataclass
class Entry:
    """What a form says: answers (item -> 0-3, or None when marked missing; an absent item is
    unanswered), the difficulty question (None: not answered), the day and how it was given."""

    answers: dict[int, int | None]
    administered_on: date | None
    mode: str
    difficulty: int | None = None


class MeasureRefused(RuleViolation):
    """A form that was not saved, with its field problems (nothing saved)."""

    def __init__(self, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.errors = errors or {}


# Reading a form --------------------------------------------------------------------------
def read_answers(form: Instrument, raw: Mapping[str, str]) -> tuple[dict[int, int | None], int | None]:
    """The answers a form posted (``item-1`` … as "0"-"3" or "missing") and the difficulty.

    An item left empty is absent from the answers (``save_administration`` refuses it);
    something else than a choice offered is refused at once.
    """
    answers: dict[int, int | None] = {}
    for item in form.items:
        value = (raw.get(f"item-{item.number}") or "").strip()
        if value == MISSING:
            answers[item.number] = None
        elif value in ("0", "1", "2", "3"):
            answers[item.number] = int(value)
        elif value:
            raise MeasureRefused("Nothing was saved: an answer was not one of the choices.",
                                 {f"item-{item.number}": "Choose one of the answers, or missing."})
    difficulty = (raw.get("difficulty") or "").strip()
    if difficulty and difficulty not in ("0", "1", "2", "3"):
        raise MeasureRefused("Nothing was saved: an answer was not one of the choices.",
                             {"difficulty": "Choose one of the answers."})
    return answers, int(difficulty) if difficulty else None


def _check_items(form: Instrument, answers: Mapping[int, int | None]) -> Score:
    errors = {f"item-{item.number}": "Answer this item or mark it missing."
              for item in form.items if item.number not in answers}
    if errors:
        raise MeasureRefused(
            "Nothing was saved: the form is incomplete. Answer every item, or mark an item the patient "
            "left out as missing (" + form.rule + ")", errors)
    try:
        return instruments.score(form, answers)
    except RuleViolation as exc:
        missing = {f"item-{n}": "Marked missing." for n, v in answers.items() if v is None}
        raise MeasureRefused(str(exc), missing) from None


def first_day(patient: Patient) -> date:
    """The earliest day a measure may be dated: the first enrolment's start, else the record's creation."""
    started = db.session.scalar(sa.select(sa.func.min(Enrolment.start_date)).where(Enrolment.patient_id == patient.id))
    return started or patient.created_at.date()


def _check_entry(patient: Patient, entry: Entry, today: date) -> None:
    errors = {}
    if entry.administered_on is None:
        errors["administered_on"] = "Give the day the patient answered."
    elif entry.administered_on > today:
        errors["administered_on"] = "The day answered cannot be in the future."
    else:
        earliest = first_day(patient)
        if entry.administered_on < earliest:
            errors["administered_on"] = (
                f"The day answered cannot be before {earliest.isoformat()} (the patient's first enrolment).")
    if entry.mode not in MODE_LABELS:
        errors["mode"] = "Choose how the form was given."
    if entry.difficulty is not None and entry.difficulty not in (0, 1, 2, 3):
        errors["difficulty"] = "Choose one of the answers."
    if errors:
        raise MeasureRefused("Nothing was saved: correct the fields marked below.", errors)


def enrolment_on(patient_id: int, day: date) -> int | None:
    """The id of the patient's enrolment covering ``day`` (None when not enrolled then)."""
    return db.session.scalar(
        sa.select(Enrolment.id).where(
            Enrolment.patient_id == patient_id, Enrolment.start_date <= day,
            sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= day),
        ).order_by(Enrolment.start_date.desc()).limit(1))


# Writing -----------------------------------------------------------------------------------
def save_administration(
    patient: Patient,
    instrument_code: str,
    entry: Entry,
    actor: StaffUser,
    *,
    sign: bool = False,
    administration: MeasureAdministration | None = None,
    expected_version=UNCHECKED,
    today: date | None = None,
) -> MeasureAdministration:
    """Save a measure as a draft (or signed, ``sign=True``) and commit; return it.

    ``administration`` is the draft being continued (None: a new one); its version as the
    page showed it is ``expected_version`` (a stale, missing or malformed one is refused with
    ``StaleEdit``). Refused (``MeasureRefused``, nothing saved): an incomplete form (an item
    neither answered nor marked missing), more missing items than the prorating rule allows
    or PHQ-9 item 9 missing, a day in the future or before the patient's first enrolment, a
    signed administration (final: correct it by addendum). Item 9 above 0 opens a safety task
    in the same transaction (``safety.open_if_positive``).
    """
    if not access.may_enter_measures(actor, patient.id):
        raise RuleViolation(NOT_YOURS)
    form = instruments.instrument(instrument_code)
    today = today or date.today()
    if administration is not None:
        if administration.signed_at is not None:
            raise RuleViolation(SIGNED_FINAL)
        if administration.patient_id != patient.id or administration.instrument != form.code:
            raise RuleViolation("That measure belongs to another form.")
        check_version_unless_unchecked(administration, expected_version)
    _check_entry(patient, entry, today)
    result = _check_items(form, entry.answers)
    enrolment_id = enrolment_on(patient.id, entry.administered_on)
    try:
        with acting(actor):
            if administration is None:
                administration = MeasureAdministration(patient_id=patient.id, instrument=form.code,
                                                       entered_by_id=actor.id, entered_at=utcnow())
                db.session.add(administration)
            administration.administered_on = entry.administered_on
            administration.enrolment_id = enrolment_id
            administration.mode = entry.mode
            administration.difficulty = entry.difficulty
            administration.total = result.total
            administration.prorated = result.prorated
            administration.band = result.band
            db.session.flush()
            saved = {item.item_number: item for item in administration.items}
            for number, answer in entry.answers.items():
                if number in saved:
                    saved[number].answer = answer
                else:
                    db.session.add(MeasureItem(administration_id=administration.id, item_number=number,
                                               answer=answer))
            # The items are written before the signature: the database refuses any change
            # to the items of a signed administration.
            db.session.flush()
            if sign:
                administration.signed_at = utcnow()
                administration.signed_by_id = actor.id
            # Item 9 above 0: the safety task opens in this same transaction.
            safety.open_if_positive(administration, entry.answers.get(9), actor)
            db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise StaleEdit() from None
    db.session.refresh(administration)
    return administration


def correct_by_addendum(
    administration: MeasureAdministration,
    answers: Mapping[int, int | None],
    difficulty: int | None,
    reason: str,
    actor: StaffUser,
    *,
    seen_addendum=UNCHECKED,
) -> MeasureAddendum:
    """Correct a signed measure by an addendum (who, when, why, the answers and the new total); commit.

    The signed administration and its items are never changed. ``seen_addendum`` is the id
    of the latest addendum the page showed ("none" when it showed none): a correction made
    meanwhile refuses this one (``StaleEdit``). The answers follow the same rules as a
    first entry (missing items within the prorating rule). A raised item 9 opens a new safety
    task in the same transaction.
    """
    if not access.may_enter_measures(actor, administration.patient_id):
        raise RuleViolation(NOT_YOURS)
    if administration.signed_at is None:
        raise RuleViolation("Only a signed measure is corrected by addendum; edit the draft itself instead.")
    latest = administration.latest_addendum
    if seen_addendum is not UNCHECKED:
        shown = str(seen_addendum or "").strip()
        if shown != (str(latest.id) if latest else "none"):
            raise StaleEdit(CORRECTED_MEANWHILE)
    form = instruments.instrument(administration.instrument)
    errors = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = "Give the reason for the correction."
    elif len(reason) > REASON_LIMIT:
        errors["reason"] = f"Keep the reason to {REASON_LIMIT} characters or fewer."
    if difficulty is not None and difficulty not in (0, 1, 2, 3):
        errors["difficulty"] = "Choose one of the answers."
    if errors:
        raise MeasureRefused("Nothing was saved: correct the fields marked below.", errors)
    result = _check_items(form, answers)
    before = administration.current_answers()
    before_difficulty = latest.difficulty if latest else administration.difficulty
    changes: dict[str, list] = {
        f"item {n}": [before.get(n), answers[n]] for n in sorted(answers) if before.get(n) != answers[n]
    }
    if before_difficulty != difficulty:
        changes["difficulty"] = [before_difficulty, difficulty]
    if not changes:
        raise MeasureRefused("Nothing was saved: no answer was changed.")
    if administration.current_total != result.total:
        changes["total"] = [administration.current_total, result.total]
    if administration.current_prorated != result.prorated:
        changes["prorated"] = [administration.current_prorated, result.prorated]
    with acting(actor):
        addendum = MeasureAddendum(
            administration_id=administration.id, author_id=actor.id, created_at=utcnow(), reason=reason,
            answers={str(n): answers[n] for n in sorted(answers)}, difficulty=difficulty, changes=changes,
            total=result.total, prorated=result.prorated,
        )
        db.session.add(addendum)
        safety.open_if_positive(administration, answers.get(9), actor)
        db.session.commit()
    db.session.expire(administration, ["addenda"])
    return addendum


# Reading -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    """One measure in a list: what it is, when, the score as it now stands and its state."""

    id: int
    patient_id: int
    instrument: str
    administered_on: date
    total: int
    band: str
    prorated: bool
    status: str
    corrected: bool
    mode: str

    @property
    def band_label(self) -> str:
        return instruments.BAND_LABELS[self.band]


def _line(row: MeasureAdministration) -> Line:
    form = instruments.INSTRUMENTS[row.instrument]
    total = row.current_total
    return Line(id=row.id, patient_id=row.patient_id, instrument=form.name, administered_on=row.administered_on,
                total=total, band=form.band(total), prorated=row.current_prorated, status=row.status,
                corrected=bool(row.addenda), mode=MODE_LABELS[row.mode])


def patient_measures(patient_id: int, limit: int = LISTED) -> list[Line]:
    """The patient's measures, newest first, as they now stand (two statements however many)."""
    rows = db.session.scalars(
        sa.select(MeasureAdministration).where(MeasureAdministration.patient_id == patient_id)
        .options(selectinload(MeasureAdministration.addenda))
        .order_by(MeasureAdministration.administered_on.desc(), MeasureAdministration.id.desc())
        .limit(limit)
    ).all()
    return [_line(row) for row in rows]


@dataclass(frozen=True)
class PatientName:
    """Who a listed measure is of: plain values, so they outlive the commit of the page's audit."""

    id: int
    first_name: str
    last_name: str


def recent(user, limit: int = 25) -> list[tuple[Line, PatientName]]:
    """The latest measures entered for patients ``user`` may see, with the patient (the menu page).

    Three statements whatever the clinic's size: newest first through the ``entered_at``
    index (migration 0022) for those who see everyone, through the patient index for a
    counselor's caseload; then the addenda of those listed.
    """
    query = (sa.select(MeasureAdministration)
             .options(joinedload(MeasureAdministration.patient), selectinload(MeasureAdministration.addenda))
             .order_by(MeasureAdministration.entered_at.desc(), MeasureAdministration.id.desc()).limit(limit))
    clause = access.patient_filter(user, MeasureAdministration.patient_id)
    if clause is not None:
        query = query.where(clause)
    return [(_line(row), PatientName(row.patient.id, row.patient.first_name, row.patient.last_name))
            for row in db.session.scalars(query).unique()]


def load(administration_id: int) -> MeasureAdministration | None:
    """An administration with its patient, items, addenda and who entered and signed it."""
    return db.session.get(
        MeasureAdministration, administration_id,
        options=[joinedload(MeasureAdministration.patient), joinedload(MeasureAdministration.entered_by),
                 joinedload(MeasureAdministration.signed_by), selectinload(MeasureAdministration.items),
                 selectinload(MeasureAdministration.addenda).joinedload(MeasureAddendum.author)],
    )


def score_text(total: int, band: str, prorated: bool) -> str:
    """"12 · Moderate (prorated)" — a score in words for pages."""
    return f"{total} · {instruments.BAND_LABELS[band]}" + (" (prorated)" if prorated else "")


__all__ = [
    "CORRECTED_MEANWHILE", "Entry", "Line", "MODES", "MODE_LABELS", "MeasureRefused", "PatientName",
    "correct_by_addendum", "enrolment_on", "first_day", "load", "patient_measures", "read_answers", "recent",
    "save_administration", "score_text",
]
