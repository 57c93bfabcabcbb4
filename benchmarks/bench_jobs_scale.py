"""The job engine at scale: 10,000 jobs in flight over 4 worker processes, PostgreSQL + Redis.

    python -m benchmarks jobs_scale [--jobs 10000] [--workers 4] [--seconds 60]

Run from the repository root. Started on 127.0.0.1: the sandbox gateway (its
tasks stay running for the whole run), and `--workers` processes of
`manage.py worker` (through `benchmarks/scale_worker.py`, which only notes when
each claimed poll was due), on PostgreSQL's database `bench_studio_load`
(recreated) and the Redis broker's db 13 (FLUSHDB).

1. `--jobs` drafts are made with `create_job` and submitted by the workers
   (claim, django-q2 task over Redis, one create each at the sandbox).
2. The workers are stopped, the jobs' ages spread over 4 minutes and their next
   polls over each one's interval on the provider's schedule (5 s growing x1.5 to
   20 s: the steady state of jobs submitted over time), the workers started again.
3. After `--warmup` seconds, `--seconds` of steady state are measured: every
   claimed poll's lateness against its due time (p50/p99/max, share within
   2 s), polls per second, and the worker processes' CPU (utime + stime of each
   worker's process tree, from /proc) per poll.
4. Baseline, in the same run: the bare provider poll (`MountseaProvider.poll`,
   HTTP + JSON, no database) against the same sandbox, in 8 threads of this
   process: its CPU per poll. PostgreSQL's own CPU is reported apart.
The figures go to stdout and into docs/performance.md under "## Job engine at scale".
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_load import (  # noqa: E402
    Stack,
    _cpu_ticks,
    _free_port,
    _process_table,
    _wait_port,
    flush_redis,
    fresh_postgres,
    unreachable,
)

KEY = "bench-scale-key"
INTERVAL = 5.0  # Mountsea's first poll interval
# Mountsea's schedule (studio/jobs/poll.py next_poll_delay): 5 s growing x1.5 to 20 s,
# which is 5 + 0.5 * age seconds, capped, for a job of that age.
SCHEDULE_SQL = "LEAST(20.0, 5.0 + 0.5 * EXTRACT(EPOCH FROM now() - submitted_at))"
# Veo jobs take one to a few minutes: the jobs in flight are up to 4 minutes old.
AGE_SPREAD = 240


def _tree_cpu(root: int, table: dict[int, int]) -> float:
    """CPU seconds (user + system) of `root` and its living descendants."""
    children: dict[int, list[int]] = {}
    for pid, ppid in table.items():
        children.setdefault(ppid, []).append(pid)
    total, todo, seen = 0.0, [root], set()
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            raw = Path(f"/proc/{pid}/stat").read_bytes()
        except OSError:
            continue
        fields = raw[raw.rindex(b")") + 2 :].split()
        total += (int(fields[11]) + int(fields[12])) / tick
        todo.extend(children.get(pid, []))
    return total


def _postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process on this machine (the server is shared)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_bytes()
        except OSError:
            continue
        name = raw[raw.index(b"(") + 1 : raw.rindex(b")")]
        if name.startswith(b"postgres"):
            fields = raw[raw.rindex(b")") + 2 :].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def _make_drafts(count: int) -> list[int]:
    from django.contrib.auth import get_user_model

    from studio.jobs.create import create_job
    from studio.models import Project
    from studio.services.teams import ensure_personal_team

    ids = []
    # Ten teams, so the drafts take turns between teams as they do in life.
    for t in range(10):
        user = get_user_model().objects.create_user(f"scale{t}")
        team = ensure_personal_team(user)
        project = Project.objects.create(team=team, name="scale", created_by=user)
        for i in range(count // 10 + (t < count % 10)):
            job = create_job(
                project=project,
                user=user,
                provider="mountsea",
                model="veo31_fast",
                mode="text2video",
                prompt_text=f"scale shot {t}.{i}",
                params={"aspect_ratio": "16:9"},
            )
            ids.append(job.pk)
    return ids


def _in_flight_directly(count: int, url: str) -> list[int]:
    """`count` jobs as the submit step leaves them, quickly: one create each at the
    sandbox through the provider's own `submit` (8 threads), then the rows as
    `transition(QUEUED)` writes them, in bulk."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from studio.models import Job, Project, Status
    from studio.providers.base import SubmitRequest
    from studio.providers.mountsea import MountseaProvider
    from studio.services.teams import ensure_personal_team

    provider = MountseaProvider(base_url=url, api_key=KEY)

    def create(n: int) -> str:
        request = SubmitRequest(
            job_id=f"scale-{n}", mode="text2video", model="veo31_fast", prompt=f"scale shot {n}"
        )
        return provider.submit(request).upstream_id

    with ThreadPoolExecutor(8) as pool:
        upstream = list(pool.map(create, range(count)))
    provider.close()
    now = timezone.now()
    ids = []
    for t in range(10):
        user = get_user_model().objects.create_user(f"scale{t}")
        team = ensure_personal_team(user)
        project = Project.objects.create(team=team, name="scale", created_by=user)
        rows = Job.objects.bulk_create(
            (
                Job(
                    team=team,
                    project=project,
                    created_by=user,
                    provider="mountsea",
                    model="veo31_fast",
                    mode="text2video",
                    prompt_text=f"scale shot {t}.{i}",
                    params={"aspect_ratio": "16:9"},
                    status=Status.QUEUED,
                    upstream_id=upstream_id,
                    submitted_at=now,
                    next_poll_at=now,
                    deadline_at=now + timedelta(seconds=provider.deadline),
                )
                for i, upstream_id in enumerate(upstream[t::10])
            ),
            batch_size=1000,
        )
        ids += [job.pk for job in rows]
    return ids


