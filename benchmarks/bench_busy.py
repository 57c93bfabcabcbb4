"""Busy-site benchmark: can a few heavy or slow clients stall everyone else?

Run with `make bench` (all benchmarks) or `python -m benchmarks busy`.
Studio is started exactly as `make run` starts it (`manage.py serve`: the same
gunicorn argv, web and worker) on a fresh SQLite data directory, twice in one
run: as configured now (threaded workers, config/gunicorn_worker.py) and with
the old set-up (`--sync-workers`: gunicorn's sync workers, one request per
process) as the comparison row.

For each, sequential requests (a new connection each, as a new visitor makes)
to `/healthz` and to a signed-in page (the library), first with nothing
else going on (idle), then while, at the same time:

- 4 clients upload a 36-megapixel PNG to the library, in a loop;
- 2 clients download a stored 36-megapixel image at a few KB/s;
- 2 clients hold half-open connections (part of a request head, then
  nothing; reopened whenever the server drops them).

Reported: p50/p99 and the busy/idle ratio of the p99 (target: within 3x). A
request that gets no answer within `--request-timeout` counts as that long.
Also measured: the CPU an upload's image work costs, with the PNG
compression level used before (6) and now.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIDE = 6000  # 36 megapixels
UPLOADS, SLOW_DOWNLOADS, HALF_OPEN = 4, 2, 2


def _env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(("STUDIO_", "DJANGO_", "WEB_")) or name in {"DATABASE_URL", "DEBUG"}:
            del env[name]
    env.update(
        STUDIO_DATA_DIR=str(data_dir),
        SECRET_KEY="bench-busy-" + "x" * 50,
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="ERROR",
        STUDIO_ACCESS_LOG="off",
        PYTHONPATH=str(ROOT),
    )
    return env


def make_png(path: Path) -> None:
    """A 6000 x 6000 picture with gradients and fine grain: about 15 MB as PNG,
    under the 20 MB upload limit, and slow to compress, as photos are."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    base = np.stack(
        [x / SIDE * 255, y / SIDE * 255, 128 + 60 * np.sin(x / 97.0) * np.cos(y / 131.0)],
        axis=-1,
    )
    grain = rng.integers(0, 2, size=(SIDE, SIDE, 1)).astype(np.float32) * 3
    Image.fromarray(np.clip(base + grain, 0, 255).astype(np.uint8), "RGB").save(
        path, format="PNG", compress_level=6
    )


