"""The standardised outcome measures as data: PHQ-9 and GAD-7, their wording, codes and scoring.

Everything a screen, a printed form or a score needs about an instrument lives here and
nowhere else: the exact public-domain wording (stem, items, answer choices, the unscored
difficulty question), the copyright notice, the LOINC codes and the scoring rules.

Scoring
-------
Each item is answered 0 (Not at all), 1 (Several days), 2 (More than half the days) or
3 (Nearly every day); the total is the sum. Severity bands:

- PHQ-9 (0–27): 0–4 minimal, 5–9 mild, 10–14 moderate, 15–19 moderately severe, 20–27 severe.
- GAD-7 (0–21): 0–4 minimal, 5–9 mild, 10–14 moderate, 15–21 severe.

Missing items (the prorating rule)
----------------------------------
A form with an unanswered item is refused unless that item is marked "missing". Then:

- PHQ-9: at most 2 items may be missing, and never item 9 (the safety question: it must
  be answered);
- GAD-7: at most 1 item may be missing.

The total is then prorated: the mean of the answered items times the number of items,
rounded half up (``round(mean x n)``), and shown as "prorated". More missing items are
refused with a message naming the rule.

LOINC codes
-----------
Panel, total score and item codes as published by LOINC (PHQ-9 panel 44249-1, total
44261-6, items 44250-9 … 44260-8; GAD-7 panel 69737-5, total 70274-6, items 69725-0 …
69736-7); the item codes were checked against HL7's FHIR examples of both forms. The
difficulty question's codes are left out (not verified).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Mapping

from .errors import RuleViolation

#: The notice shown under every form on screen and on paper.
COPYRIGHT = (
    "PHQ-9 and GAD-7 were developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke "
    "and colleagues, with an educational grant from Pfizer Inc. No permission required to "
    "reproduce, translate, display or distribute."
)

#: The answer choices of every item, as (score, wording).
ANSWERS: tuple[tuple[int, str], ...] = (
    (0, "Not at all"),
    (1, "Several days"),
    (2, "More than half the days"),
    (3, "Nearly every day"),
)

#: The unscored question after the items, and its choices (stored 0–3 in this order).
DIFFICULTY_QUESTION = (
    "If you checked off any problems, how difficult have these problems made it for you to do your "
    "work, take care of things at home, or get along with other people?"
)
DIFFICULTY_CHOICES: tuple[tuple[int, str], ...] = (
    (0, "Not difficult at all"),
    (1, "Somewhat difficult"),
    (2, "Very difficult"),
    (3, "Extremely difficult"),
)

#: What a form sends for an item that was left unanswered on purpose.
MISSING = "missing"

#: Band codes (stored) and their words.
BAND_LABELS = {
    "minimal": "Minimal",
    "mild": "Mild",
    "moderate": "Moderate",
    "moderately_severe": "Moderately severe",
    "severe": "Severe",
}
BANDS = tuple(BAND_LABELS)


@dataclass(frozen=True)
class Item:
    """One question: its number (from 1), exact wording and LOINC code."""

    number: int
    text: str
    loinc: str


@dataclass(frozen=True)
class Instrument:
    """A questionnaire: wording, codes and scoring rules."""

    code: str
    name: str
    title: str
    stem: str
    items: tuple[Item, ...]
    #: (lowest total, band code), ascending.
    bands: tuple[tuple[int, str], ...]
    #: How many items may be marked missing and still be prorated.
    max_missing: int
    #: Items that must always be answered (never prorated).
    required_items: tuple[int, ...]
    loinc_panel: str
    loinc_total: str
    #: The prorating rule in words (module, form and README say the same).
    rule: str

    @property
    def max_total(self) -> int:
        return 3 * len(self.items)

    def item(self, number: int) -> Item:
        return self.items[number - 1]

    def band(self, total: int) -> str:
        """The severity band code of ``total``."""
        if not 0 <= total <= self.max_total:
            raise ValueError(f"{self.name} totals run from 0 to {self.max_total}.")
        found = self.bands[0][1]
        for lowest, code in self.bands:
            if total >= lowest:
                found = code
        return found

    def band_ranges(self) -> list[tuple[int, int, str]]:
        """(from, to, words) of each band, for the form's legend."""
        ranges = []
        for index, (lowest, code) in enumerate(self.bands):
            highest = self.bands[index + 1][0] - 1 if index + 1 < len(self.bands) else self.max_total
            ranges.append((lowest, highest, BAND_LABELS[code]))
        return ranges


