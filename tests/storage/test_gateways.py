"""The gateways fetch reference images from media on S3 through Studio's signed links."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.runner import SandboxHandle
from studio.models import Status
from tests.conftest import Cast
from tests.factories import drive, make_reference, request_job
from tests.s3_fixture import S3Bucket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("delivery", ["redirect", "stream"])
def test_a_gateway_job_with_reference_images_gets_them_from_the_bucket(
    cast: Cast,
    s3: S3Bucket,
    sandbox: SandboxHandle,
    live_server: Any,
    settings: Any,
    delivery: str,
) -> None:
    s3.use_delivery(delivery)
    settings.STUDIO_PUBLIC_URL = live_server.url
    start = make_reference(cast.team)
    end = make_reference(cast.team, (20, 90, 200))
    assert {start.file.name, end.file.name} <= set(s3.objects())
    job = drive(
        request_job(
            cast.project,
            cast.editor,
            "mountsea",
            mode="img2video",
            images=[(start, "start"), (end, "end")],
        )
    )
    # The sandbox fetches every image link as the real gateway does (following
    # redirects) and refuses the create with 400 unless each answer is an image.
    assert job.status == Status.SUCCEEDED, list(job.events.values_list("reason", flat=True))
    body = sandbox.stats()["create_bodies"][0]["body"]
    assert len(body["imageList"]) == 2
    assert all(url.startswith(f"{live_server.url}/s/ref/") for url in body["imageList"])
    assert sandbox.creates == 1
