"""Placeholder: filled in by the day work."""


def register(admin) -> None:
    """Add this module's pages to ``admin``."""
