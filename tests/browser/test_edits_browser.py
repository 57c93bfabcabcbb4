"""Extend and insert through the real video page and painter, in Debian's Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from sandbox.runner import SandboxHandle
from studio.models import Job, Mode, Status, Video
from tests import factories
from tests.factories import drive, mountsea_video

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_creator_extends_a_mountsea_video_and_watches_its_card_finish(
    signed_in_page: tuple[Page, Any],
    live_server: Any,
    sandbox: SandboxHandle,
    artifacts_dir: Path,
) -> None:
    page, user = signed_in_page
    page.set_viewport_size({"width": 1400, "height": 1000})
    project = factories.make_project(factories.personal_team(user), "Beach film", user)
    source = mountsea_video(project, user)
    page.goto(f"{live_server.url}/videos/{source.public_id}/")
    extend = page.locator("form[data-edit=extend]")
    # The cost is on the option before the click; Veo 3 cannot extend, so it is not offered.
    quality = extend.get_by_label("Veo 3.1 Quality · Mountsea (Veo)")
    expect(extend).to_contain_text("100 credits · on a gateway")
    expect(extend).not_to_contain_text("Veo 3 Fast")
    quality.check()
    extend.get_by_label("What happens next (optional)").fill("the ball rolls into the sea")
    page.screenshot(path=str(artifacts_dir / "edits-video-page.png"), full_page=True)
    extend.get_by_role("button", name="Extend", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Extending on Veo 3.1 Quality")
    job = Job.objects.get(mode=Mode.EXTEND)
    assert (job.model, job.source_video, job.prompt_text) == (
        "veo31_quality",
        source,
        "the ball rolls into the sea",
    )
    card = page.locator(f"#job-{job.public_id}")
    expect(card).to_be_visible()
    job = drive(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    # The page's one poller brings the finished card in without a reload.
    expect(card.locator("[data-status]")).to_have_attribute(
        "data-status", "succeeded", timeout=15_000
    )
    page.screenshot(path=str(artifacts_dir / "edits-extended.png"), full_page=True)
    child = Video.objects.get(job=job)
    assert child.parent == source
    assert sandbox.stats()["creates"]["/gemini/video/extend"] == 1


def test_a_creator_paints_where_an_object_goes_and_inserts_it_offline(
    signed_in_page: tuple[Page, Any], live_server: Any, artifacts_dir: Path
) -> None:
    page, user = signed_in_page
    project = factories.make_project(factories.personal_team(user), "Kites", user)
    video = factories.make_output(project, user, **factories.PAINTER_CLIP)
    page.goto(f"{live_server.url}/videos/{video.public_id}/insert/")
    expect(page.get_by_role("heading", name="Insert an object")).to_be_visible()
    # The mask is optional: the button is open before anything is painted.
    expect(page.get_by_role("button", name="Insert object")).to_be_enabled()
    box = page.locator("[data-paint]").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.7, steps=8)
    page.mouse.up()
    expect(page.locator("[data-status]")).to_contain_text("marked for the new object")
    page.get_by_label("What to insert").fill("a yellow kite")
    page.screenshot(path=str(artifacts_dir / "edits-insert-painter.png"), full_page=True)
    page.get_by_role("button", name="Insert object").click()
    expect(page.locator(".messages")).to_contain_text("Inserting the object")
    job = Job.objects.get(mode=Mode.INSERT)
    assert job.mask is not None and job.mask.coverage > 0.005
    job = drive(job)
    assert job.status == Status.SUCCEEDED, job.error_message
