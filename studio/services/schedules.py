"""django-q2 schedules, created idempotently by name (never at import time)."""

from __future__ import annotations

from django_q.models import Schedule

# The sweeper loops for ~55 s and hands over to the next one itself; the
# schedule only restarts it after its worker died.
SCHEDULES: list[dict[str, object]] = [
    {
        "name": "studio-sweeper",
        "func": "studio.tasks.sweeper",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
        "repeats": -1,
    },
]


def ensure_schedules() -> None:
    for spec in SCHEDULES:
        name = str(spec["name"])
        defaults = {k: v for k, v in spec.items() if k != "name"}
        Schedule.objects.update_or_create(name=name, defaults=defaults)
