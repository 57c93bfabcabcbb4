"""Mask validation, normalization and storage, and where a removal may run."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from studio.models import Mode, Status, Video, VideoKind
from studio.providers import registry
from studio.providers.base import ModelSpec, Provider, Removal
from studio.services import masks
from studio.services.masks import Geometry, MaskError
from tests import factories
from tests.conftest import Cast

pytestmark = pytest.mark.django_db

GEOMETRY = Geometry(640, 360, 2.0, 24.0)


def decoded(mask: masks.NormalizedMask) -> np.ndarray:
    return mask.pixels


def test_a_painted_mask_is_kept_binary_at_the_videos_size() -> None:
    data = factories.mask_jpeg(640, 360, boxes=[(100, 50, 199, 149)])
    mask = masks.normalize(data, GEOMETRY)
    assert (mask.width, mask.height) == (640, 360)
    assert set(np.unique(mask.pixels).tolist()) == {0, 255}
    assert mask.pixels[100, 150] == 255 and mask.pixels[10, 10] == 0
    assert mask.coverage == pytest.approx(100 * 100 / (640 * 360), rel=0.02)


def test_a_smaller_mask_of_the_same_shape_is_scaled_up_with_hard_edges() -> None:
    data = factories.mask_jpeg(320, 180, boxes=[(50, 25, 99, 74)])
    mask = masks.normalize(data, GEOMETRY)
    assert (mask.width, mask.height) == (640, 360)
    assert set(np.unique(mask.pixels).tolist()) == {0, 255}
    assert mask.pixels[100, 150] == 255
    assert mask.coverage == pytest.approx(100 * 100 / (640 * 360), rel=0.05)


def test_a_mask_within_one_percent_of_the_aspect_ratio_is_accepted() -> None:
    # 16:9 at 1366x768 is 0.1 % off 640x360.
    data = factories.mask_jpeg(1366, 768)
    assert masks.normalize(data, GEOMETRY).width == 640


def test_a_transparent_png_counts_its_clear_parts_as_keep() -> None:
    image = Image.new("RGBA", (640, 360), (0, 0, 0, 0))
    image.paste((255, 255, 255, 255), (0, 0, 64, 36))
    mask = masks.normalize(factories.encode(image, "PNG"), GEOMETRY)
    assert mask.coverage == pytest.approx(64 * 36 / (640 * 360))


def test_jpeg_ringing_around_thin_strokes_is_tolerated() -> None:
    pixels = np.zeros((360, 640), np.uint8)
    pixels[::23, :] = 255  # one-pixel lines: the worst case for ringing
    mask = masks.normalize(factories.encode(pixels, quality=75), GEOMETRY)
    assert 0 < mask.coverage < 0.1


def test_text_that_is_not_an_image_is_refused() -> None:
    with pytest.raises(MaskError, match="not an image"):
        masks.normalize(b"<svg xmlns='http://www.w3.org/2000/svg'/>", GEOMETRY)


def test_a_truncated_image_is_refused() -> None:
    data = factories.mask_jpeg()
    with pytest.raises(MaskError):
        masks.normalize(data[: len(data) // 3], GEOMETRY)


def test_a_gif_is_refused_even_if_it_decodes() -> None:
    data = factories.encode(Image.fromarray(factories.mask_pixels(640, 360)), "GIF")
    with pytest.raises(MaskError, match="JPEG, PNG or WebP"):
        masks.normalize(data, GEOMETRY)


def test_a_mask_of_another_aspect_ratio_is_refused() -> None:
    with pytest.raises(MaskError, match="aspect ratios differ"):
        masks.normalize(factories.mask_jpeg(360, 640), GEOMETRY)
    with pytest.raises(MaskError, match="aspect ratios differ"):
        masks.normalize(factories.mask_jpeg(480, 360), GEOMETRY)


def test_an_all_black_mask_is_refused_as_empty() -> None:
    with pytest.raises(MaskError, match="empty"):
        masks.normalize(factories.mask_jpeg(boxes=[]), GEOMETRY)


def test_an_all_white_mask_is_refused() -> None:
    with pytest.raises(MaskError, match="whole frame"):
        masks.normalize(factories.mask_jpeg(boxes=[(0, 0, 640, 360)]), GEOMETRY)


def test_a_soft_feathered_mask_is_refused() -> None:
    image = Image.fromarray(factories.mask_pixels(640, 360)).filter(ImageFilter.GaussianBlur(20))
    with pytest.raises(MaskError, match="soft or grey"):
        masks.normalize(factories.encode(image), GEOMETRY)


def test_a_photograph_is_refused() -> None:
    noise = Image.effect_noise((640, 360), 80)
    with pytest.raises(MaskError, match="soft or grey"):
        masks.normalize(factories.encode(noise), GEOMETRY)


def test_a_50_mb_upload_is_refused_before_decoding() -> None:
    with pytest.raises(MaskError, match="larger than 10 MB"):
        masks.normalize(b"\xff\xd8" + b"\0" * (50 * 1024 * 1024), GEOMETRY)


def test_a_50_mb_base64_field_is_refused_before_decoding() -> None:
    field = "data:image/jpeg;base64," + "A" * (50 * 1024 * 1024)
    with pytest.raises(MaskError, match="larger than 10 MB"):
        masks.decode_base64(field)


def test_a_small_file_claiming_a_huge_size_is_refused_from_its_header() -> None:
    # 9000x9000 of black compresses to a few kilobytes but would take 81 MB to decode.
    data = factories.encode(Image.new("L", (9000, 9000), 0), "PNG")
    assert len(data) < masks.MAX_MASK_BYTES
    with pytest.raises(MaskError, match="too many pixels"):
        masks.normalize(data, Geometry(9000, 9000, 2, 24))


def test_base64_with_or_without_a_data_url_prefix_decodes() -> None:
    raw = factories.mask_jpeg()
    encoded = base64.b64encode(raw).decode()
    assert masks.decode_base64(encoded) == raw
    assert masks.decode_base64("data:image/jpeg;base64," + encoded) == raw
    with pytest.raises(MaskError, match="not a base64 image"):
        masks.decode_base64("data:image/jpeg;base64,@@@")


def test_a_stored_mask_is_a_binary_jpeg_at_the_videos_size(cast: Cast, video: Video) -> None:
    normalized = masks.normalize(factories.mask_jpeg(320, 180), GEOMETRY)
    stored = masks.store(video, normalized, user=cast.owner, frame_seconds=0.5)
    assert (stored.width, stored.height, stored.frame_seconds) == (640, 360, 0.5)
    assert stored.team == video.team and stored.video == video
    with stored.file.open("rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
        assert image.format == "JPEG" and image.size == (640, 360)
        pixels = np.asarray(image.convert("L"))
    greys = np.count_nonzero((pixels > 32) & (pixels < 223))
    assert greys < 0.001 * pixels.size
    assert np.count_nonzero(pixels >= 128) / pixels.size == pytest.approx(stored.coverage, rel=0.01)


def test_probe_reads_the_size_from_the_stored_file_not_the_row(cast: Cast) -> None:
    video = factories.make_output(cast.project, **factories.PAINTER_CLIP)
    Video.objects.filter(pk=video.pk).update(width=1920, height=1080)
    video.refresh_from_db()
    geometry = masks.probe(video)
    assert (geometry.width, geometry.height) == (640, 360)
    assert geometry.duration_seconds == pytest.approx(2.0, abs=0.1)
    assert geometry.fps == pytest.approx(24)


def test_a_finished_video_is_not_refused(video: Video) -> None:
    assert masks.refusal(video) == ""


@pytest.mark.parametrize("status", [Status.DRAFT, Status.QUEUED, Status.RUNNING, Status.FAILED])
def test_a_video_whose_job_has_not_succeeded_is_refused(cast: Cast, status: str) -> None:
    video = factories.make_output(cast.project, **factories.PAINTER_CLIP, status=status)
    assert "not finished" in masks.refusal(video)


def test_a_gif_is_refused_with_a_reason(cast: Cast) -> None:
    video = factories.make_output(cast.project, **factories.PAINTER_CLIP, kind=VideoKind.GIF)
    assert "GIFs cannot be edited" in masks.refusal(video)


def _route(video: Video, provider: str) -> masks.Route:
    return next(r for r in masks.routes(video) if r.provider == provider)


def test_a_mountsea_video_with_its_media_id_can_go_to_mountsea(
    cast: Cast, mountsea_on: None
) -> None:
    video = factories.make_output(
        cast.project,
        **factories.PAINTER_CLIP,
        provider="mountsea",
        model="veo31_fast",
        media_id="CAUSJDabc",
    )
    assert _route(video, "mountsea").available
    assert _route(video, "local").available


def test_a_local_video_goes_only_to_the_local_engine(video: Video, mountsea_on: None) -> None:
    assert "made elsewhere" in _route(video, "mountsea").reason
    assert _route(video, "local").available


def test_a_mountsea_video_without_media_id_cannot_go_to_mountsea(
    cast: Cast, mountsea_on: None
) -> None:
    video = factories.make_output(
        cast.project, **factories.PAINTER_CLIP, provider="mountsea", model="veo31_fast"
    )
    assert "mediaId" in _route(video, "mountsea").reason


def test_an_extended_video_cannot_go_to_mountsea(cast: Cast, mountsea_on: None) -> None:
    video = factories.make_output(
        cast.project,
        **factories.PAINTER_CLIP,
        provider="mountsea",
        model="veo31_fast",
        media_id="CAUSJDabc",
        params={"action": "extend"},
    )
    assert "extended videos" in _route(video, "mountsea").reason


def test_mountsea_is_not_offered_when_it_is_not_configured(cast: Cast, settings: object) -> None:
    settings.STUDIO_MOUNTSEA_KEY = ""  # type: ignore[attr-defined]
    video = factories.make_output(
        cast.project,
        **factories.PAINTER_CLIP,
        provider="mountsea",
        model="veo31_fast",
        media_id="CAUSJDabc",
    )
    assert "not configured" in _route(video, "mountsea").reason


def test_the_local_engine_is_not_offered_when_it_is_turned_off(
    video: Video, settings: object
) -> None:
    settings.STUDIO_LOCAL_ENGINE = False  # type: ignore[attr-defined]
    assert "turned off" in _route(video, "local").reason


def test_mountsea_needs_the_mask_painted_on_the_first_frame(cast: Cast, mountsea_on: None) -> None:
    video = factories.make_output(
        cast.project,
        **factories.PAINTER_CLIP,
        provider="mountsea",
        model="veo31_fast",
        media_id="CAUSJDabc",
    )
    geometry = masks.probe(video)
    assert masks.check_route(video, "mountsea", 0.0, geometry).provider == "mountsea"
    with pytest.raises(MaskError, match="first frame"):
        masks.check_route(video, "mountsea", 1.0, geometry)
    assert masks.check_route(video, "local", 1.0, geometry).provider == "local"


def test_a_removal_result_is_itself_editable_locally(cast: Cast, video: Video) -> None:
    result = factories.make_output(
        cast.project, **factories.PAINTER_CLIP, mode=Mode.REMOVAL, parent=video
    )
    assert masks.refusal(result) == ""
    assert _route(result, "local").available


class FirstFrameGateway(Provider):
    """A provider a newcomer might add: it removes objects tracked from the first frame."""

    name = "firstframe"
    label = "First-frame gateway"
    removal = Removal(
        model="erase",
        label="First-frame gateway (erase)",
        name="the first-frame gateway",
        hint="Erases from the first frame on.",
        disabled_reason="The first-frame gateway is off.",
        first_frame_only=True,
        first_frame_message="This gateway starts from the first frame.",
    )

    def is_configured(self) -> bool:
        return True

    def models(self) -> tuple[ModelSpec, ...]:
        return ()


def test_a_new_provider_brings_its_own_removal_route_and_first_frame_rule(
    video: Video, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        registry.PROVIDERS, "firstframe", f"{__name__}.{FirstFrameGateway.__qualname__}"
    )
    try:
        found = [r.provider for r in masks.routes(video)]
        # Gateways come before the local engine, which is the last resort.
        assert found.index("firstframe") < found.index("local")
        route = _route(video, "firstframe")
        assert (route.model, route.available, route.first_frame_only) == ("erase", True, True)
        geometry = masks.probe(video)
        assert masks.check_route(video, "firstframe", 0.0, geometry).model == "erase"
        with pytest.raises(MaskError, match="This gateway starts from the first frame"):
            masks.check_route(video, "firstframe", 1.0, geometry)
    finally:
        registry.reset_providers()


def test_a_provider_without_removal_is_not_a_route(video: Video, settings: object) -> None:
    settings.STUDIO_OPENAI_VIDEOS_URL = "http://127.0.0.1:9"  # type: ignore[attr-defined]
    settings.STUDIO_OPENAI_VIDEOS_KEY = "k"  # type: ignore[attr-defined]
    assert "openai" not in [r.provider for r in masks.routes(video)]
