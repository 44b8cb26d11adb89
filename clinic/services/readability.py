"""How hard a patient-facing text is to read, and whether it is easy enough (textstat).

Patient-education guidance asks for about a 6th-grade reading level. English is scored
with the Flesch-Kincaid grade (at most 6); Spanish with Fernández-Huerta's ease (at least
70, "bastante fácil", the 6th-grade band of his scale; Szigriszt-Pazos is reported
beside it). A text shorter than ``MIN_WORDS`` words (a heading, a label) is not scored:
the formulas say little about three words. One home for the rule: the readability test
(tests/test_readability.py) and the grades planners see on the exercise pages both ask
``reading``.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from textstat.textstat import textstatistics

#: Texts with fewer words are not scored.
MIN_WORDS = 8
#: Highest Flesch-Kincaid grade for English patient text.
MAX_GRADE_EN = 6.0
#: Lowest Fernández-Huerta ease for Spanish patient text (70-80: 6th grade).
MIN_EASE_ES = 70.0

_scorers: dict[str, textstatistics] = {}
_lock = threading.Lock()


def _scorer(language: str) -> textstatistics:
    with _lock:
        scorer = _scorers.get(language)
        if scorer is None:
            scorer = textstatistics()
            scorer.set_lang(language)
            _scorers[language] = scorer
        return scorer


@dataclass(frozen=True)
class Reading:
    """A text's score: ``measure`` names the formula, ``ok`` says whether it is easy enough."""

    language: str
    words: int
    measure: str | None = None
    score: float | None = None
    ok: bool = True
    other: str = ""

    @property
    def scored(self) -> bool:
        return self.measure is not None

    def __str__(self) -> str:
        if not self.scored:
            return f"too short to score ({self.words} words)"
        limit = f"at most {MAX_GRADE_EN:g}" if self.language == "en" else f"at least {MIN_EASE_ES:g}"
        verdict = "easy enough" if self.ok else "too hard"
        extra = f"; {self.other}" if self.other else ""
        return f"{self.measure} {self.score:.1f} ({limit}: {verdict}){extra}"


def word_count(text: str) -> int:
    return len(re.findall(r"\w+", text or ""))


def reading(text: str | None, language: str = "en") -> Reading:
    """Score ``text`` in ``language`` (``en`` or ``es``; another language is reported unscored)."""
    text = (text or "").strip()
    words = word_count(text)
    if words < MIN_WORDS or language not in ("en", "es"):
        return Reading(language, words)
    # Lines typed as steps or prompts end without a full stop; each is a sentence of its own.
    sentences = " ".join(line if re.search(r"[.!?:]$", line) else f"{line}." for line in
                         (part.strip() for part in text.splitlines()) if line)
    scorer = _scorer(language)
    with _lock:  # textstat caches per instance; keep one text at a time per process
        if language == "en":
            grade = scorer.flesch_kincaid_grade(sentences)
            return Reading(language, words, "Flesch-Kincaid grade", grade, grade <= MAX_GRADE_EN)
        ease = scorer.fernandez_huerta(sentences)
        other = f"Szigriszt-Pazos {scorer.szigriszt_pazos(sentences):.1f}"
        return Reading(language, words, "Fernández-Huerta", ease, ease >= MIN_EASE_ES, other)


__all__ = ["MAX_GRADE_EN", "MIN_EASE_ES", "MIN_WORDS", "Reading", "reading", "word_count"]
