from __future__ import annotations

import time
from typing import Any

import pytest
from django.core import signing
from django.test import Client

from studio.services.signing import SALT, signed_reference_url
from tests.conftest import Cast
from tests.factories import make_reference

pytestmark = pytest.mark.django_db


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_a_signed_link_serves_the_image_without_sign_in(cast: Cast, client: Client) -> None:
    image = make_reference(cast.team)
    url = signed_reference_url(image)
    assert url.startswith("http://127.0.0.1:8000/s/ref/")
    response = client.get(_path(url))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")  # type: ignore[attr-defined]


def test_a_signed_link_uses_the_public_url_setting(cast: Cast, settings: Any) -> None:
    settings.STUDIO_PUBLIC_URL = "https://studio.example.com"
    assert signed_reference_url(make_reference(cast.team)).startswith(
        "https://studio.example.com/s/ref/"
    )


def test_a_signed_link_is_404_once_expired(
    cast: Cast, client: Client, settings: Any, monkeypatch: Any
) -> None:
    url = signed_reference_url(make_reference(cast.team))
    later = time.time() + settings.STUDIO_SIGNED_URL_MAX_AGE + 5
    monkeypatch.setattr(signing.time, "time", lambda: later)
    assert client.get(_path(url)).status_code == 404


def test_a_tampered_or_guessed_link_is_404(cast: Cast, client: Client) -> None:
    image = make_reference(cast.team)
    url = _path(signed_reference_url(image))
    token = url.rstrip("/").rsplit("/", 1)[1]
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    assert client.get(f"/s/ref/{forged}/").status_code == 404
    assert client.get(f"/s/ref/{image.public_id}/").status_code == 404


def test_links_to_two_images_differ_and_do_not_contain_the_file_path(cast: Cast) -> None:
    first = make_reference(cast.team)
    second = make_reference(cast.team, (0, 0, 255))
    assert signed_reference_url(first) != signed_reference_url(second)
    assert "teams/" not in signed_reference_url(first)


def test_a_token_signed_over_something_that_is_not_an_image_id_is_404(client: Client) -> None:
    # The signature is good but the value is no UUID: once a 500 from the lookup.
    token = signing.TimestampSigner(salt=SALT).sign("not-an-image-id")
    assert client.get(f"/s/ref/{token}/").status_code == 404


@pytest.mark.parametrize("token", ["abc", "a:b:c", "%00", "x" * 3000, "é:é:é"])
def test_a_malformed_token_is_404(client: Client, token: str) -> None:
    assert client.get(f"/s/ref/{token}/").status_code == 404
