"""An image dropped or pasted into a frame or ingredient slot goes into the team's
library with the library's checks, and the form comes back with the slot holding it."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import pytest

from studio.models import Job, ReferenceImage
from tests.conftest import Cast
from tests.factories import image_bytes, upload

pytestmark = pytest.mark.django_db


def _drop(cast: Cast, slot: str, file: Any, user: Any = None, **values: Any) -> Any:
    data = {
        "mode": "img2video",
        "provider": "local",
        "model": "draft",
        "prompt": "A kite",
        "aspect_ratio": "16:9",
        "duration_seconds": "4",
        "idempotency_key": str(uuid.uuid4()),
        "slot_upload": slot,
        "images": file,
        **values,
    }
    client = cast.client_for(user or cast.editor)
    return client.post(
        f"/projects/{cast.project.public_id}/generate/", data, HTTP_HX_REQUEST="true"
    )


def _selected(page: str, name: str) -> str:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert select is not None
    found = re.search(r'<option value="([^"]*)"[^>]*selected', select.group(1))
    return found.group(1) if found else ""


def test_an_image_dropped_into_a_slot_joins_the_library_and_fills_the_slot(cast: Cast) -> None:
    response = _drop(cast, "start_image", upload("kite.png", image_bytes(size=(320, 180))))
    page = html.unescape(response.content.decode())
    image = ReferenceImage.objects.get()
    assert response.status_code == 200 and image.team == cast.team
    assert page.lstrip().startswith('<form id="generate-form"')
    assert _selected(page, "start_image") == str(image.public_id)
    assert ">A kite</textarea>" in page  # the rest of the form is kept
    assert "kite.png added to your library." in page
    assert Job.objects.count() == 0


def test_a_file_the_library_refuses_leaves_the_slot_empty_with_the_reason(cast: Cast) -> None:
    bad = upload("notes.png", b"not an image at all", "image/png")
    page = html.unescape(_drop(cast, "start_image", bad).content.decode())
    assert ReferenceImage.objects.count() == 0
    assert _selected(page, "start_image") == ""
    assert re.search(r'<p class="errorlist" role="alert" data-slot-upload-error>[^<]+</p>', page)


def test_a_viewer_cannot_drop_images_into_the_library(cast: Cast) -> None:
    response = _drop(cast, "start_image", upload(), user=cast.viewer)
    assert response.status_code == 403
    assert ReferenceImage.objects.count() == 0
