"""A bucket that stops answering: clear errors, nothing half-saved, no job lost or sent twice."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from sandbox.runner import SandboxHandle
from studio.models import Job, JobEvent, Mask, Mode, ReferenceImage, Status, Video
from studio.storage import MediaStorage
from tests import factories
from tests.conftest import Cast
from tests.factories import drive, image_bytes, member_client, request_job, upload
from tests.s3_fixture import S3Bucket
from tests.support.engine import run_due_jobs

pytestmark = pytest.mark.django_db(transaction=True)


def passes_until(job: Job, done: Callable[[Job], bool], timeout: float = 30.0) -> Job:
    """Sweep passes with every wait brought forward (as `drive` does) until `done(job)`."""
    deadline = time.monotonic() + timeout
    while True:
        job.refresh_from_db()
        if done(job):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"{job.status}: {list(job.events.values_list('reason'))}")
        Job.objects.filter(pk=job.pk, next_poll_at__gt=timezone.now()).exclude(
            status=Status.SUBMITTING
        ).update(next_poll_at=timezone.now())
        run_due_jobs()
        time.sleep(0.05)


def store_failures(job: Job) -> list[str]:
    return list(
        JobEvent.objects.filter(job=job, reason__startswith="Storing the result failed")
        .order_by("pk")
        .values_list("reason", flat=True)
    )


@pytest.fixture
def after_first_put(s3: S3Bucket) -> Iterator[Callable[[Callable[[], None]], None]]:
    """Run an action right after the first object of a store reached the bucket.

    The store then goes on with its poster against a bucket that is gone: a
    failure in the middle of the upload, not before it.
    """
    hooks: list[tuple[Any, Any]] = []

    def arm(action: Callable[[], None]) -> None:
        assert isinstance(default_storage, MediaStorage)
        events = default_storage.connection.meta.client.meta.events
        fired = []

        def once(**kwargs: Any) -> None:
            if not fired:
                fired.append(True)
                action()

        events.register("after-call.s3.PutObject", once)
        hooks.append((events, once))

    yield arm
    for events, hook in hooks:
        events.unregister("after-call.s3.PutObject", hook)


def _delete_bucket(s3: S3Bucket) -> None:
    for key in s3.objects():
        s3.client.delete_object(Bucket=s3.name, Key=key)
    s3.client.delete_bucket(Bucket=s3.name)


@pytest.mark.parametrize("outage", ["endpoint down", "bucket deleted"])
def test_a_bucket_lost_mid_store_keeps_the_job_and_stores_it_later_without_a_second_create(
    cast: Cast, s3: S3Bucket, sandbox: SandboxHandle, after_first_put: Any, outage: str
) -> None:
    if outage == "endpoint down":
        after_first_put(s3.stop_answering)
    else:
        after_first_put(lambda: _delete_bucket(s3))
    job = request_job(cast.project, cast.editor, "mountsea")
    job = passes_until(job, lambda j: len(store_failures(j)) >= 2)

    # The job is still waiting for its result, holds no video and was sent once.
    assert job.status in (Status.QUEUED, Status.RUNNING)
    assert job.submit_attempts == 1 and job.upstream_id
    assert not Video.objects.filter(job=job).exists()
    first = store_failures(job)[0]
    expected = "does not exist" if outage == "bucket deleted" else "did not answer"
    assert "storage unavailable" in first and expected in first, first
    assert "the result stays at" in first

    # Storage comes back: the next pass downloads the result again and stores it.
    if outage == "endpoint down":
        s3.answer_again()
    else:
        s3.client.create_bucket(Bucket=s3.name)
    job = drive(job)
    assert job.status == Status.SUCCEEDED, list(job.events.values_list("reason", flat=True))
    video = Video.objects.get(job=job)
    # Exactly its three files: what the interrupted store left was deleted once stored.
    assert set(s3.objects()) == {video.file.name, video.poster.name, video.thumbnail.name}
    assert job.storing == []
    assert job.submit_attempts == 1
    assert sandbox.creates == 1
    assert sandbox.downloads >= 3


def test_a_store_failing_until_the_deadline_fails_as_timed_out_and_is_collected_late(
    cast: Cast, s3: S3Bucket, sandbox: SandboxHandle
) -> None:
    s3.stop_answering()
    job = request_job(cast.project, cast.editor, "mountsea")
    job = passes_until(job, lambda j: len(store_failures(j)) >= 1)
    Job.objects.filter(pk=job.pk).update(deadline_at=timezone.now())
    job = passes_until(job, lambda j: j.status == Status.FAILED)
    assert job.fail_reason == "timeout" and job.next_poll_at is not None
    assert "could not be stored before the deadline" in job.events.last().reason  # type: ignore[union-attr]

    s3.answer_again()
    job = passes_until(job, lambda j: j.status == Status.SUCCEEDED)
    assert Video.objects.get(job=job).file.name in s3.objects()
    assert sandbox.creates == 1


def test_a_gateway_job_whose_reference_image_cannot_be_read_is_not_sent_and_retried(
    cast: Cast, s3: S3Bucket, sandbox: SandboxHandle, live_server: Any, settings: Any
) -> None:
    from tests.factories import make_reference

    settings.STUDIO_PUBLIC_URL = live_server.url
    image = make_reference(cast.team)
    s3.stop_answering()
    job = request_job(
        cast.project, cast.editor, "mountsea", mode="img2video", images=[(image, "start")]
    )
    job = passes_until(job, lambda j: j.submit_attempts >= 1 and j.status == Status.DRAFT)
    assert "nothing was started upstream" in job.events.last().reason  # type: ignore[union-attr]
    assert sandbox.creates == 0
    s3.answer_again()
    job = drive(job)
    assert job.status == Status.SUCCEEDED, list(job.events.values_list("reason", flat=True))
    assert sandbox.creates == 1


def test_a_local_render_with_the_bucket_down_fails_clearly(cast: Cast, s3: S3Bucket) -> None:
    s3.stop_answering()
    job = drive(request_job(cast.project, cast.editor))
    assert job.status == Status.FAILED
    assert job.error_message == "Storage is unavailable; nothing was saved. Run the job again."
    assert "media storage is unavailable" in job.events.last().reason  # type: ignore[union-attr]
    assert not Video.objects.filter(job=job).exists()


def test_an_upload_while_the_bucket_is_down_saves_nothing_and_says_so(
    cast: Cast, s3: S3Bucket
) -> None:
    s3.stop_answering()
    client = member_client(cast.team, cast.editor)
    response = client.post("/library/", {"images": [upload("a.png", image_bytes("PNG"))]})
    assert response.status_code == 200
    assert "a.png: Storage is unavailable; nothing was saved. Try again." in (
        response.content.decode()
    )
    assert not ReferenceImage.objects.exists()
    s3.answer_again()
    assert s3.objects() == []


def test_an_upload_to_a_deleted_bucket_saves_nothing_and_says_so(cast: Cast, s3: S3Bucket) -> None:
    s3.client.delete_bucket(Bucket=s3.name)
    client = member_client(cast.team, cast.editor)
    response = client.post("/library/", {"images": [upload("a.png", image_bytes("PNG"))]})
    assert "Storage is unavailable; nothing was saved. Try again." in response.content.decode()
    assert not ReferenceImage.objects.exists()


def test_a_mask_sent_while_the_bucket_is_down_keeps_nothing_and_says_so(
    cast: Cast, s3: S3Bucket
) -> None:
    source = factories.make_output(cast.project, cast.owner, **factories.PAINTER_CLIP)
    painted = factories.mask_jpeg(source.width, source.height)
    s3.stop_answering()
    response = cast.client_for(cast.editor).post(
        f"/videos/{source.public_id}/remove/",
        {
            "mask_data": "data:image/jpeg;base64," + base64.b64encode(painted).decode(),
            "frame_seconds": "0",
            "provider": "local",
        },
    )
    assert response.status_code == 409
    assert "Storage is unavailable; try again shortly." in response.content.decode()
    assert not Mask.objects.exists() and not Job.objects.filter(mode=Mode.REMOVAL).exists()
    s3.answer_again()
    assert set(s3.objects()) == {source.file.name, source.poster.name, source.thumbnail.name}
