"""Records → Records to finish: every facilitator's sessions not recorded or not signed yet."""

from __future__ import annotations

from datetime import datetime

from flask_admin import expose

from ..services import unfinished
from .base import SecureBaseView


class UnfinishedView(SecureBaseView):
    """Sessions that have started and whose record is not signed, per facilitator, oldest first.

    For admins and planners (the role table's ``unfinished`` row). Sessions, groups and
    facilitators only: no patient data, so nothing to audit as a read.
    """

    permission_key = "unfinished"

    @expose("/")
    def index(self):
        now = datetime.now()
        hours = unfinished.due_hours()
        facilitators = unfinished.records_to_finish(now, hours)
        return self.render(
            "admin/unfinished/index.html",
            facilitators=facilitators,
            due_hours=hours,
            now=now,
            total=sum(f.count for f in facilitators),
            overdue=sum(f.overdue for f in facilitators),
        )


def register(admin) -> None:
    """Add Records → Records to finish to ``admin``."""
    admin.add_view(UnfinishedView(name="Records to finish", category="Records", endpoint="unfinished",
                                  url="unfinished"))
