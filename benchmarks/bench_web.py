"""Web benchmark: what an open page costs while jobs run, and gallery pages with 10,000 videos.

Run with `make bench` (all benchmarks) or `python -m benchmarks web [--sqlite-only ...]`.
One run starts gunicorn (2 sync workers, no access log) on a fresh database,
then measures, against the same server and in the same run:

- requests per open page per poll interval with 1, 10 and 50 running jobs
  (every element of the page that polls costs one request per interval);
- throughput (wrk) of a trivial view, the page's poll (unchanged: 204; every
  card changed: all rendered) with 1, 10 and 50 running cards, and full pages
  as a browser loads them (no `HX-Request`), each as a ratio to the signed-in
  trivial view *within the same round*;
- server time, sequential requests over one keep-alive connection (p50/p95/p99).

Targets: one poll request per open page per interval whatever the number of
running jobs; the gallery page's p95 server time is under 100 ms. The load
generator shares the machine's cores with the server, so compare ratios within
one run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "benchmarks.web_settings"


def _env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS,
        STUDIO_DATA_DIR=str(data_dir),
        SECRET_KEY="bench-" + "x" * 50,
        DEBUG="0",
        STUDIO_LOCAL_ENGINE="1",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    env.pop("STUDIO_TESTING", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


RUNNING = (1, 10, 50)
POLL_URL = "/jobs/updates/"
GRID = "project-video-grid"
INTERVAL = 2  # seconds between two polls of a page


def seed(videos: int) -> dict[str, Any]:
    """Runs inside the benchmark's environment: a team with `videos` finished jobs."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from studio.models import Favourite, Job, Project, Status, Video
    from studio.services.teams import ensure_personal_team

    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    team = ensure_personal_team(user)
    projects = [
        Project.objects.create(team=team, name=f"Project {n}", created_by=user) for n in range(5)
    ]
    now = timezone.now()
    words = ["aurora", "lighthouse", "fox", "glacier", "market", "rain", "desert", "harbour"]
    jobs = [
        Job(
            team=team,
            project=projects[n % len(projects)],
            created_by=user,
            provider="local",
            model="draft",
            mode=["text2video", "img2video", "ingredients2video"][n % 3],
            status=Status.SUCCEEDED,
            prompt_text=f"A {words[n % len(words)]} at dusk, shot {n}, slow dolly",
            params={"aspect_ratio": "16:9", "duration_seconds": 4, "seed": n},
            finished_at=now,
        )
        for n in range(videos)
    ]
    Job.objects.bulk_create(jobs, batch_size=1000)
    # auto_now_add stamps them all "now": spread them over about three weeks.
    stored = list(Job.objects.filter(team=team).order_by("id"))
    for offset, job in enumerate(stored):
        job.created_at = now - timezone.timedelta(minutes=(len(stored) - offset) * 3)
    Job.objects.bulk_update(stored, ["created_at"], batch_size=500)
    by_id = {job.pk: job for job in stored}
    Video.objects.bulk_create(
        (
            Video(
                team=team,
                project=job.project,
                job=job,
                file=f"teams/{team.public_id}/videos/{job.public_id}.mp4",
                poster=f"teams/{team.public_id}/videos/{job.public_id}-poster.jpg",
                thumbnail=f"teams/{team.public_id}/videos/{job.public_id}-thumb.jpg",
                size_bytes=1_000_000,
                duration_seconds=4,
                width=1280,
                height=720,
                fps=24,
                codec="h264",
                created_by=user,
            )
            for job in by_id.values()
        ),
        batch_size=1000,
    )
    # Every tenth video is a favourite: picked over time, as creators do.
    Favourite.objects.bulk_create(
        Favourite(user=user, video_id=video_id)
        for video_id in Video.objects.filter(team=team)
        .order_by("id")
        .values_list("id", flat=True)[::10]
    )
    # Projects with 1, 10 and 50 running jobs: the pages whose poll is measured.
    running_pages = {}
    for count in RUNNING:
        project = Project.objects.create(team=team, name=f"Running {count}", created_by=user)
        Job.objects.bulk_create(
            Job(
                team=team,
                project=project,
                created_by=user,
                provider="local",
                model="draft",
                mode="text2video",
                status=Status.RUNNING,
                prompt_text=f"Running job {n} of {count}",
                params={"aspect_ratio": "16:9", "duration_seconds": 4},
                progress=40,
            )
            for n in range(count)
        )
        running_pages[str(count)] = f"/projects/{project.public_id}/"
    if connection.vendor == "postgresql":
        # What autovacuum does after a bulk load; without it the planner
        # believes the team has 20 jobs.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = settings.AUTHENTICATION_BACKENDS[0]
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    # A browser that loaded the page holds the CSRF cookie too.
    csrf = get_random_string(CSRF_SECRET_LENGTH, CSRF_ALLOWED_CHARS)
    return {
        "cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}; "
        f"{settings.CSRF_COOKIE_NAME}={csrf}",
        "running_pages": running_pages,
        "gallery": "/gallery/",
        "project_gallery": f"/projects/{projects[0].public_id}/gallery/",
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def _get(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> int:
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status


def server_times(
    port: int, targets: dict[str, tuple[str, dict[str, str]]], count: int
) -> dict[str, dict[str, float]]:
    """Sequential requests over one keep-alive connection: the server's own time.

    The URLs take turns, request by request, so load from other processes on
    the machine falls on all of them alike.
    """
    conn = http.client.HTTPConnection("127.0.0.1", port)
    for path, headers in targets.values():
        for _ in range(5):
            _get(conn, path, headers)
    samples: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(count):
        for name, (path, headers) in targets.items():
            start = time.perf_counter()
            status = _get(conn, path, headers)
            samples[name].append((time.perf_counter() - start) * 1000)
            if status not in (200, 204, 286):
                raise RuntimeError(f"{path} answered {status}")
    conn.close()
    found = {}
    for name, values in samples.items():
        q = statistics.quantiles(sorted(values), n=100)
        found[name] = {"p50": q[49], "p95": q[94], "p99": q[98], "mean": statistics.fmean(values)}
    return found


BASE = "trivial_member"


def throughput(
    port: int, runs: list[tuple[str, str, bool]], cookie: str, args: argparse.Namespace
) -> dict[str, dict[str, Any]]:
    """wrk in short rounds that take turns; each URL's ratio to the signed-in
    trivial view is taken within its round, then the median of those ratios."""
    rounds: list[dict[str, dict[str, Any]]] = []
    for _ in range(args.rounds):
        rounds.append(
            {
                name: wrk(port, path, cookie, args.seconds, args.connections, htmx)
                for name, path, htmx in runs
            }
        )
    found = {}
    for name, _, _ in runs:
        ratios = [r[name]["rps"] / r[BASE]["rps"] for r in rounds]
        rps = [r[name]["rps"] for r in rounds]
        found[name] = {
            "rps": statistics.median(rps),
            "rounds": rps,
            "ratio": statistics.median(ratios),
            "ratios": ratios,
            "non_2xx": sum(r[name]["non_2xx"] for r in rounds),
            "latency": rounds[-1][name]["latency"],
        }
    return found


def wrk(
    port: int, path: str, cookie: str, seconds: int, connections: int, htmx: bool = False
) -> dict[str, Any]:
    """`htmx` only for what htmx itself requests (the page's poll, "load more")."""
    cmd = [
        "wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
        "-H", f"Cookie: {cookie}",
        *(["-H", "HX-Request: true"] if htmx else []),
        f"http://127.0.0.1:{port}{path}",
    ]  # fmt: skip
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    latency = dict(re.findall(r"\s+(\d+)%\s+([\d.]+\w+)", out))
    return {"rps": rps, "latency": latency, "non_2xx": int(non_2xx.group(1)) if non_2xx else 0}


BENCH_DB_PREFIX = "studio_bench"


def fresh_postgres(url: str) -> str:
    """Drop and create the benchmark's own PostgreSQL database; its name must
    start with studio_bench so a real database can never be emptied."""
    import psycopg

    base, _, name = url.rpartition("/")
    if not name.startswith(BENCH_DB_PREFIX):
        raise SystemExit(f"the benchmark database's name must start with {BENCH_DB_PREFIX}")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url


def postgres_reachable(url: str) -> bool:
    import psycopg

    base = url.rpartition("/")[0]
    try:
        with psycopg.connect(f"{base}/postgres", connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def run(args: argparse.Namespace, database_url: str | None) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    data_dir = Path(tempfile.mkdtemp(prefix="studio-bench-web-"))
    if database_url:
        fresh_postgres(database_url)
    env = _env(data_dir, database_url)
    python = sys.executable
    try:
        manage = [python, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True, cwd=ROOT)
        subprocess.run(
            [*manage, "collectstatic", "--noinput", "-v0"], env=env, check=True, cwd=ROOT
        )
        seeded = subprocess.run(
            [python, "-m", "benchmarks.bench_web", "--seed", str(args.videos)],
            env=env, check=True, cwd=ROOT, capture_output=True, text=True,
        )  # fmt: skip
        urls = json.loads(seeded.stdout.strip().splitlines()[-1])
        port = _free_port()
        server = subprocess.Popen(
            [
                python, "-m", "gunicorn", "config.wsgi:application",
                "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
                "--worker-class", "sync", "--keep-alive", "5", "--log-level", "warning",
            ],
            env=env, cwd=ROOT,
        )  # fmt: skip
        try:
            _wait_for(port)
            cookie = urls["cookie"]
            headers = {"Cookie": cookie}
            results: dict[str, Any] = {
                "videos": args.videos,
                "workers": args.workers,
                "database": "PostgreSQL" if database_url else "SQLite",
            }
            pages = {
                int(count): _page(port, path, headers)
                for count, path in urls["running_pages"].items()
            }
            results["per_page"] = {
                count: {"pollers": page["pollers"], "cards": len(page["cards"])}
                for count, page in pages.items()
            }
            polls = {}
            for count, page in pages.items():
                polls[f"poll_{count}_unchanged"] = _poll_url(page["cards"])
                polls[f"poll_{count}_all_changed"] = _poll_url(
                    [card.split(".")[0] + ".0" for card in page["cards"]]
                )
            gallery = urls["gallery"]
            runs = [
                ("trivial", "/bench/trivial/", False),
                (BASE, "/bench/trivial-member/", False),
                *((name, url, True) for name, url in polls.items()),
                ("project_page_50", urls["running_pages"]["50"], False),
                ("gallery", gallery, False),
            ]
            results["throughput"] = throughput(port, runs, cookie, args)
            htmx = {**headers, "HX-Request": "true"}
            results["server_time_ms"] = server_times(
                port,
                {
                    "trivial": ("/bench/trivial/", headers),
                    BASE: ("/bench/trivial-member/", headers),
                    **{name: (url, htmx) for name, url in polls.items()},
                    "project_page_50": (urls["running_pages"]["50"], headers),
                    "gallery": (gallery, headers),
                    "gallery_htmx_page_2": (_second_page(port, gallery, headers), htmx),
                    "gallery_search": (f"{gallery}?q=lighthouse", headers),
                    "gallery_favourites": (f"{gallery}?favourites=on", headers),
                    "project_gallery": (urls["project_gallery"], headers),
                },
                args.requests,
            )
            return results
        finally:
            server.terminate()
            server.wait(timeout=10)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _page(port: int, path: str, headers: dict[str, str]) -> dict[str, Any]:
    """A page as a browser loads it: how many of its elements poll, and the
    `card` values its one poller sends."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", path, headers=headers)
    body = conn.getresponse().read().decode()
    conn.close()
    return {
        "pollers": len(re.findall(r'hx-trigger="every ', body)),
        "cards": re.findall(r'name="card" value="([^"]+)"', body),
    }


def _poll_url(cards: list[str]) -> str:
    return f"{POLL_URL}?" + urlencode([("card", card) for card in cards] + [("grid", GRID)])


def _second_page(port: int, path: str, headers: dict[str, str]) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", path, headers=headers)
    body = conn.getresponse().read().decode()
    conn.close()
    match = re.search(r'href="(\?after=[0-9a-f-]+)"', body)
    if not match:
        raise RuntimeError("the gallery has no second page")
    return path + match.group(1)


def report(results: dict[str, Any]) -> str:
    tp = results["throughput"]
    st = results["server_time_ms"]
    lines = [
        f"{results['database']}: {results['videos']} videos in the team, "
        f"gunicorn with {results['workers']} sync workers",
        "",
        "requests per open project page per poll interval (2 s):",
    ]
    for count, row in results["per_page"].items():
        lines.append(
            f"  {count:>3} running jobs: {row['pollers']} poll request(s) "
            f"({row['cards']} running cards in it)"
        )
    lines += [
        "",
        "throughput (wrk -t2), as a ratio to the signed-in trivial view in the same round",
        "(median of the rounds' ratios; each round's ratio in brackets):",
    ]
    for name, row in tp.items():
        ratios = "/".join(f"{r:.0%}" for r in row["ratios"])
        lines.append(
            f"  {name:<24} {row['rps']:>7.0f} req/s  {row['ratio']:>5.0%} ({ratios})"
            + (f"  non-2xx {row['non_2xx']}" if row["non_2xx"] else "")
        )
    base = st[BASE]["p50"]
    lines += ["", "server time, sequential keep-alive requests (ms; p50 / signed-in trivial p50):"]
    for name, row in st.items():
        lines.append(
            f"  {name:<24} p50 {row['p50']:6.2f}  p95 {row['p95']:6.2f}  p99 {row['p99']:6.2f}"
            f"  x{row['p50'] / base:.1f}"
        )
    lines += [
        "",
        "server time per open page per second while nothing changes, in signed-in trivial views",
        f"(poll requests per {INTERVAL} s / {INTERVAL} s x the unchanged poll's p50 ratio):",
    ]
    for count, row in results["per_page"].items():
        cost = row["pollers"] / INTERVAL * st[f"poll_{count}_unchanged"]["p50"] / base
        lines.append(f"  {count:>3} running jobs: {cost:.2f}")
    p95 = st["gallery"]["p95"]
    lines.append(
        f"  gallery p95 {p95:.1f} ms  (target < 100 ms: {'met' if p95 < 100 else 'NOT met'})"
    )
    return "\n".join(lines)


DOCS = ROOT / "docs" / "performance.md"
SECTION = "## Web"


def write_docs(reports: list[str], args: argparse.Namespace) -> None:
    """Replace the measured figures inside docs/performance.md's Web section."""
    begin, end = "<!-- bench_web:begin -->", "<!-- bench_web:end -->"
    load = os.getloadavg()[0]
    figures = "\n".join(
        [
            begin,
            f"Last run {time.strftime('%Y-%m-%d %H:%M')}, load average {load:.1f} on "
            f"{os.cpu_count()} cores, `{' '.join(['python -m benchmarks web', *sys.argv[1:]])}` "
            f"(wrk -t2 -c{args.connections}, {args.rounds} rounds of {args.seconds} s per URL; "
            f"{args.requests} sequential requests per URL):",
            "",
            "```",
            *("\n\n".join(reports).splitlines()),
            "```",
            end,
        ]
    )
    text = DOCS.read_text() if DOCS.exists() else "# Performance\n"
    if begin in text and end in text:
        head, _, rest = text.partition(begin)
        text = head + figures + rest.partition(end)[2]
    elif SECTION in text:
        head, _, rest = text.partition(SECTION + "\n")
        text = head + SECTION + "\n\n" + figures + "\n" + rest
    else:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n\n{figures}\n"
    DOCS.parent.mkdir(exist_ok=True)
    DOCS.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=4, help="per wrk round")
    parser.add_argument("--rounds", type=int, default=3, help="wrk rounds per URL, taking turns")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=300, help="sequential requests per URL")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "STUDIO_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/studio_bench_web"
        ),
        help="also measured on PostgreSQL when reachable (database recreated; name studio_bench*)",
    )
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument(
        "--no-docs", dest="write_docs", action="store_false", help="leave docs/performance.md"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seed", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seed is not None:
        print(json.dumps(seed(args.seed)))
        return 0
    databases: list[str | None] = [None]
    if not args.sqlite_only and postgres_reachable(args.postgres_url):
        databases.append(args.postgres_url)
    reports = []
    for database_url in databases:
        results = run(args, database_url)
        reports.append(report(results))
        print(json.dumps(results, indent=2) if args.json else reports[-1], flush=True)
        print()
    if args.write_docs:
        write_docs(reports, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
