"""A document asked not to commit leaves its export events to its caller, and the command
line commits them only once the file is written: a file that could not be written leaves
no export event, whichever document it was."""

from __future__ import annotations

from functools import partial

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import AuditEvent
from clinic.pdf import exercise_handout, kindness_plan, progress_batch, progress_sheet, session_packet
from clinic.pdf.cli import print_cli
from test_pdf_batches import END, START, roster  # noqa: F401 (fixture)
from test_pdf_progress import clinic  # noqa: F401 (fixture)

DOCUMENTS = ("handout", "plan", "packet", "sheet", "batch")
PERIOD = ["--from", START.isoformat(), "--to", END.isoformat()]


def export_count() -> int:
    """Export events the current transaction sees (its own pending ones included)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "export"))


def test_a_document_told_not_to_commit_leaves_its_export_events_to_the_caller(roster):  # noqa: F811
    documents = {
        "handout": partial(exercise_handout, roster.note_assignment.exercise),
        "plan": partial(kindness_plan, roster.ash, START),
        "packet": partial(session_packet, roster.sessions[0]),
        "sheet": partial(progress_sheet, roster.ash, START, END),
        "batch": partial(progress_batch, [roster.ash, roster.bea], START, END),
    }
    seen = {}
    for name, document in documents.items():
        before = export_count()
        assert document(commit=False).startswith(b"%PDF")
        pending = export_count() - before
        db.session.rollback()
        left_after_rollback = export_count() - before

        document()
        db.session.rollback()
        committed = export_count() - before
        seen[name] = (pending, left_after_rollback, committed)

    # The same events either way; without the commit, the caller's rollback drops them.
    assert all(pending >= 1 for pending, _, _ in seen.values()), seen
    assert seen == {name: (pending, 0, pending) for name, (pending, _, _) in seen.items()}


def cli_args(roster, document: str) -> list[str]:  # noqa: F811
    return {
        "handout": ["handout", "--exercise", str(roster.note_assignment.exercise_id)],
        "plan": ["plan", "--patient", str(roster.ash.id), "--week", START.isoformat()],
        "packet": ["packet", "--session", str(roster.sessions[0].id)],
        "sheet": ["progress", "--patient", str(roster.ash.id), *PERIOD],
        "batch": ["progress", "--group", str(roster.group.id), *PERIOD],
    }[document]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_the_cli_audits_no_document_whose_file_could_not_be_written(app, roster, tmp_path, monkeypatch,  # noqa: F811
                                                                    document):
    args = cli_args(roster, document)
    before = export_count()
    db.session.rollback()

    def disk_full(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("clinic.pdf.cli.os.replace", disk_full)
    failed = app.test_cli_runner().invoke(print_cli, [*args, "--output", str(tmp_path / "lost.pdf")])
    assert failed.exit_code != 0 and "No space left on device" in failed.output
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".pdf", ".part")) == []
    assert export_count() == before
    db.session.rollback()

    monkeypatch.undo()
    written = app.test_cli_runner().invoke(print_cli, [*args, "--output", str(tmp_path / "kept.pdf")])
    assert written.exit_code == 0, written.output
    assert (tmp_path / "kept.pdf").read_bytes().startswith(b"%PDF")
    assert export_count() > before
