"""The session record page: a whole session's attendance, check-ins and group note on one form.

Reached from the session list, the week planner and the counselor's day at
``/admin/record/?session=<id>``. The view only turns the form into calls of
``clinic.services.recording`` and shows the result; names appear on the page itself,
never in flashes or URLs. Counselors record only the sessions they facilitate.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from ..extensions import db
from ..models import ATTENDANCE_STATUSES, CHECKIN_OUTCOMES, GroupSession
from ..services import access, audit, recording
from ..services.errors import RuleViolation
from ..services.recording import OUTCOME_LABELS, STATUS_LABELS, CheckinEntry, Entry, SessionRecord
from .base import SecureBaseView, _role

_STATUS_FIELD = re.compile(r"status-(\d+)")
_ROW_ID = re.compile(r"row-\d{1,10}")
#: Per-person and per-exercise fields of the form, by prefix. A person's minutes come as
#: ``minutes`` (attended) or ``missed`` (late or left early), whichever the page asked for.
PERSON_FIELDS = ("status", "minutes", "missed", "engagement", "note")
#: The label of the minutes field, by status.
MINUTES_LABELS = {"late": "Minutes late", "left_early": "Minutes left early"}
EXERCISE_FIELDS = ("outcome", "mood_before", "mood_after", "reflection")


def _whole(value) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _blank(value) -> str:
    return "" if value is None else str(value)


def _record_values(record: SessionRecord) -> dict[str, str]:
    """The form's values as saved (or as defaulted, for people without an entry yet)."""
    values = {"group_note": record.session.group_note or ""}
    for row in record.rows:
        pid = row.patient.id
        values[f"status-{pid}"] = row.status
        values[f"minutes-{pid}"] = str(row.minutes)
        values[f"missed-{pid}"] = recording.missed_from_attended(row.status, row.minutes, record.length)
        values[f"engagement-{pid}"] = _blank(row.engagement)
        values[f"note-{pid}"] = row.note
        for line in row.exercises:
            if not line.editable:
                continue
            aid, checkin = line.assignment.id, line.checkin
            values[f"outcome-{aid}"] = checkin.outcome if checkin else ""
            values[f"mood_before-{aid}"] = _blank(checkin.mood_before if checkin else None)
            values[f"mood_after-{aid}"] = _blank(checkin.mood_after if checkin else None)
            values[f"reflection-{aid}"] = checkin.reflection if checkin else ""
    return values


def _checkin_versions(record: SessionRecord) -> dict[int, str]:
    """Assignment id -> the version of its check-in on the page ("new" when there is none)."""
    return {
        line.assignment.id: str(line.checkin.version) if line.checkin else "new"
        for row in record.rows for line in row.exercises if line.editable
    }


def _shown_checkin(form: MultiDict, aid: int) -> dict | None:
    """What the page showed for one check-in line (its ``was-`` fields), None when not sent."""
    names = [f"was-{name}-{aid}" for name in EXERCISE_FIELDS]
    if not all(name in form for name in names):
        return None
    return {name: form.get(f"was-{name}-{aid}", "") for name in EXERCISE_FIELDS}


def _entries(form: MultiDict) -> list[Entry]:
    """One entry per person on the submitted page, with the exercises listed under them."""
    entries = []
    for key in form:
        match = _STATUS_FIELD.fullmatch(key)
        if not match:
            continue
        pid = int(match.group(1))
        checkins = {}
        for aid in {_whole(v) for v in form.getlist(f"assignment-{pid}")} - {None}:
            if f"outcome-{aid}" in form:
                checkins[aid] = CheckinEntry(
                    outcome=form.get(f"outcome-{aid}", ""),
                    mood_before=form.get(f"mood_before-{aid}"),
                    mood_after=form.get(f"mood_after-{aid}"),
                    reflection=form.get(f"reflection-{aid}", ""),
                    # Missing means refused like a stale line, should the line have changed.
                    version=form.get(f"cv-{aid}", ""),
                    shown=_shown_checkin(form, aid),
                )
        entries.append(Entry(
            patient_id=pid,
            status=form.get(key, ""),
            minutes=form.get(f"minutes-{pid}"),
            missed=form.get(f"missed-{pid}"),
            engagement=form.get(f"engagement-{pid}"),
            note=form.get(f"note-{pid}", ""),
            checkins=checkins,
        ))
    return entries


def _shown(name: str, value: str) -> str:
    """A saved value as the page words it."""
    if name.startswith("status-"):
        return STATUS_LABELS.get(value, value)
    if name.startswith("outcome-"):
        return OUTCOME_LABELS.get(value, "—")
    return value if value != "" else "(empty)"


