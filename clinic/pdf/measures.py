"""The blank PHQ-9 and GAD-7 for the patient to fill in on paper and bring back.

The exact wording and the copyright notice from ``services.instruments``; no score, no
band, no patient data but the name line (the display name when printed for a patient).
Rendered, then audited as an export and committed (``commit=False``: the caller commits).
"""

from __future__ import annotations

from ..extensions import db
from ..models import Patient
from ..services import audit, instruments
from .render import render_pdf


def blank_form_context(code: str, patient: Patient | None = None) -> dict:
    """Template name, title and context of a blank form."""
    form = instruments.instrument(code)
    return {
        "template_name": "pdf/measure_form.html",
        "title": form.title,
        "form": form,
        "answers": instruments.ANSWERS,
        "difficulty_question": instruments.DIFFICULTY_QUESTION,
        "difficulty_choices": instruments.DIFFICULTY_CHOICES,
        "copyright": instruments.COPYRIGHT,
        "name": patient.display_name if patient is not None else "",
    }


def blank_form(code: str, patient: Patient | None = None, *, commit: bool = True) -> bytes:
    """A blank ``code`` form ("phq9" or "gad7"), for ``patient`` when given; audited as an export."""
    pdf = render_pdf(**blank_form_context(code, patient))
    changes = {"document": f"blank_{code}"}
    if patient is not None:
        changes["patients"] = [patient.id]
    audit.record("export", entity="patient" if patient is not None else "measure_form",
                 entity_id=patient.id if patient is not None else "", changes=changes)
    if commit:
        db.session.commit()
    return pdf


__all__ = ["blank_form", "blank_form_context"]
