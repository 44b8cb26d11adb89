"""The week planner and the session-series pages: HTTP in, a series or week-plan service call, a page out."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import joinedload
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..extensions import db
from ..models import Activity, CareGroup, GroupSession, StaffUser, Track
from ..services import recording, series, week_plan
from ..services.access import allowed, may_record
from ..services.errors import RuleViolation
from ..services.limits import FieldViolation
from .base import SecureBaseView, _role

CATEGORY = "Programme"


def _int_or_none(value):
    if value in (None, "", "None"):
        return None
    return int(value)


def _may_plan() -> bool:
    """True when the current user may create and change sessions through the series pages."""
    return allowed("series", _role(), "e")


# Forms -----------------------------------------------------------------------
class MultiCheckboxField(SelectMultipleField):
    """A set of checkboxes, one per choice."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SeriesForm(FlaskForm):
    """A weekly series of sessions for one group: fields, then "Preview dates", then "Create"."""

    group = SelectField("Group", coerce=_int_or_none, validators=[InputRequired("Choose a group.")])
    weekdays = MultiCheckboxField(
        "Weekdays", coerce=int, choices=list(enumerate(series.WEEKDAY_NAMES)),
        validators=[DataRequired("Choose at least one weekday.")],
    )
    start_time = TimeField("Start time", validators=[InputRequired("Give a start time, such as 17:00.")])
    duration_minutes = IntegerField(
        "Length (min)", validators=[Optional()],
        description=(f"Empty: the group's usual length, the most common length of its last "
                     f"{series.USUAL_LENGTH_SESSIONS} sessions; for a group without sessions yet, the "
                     f"activity's usual length (or {series.DEFAULT_MINUTES} minutes)."),
    )
    activity = SelectField("Activity", coerce=_int_or_none, validators=[Optional()])
    room = StringField("Room", validators=[Optional(), Length(max=40)],
                       description="Empty: the group's usual room.")
    facilitator = SelectField("Facilitator", coerce=_int_or_none, validators=[Optional()])
    start_date = DateField("First date", validators=[InputRequired("Give the date of the first session.")])
    end = RadioField(
        "The series ends", default="weeks",
        choices=[("weeks", "For a number of weeks"), ("count", "After a number of sessions"),
                 ("until", "On a date")],
        validators=[InputRequired("Choose how the series ends.")],
    )
    weeks = IntegerField(
        "Number of weeks", validators=[Optional()],
        description=f"Every chosen weekday in that many weeks from the first date (at most {series.MAX_WEEKS}).",
    )
    count = IntegerField("Number of sessions", validators=[Optional()],
                         description=f"At most {series.MAX_OCCURRENCES}.")
    until = DateField("Last date (inclusive)", validators=[Optional()])
    #: The fingerprint of the series last previewed on this page ("Create" creates only that).
    previewed = HiddenField()
    preview = SubmitField("Preview dates")


class OccurrenceForm(FlaskForm):
    """Change or cancel one session, or it and the later sessions of its series."""

    scope = RadioField(
        "Apply to", default="this",
        choices=[("this", "This session only"), ("following", "This and all later sessions of the series")],
    )
    row_version = HiddenField()
    start_time = TimeField("Start time", validators=[Optional()])
    duration_minutes = IntegerField(
        "Length (min)", validators=[Optional(), NumberRange(1, series.MAX_SESSION_MINUTES)]
    )
    activity = SelectField("Activity", coerce=_int_or_none, validators=[Optional()])
    room = StringField("Room", validators=[Optional(), Length(max=40)])
    facilitator = SelectField("Facilitator", coerce=_int_or_none, validators=[Optional()])
    reason = StringField("Reason for cancelling", validators=[Optional(), Length(max=200)],
                         description="Added to the group note of each cancelled session.")
    save = SubmitField("Save changes")
    cancel_sessions = SubmitField("Cancel sessions")


def _activity_choices():
    rows = db.session.execute(sa.select(Activity.id, Activity.name).order_by(Activity.name))
    return [("", "(no activity)")] + [(row.id, row.name) for row in rows]


