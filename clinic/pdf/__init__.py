"""Printed documents: WeasyPrint rendering behind a locked-down URL fetcher.

- ``fetcher``: the only loader WeasyPrint gets (the app's static files, ``data:``).
- ``render``: template -> HTML -> tagged PDF, with the base stylesheet parsed once.
- ``handouts``: exercise handouts and personal kindness plans.
- ``packets``: session packets (sign-in sheet + each member's plan).
- ``progress``: progress sheets, a staff version and a patient version.
- ``batches``: many progress sheets in one PDF, each with its own page numbers.
- ``cli``: the ``flask print`` commands.

Rendering only: the figures and rows come ready from ``clinic.services`` (``period_progress``
for progress sheets, ``participants`` for batches, packets and plans). Every public
document function renders first, then adds its audit "export" event and commits, so a
document that fails to render is never audited. Given ``commit=False`` it leaves the
event in the transaction for the caller to commit: the CLI does so once the file is written.
"""

from .batches import progress_batch
from .handouts import exercise_handout, kindness_plan
from .packets import session_packet
from .progress import progress_sheet
from .render import render_html, render_html_to_pdf, render_pdf

__all__ = [
    "exercise_handout",
    "kindness_plan",
    "progress_batch",
    "progress_sheet",
    "render_html",
    "render_html_to_pdf",
    "render_pdf",
    "session_packet",
]
