"""`manage.py serve` as `make run` starts it: a real gunicorn and a real worker.

Each test runs serve as a subprocess on a free port, with its own data
directory holding a migrated SQLite database, and watches the process tree
through /proc.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from studio.management.commands.serve import (
    FIRST_DELAY,
    HEALTHY_AFTER,
    MAX_DELAY,
    Child,
    Command,
    web_exit_is_final,
)

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "studio.sqlite3"

slow = pytest.mark.slow
linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


def test_restart_delays_double_up_to_the_cap() -> None:
    child = Child("worker", [])
    delays = [child.next_delay(ran=1) for _ in range(8)]
    assert delays[:4] == [FIRST_DELAY, 2 * FIRST_DELAY, 4 * FIRST_DELAY, 8 * FIRST_DELAY]
    assert delays[-1] == MAX_DELAY
    assert delays == sorted(delays)


def test_restart_delay_starts_again_after_a_healthy_run() -> None:
    child = Child("worker", [])
    for _ in range(5):
        child.next_delay(ran=1)
    assert child.next_delay(ran=HEALTHY_AFTER + 1) == FIRST_DELAY
    assert child.next_delay(ran=1) == 2 * FIRST_DELAY


def test_a_web_server_that_cannot_load_studio_is_not_restarted() -> None:
    assert web_exit_is_final(3, started=True)  # a worker failed to boot
    assert web_exit_is_final(4, started=True)  # the app failed to load
    assert web_exit_is_final(1, started=False)  # never listened: port taken
    assert not web_exit_is_final(1, started=True)
    assert not web_exit_is_final(-9, started=True)  # killed: restart it


def test_gunicorn_gets_the_web_worker_count_and_a_control_socket_in_the_data_dir(
    settings: Any, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path
    stale = tmp_path / "gunicorn-8123.ctl"
    stale.write_text("left by a killed serve")
    argv = Command().gunicorn_argv("127.0.0.1", 8123, 5, 3)
    assert argv[argv.index("--workers") + 1] == "5"
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:8123"
    assert argv[argv.index("--control-socket") + 1] == str(stale)
    assert not stale.exists()


def test_a_data_dir_too_deep_for_a_unix_socket_means_no_control_socket(
    settings: Any, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path / ("d" * 120)
    argv = Command(stderr=io.StringIO()).gunicorn_argv("127.0.0.1", 8123, 2, 3)
    assert "--no-control-socket" in argv
    assert "--control-socket" not in argv


# --- real processes ------------------------------------------------------------


def _environment(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in list(env):
        # Run as `make run` does, on SQLite in the data directory, not as the suite.
        if name.startswith(("STUDIO_", "DJANGO_")) or name in {"DATABASE_URL", "DEBUG"}:
            del env[name]
    env.update(
        STUDIO_DATA_DIR=str(data_dir),
        SECRET_KEY="serve-test-" + "x" * 40,
        XDG_RUNTIME_DIR=str(data_dir / "xdg"),
        WEB_WORKERS="1",
        STUDIO_WORKERS="2",
        STUDIO_ACCESS_LOG="off",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("migrated")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=_environment(data_dir),
        check=True,
    )
    return data_dir / DATABASE


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Serve:
    def __init__(self, data_dir: Path, port: int, args: list[str], env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.port = port
        self.env = env
        self.log = data_dir / "serve.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "manage.py", "serve", "--port", str(port), *args],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def healthz(self) -> tuple[int, dict[str, Any]] | None:
        """The /healthz status and body, or None when nothing answers."""
        url = f"http://127.0.0.1:{self.port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def answers(self) -> bool:
        return self.healthz() is not None

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            assert self.proc.poll() is None, f"serve exited:\n{self.output()[-4000:]}"
            time.sleep(0.1)
        raise AssertionError(f"never {what}:\n{self.output()[-4000:]}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=40)


@pytest.fixture
def start_serve(
    migrated: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Serve]]:
    started: list[Serve] = []

    def start(*args: str, port: int = 0, **env: str) -> Serve:
        data_dir = tmp_path_factory.mktemp("serve")
        shutil.copy(migrated, data_dir / DATABASE)
        environment = {**_environment(data_dir), **env}
        serve = Serve(data_dir, port or _free_port(), list(args), environment)
        started.append(serve)
        return serve

    yield start
    for serve in started:
        if serve.proc.poll() is None:
            # A failed test must not leave a Studio running: end the trees too.
            tree = _descendants(serve.proc.pid)
            serve.proc.kill()
            serve.proc.wait()
            for pid in tree:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _stat(pid: int) -> tuple[int, int, str, int] | None:
    """(ppid, process group, state, start time) of a live process, else None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = raw[raw.rindex(b")") + 2 :].split()
    state = fields[0].decode()
    if state == "Z":
        return None
    return int(fields[1]), int(fields[2]), state, int(fields[19])


