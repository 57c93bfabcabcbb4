"""The mask painter in Debian's Chromium: paint, erase, undo, invert, send; and its speed."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from sandbox.runner import SandboxHandle
from studio.models import Job, Mask, Mode, Status, Video
from studio.services import masks as mask_service
from tests import factories
from tests.factories import drive, mountsea_video

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALPHA_AT = """([x, y]) => document.querySelector('[data-paint]')
    .getContext('2d').getImageData(x, y, 1, 1).data[3]"""
PREVIEW_AT = """([x, y]) => Array.from(document.querySelector('[data-preview]')
    .getContext('2d').getImageData(x, y, 1, 1).data)"""
# Times the painter's pointer handlers from outside it (window.__painterProbe).
PROBE = Path(__file__).resolve().parent.parent / "support" / "painter_probe.js"


@dataclass
class Canvas:
    """Maps the video's native pixels to the page's CSS pixels, whatever the zoom."""

    page: Page
    width: int
    height: int
    strokes: list[tuple[list[tuple[float, float]], float]] = field(default_factory=list)
    erased: list[tuple[list[tuple[float, float]], float]] = field(default_factory=list)

    def client(self, x: float, y: float) -> tuple[float, float]:
        box = self.page.locator("[data-paint]").bounding_box()
        assert box is not None
        return box["x"] + x * box["width"] / self.width, box["y"] + y * box["height"] / self.height

    def drag(self, points: list[tuple[float, float]], steps: int = 12) -> None:
        mouse = self.page.mouse
        mouse.move(*self.client(*points[0]))
        mouse.down()
        for point in points[1:]:
            mouse.move(*self.client(*point), steps=steps)
        mouse.up()

    def paint(self, points: list[tuple[float, float]], size: float) -> None:
        self.drag(points)
        self.strokes.append((points, size / 2))

    def erase(self, points: list[tuple[float, float]], size: float) -> None:
        self.drag(points)
        self.erased.append((points, size / 2))

    def alpha(self, x: int, y: int) -> int:
        return int(self.page.evaluate(ALPHA_AT, [x, y]))

    def expected(self, margin: float) -> tuple[np.ndarray, np.ndarray]:
        """(surely white, surely black) at native size, `margin` px away from every edge."""
        ys, xs = np.mgrid[0 : self.height, 0 : self.width].astype(np.float32) + 0.5

        def distance(paths: list[tuple[list[tuple[float, float]], float]]) -> np.ndarray:
            # Distance to the nearest stroke edge: negative inside a stroke.
            best = np.full(xs.shape, np.inf, np.float32)
            for points, radius in paths:
                for (x0, y0), (x1, y1) in zip(points, points[1:] or points, strict=False):
                    dx, dy = x1 - x0, y1 - y0
                    length = dx * dx + dy * dy
                    t = np.clip(((xs - x0) * dx + (ys - y0) * dy) / length, 0, 1) if length else 0
                    d = np.hypot(xs - (x0 + t * dx), ys - (y0 + t * dy)) - radius
                    best = np.minimum(best, d)
            return best

        painted, erased = distance(self.strokes), distance(self.erased)
        white = (painted < -margin) & (erased > margin)
        black = (painted > margin) | (erased < -margin)
        return white, black


def _open_painter(page: Page, live_server: Any, video: Video) -> None:
    page.goto(f"{live_server.url}/videos/{video.public_id}/remove/")
    page.wait_for_function("() => document.querySelector('[data-video]').readyState >= 2")


def _set_size(page: Page, size: int) -> None:
    page.locator("[data-size]").fill(str(size))
    expect(page.locator("[data-size-out]")).to_have_text(f"{size} px")


def _stored_pixels(mask: Mask) -> np.ndarray:
    with mask.file.open("rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
        assert image.format == "JPEG"
        return np.asarray(image.convert("L"))


def _check_against_strokes(pixels: np.ndarray, canvas: Canvas) -> None:
    assert pixels.shape == (canvas.height, canvas.width)
    white, black = canvas.expected(margin=2.0)
    assert white.sum() > 1000 and black.sum() > 1000
    missing = np.count_nonzero(white & (pixels < 128))
    extra = np.count_nonzero(black & (pixels >= 128))
    assert missing == 0, f"{missing} pixels under the strokes are not white"
    assert extra == 0, f"{extra} pixels away from the strokes are white"


def test_creator_paints_erases_undoes_inverts_and_sends_a_mask_that_matches_the_strokes(
    signed_in_page: tuple[Page, Any], live_server: Any, artifacts_dir: Path
) -> None:
    page, user = signed_in_page
    page.set_viewport_size({"width": 1400, "height": 950})
    project = factories.make_project(factories.personal_team(user), "Beach film", user)
    video = factories.make_output(project, user, **factories.PAINTER_CLIP)
    _open_painter(page, live_server, video)
    canvas = Canvas(page, 640, 360)
    submit = page.get_by_role("button", name="Remove object")
    expect(submit).to_be_disabled()
    expect(page.locator("[data-submit-help]")).to_contain_text("empty mask cannot be sent")
    page.screenshot(path=str(artifacts_dir / "painter-empty.png"), full_page=True)

    # Brush size from the slider, then from the keyboard.
    _set_size(page, 30)
    page.locator("[data-viewport]").focus()
    page.keyboard.press("]")
    expect(page.locator("[data-size-out]")).not_to_have_text("30 px")
    page.keyboard.press("[")
    expect(page.locator("[data-size-out]")).to_have_text("30 px")

    canvas.paint([(80, 100), (400, 100)], 30)
    canvas.paint([(520, 60), (520, 300), (560, 320)], 30)
    expect(submit).to_be_enabled()
    assert canvas.alpha(240, 100) == 255 and canvas.alpha(240, 200) == 0

    # Erase across the first stroke.
    page.keyboard.press("e")
    expect(page.get_by_role("button", name="Eraser")).to_have_attribute("aria-pressed", "true")
    _set_size(page, 24)
    canvas.erase([(240, 60), (240, 140)], 24)
    assert canvas.alpha(240, 100) == 0 and canvas.alpha(160, 100) == 255

    # Undo brings the erased part back, redo takes it away again (keys and buttons).
    page.keyboard.press("Control+z")
    assert canvas.alpha(240, 100) == 255
    page.keyboard.press("Control+Shift+z")
    assert canvas.alpha(240, 100) == 0
    page.get_by_role("button", name="Undo").click()
    assert canvas.alpha(240, 100) == 255
    page.get_by_role("button", name="Redo").click()
    assert canvas.alpha(240, 100) == 0

    # Invert twice is the identity; once, it marks everything else.
    page.get_by_role("button", name="Invert").click()
    assert canvas.alpha(240, 200) == 255 and canvas.alpha(160, 100) == 0
    expect(page.locator("[data-status]")).to_contain_text("9")
    page.get_by_role("button", name="Invert").click()
    assert canvas.alpha(240, 200) == 0 and canvas.alpha(160, 100) == 255

    # Paint once more while zoomed in: the pointer still lands where it should.
    page.keyboard.press("b")
    _set_size(page, 20)
    page.get_by_role("button", name="Zoom in").click()
    page.get_by_role("button", name="Zoom in").click()
    expect(page.locator("[data-zoom-out]")).to_have_text("225 %")
    viewport = page.locator("[data-viewport]").bounding_box()
    assert viewport is not None
    box = page.locator("[data-paint]").bounding_box()
    assert box is not None
    # The native point under the middle of the viewport.
    cx = (viewport["x"] + viewport["width"] / 2 - box["x"]) * 640 / box["width"]
    cy = (viewport["y"] + viewport["height"] / 2 - box["y"]) * 360 / box["height"]
    canvas.paint([(cx - 30, cy + 40), (cx + 30, cy + 40)], 20)
    page.screenshot(path=str(artifacts_dir / "painter-zoomed.png"), full_page=True)
    page.get_by_role("button", name="Fit").click()
    expect(page.locator("[data-zoom-out]")).to_have_text("100 %")
    page.mouse.move(*canvas.client(330, 250))
    page.screenshot(path=str(artifacts_dir / "painter-painted.png"), full_page=True)

    # What the provider sees: white on black, exactly the binarized mask.
    page.get_by_role("button", name="What the provider sees").click()
    expect(page.get_by_role("button", name="What the provider sees")).to_have_attribute(
        "aria-pressed", "true"
    )
    assert page.evaluate(PREVIEW_AT, [160, 100]) == [255, 255, 255, 255]
    assert page.evaluate(PREVIEW_AT, [240, 100]) == [0, 0, 0, 255]
    page.screenshot(path=str(artifacts_dir / "painter-preview.png"), full_page=True)
    page.get_by_role("button", name="What the provider sees").click()

    # Only the local engine can take this video; send it there.
    expect(page.get_by_label("Mountsea (Veo object removal)")).to_be_disabled()
    page.get_by_label("Local engine (offline, free)").check()
    page.get_by_label("Prompt (optional)").fill("empty sand")
    submit.click()
    expect(page.locator(".messages")).to_contain_text("Object removal queued")
    page.screenshot(path=str(artifacts_dir / "painter-submitted.png"), full_page=True)

    job = Job.objects.get(mode=Mode.REMOVAL)
    assert (job.provider, job.source_video, job.prompt_text) == ("local", video, "empty sand")
    mask = job.mask
    assert mask is not None and (mask.width, mask.height) == (640, 360)
    _check_against_strokes(_stored_pixels(mask), canvas)

    job = drive(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    result = Video.objects.get(job=job)
    assert result.parent == video


def test_brush_settings_are_remembered_between_visits(
    signed_in_page: tuple[Page, Any], live_server: Any
) -> None:
    page, user = signed_in_page
    project = factories.make_project(factories.personal_team(user), "Beach film", user)
    video = factories.make_output(project, user, **factories.PAINTER_CLIP)
    _open_painter(page, live_server, video)
    _set_size(page, 57)
    page.locator("[data-opacity]").fill("35")
    page.get_by_role("button", name="Eraser").click()
    page.reload()
    page.wait_for_function("() => document.querySelector('[data-video]').readyState >= 2")
    expect(page.locator("[data-size-out]")).to_have_text("57 px")
    expect(page.locator("[data-opacity-out]")).to_have_text("35 %")
    expect(page.get_by_role("button", name="Eraser")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("getComputedStyle(document.querySelector('[data-paint]')).opacity") == (
        "0.35"
    )


def test_an_earlier_mask_loads_into_the_painter_and_is_sent_unchanged(
    signed_in_page: tuple[Page, Any], live_server: Any
) -> None:
    page, user = signed_in_page
    project = factories.make_project(factories.personal_team(user), "Beach film", user)
    video = factories.make_output(project, user, **factories.PAINTER_CLIP)
    normalized = mask_service.normalize(
        factories.mask_jpeg(boxes=[(100, 100, 199, 199)]), mask_service.probe(video)
    )
    earlier = mask_service.store(video, normalized, user=user, frame_seconds=0)
    _open_painter(page, live_server, video)
    page.locator(f"#reuse-{earlier.public_id}").check()
    expect(page.locator("[data-status]")).to_contain_text("Earlier mask loaded")
    assert page.evaluate(ALPHA_AT, [150, 150]) == 255
    assert page.evaluate(ALPHA_AT, [50, 50]) == 0
    page.get_by_label("Local engine (offline, free)").check()
    page.get_by_role("button", name="Remove object").click()
    expect(page.locator(".messages")).to_contain_text("Object removal queued")
    job = Job.objects.get(mode=Mode.REMOVAL)
    assert job.mask == earlier
    assert Mask.objects.count() == 1


def test_a_mountsea_video_is_painted_and_its_removal_runs_on_the_sandbox_gateway(
    signed_in_page: tuple[Page, Any], live_server: Any, sandbox: SandboxHandle
) -> None:
    page, user = signed_in_page
    project = factories.make_project(factories.personal_team(user), "Beach film", user)
    source = mountsea_video(project, user)
    _open_painter(page, live_server, source)
    canvas = Canvas(page, source.width, source.height)
    _set_size(page, 40)
    page.get_by_role("button", name="Brush").click()
    canvas.paint([(200, 150), (300, 200)], 40)
    # Mountsea qualifies and is offered first; it needs the first frame.
    expect(page.get_by_label("Mountsea (Veo object removal)")).to_be_checked()
    page.get_by_role("button", name="Next frame").click()
    expect(page.get_by_role("button", name="Remove object")).to_be_disabled()
    expect(page.locator("[data-submit-help]")).to_contain_text("first frame")
    page.get_by_role("button", name="First frame").click()
    page.get_by_role("button", name="Remove object").click()
    expect(page.locator(".messages")).to_contain_text("Object removal queued on Mountsea")

    job = Job.objects.get(mode=Mode.REMOVAL)
    assert (job.provider, job.model) == ("mountsea", "object_remove")
    assert job.mask is not None
    _check_against_strokes(_stored_pixels(job.mask), canvas)
    job = drive(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    bodies = [str(b) for b in sandbox.stats()["create_bodies"] if "imageMask" in str(b)]
    assert len(bodies) == 1 and source.media_id in bodies[0]
    assert Video.objects.get(job=job).parent == source


def test_painting_a_4k_mask_stays_under_16_ms_per_pointer_event(
    signed_in_page: tuple[Page, Any], live_server: Any, artifacts_dir: Path
) -> None:
    page, user = signed_in_page
    page.set_viewport_size({"width": 1600, "height": 1000})
    project = factories.make_project(factories.personal_team(user), "4K film", user)
    video = factories.make_output(project, user, real=True, size=(3840, 2160), seconds=1.0)
    page.add_init_script(path=PROBE)
    _open_painter(page, live_server, video)
    canvas = Canvas(page, 3840, 2160)
    _set_size(page, 160)
    # Strict: every event also waits for its pixels to be rasterized.
    page.evaluate("window.__painterProbe.reset(); window.__painterProbe.flush = true")
    for i in range(8):
        y = 200 + i * 220
        canvas.paint([(200, y), (3600, y + 100), (1900, y + 180)], 160)
    page.keyboard.press("e")
    canvas.erase([(1900, 100), (1900, 2000)], 160)
    stats = page.evaluate("window.__painterProbe.stats()")
    export_ms = page.evaluate(
        """() => { const p = document.querySelector('[data-mask-painter]').__maskPainter;
        const t = performance.now(); p.exportDataURL(); return performance.now() - t; }"""
    )
    page.screenshot(path=str(artifacts_dir / "painter-4k.png"))
    record = {"mask": "3840x2160", "pointer_events": stats, "export_ms": round(export_ms, 1)}
    (artifacts_dir / "painter-timing.json").write_text(json.dumps(record, indent=2))
    print("4K painter timing:", record)
    assert stats["count"] >= 100
    assert stats["p95"] < 16, stats


def test_an_imported_mask_image_is_painted_in_and_sent_as_a_new_mask(
    signed_in_page: tuple[Page, Any], live_server: Any
) -> None:
    page, user = signed_in_page
    project = factories.make_project(factories.personal_team(user), "Beach film", user)
    video = factories.make_output(project, user, **factories.PAINTER_CLIP)
    _open_painter(page, live_server, video)
    # Half the video's size, same shape, as a PNG: scaled up without soft edges.
    png = factories.encode(factories.mask_pixels(320, 180, boxes=[(20, 20, 69, 59)]), "PNG")
    page.locator("[data-import]").set_input_files(
        files=[{"name": "mask.png", "mimeType": "image/png", "buffer": png}]
    )
    expect(page.locator("[data-status]")).to_contain_text("Mask imported")
    assert page.evaluate(ALPHA_AT, [80, 70]) == 255
    assert page.evaluate(ALPHA_AT, [200, 200]) == 0
    wrong = factories.encode(factories.mask_pixels(300, 300), "PNG")
    page.locator("[data-import]").set_input_files(
        files=[{"name": "square.png", "mimeType": "image/png", "buffer": wrong}]
    )
    expect(page.locator("[data-status]")).to_contain_text("its shape differs")
    page.get_by_label("Local engine (offline, free)").check()
    page.get_by_role("button", name="Remove object").click()
    expect(page.locator(".messages")).to_contain_text("Object removal queued")
    mask = Job.objects.get(mode=Mode.REMOVAL).mask
    assert mask is not None and (mask.width, mask.height) == (640, 360)
    pixels = _stored_pixels(mask)
    assert pixels[60:110, 50:130].min() >= 128 and pixels[150:, 200:].max() < 128


def test_the_painter_works_by_touch_on_a_phone_in_dark_mode(
    browser: Any, live_server: Any, artifacts_dir: Path
) -> None:
    user = factories.make_user("tess")
    project = factories.make_project(factories.personal_team(user), "Phone film", user)
    video = factories.make_output(project, user, **factories.PAINTER_CLIP)
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        has_touch=True,
        is_mobile=True,
        color_scheme="dark",
    )
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill("tess")
        page.get_by_label("Password").fill(factories.PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/projects/")
        _open_painter(page, live_server, video)
        canvas = Canvas(page, 640, 360)
        _set_size(page, 40)
        page.locator("[data-paint]").scroll_into_view_if_needed()
        page.touchscreen.tap(*canvas.client(320, 180))
        expect(page.locator("[data-status]")).to_contain_text("marked for removal")
        assert canvas.alpha(320, 180) == 255 and canvas.alpha(360, 180) == 0
        page.screenshot(path=str(artifacts_dir / "painter-phone-dark.png"), full_page=True)
    finally:
        context.close()


def test_the_video_page_links_to_the_painter_and_compares_a_removal_with_its_source(
    signed_in_page: tuple[Page, Any], live_server: Any, artifacts_dir: Path
) -> None:
    page, user = signed_in_page
    page.set_viewport_size({"width": 1400, "height": 950})
    project = factories.make_project(factories.personal_team(user), "Beach film", user)
    source = factories.make_output(project, user, **factories.PAINTER_CLIP)
    page.goto(f"{live_server.url}/videos/{source.public_id}/")
    page.get_by_role("link", name="Remove object").click()
    expect(page).to_have_url(f"{live_server.url}/videos/{source.public_id}/remove/")
    page.wait_for_function("() => document.querySelector('[data-video]').readyState >= 2")
    canvas = Canvas(page, 640, 360)
    _set_size(page, 60)
    canvas.paint([(250, 150), (400, 220)], 60)
    page.get_by_label("Local engine (offline, free)").check()
    page.get_by_role("button", name="Remove object").click()
    expect(page.locator(".messages")).to_contain_text("Object removal queued")
    job = drive(Job.objects.get(mode=Mode.REMOVAL))
    assert job.status == Status.SUCCEEDED, job.error_message
    result = Video.objects.get(job=job)

    page.goto(f"{live_server.url}/videos/{result.public_id}/")
    compare = page.locator("[data-video-compare]")
    expect(compare).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-video-compare] video')]"
        ".every(v => v.readyState >= 2)"
    )
    stage = page.locator("[data-compare-stage]")
    stage.scroll_into_view_if_needed()
    box = stage.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    position = float(page.locator("[data-compare-slider]").input_value())
    assert 20 < position < 30
    clip = page.evaluate(
        "getComputedStyle(document.querySelector('[data-compare-after]')).clipPath"
    )
    assert clip.startswith("inset(0px 0px 0px 2"), clip
    page.get_by_role("button", name="Play both").click()
    page.wait_for_function(
        "() => document.querySelector('[data-compare-before]').currentTime > 0.3"
    )
    page.get_by_role("button", name="Pause").click()
    drift = page.evaluate(
        """() => { const [a, b] = document.querySelectorAll('[data-video-compare] video');
        return Math.abs(a.currentTime - b.currentTime); }"""
    )
    assert drift < 0.2
    # The painted stroke sits in the left half: show it after removal, below the sticky header.
    page.locator("[data-compare-slider]").fill("30")
    page.evaluate("window.scrollBy(0, -120)")
    compare.screenshot(path=str(artifacts_dir / "video-compare.png"))


def test_the_mask_is_painted_from_the_keyboard_alone(
    signed_in_page: tuple[Page, Any], live_server: Any, artifacts_dir: Path
) -> None:
    page, user = signed_in_page
    page.set_viewport_size({"width": 1400, "height": 950})
    project = factories.make_project(factories.personal_team(user), "Keys", user)
    video = factories.make_output(project, user, **factories.PAINTER_CLIP)
    _open_painter(page, live_server, video)
    canvas = Canvas(page, 640, 360)
    submit = page.get_by_role("button", name="Remove object")
    _set_size(page, 30)
    page.locator("[data-viewport]").focus()
    # The brush starts in the middle (320, 180); each arrow moves it 10 px.
    page.keyboard.press("Enter")
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    expect(page.locator("[data-status]")).to_contain_text("Brush lifted.")
    assert canvas.alpha(370, 180) == 255 and canvas.alpha(420, 180) == 255
    assert canvas.alpha(370, 240) == 0 and canvas.alpha(250, 180) == 0
    expect(submit).to_be_enabled()
    page.screenshot(path=str(artifacts_dir / "painter-keyboard.png"), full_page=True)
    # The stroke is one undo step, and the eraser works the same way.
    page.keyboard.press("Control+z")
    assert canvas.alpha(370, 180) == 0
    page.keyboard.press("Control+Shift+z")
    page.keyboard.press("e")
    page.keyboard.press("Enter")
    page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press("Escape")
    assert canvas.alpha(400, 180) == 0 and canvas.alpha(370, 180) == 0
    assert canvas.alpha(330, 180) == 255
