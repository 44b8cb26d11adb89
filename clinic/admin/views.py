"""The model views, in menu order: (view class, model, menu name, category, endpoint).

The views themselves live by intention in ``views_programme``, ``views_people`` and
``views_records``; every write they make is a call into ``clinic.services``.
"""

from __future__ import annotations

from ..models import (
    Activity,
    Assignment,
    Attendance,
    AuditEvent,
    CareGroup,
    Enrolment,
    ExerciseCheckin,
    GroupMembership,
    GroupSession,
    KindnessExercise,
    Patient,
    StaffUser,
    Track,
)
from .views_people import EnrolmentView, PatientView, StaffView
from .views_programme import (
    ActivityView,
    AssignmentView,
    ExerciseView,
    GroupView,
    MembershipView,
    SessionView,
    TrackView,
)
from .views_records import AttendanceView, AuditView, CheckinView

MODEL_VIEWS = (
    (TrackView, Track, "Tracks", "Programme", "tracks"),
    (GroupView, CareGroup, "Groups", "Programme", "groups"),
    (MembershipView, GroupMembership, "Group members", "Programme", "memberships"),
    (ActivityView, Activity, "Activities", "Programme", "activities"),
    (SessionView, GroupSession, "Sessions", "Programme", "sessions"),
    (ExerciseView, KindnessExercise, "Kindness exercises", "Programme", "exercises"),
    (AssignmentView, Assignment, "Assignments", "Programme", "assignments"),
    (PatientView, Patient, "Patients", "People", "patients"),
    (EnrolmentView, Enrolment, "Enrolments", "People", "enrolments"),
    (StaffView, StaffUser, "Staff accounts", "Admin", "staff"),
    (AttendanceView, Attendance, "Attendance", "Records", "attendance"),
    (CheckinView, ExerciseCheckin, "Exercise check-ins", "Records", "checkins"),
    (AuditView, AuditEvent, "Audit log", "Admin", "audit"),
)

__all__ = ["MODEL_VIEWS"]
