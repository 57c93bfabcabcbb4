"""The whole creator journey in Debian's Chromium, on the offline local engine.

Sign in, make a project, upload two images (one dropped, one picked), submit
frames-to-video with a start and an end frame, watch the card reach
"Succeeded" without reloading, open the video, seek, make a GIF. Every screen
is saved under test-results/ as journey-NN-*.png.
"""

from __future__ import annotations

import base64
import contextlib
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError, connections
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from studio.models import Job, Status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FINISH = 120_000  # ms: a render on a loaded two-core machine


def _png(colour: tuple[int, int, int], label: str) -> bytes:
    image = Image.new("RGB", (640, 360), colour)
    draw = ImageDraw.Draw(image)
    draw.ellipse((220, 80, 420, 280), fill=(255, 255, 255))
    draw.text((20, 20), label, fill=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def worker() -> Iterator[None]:
    """The worker's sweep in a thread: what `qcluster` does, without a broker."""
    from tests.support.engine import run_due_jobs

    stop = threading.Event()

    def loop() -> None:
        try:
            while not stop.is_set():
                # SQLite's shared test database may be busy: the next pass retries.
                with contextlib.suppress(OperationalError):
                    run_due_jobs()
                stop.wait(0.3)
        finally:
            connections.close_all()  # this thread's own connections

    thread = threading.Thread(target=loop, name="test-worker", daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=60)


def _shot(page: Page, artifacts_dir: Path, name: str) -> None:
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_function(
        "() => Array.from(document.images).every(i => i.complete && (i.naturalWidth > 0 || !i.src))"
    )
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts_dir / f"journey-{name}.png"), full_page=True)


def _drop_file(page: Page, name: str, data: bytes) -> None:
    page.evaluate(
        """([name, b64]) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, {type: "image/png"}));
            const zone = document.querySelector("[data-dropzone]");
            zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true}));
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true}));
        }""",
        [name, base64.b64encode(data).decode()],
    )


def _pick(page: Page, slot: str, image_name: str) -> None:
    page.get_by_role("button", name=f"Choose the {slot} from the library").click()
    dialog = page.get_by_role("dialog", name=f"Choose the {slot}")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=image_name).click()
    expect(dialog).to_be_hidden()


def _wait_for_job(mode: str, timeout: float = 10) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.filter(mode=mode).order_by("-created_at").first()
        if job is not None:
            return job
        time.sleep(0.1)
    raise AssertionError(f"no {mode} job was created")


def test_creator_makes_a_shot_from_two_frames_then_a_gif(
    signed_in_page: tuple[Page, Any], live_server: Any, artifacts_dir: Path, worker: None
) -> None:
    page, _user = signed_in_page
    page.set_viewport_size({"width": 1366, "height": 900})
    page_errors: list[str] = []
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))

    # A project
    page.get_by_label("Project name").fill("Harbour at dawn")
    page.get_by_role("button", name="New project").click()
    expect(page.get_by_role("heading", name="Harbour at dawn")).to_be_visible()
    project_url = page.url
    _shot(page, artifacts_dir, "01-project")

    # Two images into the library: one dropped, one picked
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Library").click()
    expect(page.get_by_role("heading", name="Reference library")).to_be_visible()
    end = {
        "name": "harbour-end.png",
        "mimeType": "image/png",
        "buffer": _png((230, 140, 40), "end"),
    }
    page.locator("input[type=file][name=images]").set_input_files(files=[end])  # type: ignore[list-item]
    expect(page.locator("[data-previews] li")).to_have_count(1)
    _drop_file(page, "harbour-start.png", _png((30, 90, 160), "start"))
    expect(page.locator("[data-previews] li")).to_have_count(2)
    expect(page.get_by_text("2 images ready to upload")).to_be_visible()
    _shot(page, artifacts_dir, "02-library-ready")
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".ref-tile")).to_have_count(2)
    expect(page.get_by_text("2 images added to your library.")).to_be_visible()
    _shot(page, artifacts_dir, "03-library-uploaded")

    # Frames to video on the local engine, start and end frame from the library
    page.goto(project_url)
    page.get_by_text("Frames to video", exact=True).click()
    page.get_by_label("Provider").select_option("local")
    _pick(page, "start frame", "harbour-start.png")
    _pick(page, "end frame", "harbour-end.png")
    prompt = "Morning light sweeps across a quiet harbour, boats rocking"
    page.get_by_role("textbox", name="Prompt").fill(prompt)
    expect(page.locator("[data-estimate]")).to_have_text("0 credits")
    _shot(page, artifacts_dir, "04-generate-filled")
    page.evaluate("window.__sameDocument = true")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("Submitted. Follow it in the queue.")).to_be_visible()

    job = _wait_for_job("img2video")
    assert [i.role for i in job.inputs.all()] == ["start", "end"]
    card = page.locator(f"#job-{job.public_id}")
    expect(card).to_be_visible()
    _shot(page, artifacts_dir, "05-card-in-queue")
    expect(card.locator("[data-status]")).to_have_text("Succeeded", timeout=FINISH)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    # the project's latest videos refreshed themselves too
    expect(page.locator("#project-videos .video-tile")).to_have_count(1)
    _shot(page, artifacts_dir, "06-card-succeeded")
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED

    # The video page: play and seek (the media view answers byte ranges)
    ranges: list[int] = []
    page.on("response", lambda r: ranges.append(r.status) if "/file" in r.url else None)
    card.get_by_role("link", name="Open video").click()
    player = page.locator("video[data-player]")
    expect(player).to_be_visible()
    page.wait_for_function("() => document.querySelector('video[data-player]').readyState >= 1")
    duration = page.evaluate("document.querySelector('video[data-player]').duration")
    assert duration > 1
    target = round(duration / 2, 2)
    page.evaluate(
        """(t) => new Promise(resolve => {
            const v = document.querySelector('video[data-player]');
            v.addEventListener('seeked', () => resolve(), {once: true});
            v.currentTime = t;
        })""",
        target,
    )
    assert (
        abs(page.evaluate("document.querySelector('video[data-player]').currentTime") - target)
        < 0.1
    )
    expect(page.locator("[data-frame-at]")).to_have_value(f"{target:.2f}")
    assert 206 in ranges
    _shot(page, artifacts_dir, "07-video")

    # A GIF of it
    page.get_by_role("button", name="Make GIF").click()
    expect(page.get_by_text("Making a GIF.")).to_be_visible()
    gif_job = _wait_for_job("gif")
    gif_card = page.locator(f"#job-{gif_job.public_id}")
    expect(gif_card.locator("[data-status]")).to_have_text("Succeeded", timeout=FINISH)
    _shot(page, artifacts_dir, "08-gif-ready")
    gif_card.get_by_role("link", name="Open video").click()
    expect(page.locator("img.player")).to_be_visible()
    page.wait_for_function("() => document.querySelector('img.player').naturalWidth > 0")
    expect(page.get_by_role("heading", name="Lineage")).to_be_visible()
    _shot(page, artifacts_dir, "09-gif-page")
    assert page_errors == []
