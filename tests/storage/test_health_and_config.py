"""Bad storage configuration is reported clearly: /healthz, `check --deploy`, settings."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client
from django.utils import timezone

from studio import storage
from studio.models import ReferenceImage, WorkerHeartbeat
from tests.conftest import Cast
from tests.factories import image_bytes, member_client, upload
from tests.s3_fixture import REGION, MotoServer, S3Bucket, start_moto

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _worker_alive(db: Any) -> None:
    WorkerHeartbeat.objects.create(name="worker", pid=1, beat_at=timezone.now())


@pytest.fixture(scope="module")
def refusing_server() -> Iterator[MotoServer]:
    """An S3 that checks every request's keys, and knows none: it refuses all credentials."""
    server = start_moto(enforce_credentials=True)
    yield server
    server.stop()


def test_healthz_reports_the_bucket_ok(client: Client, s3: S3Bucket) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["storage"] == {"status": "ok", "backend": "s3", "bucket": s3.name}


def test_healthz_reports_local_storage_ok_without_s3(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["storage"] == {"status": "ok", "backend": "local"}


def test_a_missing_bucket_makes_healthz_503_with_the_reason(client: Client, s3: S3Bucket) -> None:
    s3.client.delete_bucket(Bucket=s3.name)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["storage"]["status"] == "error"
    assert body["storage"]["reason"] == (f"the bucket {s3.name!r} does not exist at {s3.endpoint}")


@pytest.mark.slow
def test_refused_credentials_make_healthz_503_and_uploads_save_nothing(
    cast: Cast, s3: S3Bucket, refusing_server: MotoServer
) -> None:
    s3.point(endpoint_url=refusing_server.url)
    response = Client().get("/healthz")
    assert response.status_code == 503
    reason = response.json()["storage"]["reason"]
    assert reason.startswith(f"{refusing_server.url} refused Studio's credentials")
    assert "STUDIO_S3_ACCESS_KEY_ID" in reason

    client = member_client(cast.team, cast.editor)
    page = client.post("/library/", {"images": [upload("a.png", image_bytes("PNG"))]})
    assert "Storage is unavailable; nothing was saved. Try again." in page.content.decode()
    assert not ReferenceImage.objects.exists()


def test_healthz_looks_at_the_bucket_at_most_every_few_seconds(
    client: Client, s3: S3Bucket
) -> None:
    assert isinstance(default_storage, storage.MediaStorage)
    heads: list[str] = []
    default_storage.connection.meta.client.meta.events.register(
        "before-send.s3.HeadBucket", lambda **kwargs: heads.append("head")
    )
    for _ in range(5):
        assert client.get("/healthz").status_code == 200
    assert heads == ["head"]
    # Once the look is older than CHECK_SECONDS, the next request looks again.
    for key, (seen, reason) in list(storage._checked.items()):
        storage._checked[key] = (seen - storage.CHECK_SECONDS - 1, reason)
    s3.client.delete_bucket(Bucket=s3.name)
    assert client.get("/healthz").status_code == 503
    assert heads == ["head", "head"]


def test_check_deploy_says_what_is_wrong_with_the_bucket(s3: S3Bucket) -> None:
    call_command("check", deploy=True, tags=["storage"])  # a good bucket: nothing to say
    s3.client.delete_bucket(Bucket=s3.name)
    with pytest.raises(SystemCheckError) as caught:
        call_command("check", deploy=True, tags=["storage"])
    message = str(caught.value)
    assert "studio.E001" in message
    assert f"the bucket {s3.name!r} does not exist" in message


def test_a_storage_failure_is_described_in_one_sentence() -> None:
    refused = ClientError({"Error": {"Code": "InvalidAccessKeyId", "Message": "nope"}}, "PutObject")
    assert "refused Studio's credentials for bucket 'b' (InvalidAccessKeyId)" in storage.describe(
        refused, bucket="b", endpoint="http://s3.test"
    )


def _settings_error(**env: str) -> str:
    """What importing the settings says with these variables (in a fresh process)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_S3_")}
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        env={**clean, "STUDIO_TESTING": "1", **env},
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stderr.strip().splitlines()[-1] if result.returncode else ""


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STUDIO_S3_BUCKET": "Not_A_Bucket"}, "STUDIO_S3_BUCKET must be an S3 bucket name"),
        (
            {"STUDIO_S3_BUCKET": "media", "STUDIO_S3_DELIVERY": "proxy"},
            "STUDIO_S3_DELIVERY must be 'redirect' (presigned URL) or 'stream'",
        ),
        (
            {"STUDIO_S3_BUCKET": "media", "STUDIO_S3_ENDPOINT_URL": "127.0.0.1:9000"},
            "STUDIO_S3_ENDPOINT_URL must be the service's address",
        ),
        (
            {"STUDIO_S3_BUCKET": "media", "STUDIO_S3_ACCESS_KEY_ID": "only-the-id"},
            "STUDIO_S3_ACCESS_KEY_ID and STUDIO_S3_SECRET_ACCESS_KEY go together",
        ),
        (
            {"STUDIO_S3_ENDPOINT_URL": "http://127.0.0.1:9000"},
            "STUDIO_S3_ENDPOINT_URL is set but STUDIO_S3_BUCKET is empty",
        ),
        ({"STUDIO_S3_BUCKET": "media", "STUDIO_S3_PREFIX": "a/../b"}, "STUDIO_S3_PREFIX must"),
    ],
)
def test_bad_s3_settings_are_refused_with_a_clear_message(
    env: dict[str, str], message: str
) -> None:
    assert message in _settings_error(**env)


def test_good_s3_settings_put_media_on_s3_and_static_files_stay_local() -> None:
    code = (
        "from config import settings as s; "
        "print(s.STORAGES['default']['BACKEND'], s.STORAGES['default']['OPTIONS']['location'], "
        "s.STORAGES['staticfiles']['BACKEND'], s.SECURE_CSP['media-src'][-1])"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_S3_")}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={
            **clean,
            "STUDIO_TESTING": "1",
            "STUDIO_S3_BUCKET": "studio-media",
            "STUDIO_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
            "STUDIO_S3_REGION": REGION,
            "STUDIO_S3_PREFIX": "/prod/",
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == [
        "studio.storage.MediaStorage",
        "prod",
        "django.contrib.staticfiles.storage.StaticFilesStorage",
        "http://127.0.0.1:9000",
    ]


def test_the_worker_says_at_start_where_media_go_and_what_is_wrong(
    s3: S3Bucket, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="studio.storage"):
        storage.log_at_start()
        s3.client.delete_bucket(Bucket=s3.name)
        storage.log_at_start()
    first, second = (record.getMessage() for record in caplog.records)
    assert first == f"media storage: S3 bucket {s3.name!r} at {s3.endpoint}"
    assert second.startswith(f"media storage: S3 bucket {s3.name!r} at {s3.endpoint} is NOT usable")
    assert "does not exist" in second
