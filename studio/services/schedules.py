"""django-q2 schedules, created idempotently by name (never at import time)."""

from __future__ import annotations

from django_q.models import Schedule

SCHEDULES: list[dict[str, object]] = []


def ensure_schedules() -> None:
    for spec in SCHEDULES:
        name = str(spec["name"])
        defaults = {k: v for k, v in spec.items() if k != "name"}
        Schedule.objects.update_or_create(name=name, defaults=defaults)
