"""Slow and heavy clients against a real `manage.py serve`: the site keeps answering.

Correctness, not speed (benchmarks/bench_busy.py measures): with one web
process, /healthz still answers while half-open connections, slow downloads
and uploads are under way, and the server drops a connection whose request
head never ends.
"""

from __future__ import annotations

import contextlib
import http.client
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_serve import (  # noqa: F401 (migrated: a fixture)
    DATABASE,
    ROOT,
    Serve,
    _environment,
    _free_port,
    migrated,
)

pytestmark = pytest.mark.slow

SEED = """
import io, json, numpy as np
from PIL import Image
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from studio.services import library
from studio.services.teams import ensure_personal_team

user = get_user_model().objects.create_user("busy", password="busy-password-1")
team = ensure_personal_team(user)
noise = np.random.default_rng(7).integers(0, 256, size=(1800, 1800, 3), dtype=np.uint8)
png = io.BytesIO()
Image.fromarray(noise, "RGB").save(png, format="PNG", compress_level=1)
stored = library.store_upload(team, user, io.BytesIO(png.getvalue()), "noise.png").image
session = SessionStore()
session["_auth_user_id"] = str(user.pk)
backends = [b for b in settings.AUTHENTICATION_BACKENDS if "axes" not in b]
session["_auth_user_backend"] = backends[0]
session["_auth_user_hash"] = user.get_session_auth_hash()
session.create()
csrf = "c" * 32
print(json.dumps({
    "cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}; "
    f"{settings.CSRF_COOKIE_NAME}={csrf}",
    "csrf": csrf,
    "media": f"/files/references/{stored.public_id}",
    "png": stored.file.path,
}))
"""


def _seed(serve: Serve) -> dict[str, Any]:
    import json

    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SEED],
        cwd=ROOT,
        env=serve.env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def _half_open(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # the rest never comes
    return sock


def _slow_download(port: int, seeded: dict[str, Any]) -> socket.socket:
    """A download that reads 1 KB and then nothing: the server's send blocks."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        f"GET {seeded['media']} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Cookie: {seeded['cookie']}\r\n\r\n".encode()
    )
    head = sock.recv(1024)
    assert head.startswith(b"HTTP/1.1 200"), head
    return sock


@pytest.fixture(scope="module")
def busy_serve(
    migrated: Path,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Serve, dict[str, Any]]]:
    """One web process (8 threads), no worker, short timeouts; shared by the tests here."""
    data_dir = tmp_path_factory.mktemp("busy")
    shutil.copy(migrated, data_dir / DATABASE)
    env = {**_environment(data_dir), "WEB_HEADER_TIMEOUT": "2", "WEB_KEEPALIVE": "1"}
    serve = Serve(data_dir, _free_port(), ["--no-worker"], env)
    try:
        seeded = _seed(serve)
        serve.wait_for("answered", serve.answers)
        yield serve, seeded
    finally:
        if serve.proc.poll() is None:
            assert serve.stop() == 0


def _uploads(port: int, seeded: dict[str, Any], stop: threading.Event, done: list[int]) -> None:
    data = Path(seeded["png"]).read_bytes()
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="images"; '
            f'filename="noise.png"\r\nContent-Type: image/png\r\n\r\n'
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {
        "Cookie": seeded["cookie"],
        "X-CSRFToken": seeded["csrf"],
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    while not stop.is_set():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("POST", "/library/", body=body, headers=headers)
            done.append(conn.getresponse().status)
        except OSError:
            done.append(0)
            return
        finally:
            conn.close()


def test_healthz_answers_while_connections_are_held_half_open_downloads_stall_and_uploads_run(
    busy_serve: tuple[Serve, dict[str, Any]],
) -> None:
    serve, seeded = busy_serve
    held = [_half_open(serve.port) for _ in range(2)]
    try:
        held += [_slow_download(serve.port, seeded) for _ in range(2)]
    except AssertionError:
        raise AssertionError(serve.output()[-3000:]) from None
    stop, done = threading.Event(), list[int]()
    uploaders = [
        threading.Thread(target=_uploads, args=(serve.port, seeded, stop, done)) for _ in range(2)
    ]
    for uploader in uploaders:
        uploader.start()
    try:
        time.sleep(0.5)  # every held connection has reached a thread by now
        for _ in range(3):
            # One web process: with sync workers the first held connection is enough.
            assert serve.healthz() is not None, "/healthz did not answer within 5 s"
            time.sleep(0.3)
    finally:
        stop.set()
        for uploader in uploaders:
            uploader.join(timeout=60)
        for sock in held:
            sock.close()
    assert done and set(done) == {302}, done  # the uploads went through meanwhile


def _closed_after(sock: socket.socket, limit: float) -> float:
    """Seconds until the server closes `sock` (it must not answer), at most `limit`."""
    start = time.monotonic()
    sock.settimeout(limit)
    try:
        assert sock.recv(1024) == b""
    except TimeoutError:
        return limit
    finally:
        sock.close()
    return time.monotonic() - start


def test_a_request_head_that_never_ends_is_dropped_after_the_header_timeout(
    busy_serve: tuple[Serve, dict[str, Any]],
) -> None:
    serve, _ = busy_serve
    waited = _closed_after(_half_open(serve.port), limit=8)
    assert 1.5 <= waited < 4, f"closed after {waited:.1f} s (header timeout 2 s)"


def test_a_request_head_trickled_a_byte_at_a_time_is_dropped_after_the_header_timeout(
    busy_serve: tuple[Serve, dict[str, Any]],
) -> None:
    serve, _ = busy_serve
    sock = _half_open(serve.port)
    start = time.monotonic()
    with contextlib.suppress(OSError):  # until the server has closed it
        for _ in range(16):
            time.sleep(0.5)
            sock.sendall(b"X")
    _closed_after(sock, limit=8)
    waited = time.monotonic() - start
    assert waited < 5, f"closed after {waited:.1f} s (header timeout 2 s)"


def test_a_connection_that_sends_nothing_is_dropped_after_the_keep_alive_timeout(
    busy_serve: tuple[Serve, dict[str, Any]],
) -> None:
    serve, _ = busy_serve
    waited = _closed_after(socket.create_connection(("127.0.0.1", serve.port)), limit=8)
    assert waited < 4, f"closed after {waited:.1f} s (keep-alive 1 s)"
