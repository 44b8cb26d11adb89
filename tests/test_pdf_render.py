"""The rendering foundation: the locked URL fetcher, tagged PDF, page sizes, no attachments.

These tests need no database: they render on an app whose database is never opened.
Helpers at the top are shared with the handout and packet tests.
"""

from __future__ import annotations

import io
import os
import re
import socket
from pathlib import Path

import pytest
from pypdf import PdfReader

from clinic import ROOT, create_app
from clinic.pdf import fetcher as fetcher_module
from clinic.pdf import render
from clinic.pdf.fetcher import FetchRefused, Root, StaticFileFetcher, project_roots

#: Typed text that would load files, reach the network, hide the page or run code if it
#: were ever treated as markup.
HOSTILE = (
    '<img src="file:///etc/passwd"> <link rel=attachment href="file:///etc/hostname"> '
    "<style>body{display:none}</style> url(http://127.0.0.1:9/x) <script>alert(1)</script>"
)
#: Short enough for 80- and 120-character columns (names, titles).
HOSTILE_NAME = '<link rel=attachment href="file:///etc/hostname">'
HOSTILE_TITLE = '<img src="file:///etc/passwd"><style>body{display:none}</style>'


# Helpers shared with test_pdf_handouts.py and test_pdf_packets.py ---------------------------
def read_pdf(data: bytes) -> PdfReader:
    """A parsed PDF; fails when the bytes are not a PDF."""
    assert data[:5] == b"%PDF-", data[:40]
    return PdfReader(io.BytesIO(data))


def page_texts(data: bytes) -> list[str]:
    """The text of each page, as a PDF reader sees it."""
    return [page.extract_text() or "" for page in read_pdf(data).pages]


def squash(text: str) -> str:
    """``text`` without any whitespace, so wrapped lines still match."""
    return re.sub(r"\s+", "", text)


def contains(text: str, needle: str) -> bool:
    """True when ``needle`` appears in ``text``, line wrapping aside."""
    return squash(needle) in squash(text)


def font_pt(data: bytes, needle: str, page: int = 0) -> float | None:
    """The font size, in points, of the first run of text containing ``needle``."""
    sizes: list[float] = []

    def visit(text, cm, tm, font_dict, font_size):
        if needle in text and not sizes:
            sizes.append(round(font_size * tm[0] * cm[0], 1))

    read_pdf(data).pages[page].extract_text(visitor_text=visit)
    return sizes[0] if sizes else None


class FetchSpy:
    """Records every URL WeasyPrint asks the locked fetcher for (and what it refused)."""

    def __init__(self, monkeypatch):
        self.asked: list[str] = []
        self.refused: list[str] = []
        original = StaticFileFetcher.fetch
        spy = self

        def fetch(self, url, headers=None):
            spy.asked.append(url)
            try:
                return original(self, url, headers)
            except FetchRefused:
                spy.refused.append(url)
                raise

        monkeypatch.setattr(StaticFileFetcher, "fetch", fetch)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError("A printed document tried to open a network connection.")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def assert_loads_nothing(spy: FetchSpy, data: bytes) -> None:
    """The fetcher was never asked for a file or an address, and nothing is embedded."""
    for url in spy.asked:
        assert url.startswith("data:"), f"the fetcher was asked for {url}"
    reader = read_pdf(data)
    assert not reader.attachments
    assert "/EmbeddedFiles" not in (reader.trailer["/Root"].get("/Names") or {})


# A database-free app ------------------------------------------------------------------------
def _app(tmp_path, **environ):
    env = {
        "CLINIC_ENV": "testing",
        "SECRET_KEY": "test-secret-key-not-for-production",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite'}",
        "CLINIC_NAME": "Harbour Clinic",
        **environ,
    }
    return create_app({"ENVIRON": env, "TESTING": True})


@pytest.fixture
def plain_app(tmp_path):
    """An app context for rendering only (its database is never opened)."""
    app = _app(tmp_path)
    with app.app_context():
        yield app


def _doc(body: str, title: str = "Test document") -> str:
    return f'<!doctype html><html lang="en"><head><title>{title}</title></head><body>{body}</body></html>'


