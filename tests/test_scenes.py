"""Scenes as a service: shots, order, trims, places held for jobs, export."""

from __future__ import annotations

import pytest
from django.utils import timezone

from studio.engine.media import probe
from studio.models import ExportShot, Mode, Scene, SceneShot, Status, Video, VideoKind
from studio.services import scenes
from studio.storage import local_copy
from tests.conftest import Cast
from tests.factories import drive, make_output, make_project, request_job


def shot_videos(scene: Scene) -> list[int | None]:
    return [shot.video_id for shot in scene.shots.order_by("position")]


@pytest.fixture
def scene(cast: Cast) -> Scene:
    return scenes.create_scene(cast.project, cast.editor, "Opening")


@pytest.mark.django_db
class TestBuilding:
    def test_a_shot_is_the_whole_video_appended_at_the_end(self, cast: Cast, scene: Scene):
        first = make_output(cast.project, cast.editor, seconds=2.0)
        second = make_output(cast.project, cast.editor, seconds=3.0)
        scenes.add_shot(scene, first)
        shot = scenes.add_shot(scene, second)
        assert (shot.position, shot.in_seconds, shot.out_seconds) == (1, 0, 3.0)
        assert shot_videos(scene) == [first.pk, second.pk]

    def test_another_teams_or_projects_video_is_refused(self, cast: Cast, scene: Scene):
        other_project = make_output(make_project(cast.team, "Other film"))
        outsider = make_output(cast.outsider_project)
        for video in (other_project, outsider):
            with pytest.raises(scenes.SceneError, match="this scene's project"):
                scenes.add_shot(scene, video)
        assert not scene.shots.exists()

    def test_gifs_and_hidden_videos_are_not_shots(self, cast: Cast, scene: Scene):
        gif = make_output(cast.project, kind=VideoKind.GIF, mode=Mode.GIF)
        hidden = make_output(cast.project, hidden_at=timezone.now())
        for video in (gif, hidden):
            with pytest.raises(scenes.SceneError, match="playable"):
                scenes.add_shot(scene, video)
        assert not scene.shots.exists()

    def test_moving_a_shot_swaps_it_with_its_neighbour_and_stops_at_the_ends(
        self, cast: Cast, scene: Scene
    ):
        videos = [make_output(cast.project) for _ in range(3)]
        shots = [scenes.add_shot(scene, video) for video in videos]
        scenes.move_shot(shots[2], -1)
        assert shot_videos(scene) == [videos[0].pk, videos[2].pk, videos[1].pk]
        scenes.move_shot(shots[0], -1)
        assert shot_videos(scene) == [videos[0].pk, videos[2].pk, videos[1].pk]

    def test_reorder_takes_every_shot_once_or_nothing(self, cast: Cast, scene: Scene):
        videos = [make_output(cast.project) for _ in range(3)]
        shots = [scenes.add_shot(scene, video) for video in videos]
        scenes.reorder(scene, [shots[2].public_id, shots[0].public_id, shots[1].public_id])
        assert shot_videos(scene) == [videos[2].pk, videos[0].pk, videos[1].pk]
        with pytest.raises(scenes.SceneError):
            scenes.reorder(scene, [shots[0].public_id, shots[1].public_id])
        assert shot_videos(scene) == [videos[2].pk, videos[0].pk, videos[1].pk]

    def test_removing_a_shot_closes_the_gap(self, cast: Cast, scene: Scene):
        shots = [scenes.add_shot(scene, make_output(cast.project)) for _ in range(3)]
        scenes.remove_shot(shots[0])
        assert list(scene.shots.values_list("position", flat=True)) == [0, 1]


@pytest.mark.django_db
class TestTrims:
    @pytest.mark.parametrize(
        ("start", "end", "message"),
        [(0.5, 9.0, "inside the clip"), (-0.1, 1.0, "inside the clip"), (1.5, 1.0, "after the in")],
    )
    def test_a_trim_outside_the_clip_or_backwards_is_refused_and_nothing_stored(
        self, cast: Cast, scene: Scene, start: float, end: float, message: str
    ):
        shot = scenes.add_shot(scene, make_output(cast.project, seconds=2.0))
        with pytest.raises(scenes.SceneError, match=message):
            scenes.trim_shot(shot, start, end)
        shot.refresh_from_db()
        assert (shot.in_seconds, shot.out_seconds) == (0, 2.0)

    def test_a_trim_inside_the_clip_is_kept(self, cast: Cast, scene: Scene):
        shot = scenes.add_shot(scene, make_output(cast.project, seconds=2.0))
        scenes.trim_shot(shot, 0.25, 1.5)
        shot.refresh_from_db()
        assert (shot.in_seconds, shot.out_seconds) == (0.25, 1.5)


