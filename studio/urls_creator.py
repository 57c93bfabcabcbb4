"""Creator UI: generate, library, queue, gallery, video pages and media delivery."""

from django.urls import path

from studio.views import gallery, generate, jobs, library, media, videos

urlpatterns = [
    # Generate (the form lives on the project page)
    path("projects/<uuid:project_id>/generate/", generate.generate, name="generate"),
    path("projects/<uuid:project_id>/gallery/", gallery.project_gallery, name="project_gallery"),
    # Queue and job cards
    path("queue/", jobs.queue, name="queue"),
    path("jobs/<uuid:job_id>/", jobs.job_detail, name="job_detail"),
    path("jobs/updates/", jobs.job_updates, name="job_updates"),
    path("jobs/<uuid:job_id>/cancel/", jobs.job_cancel, name="job_cancel"),
    path("jobs/<uuid:job_id>/retry/", jobs.job_retry, name="job_retry"),
    path("jobs/<uuid:job_id>/resubmit/", jobs.job_resubmit, name="job_resubmit"),
    path("jobs/<uuid:job_id>/mark-failed/", jobs.job_mark_failed, name="job_mark_failed"),
    # Reference library
    path("library/", library.library_page, name="library"),
    path("library/<uuid:image_id>/delete/", library.reference_delete, name="reference_delete"),
    # Gallery and videos
    path("gallery/", gallery.team_gallery, name="gallery"),
    path("videos/<uuid:video_id>/", videos.video_detail, name="video_detail"),
    path("videos/<uuid:video_id>/favourite/", videos.video_favourite, name="video_favourite"),
    path("videos/<uuid:video_id>/rerun/", videos.video_rerun, name="video_rerun"),
    path("videos/<uuid:video_id>/frame/", videos.video_frame, name="video_frame"),
    path("videos/<uuid:video_id>/upscale/", videos.video_upscale, name="video_upscale"),
    path("videos/<uuid:video_id>/gif/", videos.video_gif, name="video_gif"),
    path("videos/<uuid:video_id>/report/", videos.video_report, name="video_report"),
    # Media delivery: membership-checked, byte ranges, conditional requests
    path("files/videos/<uuid:video_id>/file", media.video_file, name="media_video"),
    path("files/videos/<uuid:video_id>/poster", media.video_poster, name="media_poster"),
    path("files/videos/<uuid:video_id>/thumbnail", media.video_thumbnail, name="media_thumbnail"),
    path("files/references/<uuid:image_id>", media.reference_file, name="media_reference"),
    path(
        "files/references/<uuid:image_id>/thumb",
        media.reference_thumbnail,
        name="media_reference_thumb",
    ),
    path("files/masks/<uuid:mask_id>", media.mask_file, name="media_mask"),
]
