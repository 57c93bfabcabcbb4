"""Studio's gunicorn worker: gunicorn's threaded worker with deadlines for slow clients.

`manage.py serve` runs gunicorn with this worker class (`gthread` underneath):
each web process serves `WEB_THREADS` requests at once, and a connection only
holds a thread while a request is read, run and answered. What gunicorn's own
threaded worker (27.x) leaves open, and this class closes:

- **A connection that sends nothing** held a thread for a fixed 5 s before
  gunicorn moved it to its poller. Here it waits `FIRST_BYTE_WAIT` (0.5 s) in
  the thread, then in the poller without a thread, which drops it after the
  keep-alive timeout.
- **A request head that never ends** (a half-open connection that sent part
  of its request line or headers, then nothing, or trickles a byte now and
  then) held its thread for as long as the client liked: gunicorn reads the
  head with no timeout at all. Here the whole head must arrive within
  `WEB_HEADER_TIMEOUT` seconds of the thread taking the connection,
  or the connection is closed.
- **A client that stops reading or sending mid-request** (a stalled upload, a
  download nobody reads) held its thread forever. Here every read and write
  must make progress within `WEB_IDLE_TIMEOUT` seconds. A slow client
  that keeps reading (a download at a few KB/s) keeps its thread until it is
  done: sendfile spares the copying, not the thread. That is why there are
  many threads per process, and why media should come from S3 by presigned
  redirect (or a buffering proxy) when many slow clients are expected.

Both timeouts are read from the environment (`WEB_HEADER_TIMEOUT`,
`WEB_IDLE_TIMEOUT`, the names Studio's settings read; serve passes its values
on with `--env`, the Dockerfile's gunicorn inherits them); this module imports
nothing from Django so gunicorn can load it before the application.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from gunicorn.workers.gthread import _DEFER, ThreadWorker

FIRST_BYTE_WAIT = 0.5


def _seconds(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


class TimedSocket:
    """A client socket whose reads of the request head share one deadline.

    gunicorn's parser only calls `recv`; everything else (`sendfile`, `fileno`,
    `close` ...) goes to the socket itself.
    """

    def __init__(self, sock: socket.socket, idle_timeout: float) -> None:
        self._sock = sock
        self._idle = idle_timeout
        self._head_deadline: float | None = None

    def read_head_by(self, deadline: float) -> None:
        self._head_deadline = deadline

    def head_read(self) -> None:
        """The head is in: from now on each read and write has `idle` seconds."""
        self._head_deadline = None
        self._sock.settimeout(self._idle)

    def recv(self, size: int, flags: int = 0) -> bytes:
        if self._head_deadline is None:
            return self._sock.recv(size, flags)
        remaining = self._head_deadline - time.monotonic()
        if remaining <= 0:
            return b""  # the parser sees the client go: no request, the connection closes
        self._sock.settimeout(remaining)
        try:
            return self._sock.recv(size, flags)
        except TimeoutError:
            return b""

    def sendall(self, data: Any, flags: int = 0) -> None:
        """Like socket.sendall, with the timeout per write instead of for all of it."""
        view = memoryview(data).cast("B")
        while view:
            sent = self._sock.send(view, flags)
            view = view[sent:]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class StudioThreadWorker(ThreadWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = _seconds("WEB_HEADER_TIMEOUT", 10.0)
        self.idle_timeout = _seconds("WEB_IDLE_TIMEOUT", 30.0)

    def handle(self, conn: Any) -> Any:
        fresh = not conn.initialized and not conn.data_ready
        if fresh and not conn.wait_for_data(FIRST_BYTE_WAIT):
            return _DEFER  # to the poller, without a thread
        if not isinstance(conn.sock, TimedSocket):
            # Before conn.init(), which hands the socket to the parser.
            conn.sock = TimedSocket(conn.sock, self.idle_timeout)
        conn.sock.read_head_by(time.monotonic() + self.header_timeout)
        return super().handle(conn)

    def handle_request(self, req: Any, conn: Any) -> Any:
        conn.sock.head_read()
        return super().handle_request(req, conn)
