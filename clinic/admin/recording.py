"""Placeholder: filled in by the recording work."""


def register(admin) -> None:
    """Add this module's pages to ``admin``."""
