"""The before / after partial the video page includes for a removal result."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from studio.models import Mode
from tests import factories
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def test_a_removal_result_compares_itself_with_its_source(cast: Cast) -> None:
    source = factories.make_output(cast.project, cast.owner, **factories.PAINTER_CLIP)
    result = factories.make_output(
        cast.project, cast.owner, **factories.PAINTER_CLIP, mode=Mode.REMOVAL, parent=source
    )
    html = render_to_string("studio/partials/video_compare.html", {"video": result})
    assert reverse("media_video", args=[source.public_id]) in html
    assert reverse("media_video", args=[result.public_id]) in html
    assert "data-video-compare" in html and "video-compare.js" in html
    assert 'type="range"' in html and "Before" in html and "After" in html


def test_a_video_without_a_parent_has_nothing_to_compare(cast: Cast) -> None:
    video = factories.make_output(cast.project, cast.owner, **factories.PAINTER_CLIP)
    assert "data-video-compare" not in render_to_string(
        "studio/partials/video_compare.html", {"video": video}
    )
