"""Load benchmark: the scaled deployment on this machine, 200 creators, 1,000 jobs, a soak.

    python -m benchmarks load [--quick] [--soak-minutes 10] [--storage disk|s3]
                              [--creators 200] [--jobs 1000] [--workers 4]

Run from the repository root. One run starts, on 127.0.0.1:
- PostgreSQL's database `bench_studio_load` (recreated; the name must start
  with `bench_studio`), the Redis broker (db 13, emptied with FLUSHDB) and, with
  `--storage s3`, `moto_server` as the S3 bucket (`--storage disk`: local files);
- the sandbox gateway (`manage.py sandbox_gateway`), its tasks finishing after
  three steps of `--step-seconds`;
- the web server as `manage.py serve --no-worker` (gunicorn) and `--workers`
  processes of `manage.py worker` (scheduler + django-q2 cluster each).

Then simulated creators, each signed in with a session of their own, keep their
project page open (its one poller GETs `jobs/updates/` every 2 s while a card
on it is moving, exactly as htmx does) and browse: the team gallery, the
project gallery, video pages, the project page, posters. `--jobs` jobs go
through the generate form as real POSTs (htmx), spread over the soak, and run
through the sandbox to the end: downloaded, stored, shown.

Measured, in the same run: every request's latency from the load generator,
by kind, with the trivial views of `benchmarks/web_urls.py` sent alongside at a
fixed rate as the baseline (p50/p99 as ratios to the signed-in trivial view);
errors (any answer other than 2xx/3xx, any exception); a closed-loop capacity
phase at the end (throughput per kind as a ratio to the trivial view's, taken
in turns while the creators go on); resident memory of the web and worker
process trees (children included, from /proc) every 10 s, growth from
minute 1 to the end; the load generator's own CPU; the machine's load average.
The figures go to stdout and into docs/performance.md under "## Load".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SETTINGS = "benchmarks.web_settings"
KEY = "bench-load-key"
DB_PREFIX = "bench_studio"
BUCKET = "studio-bench-load"
POLL_EVERY = 2.0
GRID = "project-video-grid"
RSS_EVERY = 10.0
BASELINE = "trivial_member"


# -- set-up ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not start on port {port}")


def fresh_postgres(url: str) -> None:
    """Drop and create the benchmark's own database (its name must start with bench_studio)."""
    import psycopg

    base, _, name = url.rpartition("/")
    if not name.startswith(DB_PREFIX):
        raise SystemExit(f"the benchmark database's name must start with {DB_PREFIX}")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def unreachable(postgres_url: str, redis_url: str) -> str:
    """Why the scaled set-up cannot run here ("" when PostgreSQL and Redis answer)."""
    import psycopg
    import redis

    try:
        with psycopg.connect(f"{postgres_url.rpartition('/')[0]}/postgres", connect_timeout=3):
            pass
    except psycopg.Error as exc:
        return f"PostgreSQL does not answer ({exc})"
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis does not answer ({exc})"
    return ""


def flush_redis(url: str) -> None:
    """FLUSHDB on the benchmark's own Redis database only."""
    import redis

    client = redis.Redis.from_url(url)
    if client.connection_pool.connection_kwargs.get("db", 0) == 0:
        raise SystemExit("give the benchmark a Redis database of its own (not db 0)")
    client.flushdb()
    client.close()


def studio_env(args: argparse.Namespace, data_dir: Path, sandbox_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("STUDIO_TESTING", None)
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS,
        PYTHONPATH=str(ROOT),
        STUDIO_DATA_DIR=str(data_dir),
        SECRET_KEY="bench-load-" + "x" * 50,
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        STUDIO_ACCESS_LOG="off",
        DATABASE_URL=args.postgres_url,
        STUDIO_BROKER_URL=args.redis_url,
        STUDIO_MOUNTSEA_URL=sandbox_url,
        STUDIO_MOUNTSEA_KEY=KEY,
        STUDIO_ALLOW_PRIVATE_URLS="1",
        STUDIO_LOCAL_ENGINE="0",
        STUDIO_WORKERS=str(args.cluster_workers),
        WEB_WORKERS=str(args.web_workers),
    )
    if args.storage == "s3":
        env.update(
            STUDIO_S3_BUCKET=BUCKET,
            STUDIO_S3_ENDPOINT_URL=args.s3_endpoint,
            STUDIO_S3_REGION="us-east-1",
            STUDIO_S3_ACCESS_KEY_ID="bench",
            STUDIO_S3_SECRET_ACCESS_KEY="bench-secret",
            STUDIO_S3_DELIVERY=args.s3_delivery,
        )
    return env


