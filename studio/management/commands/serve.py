from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server (gunicorn) and the django-q2 worker cluster together."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--web-workers", type=int, default=int(os.environ.get("WEB_WORKERS", "2"))
        )
        parser.add_argument("--no-worker", action="store_true", help="Only the web server.")

    def handle(self, *args: Any, **options: Any) -> None:
        bind = f"{options['host']}:{options['port']}"
        python = sys.executable
        log_target = os.environ.get("STUDIO_ACCESS_LOG", "").strip() or "-"
        access_log = [] if log_target == "off" else ["--access-logfile", log_target]
        children: dict[str, subprocess.Popen[bytes]] = {}
        # Both processes get the same environment, so the same SECRET_KEY and
        # settings: a worker with another key could not read signed data.
        children["web"] = subprocess.Popen(
            [
                python,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                bind,
                "--workers",
                str(options["web_workers"]),
                "--timeout",
                "120",
                "--graceful-timeout",
                "10",
                *access_log,
            ]
        )
        if not options["no_worker"]:
            children["worker"] = subprocess.Popen([python, "manage.py", "worker"])

        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        self.stdout.write(
            self.style.SUCCESS(f"Studio is running on http://{bind}/")
            + f"  (web + {'worker' if 'worker' in children else 'no worker'}; Ctrl-C stops)"
        )
        if settings.DEBUG:
            self.stdout.write("DEBUG is on.")
        exit_code = 0
        while not stopping:
            for name, child in children.items():
                code = child.poll()
                if code is not None:
                    self.stderr.write(f"The {name} process exited with code {code}; stopping.")
                    exit_code = code or 1
                    stopping = True
                    break
            time.sleep(0.5)

        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for child in children.values():
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self.stdout.write("Studio stopped.")
        if exit_code:
            sys.exit(exit_code)
