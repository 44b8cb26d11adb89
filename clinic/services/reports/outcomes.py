"""Outcomes by track: the PHQ-9 of the patients discharged in a period, per track.

**Who.** Every enrolment that ended with status "discharged" on a day in the period, in the
track of that enrolment. A step-down (or step-up) is not a discharge: the patient is counted
once, when the stay ends with a discharge, under the track they were discharged from, and
their baseline is taken from the start of the whole stay (the enrolments it continues by
step-down or step-up without a gap). Withdrawals are not discharges and are not counted.

**Which scores**, with the definitions of ``measure_trend`` (``stay_scores``, ``is_response``,
``is_remission``), judged on the day of discharge:

- only **signed** PHQ-9 count (a draft can still change); a corrected one counts with its
  corrected total (the latest addendum's: ``measure_trend.scores``);
- **baseline**: the first signed PHQ-9 of the stay; **latest**: the last one on or before
  the day of discharge (a PHQ-9 answered after the last day belongs to no stay's outcome);
- **change**: latest minus baseline, in points (negative is better);
- **response**: the latest at least 50 % below the baseline (not judged from a baseline of 0);
- **remission**: the latest below 5, from a baseline of 5 or more (not judged from a baseline
  already below 5).

**Nobody hidden.** Per track the patients with **one** signed PHQ-9 only (no second
measurement) and with **none** are counted in their own columns; the shares of response and
remission say over how many patients they were judged. The per-patient table lists every
discharged patient, with "–" where there is nothing to judge.

Counselors see the stays they were primary counselor of, and their caseload of today
(``access.enrolment_filter``): a patient discharged from their care stays in their outcomes,
another counselor's patient does not. Four statements whatever the
size of the clinic: the tracks; the discharges of the period with the patients' names; the
enrolments of those patients (for the stay's start); their administrations up to the last
day of the period (``measure_trend.scores``). The per-patient table is paged on the page
and complete in the files.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from ...extensions import db
from ...models import Enrolment, Patient, Track
from ..access import enrolment_filter, sees_everyone
from ..measure_trend import is_remission, is_response, scores, stay_scores
from ..page_window import PageWindow
from . import half_up, PAGE_SIZE, STAYS_NOTE, Column, Report, ReportFilters, Table, period_words

INSTRUMENT = "phq9"


@dataclass(frozen=True)
class Outcome:
    """One discharged patient's PHQ-9 over their stay."""

    patient_id: int
    name: str
    track_id: int
    discharged_on: date
    #: Signed PHQ-9 of the stay up to discharge.
    measured: int
    baseline: int | None
    latest: int | None
    response: bool | None
    remission: bool | None

    @property
    def change(self) -> int | None:
        return self.latest - self.baseline if self.measured >= 2 else None


def _verdict(value: bool | None, measured: int) -> str:
    if measured < 2:
        return "no second measurement" if measured == 1 else "no PHQ-9"
    if value is None:
        return "not judged"
    return "yes" if value else "no"


def outcomes(filters: ReportFilters, user: Any) -> list[Outcome]:
    """Every patient discharged in the period as ``user`` may see them, by track order then name (three statements)."""
    wanted = [c for c in (enrolment_filter(user),
                          Enrolment.track_id == filters.track_id if filters.track_id is not None else None)
              if c is not None]
    discharged = (Enrolment.status == "discharged", Enrolment.end_date >= filters.start,
                  Enrolment.end_date <= filters.end, *wanted)
    discharges = db.session.execute(
        sa.select(Enrolment.id, Enrolment.patient_id, Enrolment.track_id, Enrolment.end_date,
                  Patient.last_name, Patient.first_name)
        .join(Patient, Patient.id == Enrolment.patient_id)
        .join(Track, Track.id == Enrolment.track_id)
        .where(*discharged)
        .order_by(Track.care_level, Track.name, Track.id, Patient.last_name, Patient.first_name, Patient.id,
                  Enrolment.end_date, Enrolment.id)
    ).all()
    if not discharges:
        return []
    # The same patients as a subquery, not a list of parameters growing with them.
    ids = sa.select(Enrolment.patient_id).where(*discharged)
    history: dict[int, list] = defaultdict(list)
    for row in db.session.execute(
        sa.select(Enrolment.patient_id, Enrolment.start_date, Enrolment.end_date, Enrolment.status)
        .where(Enrolment.patient_id.in_(ids))
    ):
        history[row.patient_id].append(row)
    # Only the signed PHQ-9 (all that ``stay_scores`` keeps of them), through the patients' index.
    found = scores(ids, filters.end, instrument=INSTRUMENT, signed_only=True)
    result = []
    for d in discharges:
        shown, _, _ = stay_scores(INSTRUMENT, found.get(d.patient_id, []), history[d.patient_id], d.end_date)
        base = shown[0].total if shown else None
        last = shown[-1].total if shown else None
        two = len(shown) >= 2
        result.append(Outcome(
            d.patient_id, f"{d.last_name}, {d.first_name}", d.track_id, d.end_date, len(shown), base, last,
            is_response(base, last) if two else None, is_remission(base, last) if two else None,
        ))
    return result


