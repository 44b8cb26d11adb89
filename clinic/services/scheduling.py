"""Compatibility names for callers not yet moved: the rules now live in ``series`` (series,
occurrences, clashes) and ``week_plan`` (the week planner's figures).

Still imported by ``clinic/admin/views.py`` (``check_session``) and ``clinic/admin/day.py``
(``facilitators``); new code imports ``series`` or ``week_plan`` directly.
"""

from .series import check_session
from .week_plan import facilitators

__all__ = ["check_session", "facilitators"]
