"""The scale tests' tools: a fleet of real workers, job batches, and the end-of-run audit.

These tests need the scaled deployment (PostgreSQL and the Redis broker): with
SQLite and the ORM broker several worker processes would only queue on one
file lock, which proves nothing about claims. `make test` runs the suite a
second time on PostgreSQL + Redis, where they run.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.db.models import Count

from sandbox.runner import SandboxHandle
from studio.models import Job, JobEvent, Status, Video
from tests.conftest import Cast
from tests.factories import request_job

ROOT = Path(__file__).resolve().parents[2]
SETTLED = {Status.SUCCEEDED, Status.FAILED, Status.NEEDS_ATTENTION}


def skip_unless_scaled() -> None:
    """Skip, saying why, unless the suite runs on PostgreSQL with the Redis broker."""
    if connection.vendor != "postgresql":
        pytest.skip("scale test: needs PostgreSQL (DATABASE_URL=postgres://...)")
    if not django_settings.BROKER_URL.startswith(("redis://", "rediss://")):
        pytest.skip("scale test: needs the Redis broker (STUDIO_BROKER_URL=redis://...)")


def database_url(port: int | None = None) -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{port or db['PORT']}/{db['NAME']}"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Worker:
    """One `manage.py worker` (through tests.support.worker) in its own process group."""

    number: int
    proc: subprocess.Popen[bytes]
    log: Path
    started: float

    @property
    def pgid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 15) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


@dataclass
class Fleet:
    """Several real workers against the test database and the sandbox, and their kills."""

    env: dict[str, str]
    folder: Path
    claim_log: Path
    workers: dict[int, Worker] = field(default_factory=dict)
    every: list[Worker] = field(default_factory=list)
    # Workers the chaos loop killed and is about to start again: not the supervisor's.
    down: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # When each process group was SIGKILLed (wall clock, as in the claim log).
    killed_at: dict[int, float] = field(default_factory=dict)
    starts: int = 0
    restarts_after_exit: list[str] = field(default_factory=list)

    def start(self, number: int) -> Worker:
        with self.lock:
            return self._start(number)

    def _start(self, number: int) -> Worker:
        self.starts += 1
        log = self.folder / f"worker-{number}-{self.starts}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.support.worker", "--claim-log", str(self.claim_log)],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill the cluster with it
            )
        worker = Worker(number, proc, log, time.time())
        self.workers[number] = worker
        self.every.append(worker)
        self.down.discard(number)
        return worker

    def start_all(self, count: int) -> None:
        for number in range(count):
            self.start(number)

    def kill(self, number: int) -> None:
        """SIGKILL the worker's whole process group: scheduler, cluster, task processes."""
        with self.lock:
            worker = self.workers[number]
            self.down.add(number)
            self.killed_at[worker.pgid] = time.time()
            os.killpg(worker.pgid, signal.SIGKILL)
            worker.proc.wait(timeout=10)

    def task_processes(self) -> list[int]:
        """The pids of every worker's django-q2 cluster: its process group but its main process."""
        groups = {worker.pgid for worker in self.workers.values() if worker.alive()}
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # it ended meanwhile
            pid, pgrp = int(stat.parent.name), int(fields[2])
            if pgrp in groups and pid != pgrp:
                found.append(pid)
        return found

    def pause_tasks(self) -> list[int]:
        """SIGSTOP the task processes (the schedulers keep sweeping); returns their pids."""
        paused = self.task_processes()
        for pid in paused:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        return paused

    def resume_tasks(self, paused: list[int]) -> None:
        for pid in paused:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def supervise(self) -> None:
        """What a supervisor does: start again any worker that exited by itself."""
        with self.lock:
            for number, worker in list(self.workers.items()):
                if number in self.down or worker.alive():
                    continue
                self.restarts_after_exit.append(
                    f"worker {number} exited with {worker.proc.returncode}:\n{worker.tail()}"
                )
                self.killed_at.setdefault(worker.pgid, time.time())
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(worker.pgid, signal.SIGKILL)  # task processes left behind
                self._start(number)

    def stop(self) -> None:
        for worker in self.every:
            if worker.alive():
                os.killpg(worker.pgid, signal.SIGKILL)
                worker.proc.wait(timeout=10)
            else:
                # Its task processes may outlive a main process that exited.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(worker.pgid, signal.SIGKILL)


