"""The project's URLs. Everything a member of an organization sees lives under
``/app/<org>/`` (see ``helpdesk.urls.tenant``); ``TenantMiddleware`` resolves ``<org>``."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from helpdesk.views import common, tenancy

auth_patterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="registration/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="org-home", permanent=False)),
    path("admin/", admin.site.urls),
    path("accounts/", include(auth_patterns)),
    path("language/", common.language_set, name="language-set"),
    path("healthz", common.health, name="healthz"),
    path("invite/<str:token>/", tenancy.invitation_accept, name="invitation-accept"),
    path("app/", tenancy.org_home, name="org-home"),
    path("", include("tickets.urls.hooks")),
    path("", include("tickets.urls.forms")),
    path("app/<slug:org>/", include("helpdesk.urls.tenant")),
]
