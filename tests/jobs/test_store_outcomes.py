"""A result's files stay exactly as long as a video may point at them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError, transaction
from django.db.models.signals import post_save
from django.utils import timezone

from sandbox.runner import SandboxHandle
from studio.jobs import sweep
from studio.models import Job, Status, Video
from tests.conftest import Cast
from tests.factories import drive, request_job

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_store_whose_commit_answer_is_lost_keeps_the_files_of_its_video(
    cast: Cast, gateway: SandboxHandle, settings: Any
) -> None:
    # PostgreSQL going away during COMMIT: the row is stored, yet the client gets
    # an OperationalError (the scale test's PostgreSQL outage found videos without files).
    job = drive(
        request_job(cast.project, cast.editor, "mountsea"), until={Status.QUEUED, Status.RUNNING}
    )
    time.sleep(0.3)  # the sandbox task is done

    def lost(**kwargs: Any) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    def answer_lost_after_commit(sender: Any, **kwargs: Any) -> None:
        transaction.on_commit(lambda: lost())

    post_save.connect(answer_lost_after_commit, sender=Video, dispatch_uid="answer-lost")
    try:
        Job.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
        sweep.run_due_jobs()
    finally:
        post_save.disconnect(sender=Video, dispatch_uid="answer-lost")
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED
    video = Video.objects.get(job=job)
    media = Path(settings.MEDIA_ROOT)
    for name in (video.file.name, video.poster.name, video.thumbnail.name):
        assert (media / name).is_file(), f"{name} was deleted under a stored video"
