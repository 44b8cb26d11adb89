"""Reports → Records to finish: every facilitator's sessions not recorded or not signed yet.

The page shows facilitators a page at a time (by name, ``?page=``), each with their counts and oldest few sessions; "and N more" leads to
that facilitator's own list (``?facilitator=<id>`` or ``none``), paged oldest first, so
every unfinished session stays reachable however many there are.
"""

from __future__ import annotations

from datetime import datetime

from flask import abort, request
from flask_admin import expose

from ..services import unfinished
from .base import SecureBaseView


def _facilitator_arg(value: str) -> int | None:
    """``?facilitator=`` as an id or None (``none``: sessions nobody facilitates); 404 otherwise."""
    if value == "none":
        return None
    if value.isdigit() and len(value) < 10:
        return int(value)
    abort(404)


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
        if "facilitator" in request.args:
            facilitator_id = _facilitator_arg(request.args.get("facilitator", ""))
            records, window = unfinished.facilitator_records(facilitator_id, now, request.args.get("page"), hours)
            return self.render(
                "admin/unfinished/facilitator.html",
                records=records,
                window=window,
                facilitator_key="none" if facilitator_id is None else str(facilitator_id),
                due_hours=hours,
                now=now,
            )
        summary = unfinished.records_to_finish_page(now, request.args.get("page"), hours)
        return self.render(
            "admin/unfinished/index.html",
            facilitators=summary.facilitators,
            window=summary.window,
            due_hours=hours,
            now=now,
            per_facilitator=unfinished.PER_FACILITATOR,
            total=summary.total,
            overdue=summary.overdue,
            total_more=summary.total_more,
            overdue_more=summary.overdue_more,
        )


def register(admin) -> None:
    """Add Reports → Records to finish to ``admin``."""
    admin.add_view(UnfinishedView(name="Records to finish", category="Reports", endpoint="unfinished",
                                  url="unfinished"))
