"""The scene builder in Debian's Chromium: build, reorder (keyboard and drag), trim, play, export.

Also the letterboxed reference thumbnails (issue 12's rough edges).
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import OperationalError, connections
from PIL import Image
from playwright.sync_api import Page, expect

from studio.models import Job, Mode, Project, Scene, Status, Video
from studio.services import library
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FINISH = 120_000  # ms: a render on a loaded two-core machine


@pytest.fixture
def sweeper() -> Iterator[None]:
    """The worker's sweep in a thread, running renders in this process."""
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
            connections.close_all()

    thread = threading.Thread(target=loop, name="test-sweeper", daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=60)


def sign_in(page: Page, live_server: Any, user: User) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(user.get_username())
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/projects/")


def order_of(scene: Scene) -> list[int | None]:
    return [shot.video_id for shot in scene.shots.order_by("position")]


@pytest.fixture
def project_with_videos(db: Any) -> tuple[User, Project, list[Video]]:
    user = factories.make_user("sasha")
    project = factories.make_project(factories.personal_team(user), "Harbour film", user)
    videos = [
        factories.make_output(
            project, user, real=True, size=(320, 180), seconds=2.0, prompt_text=f"Shot {name}"
        )
        for name in ("Alpha", "Bravo", "Charlie")
    ]
    return user, project, videos


def test_a_creator_builds_reorders_trims_plays_and_exports_a_scene(
    page: Page,
    live_server: Any,
    artifacts_dir: Path,
    sweeper: None,
    project_with_videos: tuple[User, Project, list[Video]],
) -> None:
    user, project, (alpha, bravo, charlie) = project_with_videos
    sign_in(page, live_server, user)
    page.goto(f"{live_server.url}/projects/{project.public_id}/")
    page.get_by_label("New scene").fill("Opening")
    page.get_by_role("button", name="Create scene").click()
    expect(page.get_by_role("heading", name="Opening")).to_be_visible()
    scene = Scene.objects.get(project=project)

    for video in (alpha, bravo, charlie):
        page.get_by_label("Add a shot").select_option(str(video.public_id))
        page.get_by_role("button", name="Add shot").click()
        expect(page.get_by_text("Shot added to the end of the scene.")).to_be_visible()
    assert order_of(scene) == [alpha.pk, bravo.pk, charlie.pk]

    # Keyboard: the third shot one place earlier.
    page.get_by_role("button", name="Move shot 3 earlier").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/#shot-*")
    expect(page.locator(".shot").nth(1)).to_contain_text("Shot Charlie")
    assert order_of(scene) == [alpha.pk, charlie.pk, bravo.pk]

    # Drag and drop: Bravo (last) onto the top half of Alpha (first).
    shots = {shot.video_id: shot for shot in scene.shots.all()}
    # The drag events a hand makes, dispatched in the page: Playwright's native
    # drag does not reach HTML5 drag and drop reliably in headless Chromium.
    with page.expect_navigation():
        page.evaluate(
            """([from, to]) => {
                const source = document.getElementById(from);
                const target = document.getElementById(to);
                const transfer = new DataTransfer();
                const top = target.getBoundingClientRect().top + 3;
                const fire = (node, type) => node.dispatchEvent(new DragEvent(type, {
                    dataTransfer: transfer, bubbles: true, cancelable: true, clientY: top}));
                fire(source, "dragstart");
                fire(target, "dragover");
                fire(target, "drop");
                fire(source, "dragend");
            }""",
            [f"shot-{shots[bravo.pk].public_id}", f"shot-{shots[alpha.pk].public_id}"],
        )
    expect(page.locator(".shot").first).to_contain_text("Shot Bravo")
    assert order_of(scene) == [bravo.pk, alpha.pk, charlie.pk]

    # Trim the first shot with its scrubbers, from the keyboard: in +0.2 s, out -0.6 s.
    first = page.locator(".shot").first
    first.get_by_label("In").focus()
    page.keyboard.press("PageUp")
    first.get_by_label("Out").focus()
    for _ in range(3):
        page.keyboard.press("PageDown")
    expect(first.locator('[data-trim-label="out"]')).to_have_text("1.40")
    first.get_by_role("button", name="Save trim of shot 1").click()
    expect(page.get_by_text("Shot 1 trimmed to 1.2 s.")).to_be_visible()
    trimmed = scene.shots.get(position=0)
    assert (trimmed.in_seconds, trimmed.out_seconds) == pytest.approx((0.2, 1.4))
    page.screenshot(path=str(artifacts_dir / "scene-builder.png"), full_page=True)

    # The scene plays as one sequence: every shot in turn, to the end.
    page.get_by_role("button", name="Play scene").click()
    player = page.locator("[data-scene-player]")
    expect(player).to_have_attribute("data-playing-index", "1", timeout=10_000)
    page.screenshot(path=str(artifacts_dir / "scene-playing.png"))
    expect(player).to_have_attribute("data-finished", "1", timeout=20_000)

    page.get_by_role("button", name="Export MP4").click()
    expect(page.get_by_text("Exporting the scene on this server")).to_be_visible()
    card = page.locator(".job-card").first
    expect(card.locator("[data-status]")).to_have_attribute(
        "data-status", "succeeded", timeout=FINISH
    )
    job = Job.objects.get(mode=Mode.SCENE_EXPORT)
    assert job.status == Status.SUCCEEDED
    exported = Video.objects.get(job=job)
    assert exported.duration_seconds == pytest.approx(1.2 + 2 + 2, abs=0.15)
    page.screenshot(path=str(artifacts_dir / "scene-exported.png"), full_page=True)

    page.goto(f"{live_server.url}/videos/{exported.public_id}/")
    expect(page.get_by_text("Exported from 3 shots")).to_be_visible()