def _minutes_kinds(record: SessionRecord, values: dict[str, str], asked: dict[str, str]) -> dict[int, str]:
    """Patient id -> "missed" when the page asks their minutes late or left early, else "attended".

    ``asked`` holds the values the page sent back (or the user's own changes): the figure keeps
    the meaning it had when it was typed; otherwise the status decides.
    """
    kinds = {}
    for row in record.rows:
        pid = row.patient.id
        if f"missed-{pid}" in asked:
            kinds[pid] = "missed"
        elif f"minutes-{pid}" in asked:
            kinds[pid] = "attended"
        else:
            kinds[pid] = "missed" if recording.asks_missed(values.get(f"status-{pid}", "")) else "attended"
    return kinds


def _attended_preview(kind: str, status: str, typed: str, length: int) -> str:
    """"45 of 60 minutes attended" for a valid figure of minutes late or left early, else ""."""
    if kind != "missed" or not typed.strip():
        return ""
    attended, problem = recording.attended_from_missed(status, typed, length)
    return "" if problem else f"{attended} of {length} minutes attended"


def _minutes_label(kind: str, status: str) -> str:
    """The label of a person's minutes field."""
    return MINUTES_LABELS.get(status, "Minutes late or left early") if kind == "missed" else "Minutes attended"


class RecordView(SecureBaseView):
    """Record a session's participation, sign it, and correct a signed entry by addendum."""

    permission_key = "record"

    def is_visible(self) -> bool:
        return False  # reached from the session list, the week planner and the counselor's day

    # Access -----------------------------------------------------------------
    def _session(self, arg: str = "session") -> GroupSession:
        """The session named in the query string, if the user may record it (else 404)."""
        session_id = _whole(request.args.get(arg))
        session = db.session.get(GroupSession, session_id) if session_id else None
        if session is None:
            abort(404)
        self._check(session)
        return session

    def _check(self, session: GroupSession) -> None:
        right = "r" if request.method == "GET" else "e"
        if not access.allowed(self.permission_key, _role(), right):
            abort(403)
        if not access.may_record(current_user, session):
            abort(404)  # not yours looks like not there

    def _record(self, session_id: int) -> SessionRecord:
        record = recording.load_record(session_id)
        if record is None:
            abort(404)
        self._check(record.session)
        return record

    # The page ----------------------------------------------------------------
    def _page(self, record: SessionRecord, *, values=None, was=None, expected_version=None,
              errors=None, stale=None, error=None, mine=frozenset(), saved_now=None, versions=None,
              stale_lines=frozenset()):
        base = _record_values(record)
        session = record.session
        if record.signed:
            closed = None
        elif session.status == "cancelled":
            closed = "This session was cancelled, so there is no participation to record."
        elif session.starts_at > datetime.now():
            closed = (f"This session starts at {session.starts_at.strftime('%Y-%m-%d %H:%M')}; "
                      "it can be recorded and signed once it has started.")
        else:
            closed = None
        editable = not record.signed and closed is None
        merged = {**base, **(values or {})}
        kinds = _minutes_kinds(record, merged, values or {})
        return self.render(
            "admin/record/index.html",
            record=record,
            session=session,
            values=merged,
            kinds=kinds,
            minutes_labels={row.patient.id: _minutes_label(kinds[row.patient.id],
                                                           merged.get(f"status-{row.patient.id}", ""))
                            for row in record.rows},
            previews={row.patient.id: _attended_preview(kinds[row.patient.id],
                                                        merged.get(f"status-{row.patient.id}", ""),
                                                        merged.get(f"missed-{row.patient.id}", ""), record.length)
                      for row in record.rows},
            was={**base, **(was or {})},
            expected_version=record.version if expected_version is None else expected_version,
            errors=errors or {},
            stale=stale,
            error=error,
            mine=mine,
            saved_now=saved_now or {},
            editable=editable,
            closed=closed,
            may_sign=editable and access.may_sign(current_user, session),
            versions={**_checkin_versions(record), **(versions or {})},
            stale_lines=stale_lines,
            statuses=[(s, STATUS_LABELS[s]) for s in ATTENDANCE_STATUSES],
            outcomes=[(o, OUTCOME_LABELS[o]) for o in CHECKIN_OUTCOMES],
            shown=_shown,
            ends_at=session.starts_at + timedelta(minutes=session.duration_minutes),
        )

    @expose("/", methods=("GET", "POST"))
    def index(self):
        """The record of one session (GET) and its save (POST)."""
        if request.args.get("session") is None:
            return redirect(url_for("sessions.index_view"))
        if request.method == "POST":
            return self._save()
        session_id = _whole(request.args.get("session"))
        if session_id is None:
            abort(404)
        record = self._record(session_id)
        page = self._page(record)
        audit.record_view("group_session", session_id, [row.patient.id for row in record.rows])
        return page

    def _save(self, sign: bool = False):
        """Save the posted record (and sign it, with ``sign``) or show the page again, input kept."""
        session = self._session()
        session_id = session.id  # read before the commit expires the row
        form = request.form
        posted = {key: form.get(key, "") for key in form if not key.startswith(("was-", "cv-", "assignment-"))
                  and key not in ("csrf_token", "expected_version", "return_to")}
        posted_was = {key[4:]: form.get(key, "") for key in form if key.startswith("was-")}
        posted_versions = {int(key[3:]): form.get(key, "") for key in form
                           if key.startswith("cv-") and key[3:].isdigit()}
        expected = form.get("expected_version")
        try:
            result = recording.save_record(
                session,
                _entries(form),
                form.get("group_note") if "group_note" in form else None,
                expected_version=expected,
                actor=current_user._get_current_object(),
                now=datetime.now(),
                group_note_shown=form.get("was-group_note"),
                sign=sign,
            )
        except recording.StaleRecord as exc:
            db.session.rollback()
            record = self._record(session_id)
            return self._stale_page(record, posted, posted_was, str(exc), exc.lines)
        except RuleViolation as exc:
            db.session.rollback()
            record = self._record(session_id)
            return self._page(record, values=posted, was=posted_was, expected_version=expected,
                              versions=posted_versions, error=str(exc))
        if result.errors:
            db.session.rollback()
            record = self._record(session_id)
            return self._page(record, values=posted, was=posted_was, expected_version=expected,
                              versions=posted_versions, errors=result.errors)
        if sign:
            flash("The record is saved and signed. From now on it changes only by a correction with a reason.",
                  "record-signed")
        else:
            flash(result.summary(), "record-saved")
        # Back to the row the person was working on (named by the page's script), not the top.
        back = form.get("return_to", "")
        fragment = "#" + back if _ROW_ID.fullmatch(back) and not sign else ""
        return redirect(url_for(".index", session=session_id) + fragment)

    def _stale_page(self, record: SessionRecord, posted: dict, posted_was: dict, message: str,
                    stale_lines=frozenset()):
        """The record as saved now, with the user's own changes put back on top and marked."""
        base = _record_values(record)
        values, mine, saved_now = {}, set(), {}
        for name, value in posted.items():
            before = posted_was.get(name)
            if before is None or value == before or name not in base:
                continue
            values[name] = value
            mine.add(name)
            if base[name] != before and base[name] != value:
                saved_now[name] = _shown(name, base[name])
        return self._page(record, values=values, expected_version=record.version, stale=message,
                          mine=frozenset(mine), saved_now=saved_now, stale_lines=stale_lines)

    # Signing ----------------------------------------------------------------
    @expose("/sign/", methods=("POST",))
    def sign(self):
        """Save what the page shows and sign it, in one transaction (the facilitator or an admin)."""
        return self._save(sign=True)

    # Correcting -------------------------------------------------------------
    def _signed_record(self) -> SessionRecord | None:
        """The signed record of ``?session=``; None (after a flash) when it is not signed."""
        session = self._session()
        record = self._record(session.id)
        if not record.signed:
            flash("Only a signed record is corrected by addendum; edit the record itself.", "error")
            return None
        return record

    @staticmethod
    def _correctable_lines(record: SessionRecord, row) -> list:
        """The person's exercise lines a correction may change: active, and not another record's."""
        return [line for line in row.exercises if line.editable
                and (line.checkin is None or line.checkin.session_id == record.session.id)]

    @expose("/correct/", methods=("GET", "POST"))
    def correct(self):
        """Correct one person's entry and check-ins on a signed record, with the reason."""
        record = self._signed_record()
        if record is None:
            return redirect(url_for(".index", session=_whole(request.args.get("session"))))
        session_id = record.session.id
        patient_id = _whole(request.args.get("patient"))
        row = record.row_for(patient_id) if patient_id else None
        if row is None:
            abort(404)
        shown = {"status": row.status, "minutes": str(row.minutes),
                 "missed": recording.missed_from_attended(row.status, row.minutes, record.length),
                 "engagement": _blank(row.engagement), "note": row.note, "reason": ""}
        kind = "missed" if recording.asks_missed(row.status) else "attended"
        for key, value in _record_values(record).items():
            name, _, aid = key.partition("-")
            if name in EXERCISE_FIELDS and any(str(line.assignment.id) == aid
                                               for line in self._correctable_lines(record, row)):
                shown[key] = value
        values, was = dict(shown), dict(shown)
        versions = _checkin_versions(record)
        expected = str(row.attendance.version) if row.attendance else "new"
        errors, error = {}, None
        if request.method == "POST":
            form = request.form
            values = {name: form.get(name, "") for name in shown}
            was = {name: form.get(f"was-{name}", shown[name]) for name in shown}
            kind = "missed" if "missed" in form else "attended"
            posted_versions = {aid: form.get(f"cv-{aid}", "") for aid in versions}
            expected = form.get("expected_version", "")
            changes = {name: values[name] for name in recording.CORRECTABLE}
            if kind == "missed":
                # The page asked the minutes late or left early: the service computes the minutes attended.
                del changes["minutes"]
                changes["missed"] = values["missed"]
            lines = {
                line.assignment.id: CheckinEntry(
                    **{name: values.get(f"{name}-{line.assignment.id}", "") for name in EXERCISE_FIELDS},
                    version=posted_versions.get(line.assignment.id, ""),
                    shown=_shown_checkin(form, line.assignment.id),
                )
                for line in self._correctable_lines(record, row) if f"outcome-{line.assignment.id}" in form
            }
            try:
                result = recording.correct_entry(
                    record.session, row.patient.id, changes, values["reason"],
                    current_user._get_current_object(), expected_version=expected, checkins=lines,
                )
            except RuleViolation as exc:
                db.session.rollback()
                error = str(exc)
                record = self._record(session_id)
                row = record.row_for(patient_id)
                if row is None:
                    abort(404)
                expected = str(row.attendance.version) if row.attendance else "new"
                versions = _checkin_versions(record)
            else:
                if not result.errors:
                    flash("The correction is saved as an addendum to the signed record.", "record-corrected")
                    return redirect(url_for(".index", session=session_id) + f"#row-{patient_id}")
                db.session.rollback()
                errors = result.errors
                versions = posted_versions
                record = self._record(session_id)
                row = record.row_for(patient_id)
                if row is None:
                    abort(404)
        page = self.render(
            "admin/record/correct.html",
            record=record,
            session=record.session,
            row=row,
            lines=self._correctable_lines(record, row),
            values=values,
            was=was,
            kind=kind,
            minutes_label=_minutes_label(kind, values["status"]),
            preview=_attended_preview(kind, values["status"], values["missed"], record.length),
            versions=versions,
            expected_version=expected,
            errors=errors,
            error=error,
            statuses=[(s, STATUS_LABELS[s]) for s in ATTENDANCE_STATUSES],
            outcomes=[(o, OUTCOME_LABELS[o]) for o in CHECKIN_OUTCOMES],
            ends_at=record.session.starts_at + timedelta(minutes=record.session.duration_minutes),
        )
        if request.method == "GET" and row.attendance is not None:
            audit.record_view("attendance", row.attendance.id, [row.patient.id])
        return page

    @expose("/correct-note/", methods=("GET", "POST"))
    def correct_note(self):
        """Correct the group note of a signed record, with the reason."""
        record = self._signed_record()
        if record is None:
            return redirect(url_for(".index", session=_whole(request.args.get("session"))))
        session_id = record.session.id
        values = {"group_note": record.session.group_note or "", "reason": ""}
        expected = str(record.version)
        errors, error = {}, None
        if request.method == "POST":
            form = request.form
            values = {name: form.get(name, "") for name in values}
            expected = form.get("expected_version", "")
            try:
                result = recording.correct_group_note(
                    record.session, values["group_note"], values["reason"],
                    current_user._get_current_object(), expected_version=expected,
                )
            except RuleViolation as exc:
                db.session.rollback()
                error = str(exc)
                record = self._record(session_id)
                expected = str(record.version)
            else:
                if not result.errors:
                    flash("The correction is saved as an addendum to the signed record.", "record-corrected")
                    return redirect(url_for(".index", session=session_id) + "#group-note")
                db.session.rollback()
                errors = result.errors
                record = self._record(session_id)
        else:
            audit.record_view("group_session", session_id, [row.patient.id for row in record.rows])
        return self.render(
            "admin/record/correct_note.html",
            record=record,
            session=record.session,
            values=values,
            expected_version=expected,
            errors=errors,
            error=error,
            ends_at=record.session.starts_at + timedelta(minutes=record.session.duration_minutes),
        )


def register(admin) -> None:
    """Add the session record page to ``admin`` (not in the menu)."""
    admin.add_view(RecordView(name="Session record", endpoint="record", url="record"))
