"""The safe download helper, the client factory and Retry-After parsing."""

from __future__ import annotations

import contextlib
import http.server
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from studio.providers.http import (
    DownloadError,
    build_client,
    check_url,
    download_to_file,
    parse_retry_after,
    pinned_request,
)

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200


def public_resolver(host: str, port: int) -> list[str]:
    return {"cdn.example": ["93.184.216.34"], "evil.example": ["93.184.216.35", "10.0.0.5"]}.get(
        host, ["93.184.216.36"]
    )


def client_for(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return build_client(transport=httpx.MockTransport(handler))


def fetch(handler: Callable[[httpx.Request], httpx.Response], dest: Path, url: str, **kw: object):
    with client_for(handler) as client:
        return download_to_file(
            client, url, dest, resolver=public_resolver, allow_private=False, **kw
        )


def test_a_video_is_streamed_into_the_destination_file(tmp_path: Path) -> None:
    dest = tmp_path / "out" / "video.mp4"
    kind = fetch(
        lambda r: httpx.Response(200, content=MP4, headers={"content-type": "video/mp4"}),
        dest,
        "https://cdn.example/v.mp4",
    )
    assert kind == "video/mp4"
    assert dest.read_bytes() == MP4
    assert list(dest.parent.iterdir()) == [dest]


def test_octet_stream_is_accepted_when_the_bytes_are_an_mp4(tmp_path: Path) -> None:
    kind = fetch(
        lambda r: httpx.Response(
            200, content=MP4, headers={"content-type": "application/octet-stream"}
        ),
        tmp_path / "v.mp4",
        "https://cdn.example/v",
    )
    assert kind == "video/mp4"


def test_octet_stream_without_an_mp4_signature_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="not a video") as caught:
        fetch(
            lambda r: httpx.Response(
                200,
                content=b"GIF89a" + b"\x00" * 50,
                headers={"content-type": "application/octet-stream"},
            ),
            tmp_path / "v.mp4",
            "https://cdn.example/v",
        )
    assert caught.value.permanent
    assert not any(tmp_path.iterdir())


def test_an_html_page_is_refused_as_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="text/html"):
        fetch(
            lambda r: httpx.Response(
                200, text="<html>login</html>", headers={"content-type": "text/html"}
            ),
            tmp_path / "v.mp4",
            "https://cdn.example/v",
        )


def test_a_declared_size_over_the_cap_is_refused_before_reading(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="over the 100 byte limit"):
        fetch(
            lambda r: httpx.Response(200, content=MP4, headers={"content-type": "video/mp4"}),
            tmp_path / "v.mp4",
            "https://cdn.example/v",
            max_bytes=100,
        )


def test_a_stream_growing_past_the_cap_is_cut_and_leaves_no_file(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        chunks = iter([MP4] * 10)
        return httpx.Response(200, content=chunks, headers={"content-type": "video/mp4"})

    with pytest.raises(DownloadError, match="limit"):
        fetch(handler, tmp_path / "v.mp4", "https://cdn.example/v", max_bytes=1000)
    assert not any(tmp_path.iterdir())


def test_the_size_cap_defaults_to_the_setting(tmp_path: Path, settings) -> None:
    settings.STUDIO_MAX_RESULT_BYTES = 50
    with pytest.raises(DownloadError, match="50 byte limit"):
        fetch(
            lambda r: httpx.Response(200, content=MP4, headers={"content-type": "video/mp4"}),
            tmp_path / "v.mp4",
            "https://cdn.example/v",
        )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/v.mp4",
        "http://10.1.2.3/v.mp4",
        "http://192.168.0.10/v.mp4",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/v.mp4",
        "http://[::ffff:127.0.0.1]/v.mp4",
        "http://0.0.0.0/v.mp4",
        "http://100.64.0.1/v.mp4",
    ],
)
def test_private_and_loopback_addresses_are_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(DownloadError, match="private or loopback") as caught:
        fetch(lambda r: httpx.Response(200, content=MP4), tmp_path / "v.mp4", url)
    assert caught.value.permanent


def test_a_host_with_any_private_address_is_refused() -> None:
    with pytest.raises(DownloadError, match="evil.example"):
        check_url(
            httpx.URL("https://evil.example/v.mp4"), allow_private=False, resolver=public_resolver
        )


