"""The sandbox gateway: both documented contracts on one loopback HTTP server.

Start it with `python manage.py sandbox_gateway` or, in tests,
`start_sandbox()`. Faults come from the `X-Sandbox-Fault` header, a
`sandbox_fault` query parameter, or the admin endpoint `POST /_sandbox/faults`
(for a Studio that sends no custom headers). See `HELP` for the full list.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox import contracts
from sandbox.contracts import Reject, mountsea_error, openai_error
from sandbox.media import SECONDS, sample_image, sample_mp4
from sandbox.state import ALL_FAULTS, SandboxState, parse_faults

DEFAULT_KEY = "sandbox-key"
MAX_BODY = 50 * 1024 * 1024
READ_TIMEOUT_DEFAULT = 60.0
MOUNTSEA_CREATES = {
    "/gemini/video/generate": "generate",
    "/gemini/video/object/remove": "removal",
    "/gemini/video/extend": "extend",
    "/gemini/video/reshoot": "reshoot",
    "/gemini/video/object/insert": "insert",
}

HELP = f"""Studio sandbox gateway

Mountsea:  POST /gemini/video/generate, /gemini/video/object/remove,
           /gemini/video/extend, /gemini/video/reshoot, /gemini/video/object/insert,
           GET /gemini/task/result?taskId=   (Authorization: Bearer KEY)
OpenAI:    POST /v1/videos (multipart), GET /v1/videos/ID, GET /v1/videos/ID/content
           (Authorization: KEY or Bearer KEY)
Results:   GET /files/TOKEN.mp4 (expire after file_ttl seconds)
Admin:     GET /_sandbox/stats, POST /_sandbox/reset, GET|POST|DELETE /_sandbox/faults
           ({{"create": "read_timeout", "poll": "500", "download": "...", "times": 1}};
           times -1 = until cleared; "rate": 0.1 = each request by that chance),
           POST /_sandbox/config {{"step_seconds", "file_ttl", "seed"}},
           GET /_sandbox/sample.png, /_sandbox/sample.jpg
Faults:    X-Sandbox-Fault: name[=param][, ...] or ?sandbox_fault=...
           {", ".join(sorted(ALL_FAULTS))}