def seed(creators: int, videos: int) -> list[dict[str, str]]:
    """Runs inside the benchmark's environment: `creators` signed-in creators,
    each with a personal team, a project and `videos` finished videos."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.db import connection
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
    from django.utils import timezone
    from django.utils.crypto import get_random_string
    from PIL import Image

    from sandbox.media import sample_mp4
    from studio.models import Job, Project, Status, Video
    from studio.services.teams import ensure_personal_team

    # The seeded videos of a team share one stored video, poster and thumbnail
    # (in the bucket with S3), so every page and media request finds its file.
    mp4 = sample_mp4("16:9")
    jpegs = {}
    for name, size in (("poster", (640, 360)), ("thumb", (320, 180))):
        out = io.BytesIO()
        Image.new("RGB", size, (40, 90, 140)).save(out, "JPEG")
        jpegs[name] = out.getvalue()
    now = timezone.now()
    words = ["aurora", "lighthouse", "fox", "glacier", "market", "rain", "desert", "harbour"]
    found = []
    user_model = get_user_model()
    for n in range(creators):
        user = user_model.objects.create_user(f"creator{n}")  # no password: signed in below
        team = ensure_personal_team(user)
        project = Project.objects.create(team=team, name="Campaign", created_by=user)
        stem = f"teams/{team.public_id}/videos/seeded"
        stored = {
            "file": default_storage.save(f"{stem}.mp4", ContentFile(mp4)),
            "poster": default_storage.save(f"{stem}-poster.jpg", ContentFile(jpegs["poster"])),
            "thumbnail": default_storage.save(f"{stem}-thumb.jpg", ContentFile(jpegs["thumb"])),
        }
        jobs = Job.objects.bulk_create(
            Job(
                team=team,
                project=project,
                created_by=user,
                provider="mountsea",
                model="veo31_fast",
                mode="text2video",
                status=Status.SUCCEEDED,
                prompt_text=f"A {words[k % len(words)]} at dusk, shot {k}, slow dolly",
                params={"aspect_ratio": "16:9"},
                finished_at=now,
            )
            for k in range(videos)
        )
        Video.objects.bulk_create(
            Video(
                team=team,
                project=project,
                job=job,
                file=stored["file"],
                poster=stored["poster"],
                thumbnail=stored["thumbnail"],
                size_bytes=len(mp4),
                duration_seconds=2,
                width=640,
                height=360,
                fps=24,
                codec="h264",
                created_by=user,
            )
            for job in jobs
        )
        session = SessionStore()
        session["_auth_user_id"] = str(user.pk)
        session["_auth_user_backend"] = settings.AUTHENTICATION_BACKENDS[-1]
        session["_auth_user_hash"] = user.get_session_auth_hash()
        session.create()
        csrf = get_random_string(CSRF_SECRET_LENGTH, CSRF_ALLOWED_CHARS)
        found.append(
            {
                "cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}; "
                f"{settings.CSRF_COOKIE_NAME}={csrf}",
                "csrf": csrf,
                "project": f"/projects/{project.public_id}/",
            }
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return found


@dataclass
class Stack:
    """The processes of one run, each in a session (process group) of its own."""

    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> int:
        out = log.open("ab")
        self.procs[name] = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self.procs[name].pid

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # whatever its tree left behind
            if proc.poll() is None:
                proc.wait()


# -- resident memory ------------------------------------------------------------


def _process_table() -> dict[int, int]:
    """pid -> parent pid, from /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_bytes()
        except OSError:
            continue
        fields = raw[raw.rindex(b")") + 2 :].split()
        table[int(entry)] = int(fields[1])
    return table


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss(root: int, table: dict[int, int]) -> tuple[int, dict[int, int]]:
    """Resident KiB of `root` and all its descendants, and each process's own."""
    children: dict[int, list[int]] = {}
    for pid, ppid in table.items():
        children.setdefault(ppid, []).append(pid)
    seen, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in table:
            continue
        seen[pid] = _rss_kib(pid)
        todo.extend(children.get(pid, []))
    return sum(seen.values()), seen


# -- the load generator -----------------------------------------------------------


@dataclass
class Kind:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