def test_a_host_that_does_not_resolve_is_a_transient_error() -> None:
    def failing(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(DownloadError) as caught:
        check_url(httpx.URL("https://gone.example/"), allow_private=False, resolver=failing)
    assert not caught.value.permanent


@pytest.mark.parametrize("url", ["ftp://cdn.example/v.mp4", "file:///etc/passwd"])
def test_only_http_and_https_are_followed(tmp_path: Path, url: str) -> None:
    with pytest.raises(DownloadError, match="only http"):
        fetch(lambda r: httpx.Response(200, content=MP4), tmp_path / "v.mp4", url)


def test_private_addresses_are_allowed_when_the_setting_says_so(tmp_path: Path, settings) -> None:
    settings.STUDIO_ALLOW_PRIVATE_URLS = True
    with client_for(
        lambda r: httpx.Response(200, content=MP4, headers={"content-type": "video/mp4"})
    ) as client:
        assert (
            download_to_file(client, "http://127.0.0.1:9/v.mp4", tmp_path / "v.mp4") == "video/mp4"
        )


def test_redirects_are_followed_and_each_hop_is_checked(tmp_path: Path) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.headers['host']} via {request.url}")
        if request.headers["host"] == "cdn.example":
            return httpx.Response(302, headers={"location": "https://files.example/real.mp4"})
        return httpx.Response(200, content=MP4, headers={"content-type": "video/mp4"})

    fetch(handler, tmp_path / "v.mp4", "https://cdn.example/v.mp4")
    assert seen == [
        "cdn.example via https://93.184.216.34/v.mp4",
        "files.example via https://93.184.216.36/real.mp4",
    ]