def _all_pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _descendants(root: int) -> dict[int, int]:
    """Every live process below `root`, as pid -> start time (to notice pid reuse)."""
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for pid in _all_pids():
        info = _stat(pid)
        if info is not None:
            children.setdefault(info[0], []).append(pid)
            starts[pid] = info[3]
    found: dict[int, int] = {}
    todo = [root]
    while todo:
        for pid in children.get(todo.pop(), []):
            found[pid] = starts[pid]
            todo.append(pid)
    return found


def _survivors(processes: dict[int, int]) -> list[str]:
    alive = []
    for pid, start in processes.items():
        info = _stat(pid)
        if info is not None and info[3] == start:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            alive.append(f"{pid} {cmdline.decode(errors='replace')}")
    return alive


def _children_of(parent: int) -> list[int]:
    return [pid for pid in _all_pids() if (info := _stat(pid)) and info[0] == parent]


def _worker_pids(serve: Serve) -> list[int]:
    found = []
    for pid in _children_of(serve.proc.pid):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[-2:] == [b"worker", b""]:
            found.append(pid)
    return found


def _worker_pid(serve: Serve) -> int | None:
    pids = _worker_pids(serve)
    return pids[0] if pids else None


@slow
@linux_only
def test_a_killed_worker_is_restarted_while_the_web_stays_up_and_nothing_outlives_serve(
    start_serve: Callable[..., Serve],
) -> None:
    serve = start_serve(
        # A small max age so that /healthz reports the gap between two workers.
        STUDIO_WORKER_HEARTBEAT_MAX_AGE="1",
        # Today's sweeper: hand over quickly, and do not wait 15 s for the lease
        # of the sweeper that was killed.
        STUDIO_SWEEPER_LEASE="2",
        STUDIO_SWEEP_SECONDS="1",
    )

    def healthy() -> bool:
        answer = serve.healthz()
        return answer is not None and answer[0] == 200

    serve.wait_for("healthy", healthy)
    worker = _worker_pid(serve)
    assert worker is not None
    cluster = _descendants(worker)
    assert len(cluster) >= 3, "the django-q2 cluster has a sentinel and its workers"

    os.kill(worker, signal.SIGKILL)

    answers: list[tuple[int, dict[str, Any]] | None] = []

    def healthz_says(status: str) -> Callable[[], bool]:
        def check() -> bool:
            answers.append(serve.healthz())
            body = answers[-1][1] if answers[-1] else {}
            return bool(body.get("worker", {}).get("status") == status)

        return check

    serve.wait_for("reported the worker missing", healthz_says("missing"), timeout=20)
    assert answers[-1] is not None and answers[-1][0] == 503
    serve.wait_for("restarted the worker", lambda: _worker_pid(serve) not in {None, worker})
    serve.wait_for("healthy again", healthz_says("ok"))
    assert None not in answers, "the web server stopped answering while the worker was down"
    assert _survivors(cluster) == [], "the killed worker's processes were left running"
    assert "restarting it in 1 s" in serve.output()

    tree = _descendants(serve.proc.pid)
    assert len(tree) >= 5  # gunicorn, its worker, the new worker and its cluster
    assert serve.stop() == 0
    assert _survivors(tree) == []
    assert "Studio stopped." in serve.output()


