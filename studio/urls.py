from django.contrib.auth import views as auth_views
from django.urls import include, path

from studio.views import accounts, health, projects, signed, teams

urlpatterns = [
    path("", projects.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("s/ref/<str:token>/", signed.signed_reference, name="signed_reference"),
    # Accounts
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
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
    path("teams/<uuid:team_id>/members/", teams.member_add, name="member_add"),
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
    # Projects
    path("projects/", projects.project_list, name="project_list"),
    path("projects/<uuid:project_id>/", projects.project_detail, name="project_detail"),
    path("projects/<uuid:project_id>/rename/", projects.project_rename, name="project_rename"),
    path("projects/<uuid:project_id>/archive/", projects.project_archive, name="project_archive"),
    path("projects/<uuid:project_id>/restore/", projects.project_restore, name="project_restore"),
    path("", include("studio.urls_creator")),
    path("", include("studio.urls_masks")),
]
