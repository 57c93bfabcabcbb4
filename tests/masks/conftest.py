from __future__ import annotations

from typing import Any

import pytest

from studio.models import Video
from tests import factories
from tests.conftest import Cast


@pytest.fixture
def video(cast: Cast) -> Video:
    """A finished 2 s 640x360 video of the cast's project, made by the local engine."""
    return factories.make_output(cast.project, cast.owner, **factories.PAINTER_CLIP)


@pytest.fixture
def mountsea_on(settings: Any) -> None:
    settings.STUDIO_MOUNTSEA_URL = "http://127.0.0.1:9"
    settings.STUDIO_MOUNTSEA_KEY = "test-key"
