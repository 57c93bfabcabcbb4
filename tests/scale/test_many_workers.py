"""Many workers, a faulty gateway and random SIGKILLs: every job ends visibly, once.

Four real `manage.py worker` processes (each a scheduler plus a django-q2
cluster of two task processes) share the PostgreSQL test database and the Redis
broker. The sandbox gateway answers with faults picked at random per request
(seeded): refusals (429, 503), server errors, answers dropped after the create,
creates that time out, broken and unknown poll answers, slow answers, failed
tasks, downloads cut off. Meanwhile a chaos loop SIGKILLs a random worker's
whole process group at random moments and starts it again.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from sandbox.runner import SandboxHandle
from tests.conftest import Cast
from tests.scale.conftest import (
    audit,
    create_jobs,
    describe_stuck,
    seeded,
    skip_unless_scaled,
    summary,
    wait_settled,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SEED = 1313
JOBS = 500
WORKERS = 4

# (phase, fault, chance per request)
FAULTS = [
    ("create", "429=1", 0.08),
    ("create", "503=1", 0.03),
    ("create", "500", 0.02),
    ("create", "drop_after_create", 0.02),
    ("create", "read_timeout=3", 0.01),
    ("create", "latency=0.3", 0.05),
    ("create", "fail", 0.04),  # the task fails upstream later
    ("poll", "429=1", 0.05),
    ("poll", "500", 0.04),
    ("poll", "502", 0.02),
    ("poll", "drop", 0.04),
    ("poll", "malformed_json", 0.02),
    ("poll", "unknown_status", 0.03),
    ("poll", "latency=0.5", 0.05),
    ("download", "500", 0.04),
    ("download", "drop", 0.04),
    ("download", "latency=0.5", 0.05),
]


def arm_random_faults(sandbox: SandboxHandle) -> None:
    sandbox.configure(seed=SEED)
    for phase, fault, rate in FAULTS:
        sandbox.arm(phase, fault, times=-1, rate=rate)


def test_500_jobs_on_four_workers_survive_faults_and_kills(
    cast: Cast, sandbox: SandboxHandle, fleet: Any
) -> None:
    skip_unless_scaled()
    started = time.monotonic()
    arm_random_faults(sandbox)
    workers = fleet()
    workers.start_all(WORKERS)
    rng = seeded(SEED)
    stop_chaos = threading.Event()
    kills: list[float] = []

    def chaos() -> None:
        while not stop_chaos.wait(rng.uniform(1.5, 4.0)):
            number = rng.randrange(WORKERS)
            workers.kill(number)
            kills.append(time.monotonic() - started)
            stop_chaos.wait(rng.uniform(0.2, 1.5))
            workers.start(number)

    chaos_thread = threading.Thread(target=chaos, name="chaos", daemon=True)
    chaos_thread.start()
    ids: list[int] = []
    try:
        # Jobs arrive while workers already run (and die).
        for first in range(0, JOBS, 50):
            ids += create_jobs(cast, 50, first=first)
            time.sleep(0.5)
        created = time.monotonic() - started
        # Chaos goes on while most jobs are still moving, then the fleet is left alone.
        wait_settled(ids, timeout=45, tick=workers.supervise)
    finally:
        stop_chaos.set()
        chaos_thread.join(timeout=10)
    workers.supervise()
    # Generous: about 100 s on an idle 2-core machine, 200 s with other suites running.
    counts = wait_settled(ids, timeout=240, tick=workers.supervise)
    settled_after = time.monotonic() - started
    time.sleep(2)  # nothing more happens by itself: no late create, no second video
    problems = audit(ids, sandbox, workers, Path(settings.MEDIA_ROOT))
    stats = sandbox.stats()
    report = (
        f"{JOBS} jobs on {WORKERS} workers: created in {created:.0f} s, settled after "
        f"{settled_after:.0f} s; {len(kills)} kills at {[round(k) for k in kills]}; "
        f"{len(workers.restarts_after_exit)} exits restarted; outcome {summary(ids)}; "
        f"sandbox creates {stats['creates_total']}, faults {stats['faults_applied']}"
    )
    print(report)
    assert not problems, report + "\n" + "\n".join(problems[:40])
    assert sum(counts.values()) == JOBS, describe_stuck(ids)
    assert len(kills) >= 10, report  # the chaos really happened
    assert counts.get("succeeded", 0) >= JOBS // 2, report  # most jobs got through