def _baseline(url: str, seconds: float, threads: int, upstream_ids: list[str]) -> dict[str, float]:
    """Bare provider polls: HTTP + JSON parsing, no database, in this process."""
    from studio.providers.mountsea import MountseaProvider

    provider = MountseaProvider(base_url=url, api_key=KEY)
    stop = time.monotonic() + seconds

    def loop(offset: int) -> int:
        done, i = 0, offset
        while time.monotonic() < stop:
            provider.poll(upstream_ids[i % len(upstream_ids)])
            i += threads
            done += 1
        return done

    cpu0, wall0 = time.process_time(), time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        count = sum(pool.map(loop, range(threads)))
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    provider.close()
    return {"polls": count, "per_second": count / wall, "cpu_per_poll_ms": 1000 * cpu / count}


def run(args: argparse.Namespace) -> dict[str, Any]:
    python = sys.executable
    manage = [python, str(ROOT / "manage.py")]
    data_dir = Path(tempfile.mkdtemp(prefix="studio-bench-scale-"))
    logs = data_dir / "logs"
    logs.mkdir()
    stack = Stack()
    fresh_postgres(args.postgres_url)
    flush_redis(args.redis_url)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": str(ROOT),
        "STUDIO_DATA_DIR": str(data_dir),
        "SECRET_KEY": "bench-scale-" + "x" * 50,
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": args.postgres_url,
        "STUDIO_BROKER_URL": args.redis_url,
        "STUDIO_MOUNTSEA_URL": url,
        "STUDIO_MOUNTSEA_KEY": KEY,
        "STUDIO_ALLOW_PRIVATE_URLS": "1",
        "STUDIO_LOCAL_ENGINE": "0",
        "STUDIO_WORKERS": str(args.cluster_workers),
    }
    env.pop("STUDIO_TESTING", None)
    result: dict[str, Any] = {}
    try:
        stack.start(
            "sandbox",
            [*manage, "sandbox_gateway", "--port", str(port), "--key", KEY,
             "--step-seconds", "36000"],
            env, logs / "sandbox.log",
        )  # fmt: skip
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True, cwd=ROOT)
        _setup_django(env)
        from django.db import connection

        from studio.models import Job, Status

        _wait_port(port, "the sandbox gateway")
        t0 = time.monotonic()
        if args.submit == "workers":
            ids = _make_drafts(args.jobs)
        else:
            ids = _in_flight_directly(args.jobs, url)
        result["create_seconds"] = time.monotonic() - t0
        connection.close()

        def start_workers(tag: str) -> dict[str, Path]:
            outs = {}
            for n in range(args.workers):
                name = f"worker{n + 1}{tag}"
                outs[name] = data_dir / f"{name}.json"
                stack.start(
                    name, [python, "-m", "benchmarks.scale_worker", str(outs[name])], env,
                    logs / f"{name}.log",
                )  # fmt: skip
            return outs

        def stop_workers(names: list[str]) -> None:
            for name in names:
                stack.procs[name].send_signal(signal.SIGTERM)
            for name in names:
                stack.procs[name].wait(timeout=60)

        # 1. Submission by the workers (or done above, directly).
        if args.submit == "workers":
            t0 = time.monotonic()
            outs = start_workers("")
            waiting = [Status.DRAFT, Status.SUBMITTING]
            deadline = time.monotonic() + args.submit_timeout
            while Job.objects.filter(pk__in=ids, status__in=waiting).exists():
                if time.monotonic() > deadline:
                    raise SystemExit("the drafts were not all submitted in time")
                time.sleep(1)
            result["submit_seconds"] = time.monotonic() - t0
            stop_workers(list(outs))
        result["statuses_after_submit"] = dict(
            Job.objects.filter(pk__in=ids).values_list("status").annotate(n=_count()).order_by()
        )
        # 2. Steady state, as when jobs have been submitted one after the other for a
        # while: ages spread over the last AGE_SPREAD seconds, each job's next poll
        # spread over its interval on the provider's schedule (studio/jobs/poll.py).
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE studio_job SET submitted_at = now() - random() * %s * interval '1 second' "
                "WHERE status IN ('queued', 'running')",
                [AGE_SPREAD],
            )
            cursor.execute(
                f"UPDATE studio_job SET next_poll_at = now() + interval '3 seconds' "
                f"+ random() * {SCHEDULE_SQL} * interval '1 second' "
                "WHERE status IN ('queued', 'running')"
            )
            cursor.execute(
                f"SELECT count(*), sum(1.0 / {SCHEDULE_SQL}) FROM studio_job "
                "WHERE status IN ('queued', 'running')"
            )
            in_flight, due_per_second = cursor.fetchone()
        result["due_per_second"] = float(due_per_second or 0) / 0.925
        connection.close()
        outs = start_workers("-steady")
        time.sleep(args.warmup)
        table = _process_table()
        roots = [stack.procs[name].pid for name in outs]
        cpu0 = sum(_tree_cpu(pid, table) for pid in roots)
        sandbox_pid = stack.procs["sandbox"].pid
        sandbox0 = _tree_cpu(sandbox_pid, table)
        pg0 = _postgres_cpu()
        ticks0 = _cpu_ticks()
        w0, wall0 = time.time(), time.monotonic()
        load = [os.getloadavg()[0]]
        while time.monotonic() - wall0 < args.seconds:
            time.sleep(5)
            load.append(os.getloadavg()[0])
        table = _process_table()
        cpu = sum(_tree_cpu(pid, table) for pid in roots) - cpu0
        sandbox_cpu = _tree_cpu(sandbox_pid, table) - sandbox0
        pg = _postgres_cpu() - pg0
        ticks1 = _cpu_ticks()
        w1, wall = time.time(), time.monotonic() - wall0
        stop_workers(list(outs))
        lateness = []
        per_worker = {}
        for name, out in outs.items():
            samples = json.loads(out.read_text())
            mine = [late for at, late in samples if w0 <= at <= w1]
            per_worker[name] = len(mine)
            lateness += mine
        # 4. Baseline in this process, against the same sandbox.
        upstream = list(Job.objects.filter(pk__in=ids).values_list("upstream_id", flat=True)[:500])
        baseline = _baseline(url, args.baseline_seconds, 8, upstream)
        stats = json.loads(
            subprocess.run(
                ["curl", "-s", f"{url}/_sandbox/stats"], capture_output=True, text=True
            ).stdout
        )
        polls = len(lateness)
        result.update(
            jobs=args.jobs,
            in_flight=in_flight,
            seconds=wall,
            polls=polls,
            polls_per_second=polls / wall,
            needed_per_second=result["due_per_second"],
            per_worker=per_worker,
            lateness_p50=_pct(lateness, 0.5),
            lateness_p99=_pct(lateness, 0.99),
            lateness_max=max(lateness) if lateness else float("nan"),
            within_2s=sum(1 for x in lateness if x <= 2.0) / max(1, polls),
            cpu_per_poll_ms=1000 * cpu / max(1, polls),
            cpu_cores=cpu / wall,
            pg_cpu_per_poll_ms=1000 * pg / max(1, polls),
            sandbox_cpu_per_poll_ms=1000 * sandbox_cpu / max(1, polls),
            sandbox_cores=sandbox_cpu / wall,
            machine_busy=(ticks1[0] - ticks0[0]) / max(1, ticks1[1] - ticks0[1]),
            baseline=baseline,
            creates=int(stats["creates_total"]),
            load=load,
        )
        return result
    finally:
        stack.stop()
        if not args.keep:
            import shutil

            shutil.rmtree(data_dir, ignore_errors=True)


