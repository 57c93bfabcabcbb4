"""A submitted removal runs to the end: on the sandbox Mountsea gateway, and locally."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from sandbox.runner import SandboxHandle
from studio.models import Job, Mode, Status, Video
from tests import factories
from tests.conftest import Cast
from tests.factories import drive, mountsea_video

pytestmark = pytest.mark.django_db(transaction=True)


def _submit(cast: Cast, video: Video, provider: str, **extra: Any) -> Job:
    painted = factories.mask_jpeg(video.width, video.height)
    response = cast.client_for(cast.editor).post(
        f"/videos/{video.public_id}/remove/",
        {
            "mask_data": "data:image/jpeg;base64," + base64.b64encode(painted).decode(),
            "frame_seconds": "0",
            "provider": provider,
            **extra,
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    return Job.objects.get(mode=Mode.REMOVAL, source_video=video)


def test_a_removal_of_a_mountsea_video_runs_on_the_sandbox_gateway(
    cast: Cast, sandbox: SandboxHandle
) -> None:
    source = mountsea_video(cast.project, cast.owner)
    job = _submit(cast, source, "mountsea", prompt="empty sand")
    assert (job.provider, job.model) == ("mountsea", "object_remove")
    job = drive(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    sent = [b for b in sandbox.stats()["create_bodies"] if "imageMask" in str(b)]
    assert len(sent) == 1
    # The sandbox decoded the base64 JPEG; it records its size instead of the data.
    assert source.media_id in str(sent[0]) and "bytes>" in str(sent[0])
    result = Video.objects.get(job=job)
    assert result.parent == source
    assert (result.width, result.height) == (640, 360)


def test_a_removal_runs_on_the_local_engine(cast: Cast) -> None:
    source = factories.make_output(cast.project, cast.owner, **factories.PAINTER_CLIP)
    job = drive(_submit(cast, source, "local"))
    assert job.status == Status.SUCCEEDED, job.error_message
    result = Video.objects.get(job=job)
    assert result.parent == source
    assert (result.width, result.height) == (source.width, source.height)
