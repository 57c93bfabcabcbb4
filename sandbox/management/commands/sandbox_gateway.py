"""Serve the sandbox gateway so a running Studio can use the gateway path with no key."""

from __future__ import annotations

import argparse
import ipaddress
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sandbox.media import sample_mp4
from sandbox.runner import make_server, studio_env
from sandbox.server import DEFAULT_KEY, HELP


class Command(BaseCommand):
    help = "Serve both documented gateway contracts (Mountsea and /v1/videos) on 127.0.0.1."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--key", default=DEFAULT_KEY, help="the API key the sandbox accepts")
        parser.add_argument(
            "--step-seconds",
            type=float,
            default=2.0,
            help="how long each status step lasts (pending, assigned, processing)",
        )
        parser.add_argument(
            "--file-ttl", type=float, default=3600.0, help="seconds a result link stays valid"
        )
        parser.add_argument("--verbose", action="store_true", help="log every request")
        # For tests: stop by itself after this many seconds.
        parser.add_argument("--exit-after", type=float, default=None, help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        host = options["host"]
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            self.stderr.write(
                self.style.WARNING(
                    f"Serving on {host}: the sandbox has no real security, keep it off networks."
                )
            )
        try:
            server = make_server(
                host=host,
                port=options["port"],
                key=options["key"],
                step_seconds=options["step_seconds"],
                file_ttl=options["file_ttl"],
                verbose=options["verbose"],
            )
        except OSError as exc:
            raise CommandError(f"cannot listen on {host}:{options['port']}: {exc}") from None
        sample_mp4("16:9")
        sample_mp4("9:16")
        url = server.state.base_url
        self.stdout.write(f"Sandbox gateway on {url} (key {options['key']!r})\n")
        self.stdout.write("Point Studio at it with:\n")
        for name, value in studio_env(url, options["key"]).items():
            self.stdout.write(f"  export {name}={value}\n")
        self.stdout.write("\n" + HELP)
        self.stdout.flush()
        timer = None
        if options["exit_after"] is not None:
            timer = threading.Timer(options["exit_after"], server.shutdown)
            timer.start()
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            self.stdout.write("Stopping.\n")
        finally:
            if timer is not None:
                timer.cancel()
            server.state.stopping.set()
            server.server_close()
            server.drop_connections()
