from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from studio.models import WorkerHeartbeat


@login_not_required
@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Database reachability and the age of the worker's last heartbeat."""
    body: dict[str, object] = {}
    healthy = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        body["database"] = "ok"
    except Exception as exc:  # any database failure makes the service unhealthy
        body["database"] = f"error: {type(exc).__name__}"
        return JsonResponse({**body, "status": "unhealthy", "worker": None}, status=503)

    beat = WorkerHeartbeat.objects.order_by("-beat_at").first()
    max_age = settings.STUDIO_WORKER_HEARTBEAT_MAX_AGE
    if beat is None:
        body["worker"] = {"status": "never seen", "age_seconds": None, "max_age_seconds": max_age}
        healthy = False
    else:
        age = (timezone.now() - beat.beat_at).total_seconds()
        ok = age <= max_age
        healthy = healthy and ok
        body["worker"] = {
            "status": "ok" if ok else "stale",
            "age_seconds": round(age, 1),
            "max_age_seconds": max_age,
            "last_beat": beat.beat_at.isoformat(),
        }
    body["status"] = "ok" if healthy else "unhealthy"
    return JsonResponse(body, status=200 if healthy else 503)
