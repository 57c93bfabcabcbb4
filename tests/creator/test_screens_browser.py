"""Each creator screen in a real browser, with screenshots to look at (phone and
desktop, light and dark). The journey through them is tests/browser/test_journey.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from studio.models import Status
from studio.services import library
from tests import factories
from tests.creator.builders import image_bytes, make_job, make_output, make_video, upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _seed(user: Any) -> Any:
    team = factories.personal_team(user)
    project = factories.make_project(team, "Northern lights teaser", user)
    colours = [(220, 90, 60), (40, 120, 200), (90, 180, 90)]
    refs = [
        library.store_upload(
            team,
            user,
            upload(f"ref{i}.png", image_bytes(size=(320, 180), color=c)).file,
            f"Reference {i + 1}.png",
        ).image
        for i, c in enumerate(colours)
    ]
    prompts = [
        "Aurora over a frozen lake, slow pan right, stars reflecting in the ice",
        "A fox crossing fresh snow at dawn, low angle, shallow depth of field",
        "Time-lapse of clouds over a mountain ridge, golden hour",
        "A lighthouse at dusk, waves rolling in, slow dolly towards the light",
    ]
    videos = [make_output(project, user, prompt_text=p, real=True) for p in prompts]
    make_video(make_job(project, user, mode="gif", prompt_text=""), parent=videos[0], kind="gif")
    make_job(
        project, user, status=Status.RUNNING, progress=35, prompt_text="A red kite over green hills"
    )
    make_job(
        project,
        user,
        status=Status.QUEUED,
        prompt_text="Rain on a window at night, neon reflections",
    )
    make_job(
        project,
        user,
        status=Status.FAILED,
        fail_reason="content_filtered",
        error_message="The prompt was refused.",
        prompt_text="A famous actor walking on the moon",
    )
    return project, refs, videos


def _images_loaded(page: Page) -> None:
    """Scroll through the page so lazy images load, then wait for every image."""
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_function(
        "Array.from(document.images).every(i => i.complete && (i.naturalWidth > 0 || !i.src))"
    )
    page.evaluate("window.scrollTo(0, 0)")


def _shot(page: Page, path: Path) -> None:
    _images_loaded(page)
    page.screenshot(path=str(path), full_page=True)


@pytest.mark.parametrize(
    ("viewport", "scheme"),
    [({"width": 1366, "height": 900}, "light"), ({"width": 390, "height": 844}, "dark")],
    ids=["desktop-light", "phone-dark"],
)
def test_every_creator_screen_renders_cleanly(
    signed_in_page: tuple[Page, Any],
    live_server: Any,
    artifacts_dir: Path,
    viewport: dict[str, int],
    scheme: str,
) -> None:
    page, user = signed_in_page
    project, refs, videos = _seed(user)
    page.set_viewport_size(viewport)
    page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    tag = f"{viewport['width']}-{scheme}"
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{live_server.url}/projects/{project.public_id}/")
    expect(page.get_by_role("heading", name="Generate")).to_be_visible()
    _shot(page, artifacts_dir / f"screen-project-{tag}.png")

    page.get_by_text("Frames to video", exact=True).click()
    expect(page.get_by_role("combobox", name="Start frame")).to_be_visible()
    page.get_by_role("button", name="Choose the start frame from the library").click()
    dialog = page.get_by_role("dialog", name="Choose the start frame")
    expect(dialog).to_be_visible()
    _images_loaded(page)
    page.screenshot(path=str(artifacts_dir / f"screen-picker-{tag}.png"))
    dialog.get_by_role("button", name="Reference 2.png").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("combobox", name="Start frame")).to_have_value(str(refs[1].public_id))
    _images_loaded(page)
    page.get_by_role("combobox", name="Start frame").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / f"screen-generate-frames-{tag}.png"))

    page.goto(f"{live_server.url}/library/")
    expect(page.get_by_role("heading", name="Reference library")).to_be_visible()
    _shot(page, artifacts_dir / f"screen-library-{tag}.png")

    page.goto(f"{live_server.url}/gallery/")
    expect(page.locator(".video-tile")).to_have_count(5)
    _shot(page, artifacts_dir / f"screen-gallery-{tag}.png")

    page.goto(f"{live_server.url}/queue/")
    _shot(page, artifacts_dir / f"screen-queue-{tag}.png")

    page.goto(f"{live_server.url}/videos/{videos[0].public_id}/")
    expect(page.locator("video[data-player]")).to_be_visible()
    _shot(page, artifacts_dir / f"screen-video-{tag}.png")
    assert errors == []


def test_the_browser_revalidates_an_unchanged_card_and_gets_304(
    signed_in_page: tuple[Page, Any], live_server: Any
) -> None:
    """htmx polls with XHR; the browser's cache adds If-None-Match from the card's
    ETag, the server answers 304 and the card stays as it was."""
    page, user = signed_in_page
    project = factories.make_project(factories.personal_team(user), "Polling", user)
    job = make_job(project, user, status=Status.RUNNING, progress=35, prompt_text="A kite")
    card_url = f"/jobs/{job.public_id}/card/"
    polls: list[tuple[str | None, int]] = []

    def seen(response: Any) -> None:
        if response.url.endswith(card_url):
            # A 304 reaches the page as the cached 200; no body crossed the network.
            sent = response.request.all_headers().get("if-none-match")
            polls.append((sent, response.request.sizes()["responseBodySize"]))

    page.on("response", seen)
    page.goto(f"{live_server.url}/projects/{project.public_id}/")
    card = page.locator(f"#job-{job.public_id}")
    expect(card).to_contain_text("35 %")
    page.wait_for_timeout(5_000)  # two or three polls, every 2 s
    assert len(polls) >= 2, polls
    first_etag = polls[0][0]
    assert first_etag is None or first_etag.startswith('W/"card-')
    revalidated = [size for etag, size in polls[1:] if etag and etag.startswith('W/"card-')]
    assert revalidated and all(size == 0 for size in revalidated), polls
    assert polls[0][1] > 1000  # the first poll carried the whole card
    expect(card).to_contain_text("35 %")
