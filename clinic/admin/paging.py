"""Paging of the long lists: a count that looks a few pages ahead, and a deepest page.

Flask-Admin counts every matching row (``count(*)`` over the whole table) to draw its pager,
and reaches page *n* with ``OFFSET n * page_size``: both grow with the table, so a list of a
million rows is slow on its first page and slower on its last, and a search that matches a
tenth of a big table counts a tenth of it. Here a list on page *p* counts at most the rows of
the next ``PAGES_AHEAD`` pages, ``(p + PAGES_AHEAD) * page_size + 1`` of them
(``SELECT count(*) FROM (SELECT 1 ... LIMIT n)``, one statement as before), and never more
than ``COUNT_CAP``. When more rows match, the list says "more than n", its pager ends there
(each step forward looks further ahead), and a page starting past ``COUNT_CAP`` rows is
answered with a plain message instead of a huge ``OFFSET``: the way to far rows is a
filter, a search or the other sort direction. The count and the deepest ``OFFSET`` are then
bounded by the page the user is on, not by the size of the table. A short list (or a narrow
search) is counted exactly, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import g

from ..extensions import db

#: The deepest row a list pages to (and the most it counts); past it the list asks for a
#: narrower filter or search.
COUNT_CAP = 10_000
#: How many pages past the current one a list counts.
PAGES_AHEAD = 10

CAPPED_MESSAGE = (
    "More than {cap:,} match: narrow the list with a filter or a search, or sort the other "
    "way to see the other end."
)
BEYOND_MESSAGE = (
    "There are no pages beyond the first {cap:,} rows. Narrow the list with a filter or a "
    "search, or sort the other way to see the other end."
)


def capped_count(count_query, cap: int | None = None) -> tuple[int, bool]:
    """Count the rows of ``count_query`` (a Flask-Admin ``count(*)`` query), at most ``cap``.

    Returns (count, capped): with more than ``cap`` rows (default ``COUNT_CAP``), (``cap``, True).
    """
    cap = COUNT_CAP if cap is None else cap
    rows = count_query.with_entities(sa.literal_column("1")).order_by(None).limit(cap + 1).subquery()
    counted = db.session.execute(sa.select(sa.func.count()).select_from(rows)).scalar_one()
    if counted > cap:
        return cap, True
    return counted, False


def count_limit(page: int | None, page_size: int | None) -> int:
    """The most rows the list on ``page`` (0-based) counts: the next ``PAGES_AHEAD`` pages."""
    if not page_size:
        return COUNT_CAP
    return min(COUNT_CAP, ((page or 0) + PAGES_AHEAD) * page_size)


def beyond_cap(page: int | None, page_size: int | None, cap: int | None = None) -> bool:
    """True when ``page`` (0-based) starts at or after row ``cap``."""
    cap = COUNT_CAP if cap is None else cap
    return bool(page and page_size and page * page_size >= cap)


def remember(capped: bool, beyond: bool, cap: int | None = None) -> None:
    """Tell the list template what to say about the cap (see ``list_note``)."""
    cap = COUNT_CAP if cap is None else cap
    g.clinic_list_capped = capped
    g.clinic_list_beyond = beyond
    g.clinic_list_cap = cap


def list_note() -> dict:
    """What the list template shows about the count: {"capped", "beyond", "message"}."""
    cap = g.get("clinic_list_cap") or COUNT_CAP
    capped, beyond = g.get("clinic_list_capped", False), g.get("clinic_list_beyond", False)
    message = BEYOND_MESSAGE if beyond else CAPPED_MESSAGE if capped else ""
    return {"capped": capped, "beyond": beyond, "cap": cap, "message": message.format(cap=cap)}


# Searches: the matching rows of the searched tables first, then the list's rows by their ids.
def search_clause(fields, per_row: bool = False):
    """A function from a LIKE pattern to the WHERE clause of a list's search, or None.

    ``fields`` are Flask-Admin's ``_search_fields``: (column, path of relationships). Flask-Admin
    joins every searched table to the list and filters the joined rows with ``ILIKE``, which
    scans the big list. Here each many-to-one path becomes ``fk IN (SELECT id FROM related
    WHERE ...)``, so the (trigram-indexed) related table is searched first and the list is
    read through its foreign key. None when a path is not a chain of plain many-to-one links
    (Flask-Admin's own joins are used then).

    ``per_row``: each path becomes ``EXISTS (SELECT 1 FROM related WHERE related.id = fk AND
    ...)`` instead, tested on each row the list reads, for a list already narrowed to a few
    rows (a counselor's caseload): reading every match of a common name in the whole clinic
    first (thousands of patients in a large one) would cost more than testing the caseload's
    own rows, and grow with the clinic.
    """
    direct, nested = [], {}
    for column, path in fields:
        if not path:
            direct.append(column)
            continue
        link = path[0].property
        if (link.direction.name != "MANYTOONE" or link.secondary is not None
                or len(link.local_remote_pairs) != 1):
            return None
        nested.setdefault(path[0], []).append((column, list(path[1:])))
    branches = []
    for attr, rest in nested.items():
        inner = search_clause(rest, per_row)
        if inner is None:
            return None
        local, remote = attr.property.local_remote_pairs[0]
        if per_row and remote.table is local.table:
            return None  # a link to the same table would correlate with the list's own row
        branches.append((local, remote, inner))

    def clause(pattern: str):
        parts = [sa.cast(column, sa.Unicode).ilike(pattern) for column in direct]
        for local, remote, inner in branches:
            if per_row:
                parts.append(sa.exists().where(remote == local, inner(pattern)))
            else:
                parts.append(local.in_(sa.select(remote).where(inner(pattern))))
        return sa.or_(*parts)

    return clause


#: The most separately read parts (one per searched table, for every word) a search is split
#: into; beyond it the parts are joined by OR in one query, as before.
MAX_SEARCH_PARTS = 4


def search_parts(fields, terms):
    """A search split by searched table: a list of clause lists, or None.

    Each word of the search must match one of ``fields``; the fields of one table (the list's
    own columns, or those of one chain of many-to-one links, such as a check-in's assignment's
    patient) make one *part* of a word, a single ``fk IN (SELECT ...)`` chain. A row is found
    when, for every word, one of its parts matches: each returned clause list is one choice
    of a part per word (their product). Read each one alone, PostgreSQL can start from the
    matches when they are few (a record number) and walk the list in its order when they are
    many (a common surname); joined by OR, it can do neither, and hashes every match first.
    None when a path is not a chain of plain many-to-one links, or when the choices would be
    more than ``MAX_SEARCH_PARTS``.
    """
    tables: dict[tuple, list] = {}
    for column, path in fields:
        tables.setdefault(tuple(path), []).append((column, list(path)))
    per_table = []
    for path, group in tables.items():
        clause_for = search_clause(group)
        if clause_for is None:
            return None
        per_table.append((clause_for, [column for column, _ in group] if path else None))
    choices = [[]]
    for term in terms:
        choices = [chosen + [_part(clause_for, leaf, term)] for chosen in choices for clause_for, leaf in per_table]
        if len(choices) > MAX_SEARCH_PARTS:
            return None
    return choices


def _part(clause_for, leaf_columns, term):
    """One part of a word: its chain of links, and, for a linked table, a first test that it
    has a match at all (read once, before the list: a part whose table has none, such as an
    exercise title that is not there, reads no row of the list instead of walking all of it)."""
    clause = clause_for(term)
    if not leaf_columns:
        return clause
    anywhere = sa.or_(*[sa.cast(column, sa.Unicode).ilike(term) for column in leaf_columns])
    return sa.and_(clause, sa.select(sa.literal(1)).where(anywhere).correlate(None).exists())


def capped_union_count(id_queries, cap: int | None = None) -> tuple[int, bool]:
    """Like ``capped_count`` for the rows any of ``id_queries`` finds (queries of the list's ids).

    Each is read to ``cap + 1`` rows, in one statement; a row found by two of them is counted
    once, and when one alone finds more than ``cap`` the list is "more than ``cap``".
    """
    cap = COUNT_CAP if cap is None else cap
    subqueries = [query.order_by(None).limit(cap + 1).subquery() for query in id_queries]
    found = sa.union(*[sa.select(sub.c[0]) for sub in subqueries]).subquery()
    counted = db.session.execute(sa.select(sa.func.count()).select_from(found)).scalar_one()
    if counted > cap:
        return cap, True
    return counted, False
