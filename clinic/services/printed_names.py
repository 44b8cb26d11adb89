"""The names printed for patients who appear together on one piece of paper.

``printed_names(patients)`` is the one home of the rule: wherever several patients'
names are printed together (a session's sign-in sheet and its plans, a batch of
progress sheets), each patient is named by the name they go by (``display_name``:
the preferred name, else first name and initial) when nobody else in that set would
print the same. People who would print the same are told apart step by step, only as
far as needed:

1. the name they go by (preferred name, else first name) and the initial of their last
   name: "Bart R." and "Bart S.";
2. more of the last name, one letter at a time: "Bart Ro." and "Bart Ru.", up to the
   whole last name ("Bart Ross");
3. as a last resort (same preferred and last name), a plain number in a stable order
   (the record's id): "Bart Ross (1)" and "Bart Ross (2)". The record number is never
   used: these names are printed on paper patients see and sign.

Staff sheets (``staff_names``) carry the full name and the record number anyway; in a
batch, two people with the same full name get the record number after their name in
the sheet's title (and so in the PDF's outline).

Names are compared without regard to case and surrounding spaces. The order of the
result does not depend on the order of the input.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Protocol


class _Named(Protocol):
    id: int
    first_name: str
    last_name: str
    preferred_name: str | None
    record_number: str

    @property
    def display_name(self) -> str: ...


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _given(patient: _Named) -> str:
    return (patient.preferred_name or "").strip() or (patient.first_name or "").strip()


def _with_last(patient: _Named, letters: int) -> str:
    """The given name and ``letters`` letters of the last name (the whole name when that is all)."""
    last = (patient.last_name or "").strip()
    if not last:
        return _given(patient)
    if letters >= len(last):
        return f"{_given(patient)} {last}"
    return f"{_given(patient)} {last[:letters]}."


def _clashes(names: dict[int, str]) -> list[list[int]]:
    by_key: dict[str, list[int]] = defaultdict(list)
    for patient_id, name in names.items():
        by_key[_key(name)].append(patient_id)
    return [sorted(ids) for ids in by_key.values() if len(ids) > 1]


def printed_names(patients: Iterable[_Named]) -> dict[int, str]:
    """Patient id -> the name to print for each of ``patients`` printed together.

    Every name in the result is distinct (ignoring case); see the module docstring for
    the steps.
    """
    people = {p.id: p for p in patients}
    names = {pid: p.display_name for pid, p in people.items()}
    # How many letters of the last name each patient's printed name shows (0: display name).
    letters = dict.fromkeys(people, 0)
    longest = max((len((p.last_name or "").strip()) for p in people.values()), default=0)
    for _ in range(longest + 1):
        clashes = _clashes(names)
        if not clashes:
            return names
        for ids in clashes:
            for pid in ids:
                letters[pid] += 1
                names[pid] = _with_last(people[pid], letters[pid])
    # Same name and same last name: number them, in the order of their records.
    while clashes := _clashes(names):
        for ids in clashes:
            for number, pid in enumerate(ids, start=1):
                names[pid] = f"{names[pid]} ({number})"
    return names


def staff_names(patients: Iterable[_Named]) -> dict[int, str]:
    """Patient id -> the name on a staff sheet printed with others: the full name, with the
    record number added for people whose full names are the same (staff paper only)."""
    people = list(patients)
    full = {p.id: f"{p.first_name} {p.last_name}" for p in people}
    clashing = {pid for ids in _clashes(full) for pid in ids}
    return {p.id: f"{full[p.id]} (record no. {p.record_number})" if p.id in clashing else full[p.id]
            for p in people}


__all__ = ["printed_names", "staff_names"]
