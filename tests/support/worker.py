"""A real `manage.py worker`, with one step of a job's life made to pause or drag.

    python -m tests.support.worker [--pause STEP:SECONDS] [--slow-render SECONDS]
                                   [--claim-log PATH]

Test-only: the kill tests stop the worker at a named step with SIGKILL, and the
timeout test needs a render longer than the cluster's task timeout. The steps are
wrapped here, before the cluster forks its task processes (which inherit them),
so production code carries no pause points. Steps:
- after_claim: a gateway draft is submitting, nothing sent yet (before its request is built)
- after_create: the gateway accepted the create, its id not stored yet
- during_poll: a batch of polls is claimed, its requests not sent yet
- after_download: the result is downloaded, not stored yet
- during_store: the result's first file is in storage, the video not committed yet
- during_render: a local render has started

`--claim-log` appends a line when a process starts and ends acting on a job it
claimed (a gateway create, a poll answer with its download and store), so the
scale tests can check that no two processes ever held one job at the same time.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any


def announce_pause(step: str, seconds: float) -> None:
    print(f"test pause at {step} for {seconds} s (pid {os.getpid()})", file=sys.stderr, flush=True)
    time.sleep(seconds)


def before(func: Callable[..., Any], wait: Callable[[], None]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wait()
        return func(*args, **kwargs)

    return wrapper


def after(func: Callable[..., Any], wait: Callable[[], None]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = func(*args, **kwargs)
        wait()
        return result

    return wrapper


def install_pause(step: str, seconds: float) -> None:
    from studio.jobs import poll, results, submit, sweep
    from studio.providers import registry

    def wait() -> None:
        announce_pause(step, seconds)

    if step == "after_claim":
        submit.build_request = before(submit.build_request, wait)  # type: ignore[attr-defined]
    elif step == "after_create":
        gateway = registry.provider_class("mountsea")
        gateway.submit = after(gateway.submit, wait)  # type: ignore[method-assign]
    elif step == "during_poll":
        sweep.fetch_poll = before(sweep.fetch_poll, wait)  # type: ignore[attr-defined]
    elif step == "after_download":
        poll.store_result = before(poll.store_result, wait)  # type: ignore[attr-defined]
    elif step == "during_store":
        results.save_file = after(results.save_file, wait)  # type: ignore[attr-defined]
    elif step == "during_render":
        local = registry.provider_class("local")
        local.render = before(local.render, wait)  # type: ignore[method-assign]
    else:
        raise SystemExit(f"unknown step {step!r}")


def install_slow_render(seconds: float) -> None:
    from studio.providers import registry

    local = registry.provider_class("local")
    local.render = after(local.render, lambda: time.sleep(seconds))  # type: ignore[method-assign]


def install_claim_log(path: str) -> None:
    """Log `begin`/`end` lines around the steps that act on a claimed job.

    A line: `begin|end HOLD JOB PGID PID WALLCLOCK STEP`. The file is opened for
    each line (O_APPEND: whole lines, safe across the cluster's forked processes).
    """
    from studio.jobs import submit, sweep

    def write(*fields: object) -> None:
        line = " ".join(str(f) for f in fields) + "\n"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def logged(step: str, func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(job: Any, *args: Any, **kwargs: Any) -> Any:
            hold = f"{uuid.uuid4().hex[:12]}-{threading.get_ident()}"
            ids = (job.pk, os.getpgrp(), os.getpid())
            write("begin", hold, *ids, f"{time.time():.6f}", step)
            try:
                return func(job, *args, **kwargs)
            finally:
                write("end", hold, *ids, f"{time.time():.6f}", step)

        return wrapper

    submit.send = logged("create", submit.send)  # type: ignore[attr-defined]
    sweep.apply_poll_outcome = logged("poll", sweep.apply_poll_outcome)  # type: ignore[attr-defined]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pause", default="", help="STEP:SECONDS")
    parser.add_argument("--slow-render", type=float, default=0.0)
    parser.add_argument("--claim-log", default="")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    if args.pause:
        step, _, seconds = args.pause.partition(":")
        install_pause(step, float(seconds or 60))
    if args.slow_render:
        install_slow_render(args.slow_render)
    if args.claim_log:
        install_claim_log(args.claim_log)
    from django.core.management import call_command

    call_command("worker")


if __name__ == "__main__":
    main(sys.argv[1:])
