"""Each creator screen in a real browser, with screenshots to look at (phone and
desktop, light and dark). The journey through them is tests/browser/test_journey.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from studio.models import Job, Status
from studio.services import library
from tests import factories
from tests.factories import image_bytes, make_job, make_output, make_video, upload

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
        "() => Array.from(document.images).every(i => i.complete && (i.naturalWidth > 0 || !i.src))"
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


def test_a_page_polls_once_per_interval_for_all_its_running_cards(
    signed_in_page: tuple[Page, Any], live_server: Any, artifacts_dir: Path
) -> None:
    """Three running cards, one poll every 2 s; a change comes back in its card,
    a finished job adds its own tile, and the poll stops once nothing moves."""
    page, user = signed_in_page
    project = factories.make_project(factories.personal_team(user), "Polling", user)
    jobs = [
        make_job(project, user, status=Status.RUNNING, progress=35, prompt_text=f"Kite {n}")
        for n in range(3)
    ]
    polls: list[int] = []
    others: list[str] = []

    def seen(response: Any) -> None:
        if "/jobs/updates/" in response.url:
            polls.append(response.status)
        elif "/jobs/" in response.url:
            others.append(response.url)

    page.on("response", seen)
    page.goto(f"{live_server.url}/projects/{project.public_id}/")
    expect(page.locator(".job-card")).to_have_count(3)
    page.wait_for_timeout(4_500)  # two polls, every 2 s
    assert 1 <= len(polls) <= 3 and set(polls) == {204}, polls  # not one per card
    assert others == []

    Job.objects.filter(pk=jobs[0].pk).update(progress=80)
    expect(page.locator(f"#job-{jobs[0].public_id}")).to_contain_text("80 %")
    Job.objects.filter(pk=jobs[1].pk).update(status=Status.SUCCEEDED)
    make_video(jobs[1])
    expect(page.locator("#project-video-grid .video-tile")).to_have_count(1)
    expect(page.locator(f"#job-{jobs[1].public_id}")).to_contain_text("Open video")
    _shot(page, artifacts_dir / "screen-project-poll-finished.png")

    Job.objects.filter(pk__in=[jobs[0].pk, jobs[2].pk]).update(status=Status.FAILED)
    expect(page.locator(f"#job-{jobs[2].public_id}")).to_contain_text("Failed")
    page.wait_for_timeout(500)
    assert polls[-1] == 286, polls
    stopped = len(polls)
    page.wait_for_timeout(4_500)
    assert len(polls) == stopped, polls  # nothing moves: no more polls

    # A retry brings a new moving card: the page polls again.
    page.locator(f"#job-{jobs[2].public_id}").get_by_role("button", name="Retry").click()
    expect(page.locator(".job-card")).to_have_count(4)
    new = Job.objects.exclude(pk__in=[job.pk for job in jobs]).get()
    Job.objects.filter(pk=new.pk).update(status=Status.RUNNING, progress=50)
    expect(page.locator(f"#job-{new.public_id}")).to_contain_text("50 %")
    assert len(polls) > stopped


def test_archiving_asks_first_through_hx_confirm(
    signed_in_page: tuple[Page, Any], live_server: Any
) -> None:
    page, user = signed_in_page
    project = factories.make_project(factories.personal_team(user), "Keep me", user)
    page.goto(f"{live_server.url}/projects/{project.public_id}/")
    asked: list[str] = []

    def answer(dialog: Any, accept: bool) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    page.get_by_role("button", name="Archive").click()
    page.wait_for_timeout(500)
    project.refresh_from_db()
    assert asked == ["Archive “Keep me”? Its videos are kept."] and project.archived_at is None
    page.once("dialog", lambda dialog: answer(dialog, True))
    page.get_by_role("button", name="Archive").click()
    expect(page.get_by_role("status")).to_contain_text("“Keep me” archived.")
    assert page.url.endswith("/projects/")  # the boosted form followed the redirect
    project.refresh_from_db()
    assert project.archived_at is not None