# The fetcher ---------------------------------------------------------------------------------
@pytest.fixture
def project_fetcher() -> StaticFileFetcher:
    return StaticFileFetcher(project_roots(ROOT / "static", ROOT / "templates"))


def test_the_fetcher_serves_a_static_file_of_the_project(project_fetcher):
    response = project_fetcher.fetch((ROOT / "static" / "clinic.css").as_uri())
    assert response.read() == (ROOT / "static" / "clinic.css").read_bytes()
    assert response.content_type == "text/css"


def test_the_fetcher_serves_the_print_stylesheet_but_no_template(project_fetcher):
    css = project_fetcher.fetch((ROOT / "templates" / "pdf" / "print.css").as_uri())
    assert b"@page" in css.read()
    with pytest.raises(FetchRefused):
        project_fetcher.fetch((ROOT / "templates" / "pdf" / "base.html").as_uri())
    with pytest.raises(FetchRefused):
        project_fetcher.fetch((ROOT / "templates" / "errors" / "404.html").as_uri())


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "file://localhost/etc/passwd",
        "file://otherhost/etc/passwd",
        (ROOT / "static").as_uri() + "/../clinic/config.py",
        (ROOT / "static").as_uri() + "/%2e%2e/clinic/config.py",
        (ROOT / "static").as_uri() + "/../../../etc/passwd",
        (ROOT / "static").as_uri(),  # the folder itself
        (ROOT / "instance" / "secret_key").as_uri(),
        "http://127.0.0.1:9/x",
        "https://example.org/logo.png",
        "ftp://example.org/x",
        "gopher://example.org/x",
        "javascript:alert(1)",
        "clinic.css",
    ],
)
def test_the_fetcher_refuses_everything_outside_the_static_files(project_fetcher, no_network, monkeypatch, url):
    opened = []
    real_open = os.open
    monkeypatch.setattr(fetcher_module.os, "open", lambda path, *a, **k: opened.append(path) or real_open(path, *a, **k))
    with pytest.raises(FetchRefused):
        project_fetcher.fetch(url)
    assert opened == [], "a refused URL must not touch the disk"
    assert no_network == []


def test_the_fetcher_refuses_a_symlink_that_leads_out_of_the_static_folder(tmp_path):
    static = tmp_path / "static"
    static.mkdir()
    (static / "ok.txt").write_text("fine")
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    (static / "escape.txt").symlink_to(secret)
    (static / "inside.txt").symlink_to(static / "ok.txt")
    fetcher = StaticFileFetcher((Root(static),))
    assert fetcher.fetch((static / "ok.txt").as_uri()).read() == b"fine"
    assert fetcher.fetch((static / "inside.txt").as_uri()).read() == b"fine"
    with pytest.raises(FetchRefused):
        fetcher.fetch((static / "escape.txt").as_uri())


def test_the_fetcher_decodes_data_urls_in_memory(project_fetcher, no_network):
    plain = project_fetcher.fetch("data:text/plain,hello%20there")
    assert plain.read() == b"hello there"
    encoded = project_fetcher.fetch("data:image/png;base64,aGVsbG8=")
    assert encoded.read() == b"hello" and encoded.content_type == "image/png"


def test_the_fetcher_is_a_weasyprint_url_fetcher_that_weasyprint_calls(project_fetcher):
    from weasyprint.urls import URLFetcher

    assert isinstance(project_fetcher, URLFetcher)
    with pytest.raises(FetchRefused):
        project_fetcher("file:///etc/passwd")


# Rendering -----------------------------------------------------------------------------------
def test_raw_html_that_asks_for_files_and_addresses_gets_nothing_and_embeds_nothing(plain_app, monkeypatch, no_network):
    spy = FetchSpy(monkeypatch)
    html = _doc(
        '<link rel="attachment" href="file:///etc/hostname">'
        '<link rel="attachment" href="clinic.css">'
        '<link rel="stylesheet" href="http://127.0.0.1:9/x.css">'
        '<p>visible</p><img src="file:///etc/passwd" alt=""><img src="http://127.0.0.1:9/x" alt="">'
        '<a rel="attachment" href="clinic.css" download="x.css">attached?</a>'
        '<div style="background: url(http://127.0.0.1:9/bg)">bg</div>'
    )
    data = render.render_html_to_pdf(html)
    assert "visible" in page_texts(data)[0]
    assert no_network == []
    assert set(spy.refused) >= {"file:///etc/passwd", "http://127.0.0.1:9/x"}
    assert all(url.startswith(("data:", (ROOT / "static").as_uri())) for url in set(spy.asked) - set(spy.refused))
    reader = read_pdf(data)
    assert not reader.attachments
    assert b"/EmbeddedFile" not in data and b"/FileAttachment" not in data


