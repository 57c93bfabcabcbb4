"""The servers a scaled Studio leans on restart under load: no job lost, none sent twice.

Real workers run jobs against the sandbox gateway while
- PostgreSQL goes away and comes back. The shared server is never restarted:
  the workers reach it through a loopback TCP proxy (tests/support/tcp_proxy.py)
  that cuts every open connection mid-query or mid-commit and refuses new ones
  for a few seconds, which is what a restart looks like from the client's side;
- the Redis broker is SIGKILLed and started again. It is a private
  `redis-server` on a free port that keeps nothing on disk, so the task
  messages queued in it are lost (for the second kill the task processes are
  held with SIGSTOP so that a backlog surely waits in it): the job rows are the
  retry mechanism (the sweep hands a draft over again once its dispatch lease
  runs out).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from sandbox.runner import SandboxHandle
from studio.models import TeamBudget
from tests.conftest import Cast
from tests.scale.conftest import (
    audit,
    create_jobs,
    describe_stuck,
    free_port,
    skip_unless_scaled,
    summary,
    wait_settled,
)
from tests.support.tcp_proxy import OutageProxy

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WORKERS = 3


def test_workers_carry_on_through_postgresql_restarts(
    cast: Cast, sandbox: SandboxHandle, fleet: Any
) -> None:
    skip_unless_scaled()
    started = time.monotonic()
    db = connection.settings_dict
    proxy = OutageProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    try:
        workers = fleet(DATABASE_URL=_url_through(proxy.port))
        workers.start_all(WORKERS)
        ids = create_jobs(cast, 80)
        connected = proxy.connections
        outages = []
        for seconds in (5.0, 3.0):
            time.sleep(4.0)  # jobs are being submitted, polled and stored
            outages.append(_outage(proxy, seconds))
            ids += create_jobs(cast, 40, first=len(ids))
        counts = wait_settled(ids, timeout=150, tick=workers.supervise)
        elapsed = time.monotonic() - started
        time.sleep(2)
        problems = audit(ids, sandbox, workers, Path(settings.MEDIA_ROOT))
    finally:
        proxy.close()
    report = (
        f"{len(ids)} jobs, {WORKERS} workers, PostgreSQL down for {outages} s "
        f"({proxy.connections} connections through the proxy): settled after {elapsed:.0f} s; "
        f"{len(workers.restarts_after_exit)} workers exited and were restarted; {summary(ids)}"
    )
    print(report)
    assert not problems, report + "\n" + "\n".join(problems[:40])
    assert sum(counts.values()) == len(ids), describe_stuck(ids)
    assert proxy.connections > connected, report  # the workers had to connect again
    assert counts.get("succeeded", 0) >= len(ids) // 2, report


def _url_through(port: int) -> str:
    from tests.scale.conftest import database_url

    return database_url(port)


def _outage(proxy: OutageProxy, seconds: float) -> float:
    proxy.go_down()
    time.sleep(seconds)
    proxy.come_back()
    return seconds


class PrivateRedis:
    """A redis-server of this test's own on a free port that keeps nothing on disk."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("scale test: needs the redis-server binary for a private broker")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--dir", str(self.folder), "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.client().ping()  # waits for it (the client retries below)

    def client(self) -> Any:
        import redis

        deadline = time.monotonic() + 10
        while True:
            client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)
            try:
                client.ping()
                return client
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def queued(self) -> int:
        """Task messages waiting in the broker (django-q2's queue list)."""
        client = self.client()
        return sum(int(client.llen(key)) for key in client.keys("django_q:*:q"))

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def _kill_with_messages_queued(broker: PrivateRedis, *, at_least: int, within: float) -> int:
    """SIGKILL the broker once `at_least` task messages wait in it (or after `within`
    seconds), start it again empty 3 s later; returns how many messages were lost."""
    deadline = time.monotonic() + within
    while broker.queued() < at_least and time.monotonic() < deadline:
        time.sleep(0.02)
    lost = broker.queued()
    broker.kill()
    time.sleep(3.0)
    broker.start()
    return lost


def test_every_job_finishes_when_the_redis_broker_restarts_empty(
    cast: Cast, sandbox: SandboxHandle, fleet: Any, tmp_path: Path
) -> None:
    skip_unless_scaled()
    started = time.monotonic()
    # With an in-flight limit the web side hands nothing to the broker itself
    # (this process uses the suite's broker, not the private one): the workers'
    # sweep hands every draft over, and hands it over again when its message is lost.
    TeamBudget.objects.create(team=cast.team, balance=10**6, max_in_flight=10**4)
    broker = PrivateRedis(tmp_path)
    broker.start()
    try:
        workers = fleet(STUDIO_BROKER_URL=broker.url)
        workers.start_all(WORKERS)
        time.sleep(2)
        ids = create_jobs(cast, 100)
        # Killed mid-run, whatever waits in it (the task processes take messages in fast).
        lost = [_kill_with_messages_queued(broker, at_least=1, within=3)]
        # Then with a backlog for sure: the task processes are held (SIGSTOP, as a
        # cluster busy with long tasks would be) while the sweeps hand new drafts over,
        # so their messages wait in the broker and die with it.
        paused = workers.pause_tasks()
        try:
            ids += create_jobs(cast, 100, first=len(ids))
            lost.append(_kill_with_messages_queued(broker, at_least=20, within=30))
        finally:
            workers.resume_tasks(paused)
        counts = wait_settled(ids, timeout=150, tick=workers.supervise)
        elapsed = time.monotonic() - started
        time.sleep(2)
        problems = audit(ids, sandbox, workers, Path(settings.MEDIA_ROOT))
    finally:
        broker.kill()
    report = (
        f"{len(ids)} jobs, {WORKERS} workers, the broker killed twice with {lost} messages "
        f"queued: settled after {elapsed:.0f} s; {len(workers.restarts_after_exit)} workers "
        f"exited and were restarted; {summary(ids)}"
    )
    print(report)
    assert not problems, report + "\n" + "\n".join(problems[:40])
    assert sum(counts.values()) == len(ids), describe_stuck(ids)
    assert lost[1] >= 20, report  # messages really were lost
    # Losing a message costs a dispatch lease, never the job: the drafts were sent.
    assert counts.get("succeeded", 0) >= len(ids) // 2, report
