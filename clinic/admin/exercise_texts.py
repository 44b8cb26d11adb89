"""Programme → Exercise translations: the catalogue's texts in the languages patients read.

``/admin/exercise-texts/`` lists, per language, the current exercises with a text not
translated yet (and which). ``/admin/exercise-texts/edit/?exercise=<id>&language=<code>``
shows each English text beside its translation, both with their reading score
(``services.readability``: a warning when too hard, saving is still allowed), and saves
through ``services.exercise_texts.save_translation``; a refused post (unknown language,
English, too long, stale version) comes back with what was typed and changes nothing.
The index also lists each track's English default goal beside its translation per
language (``POST /admin/exercise-texts/track-goal/``, saved through
``services.track_texts.save_goal``; refused the same way, on the index).
For the roles that may edit exercises (the role table's ``exercises`` row, right ``e``).
The catalogue holds no patient data: nothing here is audited as a read.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_admin import expose

from ..extensions import db
from ..models import KindnessExercise, Track, TrackText
from ..services import exercise_texts, languages, readability, track_texts
from ..services.access import allowed
from ..services.errors import RuleViolation
from ..services.limits import FieldViolation
from .base import SecureBaseView, _role, id_arg

NOT_SAVED = "Nothing was saved: correct the field marked below."
TOO_HARD = ("Harder to read than patient paper should be: shorter sentences and everyday words help. "
            "You can still save it.")


def may_translate() -> bool:
    """True when the signed-in user may edit the exercise catalogue (and so its translations)."""
    return allowed("exercises", _role(), "e")


class ExerciseTextView(SecureBaseView):
    """The translations of the kindness-exercise catalogue, side by side with the English."""

    permission_key = "exercises"

    def is_accessible(self) -> bool:
        return may_translate()

    @expose("/")
    def index(self):
        """What is missing per language (current exercises, by English title)."""
        return self._index()

    def _index(self, typed: dict | None = None, refusal: str | None = None, status: int = 200):
        codes = exercise_texts.translation_languages()
        wanted = request.args.get("language")
        if wanted:
            if wanted not in codes:
                abort(404)
            codes = [wanted]
        sections = [(code, languages.language_name(code), exercise_texts.missing(code)) for code in codes]
        # Every current exercise (a catalogue is tens of them), to open any translation from here,
        # the finished ones included.
        exercises = db.session.execute(sa.select(KindnessExercise.id, KindnessExercise.title)
                                       .where(KindnessExercise.active.is_(True))
                                       .order_by(KindnessExercise.title)).all()
        return self.render("admin/exercise_texts/index.html", sections=sections, total=len(exercises),
                           exercises=exercises, labels=exercise_texts.FIELDS,
                           track_goals=self._track_goals(codes, typed or {}), goal_refusal=refusal,
                           goal_limit=track_texts.GOAL_LIMIT), status

    @staticmethod
    def _track_goals(codes: list[str], typed: dict) -> list[dict]:
        """Each track with its English default goal and, per language, its translation's form.

        ``typed``: (track id, language) -> (text, version, error) of a refused post, shown again.
        """
        tracks = list(db.session.scalars(sa.select(Track).order_by(Track.care_level)))
        rows = {(row.track_id, row.language): row for row in db.session.scalars(
            sa.select(TrackText).where(TrackText.language.in_(codes)))} if codes else {}
        found = []
        for track in tracks:
            forms = []
            for code in codes:
                saved = rows.get((track.id, code))
                value, version, error = typed.get((track.id, code), (
                    saved.default_goal if saved is not None else "", track_texts.version_of(saved), None))
                forms.append({"code": code, "name": languages.language_name(code), "value": value,
                              "version": version, "error": error, "reading": readability.reading(value, code)})
            english = track.default_goal or ""
            found.append({"id": track.id, "name": track.name, "english": english,
                          "english_reading": readability.reading(english, languages.SOURCE_LANGUAGE),
                          "forms": forms})
        return found

    @expose("/track-goal/", methods=("POST",))
    def track_goal(self):
        """Save one track's default goal in one language; a refusal comes back on the index."""
        track = db.session.get(Track, id_arg("track"))
        if track is None:
            abort(404)
        value = request.form.get("default_goal", "")
        version = request.form.get("version", "")
        posted = request.form.get("language", "")
        try:
            row = track_texts.save_goal(track, posted, value, version)
            db.session.commit()
        except FieldViolation as exc:
            db.session.rollback()
            if posted not in exercise_texts.translation_languages():
                return self._index(refusal=f"Nothing was saved. {exc}", status=400)
            return self._index({(track.id, posted): (value, version, str(exc))}, NOT_SAVED, status=400)
        except RuleViolation as exc:  # a stale or missing version (StaleEdit) among them
            db.session.rollback()
            return self._index({(track.id, posted): (value, version, None)}, str(exc), status=409)
        name = languages.language_name(row.language)
        flash(f"{name} default goal of the track saved.", "success")
        if not readability.reading(row.default_goal, row.language).ok:
            flash("Harder to read than patient paper should be: shorter sentences and everyday words help.",
                  "warning")
        return redirect(url_for(".index") + "#track-goals")

    def _page(self, exercise: KindnessExercise, code: str, typed: dict | None = None, version: str | None = None,
              refusal: str | None = None, errors: dict | None = None, status: int = 200):
        saved = exercise_texts.translation(exercise, code)
        values = typed if typed is not None else {
            name: (getattr(saved, name) or "") if saved is not None else "" for name in exercise_texts.FIELDS}
        rows = []
        for name, label in exercise_texts.FIELDS.items():
            english = getattr(exercise, name) or ""
            rows.append({
                "name": name,
                "label": label,
                "english": english,
                "english_reading": readability.reading(english, languages.SOURCE_LANGUAGE),
                "value": values.get(name, ""),
                "reading": readability.reading(values.get(name, ""), code),
                "limit": exercise_texts.limit_of(name),
                "error": (errors or {}).get(name),
                "multiline": name not in ("title", "summary"),
            })
        others = [(other, languages.language_name(other)) for other in exercise_texts.translation_languages()]
        return self.render(
            "admin/exercise_texts/edit.html", exercise=exercise, language=code,
            language_name=languages.language_name(code), rows=rows, others=others,
            version=version if version is not None else exercise_texts.version_of(saved),
            refusal=refusal, too_hard=TOO_HARD,
        ), status

    @expose("/edit/", methods=("GET", "POST"))
    def edit(self):
        """The side-by-side page of ``?exercise=`` in ``?language=``; a POST saves it."""
        exercise = db.session.get(KindnessExercise, id_arg("exercise"))
        if exercise is None:
            abort(404)
        if request.method == "GET":
            code = request.args.get("language", "")
            if code not in exercise_texts.translation_languages():
                abort(404)
            return self._page(exercise, code)
        return self._save(exercise)

    def _save(self, exercise: KindnessExercise):
        typed = {name: request.form.get(name, "") for name in exercise_texts.FIELDS}
        version = request.form.get("version", "")
        posted = request.form.get("language", "")
        try:
            code = exercise_texts.translation_language(posted)
        except FieldViolation as exc:
            # A hand-altered language: the page of the language asked for in the address (or the first).
            shown = request.args.get("language", "")
            choices = exercise_texts.translation_languages()
            if shown not in choices:
                if not choices:
                    abort(404)
                shown = choices[0]
            return self._page(exercise, shown, typed, version, f"Nothing was saved. {exc}", status=400)
        try:
            row = exercise_texts.save_translation(exercise, code, typed, version)
            db.session.commit()
        except FieldViolation as exc:
            db.session.rollback()
            return self._page(exercise, code, typed, version, NOT_SAVED, {exc.field: str(exc)}, status=400)
        except RuleViolation as exc:  # a stale or missing version (StaleEdit) among them
            db.session.rollback()
            return self._page(exercise, code, typed, version, str(exc), status=409)
        name = languages.language_name(code)
        flash(f"{name} texts of the exercise saved.", "success")
        hard = [label.split(" (")[0] for label_name, label in exercise_texts.FIELDS.items()
                if not readability.reading(getattr(row, label_name), code).ok]
        if hard:
            flash(f"Harder to read than patient paper should be: {', '.join(hard)}. "
                  "Shorter sentences and everyday words help.", "warning")
        return redirect(url_for(".edit", exercise=exercise.id, language=code))


def register(admin) -> None:
    """Add Programme → Exercise translations."""
    admin.add_view(ExerciseTextView(name="Exercise translations", category="Programme",
                                    endpoint="exercise_texts", url="exercise-texts"))
