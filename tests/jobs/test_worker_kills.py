"""SIGKILL the worker at each step of a job's life.

Real worker processes (`manage.py worker`: the scheduler and the django-q2
cluster, started through `tests.support.worker`, which makes the named step
pause) run against the test database and the sandbox gateway. One is killed
with SIGKILL at a named step; a fresh one must then bring every job to a
visible state, and the sandbox must have seen at most one create per job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection

from sandbox.runner import SandboxHandle
from studio.models import Job, Status, Video
from tests.conftest import Cast
from tests.factories import request_job

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class Worker:
    def __init__(self, env: dict[str, str], args: list[str]) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.worker", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: kill the whole cluster
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float = 40) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"worker never said {text!r}:\n{''.join(self.lines[-30:])}")

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.reader.join(timeout=5)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.reader.join(timeout=5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


@pytest.fixture
def start_worker(gateway: SandboxHandle, settings: Any) -> Iterator[Any]:
    workers: list[Worker] = []
    base = {
        **os.environ,
        **gateway.env(),
        "STUDIO_TESTING": "1",
        "DATABASE_URL": _database_url(),
        "STUDIO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "STUDIO_SUBMIT_LEASE": "3",
        "STUDIO_POLL_LEASE": "3",
        "STUDIO_RENDER_LEASE": "4",
        "STUDIO_DOWNLOAD_LEASE": "3",
        "STUDIO_DISPATCH_LEASE": "3",
        "STUDIO_HTTP_READ_TIMEOUT": "60",
        "STUDIO_PUBLIC_URL": django_settings.STUDIO_PUBLIC_URL,
        "PYTHONUNBUFFERED": "1",
    }
    base.pop("DJANGO_SETTINGS_MODULE", None)

    def start(pause: str = "", args: tuple[str, ...] = (), **env: str) -> Worker:
        worker = Worker({**base, **env}, [*args, *(["--pause", f"{pause}:60"] if pause else [])])
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def _wait_status(job: Job, statuses: set[str], timeout: float = 60) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in statuses:
            return job
        time.sleep(0.2)
    events = list(job.events.values_list("to_status", "reason"))
    raise AssertionError(f"job stuck in {job.status}: {events}")


UNKNOWN_OUTCOME = {Status.NEEDS_ATTENTION}
DONE = {Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.NEEDS_ATTENTION}


@pytest.mark.parametrize(
    ("step", "creates_before_kill", "outcome"),
    [
        ("after_claim", 0, UNKNOWN_OUTCOME),  # claimed, nothing sent yet
        ("during_create", 1, UNKNOWN_OUTCOME),  # the create is in the gateway's hands
        ("after_create", 1, UNKNOWN_OUTCOME),  # accepted, but the id never stored
        ("during_poll", 1, {Status.SUCCEEDED}),
        ("after_download", 1, {Status.SUCCEEDED}),
    ],
)
def test_killing_the_worker_at_each_step_never_double_submits_or_loses_a_job(
    cast: Cast,
    gateway: SandboxHandle,
    start_worker: Any,
    step: str,
    creates_before_kill: int,
    outcome: set[str],
) -> None:
    if step == "during_create":
        gateway.arm("create", "read_timeout=30")
        first = start_worker()
        job = request_job(cast.project, cast.editor, "mountsea")
        deadline = time.monotonic() + 30
        while gateway.creates < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
    else:
        first = start_worker(pause=step)
        job = request_job(cast.project, cast.editor, "mountsea")
        first.wait_for(f"test pause at {step}")
    assert gateway.creates == creates_before_kill
    first.kill()

    start_worker()
    job = _wait_status(job, DONE)
    assert job.status in outcome, list(job.events.values_list("reason", flat=True))
    assert gateway.creates <= 1
    # Nothing more happens to it by itself: no late create, no second video.
    time.sleep(2)
    job.refresh_from_db()
    assert job.status in outcome
    assert gateway.creates <= 1
    if outcome == UNKNOWN_OUTCOME:
        assert "will not be sent again" in job.events.last().reason  # type: ignore[union-attr]


def test_a_worker_killed_while_storing_a_result_leaves_no_stray_file(
    cast: Cast, gateway: SandboxHandle, start_worker: Any, settings: Any
) -> None:
    first = start_worker(pause="during_store")
    job = request_job(cast.project, cast.editor, "mountsea")
    first.wait_for("test pause at during_store")
    first.kill()
    media = Path(settings.MEDIA_ROOT)
    stray = [p for p in media.rglob("*") if p.is_file()]
    assert len(stray) == 1  # the first file of the result, written before the kill

    start_worker()
    job = _wait_status(job, DONE)
    assert job.status == Status.SUCCEEDED, list(job.events.values_list("reason", flat=True))
    video = Video.objects.get(job=job)
    kept = {video.file.name, video.poster.name, video.thumbnail.name}
    on_disk = {str(p.relative_to(media)) for p in media.rglob("*") if p.is_file()}
    assert on_disk == kept
    assert job.storing == []
    assert gateway.creates == 1


def test_killing_the_worker_mid_render_restarts_the_local_render(
    cast: Cast, gateway: SandboxHandle, start_worker: Any
) -> None:
    first = start_worker(pause="during_render")
    job = request_job(cast.project, cast.editor, "local")
    first.wait_for("test pause at during_render")
    first.kill()
    job.refresh_from_db()
    assert job.status == Status.RUNNING
    start_worker()
    job = _wait_status(job, DONE, timeout=90)
    assert job.status == Status.SUCCEEDED
    assert job.events.filter(reason__startswith="Render restarted").exists()


def test_a_local_render_longer_than_the_task_timeout_runs_once_to_the_end(
    cast: Cast, gateway: SandboxHandle, start_worker: Any
) -> None:
    # The cluster kills tasks after 2 s and redelivers unacknowledged ones after
    # 4 s; this render takes at least 8 s. It must neither be killed nor run twice.
    start_worker(
        args=("--slow-render", "8"),
        DJANGO_SETTINGS_MODULE="tests.support.short_task_timeout_settings",
        STUDIO_RENDER_LEASE="60",
    )
    job = request_job(cast.project, cast.editor, "local")
    job = _wait_status(job, DONE, timeout=90)
    events = list(job.events.values_list("to_status", "reason"))
    assert job.status == Status.SUCCEEDED, events
    assert job.submit_attempts == 1
    assert [to for to, _ in events] == ["draft", "submitting", "running", "succeeded"]
    assert job.finished_at is not None and job.submitted_at is not None
    assert (job.finished_at - job.submitted_at).total_seconds() >= 8
    assert Video.objects.filter(job=job).count() == 1
    from django_q.models import Task

    tasks = Task.objects.filter(func="studio.tasks.submit_job")
    assert tasks.exists() and not tasks.filter(success=False).exists()


@pytest.mark.parametrize(
    ("mode", "step", "outcome"),
    [
        ("extend", "during_create", UNKNOWN_OUTCOME),
        ("extend", "during_poll", {Status.SUCCEEDED}),
        ("reshoot", "after_create", UNKNOWN_OUTCOME),
        ("insert", "during_poll", {Status.SUCCEEDED}),
    ],
)
def test_killing_the_worker_during_an_edit_never_sends_it_twice(
    cast: Cast,
    gateway: SandboxHandle,
    start_worker: Any,
    mode: str,
    step: str,
    outcome: set[str],
) -> None:
    from studio.services import edits
    from tests.factories import mountsea_video

    source = mountsea_video(cast.project, cast.editor)
    before = gateway.creates
    fields: dict[str, Any] = {
        "extend": {"provider": "mountsea", "model": "veo31_fast"},
        "reshoot": {"provider": "mountsea", "model": "reshoot", "params": {"motion_type": "UP"}},
        "insert": {"provider": "mountsea", "model": "object_insert", "prompt": "a kite"},
    }[mode]
    if step == "during_create":
        gateway.arm("create", "read_timeout=30")
        first = start_worker()
    else:
        first = start_worker(pause=step)
    job = edits.submit_edit(video=source, user=cast.editor, mode=mode, **fields)
    if step == "during_create":
        deadline = time.monotonic() + 30
        while gateway.creates < before + 1 and time.monotonic() < deadline:
            time.sleep(0.1)
    else:
        first.wait_for(f"test pause at {step}")
    first.kill()

    start_worker()
    job = _wait_status(job, DONE)
    assert job.status in outcome, list(job.events.values_list("reason", flat=True))
    time.sleep(2)
    job.refresh_from_db()
    assert job.status in outcome
    assert gateway.creates - before == 1
    if job.status == Status.SUCCEEDED:
        assert Video.objects.get(job=job).parent == source