def test_every_document_is_a_tagged_pdf_with_a_language_and_a_title(plain_app):
    data = render.render_pdf("pdf/base.html", title="Tagged check")
    reader = read_pdf(data)
    catalog = reader.trailer["/Root"]
    assert bool(catalog["/MarkInfo"]["/Marked"]) is True
    assert "/StructTreeRoot" in catalog
    assert catalog["/Lang"] == "en"
    assert reader.metadata.title == "Tagged check"


@pytest.mark.parametrize("size,expected", [("A4", (595.28, 841.89)), ("Letter", (612.0, 792.0))])
def test_the_page_size_comes_from_the_configuration(tmp_path, size, expected):
    app = _app(tmp_path, CLINIC_PAGE_SIZE=size)
    with app.app_context():
        data = render.render_pdf("pdf/base.html", title="Size")
    box = read_pdf(data).pages[0].mediabox
    assert (round(float(box.width), 2), round(float(box.height), 2)) == expected


def test_the_base_stylesheet_is_parsed_once_per_process_and_page_size(plain_app, monkeypatch):
    monkeypatch.setattr(render, "_stylesheets", {})
    parsed = []
    real_css = render.CSS
    monkeypatch.setattr(render, "CSS", lambda *a, **k: parsed.append(1) or real_css(*a, **k))
    first = render.base_stylesheet()
    render.render_pdf("pdf/base.html", title="One")
    render.render_pdf("pdf/base.html", title="Two")
    assert render.base_stylesheet() is first
    assert len(parsed) == 1
    render.base_stylesheet("Letter")
    assert len(parsed) == 2


def test_the_base_template_prints_the_clinic_title_period_date_and_page_x_of_y(plain_app):
    body = "".join(f"<p>Line {n}</p>" for n in range(120))
    html = render.render_html("pdf/base.html", title="Long one", period="12 – 18 January 2026", subtitle="For staff")
    data = render.render_html_to_pdf(html.replace("</article>", body + "</article>"))
    texts = page_texts(data)
    assert len(texts) >= 2
    for expected in ("Harbour Clinic", "Long one", "For staff", "12 – 18 January 2026", "Printed "):
        assert expected in texts[0], expected
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {len(texts)}" in text
        assert "Printed " in text
    assert "Harbour Clinic" in texts[1] and "Long one" in texts[1]  # the running header


def test_the_template_escapes_what_it_is_given(plain_app):
    html = render.render_html("pdf/base.html", title=HOSTILE)
    assert "<script>" not in html and "&lt;script&gt;" in html
    data = render.render_html_to_pdf(html)
    assert read_pdf(data).metadata.title == HOSTILE


def test_dates_are_written_in_english_whatever_the_locale():
    from datetime import date

    assert render.long_date(date(2026, 1, 12)) == "Monday 12 January 2026"
    assert render.day_month(date(2026, 1, 12)) == "12 Jan"
    assert render.period_text(date(2026, 1, 12), date(2026, 1, 18)) == "12 – 18 January 2026"
    assert render.period_text(date(2026, 1, 26), date(2026, 2, 1)) == "26 January – 1 February 2026"
    assert render.period_text(date(2025, 12, 29), date(2026, 1, 4)) == "29 December 2025 – 4 January 2026"


def test_the_print_stylesheet_loads_nothing():
    css = re.sub(r"/\*.*?\*/", "", (ROOT / "templates" / "pdf" / "print.css").read_text(), flags=re.S)
    assert "url(" not in css and "@import" not in css and "@font-face" not in css


def test_no_pdf_template_marks_anything_safe():
    for template in Path(ROOT / "templates" / "pdf").glob("*.html"):
        text = template.read_text()
        assert "|safe" not in text.replace(" ", "") and "Markup" not in text, template.name
        assert "autoescape false" not in text, template.name