@pytest.mark.django_db(transaction=True)
class TestJobs:
    def test_exporting_an_empty_scene_is_refused_without_a_job(self, cast: Cast, scene: Scene):
        with pytest.raises(scenes.SceneError, match="at least one shot"):
            scenes.export(scene, cast.editor)
        assert not cast.project.jobs.filter(mode=Mode.SCENE_EXPORT).exists()

    def test_an_export_renders_one_video_whose_lineage_lists_every_shot(
        self, cast: Cast, scene: Scene
    ):
        first = make_output(cast.project, real=True, size=(320, 180), seconds=2.0)
        second = make_output(cast.project, real=True, size=(160, 90), seconds=1.0)
        scenes.add_shot(scene, first)
        scenes.trim_shot(scenes.add_shot(scene, second), 0.2, 1.0)
        scenes.add_shot(scene, first)
        job = drive(scenes.export(scene, cast.editor))
        assert job.status == Status.SUCCEEDED, list(job.events.values_list("reason", flat=True))
        video = Video.objects.get(job=job)
        assert video.duration_seconds == pytest.approx(4.8, abs=0.1)
        assert (video.width, video.height) == (320, 180)
        assert list(
            ExportShot.objects.filter(job=job).values_list("video_id", "in_seconds", "out_seconds")
        ) == [(first.pk, 0, 2.0), (second.pk, 0.2, 1.0), (first.pk, 0, 2.0)]
        with local_copy(video.file) as path:
            assert probe(path).duration_seconds == pytest.approx(4.8, abs=0.1)

    def test_an_export_with_a_shot_too_short_for_the_crossfade_is_refused(
        self, cast: Cast, scene: Scene
    ):
        scenes.add_shot(scene, make_output(cast.project, seconds=2.0))
        scenes.trim_shot(scenes.add_shot(scene, make_output(cast.project, seconds=2.0)), 0, 1.0)
        scenes.set_crossfade(scene, 0.6)
        with pytest.raises(scenes.SceneError, match="too short"):
            scenes.export(scene, cast.editor)

    def test_jump_to_holds_the_next_place_and_its_result_fills_it(self, cast: Cast, scene: Scene):
        first = make_output(cast.project, real=True, size=(320, 180), seconds=1.0)
        last = make_output(cast.project, real=True, size=(320, 180), seconds=1.0)
        shot = scenes.add_shot(scene, first)
        scenes.add_shot(scene, last)
        job = scenes.jump_to(shot, cast.editor, "The camera follows the ball")
        assert job.mode == Mode.IMG2VIDEO
        assert job.inputs.get().image.source_video == first
        pending = scene.shots.get(position=1)
        assert pending.video is None and pending.pending_job == job
        job = drive(job)
        assert job.status == Status.SUCCEEDED
        assert shot_videos(scene) == [first.pk, job.video.pk, last.pk]
        pending.refresh_from_db()
        assert pending.pending_job is None and pending.out_seconds == job.video.duration_seconds

    def test_a_shot_held_for_an_edit_is_replaced_by_its_result(self, cast: Cast, scene: Scene):
        # The extend mode is built on another branch: an upscale of the shot's
        # video stands in for it, through the same place_result hook.
        source = make_output(cast.project, real=True, size=(320, 180), seconds=1.0)
        shot = scenes.add_shot(scene, source)
        scenes.trim_shot(shot, 0.2, 0.8)
        job = request_job(
            cast.project,
            cast.editor,
            mode=Mode.UPSCALE,
            source_video=source,
            prompt_text="",
            params={"target": "1080p"},
        )
        scenes.replace_with(shot, job)
        job = drive(job)
        assert job.status == Status.SUCCEEDED
        shot.refresh_from_db()
        assert shot.video == job.video and shot.pending_job is None
        assert (shot.in_seconds, shot.out_seconds) == (0, job.video.duration_seconds)
        assert SceneShot.objects.filter(scene=scene).count() == 1

    def test_only_an_edit_of_the_shots_own_video_can_replace_it(self, cast: Cast, scene: Scene):
        shot = scenes.add_shot(scene, make_output(cast.project))
        other = make_output(cast.project)
        job = request_job(
            cast.project,
            cast.editor,
            mode=Mode.UPSCALE,
            source_video=other,
            prompt_text="",
            params={"target": "1080p"},
        )
        with pytest.raises(scenes.SceneError):
            scenes.replace_with(shot, job)
