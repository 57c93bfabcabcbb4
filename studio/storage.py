"""Where media live: on local disk (embedded mode) or in an S3-compatible bucket (scaled mode).

`STUDIO_S3_BUCKET` switches `STORAGES["default"]` to `MediaStorage`, django-storages'
S3 backend with what Studio needs on top: short timeouts (a bucket that stops
answering fails a store in seconds, not minutes), ranged reads (a seek in a
video fetches that range only), presigned URLs with the response's type and
disposition, and a cheap reachability check for `/healthz`.

The rest of Studio asks this module, never the backend: `local_copy` for a file
the engine or a provider needs on disk, `is_storage_error`/`describe` to turn a
botocore failure into a sentence for the job's trail or a form, `check` for
`/healthz`. It imports nothing from Studio, so anything may import it.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.storage import Storage, default_storage
from django.db.models.fields.files import FieldFile
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

log = logging.getLogger(__name__)

BLOCK_SIZE = 64 * 1024
# How long /healthz trusts its last look at the bucket.
CHECK_SECONDS = 10.0

UNAVAILABLE = "Storage is unavailable; nothing was saved. Try again."
UNREADABLE = "Storage is unavailable; try again shortly."
# What a failing object store raises (down, refusing our keys, bucket gone).
STORAGE_ERRORS = (BotoCoreError, ClientError)


class MediaStorage(S3Storage):
    """django-storages' S3 backend with Studio's timeouts, ranges and presigned URLs."""

    client_config: Config
    connect_timeout: int
    read_timeout: int
    max_attempts: int

    def get_default_settings(self) -> dict[str, Any]:
        defaults: dict[str, Any] = super().get_default_settings()
        defaults.update(
            # Seconds to open a connection and to wait for an answer, and how
            # many times botocore tries a request that failed in a retryable way.
            connect_timeout=5,
            read_timeout=30,
            max_attempts=3,
            # Opened files spill to disk past this size instead of living in memory.
            max_memory_size=8 * 1024 * 1024,
        )
        return defaults

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.client_config = self.client_config.merge(
            Config(
                connect_timeout=self.connect_timeout,
                read_timeout=self.read_timeout,
                retries={"max_attempts": self.max_attempts, "mode": "standard"},
            )
        )

    def key(self, name: str) -> str:
        """The object key of a stored name (the prefix included)."""
        return str(self._normalize_name(clean_name(name)))

    def open_range(self, name: str, first: int, last: int) -> Iterator[bytes]:
        """Bytes `first`..`last` (inclusive) of a stored file, fetched as that range only."""
        answer = self.connection.meta.client.get_object(
            Bucket=self.bucket_name, Key=self.key(name), Range=f"bytes={first}-{last}"
        )
        body = answer["Body"]
        try:
            yield from body.iter_chunks(BLOCK_SIZE)
        finally:
            body.close()

    def download_to(self, name: str, dest: Path) -> None:
        """Copy a stored file to `dest` on disk without holding it in memory."""
        self.connection.meta.client.download_file(
            self.bucket_name, self.key(name), str(dest), Config=self.transfer_config
        )

    def presigned_url(
        self, name: str, *, content_type: str, disposition: str, cache_control: str, seconds: int
    ) -> str:
        """A short-lived GET URL whose answer carries our type, disposition and caching."""
        return str(
            self.url(
                name,
                parameters={
                    "ResponseContentType": content_type,
                    "ResponseContentDisposition": disposition,
                    "ResponseCacheControl": cache_control,
                },
                expire=seconds,
            )
        )

    def problem(self) -> str | None:
        """None when the bucket answers to our credentials, else what is wrong."""
        try:
            self.connection.meta.client.head_bucket(Bucket=self.bucket_name)
        except (BotoCoreError, ClientError) as exc:
            return describe(exc, bucket=self.bucket_name, endpoint=self.endpoint_url)
        return None


def is_remote(storage: Storage) -> bool:
    return isinstance(storage, MediaStorage)


def is_storage_error(exc: BaseException) -> bool:
    """True for a failure of the object store itself (down, refusing us, bucket gone)."""
    return isinstance(exc, STORAGE_ERRORS)


def is_missing_object(exc: BaseException) -> bool:
    """True when the bucket answered and has no such object (a missing bucket is not this)."""
    if not isinstance(exc, ClientError):
        return False
    return str(exc.response.get("Error", {}).get("Code", "")) in {"404", "NoSuchKey", "NotFound"}


def describe(exc: BaseException, *, bucket: str = "", endpoint: str | None = None) -> str:
    """One sentence about a storage failure, for a job's trail, a log line or /healthz."""
    if not bucket and isinstance(default_storage, MediaStorage):
        bucket, endpoint = default_storage.bucket_name, default_storage.endpoint_url
    where = endpoint or "S3"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in {"NoSuchBucket", "404"} or (status == 404 and not code):
            return (
                f"the bucket {bucket!r} does not exist at {where}"
                if bucket
                else ("the bucket does not exist")
            )
        if code in {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403"} or (
            status == 403
        ):
            return (
                f"{where} refused Studio's credentials for bucket {bucket!r} ({code or status}); "
                "check STUDIO_S3_ACCESS_KEY_ID and STUDIO_S3_SECRET_ACCESS_KEY"
            )
        return f"{where} answered {code or status}: {error.get('Message', '')}".rstrip(": ")
    return f"{where} did not answer: {exc}"


