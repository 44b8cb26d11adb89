"""Two patients, one preferred name: wherever names are printed together they are told apart.

The rule (``clinic.services.printed_names``) is tested on its own, then read back from the
PDFs that print names together: the session packet's sign-in sheet and plans, and a batch
of progress sheets (each sheet's name, its order and the PDF's outline).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from clinic.pdf import progress_batch, session_packet
from clinic.pdf.batches import group_patients
from clinic.services.printed_names import printed_names, staff_names
from test_pdf_packets import SESSION_DAY, make_session
from test_pdf_render import contains, page_texts, read_pdf


@dataclass
class P:
    id: int
    first_name: str
    last_name: str
    preferred_name: str | None = None
    record_number: str = ""

    @property
    def display_name(self) -> str:
        if self.preferred_name:
            return self.preferred_name
        return f"{self.first_name} {self.last_name[:1]}."


def test_a_unique_preferred_name_is_printed_as_it_is():
    people = [P(1, "Bartholomew", "Ross", "Bart"), P(2, "Ashley", "Northcote", "Ash"), P(3, "Cory", "Dunmore")]
    assert printed_names(people) == {1: "Bart", 2: "Ash", 3: "Cory D."}


def test_two_barts_become_first_name_and_initial():
    people = [P(1, "Bartholomew", "Ross", "Bart"), P(2, "Bart", "Smith"), P(3, "Ashley", "Northcote", "Ash")]
    people[1].preferred_name = "bart "  # the same name, typed differently
    assert printed_names(people) == {1: "Bart R.", 2: "bart S.", 3: "Ash"}


def test_two_bart_r_get_more_of_the_last_name_then_a_number():
    people = [P(1, "Bart", "Ross", "Bart"), P(2, "Bart", "Rudd", "Bart"), P(3, "Bart", "Smith", "Bart")]
    assert printed_names(people) == {1: "Bart Ro.", 2: "Bart Ru.", 3: "Bart S."}
    # A preferred name that already reads like someone else's told-apart name.
    people = [P(1, "Bart", "Ross", "Bart"), P(2, "Bartholomew", "Rabe", "Bart R."), P(3, "Bart", "Smith", "Bart")]
    names = printed_names(people)
    assert len({n.casefold() for n in names.values()}) == 3
    assert names[3] == "Bart S." and names[1] == "Bart Ro."
    # Same preferred name, same last name: numbered in the order of their records, never a record number.
    twins = [P(8, "Bart", "Ross", "Bart", "MRN-8"), P(5, "Bart", "Ross", "Bart", "MRN-5")]
    assert printed_names(twins) == {5: "Bart Ross (1)", 8: "Bart Ross (2)"}
    assert printed_names(list(reversed(twins))) == printed_names(twins)


def test_staff_sheets_add_the_record_number_only_to_identical_full_names():
    people = [P(1, "Bart", "Ross", "Bart", "MRN-1"), P(2, "Bart", "Ross", None, "MRN-2"), P(3, "Bart", "Rudd", None, "MRN-3")]
    assert staff_names(people) == {1: "Bart Ross (record no. MRN-1)", 2: "Bart Ross (record no. MRN-2)",
                                   3: "Bart Rudd"}


# In the PDFs -------------------------------------------------------------------------------
@pytest.fixture
def barts(make):
    """A group with two Barts (Ross and Smith) and Ash, members since January, in IOP."""
    facilitator = make.staff("counselor", full_name="Wren Facilitator")
    track = make.track("iop")
    group = make.group(track, facilitator=facilitator, name="IOP Evening A")
    people = {
        "ross": make.patient(first_name="Bartholomew", last_name="Ross", preferred_name="Bart", record_number="MRN-81001"),
        "smith": make.patient(first_name="Bart", last_name="Smith", preferred_name="Bart", record_number="MRN-81002"),
        "ash": make.patient(first_name="Ashley", last_name="Northcote", preferred_name="Ash", record_number="MRN-81003"),
    }
    for patient in people.values():
        make.enrolment(patient, track, start=date(2026, 1, 5))
        make.membership(group, patient, start=date(2026, 1, 5))
    return group, people, facilitator


def names_on(page: str) -> set[str]:
    return {name for name in ("Bart R.", "Bart S.", "Ash") if contains(page, name)}


def test_the_sign_in_sheet_and_the_plans_tell_the_two_barts_apart(barts):
    group, people, facilitator = barts
    session = make_session(group, facilitator)
    texts = page_texts(session_packet(session))
    sign_in, plans = texts[0], texts[1:]
    assert contains(sign_in, "Sign-in sheet")
    order = [sign_in.index(name) for name in ("Ash", "Bart R.", "Bart S.")]
    assert order == sorted(order)
    assert [names_on(page) for page in plans] == [{"Ash"}, {"Bart R."}, {"Bart S."}]
    assert contains(plans[1], "Hello Bart R.,") and contains(plans[2], "Hello Bart S.,")
    for text in texts:  # told apart without a record number or a whole last name
        assert "MRN-8100" not in text and "Ross" not in text and "Smith" not in text


def test_a_packet_with_two_bart_rs_prints_more_of_the_last_name(barts, make):
    group, people, facilitator = barts
    rudd = make.patient(first_name="Bart", last_name="Rudd", preferred_name="Bart", record_number="MRN-81004")
    make.membership(group, rudd, start=date(2026, 1, 5))
    session = make_session(group, facilitator)
    sign_in = page_texts(session_packet(session))[0]
    for name in ("Bart Ro.", "Bart Ru.", "Bart S.", "Ash"):
        assert contains(sign_in, name)
    assert not contains(sign_in, "Bart R.")


def test_a_patient_batch_names_each_sheet_apart_in_order_and_in_the_outline(barts):
    group, people, _ = barts
    start, end = date(2026, 1, 5), SESSION_DAY
    patients = group_patients(group, start, end, "patient")
    assert [p.last_name for p in patients] == ["Northcote", "Ross", "Smith"]
    data = progress_batch(patients, start, end, "patient")
    texts = page_texts(data)
    firsts = [t for t in texts if "Page 1 of" in t]
    assert [names_on(t) for t in firsts] == [{"Ash"}, {"Bart R."}, {"Bart S."}]
    assert contains(firsts[1], "Your progress, Bart R.") and contains(firsts[2], "Hello Bart S.,")
    outline = [item.title for item in read_pdf(data).outline if not isinstance(item, list)]
    assert "Your progress, Bart R." in outline and "Your progress, Bart S." in outline
    assert all("Ross" not in t and "Smith" not in t and "MRN-" not in t for t in texts)


def test_a_staff_batch_of_two_identical_full_names_adds_the_record_numbers(barts, make):
    group, people, _ = barts
    twin = make.patient(first_name="Bart", last_name="Smith", record_number="MRN-81009")
    make.membership(group, twin, start=date(2026, 1, 5))
    start, end = date(2026, 1, 5), SESSION_DAY
    data = progress_batch(group_patients(group, start, end, "staff"), start, end, "staff")
    outline = [item.title for item in read_pdf(data).outline if not isinstance(item, list)]
    assert "Progress sheet: Bart Smith (record no. MRN-81002)" in outline
    assert "Progress sheet: Bart Smith (record no. MRN-81009)" in outline
    assert "Progress sheet: Bartholomew Ross" in outline
