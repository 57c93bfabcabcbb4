"""Every Studio URL in one list, grouped by page area (config/urls.py adds the admin)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from studio.forms.moderation import SignInForm
from studio.views import (
    accounts,
    archives,
    audit,
    gallery,
    generate,
    health,
    jobs,
    ledger,
    library,
    masks,
    media,
    moderation,
    projects,
    scenes,
    sharing,
    signed,
    teams,
    videos,
)

urlpatterns = [
    path("", projects.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("s/ref/<str:token>/", signed.signed_reference, name="signed_reference"),
    # Accounts
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, authentication_form=SignInForm
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    # Teams
    path("teams/", teams.team_list, name="team_list"),
    path("teams/<uuid:team_id>/", teams.team_detail, name="team_detail"),
    path("teams/switch/", teams.team_switch, name="team_switch"),
    path("teams/<uuid:team_id>/leave/", teams.team_leave, name="team_leave"),
    path("teams/<uuid:team_id>/invitations/", teams.invitation_create, name="invitation_create"),
    path(
        "teams/<uuid:team_id>/invitations/<uuid:invitation_id>/revoke/",
        teams.invitation_revoke,
        name="invitation_revoke",
    ),
    path("invitations/<str:token>/", teams.invitation_detail, name="invitation_detail"),
    path("invitations/<str:token>/accept/", teams.invitation_accept, name="invitation_accept"),
    path("invitations/<str:token>/decline/", teams.invitation_decline, name="invitation_decline"),
    path(
        "teams/<uuid:team_id>/members/<uuid:member_id>/role/",
        teams.member_role,
        name="member_role",
    ),
    path(
        "teams/<uuid:team_id>/members/<uuid:member_id>/remove/",
        teams.member_remove,
        name="member_remove",
    ),
    # Credit ledger
    path("teams/<uuid:team_id>/ledger/", ledger.team_ledger, name="team_ledger"),
    path("teams/<uuid:team_id>/ledger/budget/", ledger.team_budget, name="team_budget"),
    path("teams/<uuid:team_id>/ledger.csv", ledger.team_ledger_csv, name="team_ledger_csv"),
    # Projects
    path("projects/", projects.project_list, name="project_list"),
    path("projects/<uuid:project_id>/", projects.project_detail, name="project_detail"),
    path("projects/<uuid:project_id>/rename/", projects.project_rename, name="project_rename"),
    path("projects/<uuid:project_id>/archive/", projects.project_archive, name="project_archive"),
    path("projects/<uuid:project_id>/restore/", projects.project_restore, name="project_restore"),
    # Project archives: editors export, owners import
    path("projects/<uuid:project_id>/export/", archives.project_export, name="project_export"),
    path("teams/<uuid:team_id>/import/", archives.project_import, name="project_import"),
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
    # Edits (issue 12)
    path("videos/<uuid:video_id>/extend/", videos.video_extend, name="video_extend"),
    path("videos/<uuid:video_id>/reshoot/", videos.video_reshoot, name="video_reshoot"),
    path("videos/<uuid:video_id>/insert/", videos.video_insert, name="video_insert"),
    # Share links: editors make and revoke them; the token alone opens the video
    path("videos/<uuid:video_id>/share/", sharing.share_create, name="share_create"),
    path("videos/<uuid:video_id>/share/revoke/", sharing.share_revoke, name="share_revoke"),
    path("s/v/<str:token>/", sharing.shared_page, name="shared_page"),
    path("s/v/<str:token>/file", sharing.shared_file, name="shared_file"),
    path("s/v/<str:token>/poster", sharing.shared_poster, name="shared_poster"),
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
    # Mask painter and object removal
    path("videos/<uuid:video_id>/remove/", masks.painter, name="painter"),
    # Moderation (staff) and the audit trail (owners, staff)
    path("review/", moderation.review_queue, name="review_queue"),
    path(
        "review/videos/<uuid:video_id>/hide/", moderation.video_hide, name="moderation_video_hide"
    ),
    path(
        "review/videos/<uuid:video_id>/restore/",
        moderation.video_restore,
        name="moderation_video_restore",
    ),
    path(
        "review/videos/<uuid:video_id>/dismiss/",
        moderation.reports_dismiss,
        name="moderation_reports_dismiss",
    ),
    path(
        "review/jobs/<uuid:job_id>/dismiss/",
        moderation.blocked_job_dismiss,
        name="moderation_job_dismiss",
    ),
    path(
        "review/hits/<uuid:hit_id>/dismiss/", moderation.hit_dismiss, name="moderation_hit_dismiss"
    ),
    path(
        "review/users/<str:username>/suspend/",
        moderation.user_suspend,
        name="moderation_user_suspend",
    ),
    path(
        "review/users/<str:username>/unsuspend/",
        moderation.user_unsuspend,
        name="moderation_user_unsuspend",
    ),
    path(
        "review/teams/<uuid:team_id>/suspend/",
        moderation.team_suspend,
        name="moderation_team_suspend",
    ),
    path(
        "review/teams/<uuid:team_id>/unsuspend/",
        moderation.team_unsuspend,
        name="moderation_team_unsuspend",
    ),
    path("review/blocklist/", moderation.rule_add, name="moderation_rule_add"),
    path("review/blocklist/off/", moderation.rule_off, name="moderation_rule_off"),
    path("audit/", audit.audit_log, name="audit_log"),
    # Scenes
    path("projects/<uuid:project_id>/scenes/", scenes.scene_create, name="scene_create"),
    path("scenes/<uuid:scene_id>/", scenes.scene_detail, name="scene_detail"),
    path("scenes/<uuid:scene_id>/shots/", scenes.scene_add_shot, name="scene_add_shot"),
    path("scenes/<uuid:scene_id>/reorder/", scenes.scene_reorder, name="scene_reorder"),
    path("scenes/<uuid:scene_id>/crossfade/", scenes.scene_crossfade, name="scene_crossfade"),
    path("scenes/<uuid:scene_id>/export/", scenes.scene_export, name="scene_export"),
    path("scenes/<uuid:scene_id>/shots/<uuid:shot_id>/move/", scenes.shot_move, name="shot_move"),
    path("scenes/<uuid:scene_id>/shots/<uuid:shot_id>/trim/", scenes.shot_trim, name="shot_trim"),
    path(
        "scenes/<uuid:scene_id>/shots/<uuid:shot_id>/remove/",
        scenes.shot_remove,
        name="shot_remove",
    ),
    path("scenes/<uuid:scene_id>/shots/<uuid:shot_id>/jump/", scenes.shot_jump, name="shot_jump"),
    path(
        "scenes/<uuid:scene_id>/shots/<uuid:shot_id>/extend/",
        scenes.shot_extend,
        name="shot_extend",
    ),
    path(
        "videos/<uuid:video_id>/add-to-scene/", scenes.video_add_to_scene, name="video_add_to_scene"
    ),
]