"""


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Enough for a benchmark with many keep-alive clients.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], state: SandboxState, verbose: bool = False):
        self.state = state
        self.verbose = verbose
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, SandboxHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Wake every handler blocked on a keep-alive read so its thread ends."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-answer is the point of several faults.
        if self.verbose:
            super().handle_error(request, client_address)


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this every answer
    # on a keep-alive connection waits ~40 ms for a delayed ACK.
    disable_nagle_algorithm = True
    server_version = "StudioSandbox/1.0"
    # Idle keep-alive connections are closed after this many seconds.
    timeout = 30
    server: SandboxServer

    # -- plumbing ----------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    @property
    def state(self) -> SandboxState:
        return self.server.state

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_HEAD(self) -> None:
        # Same routes as GET; `_send` leaves the body out.
        self._dispatch("GET")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        self.query = parse_qs(url.query)
        self.route = url.path
        try:
            self.body = self._read_body()
            self._route(method, url.path)
        except Reject as reject:
            self._json(reject.status, reject.body, reject.headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        size = int(length)
        if size > MAX_BODY:
            self.close_connection = True
            raise Reject(413, {"message": "request body too large"})
        return self.rfile.read(size)

    def _read_chunked(self) -> bytes:
        body = b""
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                # Trailers end with an empty line.
                while self.rfile.readline().strip():
                    pass
                return body
            body += self.rfile.read(size)
            self.rfile.readline()
            if len(body) > MAX_BODY:
                self.close_connection = True
                raise Reject(413, {"message": "request body too large"})

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json; charset=utf-8", headers)

    def _json_body(self, on_error: Reject) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise on_error from None

    def _faults(self, phase: str, reject: Any) -> dict[str, str]:
        raw = ",".join(
            filter(
                None,
                [self.headers.get("X-Sandbox-Fault", ""), *self.query.get("sandbox_fault", [])],
            )
        )
        try:
            requested = parse_faults(raw)
        except ValueError as exc:
            raise reject(400, str(exc)) from None
        return self.state.take_faults(phase, requested)

    def _pre_faults(self, faults: dict[str, str], error: Any) -> None:
        """Latency and refusals that happen before a request is accepted."""
        if "latency" in faults:
            self.state.stopping.wait(float(faults["latency"] or 1))
        if "429" in faults:
            raise Reject(
                429,
                error(429, "Too many requests (sandbox)").body,
                {"Retry-After": faults["429"] or "1"},
            )
        if "503" in faults:
            raise Reject(
                503,
                error(503, "Service unavailable (sandbox)").body,
                {"Retry-After": faults["503"] or "1"},
            )

    def _post_faults(self, faults: dict[str, str], error: Any) -> bool:
        """Faults after the work is done; True when the answer was replaced."""
        if "drop_after_create" in faults or "drop" in faults:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return True
        if "read_timeout" in faults:
            self.state.stopping.wait(float(faults["read_timeout"] or READ_TIMEOUT_DEFAULT))
        for code in ("500", "502"):
            if code in faults:
                raise Reject(int(code), error(int(code), f"Sandbox upstream error {code}").body)
        if "malformed_json" in faults:
            self._send(200, b'{"status": "completed", "taskId": ', "application/json")
            return True
        return False

    # -- routing -------------------------------------------------------------------

    def _route(self, method: str, path: str) -> None:
        if path.startswith("/_sandbox") or path in ("/", ""):
            self._admin(method, path)
        elif path in MOUNTSEA_CREATES and method == "POST":
            self._mountsea_create(path, MOUNTSEA_CREATES[path])
        elif path == "/gemini/task/result" and method == "GET":
            self._mountsea_poll(path)
        elif path == "/v1/videos" and method == "POST":
            self._openai_create(path)
        elif path.startswith("/v1/videos/") and method == "GET":
            rest = path.removeprefix("/v1/videos/")
            if rest.endswith("/content"):
                self._openai_content(rest.removesuffix("/content"))
            else:
                self._openai_poll(rest)
        elif path.startswith("/files/") and method == "GET":
            self._file(path.removeprefix("/files/").removesuffix(".mp4"))
        elif path.startswith("/gemini/"):
            raise mountsea_error(404, f"Cannot {method} {path}")
        else:
            raise openai_error(404, f"Invalid URL ({method} {path})")

    # -- Mountsea ------------------------------------------------------------------

    def _mountsea_auth(self) -> None:
        if not contracts.check_bearer(self.headers.get("Authorization", ""), self.state.key):
            raise mountsea_error(401, "Unauthorized")

    def _mountsea_create(self, path: str, endpoint: str) -> None:
        self.state.count("create_attempts", path)
        faults = self._faults("create", lambda status, message: mountsea_error(status, message))
        self._pre_faults(faults, mountsea_error)
        self._mountsea_auth()
        body = self._json_body(mountsea_error(400, ["request body must be valid JSON"]))
        now = time.monotonic()
        recorded, fields = self._mountsea_check(endpoint, body, now)
        task = self.state.add_task(
            kind="mountsea", path=path, body=recorded, flags=set(faults), **fields
        )
        if self._post_faults(faults, mountsea_error):
            return
        if "missing_fields" in faults:
            self._json(201, {})
            return
        self._json(201, {"taskId": task.id})

    def _mountsea_check(
        self, endpoint: str, body: Any, now: float
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Validate one create's body: what is recorded, and the new task's fields."""
        if endpoint == "removal":
            checked = contracts.validate_removal(body, self.state, now)
            recorded = {
                "videoId": body["videoId"],
                "prompt": body.get("prompt", ""),
                "imageMask": f"<{checked['mask_bytes']} bytes>",
            }
            return recorded, {"model": "object_remove", "action": "removal"}
        if endpoint in ("extend", "reshoot", "insert"):
            recorded = dict(body)
            if endpoint == "extend":
                source = contracts.validate_extend(body, self.state, now)
                fields: dict[str, Any] = {
                    "model": body["model"],
                    "clip_seconds": source.clip_seconds + SECONDS,
                    "extended": True,
                }
            elif endpoint == "reshoot":
                source = contracts.validate_reshoot(body, self.state, now)
                fields = {"model": "reshoot", "clip_seconds": source.clip_seconds}
            else:
                source, mask_bytes = contracts.validate_insert(body, self.state, now)
                if mask_bytes:
                    recorded["imageMask"] = f"<{mask_bytes} bytes>"
                fields = {"model": "object_insert", "clip_seconds": source.clip_seconds}
            return recorded, {**fields, "action": endpoint, "aspect_ratio": source.aspect_ratio}
        checked = contracts.validate_generate(body)
        contracts.fetch_images(checked["images"])
        return dict(body), {
            "model": checked["model"],
            "action": checked["action"],
            "aspect_ratio": checked["aspect_ratio"],
        }

    def _mountsea_poll(self, path: str) -> None:
        self.state.count("polls", path)
        faults = self._faults("poll", mountsea_error)
        self._pre_faults(faults, mountsea_error)
        self._mountsea_auth()
        task_id = (self.query.get("taskId") or [""])[0]
        if not task_id:
            raise mountsea_error(400, ["taskId should not be empty"])
        task = self.state.get_task(task_id, "mountsea")
        if task is None:
            raise mountsea_error(404, "Task not found")
        if self._post_faults(faults, mountsea_error):
            return
        self._json(200, contracts.mountsea_task_body(task, self.state, time.monotonic(), faults))

    # -- OpenAI format -------------------------------------------------------------

    def _openai_auth(self) -> None:
        if not contracts.check_openai_auth(self.headers.get("Authorization", ""), self.state.key):
            raise openai_error(401, "Invalid token", "new_api_error")

    def _openai_create(self, path: str) -> None:
        self.state.count("create_attempts", path)
        faults = self._faults("create", openai_error)
        self._pre_faults(faults, openai_error)
        self._openai_auth()
        parts = contracts.parse_multipart(self.headers.get("Content-Type", ""), self.body)
        checked = contracts.validate_openai_create(parts)
        task = self.state.add_task(
            kind="openai",
            path=path,
            body=checked,
            flags=set(faults),
            model=checked["model"],
            action="img2video" if "input_reference" in checked else "text2video",
            aspect_ratio=checked["size"],
            seconds=checked["seconds"],
        )
        if self._post_faults(faults, openai_error):
            return
        now = time.monotonic()
        if "missing_fields" in faults:
            self._json(200, {"object": "video", "status": "queued"})
            return
        self._json(200, contracts.openai_video_body(task, now, {}))

    def _openai_task(self, video_id: str) -> Any:
        task = self.state.get_task(video_id, "openai")
        if task is None:
            raise openai_error(404, "Task not found")
        return task

    def _openai_poll(self, video_id: str) -> None:
        self.state.count("polls", "/v1/videos/{id}")
        faults = self._faults("poll", openai_error)
        self._pre_faults(faults, openai_error)
        self._openai_auth()
        task = self._openai_task(video_id)
        if self._post_faults(faults, openai_error):
            return
        self._json(200, contracts.openai_video_body(task, time.monotonic(), faults))

    def _openai_content(self, video_id: str) -> None:
        self.state.count("downloads", "/v1/videos/{id}/content")
        faults = self._faults("download", openai_error)
        self._pre_faults(faults, openai_error)
        self._openai_auth()
        task = self._openai_task(video_id)
        now = time.monotonic()
        body = contracts.openai_video_body(task, now, {})
        if body.get("status") != "completed":
            raise openai_error(
                400, f"Task is not completed yet, current status: {body.get('status')}"
            )
        if task.outcome == "no_url":
            raise openai_error(404, "The task finished without a video")
        if "expire_result" in faults or self.state.file_expired(task, now):
            raise openai_error(410, "Video content has expired")
        if self._post_faults(faults, openai_error):
            return
        self._video(task, faults)

    # -- results ---------------------------------------------------------------------

    def _file(self, token: str) -> None:
        self.state.count("downloads", "/files/{token}")
        faults = self._faults("download", openai_error)
        self._pre_faults(faults, openai_error)
        task = self.state.task_for_file(token)
        now = time.monotonic()
        if task is None or not task.done(now) or task.outcome != "ok":
            self._send(404, b"Not Found", "text/plain")
            return
        if "expire_result" in faults or self.state.file_expired(task, now):
            self._send(410, b"Gone: this link has expired", "text/plain")
            return
        if self._post_faults(faults, openai_error):
            return
        self._video(task, faults)

    def _video(self, task: Any, faults: dict[str, str]) -> None:
        data = sample_mp4(task.aspect_ratio, task.clip_seconds)
        octet = "octet_stream" in faults or "octet_stream" in task.flags
        content_type = "application/octet-stream" if octet else "video/mp4"
        headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=3600"}
        byte_range = self.headers.get("Range", "")
        if byte_range.startswith("bytes="):
            first, _, last = byte_range.removeprefix("bytes=").split(",")[0].partition("-")
            size = len(data)
            try:
                if first:
                    start, end = int(first), int(last) if last else size - 1
                else:
                    start, end = max(0, size - int(last)), size - 1
            except ValueError:
                start, end = size, size
            if start >= size or start > end:
                self._send(416, b"", content_type, {"Content-Range": f"bytes */{size}"})
                return
            end = min(end, size - 1)
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
            self._send(206, data[start : end + 1], content_type, headers)
            return
        self._send(200, data, content_type, headers)

    # -- admin ---------------------------------------------------------------------

    def _admin(self, method: str, path: str) -> None:
        state = self.state
        if path in ("/", "", "/_sandbox", "/_sandbox/"):
            self._send(200, HELP.encode(), "text/plain; charset=utf-8")
        elif path == "/_sandbox/stats" and method == "GET":
            self._json(200, state.stats())
        elif path == "/_sandbox/reset" and method == "POST":
            state.reset()
            self._json(200, {"reset": True})
        elif path == "/_sandbox/faults" and method == "GET":
            self._json(200, state.armed_view())
        elif path == "/_sandbox/faults" and method == "DELETE":
            state.clear_faults()
            self._json(200, state.armed_view())
        elif path == "/_sandbox/faults" and method == "POST":
            spec = self._json_body(Reject(400, {"message": "send a JSON object"}))
            if not isinstance(spec, dict):
                raise Reject(400, {"message": "send a JSON object"})
            try:
                times = int(spec.get("times", 1))
                rate = float(spec.get("rate", 1.0))
                for phase in ("create", "poll", "download"):
                    if spec.get(phase):
                        value = spec[phase]
                        raw = ",".join(value) if isinstance(value, list) else str(value)
                        state.arm(phase, parse_faults(raw), times, rate)
            except ValueError as exc:
                raise Reject(400, {"message": str(exc)}) from None
            self._json(200, state.armed_view())
        elif path == "/_sandbox/config" and method == "POST":
            spec = self._json_body(Reject(400, {"message": "send a JSON object"}))
            if "seed" in spec:
                state.seed(int(spec["seed"]))
            with state.lock:
                if "step_seconds" in spec:
                    state.step_seconds = float(spec["step_seconds"])
                if "file_ttl" in spec:
                    state.file_ttl = float(spec["file_ttl"])
            self._json(200, {"step_seconds": state.step_seconds, "file_ttl": state.file_ttl})
        elif path in ("/_sandbox/sample.png", "/_sandbox/sample.jpg") and method == "GET":
            fmt = "PNG" if path.endswith(".png") else "JPEG"
            self._send(200, sample_image(fmt), f"image/{fmt.lower()}")
        else:
            raise Reject(404, {"message": f"no sandbox endpoint {method} {path}"})
