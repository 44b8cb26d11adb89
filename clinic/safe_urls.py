"""Where a ``next``/``url`` argument may send someone: only to a path on this site."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from flask import request


def safe_next(target: str | None) -> str | None:
    """Return ``target`` when it is a plain path on this site, else None.

    Refused: anything with a scheme or host (``http:host``, ``//host``,
    ``javascript:``), backslashes (``/\\host``), control characters or spaces
    (tab, newline, NUL), and encoded slashes or backslashes at the start
    (``/%2F%2Fhost``), which some proxies and browsers decode.
    """
    if not target or len(target) > 2048:
        return None
    if any(ord(ch) <= 32 or ord(ch) == 127 for ch in target) or "\\" in target:
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    decoded = unquote(target)
    if decoded.startswith("//") or "\\" in decoded or any(ord(ch) < 32 for ch in decoded):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def safe_redirect_target(param_name: str = "url") -> str | None:
    """The request's ``param_name`` argument when it is a safe path (Flask-Admin's hook)."""
    return safe_next(request.values.get(param_name))


def is_safe_url(target: str) -> bool:
    """True when ``target`` is a path on this site."""
    return safe_next(target) is not None
