"""The scene builder's pages and buttons: success, refusals, and who may do what."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from studio.models import ExportShot, Job, Mode, Scene, SceneShot, Video
from studio.services import scenes
from tests.conftest import Cast
from tests.factories import drive, make_job, make_output, make_project, make_video

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(cast: Cast) -> Scene:
    return scenes.create_scene(cast.project, cast.owner, "Opening")


@pytest.fixture
def editor(cast: Cast) -> Client:
    return cast.client_for(cast.editor)


def said(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in get_messages(response.wsgi_request)]


def url(name: str, *args: object) -> str:
    return reverse(name, args=args)


def test_an_editor_creates_a_scene_from_the_project_page(cast: Cast, editor: Client):
    page = editor.get(url("project_detail", cast.project.public_id))
    assert url("scene_create", cast.project.public_id) in page.content.decode()
    response = editor.post(url("scene_create", cast.project.public_id), {"name": "  Finale "})
    scene = Scene.objects.get(project=cast.project)
    assert scene.name == "Finale"
    assert response["Location"] == url("scene_detail", scene.public_id)


def test_a_blank_scene_name_stores_nothing(cast: Cast, editor: Client):
    response = editor.post(url("scene_create", cast.project.public_id), {"name": "   "})
    assert "Give the scene a name." in said(response)
    assert not Scene.objects.exists()


def test_the_builder_lists_shots_with_the_player_and_scrubbers(
    cast: Cast, scene: Scene, editor: Client
):
    video = make_output(cast.project, seconds=2.0)
    shot = scenes.add_shot(scene, video)
    body = editor.get(url("scene_detail", scene.public_id)).content.decode()
    assert f'id="shot-{shot.public_id}"' in body
    assert "data-scene-player" in body and "scene-builder.js" in body
    assert 'type="range"' in body and 'max="2.000"' in body
    assert "<script>" not in body


def test_adding_a_shot_from_the_builder_and_from_the_video_page(
    cast: Cast, scene: Scene, editor: Client
):
    first, second = make_output(cast.project), make_output(cast.project)
    editor.post(url("scene_add_shot", scene.public_id), {"video": first.public_id})
    video_page = editor.get(url("video_detail", second.public_id)).content.decode()
    assert url("video_add_to_scene", second.public_id) in video_page
    response = editor.post(
        url("video_add_to_scene", second.public_id), {"scene": str(scene.public_id)}
    )
    assert response["Location"].startswith(url("scene_detail", scene.public_id))
    assert [s.video_id for s in scene.shots.all()] == [first.pk, second.pk]


def test_add_to_a_new_scene_from_the_video_page_makes_one(cast: Cast, editor: Client):
    video = make_output(cast.project)
    editor.post(url("video_add_to_scene", video.public_id), {"scene": ""})
    assert Scene.objects.get(project=cast.project).shots.get().video == video


@pytest.mark.parametrize("whose", ["outsider", "other_project", "forged"])
def test_a_shot_of_a_foreign_or_forged_video_is_refused_and_nothing_stored(
    cast: Cast, scene: Scene, editor: Client, whose: str
):
    video_id = {
        "outsider": lambda: make_output(cast.outsider_project).public_id,
        "other_project": lambda: make_output(make_project(cast.team, "Other")).public_id,
        "forged": uuid.uuid4,
    }[whose]()
    response = editor.post(url("scene_add_shot", scene.public_id), {"video": str(video_id)})
    assert response.status_code == 302
    assert any("this project's videos" in m or "scene's project" in m for m in said(response))
    assert not scene.shots.exists()


def test_a_video_cannot_be_added_to_another_projects_scene(cast: Cast, editor: Client):
    other = scenes.create_scene(make_project(cast.team, "Other"), cast.owner, "Elsewhere")
    video = make_output(cast.project)
    response = editor.post(
        url("video_add_to_scene", video.public_id), {"scene": str(other.public_id)}
    )
    assert "Choose one of this project's scenes." in said(response)
    assert not SceneShot.objects.exists()


def test_move_buttons_and_drag_order_reorder_the_shots(cast: Cast, scene: Scene, editor: Client):
    shots = [scenes.add_shot(scene, make_output(cast.project)) for _ in range(3)]
    editor.post(url("shot_move", scene.public_id, shots[0].public_id), {"direction": "down"})
    assert [s.pk for s in scene.shots.all()] == [shots[1].pk, shots[0].pk, shots[2].pk]
    order = ",".join(str(s.public_id) for s in (shots[2], shots[1], shots[0]))
    editor.post(url("scene_reorder", scene.public_id), {"order": order})
    assert [s.pk for s in scene.shots.all()] == [shots[2].pk, shots[1].pk, shots[0].pk]


def test_a_forged_reorder_is_refused_and_the_order_kept(cast: Cast, scene: Scene, editor: Client):
    shots = [scenes.add_shot(scene, make_output(cast.project)) for _ in range(2)]
    for order in (f"{shots[0].public_id},{uuid.uuid4()}", "not-a-uuid", f"{shots[0].public_id}"):
        response = editor.post(url("scene_reorder", scene.public_id), {"order": order})
        assert said(response)
    assert [s.pk for s in scene.shots.all()] == [shots[0].pk, shots[1].pk]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"in_seconds": "0.5", "out_seconds": "9"}, "inside the clip"),
        ({"in_seconds": "1.5", "out_seconds": "1.0"}, "after the in point"),
        ({"in_seconds": "-1", "out_seconds": "1.0"}, "greater than or equal to 0"),
        ({"in_seconds": "nan", "out_seconds": "1.0"}, "Enter a number"),
    ],
)
def test_a_bad_trim_says_why_and_stores_nothing(
    cast: Cast, scene: Scene, editor: Client, data: dict[str, str], message: str
):
    shot = scenes.add_shot(scene, make_output(cast.project, seconds=2.0))
    response = editor.post(url("shot_trim", scene.public_id, shot.public_id), data)
    assert any(message in m for m in said(response)), said(response)
    shot.refresh_from_db()
    assert (shot.in_seconds, shot.out_seconds) == (0, 2.0)


def test_a_good_trim_is_saved(cast: Cast, scene: Scene, editor: Client):
    shot = scenes.add_shot(scene, make_output(cast.project, seconds=2.0))
    editor.post(
        url("shot_trim", scene.public_id, shot.public_id),
        {"in_seconds": "0.5", "out_seconds": "1.25"},
    )
    shot.refresh_from_db()
    assert (shot.in_seconds, shot.out_seconds) == (0.5, 1.25)


def test_exporting_an_empty_scene_says_so_and_makes_no_job(
    cast: Cast, scene: Scene, editor: Client
):
    response = editor.post(url("scene_export", scene.public_id))
    assert "Add at least one shot before exporting the scene." in said(response)
    assert not Job.objects.filter(mode=Mode.SCENE_EXPORT).exists()


def test_export_makes_one_local_job_per_click_key(cast: Cast, scene: Scene, editor: Client):
    scenes.add_shot(scene, make_output(cast.project, seconds=2.0))
    key = str(uuid.uuid4())
    for _ in range(2):
        editor.post(url("scene_export", scene.public_id), {"idempotency_key": key})
    job = Job.objects.get(mode=Mode.SCENE_EXPORT)
    assert (job.provider, job.export_shots.count()) == ("local", 1)
    page = editor.get(url("scene_detail", scene.public_id)).content.decode()
    assert f'id="job-{job.public_id}"' in page


def test_a_crossfade_out_of_range_is_refused(cast: Cast, scene: Scene, editor: Client):
    response = editor.post(url("scene_crossfade", scene.public_id), {"crossfade_seconds": "5"})
    assert "Crossfades last 0 to 1 seconds." in said(response)
    scene.refresh_from_db()
    assert scene.crossfade_seconds == 0


def test_an_exported_videos_page_lists_its_shots(cast: Cast, editor: Client):
    shots = [make_output(cast.project) for _ in range(2)]
    job = make_job(cast.project, cast.editor, mode=Mode.SCENE_EXPORT, params={})
    for i, video in enumerate(shots):
        ExportShot.objects.create(job=job, video=video, position=i, in_seconds=0, out_seconds=1)
    exported = make_video(job)
    body = editor.get(url("video_detail", exported.public_id)).content.decode()
    assert "Exported from 2 shots" in body
    for video in shots:
        assert url("video_detail", video.public_id) in body


def test_outsiders_get_404_everywhere(cast: Cast, scene: Scene):
    shot = scenes.add_shot(scene, make_output(cast.project))
    client = cast.client_for(cast.outsider)
    assert client.get(url("scene_detail", scene.public_id)).status_code == 404
    for name, args in [
        ("scene_add_shot", ()),
        ("scene_reorder", ()),
        ("scene_export", ()),
        ("scene_crossfade", ()),
        ("shot_move", (shot.public_id,)),
        ("shot_trim", (shot.public_id,)),
        ("shot_remove", (shot.public_id,)),
        ("shot_jump", (shot.public_id,)),
        ("shot_extend", (shot.public_id,)),
    ]:
        assert client.post(url(name, scene.public_id, *args)).status_code == 404, name
    assert (
        client.post(url("scene_create", cast.project.public_id), {"name": "x"}).status_code == 404
    )


def test_viewers_watch_but_get_403_on_every_change(cast: Cast, scene: Scene):
    shot = scenes.add_shot(scene, make_output(cast.project))
    client = cast.client_for(cast.viewer)
    page = client.get(url("scene_detail", scene.public_id))
    assert page.status_code == 200
    assert url("scene_export", scene.public_id) not in page.content.decode()
    for name, args in [
        ("scene_add_shot", ()),
        ("scene_reorder", ()),
        ("scene_export", ()),
        ("scene_crossfade", ()),
        ("shot_move", (shot.public_id,)),
        ("shot_trim", (shot.public_id,)),
        ("shot_remove", (shot.public_id,)),
        ("shot_jump", (shot.public_id,)),
        ("shot_extend", (shot.public_id,)),
    ]:
        assert client.post(url(name, scene.public_id, *args)).status_code == 403, name
    assert (
        client.post(url("scene_create", cast.project.public_id), {"name": "x"}).status_code == 403
    )
    assert scene.shots.count() == 1


def test_a_shot_of_another_scene_is_a_404(cast: Cast, scene: Scene, editor: Client):
    other = scenes.create_scene(cast.project, cast.owner, "Other")
    shot = scenes.add_shot(other, make_output(cast.project))
    response = editor.post(url("shot_remove", scene.public_id, shot.public_id))
    assert response.status_code == 404
    assert other.shots.count() == 1


def test_changes_need_post(cast: Cast, scene: Scene, editor: Client):
    assert editor.get(url("scene_export", scene.public_id)).status_code == 405
    assert editor.post(url("scene_detail", scene.public_id)).status_code == 405


def test_a_video_of_the_scene_is_not_deleted_with_its_shot(
    cast: Cast, scene: Scene, editor: Client
):
    video = make_output(cast.project)
    shot = scenes.add_shot(scene, video)
    editor.post(url("shot_remove", scene.public_id, shot.public_id))
    assert Video.objects.filter(pk=video.pk).exists() and not scene.shots.exists()


def test_jump_without_a_prompt_says_so_and_makes_nothing(cast: Cast, scene: Scene, editor: Client):
    shot = scenes.add_shot(scene, make_output(cast.project))
    response = editor.post(url("shot_jump", scene.public_id, shot.public_id), {"prompt": "  "})
    assert "Describe the next shot." in said(response)
    assert not Job.objects.filter(mode=Mode.IMG2VIDEO).exists()
    assert scene.shots.count() == 1


@pytest.mark.django_db(transaction=True)
def test_jump_holds_a_place_after_the_shot_and_shows_its_job(cast: Cast, editor: Client):
    scene = scenes.create_scene(cast.project, cast.owner, "Chase")
    first = scenes.add_shot(scene, make_output(cast.project, real=True, size=(320, 180)))
    scenes.add_shot(scene, make_output(cast.project))
    response = editor.post(
        url("shot_jump", scene.public_id, first.public_id), {"prompt": "The dog runs on"}
    )
    job = Job.objects.get(mode=Mode.IMG2VIDEO)
    assert [s.pending_job_id for s in scene.shots.all()] == [None, job.pk, None]
    page = editor.get(response["Location"]).content.decode()
    assert "Waiting for its video" in page and f'id="job-{job.public_id}"' in page


def test_a_shot_offers_extend_with_where_it_runs_and_a_gif_shot_says_why_not(
    cast: Cast, scene: Scene, editor: Client
):
    shot = scenes.add_shot(scene, make_output(cast.project))
    page = editor.get(url("scene_detail", scene.public_id)).content.decode()
    assert url("shot_extend", scene.public_id, shot.public_id) in page
    assert '<option value="local:draft" selected>' in page and "free · on this server" in page
    # A shot waiting on a job cannot be extended again; the button says why.
    job = make_job(cast.project, cast.editor, status="running", mode=Mode.EXTEND)
    SceneShot.objects.filter(pk=shot.pk).update(pending_job=job)
    page = editor.get(url("scene_detail", scene.public_id)).content.decode()
    assert url("shot_extend", scene.public_id, shot.public_id) not in page
    assert f'disabled aria-describedby="extend-why-{shot.public_id}"' in page
    assert "This shot is already being replaced." in page


def test_extending_a_shot_that_cannot_be_extended_makes_nothing(
    cast: Cast, scene: Scene, editor: Client
):
    shot = scenes.add_shot(scene, make_output(cast.project))
    job = make_job(cast.project, cast.editor, status="running", mode=Mode.EXTEND)
    SceneShot.objects.filter(pk=shot.pk).update(pending_job=job)
    before = Job.objects.count()
    response = editor.post(
        url("shot_extend", scene.public_id, shot.public_id), {"route": "local:draft"}
    )
    assert "This shot is already being replaced." in said(response)
    assert Job.objects.count() == before


@pytest.mark.django_db(transaction=True)
def test_extending_a_shot_runs_locally_and_the_longer_video_replaces_it(cast: Cast, editor: Client):
    scene = scenes.create_scene(cast.project, cast.owner, "Long take")
    source = make_output(cast.project, cast.editor, real=True, size=(320, 180), seconds=1.0)
    shot = scenes.add_shot(scene, source)
    scenes.trim_shot(shot, 0.2, 0.8)
    response = editor.post(
        url("shot_extend", scene.public_id, shot.public_id),
        {
            "route": "local:draft",
            "prompt": "and the tide comes in",
            "idempotency_key": str(uuid.uuid4()),
        },
    )
    job = Job.objects.get(mode=Mode.EXTEND)
    assert (job.provider, job.source_video, job.prompt_text) == (
        "local",
        source,
        "and the tide comes in",
    )
    assert any("replaces it when it is done" in m for m in said(response))
    shot.refresh_from_db()
    assert shot.pending_job == job and shot.video == source
    assert drive(job).status == "succeeded"
    shot.refresh_from_db()
    longer = Video.objects.get(job=job)
    assert shot.video == longer and shot.pending_job is None
    assert (shot.in_seconds, shot.out_seconds) == (0, longer.duration_seconds)
    assert longer.duration_seconds > source.duration_seconds + 3
