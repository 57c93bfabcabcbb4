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
    assert body["worker"]["status"] == "never seen"


def test_healthz_is_200_with_a_fresh_heartbeat_and_reports_its_age(client: Client) -> None:
    WorkerHeartbeat.objects.create(name="sweep", beat_at=timezone.now() - timedelta(seconds=5))
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert 4 <= body["worker"]["age_seconds"] < 60


def test_healthz_is_503_when_the_worker_heartbeat_is_stale(client: Client, settings: Any) -> None:
    settings.STUDIO_WORKER_HEARTBEAT_MAX_AGE = 30
    WorkerHeartbeat.objects.create(name="sweep", beat_at=timezone.now() - timedelta(minutes=5))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["worker"]["status"] == "stale"


def test_healthz_needs_no_sign_in_and_is_not_cached(client: Client) -> None:
    response = client.get("/healthz")
    assert "login" not in response.get("Location", "")
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
