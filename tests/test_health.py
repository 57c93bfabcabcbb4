from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from studio.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db


def test_healthz_is_503_when_no_worker_was_ever_seen(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["status"] == "unhealthy"
    assert body["worker"]["status"] == "missing"
    assert body["worker"]["reason"] == "never seen"


def test_healthz_is_200_with_a_fresh_heartbeat_and_reports_its_age(client: Client) -> None:
    WorkerHeartbeat.objects.create(
        name="worker", pid=4321, beat_at=timezone.now() - timedelta(seconds=5)
    )
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["worker"]["status"] == "ok"
    assert body["worker"]["reason"] is None
    assert body["worker"]["pid"] == 4321
    assert 4 <= body["worker"]["age_seconds"] < 60


def test_healthz_is_503_when_the_worker_heartbeat_is_stale(client: Client, settings: Any) -> None:
    settings.STUDIO_WORKER_HEARTBEAT_MAX_AGE = 30
    WorkerHeartbeat.objects.create(name="worker", beat_at=timezone.now() - timedelta(minutes=5))
    response = client.get("/healthz")
    assert response.status_code == 503
    worker = response.json()["worker"]
    assert worker["status"] == "missing"
    assert worker["reason"] == "stale"
    assert worker["max_age_seconds"] == 30
    assert worker["age_seconds"] >= 299


def test_healthz_turns_missing_just_past_the_max_age(client: Client, settings: Any) -> None:
    settings.STUDIO_WORKER_HEARTBEAT_MAX_AGE = 30
    beat = WorkerHeartbeat.objects.create(
        name="worker", beat_at=timezone.now() - timedelta(seconds=25)
    )
    assert client.get("/healthz").status_code == 200
    beat.beat_at = timezone.now() - timedelta(seconds=35)
    beat.save()
    assert client.get("/healthz").json()["worker"]["status"] == "missing"


def test_healthz_ignores_fresh_rows_that_are_not_the_worker_heartbeat(client: Client) -> None:
    # Leases share the table; a live lease row says nothing about the worker.
    WorkerHeartbeat.objects.create(name="worker", beat_at=timezone.now() - timedelta(hours=1))
    WorkerHeartbeat.objects.create(name="sweeper-lease", pid=7, beat_at=timezone.now())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["worker"]["reason"] == "stale"


def test_the_default_max_age_notices_a_dead_worker_within_a_minute() -> None:
    from django.conf import settings

    assert 5 <= settings.STUDIO_WORKER_HEARTBEAT_MAX_AGE <= 60


def test_healthz_needs_no_sign_in_and_is_not_cached(client: Client) -> None:
    response = client.get("/healthz")
    assert "login" not in response.get("Location", "")
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_healthz_refuses_post(client: Client) -> None:
    assert client.post("/healthz").status_code == 405
