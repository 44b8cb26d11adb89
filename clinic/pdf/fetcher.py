"""The only way WeasyPrint may load anything while we render: a locked URL fetcher.

WeasyPrint's default fetcher opens any local file and any address on the network,
and can embed what it loads as a PDF attachment. Ours serves exactly two things:

- files under the app's ``static/`` folder and CSS files under ``templates/pdf/``,
  after resolving symlinks and ``..``, so nothing outside those folders is reachable;
- ``data:`` URLs, decoded in memory.

Everything else (``file:`` anywhere else, ``http:``, ``https:``, ``ftp:``, unknown
schemes) is refused before any disk or network access, by raising ``FetchRefused``;
WeasyPrint then logs the refusal and renders the document without the resource.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urlsplit
from urllib.request import url2pathname

from weasyprint.urls import UNICODE_SCHEME_RE, URLFetcher, URLFetcherResponse

#: The largest ``data:`` URL we decode (our own templates use a few small ones).
MAX_DATA_URL_BYTES = 2 * 1024 * 1024


class FetchRefused(ValueError):
    """WeasyPrint asked for something outside what printed documents may load."""


@dataclass(frozen=True)
class Root:
    """A folder the fetcher may serve from, optionally limited to some file suffixes."""

    path: Path
    suffixes: tuple[str, ...] = ()

    def admits(self, resolved: Path) -> bool:
        """True when ``resolved`` (already free of symlinks and ``..``) lies in this root."""
        if not resolved.is_relative_to(self.path) or resolved == self.path:
            return False
        return not self.suffixes or resolved.suffix.lower() in self.suffixes


class StaticFileFetcher(URLFetcher):
    """A ``weasyprint.urls.URLFetcher`` that loads only the project's own files and ``data:``.

    ``roots`` are the folders files may come from. Nothing here ever opens a socket:
    ``fetch`` is replaced as a whole and never reaches urllib's handlers.
    """

    def __init__(self, roots: list[Root] | tuple[Root, ...], **kwargs):
        kwargs.update(allowed_protocols=("file", "data"), allow_redirects=False, fail_on_errors=False)
        super().__init__(**kwargs)
        self.roots = tuple(Root(Path(os.path.realpath(r.path)), r.suffixes) for r in roots)

    def fetch(self, url, headers=None):
        """Return the resource at ``url`` or raise ``FetchRefused``."""
        match = UNICODE_SCHEME_RE.match(url or "")
        scheme = match[1].lower() if match else ""
        if scheme == "data":
            return self._fetch_data(url)
        if scheme == "file":
            return self._fetch_file(url)
        raise FetchRefused(f"Printed documents load no {scheme or 'relative'}: URLs.")

    def open(self, url, data=None, timeout=None):  # noqa: D401 - urllib's signature
        """Route urllib-style calls through ``fetch`` as well."""
        return self.fetch(url if isinstance(url, str) else url.full_url)

    # data: ----------------------------------------------------------------------
    def _fetch_data(self, url: str) -> URLFetcherResponse:
        try:
            mediatype, payload = url[5:].split(",", 1)
        except ValueError as exc:
            raise FetchRefused("A malformed data: URL.") from exc
        if len(payload) > MAX_DATA_URL_BYTES * 2:
            raise FetchRefused("A data: URL too large for a printed document.")
        body = unquote_to_bytes(payload)
        if mediatype.lower().endswith(";base64"):
            mediatype = mediatype[: -len(";base64")]
            try:
                body = base64.b64decode(body, validate=False)
            except (binascii.Error, ValueError) as exc:
                raise FetchRefused("A data: URL with broken base64.") from exc
        if len(body) > MAX_DATA_URL_BYTES:
            raise FetchRefused("A data: URL too large for a printed document.")
        content_type = unquote(mediatype) or "text/plain;charset=US-ASCII"
        return URLFetcherResponse("data:", body=body, headers={"Content-Type": content_type})

    # file: -----------------------------------------------------------------------
    def resolve(self, url: str) -> Path:
        """The file a ``file:`` URL names, when it lies in an allowed root; else refuse."""
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise FetchRefused("Printed documents load no files from other hosts.")
        raw = url2pathname(parts.path)
        if "\x00" in raw:
            raise FetchRefused("A file name with a NUL byte.")
        if any(segment == ".." for segment in raw.replace("\\", "/").split("/")):
            raise FetchRefused("Printed documents load no file through '..'.")
        resolved = Path(os.path.realpath(raw))
        for root in self.roots:
            if root.admits(resolved):
                return resolved
        raise FetchRefused("Printed documents load only the clinic's own static files.")

    def _fetch_file(self, url: str) -> URLFetcherResponse:
        path = self.resolve(url)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as exc:
            raise FetchRefused("No such static file.") from exc
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise FetchRefused("Not a regular file.")
            body = handle.read()
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if content_type == "text/css":
            content_type = "text/css; charset=utf-8"
        return URLFetcherResponse(path.as_uri(), body=body, headers={"Content-Type": content_type})


def project_roots(static_folder: str | os.PathLike, template_folder: str | os.PathLike) -> tuple[Root, ...]:
    """The app's ``static/`` folder (any file) and ``templates/pdf/`` (CSS only)."""
    return (
        Root(Path(static_folder)),
        Root(Path(template_folder) / "pdf", suffixes=(".css",)),
    )


def make_fetcher(app=None) -> StaticFileFetcher:
    """A fresh locked fetcher for ``app`` (the current app by default)."""
    from flask import current_app

    app = app or current_app
    return StaticFileFetcher(project_roots(app.static_folder, app.template_folder))


__all__ = ["FetchRefused", "Root", "StaticFileFetcher", "make_fetcher", "project_roots"]