@slow
@linux_only
def test_a_killed_web_server_is_restarted_on_the_same_port(
    start_serve: Callable[..., Serve],
) -> None:
    serve = start_serve("--no-worker", "--web-workers", "2")
    serve.wait_for("answered", serve.answers)
    serve.wait_for("announced itself", lambda: "Studio is running" in serve.output())
    (master,) = _children_of(serve.proc.pid)
    serve.wait_for("started both web workers", lambda: len(_children_of(master)) == 2)
    first = _descendants(serve.proc.pid)

    os.kill(master, signal.SIGKILL)

    serve.wait_for("restarted the web", lambda: "Restarted the web" in serve.output())
    serve.wait_for("answered again", serve.answers)
    assert _survivors(first) == [], "the killed master's workers were left running"
    (new_master,) = _children_of(serve.proc.pid)
    serve.wait_for("started both again", lambda: len(_children_of(new_master)) == 2)
    assert serve.stop() == 0


@slow
@linux_only
def test_serve_runs_several_worker_processes_and_restarts_the_one_that_dies(
    start_serve: Callable[..., Serve],
) -> None:
    serve = start_serve("--worker-processes", "3", STUDIO_WORKERS="2")
    serve.wait_for("started three workers", lambda: len(_worker_pids(serve)) == 3)
    serve.wait_for("announced them", lambda: "web + 3 workers" in serve.output())
    first = _worker_pids(serve)
    victim = first[1]

    os.kill(victim, signal.SIGKILL)

    def replaced() -> bool:
        now = _worker_pids(serve)
        return len(now) == 3 and victim not in now

    serve.wait_for("replaced the killed worker", replaced)
    survivors = set(_worker_pids(serve)) & set(first)
    assert survivors == set(first) - {victim}, "only the dead worker was restarted"
    assert serve.stop() == 0


@slow
@linux_only
def test_the_children_stop_when_serve_itself_is_killed(
    start_serve: Callable[..., Serve],
) -> None:
    serve = start_serve(STUDIO_SWEEP_SECONDS="1")
    serve.wait_for("started a worker cluster", lambda: len(_descendants(serve.proc.pid)) >= 5)
    tree = _descendants(serve.proc.pid)

    serve.proc.kill()
    serve.proc.wait()

    deadline = time.monotonic() + 30
    while _survivors(tree) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _survivors(tree) == []


@slow
@linux_only
def test_two_studios_on_one_machine_each_keep_their_own_gunicorn_control_socket(
    start_serve: Callable[..., Serve],
) -> None:
    first = start_serve("--no-worker")
    second = start_serve("--no-worker")
    for serve in (first, second):
        serve.wait_for("answered", serve.answers)
        control = serve.data_dir / f"gunicorn-{serve.port}.ctl"
        serve.wait_for("made its control socket", control.exists, timeout=10)
        assert stat.S_ISSOCK(control.stat().st_mode)
        # The socket reaches this Studio's gunicorn, not the other one's.
        answer = subprocess.run(
            [str(Path(sys.executable).parent / "gunicornc"), "-s", str(control)]
            + ["-c", "show stats", "-j"],
            capture_output=True,
            check=True,
            timeout=30,
        )
        assert [json.loads(answer.stdout)["pid"]] == _children_of(serve.proc.pid)
        # Not gunicorn's default place, which both would have shared.
        assert not (serve.data_dir / "xdg" / "gunicorn.ctl").exists()

    tree = _descendants(first.proc.pid)
    assert first.stop() == 0
    assert _survivors(tree) == []
    assert (second.data_dir / f"gunicorn-{second.port}.ctl").exists()
    assert second.answers()
    assert second.stop() == 0


@slow
@linux_only
def test_serve_stops_with_an_error_when_its_port_is_taken(
    start_serve: Callable[..., Serve],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        serve = start_serve("--no-worker", port=port)
        tree: dict[int, int] = {}
        deadline = time.monotonic() + 60
        while serve.proc.poll() is None and time.monotonic() < deadline:
            tree.update(_descendants(serve.proc.pid))
            time.sleep(0.2)
        assert serve.proc.wait(timeout=1) != 0
    assert "could not start" in serve.output()
    assert _survivors(tree) == []