def test_each_hop_connects_to_the_address_that_was_checked(tmp_path: Path) -> None:
    """The host name is resolved once: the request goes to that checked address,
    with the name kept for the Host header and the TLS server name."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=MP4, headers={"content-type": "video/mp4"})

    fetch(handler, tmp_path / "v.mp4", "https://cdn.example:8443/v.mp4?sig=abc")
    (request,) = seen
    assert request.url.host == "93.184.216.34" and request.url.port == 8443
    assert request.url.raw_path == b"/v.mp4?sig=abc"
    assert request.headers["host"] == "cdn.example:8443"
    assert request.extensions["sni_hostname"] == "cdn.example"


def test_a_redirect_to_a_private_address_is_refused(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "http://169.254.169.254/latest"})

    with pytest.raises(DownloadError, match="private or loopback"):
        fetch(handler, tmp_path / "v.mp4", "https://cdn.example/v.mp4")


def test_more_than_three_redirects_are_refused(tmp_path: Path) -> None:
    count = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal count
        count += 1
        return httpx.Response(302, headers={"location": f"/hop{count}"})

    with pytest.raises(DownloadError, match="more than 3 redirects"):
        fetch(handler, tmp_path / "v.mp4", "https://cdn.example/v.mp4")
    assert count == 4


def test_auth_headers_go_only_to_the_trusted_origin(tmp_path: Path) -> None:
    seen: dict[str, str | None] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[request.headers["host"]] = request.headers.get("authorization")
        if request.headers["host"] == "gateway.example":
            return httpx.Response(302, headers={"location": "https://cdn.example/v.mp4"})
        return httpx.Response(200, content=MP4, headers={"content-type": "video/mp4"})

    fetch(
        handler,
        tmp_path / "v.mp4",
        "https://gateway.example/v1/videos/1/content",
        headers={"Authorization": "Bearer secret"},
        trusted_origin="https://gateway.example",
    )
    assert seen == {"gateway.example": "Bearer secret", "cdn.example": None}


@pytest.mark.parametrize(
    ("status", "permanent", "reason"),
    [
        (404, True, "expired"),
        (410, True, "expired"),
        (403, True, "expired"),
        (500, False, "download"),
        (429, False, "download"),
    ],
)
def test_error_answers_are_classified(
    tmp_path: Path, status: int, permanent: bool, reason: str
) -> None:
    with pytest.raises(DownloadError) as caught:
        fetch(
            lambda r: httpx.Response(status, text="nope"),
            tmp_path / "v.mp4",
            "https://cdn.example/v",
        )
    assert caught.value.permanent is permanent
    assert caught.value.reason == reason
    assert caught.value.status_code == status


def test_a_connection_failure_is_transient(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with pytest.raises(DownloadError) as caught:
        fetch(handler, tmp_path / "v.mp4", "https://cdn.example/v")
    assert not caught.value.permanent


def test_an_empty_answer_is_no_output(tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as caught:
        fetch(
            lambda r: httpx.Response(200, content=b"", headers={"content-type": "video/mp4"}),
            tmp_path / "v.mp4",
            "https://cdn.example/v",
        )
    assert caught.value.reason == "no_output"


@pytest.mark.parametrize(
    ("header", "expected"),
    [("7", 7.0), (" 2.5 ", 2.5), ("-3", 0.0), ("soon", None), ("", None), (None, None)],
)
def test_retry_after_seconds_are_parsed(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_retry_after_as_an_http_date_is_turned_into_seconds() -> None:
    now = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:50 GMT", now=now) == pytest.approx(30.0)
    assert parse_retry_after("Tue, 14 Nov 2023 22:00:00 GMT", now=now) == 0.0


def test_the_client_factory_uses_the_given_timeout_and_never_follows_redirects() -> None:
    timeout = httpx.Timeout(1.0, read=2.0)
    with build_client(base_url="https://x.example", timeout=timeout) as client:
        assert client.timeout == timeout
        assert client.follow_redirects is False
        assert client.headers["user-agent"].startswith("Studio/")


@contextlib.contextmanager
def local_mp4_server(tls: ssl.SSLContext | None = None) -> Iterator[tuple[int, list[str]]]:
    """A real HTTP(S) server on 127.0.0.1 answering every GET with MP4; yields
    its port and the paths it was asked for."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(len(MP4)))
            self.end_headers()
            self.wfile.write(MP4)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_dns_answer_that_changes_after_the_check_cannot_reach_a_local_server(
    tmp_path: Path,
) -> None:
    """DNS rebinding: the check sees a public address, the system resolver would
    give 127.0.0.1. The download goes to the checked address, never to the
    local server listening on 127.0.0.1."""
    with local_mp4_server() as (port, hits):
        with build_client() as client, pytest.raises(DownloadError) as caught:
            download_to_file(
                client,
                f"http://localhost:{port}/v.mp4",
                tmp_path / "v.mp4",
                resolver=lambda host, port: ["93.184.216.34"],
                allow_private=False,
                timeout=httpx.Timeout(1.0),
            )
        assert not caught.value.permanent  # the public address is unreachable here
        assert hits == []
        assert not (tmp_path / "v.mp4").exists()


@pytest.mark.parametrize(
    ("cert_host", "accepted"), [("cdn.example", True), ("other.example", False)]
)
def test_a_pinned_https_request_checks_the_certificate_against_the_host_name(
    cert_host: str, accepted: bool
) -> None:
    """Connecting to the checked IP keeps TLS honest: the server name sent and
    verified is the URL's host, so a certificate for another name is refused."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(cert_host).configure_cert(server_context)
    names: list[str | None] = []

    def remember(sock: ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> None:
        names.append(name)

    server_context.sni_callback = remember
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with (
        local_mp4_server(server_context) as (port, _hits),
        httpx.Client(verify=client_context, trust_env=False) as client,
    ):
        url = httpx.URL(f"https://cdn.example:{port}/v.mp4")
        request = pinned_request(client, url, "127.0.0.1", headers={}, timeout=httpx.Timeout(5.0))
        if accepted:
            response = client.send(request)
            assert response.status_code == 200 and response.content == MP4
        else:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                client.send(request)
    assert names and names[0] == "cdn.example"


def test_an_ipv6_answer_is_pinned_in_brackets(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=MP4, headers={"content-type": "video/mp4"})

    with client_for(handler) as client:
        download_to_file(
            client,
            "https://v6.example/v.mp4",
            tmp_path / "v.mp4",
            resolver=lambda host, port: ["2606:2800:220:1:248:1893:25c8:1946"],
            allow_private=False,
        )
    (request,) = seen
    assert str(request.url) == "https://[2606:2800:220:1:248:1893:25c8:1946]/v.mp4"
    assert request.headers["host"] == "v6.example"
