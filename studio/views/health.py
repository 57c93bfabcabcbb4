from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from studio import storage
from studio.models import WorkerHeartbeat

# The worker's scheduler loop stamps this row every second or so. Other rows of
# the table (leases) say nothing about whether the worker is alive.
WORKER_HEARTBEAT = "worker"


@login_not_required
@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Database reachability, whether the worker is there (its heartbeat's age), and storage.

    A heartbeat older than `STUDIO_WORKER_HEARTBEAT_MAX_AGE`, or none at all,
    reports the worker `missing` (with the `reason`) and answers 503, so a
    load balancer or an operator sees a dead worker even while the web is up.
    Media on S3 that do not answer to Studio's credentials (refused keys, a
    missing bucket, an endpoint that is down) report `storage` as `error` with
    the `reason`, also 503; that look at the bucket is reused for a few seconds.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any database failure makes the service unhealthy
        failure = f"error: {type(exc).__name__}"
        return JsonResponse(
            {"database": failure, "status": "unhealthy", "worker": None}, status=503
        )

    max_age = settings.STUDIO_WORKER_HEARTBEAT_MAX_AGE
    beat = WorkerHeartbeat.objects.filter(name=WORKER_HEARTBEAT).first()
    worker: dict[str, object]
    if beat is None:
        worker = {"status": "missing", "reason": "never seen", "age_seconds": None}
    else:
        age = (timezone.now() - beat.beat_at).total_seconds()
        worker = {
            "status": "ok" if age <= max_age else "missing",
            "reason": None if age <= max_age else "stale",
            "age_seconds": round(age, 1),
            "last_beat": beat.beat_at.isoformat(),
            "pid": beat.pid,
        }
    worker["max_age_seconds"] = max_age
    media = storage.check()
    healthy = worker["status"] == "ok" and media["status"] == "ok"
    body: dict[str, object] = {
        "database": "ok",
        "worker": worker,
        "storage": media,
        "status": "ok" if healthy else "unhealthy",
    }
    return JsonResponse(body, status=200 if healthy else 503)
