"""The fictional demo clinic, built through the same services as real work.

``load_demo`` reads ``seed/demo.toml`` and fills an empty, non-production clinic with
invented staff, patients, groups, sessions, attendance, assignments and check-ins so the
app can be tried out. Enrolments and step-downs go through ``services.enrolment`` (so each
gets its track's starter plan, as a real one does), memberships through
``services.membership``, assignments through ``services.assignments``, sessions through
``services.series.create_series``, session records through ``services.recording``
other check-ins through ``services.checkins`` and the weekly connectedness answers through
``services.kindness_dose``. Staff, groups and patients, which have
no service of their own, are created directly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app

from clinic.extensions import db
from clinic.models import (
    Activity,
    Assignment,
    CareGroup,
    Enrolment,
    ConnectednessRating,
    ExerciseCheckin,
    GroupMembership,
    KindnessExercise,
    MeasureAdministration,
    Patient,
    PlanReview,
    SafetyTask,
    StaffUser,
    Track,
)
from clinic.services import (
    accounts, assignments, catalogue, checkins, enrolment, instruments, kindness_dose, measures, membership,
    patients, recording, safety, series, treatment_plan,
)
from clinic.services.participation import monday_of
from clinic.services.demo_spec import DemoSpec, GroupSpec, read_demo_spec
from clinic.services.errors import RuleViolation
from clinic.services.reference_data import load_reference
from clinic.services.seed_files import SeedError

#: The fixed passwords of the demo accounts, by role. They are documented on purpose:
#: the demo clinic exists only outside production, for people trying the app out.
DEMO_PASSWORDS = {
    "admin": "demo-admin-pass",
    "planner": "demo-planner-pass",
    "counselor": "demo-counselor-pass",
}

#: The demo covers this many days before ``today`` (held sessions) ...
DEMO_PAST_DAYS = 21
#: ... and this many days from ``today`` on (planned sessions, today included).
DEMO_FUTURE_DAYS = 7


@dataclass
class DemoLogin:
    """One demo account. ``password`` is None when the account existed before the demo."""

    email: str
    full_name: str
    role: str
    password: str | None


@dataclass
class DemoResult:
    """What ``load_demo`` did: whether it loaded, a message for people, logins and counts."""

    loaded: bool
    message: str
    logins: list[DemoLogin] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    reference_counts: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        """Return the message and, when the demo loaded, the logins, as text for the CLI."""
        lines = [self.message]
        if self.logins:
            lines.append("Demo logins (fictional accounts; never use these passwords for real ones):")
            width = max(len(login.email) for login in self.logins)
            for login in self.logins:
                password = login.password or "(account existed before; password unchanged)"
                lines.append(f"  {login.role:<9}  {login.email:<{width}}  {password}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# The demo clinic: building it
# ---------------------------------------------------------------------------

_GROUP_NOTES = (
    "{activity}: everyone who wanted to took a turn. Calm, supportive atmosphere.",
    "{activity}: the group warmed up slowly, then shared openly. Several people offered encouragement.",
    "{activity}: good energy today. We ended with each person naming one thing to try this week.",
    "{activity}: a quieter session; passing was used and respected. Short grounding exercise at the end.",
    "{activity}: the group talked about what makes kindness hard on low-energy days.",
)
_PRESENT_NOTES = (
    "Joined in readily and shared an example from the week.",
    "Quiet at first; spoke up in the second half.",
    "Offered encouragement to another member.",
    "Said the exercise felt easier than last week.",
    "Seemed tired; took part in the pair work.",
    "Asked for a copy of the handout to take home.",
)
_LATE_NOTES = ("Arrived late after an appointment; settled in quickly.", "Arrived late; joined the second round.")
_LEFT_EARLY_NOTES = ("Left early for a medical appointment.", "Left early; felt unwell, staff informed.")
_ABSENT_NOTES = ("Did not attend; counselor to follow up.", "No message received; will check in tomorrow.")
_EXCUSED_NOTES = (
    "Excused: medical appointment.",
    "Excused: family commitment, told us in advance.",
    "Excused: resting on medical advice.",
)
_REFLECTIONS = {
    "done": (
        "Felt lighter afterwards.",
        "Easier than I expected.",
        "They smiled, and so did I.",
        "Nice to do something for someone else.",
        "I noticed I was less hard on myself today.",
        "Small, but it counted.",
        "Want to do this again tomorrow.",
    ),
    "partly": (
        "Started it but ran out of energy. Still glad I tried.",
        "Did half; that's more than last week.",
        "Got interrupted, will finish tomorrow.",
        "Managed a shorter version.",
    ),
    "not_done": (
        "Too tired today.",
        "Forgot, then felt bad about it. Trying again tomorrow.",
        "Bad day; I rested instead.",
        "Didn't feel up to it.",
    ),
}


@dataclass
class _Stint:
    """One enrolment of one patient, with the group they were in."""

    track: Track
    group: CareGroup
    start: date
    end: date | None
    counselor: StaffUser


@dataclass
class _PlannedPatient:
    patient: Patient
    stints: list[_Stint]  # oldest first; the last one is open unless discharged
    engagement_base: float
    mood_base: float

    @property
    def current(self) -> _Stint:
        return self.stints[-1]


#: The demo's written plans: (problem, measurable goal, objective).
_DEMO_PLANS = (
    ("Low mood and withdrawal from friends since the winter.",
     "Contacts a friend or relative at least twice a week, for 4 weeks in a row.",
     "Sends one kind message to someone on Monday and on Thursday."),
    ("Harsh self-criticism after small setbacks.",
     "Names one thing done well each day on 5 days a week, noted in the gratitude list.",
     "Writes one line in the evening before switching off the phone."),
    ("Days without leaving the house.",
     "Goes out for a kind errand (for someone else or for themself) 3 times a week.",
     "Plans the first errand with the counselor at the next session."),
)
#: The same plans as a counselor writes them for a patient who reads Spanish (goals print as
#: typed on the patient's own progress sheet, so they are typed in the patient's language).
_DEMO_PLANS_ES = (
    ("Ánimo bajo y se aleja de sus amigos desde el invierno.",
     "Habla con un amigo o un familiar al menos dos veces por semana, cuatro semanas seguidas.",
     "Envía un mensaje amable a alguien el lunes y el jueves."),
    ("Se critica con dureza después de pequeños tropiezos.",
     "Nombra algo que hizo bien cada día, cinco días por semana, en su lista de gracias.",
     "Escribe una línea por la noche antes de apagar el teléfono."),
    ("Días sin salir de casa.",
     "Sale a hacer un favor (para otra persona o para sí) tres veces por semana.",
     "Planea el primer favor con su consejero en la próxima sesión."),
)


class _DemoBuilder:
    """Builds the demo clinic through the services; saving the session records commits."""

    def __init__(self, spec: DemoSpec, today: date, rng: random.Random) -> None:
        self.spec = spec
        self.today = today
        self.rng = rng
        self.session = db.session
        self.counts: dict[str, int] = {}
        self.logins: list[DemoLogin] = []

    # -- helpers ---------------------------------------------------------

    def _add(self, kind: str, rows: list) -> None:
        self.session.add_all(rows)
        self.session.flush()
        self.counts[kind] = self.counts.get(kind, 0) + len(rows)

    def _count(self, kind: str, model) -> None:
        self.counts[kind] = self.session.scalar(sa.select(sa.func.count()).select_from(model))

    def _weighted(self, options: dict[str, float]) -> str:
        return self.rng.choices(list(options), weights=list(options.values()))[0]

    # -- steps -----------------------------------------------------------

    def build(self) -> None:
        """Create everything; the records are saved (and committed) session by session."""
        self._load_catalogue()
        self._check_free_names()
        self._make_staff()
        self._make_groups()
        self._make_patients()
        self._make_sessions()
        self._make_assignments()
        self._make_plans()
        self._make_reviews()
        self._make_records()
        self._make_checkins()
        self._make_connectedness()
        self._make_measures()
        for kind, model in (("enrolments", Enrolment), ("memberships", GroupMembership),
                            ("assignments", Assignment), ("checkins", ExerciseCheckin),
                            ("connectedness", ConnectednessRating), ("measures", MeasureAdministration),
                            ("safety_tasks", SafetyTask)):
            self._count(kind, model)

    def _load_catalogue(self) -> None:
        self.tracks = {t.code: t for t in self.session.scalars(sa.select(Track))}
        codes = {g.track for g in self.spec.groups} | set(self.spec.stepped_down_into) | set(self.spec.discharged)
        missing = sorted(codes - set(self.tracks))
        if missing:
            raise SeedError(f"The demo needs the track(s) {', '.join(missing)}, which are not in the database.")
        self.by_level = sorted(self.tracks.values(), key=lambda t: t.care_level)
        self.exercises: dict[int, list[KindnessExercise]] = {}
        self.activities: dict[int, list[Activity]] = {}
        for track in self.tracks.values():
            self.exercises[track.id] = list(
                self.session.scalars(
                    sa.select(KindnessExercise)
                    .join(KindnessExercise.tracks)
                    .where(Track.id == track.id, KindnessExercise.active.is_(True))
                    .order_by(KindnessExercise.title)
                )
            )
            self.activities[track.id] = list(
                self.session.scalars(
                    sa.select(Activity).join(Activity.tracks).where(Track.id == track.id).order_by(Activity.name)
                )
            )

    def _check_free_names(self) -> None:
        names = [g.name for g in self.spec.groups]
        taken = list(self.session.scalars(sa.select(CareGroup.name).where(CareGroup.name.in_(names))))
        if taken:
            raise SeedError(
                f"The group name(s) {', '.join(sorted(taken))} are already in use; the demo "
                "loads only into an empty clinic."
            )

    def _make_staff(self) -> None:
        emails = [s["email"] for s in self.spec.staff]
        existing = {
            u.email: u for u in self.session.scalars(sa.select(StaffUser).where(StaffUser.email.in_(emails)))
        }
        created = []
        self.staff: dict[str, StaffUser] = {}
        for member in self.spec.staff:
            user = existing.get(member["email"])
            password = None
            if user is None:
                password = DEMO_PASSWORDS[member["role"]]
                user = accounts.create_account(
                    {"email": member["email"], "full_name": member["full_name"], "role": member["role"],
                     "is_active_account": True},
                    password,
                )
                created.append(user)
            self.staff[member["email"]] = user
            self.logins.append(DemoLogin(user.email, user.full_name, user.role, password))
        self.counts["staff"] = len(created)
        self.planners = [u for u in self.staff.values() if u.role == "planner"]
        self.counselors = [u for u in self.staff.values() if u.role == "counselor"]

    def _make_groups(self) -> None:
        self.groups: list[tuple[GroupSpec, CareGroup]] = []
        for spec in self.spec.groups:
            group = catalogue.create_group({
                "name": spec.name,
                "track": self.tracks[spec.track],
                "facilitator": self.staff[spec.facilitator],
                "room": spec.room,
                "capacity": spec.capacity,
                "active": True,
            })
            self.groups.append((spec, group))
        self.counts["groups"] = len(self.groups)
        self.groups_by_track: dict[int, list[CareGroup]] = {}
        for _, group in self.groups:
            self.groups_by_track.setdefault(group.track_id, []).append(group)

    def _previous_track(self, track: Track) -> Track | None:
        index = self.by_level.index(track)
        return self.by_level[index - 1] if index > 0 else None

    def _stint_days(self, track: Track) -> int:
        # Ward stays are short; day programmes last a few weeks.
        return self.rng.randint(10, 21) if track.care_level == 1 else self.rng.randint(14, 30)

    def _plan_patients(self) -> list[_PlannedPatient]:
        """Who the patients are and which tracks and groups they passed through, oldest first."""
        rng, today = self.rng, self.today
        # Who goes where: one slot per current member, in file order.
        slots = [(spec, group) for spec, group in self.groups for _ in range(spec.members)]
        # Then the recently discharged, one after the other in the groups of their track.
        former = []
        for code, count in self.spec.discharged.items():
            options = [(spec, group) for spec, group in self.groups if spec.track == code]
            if not options:
                raise SeedError(f"The demo needs a group in the {code} track for its discharged patients.")
            former += [options[n % len(options)] for n in range(count)]
        combos = rng.sample(
            [(f, l) for f in self.spec.first_names for l in self.spec.last_names], len(slots) + len(former)
        )
        # Histories: which patients stepped down into their current track.
        history: dict[int, list[Track]] = {}
        for code, count in self.spec.stepped_down_into.items():
            track = self.tracks[code]
            previous = self._previous_track(track)
            in_track = [i for i, (spec, _) in enumerate(slots) if spec.track == code]
            if previous is None or count == 0 or not in_track:
                continue
            chosen = sorted(rng.sample(in_track, min(count, len(in_track))))
            for rank, index in enumerate(chosen):
                chain = [previous]
                if rank < self.spec.full_journey:
                    # Came all the way down from the most intensive level.
                    while (earlier := self._previous_track(chain[0])) is not None:
                        chain.insert(0, earlier)
                history[index] = chain
        rotation = {track_id: 0 for track_id in self.groups_by_track}

        planned_patients = []
        for index, ((spec, group), (first, last)) in enumerate(zip(slots + former, combos)):
            counselor = group.facilitator if rng.random() < 0.5 else rng.choice(self.counselors)
            chain = history.get(index, [])
            end = None
            if index >= len(slots):
                # Finished the programme a few days ago.
                end = today - timedelta(days=rng.randint(3, 12))
                start = end - timedelta(days=self._stint_days(group.track) - 1)
            elif chain:
                start = today - timedelta(days=rng.randint(3, 18))
            elif group.track.care_level == 1:
                start = today - timedelta(days=rng.randint(2, 24))
            else:
                start = today - timedelta(days=rng.randint(5, 60))
            stints = [_Stint(group.track, group, start, end, counselor)]
            next_start = start
            for earlier in reversed(chain):
                end = next_start - timedelta(days=1)
                begin = end - timedelta(days=self._stint_days(earlier) - 1)
                options = self.groups_by_track.get(earlier.id)
                if not options:
                    raise SeedError(f"The demo needs a group in the {earlier.code} track for its history.")
                earlier_group = options[rotation[earlier.id] % len(options)]
                rotation[earlier.id] += 1
                stints.insert(
                    0, _Stint(earlier, earlier_group, begin, end, earlier_group.facilitator)
                )
                next_start = begin
            preferred = None
            if first in self.spec.nicknames and rng.random() < 0.7:
                preferred = self.spec.nicknames[first]
            patient = Patient(
                record_number=f"{self.spec.record_prefix}{index + 1:04d}",
                first_name=first,
                last_name=last,
                preferred_name=preferred,
                active=True,
                created_at=datetime.combine(stints[0].start, time(8, 0)),
            )
            planned_patients.append(
                _PlannedPatient(
                    patient,
                    stints,
                    engagement_base=rng.choice((2.0, 2.5, 3.0, 3.0, 3.5)),
                    mood_base=rng.choice((2.0, 3.0, 3.0, 4.0, 5.0)),
                )
            )
        return planned_patients

    def _join(self, group: CareGroup, patient: Patient, start: date) -> None:
        """Add the patient to ``group`` (or, when it is full, another group of its track)."""
        options = self.groups_by_track[group.track_id]
        ordered = [group] + [other for other in options if other is not group]
        for candidate in ordered:
            try:
                membership.add_member(candidate, patient, start, commit=False)
                return
            except RuleViolation:
                continue

    def _make_patients(self) -> None:
        """Patients, then each one's enrolments, step-downs, memberships and discharge, in date order."""
        self.planned = self._plan_patients()
        for planned in self.planned:
            # Registered through the service like any patient; the demo then backdates the record.
            draft = planned.patient
            planned.patient = patients.create_patient({
                "record_number": draft.record_number, "first_name": draft.first_name,
                "last_name": draft.last_name, "preferred_name": draft.preferred_name, "active": True,
                "preferred_language": self.spec.languages.get(draft.record_number, "en"),
            })
            planned.patient.created_at = draft.created_at
        self.counts["patients"] = len(self.planned)
        self.by_patient = {planned.patient.id: planned for planned in self.planned}
        for planned in self.planned:
            patient = planned.patient
            for position, stint in enumerate(planned.stints):
                actor = self.rng.choice(self.planners)
                if position == 0:
                    enrolment.enrol(patient, stint.track, stint.start, counselor=stint.counselor,
                                    actor=actor, commit=False)
                else:
                    enrolment.transfer(patient, stint.track, stint.start, reason=f"Stepped down to {stint.track.name}.",
                                       counselor=stint.counselor, actor=actor, commit=False)
                self._join(stint.group, patient, stint.start)
            if planned.current.end is not None:
                enrolment.discharge(patient, planned.current.end, reason="Completed the programme.", commit=False)
        self.session.flush()

    def _make_sessions(self) -> None:
        """Weekly series from three weeks ago to a week ahead, one per group, weekday and time."""
        rng, today = self.rng, self.today
        first_day = today - timedelta(days=DEMO_PAST_DAYS)
        last_day = today + timedelta(days=DEMO_FUTURE_DAYS - 1)
        self.sessions = []
        for spec, group in self.groups:
            activities = self.activities.get(group.track_id, [])
            for weekday in spec.days:
                if len(activities) >= len(spec.start_times):
                    chosen = rng.sample(activities, len(spec.start_times))
                else:
                    chosen = [rng.choice(activities) if activities else None for _ in spec.start_times]
                for activity, starts in zip(chosen, spec.start_times):
                    self.sessions += series.create_series(
                        group, weekdays=[weekday], start_time=starts, duration_minutes=spec.session_minutes,
                        activity=activity, start_date=first_day, until=last_day, commit=False,
                    )
                    self.session.flush()
        self.sessions.sort(key=lambda s: (s.starts_at, s.group_id))
        self.counts["sessions"] = len(self.sessions)

    def _make_assignments(self) -> None:
        """One or two exercises beyond the starter plan for each patient's current track."""
        rng, today = self.rng, self.today
        weights = {"low": 3.0, "medium": 2.0, "high": 1.0}
        held: dict[int, set[int]] = {}
        for patient_id, exercise_id in self.session.execute(
            sa.select(Assignment.patient_id, Assignment.exercise_id).where(Assignment.status == "active")
        ):
            held.setdefault(patient_id, set()).add(exercise_id)
        for planned in self.planned:
            current = planned.current
            if current.end is not None:
                continue  # discharged: nothing more to do
            mine = held.get(planned.patient.id, set())
            pool = [e for e in self.exercises.get(current.track.id, []) if e.id not in mine]
            wanted = min(len(pool), rng.choice((1, 1, 2)))
            for _ in range(wanted):
                exercise = rng.choices(pool, weights=[weights.get(e.energy, 1.0) for e in pool])[0]
                pool.remove(exercise)
                room = max(0, min(10, (today - current.start).days - 1))
                start = current.start + timedelta(days=rng.randint(0, room))
                due = today + timedelta(days=rng.randint(5, 21))
                source = rng.choice(("individual", "group"))
                # One patient assigned individually names a goal of their plan (the starter plan's).
                goals = treatment_plan.goal_choices(planned.patient.id, start) if source == "individual" else []
                assignments.assign_exercise(
                    exercise, [planned.patient],
                    start=start,
                    due=due,
                    source=source,
                    actor=rng.choice(self.planners),
                    commit=False,
                    goal=goals[0][0] if goals else None,
                )

    def _make_plans(self) -> None:
        """A written treatment plan for the first few current patients (no random numbers drawn,
        so the rest of the demo is unchanged): a problem, a goal under it with an objective,
        and the plan reviewed (certified on the first day where the track is certified). Their
        exercises already serve the track's default goal, attached by the starter plan."""
        current = [p for p in self.planned if p.current.end is None][:len(_DEMO_PLANS)]
        for n, planned in enumerate(current):
            problem_text, goal_text, objective_text = (
                _DEMO_PLANS_ES if planned.patient.preferred_language == "es" else _DEMO_PLANS)[n]
            stint = planned.current
            enrolment = treatment_plan.plan_enrolment(planned.patient.id)
            counselor = stint.counselor
            problem = treatment_plan.add_problem(counselor, enrolment, problem_text, today=self.today)
            goal = treatment_plan.add_goal(counselor, enrolment, statement=goal_text, problem_id=problem.id,
                                           target_date=max(stint.start, self.today) + timedelta(days=42),
                                           today=self.today)
            treatment_plan.add_objective(counselor, goal, text=objective_text, target_date=None, today=self.today)
            if stint.track.recert_every_days is not None:
                treatment_plan.record_review(counselor, enrolment, kind="certification",
                                             reviewed_on=min(stint.start, self.today), note="", today=self.today)
            treatment_plan.record_review(counselor, enrolment, kind="review", reviewed_on=min(stint.start, self.today),
                                         note="Plan agreed with the patient.", today=self.today)

    def _make_reviews(self) -> None:
        """Each current patient's plan reviewed on time (every ``CLINIC_PLAN_REVIEW_DAYS`` from
        the first day) and, on a certified track, certified on the first day and recertified
        on the track's schedule, by the primary counselor; one patient's plan review is left
        to fall due, so My day has one to do. No random numbers are drawn."""
        current = [p for p in self.planned if p.current.end is None]
        late = current[len(_DEMO_PLANS)] if len(current) > len(_DEMO_PLANS) else None
        every = timedelta(days=treatment_plan.review_days())
        for planned in current:
            stint = planned.current
            enrolment = treatment_plan.plan_enrolment(planned.patient.id)
            if enrolment is None:
                continue
            done = {(r.kind, r.reviewed_on) for r in self.session.scalars(
                sa.select(PlanReview).where(PlanReview.enrolment_id == enrolment.id))}

            def record(kind: str, day: date, note: str = "") -> None:
                if (kind, day) not in done and day <= self.today:
                    treatment_plan.record_review(stint.counselor, enrolment, kind=kind, reviewed_on=day, note=note,
                                                 today=self.today)
                    done.add((kind, day))

            start = enrolment.start_date
            track = stint.track
            if track.recert_every_days is not None and track.recert_first_days is not None:
                record("certification", start)
                day = start + timedelta(days=track.recert_first_days)
                while day <= self.today:
                    record("recertification", day)
                    day += timedelta(days=track.recert_every_days)
            if planned is late:
                continue
            day = start
            while day <= self.today:
                record("review", day, "Plan reviewed with the patient.")
                day += every

    def _checkin_values(self, planned: _PlannedPatient, day: date) -> tuple[str, int, int | None, str]:
        """An outcome, moods before and after, and a reflection, drifting upwards over time."""
        rng = self.rng
        outcome = self._weighted({"done": 60, "partly": 25, "not_done": 15})
        trend = min(1.5, (day - planned.current.start).days / 14)
        before = max(0, min(10, round(planned.mood_base + trend + rng.gauss(0, 1))))
        if outcome == "done":
            after = before + rng.choice((0, 1, 1, 2, 2, 3))
        elif outcome == "partly":
            after = before + rng.choice((-1, 0, 0, 1, 1, 2))
        else:
            after = None
        if after is not None:
            after = max(0, min(10, after))
        reflection = rng.choice(_REFLECTIONS[outcome]) if rng.random() < 0.8 else ""
        return outcome, before, after, reflection

    @staticmethod
    def _chance(assignment: Assignment) -> float:
        return min(0.9, assignment.times_per_week / 7 * 0.85)

    def _stint_on(self, planned: _PlannedPatient, day: date) -> _Stint:
        return next((s for s in planned.stints if s.start <= day and (s.end is None or day <= s.end)),
                    planned.current)

    def _entry(self, row: recording.RecordRow, day: date, length: int) -> recording.Entry:
        """One person's attendance, engagement and note, and some of their check-ins."""
        rng = self.rng
        planned = self.by_patient[row.patient.id]
        status = self._weighted({"present": 78, "late": 7, "left_early": 5, "absent": 6, "excused": 4})
        engagement, note, minutes = None, "", 0
        if status in ("absent", "excused"):
            if status == "excused" or rng.random() < 0.5:
                note = rng.choice(_EXCUSED_NOTES if status == "excused" else _ABSENT_NOTES)
        else:
            if status == "present":
                minutes = length
                if rng.random() < 0.18:
                    note = rng.choice(_PRESENT_NOTES)
            elif status == "late":
                minutes = max(1, length - rng.randint(10, min(30, max(10, length // 2))))
                note = rng.choice(_LATE_NOTES) if rng.random() < 0.6 else ""
            else:
                minutes = max(1, length - rng.randint(15, max(15, length // 2)))
                note = rng.choice(_LEFT_EARLY_NOTES) if rng.random() < 0.6 else ""
            # Engagement tends to grow over the first weeks in a track.
            trend = min(1.0, (day - self._stint_on(planned, day).start).days / 28)
            engagement = max(1, min(5, round(planned.engagement_base + trend + rng.gauss(0, 0.7))))
        entry = recording.Entry(patient_id=row.patient.id, status=status, minutes=minutes,
                                engagement=engagement, note=note)
        if engagement is not None:
            self.attended.add((row.patient.id, day))
            for line in row.exercises:
                key = (line.assignment.id, day)
                if not line.editable or line.checkin is not None or key in self.checked_in:
                    continue
                if rng.random() < self._chance(line.assignment) * 0.5:
                    outcome, before, after, reflection = self._checkin_values(planned, day)
                    entry.checkins[line.assignment.id] = recording.CheckinEntry(outcome, before, after, reflection)
                    self.checked_in.add(key)
        return entry

    def _make_records(self) -> None:
        """Record every session up to two days ago (each save commits); sign the older ones.

        Yesterday's sessions are left unrecorded, so "My day" has work waiting; records
        from the last few days are saved but not signed yet.
        """
        rng, today = self.rng, self.today
        self.attended: set[tuple[int, date]] = set()
        self.checked_in: set[tuple[int, date]] = set()
        attendance = 0
        for session in self.sessions:
            day = session.starts_at.date()
            if day >= today - timedelta(days=1):
                continue
            record = recording.load_record(session.id)
            entries = [self._entry(row, day, record.length) for row in record.rows]
            note = rng.choice(_GROUP_NOTES).format(activity=session.activity.name) if session.activity else ""
            result = recording.save_record(session, entries, note, expected_version=record.version,
                                           actor=session.facilitator, today=today)
            if result.errors:
                raise SeedError(f"The demo could not record a session: {'; '.join(result.errors.values())}")
            attendance += result.created
            if day < today - timedelta(days=3):
                recording.sign_record(session, session.facilitator)
        self.counts["attendance"] = attendance

    def _make_checkins(self) -> None:
        """Check-ins outside sessions, recorded by the primary counselor; then commit."""
        rng, today = self.rng, self.today
        window_start = today - timedelta(days=DEMO_PAST_DAYS)
        active = self.session.scalars(
            sa.select(Assignment).where(Assignment.status == "active").order_by(Assignment.id)
        ).all()
        for assignment in active:
            planned = self.by_patient[assignment.patient_id]
            chance = self._chance(assignment)
            day = max(assignment.start_date, window_start)
            while day < today:
                if (assignment.id, day) not in self.checked_in:
                    if (assignment.patient_id, day) in self.attended:
                        chance_today = chance * 0.5
                    else:
                        chance_today = chance
                    if rng.random() < chance_today:
                        outcome, before, after, reflection = self._checkin_values(planned, day)
                        checkins.record_checkin(
                            assignment, day,
                            checkins.CheckinInput(outcome=outcome, mood_before=before, mood_after=after,
                                                  reflection=reflection),
                            recorded_by=self._stint_on(planned, day).counselor, today=today, commit=False,
                        )
                day += timedelta(days=1)
        self.session.commit()


    def _make_connectedness(self) -> None:
        """Weekly connectedness answers (0-10) of most current patients, for the weeks already over
        since they started, entered by their primary counselor and drifting upwards; then commit.

        A random generator of its own, so the rest of the demo stays as it was."""
        rng, today = random.Random(2016), self.today
        first_week = monday_of(today - timedelta(days=DEMO_PAST_DAYS))
        for planned in self.planned:
            if planned.current.end is not None or rng.random() < 0.3:
                continue  # discharged, or not asked
            answer = planned.mood_base + rng.choice((0.0, 0.5, 1.0))
            week = max(first_week, monday_of(planned.stints[0].start))
            while week + timedelta(days=6) < today:
                answer = min(10.0, answer + rng.choice((0.0, 0.5, 1.0, 1.5)))
                kindness_dose.record_connectedness(
                    planned.current.counselor, planned.patient.id, week, round(answer), today=today,
                )
                week += timedelta(days=7)
        self.session.commit()

    def _make_measures(self) -> None:
        """PHQ-9 and GAD-7 of the current and recently discharged patients, weekly (the default
        schedule) from their admission or the start of the demo's three weeks, and on the day
        of discharge, entered and signed by their primary counselor (the admin for those
        discharged): most patients' scores fall week by week, a few stay put. One patient's
        latest PHQ-9 answers item 9 with 1 ("several days"): its safety task is closed by the
        counselor's risk assessment. One patient's last measures are
        missing, so they are overdue on My day and the patient page. Each save commits.

        A random generator of its own, so the rest of the demo stays as it was."""
        rng, today = random.Random(2027), self.today
        window_start = today - timedelta(days=DEMO_PAST_DAYS)
        current = [p for p in self.planned if p.current.end is None]
        if len(current) < 3:
            return
        flagged, overdue = current[1], current[-1]
        admin = next(u for u in self.staff.values() if u.role == "admin")
        # The recently discharged have theirs up to the last day (entered by the admin: a
        # discharged patient is no longer on the counselor's caseload).
        left = [p for p in self.planned if p.current.end is not None and p.current.end >= window_start]
        for planned in current + left:
            stint = planned.current
            last = stint.end or today
            first = max(stint.start, window_start + timedelta(days=rng.randrange(7)))
            if first > last:
                first = last
            days = [first + timedelta(days=7 * k) for k in range((last - first).days // 7 + 1)]
            if stint.end is not None and days[-1] != stint.end:
                days.append(stint.end)
            who = stint.counselor if stint.end is None else admin
            if planned is overdue:
                days = [d for d in days if d <= today - timedelta(days=9)] or [first]
                if days[-1] > today - timedelta(days=9):
                    continue  # admitted too recently to be overdue: no measure at all
            falling = rng.random() < 0.8
            level = 1.5 + rng.random() * 0.9  # the mean answer per item at the first measure
            for n, day in enumerate(days):
                mean = max(0.2, level - (0.35 * n if falling else 0.0))
                for code in ("phq9", "gad7"):
                    form = instruments.INSTRUMENTS[code]
                    scale = 1.0 if code == "phq9" else 0.85
                    answers = {item.number: max(0, min(3, round(rng.gauss(mean * scale, 0.6))))
                               for item in form.items}
                    if code == "phq9":
                        answers[9] = 1 if planned is flagged and n == len(days) - 1 else 0
                    entry = measures.Entry(answers=answers, administered_on=day, mode="in_person",
                                           difficulty=min(3, round(mean)))
                    measures.save_administration(planned.patient, code, entry, who, sign=True, today=today)
        task = self.session.scalar(sa.select(SafetyTask).where(SafetyTask.patient_id == flagged.patient.id))
        if task is not None:
            safety.record_assessment(
                task, flagged.current.counselor, risk_level="low",
                action_taken=("Asked about the answer in person: passive thoughts on a bad day, no plan or "
                              "intent. Safety plan reviewed and the crisis line given; next PHQ-9 in a week."),
                assessed_on=task.opened_at.date(), assessed_time=None, expected_version=task.version,
            )


def check_demo_allowed() -> None:
    """Refuse with ``SeedError`` in production (``CLINIC_ENV`` is ``production`` or unset)."""
    if current_app.config.get("CLINIC_ENV", "production") == "production":
        raise SeedError(
            "The demo clinic is never loaded in production (CLINIC_ENV=production): it "
            "creates accounts with published passwords. Use CLINIC_ENV=development."
        )


def load_demo(today: date | None = None, *, spec: DemoSpec | None = None) -> DemoResult:
    """Fill an empty clinic with the fictional demo from ``demo.toml``.

    Refuses with ``SeedError`` in production, before anything is written. When the clinic
    already holds any patient nothing is changed, and the result says so (``loaded`` is
    False); this makes a second run harmless. Reference data is loaded first when no
    track exists yet. The demo covers three weeks of held sessions before ``today``
    (default: the real today) and one week of planned ones from ``today`` on, and is the
    same every time for the same ``today`` and catalogue. Demo accounts get the
    passwords in ``DEMO_PASSWORDS``; the result lists them for the CLI to print.
    Everything up to the first session record is one transaction; each record is then
    saved (and committed) by the recording service, as a facilitator's would be.
    """
    check_demo_allowed()
    if db.session.scalar(sa.select(Patient.id).limit(1)) is not None:
        return DemoResult(
            loaded=False,
            message=(
                "The clinic already has patients, so the demo was not loaded: it loads only "
                "into an empty clinic. Nothing was changed."
            ),
        )
    spec = spec or read_demo_spec()
    today = today or date.today()
    reference_counts: dict[str, int] = {}
    try:
        if db.session.scalar(sa.select(sa.func.count()).select_from(Track)) == 0:
            reference_counts = load_reference(commit=False)
        builder = _DemoBuilder(spec, today, random.Random(2026))
        builder.build()
    except RuleViolation as exc:
        db.session.rollback()
        raise SeedError(f"The demo clinic could not be built: {exc}") from None
    except BaseException:
        db.session.rollback()
        raise
    counts = builder.counts
    message = (
        f"Loaded the demo clinic: {counts.get('patients', 0)} patients in "
        f"{counts.get('groups', 0)} groups, {counts.get('enrolments', 0)} enrolments, "
        f"{counts.get('sessions', 0)} sessions, {counts.get('attendance', 0)} attendance records, "
        f"{counts.get('assignments', 0)} assignments, {counts.get('checkins', 0)} check-ins, "
        f"{counts.get('connectedness', 0)} weekly connectedness answers and "
        f"{counts.get('measures', 0)} PHQ-9 / GAD-7 measures."
    )
    return DemoResult(
        loaded=True,
        message=message,
        logins=builder.logins,
        counts=dict(counts),
        reference_counts=reference_counts,
    )
