"""`manage.py serve`: the web server (gunicorn) and the worker, kept running together.

Each child runs in a session of its own, so its whole process tree (gunicorn's
workers, django-q2's sentinel and its multiprocessing children) is one process
group that serve can signal as a unit.

- **A child that dies is restarted** after a backoff (1 s, 2 s, 4 s ... capped
  at 30 s), which starts again from 1 s once the child had run for 30 s. Before
  the restart the dead child's group is ended (SIGTERM, a short wait, SIGKILL):
  a worker killed with SIGKILL otherwise leaves its django-q2 processes behind,
  still taking tasks and polling gateways. The web keeps serving meanwhile and
  `/healthz` reports the worker missing.
- **The web server is restarted too**: it keeps no state, and pages that are
  gone while the worker runs on help nobody. Except when restarting cannot
  help: a web server that exits before it ever listened on its port (port
  taken) or that cannot load Studio (gunicorn's exit codes for a worker that
  failed to boot or an app that failed to load) stops serve with its exit code
  instead of repeating the mistake. Gunicorn makes its control socket only once
  it is listening, so that file is the sign that it started.
- **SIGTERM, SIGINT or SIGHUP stop Studio** (SIGHUP not when it is ignored,
  as under nohup). Each child's leader gets SIGTERM and stops its own children
  gracefully (gunicorn finishes its requests, the django-q2 cluster its
  tasks). Signalling the group with SIGTERM would skip that: django-q2's
  children keep SIGTERM's default action and would die mid-task. After
  `STOP_GRACE` seconds, or at a second signal, whatever is left of either
  group gets SIGKILL, so no process of either tree outlives serve.

If serve itself dies without stopping them (SIGKILL, the OOM killer), each
child's leader gets SIGTERM from the kernel (`PR_SET_PDEATHSIG`, Linux only)
and stops its own children as above. Not covered: the orphans of a leader
that had already died, if serve is killed in the seconds it spends ending
them; a leader that ignores SIGTERM; a descendant that moves to another
process group; systems without `prctl`, where the children outlive a killed
serve. Under a service manager (systemd's default `KillMode=control-group`,
a container) the manager's own clean-up covers these.

Serve is also a child subreaper (Linux), so the orphans of a dead leader stay
in its tree and are reaped by it rather than left as zombies.

Gunicorn's control socket lives in the data directory, one per port
(`gunicorn-<port>.ctl`): `gunicornc -s var/gunicorn-8000.ctl` keeps working,
and two Studios on one machine no longer share gunicorn's default path, where
the second took over the first one's socket and the first, stopping, deleted
the second's.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

FIRST_DELAY = 1.0
MAX_DELAY = 30.0
HEALTHY_AFTER = 30.0
# Gunicorn's graceful timeout is 10 s; a worker's running task gets the rest.
STOP_GRACE = 20.0
# The orphans of a dead leader have nothing left to finish gracefully.
ORPHAN_GRACE = 3.0
TICK = 0.2

# gunicorn.arbiter.Arbiter.WORKER_BOOT_ERROR and APP_LOAD_ERROR.
GUNICORN_CANNOT_LOAD = {3, 4}

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


def _die_with(parent: int, prctl: Callable[..., int] | None) -> Callable[[], None]:
    """Run in the child between fork and exec: SIGTERM when serve dies."""

    def set_death_signal() -> None:
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGTERM))
        if os.getppid() != parent:  # serve died before the line above
            os.kill(os.getpid(), signal.SIGTERM)

    return set_death_signal


def _processes() -> list[tuple[int, int, int, str]] | None:
    """(pid, ppid, process group, state) of every process, from /proc; None without it."""
    if not os.path.isdir("/proc/self"):
        return None
    rows = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                raw = stat.read()
        except OSError:  # gone meanwhile
            continue
        # The command name, in parentheses, may itself hold spaces or parentheses.
        fields = raw[raw.rindex(b")") + 2 :].split()
        rows.append((int(entry), int(fields[1]), int(fields[2]), fields[0].decode()))
    return rows


def group_alive(pgid: int) -> bool:
    """True while a process other than a zombie is left in the group."""
    table = _processes()
    if table is None:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    return any(group == pgid and state != "Z" for _, _, group, state in table)


def web_exit_is_final(code: int, started: bool) -> bool:
    """Whether a restart cannot help a web server that exited with `code`."""
    return not started or code in GUNICORN_CANNOT_LOAD


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


class Child:
    """One supervised process and its restart bookkeeping."""

    def __init__(self, name: str, argv: list[str]) -> None:
        self.name = name
        self.argv = argv
        self.proc: subprocess.Popen[bytes] | None = None
        self.pgid = 0
        self.started_at = 0.0
        self.failures = 0
        self.restart_at = 0.0

    def start(self, preexec: Callable[[], None]) -> int:
        self.proc = subprocess.Popen(
            self.argv, cwd=settings.BASE_DIR, start_new_session=True, preexec_fn=preexec
        )
        self.pgid = self.proc.pid  # a session leader leads its own group
        self.started_at = time.monotonic()
        return self.pgid

    def next_delay(self, ran: float) -> float:
        if ran >= HEALTHY_AFTER:
            self.failures = 0
        delay = min(MAX_DELAY, FIRST_DELAY * 2**self.failures)
        self.failures += 1
        return delay


class Command(BaseCommand):
    help = "Run the web server (gunicorn) and the django-q2 worker, restarting either if it dies."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=settings.STUDIO_SERVE_HOST)
        parser.add_argument("--port", type=int, default=settings.STUDIO_SERVE_PORT)
        parser.add_argument("--web-workers", type=int, default=settings.STUDIO_WEB_WORKERS)
        parser.add_argument("--web-threads", type=int, default=settings.STUDIO_WEB_THREADS)
        parser.add_argument(
            "--sync-workers",
            action="store_true",
            help="Gunicorn's sync workers, one request per process (the old set-up; "
            "for comparisons only: one slow client blocks a whole process).",
        )
        parser.add_argument(
            "--worker-processes",
            type=int,
            default=settings.STUDIO_WORKER_PROCESSES,
            help="How many `manage.py worker` processes to run (each with its own cluster).",
        )
        parser.add_argument("--no-worker", action="store_true", help="Only the web server.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["web_workers"] < 1:
            raise CommandError("--web-workers must be at least 1.")
        if options["web_threads"] < 1:
            raise CommandError("--web-threads must be at least 1.")
        if options["worker_processes"] < 1:
            raise CommandError("--worker-processes must be at least 1.")
        host, port = options["host"], options["port"]
        prctl = _prctl()
        if prctl is not None:
            prctl(_PR_SET_CHILD_SUBREAPER, ctypes.c_ulong(1))
        self.preexec = _die_with(os.getpid(), prctl)
        # Both children get serve's environment, so the same SECRET_KEY and
        # settings: a worker with another key could not read signed data.
        web = self.gunicorn_argv(
            host,
            port,
            options["web_workers"],
            options["web_threads"],
            sync=options["sync_workers"],
        )
        self.children = [Child("web", web)]
        if not options["no_worker"]:
            count = options["worker_processes"]
            worker_argv = [sys.executable, str(settings.BASE_DIR / "manage.py"), "worker"]
            for number in range(1, count + 1):
                name = "worker" if count == 1 else f"worker {number}"
                self.children.append(Child(name, worker_argv))

        self.stopping = False
        self.hurry = False

        def stop(signum: int, frame: Any) -> None:
            # A second Ctrl-C means now: skip the rest of the graceful wait.
            self.hurry = self.stopping
            self.stopping = True

        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            # Under nohup SIGHUP is ignored on purpose: keep it that way.
            if signal.getsignal(signum) is not signal.SIG_IGN:
                signal.signal(signum, stop)

        for child in self.children:
            child.start(self.preexec)
        exit_code = self._supervise(host, port)
        self._stop_all()
        self.stdout.write("Studio stopped.")
        if exit_code:
            sys.exit(exit_code)

    def gunicorn_argv(
        self, host: str, port: int, web_workers: int, web_threads: int, *, sync: bool = False
    ) -> list[str]:
        log_target = settings.STUDIO_ACCESS_LOG
        access_log = [] if log_target == "off" else ["--access-logfile", log_target]
        control = Path(settings.DATA_DIR) / f"gunicorn-{port}.ctl"
        if len(os.fsencode(control)) < 100:  # a Unix socket's path holds at most 107 bytes
            control_socket = ["--control-socket", str(control)]
            # Left behind by a serve that was killed: it must not look like a start.
            control.unlink(missing_ok=True)
            self.web_control: Path | None = control
        else:
            self.stderr.write(
                f"{control} is too long for a Unix socket: no gunicorn control socket."
            )
            control_socket = ["--no-control-socket"]
            self.web_control = None
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(web_workers),
            *(["--worker-class", "sync"] if sync else self.threaded_args(web_threads)),
            "--timeout",
            "120",
            "--graceful-timeout",
            "10",
            *control_socket,
            *access_log,
        ]

    @staticmethod
    def threaded_args(web_threads: int) -> list[str]:
        """Threads per process, and the deadlines that keep slow clients off them."""
        return [
            "--worker-class",
            "config.gunicorn_worker.StudioThreadWorker",
            "--threads",
            str(web_threads),
            "--keep-alive",
            str(settings.STUDIO_WEB_KEEPALIVE),
            "--env",
            f"WEB_HEADER_TIMEOUT={settings.STUDIO_WEB_HEADER_TIMEOUT}",
            "--env",
            f"WEB_IDLE_TIMEOUT={settings.STUDIO_WEB_IDLE_TIMEOUT}",
        ]

    def _supervise(self, host: str, port: int) -> int:
        """Restart children that die until a stop signal; the exit code for serve."""
        web_started = False
        while not self.stopping:
            now = time.monotonic()
            for child in self.children:
                if child.proc is None:
                    if now >= child.restart_at:
                        pid = child.start(self.preexec)
                        self.stdout.write(f"Restarted the {child.name} (pid {pid}).")
                    continue
                code = child.proc.poll()
                if code is None:
                    if child.name == "web" and not web_started and self._web_started(child):
                        web_started = True
                        self._announce(host, port)
                    continue
                self._end_group(child.pgid, ORPHAN_GRACE)
                # Its number may now go to another process: never signal it again.
                child.proc, child.pgid = None, 0
                if child.name == "web" and web_exit_is_final(code, web_started):
                    self.stderr.write(f"The web server could not start (exit code {code}).")
                    return code if code > 0 else 1
                delay = child.next_delay(now - child.started_at)
                child.restart_at = time.monotonic() + delay
                self.stderr.write(
                    f"The {child.name} exited with code {code}; restarting it in {delay:g} s."
                )
            time.sleep(TICK)
        return 0

    def _web_started(self, web: Child) -> bool:
        if self.web_control is not None:
            return self.web_control.exists()
        return time.monotonic() - web.started_at >= HEALTHY_AFTER

    def _announce(self, host: str, port: int) -> None:
        workers = len(self.children) - 1
        running = {0: "web only", 1: "web + worker"}.get(workers, f"web + {workers} workers")
        self.stdout.write(
            self.style.SUCCESS(f"Studio is running on http://{host}:{port}/")
            + f"  ({running}; Ctrl-C stops)"
        )
        if settings.DEBUG:
            self.stdout.write("DEBUG is on.")

    def _end_group(self, pgid: int, grace: float) -> None:
        """SIGTERM a group whose leader is gone, then SIGKILL what is left after `grace`."""
        _signal_group(pgid, signal.SIGTERM)
        if not self._wait_for_groups([pgid], grace):
            _signal_group(pgid, signal.SIGKILL)
            self._wait_for_groups([pgid], 5)

    def _stop_all(self) -> None:
        for child in self.children:
            if child.proc is not None and child.proc.poll() is None:
                child.proc.send_signal(signal.SIGTERM)
            elif child.proc is not None:
                _signal_group(child.pgid, signal.SIGTERM)
        pgids = [child.pgid for child in self.children if child.pgid]
        if not self._wait_for_groups(pgids, STOP_GRACE):
            for pgid in pgids:
                _signal_group(pgid, signal.SIGKILL)
            self._wait_for_groups(pgids, 5)
        for child in self.children:
            if child.proc is not None and child.proc.poll() is None:
                child.proc.kill()  # left its group; it is still ours to end
                child.proc.wait()

    def _wait_for_groups(self, pgids: list[int], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            for child in self.children:
                if child.proc is not None:
                    child.proc.poll()  # reap a leader that exited
            self._reap_orphans()
            if not any(group_alive(pgid) for pgid in pgids):
                return True
            if time.monotonic() >= deadline or self.hurry:
                return False
            time.sleep(0.05)

    def _reap_orphans(self) -> None:
        """Collect exited orphans handed to serve as their subreaper."""
        table = _processes()
        if table is None:
            return
        me = os.getpid()
        leaders = {child.proc.pid for child in self.children if child.proc is not None}
        for pid, ppid, _, state in table:
            if ppid == me and state == "Z" and pid not in leaders:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
