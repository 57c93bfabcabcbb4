"""A loopback TCP proxy that can play a server restart: every connection drops, and new
ones are refused, for a while.

The scale tests put it in front of the shared PostgreSQL server (which nobody may
restart) so the workers see what a restart looks like from outside: open
connections cut mid-query or mid-commit, then `connection refused` until the
server is back. What the proxy does not show is the server's own side (a fast
shutdown's `terminating connection due to administrator command` notice, crash
recovery), which changes nothing for a client that already lost its connection.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class OutageProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
        self.connections = 0
        self.listener = self._listen(0)
        self.port = int(self.listener.getsockname()[1])
        self._serve()

    def _listen(self, port: int) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(128)
        return listener

    def _serve(self) -> None:
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: an outage, or the end
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self.lock:
                self.sockets.update((client, server))
                self.connections += 1
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(src, dst)

    def _drop(self, *socks: socket.socket) -> None:
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            with self.lock:
                self.sockets.discard(sock)

    def go_down(self) -> None:
        """Refuse new connections and cut every open one, both ways, at once."""
        self.listener.close()
        with self.lock:
            open_sockets = list(self.sockets)
        self._drop(*open_sockets)

    def come_back(self) -> None:
        """Accept connections again on the same port."""
        self.listener = self._listen(self.port)
        self._serve()

    def close(self) -> None:
        self.go_down()