@pytest.fixture
def fleet(sandbox: SandboxHandle, settings: Any, tmp_path: Path) -> Iterator[Any]:
    """Make a `Fleet`; every worker it started is killed at the end of the test."""
    fleets: list[Fleet] = []

    def make(**env: str) -> Fleet:
        base = {
            **os.environ,
            **sandbox.env(),
            "STUDIO_TESTING": "1",
            "DATABASE_URL": database_url(),
            "STUDIO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "STUDIO_PUBLIC_URL": django_settings.STUDIO_PUBLIC_URL,
            "STUDIO_WORKERS": "2",
            "STUDIO_POLL_THREADS": "8",
            # Short leases: a killed worker's job is found again within seconds.
            "STUDIO_DISPATCH_LEASE": "3",
            "STUDIO_SUBMIT_LEASE": "6",
            "STUDIO_POLL_LEASE": "6",
            "STUDIO_DOWNLOAD_LEASE": "15",
            "STUDIO_RENDER_LEASE": "15",
            "STUDIO_HTTP_READ_TIMEOUT": "2",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        base.pop("DJANGO_SETTINGS_MODULE", None)
        made = Fleet(env=base, folder=tmp_path, claim_log=tmp_path / "claims.log")
        fleets.append(made)
        return made

    yield make
    for made in fleets:
        made.stop()


def prompt_for(number: int) -> str:
    """Each job's prompt names it, so the sandbox's record of creates counts per job."""
    return f"Scale job {number:05d}: a paper boat on a rainy street"


def create_jobs(cast: Cast, count: int, *, first: int = 0) -> list[int]:
    """`count` gateway jobs through the real create service, Mountsea and OpenAI-format mixed."""
    ids = []
    for number in range(first, first + count):
        provider = "openai" if number % 3 == 2 else "mountsea"
        job = request_job(cast.project, cast.editor, provider, prompt_text=prompt_for(number))
        ids.append(job.pk)
    return ids


def wait_settled(ids: list[int], timeout: float, *, tick: Any = None) -> dict[str, int]:
    """Wait until every job is succeeded, failed or needs attention; return the count by status."""
    deadline = time.monotonic() + timeout
    while True:
        counts = dict(
            Job.objects.filter(pk__in=ids)
            .values("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        if sum(n for status, n in counts.items() if status in SETTLED) == len(ids):
            return counts
        if time.monotonic() > deadline:
            return counts
        if tick is not None:
            tick()
        time.sleep(1.0)


def describe_stuck(ids: list[int], limit: int = 15) -> str:
    stuck = Job.objects.filter(pk__in=ids).exclude(status__in=SETTLED).order_by("pk")
    lines = [f"{stuck.count()} jobs not settled:"]
    for job in stuck[:limit]:
        events = list(job.events.values_list("to_status", "reason"))[-5:]
        lines.append(
            f"  job {job.pk} {job.provider} {job.status} next_poll_at={job.next_poll_at}: {events}"
        )
    return "\n".join(lines)


@dataclass
class Hold:
    job: int
    pgid: int
    pid: int
    step: str
    begin: float
    end: float | None


def read_claims(path: Path) -> list[Hold]:
    """The claim log the workers wrote (tests.support.worker --claim-log)."""
    begun: dict[str, Hold] = {}
    if not path.exists():
        return []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) != 7:
            continue  # a line cut short by SIGKILL
        kind, hold, job, pgid, pid, at, step = parts
        if kind == "begin":
            begun[hold] = Hold(int(job), int(pgid), int(pid), step, float(at), None)
        elif hold in begun:
            begun[hold].end = float(at)
    return list(begun.values())


def overlapping_holds(holds: list[Hold], killed_at: dict[int, float]) -> list[str]:
    """Pairs of holds on one job that overlapped in time. A hold cut short by a
    kill ends when its process group was killed; one that never ended without
    a kill is reported too (a worker stopped acting mid-step by itself)."""
    problems = []
    by_job: dict[int, list[tuple[float, float, Hold]]] = defaultdict(list)
    for hold in holds:
        end = hold.end
        if end is None:
            if hold.pgid not in killed_at:
                problems.append(f"job {hold.job}: a {hold.step} hold in pid {hold.pid} never ended")
                continue
            end = killed_at[hold.pgid]
        by_job[hold.job].append((hold.begin, end, hold))
    for job, spans in by_job.items():
        spans.sort(key=lambda span: span[0])
        for (_, end_a, a), (begin_b, _, b) in zip(spans, spans[1:], strict=False):
            if begin_b < end_a:
                problems.append(
                    f"job {job}: {b.step} in pid {b.pid} began {end_a - begin_b:.3f} s before "
                    f"{a.step} in pid {a.pid} ended"
                )
    return problems


def audit(ids: list[int], sandbox: SandboxHandle, fleet: Fleet, media_root: Path) -> list[str]:
    """Everything a run must end with; returns the problems found (empty: all good)."""
    problems: list[str] = []
    jobs = {job.pk: job for job in Job.objects.filter(pk__in=ids)}
    # No job lost: every row is still there, and no job appeared that nobody made.
    if len(jobs) != len(ids):
        problems.append(f"{len(ids) - len(jobs)} jobs lost")
    stray = Job.objects.filter(team__in={j.team_id for j in jobs.values()}).exclude(pk__in=ids)
    if stray.exists():
        problems.append(f"{stray.count()} jobs appeared that the test did not create")
    unsettled = [pk for pk, job in jobs.items() if job.status not in SETTLED]
    if unsettled:
        problems.append(describe_stuck(ids))
    # At most one create per job, by the prompt that names it.
    prompts = Counter(
        str(entry["body"].get("prompt", "")) for entry in sandbox.stats()["create_bodies"]
    )
    number_of = {job.pk: job.prompt_text for job in jobs.values()}
    twice = {pk: prompts[text] for pk, text in number_of.items() if prompts[text] > 1}
    if twice:
        problems.append(f"{len(twice)} jobs were created upstream more than once: {twice}")
    succeeded = [pk for pk, job in jobs.items() if job.status == Status.SUCCEEDED]
    never_sent = [pk for pk in succeeded if not prompts[jobs[pk].prompt_text]]
    if never_sent:
        problems.append(f"succeeded jobs the sandbox never saw: {never_sent[:10]}")
    # A store that died mid-way left nothing listed that the successful one did not delete.
    still_listed = [pk for pk in succeeded if jobs[pk].storing]
    if still_listed:
        problems.append(f"succeeded jobs still listing result files being stored: {still_listed}")
    # One video per succeeded job, none for any other.
    videos = dict(
        Video.objects.filter(job__in=ids)
        .values("job")
        .annotate(n=Count("pk"))
        .values_list("job", "n")
    )
    for pk, job in jobs.items():
        want = 1 if job.status == Status.SUCCEEDED else 0
        if videos.get(pk, 0) != want:
            problems.append(f"job {pk} ({job.status}) has {videos.get(pk, 0)} videos")
    # No file in storage that no video points at (a result stored twice, or half stored).
    referenced = set()
    for row in Video.objects.filter(job__in=ids).values_list("file", "poster", "thumbnail"):
        referenced.update(name for name in row if name)
    on_disk = {
        str(path.relative_to(media_root)) for path in media_root.rglob("*") if path.is_file()
    }
    orphans = sorted(on_disk - referenced)
    if orphans:
        problems.append(f"{len(orphans)} files in storage no video points at: {orphans[:10]}")
    missing = sorted(referenced - on_disk)
    if missing:
        problems.append(f"{len(missing)} files videos point at are missing: {missing[:10]}")
    # Every status change follows from the one before: no two processes won the same step.
    chains: dict[int, str] = {}
    for job_id, before, after in (
        JobEvent.objects.filter(job__in=ids)
        .order_by("id")
        .values_list("job", "from_status", "to_status")
    ):
        current = chains.get(job_id, "")
        if before != current:
            problems.append(f"job {job_id}: an event moved it from {before} while it was {current}")
        chains[job_id] = after
    for pk, job in jobs.items():
        if chains.get(pk) != job.status:
            problems.append(f"job {pk} is {job.status} but its last event says {chains.get(pk)}")
    # Each job held by one process at a time (the workers' claim log).
    problems.extend(overlapping_holds(read_claims(fleet.claim_log), fleet.killed_at))
    return problems


def summary(ids: list[int]) -> str:
    rows = (
        Job.objects.filter(pk__in=ids)
        .values_list("status", "fail_reason")
        .annotate(n=Count("pk"))
        .order_by("status", "fail_reason")
    )
    return ", ".join(f"{status}{'/' + reason if reason else ''}: {n}" for status, reason, n in rows)


def seeded(seed: int) -> random.Random:
    return random.Random(seed)