def _staff_choices(empty_label: str):
    rows = db.session.execute(
        sa.select(StaffUser.id, StaffUser.full_name)
        .where(StaffUser.is_active_account.is_(True))
        .order_by(StaffUser.full_name)
    )
    return [("", empty_label)] + [(row.id, row.full_name) for row in rows]


def _group_choices():
    """Active groups, each labelled with its track and the usual facilitator and room."""
    rows = db.session.execute(
        sa.select(CareGroup.id, CareGroup.name, CareGroup.room, Track.name.label("track"),
                  StaffUser.full_name.label("facilitator"))
        .join(Track, Track.id == CareGroup.track_id)
        .outerjoin(StaffUser, StaffUser.id == CareGroup.facilitator_id)
        .where(CareGroup.active.is_(True))
        .order_by(Track.care_level, CareGroup.name)
    )
    choices = [("", "Choose a group…")]
    for row in rows:
        usual = ", ".join(part for part in (row.facilitator, row.room) if part)
        choices.append((row.id, f"{row.name} ({row.track})" + (f" · {usual}" if usual else "")))
    return choices


# Views -----------------------------------------------------------------------
class WeekPlannerView(SecureBaseView):
    """One week of programme: tracks down, days across, hours against each track's minimum."""

    permission_key = "planner"

    @staticmethod
    def _query_filters():
        """``?week=`` (any date in it; default this week), ``?facilitator=`` and ``?track=``,
        with a plain message for each malformed one."""
        problems = []
        week_arg = request.args.get("week", "").strip()
        week = date.today()
        if week_arg:
            try:
                week = date.fromisoformat(week_arg)
            except ValueError:
                problems.append("The week must be given as a date such as 2026-03-02.")
        facilitator_arg = request.args.get("facilitator", "").strip()
        facilitator_id = None
        if facilitator_arg:
            try:
                facilitator_id = int(facilitator_arg)
            except ValueError:
                problems.append("The facilitator filter must be a member of staff from the list.")
        track_arg = request.args.get("track", "").strip()
        track_id = None
        if track_arg:
            try:
                track_id = int(track_arg)
            except ValueError:
                problems.append("The track filter must be a track from the list.")
        return week, facilitator_id, track_id, problems

    @expose("/")
    def index(self):
        """The week of ``?week=`` (any date in it; default this week), optionally one ``?facilitator=``."""
        week, facilitator_id, track_id, problems = self._query_filters()
        if problems:
            return self.render("admin/planner/week.html", plan=None, problems=problems,
                               facilitators=[], facilitator_id=None, may_plan=False), 400
        plan = week_plan.week_plan(week, facilitator_id=facilitator_id, track_id=track_id,
                                   page=request.args.get("page"))
        now = datetime.now()
        user = current_user._get_current_object()  # once, not through the proxy per session
        return self.render(
            "admin/planner/week.html",
            plan=plan,
            problems=[],
            # The facilitators of the page's sessions and groups (and the one filtered by):
            # a choice of every member of staff would grow with the clinic.
            facilitators=plan.facilitator_choices,
            facilitator_id=facilitator_id,
            tracks=plan.track_choices,
            track_id=track_id,
            may_plan=_may_plan(),
            may_edit_sessions=allowed("sessions", _role(), "e") and _may_plan(),
            # A Record link only where the record page would open: not cancelled, started, and
            # the user may record it.
            recordable={entry.id for track in plan.tracks for cell in track.days for entry in cell
                        if entry.status != "cancelled" and recording.has_started(entry, now)
                        and may_record(user, entry)},
            today=date.today(),
            # Each page's address once: a busy page links a hundred sessions three ways each,
            # and building every link by the router costs more than the week's queries.
            links={"track": url_for("tracks.details_view"), "group": url_for("groups.details_view"),
                   "record": url_for("record.index"), "edit": url_for("sessions.edit_view"),
                   "change": url_for("series.occurrence")},
        )

    @expose("/clashes/")
    def clashes(self):
        """Every clash of the week of ``?week=`` (with ``?facilitator=``: theirs), 25 a page."""
        week, facilitator_id, _, problems = self._query_filters()
        if problems:
            return self.render("admin/planner/clashes.html", result=None, problems=problems), 400
        result = week_plan.week_clashes(week, facilitator_id=facilitator_id, page=request.args.get("page"))
        return self.render("admin/planner/clashes.html", result=result, problems=[])


