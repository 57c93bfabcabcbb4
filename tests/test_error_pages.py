from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client

from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def test_a_missing_page_is_a_finished_404_page(cast: Cast) -> None:
    response = cast.client_for(cast.owner).get(f"/projects/{uuid.uuid4()}/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Nothing here" in body and "Traceback" not in body


def test_a_refused_action_explains_itself(cast: Cast) -> None:
    response = cast.client_for(cast.viewer).post(f"/projects/{cast.project.public_id}/archive/")
    assert response.status_code == 403
    assert "Viewers cannot change anything" in response.content.decode()


def test_a_server_error_shows_no_stack_trace(settings: Any, monkeypatch: Any) -> None:
    from studio.views import health

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret internals sk-live-123")

    monkeypatch.setattr(health.WorkerHeartbeat.objects, "filter", explode)
    client = Client(raise_request_exception=False)
    response = client.get("/healthz")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body
    assert "sk-live-123" not in body and "Traceback" not in body