PHQ9 = Instrument(
    code="phq9",
    name="PHQ-9",
    title="Patient Health Questionnaire (PHQ-9)",
    stem="Over the last 2 weeks, how often have you been bothered by any of the following problems?",
    items=(
        Item(1, "Little interest or pleasure in doing things", "44250-9"),
        Item(2, "Feeling down, depressed, or hopeless", "44255-8"),
        Item(3, "Trouble falling or staying asleep, or sleeping too much", "44259-0"),
        Item(4, "Feeling tired or having little energy", "44254-1"),
        Item(5, "Poor appetite or overeating", "44251-7"),
        Item(6, "Feeling bad about yourself — or that you are a failure or have let yourself or your "
                "family down", "44258-2"),
        Item(7, "Trouble concentrating on things, such as reading the newspaper or watching television",
             "44252-5"),
        Item(8, "Moving or speaking so slowly that other people could have noticed? Or the opposite — "
                "being so fidgety or restless that you have been moving around a lot more than usual",
             "44253-3"),
        Item(9, "Thoughts that you would be better off dead or of hurting yourself in some way", "44260-8"),
    ),
    bands=((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "moderately_severe"), (20, "severe")),
    max_missing=2,
    required_items=(9,),
    loinc_panel="44249-1",
    loinc_total="44261-6",
    rule=(
        "PHQ-9: at most 2 items may be marked missing, and item 9 never (it must be answered); "
        "the total is then prorated: the mean of the answered items times 9, rounded half up."
    ),
)

GAD7 = Instrument(
    code="gad7",
    name="GAD-7",
    title="Generalized Anxiety Disorder scale (GAD-7)",
    stem="Over the last 2 weeks, how often have you been bothered by the following problems?",
    items=(
        Item(1, "Feeling nervous, anxious, or on edge", "69725-0"),
        Item(2, "Not being able to stop or control worrying", "68509-9"),
        Item(3, "Worrying too much about different things", "69733-4"),
        Item(4, "Trouble relaxing", "69734-2"),
        Item(5, "Being so restless that it is hard to sit still", "69735-9"),
        Item(6, "Becoming easily annoyed or irritable", "69689-8"),
        Item(7, "Feeling afraid, as if something awful might happen", "69736-7"),
    ),
    bands=((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe")),
    max_missing=1,
    required_items=(),
    loinc_panel="69737-5",
    loinc_total="70274-6",
    rule=(
        "GAD-7: at most 1 item may be marked missing; the total is then prorated: "
        "the mean of the answered items times 7, rounded half up."
    ),
)

INSTRUMENTS: dict[str, Instrument] = {PHQ9.code: PHQ9, GAD7.code: GAD7}
INSTRUMENT_CODES = tuple(INSTRUMENTS)
#: PHQ-9's safety question (item 9): any answer above 0 needs a clinician's attention.
SAFETY_ITEM = 9


def instrument(code: str) -> Instrument:
    """The instrument with ``code`` ("phq9" or "gad7"); ``RuleViolation`` for anything else."""
    found = INSTRUMENTS.get(code)
    if found is None:
        raise RuleViolation("Choose the PHQ-9 or the GAD-7.")
    return found


@dataclass(frozen=True)
class Score:
    """A scored form: total, whether it was prorated, the band and what was missing."""

    total: int
    prorated: bool
    band: str
    missing: tuple[int, ...]

    @property
    def band_label(self) -> str:
        return BAND_LABELS[self.band]


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def score(form: Instrument, answers: Mapping[int, int | None]) -> Score:
    """Score ``answers`` (item number -> 0–3, or None when marked missing).

    Every item must be present: answered or marked missing (None). Missing items are
    prorated within the instrument's rule, otherwise refused (``RuleViolation``).
    """
    numbers = [item.number for item in form.items]
    absent = [n for n in numbers if n not in answers]
    if absent:
        raise RuleViolation(
            f"Answer every item or mark it missing: item{'s' if len(absent) > 1 else ''} "
            f"{', '.join(map(str, absent))} {'have' if len(absent) > 1 else 'has'} no answer."
        )
    unknown = set(answers) - set(numbers)
    if unknown:
        raise RuleViolation(f"The {form.name} has items 1 to {len(numbers)} only.")
    for number in numbers:
        value = answers[number]
        if value is not None and (isinstance(value, bool) or value not in (0, 1, 2, 3)):
            raise RuleViolation("Each answer is from 0 (Not at all) to 3 (Nearly every day).")
    missing = tuple(n for n in numbers if answers[n] is None)
    for number in form.required_items:
        if number in missing:
            raise RuleViolation(
                f"Item {number} of the {form.name} must be answered: it cannot be marked missing. "
                + form.rule
            )
    if len(missing) > form.max_missing:
        raise RuleViolation(
            f"Too many items are missing ({len(missing)}) to score this {form.name}. " + form.rule
        )
    given = [answers[n] for n in numbers if answers[n] is not None]
    if missing:
        total = _half_up(Decimal(sum(given)) * len(numbers) / Decimal(len(given)))
    else:
        total = sum(given)
    return Score(total=total, prorated=bool(missing), band=form.band(total), missing=missing)


__all__ = [
    "ANSWERS", "BANDS", "BAND_LABELS", "COPYRIGHT", "DIFFICULTY_CHOICES", "DIFFICULTY_QUESTION", "GAD7",
    "INSTRUMENTS", "INSTRUMENT_CODES", "MISSING", "PHQ9", "SAFETY_ITEM", "Instrument", "Item", "Score",
    "instrument", "score",
]
