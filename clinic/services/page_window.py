"""One page of a long list: which rows to read (LIMIT/OFFSET) and what staff read ("1-25 of 310").

Shared by the pages whose content grows with the clinic (week planner, Records to
finish, a track's members). A page number that is not a whole number, or lies past the
end, gives the nearest page that exists rather than an error or an empty page.

A list too long to count whole counts only a few pages past the one asked for
(``look_ahead``): its window then says "1–10 of more than 110" and keeps offering the next
page (``more``), each step forward counting further.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Rows per page when the page names none.
DEFAULT_SIZE = 25
#: How many pages past the one asked for a list that counts ahead counts (``look_ahead``).
PAGES_AHEAD = 10


def page_number(value) -> int:
    """``?page=`` as a whole number from 1; anything else is page 1."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return 1
    return max(1, min(number, 10**6))


@dataclass(frozen=True)
class PageWindow:
    """Page ``number`` (from 1) of ``total`` rows, ``size`` rows a page."""

    number: int
    total: int
    size: int = DEFAULT_SIZE
    #: True when there are more than ``total`` rows (counting stopped there: ``look_ahead``).
    more: bool = False

    @classmethod
    def of(cls, requested, total: int, size: int = DEFAULT_SIZE, more: bool = False) -> "PageWindow":
        """The page ``requested`` (a ``?page=`` value), moved onto the last page when past it.

        ``more``: the list has more than ``total`` rows (it counted ``look_ahead`` of them).
        """
        last = max(1, -(-total // size))
        return cls(min(page_number(requested), last), total, size, more)

    @staticmethod
    def look_ahead(requested, size: int = DEFAULT_SIZE) -> int:
        """How many rows to count for page ``requested``: up to ``PAGES_AHEAD`` pages past it.

        Count at most this many plus one (``SELECT count(*) FROM (... LIMIT n + 1)``); more
        than this many and the window is ``of(requested, n, size, more=True)``. The work then
        depends on the page asked for, not on the length of the list.
        """
        return (page_number(requested) + PAGES_AHEAD) * size

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def first(self) -> int:
        """The position of the page's first row (0 when there are none)."""
        return self.offset + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.offset + self.size, self.total)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages or self.more

    def text(self, noun: str, plural: str | None = None) -> str:
        """'1–25 of 310 groups' ('1–25 of more than 275 groups' when it stopped counting)."""
        words = noun if self.total == 1 and not self.more else (plural or noun + "s")
        if self.more:
            return f"{self.first}–{self.last} of more than {self.total:,} {words}"
        if self.total <= self.size and self.number == 1:
            return f"{self.total} {words}"
        return f"{self.first}–{self.last} of {self.total} {words}"


__all__ = ["DEFAULT_SIZE", "PAGES_AHEAD", "PageWindow", "page_number"]
