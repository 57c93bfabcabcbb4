"""Headers every page sends, and the request body cap, over real HTTP where it matters."""

from __future__ import annotations

import socket
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from tests import factories
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/", "/projects/", "/teams/"])
def test_every_page_sends_a_csp_without_unsafe_inline(cast: Cast, path: str) -> None:
    response = cast.client_for(cast.owner).get(path)
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy


def test_pages_carry_no_inline_script_or_style(cast: Cast) -> None:
    client = cast.client_for(cast.owner)
    for path in ["/projects/", f"/projects/{cast.project.public_id}/", "/teams/", "/gallery/"]:
        html = client.get(path).content.decode()
        assert " style=" not in html, path
        assert "<style" not in html, path
        for tag in html.split("<script")[1:]:
            assert tag.split(">", 1)[0].strip().startswith("src=") or " src=" in tag.split(">")[0]


def test_htmx_is_told_not_to_inject_its_indicator_style(cast: Cast) -> None:
    html = cast.client_for(cast.owner).get("/projects/").content.decode()
    assert '"includeIndicatorStyles": false' in html


def test_an_oversized_body_is_refused_from_its_header(client: Client, settings: Any) -> None:
    settings.STUDIO_MAX_REQUEST_BYTES = 1024 * 1024
    response = client.post(
        "/accounts/login/",
        data=b"x" * 10,
        content_type="application/octet-stream",
        CONTENT_LENGTH=str(150 * 1024 * 1024),
    )
    assert response.status_code == 413
    assert "too large" in response.content.decode()


def test_a_150_mb_upload_is_refused_at_once_over_http(live_server: Any) -> None:
    # Only the headers and a few bytes are sent: an answer means the server
    # did not wait for the other 150 MB first.
    url = urlsplit(live_server.url)
    declared = 150 * 1024 * 1024
    started = time.monotonic()
    with socket.create_connection((url.hostname, url.port), timeout=10) as conn:
        conn.sendall(
            b"POST /library/ HTTP/1.1\r\n"
            + f"Host: {url.hostname}:{url.port}\r\n".encode()
            + b"Content-Type: multipart/form-data; boundary=xyz\r\n"
            + f"Content-Length: {declared}\r\n\r\n".encode()
            + b"--xyz\r\n"
        )
        answer = b""
        while b"\r\n\r\n" not in answer or b"MB" not in answer:
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
    elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"Studio accepts up to" in answer
    assert elapsed < 5


def test_the_page_head_holds_no_stray_template_text(client: Client) -> None:
    head = client.get("/accounts/login/").content.decode().split("</head>")[0]
    assert "{#" not in head and "#}" not in head


def test_job_pages_and_polls_do_not_show_the_sequential_job_id(cast: Cast) -> None:
    # The per-card view with an ETag of the row id is gone; polls carry a hash.
    job = factories.make_job(cast.project, cast.editor)
    client = cast.client_for(cast.editor)
    for response in [
        client.get(f"/jobs/{job.public_id}/"),
        client.get("/jobs/updates/", {"card": f"{job.public_id}.00000000"}),
    ]:
        assert response.status_code in (200, 204, 286)
        assert not response.has_header("ETag")
