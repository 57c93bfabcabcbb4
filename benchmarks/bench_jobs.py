"""Benchmark the job engine: 1,000 jobs in flight against the sandbox, one worker.

    python benchmarks/bench_jobs.py [--jobs 1000] [--seconds 60] [--no-docs]

Run from the repository root. The sandbox gateway runs in its own process (so
the CPU figures are Studio's alone); Studio's scheduler loop runs here exactly
as in `manage.py worker`, with its poll threads (submits, which the worker hands
to django-q2 tasks, run in this process). Measured:
- lateness of every poll against the time it was due (p50/p99/max),
- CPU seconds of this process per poll, against a baseline measured in the
  same run: bare provider polls (HTTP + JSON, no database) in the same threads,
- upstream calls per job, in the steady state and over whole lifecycles.
The figures go to stdout and into docs/performance.md under "## Job engine".
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
KEY = "bench-key"
# Sandbox step in the lifecycle run: tasks finish after 3 steps (9 s), so the
# completion falls between two polls, as it does with real gateways.
LIFE_STEP = 3.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_sandbox(port: int, step_seconds: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DEBUG": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "sandbox_gateway",
            "--port",
            str(port),
            "--key",
            KEY,
            "--step-seconds",
            str(step_seconds),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the sandbox gateway did not start")


def _setup_django(data_dir: str, sandbox_url: str) -> None:
    os.environ.setdefault("STUDIO_DATA_DIR", data_dir)
    os.environ["DEBUG"] = "1"
    os.environ["STUDIO_MOUNTSEA_URL"] = sandbox_url
    os.environ["STUDIO_MOUNTSEA_KEY"] = KEY
    os.environ["STUDIO_ALLOW_PRIVATE_URLS"] = "1"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _make_jobs(count: int) -> list[int]:
    from django.contrib.auth import get_user_model

    from studio.jobs.create import create_job
    from studio.models import Project

    user = get_user_model().objects.create_user(f"bench{time.time_ns()}", password="x")
    team = user.teams.get()
    project = Project.objects.create(team=team, name="bench", created_by=user)
    ids = []
    for i in range(count):
        job = create_job(
            project=project,
            user=user,
            provider="mountsea",
            model="veo31_fast",
            mode="text2video",
            prompt_text=f"benchmark shot {i}",
            params={"aspect_ratio": "16:9"},
        )
        ids.append(job.pk)
    return ids


def _stats(url: str) -> dict[str, int]:
    import httpx

    data = httpx.get(f"{url}/_sandbox/stats", timeout=10).json()
    return {
        "creates": int(data["creates_total"]),
        "polls": int(data["polls_total"]),
        "downloads": int(data["downloads_total"]),
    }


def _baseline(url: str, seconds: float, threads: int, upstream_ids: list[str]) -> dict[str, float]:
    """Bare provider polls: HTTP + JSON parsing, no database."""
    from studio.providers.mountsea import MountseaProvider

    provider = MountseaProvider(base_url=url, api_key=KEY)
    count = 0
    stop = time.monotonic() + seconds

    def loop(offset: int) -> int:
        done = 0
        i = offset
        while time.monotonic() < stop:
            provider.poll(upstream_ids[i % len(upstream_ids)])
            i += threads
            done += 1
        return done

    cpu0 = time.process_time()
    wall0 = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        count = sum(pool.map(loop, range(threads)))
    cpu = time.process_time() - cpu0
    wall = time.monotonic() - wall0
    provider.close()
    return {"polls": count, "per_second": count / wall, "cpu_per_poll_ms": 1000 * cpu / count}


def _submit_now(job: Any, token: Any) -> None:
    """What the submit task does, in this process."""
    from studio import tasks

    tasks.submit_job(job.pk, token)


def _steady_state(jobs: int, seconds: float) -> dict[str, float]:
    from django.utils import timezone

    from studio.jobs import scheduler, sweep
    from studio.models import Job, Status

    lateness: list[float] = []
    poll_batch = sweep.poll_batch

    def observed_poll_batch(batch: list[Job], pool: Any = None) -> None:
        # How late each due job is when its batch is claimed and polled.
        now = timezone.now()
        lateness.extend(
            (now - job.next_poll_at).total_seconds() for job in batch if job.next_poll_at
        )
        poll_batch(batch, pool)

    sweep.poll_batch = observed_poll_batch  # type: ignore[assignment]
    ids = _make_jobs(jobs)
    # Submit them all first (one sweep pass submits every due draft).
    t0 = time.monotonic()
    while Job.objects.filter(pk__in=ids, status=Status.DRAFT).exists():
        sweep.run_due_jobs(hand_over=_submit_now)
    submit_seconds = time.monotonic() - t0
    # Steady state: the jobs' next polls spread over one poll interval, as they
    # are after the first minutes (the submissions above took a while, which
    # would otherwise leave a backlog that is not the steady state).
    now = timezone.now()
    for i, pk in enumerate(ids):
        Job.objects.filter(pk=pk).update(next_poll_at=now + timedelta(seconds=5 * i / len(ids)))
    lateness.clear()
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    cpu0 = time.process_time()
    wall0 = time.monotonic()
    timer.start()
    scheduler.run(stop)
    cpu = time.process_time() - cpu0
    wall = time.monotonic() - wall0
    sweep.poll_batch = poll_batch  # type: ignore[assignment]
    in_flight = Job.objects.filter(pk__in=ids, status__in=[Status.QUEUED, Status.RUNNING]).count()
    polls = len(lateness)
    return {
        "jobs": jobs,
        "in_flight_at_end": in_flight,
        "submit_seconds": submit_seconds,
        "seconds": wall,
        "polls": polls,
        "polls_per_second": polls / wall,
        "lateness_p50": _percentile(lateness, 0.50),
        "lateness_p99": _percentile(lateness, 0.99),
        "lateness_max": max(lateness) if lateness else float("nan"),
        "within_2s": sum(1 for x in lateness if x <= 2.0) / max(1, polls),
        "cpu_per_poll_ms": 1000 * cpu / max(1, polls),
        "cpu_share": cpu / wall,
    }


def _lifecycle(url: str, jobs: int) -> dict[str, float]:
    """Whole lives of a few jobs (submit → poll → download) to count upstream calls."""
    from studio.jobs import sweep
    from studio.models import Job, Status

    before = _stats(url)
    ids = _make_jobs(jobs)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        sweep.run_due_jobs(hand_over=_submit_now)
        if not Job.objects.filter(pk__in=ids).exclude(status=Status.SUCCEEDED).exists():
            break
        time.sleep(0.2)
    after = _stats(url)
    finished = Job.objects.filter(pk__in=ids, status=Status.SUCCEEDED)
    # The sandbox finishes a task 3 steps after accepting it.
    delays = [
        (j.finished_at - j.submitted_at).total_seconds() - 3 * LIFE_STEP
        for j in finished
        if j.finished_at and j.submitted_at
    ]
    calls = {k: (after[k] - before[k]) / jobs for k in after}
    return {
        "jobs": jobs,
        "succeeded": len(delays),
        "completion_delay_max": max(delays) if delays else float("nan"),
        "completion_delay_p50": _percentile(delays, 0.5),
        **calls,
    }


def _write_docs(text: str) -> None:
    path = ROOT / "docs" / "performance.md"
    path.parent.mkdir(exist_ok=True)
    current = path.read_text() if path.exists() else "# Performance\n"
    section = "## Job engine\n"
    pattern = re.compile(r"## Job engine\n.*?(?=\n## |\Z)", re.S)
    if pattern.search(current):
        current = pattern.sub(lambda _: section + text.rstrip() + "\n", current)
    else:
        current = current.rstrip() + "\n\n" + section + text.rstrip() + "\n"
    path.write_text(current)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--lifecycle-jobs", type=int, default=20)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    # Long steps keep every task in flight for the whole steady-state run.
    sandbox = _start_sandbox(port, step_seconds=3600)
    try:
        with tempfile.TemporaryDirectory(prefix="studio-bench-") as data_dir:
            _setup_django(data_dir, url)
            import httpx
            from django.conf import settings

            from studio.models import Job, Status

            threads = settings.STUDIO_POLL_THREADS
            steady = _steady_state(args.jobs, args.seconds)
            upstream_ids = list(Job.objects.values_list("upstream_id", flat=True)[:200])
            baseline = _baseline(url, 10, threads, upstream_ids)
            steady_calls = _stats(url)
            # Take the steady-state jobs out of the way, then follow a few jobs
            # through their whole life on quick sandbox tasks.
            Job.objects.filter(status__in=[Status.QUEUED, Status.RUNNING]).update(
                status=Status.CANCELLED, next_poll_at=None
            )
            httpx.post(f"{url}/_sandbox/config", json={"step_seconds": LIFE_STEP}, timeout=10)
            life = _lifecycle(url, args.lifecycle_jobs)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)

    from django.conf import settings

    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    polls_per_job_minute = steady["polls"] / args.jobs / (steady["seconds"] / 60)
    lines = [
        f"Command: `python benchmarks/bench_jobs.py --jobs {args.jobs} --seconds "
        f"{args.seconds:.0f}` (also run by `make bench`). Database: {db}; one scheduler with "
        f"{settings.STUDIO_POLL_THREADS} poll threads; Mountsea poll interval 5 s; the sandbox "
        "gateway in its own process on 127.0.0.1. Measured on this 2-core machine, which also "
        "runs the sandbox: read ratios, not absolute figures.",
        "",
        "| measure | figure | target |",
        "| --- | --- | --- |",
        f"| jobs in flight | {steady['jobs']} ({steady['in_flight_at_end']} still in flight at "
        "the end) | 1,000 |",
        f"| submitting them all (one create each) | {steady['submit_seconds']:.1f} s | |",
        f"| polls in {steady['seconds']:.0f} s | {steady['polls']} "
        f"({steady['polls_per_second']:.0f}/s) | 200/s needed at 5 s |",
        f"| poll lateness p50 / p99 / max | {steady['lateness_p50']:.2f} s / "
        f"{steady['lateness_p99']:.2f} s / {steady['lateness_max']:.2f} s | every poll ≤ 2 s |",
        f"| polls within 2 s of due | {100 * steady['within_2s']:.1f} % | 100 % |",
        f"| CPU per poll, Studio (claim, HTTP, update) | {steady['cpu_per_poll_ms']:.2f} ms | |",
        f"| CPU per poll, baseline: bare provider poll, no database | "
        f"{baseline['cpu_per_poll_ms']:.2f} ms ({baseline['per_second']:.0f} polls/s) | |",
        f"| Studio / baseline CPU per poll | "
        f"{steady['cpu_per_poll_ms'] / baseline['cpu_per_poll_ms']:.1f}x | |",
        f"| CPU share of the worker process | {100 * steady['cpu_share']:.0f} % of one core | |",
        f"| upstream calls per job in steady state | {polls_per_job_minute:.1f} polls/min "
        "| 12 at 5 s |",
        f"| creates per job (steady-state run) | {steady_calls['creates'] / args.jobs:.2f} | 1 |",
        f"| whole lifecycle, {life['jobs']} jobs ({life['succeeded']} succeeded) | "
        f"{life['creates']:.2f} creates, {life['polls']:.1f} polls, "
        f"{life['downloads']:.2f} downloads per job | 1 create, 1 download |",
        f"| upstream completion → succeeded in Studio (p50 / max) | "
        f"{life['completion_delay_p50']:.1f} s / {life['completion_delay_max']:.1f} s "
        "| ≤ poll interval + 2 s = 7 s |",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_docs:
        _write_docs(text)


if __name__ == "__main__":
    main()
