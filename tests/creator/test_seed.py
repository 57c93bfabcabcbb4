"""A seed is offered, stored and shown only where the provider takes one: the
gateways drop it, so a seed on their videos would promise a reproducible re-run."""

from __future__ import annotations

import html
import uuid
from typing import Any

import pytest

from studio.models import Job
from tests.conftest import Cast
from tests.factories import make_output

pytestmark = pytest.mark.django_db


def _post(cast: Cast, *, refresh: bool = False, **values: Any) -> Any:
    data = {
        "mode": "text2video",
        "model": "draft",
        "prompt": "A red kite over green hills",
        "aspect_ratio": "16:9",
        "duration_seconds": "4",
        "seed": "7",
        "idempotency_key": str(uuid.uuid4()),
        **values,
    }
    if refresh:
        data["refresh"] = "1"
    url = f"/projects/{cast.project.public_id}/generate/"
    return cast.client_for(cast.editor).post(url, data, HTTP_HX_REQUEST="true")


def test_the_generate_form_offers_a_seed_for_the_local_engine_and_none_for_a_gateway(
    cast: Cast,
) -> None:
    local = _post(cast, refresh=True, provider="local").content.decode()
    assert 'name="seed" value="7"' in local and "More options" in local
    gateway = _post(
        cast, refresh=True, provider="gateway", model="veo-fast", duration_seconds=""
    ).content.decode()
    assert 'name="seed"' not in gateway and "More options" not in gateway


def test_a_seed_posted_for_a_gateway_is_not_stored(cast: Cast) -> None:
    _post(cast, provider="gateway", model="veo-fast", duration_seconds="")
    job = Job.objects.get()
    assert job.provider == "gateway" and "seed" not in job.params


def test_the_video_page_shows_the_seed_only_where_it_reached_the_model(cast: Cast) -> None:
    local = make_output(cast.project, cast.editor, params={"aspect_ratio": "16:9", "seed": 4242})
    # Jobs stored before this change carry a seed the gateway never received.
    gateway = make_output(
        cast.project,
        cast.editor,
        provider="gateway",
        model="veo-fast",
        params={"aspect_ratio": "16:9", "seed": 5151},
    )
    client = cast.client_for(cast.viewer)
    local_page = html.unescape(client.get(f"/videos/{local.public_id}/").content.decode())
    gateway_page = html.unescape(client.get(f"/videos/{gateway.public_id}/").content.decode())
    assert "<dt>Seed</dt>" in local_page and "4242" in local_page
    assert "<dt>Seed</dt>" not in gateway_page and "5151" not in gateway_page
