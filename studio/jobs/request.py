"""Build the provider's `SubmitRequest` from a job's rows and stored files."""

from __future__ import annotations

from contextlib import ExitStack

from studio.models import Job
from studio.providers.base import InputImage, SceneClip, SourceVideo, SubmitRequest
from studio.services.signing import signed_reference_url
from studio.storage import local_copy


def build_request(job: Job, stack: ExitStack) -> SubmitRequest:
    images = []
    for item in job.inputs.select_related("image").order_by("position"):
        path = stack.enter_context(local_copy(item.image.file))
        images.append(
            InputImage(
                role=item.role,
                path=path,
                content_type=item.image.content_type,
                url=signed_reference_url(item.image),
            )
        )
    source = None
    if job.source_video is not None:
        video = job.source_video
        source = SourceVideo(
            path=stack.enter_context(local_copy(video.file)),
            width=video.width,
            height=video.height,
            media_id=video.media_id,
            task_id=video.job.upstream_id if video.job is not None else "",
        )
    mask_path = stack.enter_context(local_copy(job.mask.file)) if job.mask else None
    clips = tuple(
        SceneClip(
            path=stack.enter_context(local_copy(shot.video.file)),
            in_seconds=shot.in_seconds,
            out_seconds=shot.out_seconds,
        )
        for shot in job.export_shots.select_related("video")
    )
    params = dict(job.params)
    return SubmitRequest(
        job_id=str(job.public_id),
        mode=job.mode,
        model=job.model,
        prompt=job.prompt_text,
        aspect_ratio=params.get("aspect_ratio", "16:9"),
        duration_seconds=params.get("duration_seconds"),
        seed=params.get("seed"),
        images=tuple(images),
        source_video=source,
        mask_path=mask_path,
        params=params,
        clips=clips,
    )
