"""The domain models; importing this package registers every table."""

from .attendance import ATTENDANCE_STATUSES, Attendance, AttendanceAddendum
from .audit import AUDIT_ACTIONS, AuditActor, AuditEvent
from .calendar_feeds import FEED_KINDS, CalendarFeed
from .exercises import (
    ASSIGNMENT_SOURCES,
    ASSIGNMENT_STATUSES,
    CHECKIN_OUTCOMES,
    DIRECTIONS,
    ENERGY_LEVELS,
    Assignment,
    ExerciseCheckin,
    ExerciseText,
    KindnessExercise,
    exercise_track,
)
from .kindness import CONNECTEDNESS_MAX, CONNECTEDNESS_MIN, ConnectednessRating
from .logins import LoginSession
from .measures import (
    MEASURE_BANDS,
    MEASURE_INSTRUMENTS,
    MEASURE_MODES,
    MeasureAddendum,
    MeasureAdministration,
    MeasureItem,
)
from .groups import SESSION_STATUSES, Activity, CareGroup, GroupMembership, GroupSession, activity_track
from .patients import ENROLMENT_STATUSES, Enrolment, Patient
from .period_notes import PeriodNote
from .plans import (
    GOAL_STATUSES,
    OBJECTIVE_STATUSES,
    PROBLEM_STATUSES,
    REVIEW_KINDS,
    PlanGoal,
    PlanObjective,
    PlanProblem,
    PlanReview,
)
from .print_jobs import JOB_STATES, PrintChunk, PrintJob
from .report_runs import RUN_STATES, ReportRun, ReportRunPage
from .safety import RISK_LEVELS, SafetyTask
from .searches import SavedSearch
from .staff import ROLES, StaffUser
from .tracks import Track, TrackText, track_starter_exercise
from .two_factor import RecoveryCode

__all__ = [
    "ASSIGNMENT_SOURCES",
    "ASSIGNMENT_STATUSES",
    "ATTENDANCE_STATUSES",
    "AUDIT_ACTIONS",
    "CHECKIN_OUTCOMES",
    "CONNECTEDNESS_MAX",
    "CONNECTEDNESS_MIN",
    "DIRECTIONS",
    "ENERGY_LEVELS",
    "ENROLMENT_STATUSES",
    "FEED_KINDS",
    "JOB_STATES",
    "MEASURE_BANDS",
    "MEASURE_INSTRUMENTS",
    "MEASURE_MODES",
    "RISK_LEVELS",
    "RUN_STATES",
    "ReportRun",
    "ReportRunPage",
    "ROLES",
    "SESSION_STATUSES",
    "Activity",
    "Assignment",
    "Attendance",
    "AttendanceAddendum",
    "AuditActor",
    "AuditEvent",
    "CalendarFeed",
    "CareGroup",
    "ConnectednessRating",
    "Enrolment",
    "ExerciseCheckin",
    "ExerciseText",
    "GroupMembership",
    "GroupSession",
    "KindnessExercise",
    "LoginSession",
    "MeasureAddendum",
    "MeasureAdministration",
    "MeasureItem",
    "Patient",
    "PeriodNote",
    "PlanGoal",
    "PlanObjective",
    "PlanProblem",
    "PlanReview",
    "GOAL_STATUSES",
    "OBJECTIVE_STATUSES",
    "PROBLEM_STATUSES",
    "REVIEW_KINDS",
    "PrintChunk",
    "PrintJob",
    "RecoveryCode",
    "SafetyTask",
    "SavedSearch",
    "StaffUser",
    "Track",
    "TrackText",
    "activity_track",
    "exercise_track",
    "track_starter_exercise",
]