class Load:
    def __init__(self, port: int) -> None:
        self.port = port
        self.kinds: dict[str, Kind] = {}
        self.error_samples: list[str] = []
        self.recording = True
        # Errors while not recording (warm-up, capacity phase) still count.
        self.unrecorded_errors = 0

    async def request(
        self,
        kind: str,
        path: str,
        *,
        cookie: str = "",
        headers: dict[str, str] | None = None,
        method: str = "GET",
        body: bytes = b"",
        record: bool = True,
    ) -> tuple[int, bytes]:
        """One HTTP/1.1 request on a fresh connection, read to the end."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", "Connection: close"]
        if cookie:
            lines.append(f"Cookie: {cookie}")
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        if method == "POST":
            lines += [
                "Content-Type: application/x-www-form-urlencoded",
                f"Content-Length: {len(body)}",
            ]
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        start = time.perf_counter()
        status, payload = 0, b""
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.port), 30
            )
            try:
                writer.write(raw)
                data = await asyncio.wait_for(reader.read(), 120)
            finally:
                writer.close()
            head, _, payload = data.partition(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            if b"transfer-encoding: chunked" in head.lower():
                payload = _dechunk(payload)
            failed = not 200 <= status < 400
            why = f"{status}"
        except Exception as exc:  # noqa: BLE001 - every failure is counted
            failed, why = True, f"{type(exc).__name__}: {exc}"
        elapsed = (time.perf_counter() - start) * 1000
        if record and self.recording:
            row = self.kinds.setdefault(kind, Kind())
            row.latencies.append(elapsed)
            row.statuses[status] = row.statuses.get(status, 0) + 1
            row.errors += failed
        elif failed:
            self.unrecorded_errors += 1
        if failed and len(self.error_samples) < 30:
            self.error_samples.append(f"{kind} {method} {path}: {why}")
        return status, payload


def _dechunk(data: bytes) -> bytes:
    out, rest = [], data
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2 :]
    return b"".join(out)


CARD_RE = re.compile(
    r'<article class="job-card[^"]*" id="job-([0-9a-f-]{36})"(.*?)</article>', re.S
)
CARD_VALUE_RE = re.compile(r'name="card" value="([0-9a-f-]{36})\.([^"]*)"')
VIDEO_RE = re.compile(r'href="(/videos/[0-9a-f-]{36}/)"')
POSTER_RE = re.compile(r'"(/files/videos/[0-9a-f-]{36}/(?:poster|thumbnail|file))"')
NEXT_RE = re.compile(r'href="(\?after=[^"]+)"')


class Creator:
    """One signed-in creator: an open project page that polls, and browsing."""

    def __init__(self, load: Load, seeded: dict[str, str]) -> None:
        self.load = load
        self.cookie = seeded["cookie"]
        self.csrf = seeded["csrf"]
        self.project = seeded["project"]
        self.cards: dict[str, str] = {}
        self.videos: list[str] = []
        self.media: list[str] = []
        self.moving = asyncio.Event()
        self.submitted = 0

    def _read_cards(self, html: str, *, whole_page: bool) -> None:
        if whole_page:
            self.cards = {}
        for job_id, inner in CARD_RE.findall(html):
            value = CARD_VALUE_RE.search(inner)
            if value:
                self.cards[job_id] = value.group(2)
            else:
                self.cards.pop(job_id, None)
        self._read_links(html)
        if self.cards:
            self.moving.set()

    def _read_links(self, html: str) -> None:
        for path in VIDEO_RE.findall(html):
            if path not in self.videos:
                self.videos.append(path)
        for path in POSTER_RE.findall(html):
            if path not in self.media:
                self.media.append(path)
        del self.videos[:-100], self.media[:-100]

    def poll_query(self) -> str:
        """What hx-include sends: every moving card on the page, and the grid."""
        cards = [("card", f"{job}.{version}") for job, version in self.cards.items()]
        return urlencode([*cards, ("grid", GRID)])

    def htmx(self) -> dict[str, str]:
        return {
            "HX-Request": "true",
            "HX-Current-URL": f"http://127.0.0.1:{self.load.port}{self.project}",
            "X-CSRFToken": self.csrf,
        }

    async def open_page(self) -> None:
        status, body = await self.load.request("project_page", self.project, cookie=self.cookie)
        if status == 200:
            self._read_cards(body.decode(), whole_page=True)

    async def poll_forever(self) -> None:
        """The page's one poller: every 2 s while a card on the page is moving."""
        await asyncio.sleep(random.uniform(0, POLL_EVERY))
        while True:
            if not self.cards:
                self.moving.clear()
                await self.moving.wait()
            query = self.poll_query()
            status, body = await self.load.request(
                "poll", f"/jobs/updates/?{query}", cookie=self.cookie, headers=self.htmx()
            )
            if status in (200, 286):
                self._read_cards(body.decode(), whole_page=False)
            if status == 286:
                self.cards.clear()  # htmx stops the poller; a new card starts it again
            await asyncio.sleep(POLL_EVERY)

    async def browse_forever(self, mean_gap: float) -> None:
        await asyncio.sleep(random.uniform(0, mean_gap))
        while True:
            choice = random.random()
            if choice < 0.25:
                status, body = await self.load.request("gallery", "/gallery/", cookie=self.cookie)
                if status == 200:
                    html = body.decode()
                    self._read_links(html)
                    more = NEXT_RE.search(html)
                    if more and random.random() < 0.3:
                        headers = {"HX-Request": "true"}
                        await self.load.request(
                            "gallery_more", "/gallery/" + more.group(1), cookie=self.cookie,
                            headers=headers,
                        )  # fmt: skip
            elif choice < 0.45:
                status, body = await self.load.request(
                    "project_gallery", f"{self.project}gallery/", cookie=self.cookie
                )
                if status == 200:
                    self._read_links(body.decode())
            elif choice < 0.70 and self.videos:
                path = random.choice(self.videos[-30:])
                status, body = await self.load.request("video_page", path, cookie=self.cookie)
                if status == 200:
                    self._read_links(body.decode())
            elif choice < 0.85:
                await self.open_page()  # a reload: the poller starts over from the page
            elif self.media:
                path = random.choice(self.media)
                # A video starts playing with a range request, as a browser's <video> asks.
                headers = {"Range": "bytes=0-65535"} if path.endswith("/file") else {}
                await self.load.request("media", path, cookie=self.cookie, headers=headers)
            await asyncio.sleep(random.expovariate(1 / mean_gap))

    async def generate(self, n: int) -> bool:
        form = urlencode(
            {
                "mode": "text2video",
                "provider": "mountsea",
                "model": "veo31_fast",
                "prompt": f"A lighthouse at dusk, waves rolling in, slow dolly, take {n}",
                "aspect_ratio": "16:9",
                "duration_seconds": "",
                "seed": "",
                "idempotency_key": str(uuid.uuid4()),
            }
        ).encode()
        status, body = await self.load.request(
            "generate",
            f"{self.project}generate/",
            cookie=self.cookie,
            headers=self.htmx(),
            method="POST",
            body=form,
        )
        html = body.decode(errors="replace")
        new = [job for job, inner in CARD_RE.findall(html) if CARD_VALUE_RE.search(inner)]
        if status != 200 or not new:
            if len(self.load.error_samples) < 30:
                self.load.error_samples.append(f"generate {status}: no new card in the answer")
            return False
        self._read_cards(html, whole_page=False)
        self.submitted += 1
        return True