def discard(storage: Storage, name: str) -> bool:
    """Delete a file nobody needs any more; if the storage fails, log it, go on, return False."""
    try:
        storage.delete(name)
    except STORAGE_ERRORS as exc:
        log.warning("could not delete %s (%s); it is left in storage", name, describe(exc))
        return False
    return True


@contextmanager
def local_copy(field: FieldFile) -> Iterator[Path]:
    """A filesystem path for a stored file, copying it out of remote storage if needed."""
    storage = field.storage
    name = str(field.name)
    if not is_remote(storage):
        try:
            path = storage.path(name)
        except NotImplementedError:
            pass
        else:
            yield Path(path)
            return
    with tempfile.TemporaryDirectory(prefix="studio-copy-") as tmp:
        dest = Path(tmp) / f"copy{Path(name).suffix}"
        if isinstance(storage, MediaStorage):
            storage.download_to(name, dest)
        else:
            with field.open("rb") as src, dest.open("wb") as out:
                shutil.copyfileobj(src, out)
        yield dest


_checked: dict[tuple[object, ...], tuple[float, str | None]] = {}
_check_lock = threading.Lock()


def check() -> dict[str, object]:
    """The media storage's health for /healthz, looked at no more than every CHECK_SECONDS."""
    storage = default_storage
    if not is_remote(storage):
        return {"status": "ok", "backend": "local"}
    assert isinstance(storage, MediaStorage)
    cache_key = (storage.bucket_name, storage.endpoint_url, storage.access_key, storage.location)
    now = time.monotonic()
    with _check_lock:
        seen = _checked.get(cache_key)
    if seen is None or now - seen[0] > CHECK_SECONDS:
        reason = storage.problem()
        if reason is not None and (seen is None or seen[1] != reason):
            log.error("media storage: %s", reason)
        with _check_lock:
            _checked[cache_key] = (now, reason)
    else:
        reason = seen[1]
    if reason is None:
        return {"status": "ok", "backend": "s3", "bucket": storage.bucket_name}
    return {"status": "error", "backend": "s3", "bucket": storage.bucket_name, "reason": reason}


def log_at_start() -> None:
    """One line at a process's start saying where media go, and what is wrong if they cannot."""
    if not isinstance(default_storage, MediaStorage):
        log.info("media storage: local folder %s", getattr(default_storage, "location", "?"))
        return
    where = f"S3 bucket {default_storage.bucket_name!r} at {default_storage.endpoint_url or 'AWS'}"
    problem = default_storage.problem()
    if problem is None:
        log.info("media storage: %s", where)
    else:
        log.error(
            "media storage: %s is NOT usable: %s. Results are kept upstream and stored "
            "once it answers; uploads are refused until then.",
            where,
            problem,
        )


def forget_checks() -> None:
    """Drop the cached health (tests that change the storage under a running process)."""
    with _check_lock:
        _checked.clear()
