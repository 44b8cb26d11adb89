"""Every printing URL refuses a counselor a document about patients off their caseload, and a
document is audited only once it exists: a render that fails leaves no export event."""

from __future__ import annotations

import pytest
import weasyprint

from clinic.extensions import db
from clinic.models import AuditEvent
from clinic.pdf import exercise_handout, kindness_plan, progress_batch, progress_sheet, session_packet
from conftest import login
from print_helpers import follow_batch
from test_pdf_batches import END, START, roster  # noqa: F401 (fixture)
from test_pdf_handouts import exports
from test_pdf_progress import clinic  # noqa: F401 (fixture)

PERIOD = {"from": "2026-03-01", "to": "2026-03-31", "version": "staff"}


def _urls(roster) -> list[tuple[str, str]]:  # noqa: F811
    """(method, URL) of every printing URL that prints something about a patient of ``roster``."""
    ash, bea = roster.ash.id, roster.bea.id
    session = roster.sessions[0].id
    track = roster.group.track_id
    return [
        ("get", f"/admin/print/plan/?patient={ash}"),
        ("get", f"/admin/print/packet/?session={session}"),
        ("get", f"/admin/print/progress/?patient={ash}"),
        ("post", f"/admin/print/progress/?patient={ash}"),
        ("post", f"/admin/print/progress/batch/?group={roster.group.id}"),
        ("post", f"/admin/print/progress/batch/?track={track}"),
        ("post", f"/admin/print/progress/batch/?patients={ash}&patients={bea}"),
    ]


def test_a_counselor_is_refused_every_document_about_patients_off_their_caseload(roster, client, make):  # noqa: F811
    stranger = make.staff("counselor")
    urls = _urls(roster)
    login(client, stranger.email)

    answers = [(client.get(url) if method == "get" else client.post(url, data=PERIOD)) for method, url in urls]

    assert [(url, a.status_code) for (_, url), a in zip(urls, answers)] == [(url, 404) for _, url in urls]  # as if not there
    assert not any(a.mimetype == "application/pdf" for a in answers)
    assert exports() == []


def test_the_same_urls_print_for_a_planner(roster, client, make):  # noqa: F811
    planner = make.staff("planner")
    login(client, planner.email)

    for method, url in _urls(roster):
        if method == "post":
            answer = client.post(url, data=PERIOD)
            if "/batch/" in url:  # a batch is a job: its page, then its download
                answer = follow_batch(client, answer)
            assert answer.mimetype == "application/pdf", url


@pytest.fixture
def failing_layout(monkeypatch):
    """WeasyPrint fails while laying out any document."""

    def fail(self, *args, **kwargs):
        raise RuntimeError("layout failed")

    monkeypatch.setattr(weasyprint.HTML, "render", fail)


def test_a_document_that_fails_to_render_is_not_audited(roster, failing_layout):  # noqa: F811
    documents = {
        "handout": lambda: exercise_handout(roster.note_assignment.exercise),
        "plan": lambda: kindness_plan(roster.ash, START),
        "packet": lambda: session_packet(roster.sessions[0]),
        "sheet": lambda: progress_sheet(roster.ash, START, END),
        "batch": lambda: progress_batch([roster.ash, roster.bea], START, END),
    }
    pending = []
    for name, make_document in documents.items():
        with pytest.raises(RuntimeError, match="layout failed"):
            make_document()
        # Not even waiting in the transaction for a later commit to write it.
        pending += [(name, e.changes) for e in db.session.new if isinstance(e, AuditEvent)]

    assert pending == []
    assert exports() == []
