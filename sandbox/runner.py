"""Running the sandbox: a server on a port, or a background thread for tests."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sandbox.media import sample_mp4
from sandbox.server import DEFAULT_KEY, SandboxServer
from sandbox.state import SandboxState, parse_faults


def studio_env(url: str, key: str) -> dict[str, str]:
    """Environment variables that point a Studio at a sandbox on `url`: every gateway it speaks."""
    return {
        "STUDIO_MOUNTSEA_URL": url,
        "STUDIO_MOUNTSEA_KEY": key,
        "STUDIO_OPENAI_VIDEOS_URL": url,
        "STUDIO_OPENAI_VIDEOS_KEY": key,
        "STUDIO_OPENAI_VIDEOS_AUTH": "raw",
        "STUDIO_ALLOW_PRIVATE_URLS": "1",
    }


@dataclass
class SandboxHandle:
    """A running sandbox: its URL, its state, and how to stop it."""

    url: str
    key: str
    server: SandboxServer
    thread: threading.Thread

    @property
    def state(self) -> SandboxState:
        return self.server.state

    def stats(self) -> dict[str, Any]:
        return self.state.stats()

    @property
    def creates(self) -> int:
        return int(self.stats()["creates_total"])

    @property
    def polls(self) -> int:
        return int(self.stats()["polls_total"])

    @property
    def downloads(self) -> int:
        return int(self.stats()["downloads_total"])

    def reset(self) -> None:
        self.state.reset()

    def arm(self, phase: str, faults: str, times: int = 1, rate: float = 1.0) -> None:
        """Like POST /_sandbox/faults: the next `times` requests of `phase` get `faults`
        (each request by the chance `rate`, drawn from the generator `configure(seed=)` sets)."""
        self.state.arm(phase, parse_faults(faults), times, rate)

    def configure(
        self,
        *,
        step_seconds: float | None = None,
        file_ttl: float | None = None,
        seed: int | None = None,
    ) -> None:
        if seed is not None:
            self.state.seed(seed)
        with self.state.lock:
            if step_seconds is not None:
                self.state.step_seconds = step_seconds
            if file_ttl is not None:
                self.state.file_ttl = file_ttl

    def sample_image_url(self, fmt: str = "png") -> str:
        return f"{self.url}/_sandbox/sample.{fmt}"

    def env(self) -> dict[str, str]:
        """Environment variables that point a Studio at this sandbox."""
        return studio_env(self.url, self.key)

    def stop(self) -> None:
        self.state.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.server.drop_connections()
        self.thread.join(timeout=5)

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def make_server(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    key: str = DEFAULT_KEY,
    step_seconds: float = 1.5,
    file_ttl: float = 3600.0,
    verbose: bool = False,
) -> SandboxServer:
    state = SandboxState(key=key, step_seconds=step_seconds, file_ttl=file_ttl)
    server = SandboxServer((host, port), state, verbose=verbose)
    bound_host, bound_port = server.server_address[:2]
    shown = "127.0.0.1" if bound_host in ("0.0.0.0", "") else str(bound_host)
    state.base_url = f"http://{shown}:{bound_port}"
    return server


def start_sandbox(
    *,
    key: str = DEFAULT_KEY,
    step_seconds: float = 0.2,
    file_ttl: float = 3600.0,
    host: str = "127.0.0.1",
    port: int = 0,
    verbose: bool = False,
) -> SandboxHandle:
    """Serve the sandbox from a background thread (port 0 = a free port)."""
    server = make_server(
        host=host, port=port, key=key, step_seconds=step_seconds, file_ttl=file_ttl, verbose=verbose
    )
    # Made before the first request so no poll waits on the encoder.
    sample_mp4("16:9")
    sample_mp4("9:16")
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.1},
        daemon=True,
        name="sandbox-gateway",
    )
    thread.start()
    return SandboxHandle(url=server.state.base_url, key=key, server=server, thread=thread)