async def baseline_forever(load: Load, cookie: str, per_second: float) -> None:
    """The trivial views, at a fixed rate, beside the creators: the baseline."""
    kinds = [
        ("trivial", "/bench/trivial/"),
        (BASELINE, "/bench/trivial-member/"),
        ("healthz", "/healthz"),
    ]
    while True:
        for kind, path in kinds:
            asyncio.get_running_loop().create_task(load.request(kind, path, cookie=cookie))
            await asyncio.sleep(1 / per_second)


async def capacity(
    load: Load, creator: Creator, seconds: float, rounds: int, concurrency: int
) -> dict[str, Any]:
    """Closed loop, `concurrency` requests at a time on one URL for `seconds`,
    the kinds taking turns; each kind's req/s as a ratio to the signed-in
    trivial view's in the same round (median over the rounds)."""
    video = creator.videos[0] if creator.videos else creator.project
    targets: dict[str, tuple[str, dict[str, str]]] = {
        "trivial": ("/bench/trivial/", {}),
        BASELINE: ("/bench/trivial-member/", {}),
        "healthz": ("/healthz", {}),
        "poll": (f"/jobs/updates/?{creator.poll_query()}", creator.htmx()),
        "project_page": (creator.project, {}),
        "gallery": ("/gallery/", {}),
        "project_gallery": (f"{creator.project}gallery/", {}),
        "video_page": (video, {}),
    }
    per_round: list[dict[str, float]] = []
    errors = 0
    for _ in range(rounds):
        found = {}
        for kind, (path, headers) in targets.items():
            done = 0
            failed = 0
            stop = time.monotonic() + seconds

            async def worker(
                path: str = path, headers: dict[str, str] = headers, stop: float = stop
            ) -> None:
                nonlocal done, failed
                while time.monotonic() < stop:
                    status, _ = await load.request(
                        "capacity", path, cookie=creator.cookie, headers=headers, record=False
                    )
                    done += 1
                    failed += not 200 <= status < 400

            start = time.monotonic()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            found[kind] = done / (time.monotonic() - start)
            errors += failed
        per_round.append(found)
    return {
        kind: {
            "rps": statistics.median(r[kind] for r in per_round),
            "ratio": statistics.median(r[kind] / r[BASELINE] for r in per_round),
            "ratios": [r[kind] / r[BASELINE] for r in per_round],
        }
        for kind in targets
    } | {"_errors": errors}


