"""System checks that look outside the process: `manage.py check --deploy`.

With media on S3, the deploy check asks the bucket once, so a deployment with
refused keys or a missing bucket says so before it serves anyone.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.core.files.storage import default_storage

from studio.storage import MediaStorage


@register("storage", deploy=True)
def media_storage_answers(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not isinstance(default_storage, MediaStorage):
        return []
    problem = default_storage.problem()
    if problem is None:
        return []
    return [
        Error(
            f"Media storage on S3 is not usable: {problem}.",
            hint="Check STUDIO_S3_ENDPOINT_URL, STUDIO_S3_BUCKET (it must exist) and the keys.",
            id="studio.E001",
        )
    ]
