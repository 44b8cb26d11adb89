"""Posting a batch print form and following its job to the PDF, as a browser without JavaScript would.

A batch form's POST answers 303 to the job's page (``/admin/print/jobs/<id>/``); the tests'
queue is in-process (``CLINIC_JOB_QUEUE=immediate``), so the job has finished by then and
its page links the download.
"""

from __future__ import annotations

import re

JOB_PAGE = re.compile(r"^(?:http://localhost)?(/admin/print/jobs/(\d+)/)$")


def job_page_of(response) -> str:
    """The job page a batch form's POST redirected to (asserts it did)."""
    assert response.status_code == 303, (response.status_code, response.get_data(as_text=True)[:500])
    found = JOB_PAGE.match(response.headers["Location"])
    assert found, response.headers["Location"]
    return found.group(1)


def follow_batch(client, response):
    """Follow a batch form's 303 to the job's page and its download link; returns the download's response."""
    page_url = job_page_of(response)
    page = client.get(page_url)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    link = re.search(r'id="print-job-download"[^>]*href="([^"]+)"', text) or \
        re.search(r'href="([^"]+)"[^>]*id="print-job-download"', text)
    assert link and link.group(1), f"no download on the job page:\n{text[-2000:]}"
    return client.get(link.group(1))


def print_batch(client, url: str, data: dict):
    """POST a batch print form and return the PDF download's response (via the job's page)."""
    return follow_batch(client, client.post(url, data=data))