class SeriesView(SecureBaseView):
    """Create a weekly series of sessions; change or cancel its occurrences."""

    permission_key = "series"

    def _require(self, right: str) -> None:
        if not allowed(self.permission_key, _role(), right):
            abort(403)

    @expose("/", methods=("GET", "POST"))
    def index(self):
        """The series form. "Preview dates" lists every date and clash and creates nothing;
        "Create N sessions" creates exactly the previewed series or, on a clash, nothing."""
        form = SeriesForm()
        form.group.choices = _group_choices()
        form.activity.choices = _activity_choices()
        form.facilitator.choices = _staff_choices("(the group's usual facilitator)")
        if request.method == "GET":
            group_arg = request.args.get("group", "")
            if group_arg.isdigit():
                form.group.data = int(group_arg)
            if form.start_date.data is None:
                form.start_date.data = date.today()
        refusal, clashes, preview = None, [], None
        if request.method == "POST":
            self._require("c")
            creating = bool(request.form.get("create"))
            if not form.validate():
                refusal = "The series was not created: correct the fields marked below."
            else:
                try:
                    args = self._series_args(form)
                    if creating and form.previewed.data:
                        sessions = series.create_series(expected_fingerprint=form.previewed.data, **args)
                        first = sessions[0]
                        flash(
                            f"Created {len(sessions)} session{'s' if len(sessions) != 1 else ''} for "
                            f"{first.group.name}, from {first.starts_at:%Y-%m-%d} to "
                            f"{sessions[-1].starts_at:%Y-%m-%d}.",
                            "success",
                        )
                        return redirect(url_for("planner.index", week=first.starts_at.date().isoformat()))
                    if creating:
                        refusal = "Nothing was created yet: check the dates below, then create the series."
                    preview = series.preview_series(**args)
                except FieldViolation as exc:
                    db.session.rollback()
                    field_name = form.end.data if exc.field == "end" else exc.field
                    target = getattr(form, field_name, None)
                    if target is None or exc.field == "group":
                        refusal = str(exc)
                    else:
                        target.errors.append(str(exc))
                        refusal = "The series was not created: correct the fields marked below."
                except RuleViolation as exc:
                    db.session.rollback()
                    if isinstance(exc, series.ClashRefusal):
                        refusal = (f"The series was not created: {len(exc.clashes)} "
                                   f"clash{'es' if len(exc.clashes) != 1 else ''}.")
                        clashes = [c.message for c in exc.clashes]
                    else:
                        refusal = str(exc)
                    try:
                        preview = series.preview_series(**self._series_args(form))
                    except RuleViolation:
                        db.session.rollback()
                        preview = None
            form.previewed.data = preview.fingerprint if preview is not None else ""
        facilitator_name = ""
        if preview is not None and preview.facilitator_id is not None:
            person = db.session.get(StaffUser, preview.facilitator_id)
            facilitator_name = person.full_name if person else ""
        return self.render("admin/planner/series.html", form=form, refusal=refusal, clashes=clashes,
                           preview=preview, preview_facilitator=facilitator_name)

    def _series_args(self, form: SeriesForm) -> dict:
        """The form as ``preview_series`` / ``create_series`` arguments (only the chosen end)."""
        group = db.session.get(CareGroup, form.group.data) if form.group.data else None
        if group is None:
            raise FieldViolation("group", "Choose a group.")
        activity = db.session.get(Activity, form.activity.data) if form.activity.data else None
        facilitator = db.session.get(StaffUser, form.facilitator.data) if form.facilitator.data else None
        room = form.room.data.strip() if form.room.data and form.room.data.strip() else None
        end = form.end.data
        return {
            "group": group,
            "weekdays": form.weekdays.data,
            "start_time": form.start_time.data,
            "duration_minutes": form.duration_minutes.data,
            "activity": activity,
            "room": room,
            "facilitator": facilitator,
            "start_date": form.start_date.data,
            "until": form.until.data if end == "until" else None,
            "count": form.count.data if end == "count" else None,
            "weeks": form.weeks.data if end == "weeks" else None,
        }

    @expose("/occurrence/", methods=("GET", "POST"))
    def occurrence(self):
        """Change or cancel one session (``?id=``), or it and the later ones of its series."""
        session_id = request.args.get("id", "")
        session = None
        if session_id.isdigit():
            session = db.session.scalar(
                sa.select(GroupSession)
                .options(joinedload(GroupSession.group), joinedload(GroupSession.activity),
                         joinedload(GroupSession.facilitator))
                .where(GroupSession.id == int(session_id))
            )
        if session is None:
            return self.render("admin/planner/occurrence.html", session=None, form=None,
                               refusal="There is no such session.", series_left=0), 404
        form = OccurrenceForm()
        form.activity.choices = _activity_choices()
        form.facilitator.choices = _staff_choices("(no facilitator)")
        if request.method == "GET":
            form.row_version.data = str(session.version)
            form.start_time.data = session.starts_at.time()
            form.duration_minutes.data = session.duration_minutes
            form.activity.data = session.activity_id
            form.room.data = session.room
            form.facilitator.data = session.facilitator_id
        week = session.starts_at.date().isoformat()
        refusal = None
        if request.method == "POST":
            self._require("e")
            if form.validate():
                try:
                    if form.cancel_sessions.data:
                        changed = series.cancel_occurrence(
                            session, scope=form.scope.data, reason=form.reason.data or "",
                            expected_version=form.row_version.data)
                        verb = "Cancelled"
                    else:
                        changed = self._change(session, form)
                        verb = "Changed"
                except RuleViolation as exc:
                    db.session.rollback()
                    refusal = str(exc)
                else:
                    if changed is None:
                        flash("Nothing was changed: the values are the same as before.", "info")
                    else:
                        flash(f"{verb} {len(changed)} session{'s' if len(changed) != 1 else ''}.", "success")
                    return redirect(url_for("planner.index", week=week))
            else:
                refusal = "Nothing was changed: correct the fields marked below."
        series_left = 0
        if session.series_id:
            series_left = db.session.scalar(
                sa.select(sa.func.count()).select_from(GroupSession).where(
                    GroupSession.series_id == session.series_id,
                    GroupSession.starts_at >= max(session.starts_at, datetime.now()),
                    GroupSession.status == "planned",
                )
            )
        return self.render("admin/planner/occurrence.html", session=session, form=form,
                           refusal=refusal, series_left=series_left, week=week,
                           may_edit_sessions=allowed("sessions", _role(), "e"))

    def _change(self, session: GroupSession, form: OccurrenceForm):
        """Pass on only what differs from this session, so later sessions keep their own values."""
        changes = {}
        if form.start_time.data is not None and form.start_time.data != session.starts_at.time():
            changes["starts_time"] = form.start_time.data
        if form.duration_minutes.data is not None and form.duration_minutes.data != session.duration_minutes:
            changes["duration_minutes"] = form.duration_minutes.data
        if form.activity.data != session.activity_id:
            changes["activity"] = db.session.get(Activity, form.activity.data) if form.activity.data else None
        room = (form.room.data or "").strip()
        if room != (session.room or ""):
            changes["room"] = room
        if form.facilitator.data != session.facilitator_id:
            changes["facilitator"] = (
                db.session.get(StaffUser, form.facilitator.data) if form.facilitator.data else None
            )
        if not changes:
            return None
        return series.update_occurrence(session, scope=form.scope.data, expected_version=form.row_version.data,
                                        **changes)


def register(admin) -> None:
    """Add the week planner and the series pages to ``admin``."""
    admin.add_view(WeekPlannerView(name="Week planner", category=CATEGORY, endpoint="planner", url="planner"))
    admin.add_view(SeriesView(name="New session series", category=CATEGORY, endpoint="series", url="series"))