# -- one run ----------------------------------------------------------------------


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _cpu_by_tree(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds (user + system) of each named process and its living descendants;
    "postgres": every PostgreSQL process of the machine (a shared server)."""
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, ppid in table.items():
        children.setdefault(ppid, []).append(pid)
    tick = os.sysconf("SC_CLK_TCK")

    def cpu(pid: int) -> tuple[bytes, float]:
        try:
            raw = Path(f"/proc/{pid}/stat").read_bytes()
        except OSError:
            return b"", 0.0
        fields = raw[raw.rindex(b")") + 2 :].split()
        name = raw[raw.index(b"(") + 1 : raw.rindex(b")")]
        return name, (int(fields[11]) + int(fields[12])) / tick

    found = {}
    for label, root in roots.items():
        total, todo, seen = 0.0, [root], set()
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            total += cpu(pid)[1]
            todo.extend(children.get(pid, []))
        found[label] = total
    found["postgres"] = sum(c for n, c in map(cpu, table) if n.startswith(b"postgres"))
    return found


def _job_counts(url: str, created_after: float) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM studio_job WHERE created_at > to_timestamp(%s) "
            "GROUP BY status",
            [created_after],
        ).fetchall()
    return {status: int(count) for status, count in rows}


def _sandbox_stats(url: str) -> dict[str, int]:
    import httpx

    data = httpx.get(f"{url}/_sandbox/stats", timeout=10).json()
    return {k: int(data[k]) for k in ("creates_total", "polls_total", "downloads_total")}


def _bucket_objects(endpoint: str) -> int:
    import httpx

    count, token = 0, None
    while True:
        params = {"list-type": "2", **({"continuation-token": token} if token else {})}
        text = httpx.get(f"{endpoint}/{BUCKET}", params=params, timeout=30).text
        count += text.count("<Key>")
        match = re.search(r"<NextContinuationToken>([^<]+)<", text)
        if not match:
            return count
        token = match.group(1)


async def drive(
    args: argparse.Namespace, port: int, seeded: list[dict[str, str]], stack: Stack
) -> dict[str, Any]:
    load = Load(port)
    creators = [Creator(load, row) for row in seeded]
    soak = args.soak_minutes * 60
    # Every page opened once, a few at a time, before the clock starts.
    sem = asyncio.Semaphore(8)

    async def first_open(creator: Creator) -> None:
        async with sem:
            await creator.open_page()

    await asyncio.gather(*(first_open(c) for c in creators))
    load.kinds.clear()
    load.error_samples.clear()

    rss: list[tuple[float, dict[str, int]]] = []
    per_process: list[tuple[float, dict[str, dict[int, int]]]] = []
    roots = {name: proc.pid for name, proc in stack.procs.items() if name != "sandbox"}
    roots = {k: v for k, v in roots.items() if k != "moto"}

    def sample(elapsed: float) -> None:
        table = _process_table()
        totals, own = {}, {}
        for name, pid in roots.items():
            totals[name], own[name] = tree_rss(pid, table)
        rss.append((elapsed, totals))
        per_process.append((elapsed, own))

    tasks = []
    # A warm-up with the whole load and jobs flowing (the first results
    # stored, every process's imports done), then the measured soak from t0.
    start = time.monotonic()
    t0 = start + args.warmup
    load.recording = False
    for creator in creators:
        tasks.append(asyncio.create_task(creator.poll_forever()))
        tasks.append(asyncio.create_task(creator.browse_forever(args.browse_every)))
    baseline = baseline_forever(load, creators[0].cookie, args.baseline_rate)
    tasks.append(asyncio.create_task(baseline))
    submitted = 0
    failed_submits = 0
    # The jobs spread over the warm-up and the soak's first 80 %, so the last
    # ones finish inside it.
    gap = (args.warmup + soak * 0.8) / max(1, args.jobs)
    pending: set[asyncio.Task[bool]] = set()
    next_job = start
    next_sample = t0
    while time.monotonic() < t0:
        now = time.monotonic()
        while submitted < args.jobs and now >= next_job:
            creator = creators[submitted % len(creators)]
            task = asyncio.create_task(creator.generate(submitted))
            pending.add(task)
            task.add_done_callback(pending.discard)
            submitted += 1
            next_job += gap
        await asyncio.sleep(0.05)
    warmup_errors = load.unrecorded_errors
    load.recording = True
    cpu_roots = {name: proc.pid for name, proc in stack.procs.items()}
    server_cpu0 = _cpu_by_tree(cpu_roots)
    cpu0 = time.process_time()
    ticks0 = _cpu_ticks()
    load_avg = [os.getloadavg()[0]]
    print(f"  warm-up done: {submitted} jobs submitted, {warmup_errors} errors", flush=True)
    sample(0.0)
    while time.monotonic() - t0 < soak:
        now = time.monotonic()
        while submitted < args.jobs and now >= next_job:
            creator = creators[submitted % len(creators)]
            task = asyncio.create_task(creator.generate(submitted))
            pending.add(task)
            task.add_done_callback(pending.discard)
            submitted += 1
            next_job += gap
        if now >= next_sample + RSS_EVERY:
            next_sample += RSS_EVERY
            sample(now - t0)
            load_avg.append(os.getloadavg()[0])
            if int(now - t0) % 60 < RSS_EVERY:
                done = sum(c.submitted for c in creators)
                errors = sum(k.errors for k in load.kinds.values())
                print(
                    f"  {now - t0:5.0f} s: {done} jobs submitted, "
                    f"{sum(len(k.latencies) for k in load.kinds.values())} requests, "
                    f"{errors} errors, load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
        await asyncio.sleep(0.05)
    sample(time.monotonic() - t0)
    wall = time.monotonic() - t0
    cpu = time.process_time() - cpu0
    ticks1 = _cpu_ticks()
    server_cpu1 = _cpu_by_tree(cpu_roots)
    server_cpu = {name: (server_cpu1[name] - server_cpu0[name]) / wall for name in server_cpu1}
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    failed_submits = submitted - sum(c.submitted for c in creators)
    # Throughput per kind at saturation, while the creators go on.
    load.recording = False
    before_capacity = load.unrecorded_errors
    busiest = max(creators, key=lambda c: (len(c.cards), len(c.videos)))
    cap = await capacity(load, busiest, args.capacity_seconds, args.capacity_rounds, 8)
    capacity_creator_errors = load.unrecorded_errors - before_capacity
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "wall": wall,
        "kinds": load.kinds,
        "error_samples": load.error_samples,
        "generator_cpu_share": cpu / wall,
        "machine_cpu_share": (ticks1[0] - ticks0[0]) / max(1, ticks1[1] - ticks0[1]),
        "load_avg": load_avg,
        "rss": rss,
        "per_process": per_process,
        "submitted": submitted,
        "failed_submits": failed_submits,
        "capacity": cap,
        "warmup_errors": warmup_errors,
        "roots": roots,
        "server_cpu": server_cpu,
        "capacity_creator_errors": capacity_creator_errors,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    python = sys.executable
    manage = [python, str(ROOT / "manage.py")]
    data_dir = Path(tempfile.mkdtemp(prefix="studio-bench-load-"))
    logs = data_dir / "logs"
    logs.mkdir()
    stack = Stack()
    try:
        fresh_postgres(args.postgres_url)
        flush_redis(args.redis_url)
        sandbox_port = _free_port()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        if args.storage == "s3":
            moto_port = _free_port()
            args.s3_endpoint = f"http://127.0.0.1:{moto_port}"
            stack.start(
                "moto",
                [str(Path(python).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
                dict(os.environ),
                logs / "moto.log",
            )
            _wait_port(moto_port, "moto_server")
            import httpx

            httpx.put(f"{args.s3_endpoint}/{BUCKET}", timeout=30).raise_for_status()
        env = studio_env(args, data_dir, sandbox_url)
        stack.start(
            "sandbox",
            [*manage, "sandbox_gateway", "--port", str(sandbox_port), "--key", KEY,
             "--step-seconds", str(args.step_seconds)],
            env, logs / "sandbox.log",
        )  # fmt: skip
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True, cwd=ROOT)
        subprocess.run(
            [*manage, "collectstatic", "--noinput", "-v0"], env=env, check=True, cwd=ROOT
        )
        seeded_run = subprocess.run(
            [python, "-m", "benchmarks.bench_load", "--seed", str(args.creators),
             "--videos", str(args.videos)],
            env=env, check=True, cwd=ROOT, capture_output=True, text=True,
        )  # fmt: skip
        seeded = json.loads(seeded_run.stdout.strip().splitlines()[-1])
        _wait_port(sandbox_port, "the sandbox gateway")
        port = _free_port()
        stack.start(
            "web",
            [*manage, "serve", "--no-worker", "--port", str(port),
             "--web-workers", str(args.web_workers)],
            env, logs / "web.log",
        )  # fmt: skip
        for n in range(args.workers):
            stack.start(f"worker{n + 1}", [*manage, "worker"], env, logs / f"worker{n + 1}.log")
        _wait_port(port, "the web server")
        time.sleep(3)  # the workers' clusters start
        started = time.time() - 5
        before = _sandbox_stats(sandbox_url)
        print(
            f"running: {args.creators} creators, {args.jobs} jobs, {args.soak_minutes} min, "
            f"storage {args.storage}; logs in {logs}",
            flush=True,
        )
        result = asyncio.run(drive(args, port, seeded, stack))
        # Let the last jobs finish (their pages no longer matter), then count.
        deadline = time.monotonic() + args.drain_seconds
        while time.monotonic() < deadline:
            counts = _job_counts(args.postgres_url, started)
            if sum(n for s, n in counts.items() if s not in ("succeeded", "failed",
                   "cancelled", "needs_attention")) == 0:  # fmt: skip
                break
            time.sleep(2)
        result["jobs"] = _job_counts(args.postgres_url, started)
        after = _sandbox_stats(sandbox_url)
        result["sandbox"] = {k: after[k] - before[k] for k in after}
        if args.storage == "s3":
            result["bucket_objects"] = _bucket_objects(args.s3_endpoint)
        else:
            media = data_dir / "media"
            result["media_files"] = sum(1 for p in media.rglob("*") if p.is_file())
        dead = [name for name, proc in stack.procs.items() if proc.poll() is not None]
        result["dead_processes"] = dead
        result["logs"] = {
            name: (logs / f"{name}.log").read_text(errors="replace")[-2000:]
            for name in stack.procs
            if (logs / f"{name}.log").exists()
        }
        return result
    finally:
        stack.stop()
        if not args.keep:
            import shutil

            shutil.rmtree(data_dir, ignore_errors=True)


# -- the report ---------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _growth(samples: list[tuple[float, dict[str, int]]], name: str) -> tuple[int, int, float]:
    """RSS at minute 1 (the first sample at 60 s or later) and at the end."""
    first = next((s for t, s in samples if t >= 60), samples[0][1])
    last = samples[-1][1]
    return first[name], last[name], (last[name] - first[name]) / max(1, first[name])


def _top_grower(
    samples: list[tuple[float, dict[str, dict[int, int]]]], name: str, root: int
) -> str:
    first = next((s for t, s in samples if t >= 60), samples[0][1])[name]
    last = samples[-1][1][name]
    both = [pid for pid in first if pid in last]
    if not both:
        return ""
    pid = max(both, key=lambda p: last[p] - first[p])
    what = "the leader" if pid == root else f"child {pid}"
    return f"({what} {first[pid] / 1024:.0f} -> {last[pid] / 1024:.0f})"


def report(args: argparse.Namespace, r: dict[str, Any]) -> tuple[str, bool]:
    kinds: dict[str, Kind] = r["kinds"]
    base = kinds.get(BASELINE)
    base50 = _pct(base.latencies, 0.5) if base else float("nan")
    base99 = _pct(base.latencies, 0.99) if base else float("nan")
    errors = (
        sum(k.errors for k in kinds.values())
        + r["failed_submits"]
        + r["warmup_errors"]
        + r["capacity_creator_errors"]
    )
    storage = (
        f"S3 (moto_server, delivery {args.s3_delivery})" if args.storage == "s3" else "local disk"
    )
    lines = [
        f"{args.creators} creators, {args.jobs} jobs submitted through the generate form, "
        f"{r['wall'] / 60:.1f} min; web: `manage.py serve --no-worker` with "
        f"{args.web_workers} gunicorn workers; {args.workers} x `manage.py worker` "
        f"({args.cluster_workers} django-q2 workers each); PostgreSQL, Redis broker, "
        f"storage {storage}; "
        f"sandbox step {args.step_seconds:g} s.",
        "",
        "requests during the soak, latency at the load generator (ms), ratio to the signed-in "
        "trivial view's p50 / p99 in the same run:",
        f"  {'kind':<16} {'requests':>8} {'req/s':>6} {'errors':>6} {'p50':>7} {'p99':>7} "
        f"{'x p50':>6} {'x p99':>6}",
    ]
    order = ["trivial", BASELINE, "healthz", "poll", "project_page", "gallery", "gallery_more",
             "project_gallery", "video_page", "media", "generate"]  # fmt: skip
    for name in order + sorted(set(kinds) - set(order)):
        if name not in kinds:
            continue
        row = kinds[name]
        p50, p99 = _pct(row.latencies, 0.5), _pct(row.latencies, 0.99)
        lines.append(
            f"  {name:<16} {len(row.latencies):>8} {len(row.latencies) / r['wall']:>6.1f} "
            f"{row.errors:>6} {p50:>7.1f} {p99:>7.1f} {p50 / base50:>6.1f} {p99 / base99:>6.1f}"
        )
    total = sum(len(k.latencies) for k in kinds.values())
    lines += [
        f"  all: {total} requests ({total / r['wall']:.0f}/s), {errors} errors "
        f"(non-2xx/3xx or exceptions, warm-up and capacity phase included; target 0)",
    ]
    if r["error_samples"]:
        lines += ["  first errors:", *(f"    {e}" for e in r["error_samples"][:10])]
    cap = r["capacity"]
    lines += [
        "",
        f"throughput at saturation (closed loop, 8 at a time, {args.capacity_rounds} rounds of "
        f"{args.capacity_seconds:g} s per kind, creators still running), ratio to the signed-in "
        "trivial view in the same round:",
    ]
    for name, row in cap.items():
        if name.startswith("_"):
            continue
        ratios = "/".join(f"{x:.0%}" for x in row["ratios"])
        lines.append(f"  {name:<16} {row['rps']:>7.1f} req/s {row['ratio']:>6.0%} ({ratios})")
    if cap["_errors"]:
        lines.append(f"  errors in the capacity phase: {cap['_errors']}")
    jobs = r["jobs"]
    sandbox = r["sandbox"]
    stored = (
        f"{r['bucket_objects']} objects in the bucket"
        if "bucket_objects" in r
        else f"{r.get('media_files', 0)} media files on disk"
    )
    lines += [
        "",
        f"jobs: {r['submitted']} submitted, {r['failed_submits']} refused; at the end "
        + ", ".join(f"{n} {s}" for s, n in sorted(jobs.items()))
        + f"; sandbox: {sandbox['creates_total']} creates, {sandbox['polls_total']} polls, "
        f"{sandbox['downloads_total']} downloads; {stored}",
    ]
    rss = r["rss"]
    lines += [
        "",
        f"resident memory (process tree, MiB) after a {args.warmup:g} s warm-up, minute 1 -> end "
        "(target < 10 %); the process that grew most in each tree:",
    ]
    worst = 0.0
    for name in rss[0][1]:
        first, last, growth = _growth(rss, name)
        worst = max(worst, growth)
        lines.append(
            f"  {name:<10} {first / 1024:7.1f} -> {last / 1024:7.1f}  {growth:+6.1%}"
            f"  {_top_grower(r['per_process'], name, r['roots'][name])}"
        )
    all_first = sum(_growth(rss, n)[0] for n in rss[0][1])
    all_last = sum(_growth(rss, n)[1] for n in rss[0][1])
    lines.append(
        f"  {'all':<10} {all_first / 1024:7.1f} -> {all_last / 1024:7.1f}  "
        f"{(all_last - all_first) / max(1, all_first):+6.1%}"
    )
    per_minute = [
        f"{t / 60:.0f}: {sum(s.values()) / 1024:.0f}" for t, s in rss if int(t) % 60 < RSS_EVERY
    ]
    lines.append(f"  all, by minute (MiB): {', '.join(per_minute)}")
    loads = r["load_avg"]
    server = r["server_cpu"]
    workers = sum(v for k, v in server.items() if k.startswith("worker"))
    lines += [
        "",
        "CPU used during the soak, in cores (process trees; PostgreSQL: all of the shared "
        f"server's processes): web {server['web']:.2f}, workers {workers:.2f}, sandbox "
        f"{server['sandbox']:.2f}"
        + (f", moto_server {server['moto']:.2f}" if "moto" in server else "")
        + f", PostgreSQL {server['postgres']:.2f}; web CPU per request "
        f"{1000 * server['web'] * r['wall'] / max(1, total):.1f} ms",
    ]
    lines += [
        "",
        f"load generator CPU: {r['generator_cpu_share']:.0%} of one core; whole machine busy "
        f"{r['machine_cpu_share']:.0%} of {os.cpu_count()} cores; load average (1 min) "
        f"{min(loads):.1f}-{max(loads):.1f}, mean {statistics.fmean(loads):.1f}",
    ]
    if r["dead_processes"]:
        lines.append(f"processes that died: {', '.join(r['dead_processes'])}")
    unfinished = sum(n for s, n in jobs.items() if s != "succeeded")
    ok = (
        errors == 0
        and cap["_errors"] == 0
        and worst < 0.10
        and unfinished == 0
        and jobs.get("succeeded", 0) == args.jobs
        and not r["dead_processes"]
    )
    lines.append(
        f"verdict: {'pass' if ok else 'FAIL'} (zero errors, every job succeeded, "
        "memory growth < 10 %)"
    )
    return "\n".join(lines), ok


DOCS = ROOT / "docs" / "performance.md"
SECTION = "## Load"
BEGIN, END = "<!-- bench_load:begin -->", "<!-- bench_load:end -->"


def write_docs(text: str, argv: list[str]) -> None:
    figures = "\n".join(
        [
            BEGIN,
            f"Last run {time.strftime('%Y-%m-%d %H:%M')} UTC, "
            f"`{' '.join(['python -m benchmarks load', *argv])}`:",
            "",
            "```",
            text,
            "```",
            END,
        ]
    )
    current = DOCS.read_text()
    if BEGIN in current and END in current:
        head, _, rest = current.partition(BEGIN)
        current = head + figures + rest.partition(END)[2]
    else:
        current = current.rstrip("\n") + f"\n\n{SECTION}\n\n{figures}\n"
    DOCS.write_text(current)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1-minute smoke: 50 creators, 60 jobs")
    parser.add_argument("--soak-minutes", type=float, default=None)
    parser.add_argument("--creators", type=int, default=None)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--videos", type=int, default=50, help="seeded finished videos per creator")
    parser.add_argument("--storage", choices=["disk", "s3"], default=None)
    parser.add_argument("--s3-delivery", choices=["redirect", "stream"], default="redirect")
    parser.add_argument("--workers", type=int, default=4, help="manage.py worker processes")
    parser.add_argument("--cluster-workers", type=int, default=2, help="django-q2 workers each")
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--warmup", type=float, default=None, help="s before the soak's clock")
    parser.add_argument("--step-seconds", type=float, default=None, help="sandbox step")
    parser.add_argument("--browse-every", type=float, default=20.0, help="mean s between pages")
    parser.add_argument("--baseline-rate", type=float, default=6.0, help="trivial requests/s")
    parser.add_argument("--capacity-seconds", type=float, default=3.0)
    parser.add_argument("--capacity-rounds", type=int, default=2)
    parser.add_argument("--drain-seconds", type=float, default=180.0)
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
    parser.add_argument("--keep", action="store_true", help="keep the data directory and logs")
    parser.add_argument("--no-docs", dest="write_docs", action="store_false")
    parser.add_argument("--seed", type=int, default=None, help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args(argv)  # make bench passes other scripts' flags too
    if args.seed is not None:
        print(json.dumps(seed(args.seed, args.videos)))
        return 0
    why = unreachable(args.postgres_url, args.redis_url)
    if why:
        print(f"skipped: the load benchmark needs PostgreSQL and Redis; {why}")
        return 0
    quick = args.quick
    args.soak_minutes = args.soak_minutes or (1.0 if quick else 10.0)
    args.creators = args.creators or (50 if quick else 200)
    args.jobs = args.jobs if args.jobs is not None else (60 if quick else 1000)
    args.step_seconds = args.step_seconds or (3.0 if quick else 20.0)
    if args.warmup is None:
        args.warmup = 15.0 if quick else 90.0
    if args.storage is None:
        args.storage = "s3" if _s3_available() else "disk"
    result = run(args)
    text, ok = report(args, result)
    print(text)
    if not ok:
        for name, tail in result["logs"].items():
            if "Traceback" in tail or "ERROR" in tail:
                print(f"\n--- end of {name}'s log ---\n{tail}")
    if args.write_docs:
        write_docs(text, argv)
    return 0 if ok else 1


def _s3_available() -> bool:
    """S3 when this Studio has the S3 settings and moto_server is installed."""
    settings_text = (ROOT / "config" / "settings.py").read_text()
    moto = Path(sys.executable).parent / "moto_server"
    return "STUDIO_S3_BUCKET" in settings_text and moto.exists()


if __name__ == "__main__":
    sys.exit(main())
