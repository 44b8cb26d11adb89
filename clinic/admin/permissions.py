"""Who may do what: the role table of DESIGN.md in one place.

Rights: ``r`` read, ``c`` create, ``e`` edit, ``d`` delete. A view missing from a
role's row is not offered to that role at all, neither in the menu nor by URL.
"""

from __future__ import annotations

PROGRAMME_FULL = {"admin": "rced", "planner": "rced"}

#: View endpoint -> role -> rights.
PERMISSIONS: dict[str, dict[str, str]] = {
    "tracks": {"admin": "rced", "planner": "rce", "counselor": "r"},
    "groups": {**PROGRAMME_FULL, "counselor": "r"},
    "memberships": {**PROGRAMME_FULL, "counselor": "r"},
    "activities": {**PROGRAMME_FULL, "counselor": "r"},
    "sessions": {**PROGRAMME_FULL, "counselor": "re"},
    "exercises": {**PROGRAMME_FULL, "counselor": "r"},
    "assignments": {**PROGRAMME_FULL, "counselor": "r"},
    "patients": {"admin": "rced", "planner": "r", "counselor": "r"},
    "enrolments": {**PROGRAMME_FULL, "counselor": "r"},
    "attendance": {**PROGRAMME_FULL, "counselor": "rce"},
    "checkins": {**PROGRAMME_FULL, "counselor": "rce"},
    "staff": {"admin": "rce"},
    # Pages that are not model lists.
    "planner": {"admin": "r", "planner": "r", "counselor": "r"},
    "series": {"admin": "rce", "planner": "rce"},
    "assign": {"admin": "rce", "planner": "rce"},
    "programme": {"admin": "rce", "planner": "rce"},
    # Recording participation: counselors only for sessions they facilitate (checked per session).
    "record": {"admin": "rce", "planner": "rce", "counselor": "rce"},
    "day": {"admin": "r", "planner": "r", "counselor": "r"},
    # Printing: counselors only for their caseload and the sessions they facilitate.
    "print": {"admin": "r", "planner": "r", "counselor": "r"},
    "audit": {"admin": "r"},
}


def rights(endpoint: str, role: str | None) -> str:
    """Return the rights string a role holds on a view (empty when none)."""
    if not role:
        return ""
    return PERMISSIONS.get(endpoint, {}).get(role, "")


def allowed(endpoint: str, role: str | None, right: str) -> bool:
    """True when ``role`` holds ``right`` on the view ``endpoint``."""
    return right in rights(endpoint, role)
