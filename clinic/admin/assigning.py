"""Assign an exercise to a patient, a selection, a group's roster or a track, and change its status.

The view only translates HTTP into calls of ``clinic.services.assignments`` and shows
the exact result. Names appear on the pages themselves, never in flashes or URLs.

A whole track with more than ``CLINIC_TRACK_ASSIGN_JOB_ABOVE`` patients enrolled is assigned
by a background job (``services.track_assign_jobs``, the same ``assign_to_track``): the POST
answers at once with a 303 to ``/admin/assign/jobs/<id>/``, the job's page (its owner only;
anyone else gets 404), which refreshes itself while the job runs and then shows the same
result page as the synchronous path, or the failure in plain words. The same exercise for
the same track while a job for it runs is refused: the caller's own job's page, or the form
with the message (409) when someone else started it.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import abort, flash, g, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import joinedload, selectinload
from wtforms import DateField, HiddenField, IntegerField, RadioField, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ..extensions import db
from ..models import Assignment, KindnessExercise, Patient, Track
from ..services import assignments, audit, group_choice, track_assign_jobs, treatment_plan
from ..services.errors import RuleViolation
from ..services.limits import FieldViolation
from ..services.access import allowed, role_of
from .base import SecureBaseView

TARGETS = (
    ("patient", "One patient"),
    ("patients", "Selected patients"),
    ("group", "Everyone on a group's roster"),
    ("track", "Everyone enrolled in a track"),
)
STATUS_ACTIONS = (
    ("paused", "Pause"),
    ("active", "Resume"),
    ("completed", "Complete"),
    ("stopped", "Stop"),
)
#: Which changes each status offers.
OFFERED = {
    "active": ("paused", "completed", "stopped"),
    "paused": ("active", "completed", "stopped"),
    "completed": (),
    "stopped": (),
}

JOB_STATE_WORDS = {
    "queued": "Waiting for a worker",
    "running": "Being assigned",
    "done": "Done",
    "failed": "Failed",
}


def _optional_int(value) -> int | None:
    """Coerce a select's value to an int, leaving the empty choice as None."""
    if value is None or value == "":
        return None
    return int(value)


def _optional_id(value) -> int | None:
    """One id from a query or form value, else None."""
    return group_choice.whole_id(value)


def _ids(values: list[str]) -> list[int]:
    """The whole numbers among ``values``, without repeats."""
    seen: list[int] = []
    for value in values:
        try:
            number = int(value)
        except (TypeError, ValueError):
            continue
        if number not in seen:
            seen.append(number)
    return seen


class AssignForm(FlaskForm):
    """What to assign, to whom, from when and how often."""

    exercise = SelectField("Exercise", coerce=_optional_int)
    target = RadioField("Assign to", choices=TARGETS, default="patient")
    patient = SelectField("Patient", coerce=_optional_int)
    patients = SelectMultipleField("Selected patients", coerce=int)
    group = SelectField("Group", coerce=_optional_int)
    #: The track whose groups the group choice offers (empty: every track's); posted with the
    #: form so a group of another track is refused.
    group_track = HiddenField()
    track = SelectField("Track", coerce=_optional_int)
    start = DateField("Start", validators=[InputRequired(message="Give a start date.")])
    times_per_week = IntegerField(
        "Times per week",
        validators=[
            Optional(),
            NumberRange(
                assignments.MIN_TIMES_PER_WEEK,
                assignments.MAX_TIMES_PER_WEEK,
                message="Give a whole number from 1 to 14.",
            ),
        ],
        description="Leave empty for the exercise's usual number.",
    )
    due = DateField("Due", validators=[Optional()], description="Optional.")
    #: The treatment-plan goal the exercise serves (one patient; a fan-out uses the track's default goal).
    goal = SelectField("Goal it serves", coerce=_optional_int, validate_choice=False,
                       description="The patient's active goals. A group, a track or a selection: each "
                                   "patient's exercise serves their track's default goal.")

    def validate(self, extra_validators=None) -> bool:
        """Field checks, plus the target the chosen kind needs and a due date not before the start."""
        valid = super().validate(extra_validators)
        if self.exercise.data is None and not self.exercise.errors:
            self.exercise.errors.append("Choose an exercise.")
            valid = False
        kind = self.target.data
        needed = {
            "patient": (self.patient, "Choose a patient."),
            "group": (self.group, "Choose a group."),
            "track": (self.track, "Choose a track."),
        }
        if kind == "patients" and not self.patients.data and not self.patients.errors:
            self.patients.errors.append("Select at least one patient.")
            valid = False
        elif kind in needed:
            target_field, message = needed[kind]
            if target_field.data is None and not target_field.errors:
                target_field.errors.append(message)
                valid = False
        if self.start.data and self.due.data and self.due.data < self.start.data:
            self.due.errors.append("The due date cannot be before the start date.")
            valid = False
        return valid