def build(filters: ReportFilters, user: Any, *, everything: bool = False) -> Report:
    """Outcomes of the patients discharged from ``filters.start`` to ``filters.end`` as ``user`` may see them;
    ``everything``: every patient (the files), otherwise one page of the per-patient table."""
    track_query = sa.select(Track.id, Track.name).order_by(Track.care_level, Track.name, Track.id)
    if filters.track_id is not None:
        track_query = track_query.where(Track.id == filters.track_id)
    tracks = db.session.execute(track_query).all()
    names = {t.id: t.name for t in tracks}
    rows = outcomes(filters, user)

    summary = Table(
        "tracks", "Per track",
        (Column("Track"), Column("Discharged", "int"), Column("Two or more signed PHQ-9", "int"),
         Column("Only one (no second measurement)", "int"), Column("No signed PHQ-9", "int"),
         Column("Average baseline", "decimal"), Column("Average latest", "decimal"),
         Column("Response", "int"), Column("Response judged for", "int"), Column("Response share", "percent"),
         Column("Remission", "int"), Column("Remission judged for", "int"), Column("Remission share", "percent")),
        empty="There are no tracks.",
    )

    def figures(chosen: list[Outcome]) -> tuple:
        two = [o for o in chosen if o.measured >= 2]
        response = [o for o in two if o.response is not None]
        remission = [o for o in two if o.remission is not None]
        responded = sum(1 for o in response if o.response)
        remitted = sum(1 for o in remission if o.remission)
        return (len(chosen), len(two), sum(1 for o in chosen if o.measured == 1),
                sum(1 for o in chosen if o.measured == 0),
                half_up(sum(o.baseline for o in two) / len(two), 1) if two else None,
                half_up(sum(o.latest for o in two) / len(two), 1) if two else None,
                responded, len(response), responded / len(response) if response else None,
                remitted, len(remission), remitted / len(remission) if remission else None)

    by_track: dict[int, list[Outcome]] = defaultdict(list)
    for o in rows:
        by_track[o.track_id].append(o)
    for t in tracks:
        summary.rows.append((t.name, *figures(by_track.get(t.id, []))))
    if len(tracks) > 1:
        summary.footer = ("All tracks", *figures(rows))

    window = None if everything else PageWindow.of(filters.page, len(rows), PAGE_SIZE)
    shown = rows if window is None else rows[window.offset:window.offset + window.size]
    patients = Table(
        "patients", "Patients discharged",
        (Column("Patient"), Column("Track"), Column("Discharged on", "date"), Column("Signed PHQ-9 in the stay", "int"),
         Column("Baseline PHQ-9", "int"), Column("Latest PHQ-9", "int"), Column("Change, points", "int"),
         Column("Response"), Column("Remission")),
        window=window, paged=True, empty="Nobody was discharged in the period.",
    )
    for o in shown:
        patients.rows.append((o.name, names.get(o.track_id, ""), o.discharged_on, o.measured, o.baseline,
                              o.latest if o.measured >= 2 else None, o.change,
                              _verdict(o.response, o.measured), _verdict(o.remission, o.measured)))
    patients.row_patients = [o.patient_id for o in shown]
    notes = [
        "Discharged: an enrolment that ended with status discharged in the period, counted in its track. A "
        "step-down or step-up is not a discharge: the patient counts when the stay ends with one, in the track "
        "they left, with the baseline from the start of the whole stay. Withdrawals are not counted.",
        "Only signed PHQ-9 count, with their corrected totals. Baseline: the first of the stay; latest: the last "
        "on or before the day of discharge. Change: latest minus baseline (negative is better).",
        "Response: the latest at least 50 % below the baseline (not judged from a baseline of 0). Remission: "
        "the latest below 5, from a baseline of 5 or more (not judged from a baseline below 5). The shares are "
        "over the patients judged, shown beside them.",
        "Nobody is hidden: patients with one signed PHQ-9 only (no second measurement) and with none are "
        "counted in their own columns and listed below.",
    ]
    if not sees_everyone(user):
        notes.append(STAYS_NOTE)
    return Report(
        key="outcomes", title="Outcomes by track", period=period_words(filters.start, filters.end), notes=notes,
        tables=[summary, patients], patient_ids=sorted({o.patient_id for o in shown}),
        filters={"from": filters.start.isoformat(), "to": filters.end.isoformat(),
                 **({"track": filters.track_id} if filters.track_id is not None else {})},
    )


__all__ = ["INSTRUMENT", "Outcome", "build", "outcomes"]