def seed(png: str) -> dict[str, Any]:
    """Runs inside Studio's environment: a signed-in creator with the PNG in the library."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
    from django.utils.crypto import get_random_string

    from studio.services import library
    from studio.services.teams import ensure_personal_team

    user = get_user_model().objects.create_user("busy", password="busy-password-1")
    team = ensure_personal_team(user)
    with open(png, "rb") as fh:
        stored = library.store_upload(team, user, fh, "big.png").image
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    # The model backend: axes' own cannot load a user.
    backends = [b for b in settings.AUTHENTICATION_BACKENDS if "axes" not in b]
    session["_auth_user_backend"] = backends[0]
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    csrf = get_random_string(CSRF_SECRET_LENGTH, CSRF_ALLOWED_CHARS)
    return {
        "cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}; "
        f"{settings.CSRF_COOKIE_NAME}={csrf}",
        "csrf": csrf,
        "media": f"/files/references/{stored.public_id}",
        "media_bytes": stored.size_bytes,
    }


def encode_cost(png: str) -> dict[str, float]:
    """CPU seconds of an upload's image work: decode + normalize, and the PNG encode
    at the old level (6) and the current one. Median of 3."""
    import django

    django.setup()
    from PIL import Image

    from studio.services import library

    def cpu(work: Any) -> float:
        times = []
        for _ in range(3):
            start = time.process_time()
            work()
            times.append(time.process_time() - start)
        return statistics.median(times)

    def decode() -> Image.Image:
        with Image.open(png) as opened:
            opened.load()
            return library.normalize(opened)

    image = decode()

    def save(level: int) -> None:
        image.save(io.BytesIO(), format="PNG", compress_level=level)

    sizes = {}
    for level in (6, library.PNG_COMPRESS_LEVEL):
        out = io.BytesIO()
        image.save(out, format="PNG", compress_level=level)
        sizes[level] = len(out.getvalue())
    return {
        "decode": cpu(decode),
        "encode_old": cpu(lambda: save(6)),
        "encode_new": cpu(lambda: save(library.PNG_COMPRESS_LEVEL)),
        "level_new": library.PNG_COMPRESS_LEVEL,
        "bytes_old": sizes[6],
        "bytes_new": sizes[library.PNG_COMPRESS_LEVEL],
        "bytes_source": os.path.getsize(png),
    }


# --- the attackers (each in a process of its own) --------------------------------


def _uploader(port: int, seeded: dict[str, Any], png: str, stop: Any, done: Any) -> None:
    data = Path(png).read_bytes()
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="images"; '
            f'filename="big.png"\r\nContent-Type: image/png\r\n\r\n'
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {
        "Cookie": seeded["cookie"],
        "X-CSRFToken": seeded["csrf"],
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    while not stop.is_set():
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            conn.request("POST", "/library/", body=body, headers=headers)
            status = conn.getresponse().status
            conn.close()
            if status == 302:
                with done.get_lock():
                    done.value += 1
        except OSError:
            time.sleep(0.2)


def _slow_downloader(port: int, seeded: dict[str, Any], rate: int, stop: Any, started: Any) -> None:
    while not stop.is_set():
        sock = socket.socket()
        # A small receive window, as a slow client's is: the server's send blocks.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            sock.connect(("127.0.0.1", port))
            sock.sendall(
                f"GET {seeded['media']} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Cookie: {seeded['cookie']}\r\n\r\n".encode()
            )
            if sock.recv(rate // 10).startswith(b"HTTP/1.1 200"):
                with started.get_lock():
                    started.value += 1
            while not stop.is_set():
                if not sock.recv(rate // 10):
                    break
                time.sleep(0.1)
        except OSError:
            time.sleep(0.2)
        finally:
            sock.close()


def _half_open(port: int, stop: Any, drops: Any) -> None:
    while not stop.is_set():
        sock = socket.socket()
        try:
            sock.connect(("127.0.0.1", port))
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the rest
            sock.settimeout(0.2)
            while not stop.is_set():
                try:
                    if not sock.recv(1024):
                        with drops.get_lock():
                            drops.value += 1
                        break
                except TimeoutError:
                    continue
        except OSError:
            time.sleep(0.2)
        finally:
            sock.close()


# --- measuring -----------------------------------------------------------------


def _timed_get(port: int, path: str, headers: dict[str, str], timeout: float) -> float:
    start = time.perf_counter()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        conn.close()
        if response.status not in (200, 503):  # 503: the worker is still starting
            raise RuntimeError(f"{path} answered {response.status}")
    except OSError:  # TimeoutError included
        return timeout
    return time.perf_counter() - start


def sample(
    port: int, seeded: dict[str, Any], seconds: float, count: int, timeout: float
) -> dict[str, list[float]]:
    """Requests to each URL, taking turns, for `seconds` (at most `count` each)."""
    targets = {
        "healthz": ("/healthz", {}),
        "signed_in_page": ("/library/", {"Cookie": seeded["cookie"]}),
    }
    found: dict[str, list[float]] = {name: [] for name in targets}
    deadline = time.monotonic() + seconds
    for _ in range(count):
        for name, (path, headers) in targets.items():
            found[name].append(_timed_get(port, path, headers, timeout) * 1000)
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    return found


def _summary(values: list[float], timeout: float) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
        "timed_out": sum(1 for v in ordered if v >= timeout * 1000),
    }


def _wait_until_up(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _timed_get(port, "/healthz", {}, 2) < 2:
            return
        time.sleep(0.3)
    raise RuntimeError("Studio did not start")


def run_setup(
    label: str, serve_args: list[str], env: dict[str, str], seeded: dict[str, Any], png: str,
    args: argparse.Namespace,
) -> dict[str, Any]:  # fmt: skip
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    log = open(Path(env["STUDIO_DATA_DIR"]) / f"serve-{label}.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port), *serve_args],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_until_up(port)
        sample(port, seeded, 5, 10, args.request_timeout)  # warm up
        idle = sample(port, seeded, args.seconds, args.requests, args.request_timeout)
        ctx = multiprocessing.get_context("fork")
        stop = ctx.Event()
        uploads, drops, downloads = ctx.Value("i", 0), ctx.Value("i", 0), ctx.Value("i", 0)
        attackers = [
            *(
                ctx.Process(target=_uploader, args=(port, seeded, png, stop, uploads))
                for _ in range(UPLOADS)
            ),
            *(
                ctx.Process(
                    target=_slow_downloader, args=(port, seeded, args.rate, stop, downloads)
                )
                for _ in range(SLOW_DOWNLOADS)
            ),
            *(ctx.Process(target=_half_open, args=(port, stop, drops)) for _ in range(HALF_OPEN)),
        ]
        for attacker in attackers:
            attacker.start()
        time.sleep(3)  # uploads under way, downloads stalled, heads held
        started = time.monotonic()
        busy = sample(port, seeded, args.seconds, args.requests, args.request_timeout)
        busy_seconds = time.monotonic() - started
        stop.set()
        for attacker in attackers:
            attacker.join(timeout=10)
            if attacker.is_alive():
                attacker.kill()
                attacker.join()
        timeout = args.request_timeout
        return {
            "label": label,
            "argv": ["manage.py", "serve", *serve_args],
            "idle": {name: _summary(v, timeout) for name, v in idle.items()},
            "busy": {name: _summary(v, timeout) for name, v in busy.items()},
            "busy_seconds": busy_seconds,
            "uploads_done": uploads.value,
            "half_open_dropped": drops.value,
            "downloads_started": downloads.value,
        }
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def report(results: dict[str, Any]) -> str:
    cost = results["encode_cost"]
    lines = [
        f"while {UPLOADS} parallel 36-megapixel PNG uploads loop, {SLOW_DOWNLOADS} clients "
        f"download a {results['media_bytes'] / 1e6:.1f} MB image at "
        f"{results['rate'] / 1000:.0f} KB/s and {HALF_OPEN} half-open connections are held",
        "(ms, a new connection per request; p99 ratio = busy p99 / idle p99, target <= 3x):",
        "",
        f"  {'set-up':<34} {'URL':<15} {'idle p50':>8} {'idle p99':>8} {'busy p50':>8} "
        f"{'busy p99':>8} {'ratio':>6}  n / timed out",
    ]
    for row in results["setups"]:
        for name in ("healthz", "signed_in_page"):
            idle, busy = row["idle"][name], row["busy"][name]
            ratio = busy["p99"] / idle["p99"]
            lines.append(
                f"  {row['label']:<34} {name:<15} {idle['p50']:8.1f} {idle['p99']:8.1f} "
                f"{busy['p50']:8.1f} {busy['p99']:8.1f} {ratio:5.1f}x  "
                f"{busy['n']} / {busy['timed_out']}" + ("" if ratio <= 3 else "  (over 3x)")
            )
        lines.append(
            f"  {'':<34} uploads finished in {row['busy_seconds']:.0f} s: "
            f"{row['uploads_done']}; slow downloads answered 200: {row['downloads_started']}; "
            f"half-open connections dropped: {row['half_open_dropped']}"
        )
    lines += [
        "",
        f"an upload's image work (CPU s, median of 3; source PNG "
        f"{cost['bytes_source'] / 1e6:.1f} MB):",
        f"  decode + normalize          {cost['decode']:.2f}",
        f"  PNG encode, level 6 (old)   {cost['encode_old']:.2f}  "
        f"({cost['bytes_old'] / 1e6:.1f} MB)",
        f"  PNG encode, level {cost['level_new']} (now)   {cost['encode_new']:.2f}  "
        f"({cost['bytes_new'] / 1e6:.1f} MB)",
    ]
    return "\n".join(lines)


DOCS = ROOT / "docs" / "performance.md"
SECTION = "## Busy site"


def write_docs(text: str) -> None:
    begin, end = "<!-- bench_busy:begin -->", "<!-- bench_busy:end -->"
    load = os.getloadavg()[0]
    figures = "\n".join(
        [
            begin,
            f"Last run {time.strftime('%Y-%m-%d %H:%M')}, load average {load:.1f} on "
            f"{os.cpu_count()} cores, `{' '.join(['python -m benchmarks busy', *sys.argv[1:]])}`:",
            "",
            "```",
            *text.splitlines(),
            "```",
            end,
        ]
    )
    doc = DOCS.read_text() if DOCS.exists() else "# Performance\n"
    if begin in doc and end in doc:
        head, _, rest = doc.partition(begin)
        doc = head + figures + rest.partition(end)[2]
    else:
        doc = doc.rstrip("\n") + f"\n\n{SECTION}\n\n{figures}\n"
    DOCS.write_text(doc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="per phase")
    parser.add_argument("--requests", type=int, default=100_000, help="per URL and phase, at most")
    parser.add_argument("--request-timeout", type=float, default=10)
    parser.add_argument("--rate", type=int, default=4000, help="slow download, bytes/s")
    parser.add_argument("--new-only", action="store_true", help="skip the sync-worker row")
    parser.add_argument(
        "--no-docs", dest="write_docs", action="store_false", help="leave docs/performance.md"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seed", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--encode-cost", default=None, help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args(argv)  # `make bench` passes every benchmark's flags
    if args.seed is not None:
        print(json.dumps(seed(args.seed)))
        return 0
    if args.encode_cost is not None:
        print(json.dumps(encode_cost(args.encode_cost)))
        return 0
    data_dir = Path(tempfile.mkdtemp(prefix="studio-bench-busy-"))
    try:
        env = _env(data_dir)
        png = data_dir / "big.png"
        make_png(png)
        python, manage = sys.executable, str(ROOT / "manage.py")
        subprocess.run([python, manage, "migrate", "--noinput", "-v0"], env=env, check=True)
        # DEBUG off: pages need the collected static files' manifest.
        subprocess.run([python, manage, "collectstatic", "--noinput", "-v0"], env=env, check=True)

        def helper(flag: str) -> dict[str, Any]:
            out = subprocess.run(
                [python, "-m", "benchmarks.bench_busy", flag, str(png)],
                env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
                cwd=ROOT, check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            return dict(json.loads(out.strip().splitlines()[-1]))

        seeded = helper("--seed")
        encode = helper("--encode-cost")
        setups = [("threaded (now)", [])]
        if not args.new_only:
            setups.append(("sync workers (before)", ["--sync-workers"]))
        results: dict[str, Any] = {
            "rate": args.rate,
            "media_bytes": seeded["media_bytes"],
            "setups": [
                run_setup(label, serve_args, env, seeded, str(png), args)
                for label, serve_args in setups
            ],
            "encode_cost": encode,
        }
        for row in results["setups"]:
            row["label"] += " " + _describe(row["argv"], env)
        text = report(results)
        print(json.dumps(results, indent=2) if args.json else text, flush=True)
        if args.write_docs:
            write_docs(text)
        return 0
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _describe(argv: list[str], env: dict[str, str]) -> str:
    workers = env.get("WEB_WORKERS", "2")
    if "--sync-workers" in argv:
        return f"{workers}x1"
    return f"{workers}x{env.get('WEB_THREADS', '8')}"


if __name__ == "__main__":
    sys.exit(main())