def _count() -> Any:
    from django.db.models import Count

    return Count("id")


def report(args: argparse.Namespace, r: dict[str, Any]) -> tuple[str, bool]:
    b = r["baseline"]
    total_ms = r["cpu_per_poll_ms"] + r["sandbox_cpu_per_poll_ms"] + r["pg_cpu_per_poll_ms"]
    cores = os.cpu_count() or 1
    capacity = cores * 1000 / total_ms
    ok = r["within_2s"] >= 1.0 and r["creates"] == r["jobs"]
    lines = [
        "| measure | figure | target |",
        "| --- | --- | --- |",
        f"| jobs in flight | {r['in_flight']} of {r['jobs']} | 10,000 |",
        f"| worker processes | {args.workers} (`manage.py worker`, {args.cluster_workers} "
        "django-q2 workers each, 8 poll threads each) | 4 |",
        (
            f"| making the drafts (`create_job`) / the workers submitting them (one create "
            f"each) | {r['create_seconds']:.0f} s / {r['submit_seconds']:.0f} s | |"
            if args.submit == "workers"
            else f"| putting them in flight (`--submit direct`: the provider's `submit` to the "
            f"sandbox, rows inserted as queued) | {r['create_seconds']:.0f} s | |"
        ),
        f"| creates at the sandbox per job | {r['creates'] / r['jobs']:.2f} | 1 |",
        f"| polls in {r['seconds']:.0f} s of steady state | {r['polls']} "
        f"({r['polls_per_second']:.0f}/s; per worker "
        + ", ".join(str(n) for n in r["per_worker"].values())
        + f") | {r['needed_per_second']:.0f}/s due on the schedule |",
        f"| poll lateness p50 / p99 / max | {r['lateness_p50']:.2f} s / "
        f"{r['lateness_p99']:.2f} s / {r['lateness_max']:.2f} s | every poll ≤ 2 s |",
        f"| polls within 2 s of due | {100 * r['within_2s']:.1f} % | 100 % |",
        f"| CPU per poll, Studio's workers (claim, HTTP, update; whole process trees) | "
        f"{r['cpu_per_poll_ms']:.2f} ms ({r['cpu_cores']:.2f} cores) | |",
        f"| CPU per poll, baseline: bare provider poll, no database | "
        f"{b['cpu_per_poll_ms']:.2f} ms ({b['per_second']:.0f} polls/s in 8 threads) | |",
        f"| Studio / baseline CPU per poll | {r['cpu_per_poll_ms'] / b['cpu_per_poll_ms']:.1f}x "
        "| |",
        f"| PostgreSQL CPU per poll (all its processes; shared server) | "
        f"{r['pg_cpu_per_poll_ms']:.2f} ms | |",
        f"| sandbox gateway CPU per poll (one Python process) | "
        f"{r['sandbox_cpu_per_poll_ms']:.2f} ms ({r['sandbox_cores']:.2f} cores) | |",
        f"| CPU per poll, all of it (workers + sandbox + PostgreSQL) | {total_ms:.2f} ms | |",
        f"| what {cores} idle cores could carry at that cost | {capacity:.0f} polls/s, "
        f"{capacity * r['in_flight'] / max(1.0, r['needed_per_second']):.0f} jobs in flight on "
        f"the schedule ({capacity * INTERVAL * 0.925:.0f} if every poll came at 5 s) | |",
        f"| machine busy during the run / load average (1 min) | "
        f"{100 * r['machine_busy']:.0f} % of {cores} cores / "
        f"{min(r['load']):.1f}-{max(r['load']):.1f} | |",
    ]
    return "\n".join(lines), ok


