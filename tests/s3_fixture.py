"""A real S3 on loopback: `moto_server` started once per session, a fresh bucket per test.

`s3` points Studio's media storage at a new bucket on it (the settings a
deployment would set, then `STORAGES["default"]` as config/settings.py builds
it), so every FileField, `default_storage` and the code under test really talk
S3 over HTTP. Re-exported by tests/conftest.py.

Django keeps the built storage objects: changing `settings.STORAGES` through
pytest-django's `settings` sends `setting_changed`, whose receiver empties
`storages` and resets `default_storage`; FileFields hold `default_storage`
itself (a lazy proxy), so they follow. `S3Bucket.objects()` lists the bucket with
boto3, so a test proves the bytes are there and not on disk.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import httpx
import pytest
from django.core.files.storage import default_storage

from config.settings import s3_storage
from studio import storage as studio_storage

ACCESS_KEY = "studio-test-key"
SECRET_KEY = "studio-test-secret"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MotoServer:
    """A `moto_server` process on 127.0.0.1."""

    port: int
    process: subprocess.Popen[bytes]
    log: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_moto(*, enforce_credentials: bool = False) -> MotoServer:
    """Start `moto_server` on a free loopback port and wait until it answers.

    With `enforce_credentials` it checks every request's keys against its (empty)
    IAM, so any key is refused: an endpoint that refuses Studio's credentials.
    """
    port = free_port()
    env = {**os.environ, "MOTO_PORT": str(port)}
    env.pop("AWS_PROFILE", None)
    if enforce_credentials:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = MotoServer(port, process)
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{server.url}/moto-api/", timeout=1.0)
            return server
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.1)


@dataclass
class S3Bucket:
    """A fresh bucket on the session's moto server, with Studio's media storage pointed at it."""

    server: MotoServer
    name: str
    settings: Any
    delivery: str = "redirect"
    client: Any = field(init=False)

    def __post_init__(self) -> None:
        self.client = self.server.client()

    @property
    def endpoint(self) -> str:
        return self.server.url

    def objects(self) -> list[str]:
        """Every object key in the bucket, listed over S3 by boto3."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def read(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=self.name, Key=key)["Body"].read())

    def point(self, **overrides: Any) -> None:
        """(Re)build STORAGES["default"] for this bucket; `overrides` go to the backend."""
        entry = s3_storage(
            bucket=self.name,
            endpoint_url=overrides.pop("endpoint_url", self.endpoint),
            region=REGION,
            access_key_id=overrides.pop("access_key", ACCESS_KEY),
            secret_access_key=overrides.pop("secret_key", SECRET_KEY),
            prefix=overrides.pop("prefix", ""),
        )
        # Fail fast in tests: one try, short timeouts.
        entry["OPTIONS"].update({"connect_timeout": 2, "read_timeout": 10, "max_attempts": 1})
        entry["OPTIONS"].update(overrides)
        self.settings.STUDIO_S3_BUCKET = self.name
        self.settings.STUDIO_S3_ENDPOINT_URL = entry["OPTIONS"]["endpoint_url"]
        self.settings.STORAGES = {**self.settings.STORAGES, "default": entry}
        studio_storage.forget_checks()

    def use_delivery(self, delivery: str) -> None:
        self.delivery = delivery
        self.settings.STUDIO_S3_DELIVERY = delivery

    def stop_answering(self) -> None:
        """Point the storage at a closed loopback port: every S3 request fails to connect."""
        self.point(endpoint_url=f"http://127.0.0.1:{free_port()}")

    def answer_again(self) -> None:
        self.point()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[MotoServer]:
    server = start_moto()
    yield server
    server.stop()


@pytest.fixture
def s3(s3_server: MotoServer, settings: Any) -> Iterator[S3Bucket]:
    """A new empty bucket, with Studio's media storage (redirect delivery) on it."""
    bucket = S3Bucket(s3_server, f"studio-{uuid.uuid4().hex[:12]}", settings)
    bucket.client.create_bucket(Bucket=bucket.name)
    bucket.point()
    bucket.use_delivery("redirect")
    assert studio_storage.is_remote(default_storage)
    yield bucket
    studio_storage.forget_checks()