class StatusForm(FlaskForm):
    """A change of an assignment's status, with its reason."""

    status = SelectField("Change", choices=STATUS_ACTIONS)
    reason = TextAreaField(
        "Reason",
        validators=[Length(max=255, message="Keep the reason to 255 characters or fewer.")],
        description="Needed for pausing and stopping.",
    )
    row_version = HiddenField()


class AssignView(SecureBaseView):
    """Assign an exercise and see exactly who got it; pause, resume, complete or stop one."""

    permission_key = "assign"

    # Choices ---------------------------------------------------------------
    def _exercise_choices(self) -> list[tuple[int | str, str]]:
        exercises = db.session.scalars(
            sa.select(KindnessExercise)
            .where(KindnessExercise.active.is_(True))
            .options(selectinload(KindnessExercise.tracks))
            .order_by(KindnessExercise.title)
        ).all()
        g.assign_choices = exercises
        choices: list[tuple[int | str, str]] = [("", "— choose an exercise —")]
        for exercise in exercises:
            tracks = ", ".join(t.name for t in sorted(exercise.tracks, key=lambda t: t.care_level)) or "no track"
            choices.append((
                exercise.id,
                f"{exercise.title} — {exercise.energy} energy, usually "
                f"{exercise.default_times_per_week}×/week; for {tracks}",
            ))
        return choices

    def _fill_choices(self, form: AssignForm, preselected: list[int], posted_group_only: bool = False) -> list[Patient]:
        """Give every select its choices; return the pre-selected patients that exist.

        The patient selects offer only the patients the request names (``?patient=``,
        ``?patients=`` or the submitted values), never every patient of the clinic: the
        form stays the same size however many patients there are. Staff reach it from a
        patient's page or the patient list's selection. With ``posted_group_only`` (checking
        a POST) the group select holds only the group posted, if any: every active group of
        the clinic is read only when the form is shown.
        """
        form.exercise.choices = self._exercise_choices()
        named = preselected + _ids(request.args.getlist("patient"))
        if request.method == "POST":
            named += _ids(request.form.getlist("patient")) + _ids(request.form.getlist("patients"))
        named = _ids([str(i) for i in named])
        wanted = db.session.scalars(
            sa.select(Patient).where(Patient.id.in_(named)).order_by(Patient.last_name, Patient.first_name)
        ).all() if named else []
        form.patient.choices = [("", "— choose a patient —")] + [(p.id, str(p)) for p in wanted if p.active]
        chosen = [p for p in wanted if p.id in preselected]
        form.patients.choices = [(p.id, str(p)) for p in (chosen if preselected else wanted)]
        tracks = db.session.scalars(sa.select(Track).order_by(Track.care_level)).all()
        form.track.choices = [("", "— choose a track —")] + [(t.id, t.name) for t in tracks]
        self._fill_groups(form, posted_group_only)
        # Keep the records loaded for the choices alive for the request, so that finding the
        # chosen exercise and track again reads nothing (the identity map holds them weakly).
        g.assign_choices = (getattr(g, "assign_choices", ()), tracks)
        self._goal_choices(form, wanted)
        return list(chosen)

    def _group_scope(self, form: AssignForm) -> tuple[int | None, str, int | None]:
        """(track the group choice is scoped to, search text, group to keep offered).

        A POST carries its scope in ``group_track``; a GET takes ``?group_track=`` and
        ``?group_q=`` (the "Find groups" button without JavaScript), else the track of
        ``?group=``, else the track the form is opened for (``?track=``).
        """
        args = request.args
        if request.method == "POST":
            return group_choice.whole_id(request.form.get("group_track")), "", _optional_id(request.form.get("group"))
        group_id = _optional_id(args.get("group"))
        term = group_choice.clean_term(args.get("group_q"))
        if "group_track" in args:
            return group_choice.whole_id(args.get("group_track")), term, group_id
        return None, term, group_id

    def _fill_groups(self, form: AssignForm, posted_group_only: bool = False) -> None:
        """The group select: never every group of the clinic, but the first
        ``group_choice.CHOICES`` by name of a search within a track (or all tracks), plus
        the group the request names. With ``posted_group_only`` (checking a POST) only the
        posted group, if any."""
        track_id, term, group_id = self._group_scope(form)
        kept = group_choice.group_choice(group_id) if group_id is not None else None
        if request.method == "GET" and "group_track" not in request.args:
            track_id = kept.track_id if kept else _optional_id(request.args.get("track"))
        if kept and track_id is not None and kept.track_id != track_id and not posted_group_only:
            kept = None  # shown again after a refusal: a group outside the scope is not offered
        if posted_group_only:
            matches = group_choice.GroupMatches(track_id=track_id)
        else:
            matches = group_choice.find_groups(term, track_id)
        offered = list(matches.groups)
        if kept and all(c.id != kept.id for c in offered):
            offered.insert(0, kept)
        form.group.choices = [("", "— choose a group —")] + [(c.id, c.label) for c in offered]
        form.group_track.data = str(track_id) if track_id is not None else ""
        g.group_matches = matches

    def _goal_choices(self, form: AssignForm, wanted: list[Patient]) -> None:
        """The one patient's active goals (of the enrolment on the start date, or today)."""
        form.goal.choices = [("", "— the goal it serves —")]
        single = [p for p in wanted if p.active]
        if len(single) == 1:
            on = form.start.data if isinstance(form.start.data, date) else date.today()
            form.goal.choices += treatment_plan.goal_choices(single[0].id, on)

    def _preset(self, form: AssignForm, preselected: list[Patient]) -> None:
        """Fill a new form from the query string (target and exercise) and defaults."""
        args = request.args
        form.start.data = date.today()
        exercise_id = _ids(args.getlist("exercise"))
        if exercise_id:
            form.exercise.data = exercise_id[0]
        if args.getlist("patients"):
            form.target.data = "patients"
            form.patients.data = [p.id for p in preselected]
        elif _ids(args.getlist("patient")):
            form.target.data = "patient"
            form.patient.data = _ids(args.getlist("patient"))[0]
        elif _ids(args.getlist("group")):
            form.target.data = "group"
            form.group.data = _ids(args.getlist("group"))[0]
        elif args.get("target") == "group":  # "Find groups" without JavaScript
            form.target.data = "group"
        elif _ids(args.getlist("track")):
            form.target.data = "track"
            form.track.data = _ids(args.getlist("track"))[0]

    # Assigning -------------------------------------------------------------
    @expose("/", methods=("GET", "POST"))
    def index(self):
        """The assignment form (GET) and the fan-out with its exact result (POST)."""
        preselected_ids = _ids(request.args.getlist("patients"))
        form = AssignForm()
        form_error = None
        if request.method == "POST" and not allowed(self.permission_key, role_of(current_user), "c"):
            abort(403)
        posted = request.method == "POST"
        preselected = self._fill_choices(form, preselected_ids, posted_group_only=posted)
        status = 200
        if posted:
            if form.validate():
                try:
                    outcome = self._assign(form)
                except track_assign_jobs.AssignBusy as exc:
                    db.session.rollback()
                    if exc.job_id is not None:  # the caller's own job: its page says how far it is
                        flash(str(exc), "warning")
                        return redirect(url_for(".job", job_id=exc.job_id), 303)
                    form_error, status = str(exc), 409
                except FieldViolation as exc:
                    db.session.rollback()
                    if exc.field != "goal":
                        raise
                    form.goal.errors = [str(exc)]
                    form_error = str(exc)
                except RuleViolation as exc:
                    db.session.rollback()
                    form_error = str(exc)
                else:
                    if isinstance(outcome, int):  # a large track: the job's page
                        return redirect(url_for(".job", job_id=outcome), 303)
                    return self.render("admin/assign/result.html", **outcome)
            self._fill_groups(form)  # the form is shown again: offer the scope's first groups
        else:
            self._preset(form, preselected)
        return self.render(
            "admin/assign/form.html",
            form=form,
            form_error=form_error,
            preselected=bool(preselected_ids),
            missing=len(preselected_ids) - len(preselected),
            group_matches=g.group_matches,
            tracks=g.assign_choices[1],
        ), status

    @expose("/jobs/<int:job_id>/")
    def job(self, job_id: int):
        """A whole-track assign job's page (its owner only; anyone else gets 404): its state
        while it runs (the page refreshes itself), then the same result as the synchronous
        path, or a plain failure."""
        job = track_assign_jobs.status(current_user._get_current_object(), job_id)
        if job is None:
            abort(404)
        params = job.params
        exercise = db.session.get(KindnessExercise, params.get("exercise"))
        track = db.session.get(Track, params.get("track"))
        track_name = track.name if track is not None else f"track #{params.get('track')}"
        start = date.fromisoformat(params["start"])
        due = date.fromisoformat(params["due"]) if params.get("due") else None
        shown_exercise = {"id": params.get("exercise"),
                          "title": exercise.title if exercise is not None else "(exercise no longer on file)",
                          "default_times_per_week": params.get("times_per_week")}
        target = f"everyone enrolled in {track_name} on {start.isoformat()}"
        headers = {"Cache-Control": "no-store"}
        if job.state == "done" and job.result is not None:
            return self.render(
                "admin/assign/result.html", exercise=shown_exercise, target=target, result=job.result,
                holding=job.result.holding, shown_assigned=assignments.SHOWN_ASSIGNED, start=start, due=due,
                times_per_week=params.get("times_per_week"), job=job,
            ), 200, headers
        return self.render(
            "admin/assign/job.html", job=job, exercise=shown_exercise, target=target, start=start, due=due,
            times_per_week=params.get("times_per_week"),
            again_url=url_for(".index", track=params.get("track")),
            state_words=JOB_STATE_WORDS.get(job.state, job.state),
        ), 200, headers

    @expose("/groups/")
    def groups(self):
        """The group type-ahead: at most ``group_choice.CHOICES`` active groups whose name
        contains ``?q=``, of track ``?track=`` (none: every track), as JSON."""
        matches = group_choice.find_groups(request.args.get("q", ""),
                                           group_choice.whole_id(request.args.get("track")))
        response = jsonify(matches.as_json())
        response.headers["Cache-Control"] = "no-store"
        return response

    def _assign(self, form: AssignForm) -> dict | int:
        """Run the fan-out the form asks for; return what the result page shows (or, for a
        track above ``CLINIC_TRACK_ASSIGN_JOB_ABOVE`` patients, the id of the job started)."""
        exercise = db.session.get(KindnessExercise, form.exercise.data)
        if exercise is None:
            raise RuleViolation("That exercise no longer exists.")
        # What the result page shows of the exercise, read before the service commits (which
        # would make showing it read the exercise again).
        shown_exercise = {"id": exercise.id, "title": exercise.title,
                          "default_times_per_week": exercise.default_times_per_week}
        options = {
            "start": form.start.data,
            "times_per_week": form.times_per_week.data,
            "due": form.due.data,
            "actor": current_user._get_current_object(),
        }
        kind = form.target.data
        if kind == "group":
            group = group_choice.chosen_group(form.group.data, group_choice.whole_id(form.group_track.data))
            target = f"everyone on the roster of {group.name} on {form.start.data.isoformat()}"
            result = assignments.assign_to_group(exercise, group, **options)
        elif kind == "track":
            track = db.session.get(Track, form.track.data)
            if track is None:
                raise RuleViolation("That track no longer exists.")
            if track_assign_jobs.runs_as_job(track, form.start.data):
                # A large track: the same assign_to_track in a background job; its page shows the result.
                job = track_assign_jobs.start(
                    options["actor"], exercise, track, start=form.start.data,
                    times_per_week=form.times_per_week.data, due=form.due.data,
                    ip_address=audit.current_actor()[2] or "")
                return job.id
            target = f"everyone enrolled in {track.name} on {form.start.data.isoformat()}"
            result = assignments.assign_to_track(exercise, track, **options)
        else:
            ids = form.patients.data if kind == "patients" else [form.patient.data]
            patients = db.session.scalars(
                sa.select(Patient).where(Patient.id.in_(ids)).order_by(Patient.last_name, Patient.first_name)
            ).all()
            if len(patients) != len(set(ids)):
                raise RuleViolation("Some of the chosen patients no longer exist. Nothing was saved.")
            target = "one patient" if kind == "patient" else f"{len(patients)} selected patients"
            result = assignments.assign_exercise(exercise, patients, source="individual",
                                                 goal=form.goal.data if kind == "patient" else None, **options)
        holding = dict(result.holding)
        if result.already and not holding:
            rows = db.session.execute(
                sa.select(Assignment.patient_id, Assignment.id).where(
                    Assignment.exercise_id == shown_exercise["id"],
                    Assignment.status == "active",
                    Assignment.patient_id.in_([p.id for p in result.already]),
                )
            )
            holding = dict(rows.all())
        return {
            "exercise": shown_exercise,
            "target": target,
            "result": result,
            "holding": holding,
            "shown_assigned": assignments.SHOWN_ASSIGNED,
            "start": form.start.data,
            "due": form.due.data,
            "times_per_week": form.times_per_week.data or shown_exercise["default_times_per_week"],
        }

    # Status ----------------------------------------------------------------
    @expose("/status/", methods=("GET", "POST"))
    def status(self):
        """Show one assignment and pause, resume, complete or stop it."""
        ids = _ids(request.args.getlist("id"))
        assignment = None
        if ids:
            assignment = db.session.scalar(
                sa.select(Assignment)
                .where(Assignment.id == ids[0])
                .options(
                    joinedload(Assignment.patient),
                    joinedload(Assignment.exercise),
                    joinedload(Assignment.assigned_by),
                )
            )
        if assignment is None:
            abort(404)
        form = StatusForm()
        error = None
        if request.method == "POST":
            if not allowed(self.permission_key, role_of(current_user), "e"):
                abort(403)
            if form.validate():
                try:
                    assignments.change_status(assignment, form.status.data, form.reason.data or "",
                                              expected_version=form.row_version.data)
                except RuleViolation as exc:
                    db.session.rollback()
                    error = str(exc)
                else:
                    flash(f"The assignment is now {form.status.data}.", "success")
                    return redirect(url_for(".status", id=ids[0]))
            if error is not None:
                # Show the record as it is now, keeping the reason that was typed.
                db.session.refresh(assignment)
        form.row_version.data = str(assignment.version)
        audit.record_view("assignment", assignment.id, [assignment.patient_id])
        return self.render(
            "admin/assign/status.html",
            assignment=assignment,
            form=form,
            error=error,
            offered=[(value, label) for value, label in STATUS_ACTIONS if value in OFFERED[assignment.status]],
            final=assignment.status in assignments.FINAL_STATUSES,
        )


def register(admin) -> None:
    """Add the assigning pages to ``admin`` under Programme."""
    admin.add_view(AssignView(name="Assign an exercise", category="Programme", endpoint="assign", url="assign"))