def test_reference_thumbnails_are_letterboxed_not_cropped(
    page: Page, live_server: Any, artifacts_dir: Path, db: Any
) -> None:
    user = factories.make_user("paula")
    team = factories.personal_team(user)
    portrait = io.BytesIO()
    Image.new("RGB", (360, 640), (30, 120, 200)).save(portrait, format="PNG")
    portrait.seek(0)
    library.store_upload(team, user, portrait, "portrait.png")
    sign_in(page, live_server, user)
    page.goto(f"{live_server.url}/library/")
    image = page.get_by_role("img", name="portrait.png")
    expect(image).to_be_visible()
    image.evaluate("img => img.decode()")
    fit = image.evaluate("img => getComputedStyle(img).objectFit")
    assert fit == "contain"
    # The tile keeps its landscape box; the portrait picture sits whole inside it.
    box = page.locator(".ref-thumb").bounding_box()
    assert box is not None
    assert box["height"] == pytest.approx(box["width"] * 3 / 4, abs=2)
    page.screenshot(path=str(artifacts_dir / "library-letterboxed.png"), full_page=True)


def test_jump_to_fills_the_next_place_when_its_job_succeeds(
    page: Page,
    live_server: Any,
    artifacts_dir: Path,
    sweeper: None,
    project_with_videos: tuple[User, Project, list[Video]],
) -> None:
    user, project, (alpha, bravo, _charlie) = project_with_videos
    scene = Scene.objects.create(team=project.team, project=project, name="Chase")
    for position, video in enumerate((alpha, bravo)):
        scene.shots.create(video=video, position=position, out_seconds=video.duration_seconds)
    sign_in(page, live_server, user)
    page.goto(f"{live_server.url}/scenes/{scene.public_id}/")
    first = page.locator(".shot").first
    first.get_by_text("Jump to the next shot").click()
    first.get_by_label("What happens next").fill("The camera follows the boat out to sea")
    first.get_by_role("button", name="Make the next shot").click()
    expect(page.locator(".shot").nth(1)).to_contain_text("Waiting for its video")
    # No reload by hand: the poller's finished card makes the builder show the new shot.
    expect(page.locator(".shot").nth(1)).to_contain_text(
        "The camera follows the boat", timeout=FINISH
    )
    job = Job.objects.get(mode=Mode.IMG2VIDEO)
    assert [shot.video_id for shot in scene.shots.order_by("position")] == [
        alpha.pk,
        job.video.pk,
        bravo.pk,
    ]
    page.screenshot(path=str(artifacts_dir / "scene-jump-filled.png"), full_page=True)


def test_a_shot_moves_several_places_from_the_keyboard_without_leaving_its_button(
    page: Page, live_server: Any, project_with_videos: tuple[User, Project, list[Video]]
) -> None:
    user, project, (alpha, bravo, charlie) = project_with_videos
    from studio.services import scenes

    scene = scenes.create_scene(project, user, "Keys")
    for video in (alpha, bravo, charlie):
        scenes.add_shot(scene, video)
    sign_in(page, live_server, user)
    page.goto(f"{live_server.url}/scenes/{scene.public_id}/")
    page.get_by_role("button", name="Move shot 3 earlier").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/#shot-*")
    # Focus came back to the moved shot's same button: Enter again moves it on.
    expect(page.get_by_role("button", name="Move shot 2 earlier")).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".shot").nth(0)).to_contain_text("Shot Charlie")
    assert order_of(scene) == [charlie.pk, alpha.pk, bravo.pk]
    # At the top "Earlier" is disabled: focus falls on the shot's "Later".
    expect(page.get_by_role("button", name="Move shot 1 later")).to_be_focused()