DOCS = ROOT / "docs" / "performance.md"
SECTION = "## Job engine at scale"


def write_docs(text: str, argv: list[str], ok: bool) -> None:
    head = (
        f"Last run {time.strftime('%Y-%m-%d %H:%M')} UTC, "
        f"`{' '.join(['python -m benchmarks jobs_scale', *argv])}` (also run by `make bench`): "
        "PostgreSQL and the Redis broker as they run on this machine, the sandbox gateway in "
        "its own process, all on the same 2 cores. "
        + ("Target met." if ok else "**Target not met on this machine** (see below).")
    )
    body = f"{SECTION}\n\n{head}\n\n{text}\n"
    current = DOCS.read_text()
    pattern = re.compile(re.escape(SECTION) + r"\n.*?(?=\n### |\n## |\Z)", re.S)
    if pattern.search(current):
        current = pattern.sub(lambda _: body.rstrip() + "\n", current)
    else:
        current = current.rstrip("\n") + "\n\n" + body
    DOCS.write_text(current)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--cluster-workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=15)
    parser.add_argument("--baseline-seconds", type=float, default=10)
    parser.add_argument("--submit-timeout", type=float, default=900)
    parser.add_argument(
        "--submit",
        choices=["direct", "workers"],
        default="direct",
        help="workers: drafts made with create_job and submitted by the workers (slow at 10,000)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "STUDIO_BENCH_LOAD_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/bench_studio_load"
        ),
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("STUDIO_BENCH_LOAD_REDIS_URL", "redis://127.0.0.1:6379/13"),
    )
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--no-docs", dest="write_docs", action="store_false")
    args, _ = parser.parse_known_args(argv)
    why = unreachable(args.postgres_url, args.redis_url)
    if why:
        print(f"skipped: this benchmark needs PostgreSQL and Redis; {why}")
        return 0
    result = run(args)
    text, ok = report(args, result)
    print(text)
    if args.write_docs:
        write_docs(text, argv, ok)
    return 0


if __name__ == "__main__":
    sys.exit(main())
