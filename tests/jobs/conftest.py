from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from sandbox.runner import SandboxHandle
from studio.models import Job, ReferenceImage, Team
from tests.support import engine


@pytest.fixture
def gateway(sandbox: SandboxHandle, settings: Any) -> SandboxHandle:
    """The suite's sandbox (tests/sandbox_fixture.py), with short read timeouts."""
    settings.STUDIO_HTTP_READ_TIMEOUT = 1.0
    return sandbox


def make_reference(team: Team, colour: tuple[int, int, int] = (200, 40, 40)) -> ReferenceImage:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 180), colour).save(buffer, format="PNG")
    data = buffer.getvalue()
    import hashlib

    image = ReferenceImage(
        team=team,
        sha256=hashlib.sha256(data).hexdigest(),
        content_type="image/png",
        width=320,
        height=180,
        size_bytes=len(data),
        original_name="red.png",
    )
    image.file.save("red.png", ContentFile(data), save=False)
    image.save()
    return image


def drive(job: Job, *, max_passes: int = 200, until: set[str] | None = None) -> Job:
    """Run sweep passes (making every job due at once) until the job settles."""
    from django.utils import timezone

    until = until or {"succeeded", "failed", "cancelled", "needs_attention"}
    for _ in range(max_passes):
        job.refresh_from_db()
        if job.status in until:
            return job
        Job.objects.filter(pk=job.pk, next_poll_at__isnull=False).exclude(
            status="submitting"
        ).update(next_poll_at=timezone.now())
        engine.run_due_jobs()
        import time

        time.sleep(0.06)
    job.refresh_from_db()
    return job
