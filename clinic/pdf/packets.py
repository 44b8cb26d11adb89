"""Session packets: the sign-in sheet of a group session, then each member's plan.

One HTML document with one ``<article>`` per part renders in one WeasyPrint pass; each
article after the first starts on a fresh page (print.css), so the packet is the
sign-in sheet's page(s) followed by one plan per roster member. Batches of progress
sheets can follow the same pattern: build the sections, render once, audit each.

Mixed groups: each plan is worded in its patient's language (``patient_language``, inside
``force_locale``: its words, dates, weekday names and page footer travel with the
``PlanSheet``), the sign-in sheet in the staff's. The exercises' titles and summaries come
from ``services.exercise_texts`` in each plan's language (read once per language of the roster).

Audit: one "export" event for the session (``group_session``, listing the patient ids
whose plans are included) and one per included patient (``patient``), all in the
transaction that is then committed (unless ``commit=False``: the caller commits).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask_babel import force_locale

from ..extensions import db
from ..models import GroupSession
from ..services import audit
from ..services.errors import RuleViolation
from ..services.membership import roster
from ..services.participants import week_assignments
from ..services.participation import monday_of
from ..services.printed_names import printed_names
from .handouts import exercise_words, patient_language, plan_sheet
from .render import long_date, render_pdf

SIGN_IN_TITLE = "Sign-in sheet"


@dataclass(frozen=True)
class SignInSheet:
    """What the sign-in sheet prints; ``names`` are display names in sign-in order."""

    group: str
    activity: str
    date_text: str
    time_text: str
    room: str
    facilitator: str
    names: tuple[str, ...]


def _time_text(session: GroupSession) -> str:
    start = session.starts_at
    end = start + timedelta(minutes=session.duration_minutes or 0)
    return f"{start:%H:%M} – {end:%H:%M} ({session.duration_minutes} minutes)"


def packet_html_context(session: GroupSession) -> tuple[dict, list[int]]:
    """Template name, title and context of a session's packet, and the included patient ids.

    Refuses a cancelled session with ``RuleViolation``. The roster is whoever is a
    member of the group on the session's date, named and ordered by
    ``services.printed_names`` (two "Bart"s become "Bart R." and "Bart S.", on the
    sign-in sheet and on their plans alike).
    """
    if session.status == "cancelled":
        raise RuleViolation("This session was cancelled, so there is no packet to print.")
    day = session.starts_at.date()
    members = roster(session.group_id, day)
    names = printed_names(members)
    members = sorted(members, key=lambda p: (names[p.id].casefold(), p.id))
    week_start = monday_of(day)
    by_patient = week_assignments([p.id for p in members], week_start)
    # The exercises' texts: one query per language of the roster, whatever its size.
    spoken = {patient.id: patient_language(patient) for patient in members}
    words = {language: exercise_words([a.exercise for p in members if spoken[p.id] == language
                                       for a in by_patient.get(p.id, [])], language)
             for language in sorted(set(spoken.values()))}
    plans = []
    for patient in members:  # each plan in its patient's language; the sign-in sheet in the staff's
        language = spoken[patient.id]
        with force_locale(language):
            plans.append(plan_sheet(patient, week_start, by_patient.get(patient.id, []), name=names[patient.id],
                                    words=words[language]))
    group = session.group
    facilitator = session.facilitator or group.facilitator
    sheet = SignInSheet(
        group=group.name,
        activity=session.activity.name if session.activity else "—",
        date_text=long_date(day),
        time_text=_time_text(session),
        room=session.room or group.room or "—",
        facilitator=facilitator.full_name if facilitator else "—",
        names=tuple(names[p.id] for p in members),
    )
    context = {
        "template_name": "pdf/packet.html",
        "title": f"Session packet: {group.name}, {long_date(day)}",
        "sheet": sheet,
        "plans": plans,
    }
    return context, [p.id for p in members]


def session_packet(session: GroupSession, *, commit: bool = True) -> bytes:
    """One PDF: the session's sign-in sheet, then each roster member's kindness plan; audited.

    The export events are added once the PDF exists and committed unless ``commit`` is False.
    """
    context, patient_ids = packet_html_context(session)
    languages = {plan_id: plan.language for plan_id, plan in zip(patient_ids, context["plans"])}
    pdf = render_pdf(**context)
    audit.record(
        "export",
        entity="group_session",
        entity_id=session.id,
        changes={"document": "session_packet", "patients": audit.patient_ids(patient_ids)},
    )
    for patient_id in patient_ids:
        audit.record(
            "export",
            entity="patient",
            entity_id=patient_id,
            changes={"document": "session_packet", "large_print": False, "session_id": session.id,
                     "patients": [patient_id], "language": languages[patient_id]},
        )
    if commit:
        db.session.commit()
    return pdf


__all__ = ["SignInSheet", "packet_html_context", "session_packet"]
