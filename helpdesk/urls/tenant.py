"""URLs inside one organization: ``/app/<org>/…``. Each area has its own module."""

from django.urls import include, path

from helpdesk.views import tenancy

urlpatterns = [
    path("", tenancy.dashboard, name="dashboard"),
    path("manage/", tenancy.manage_index, name="manage"),
    path("manage/organization/", tenancy.organization_settings, name="organization-settings"),
    path("manage/members/", tenancy.member_list, name="member-list"),
    path("manage/members/invite/", tenancy.member_invite, name="member-invite"),
    path(
        "manage/members/<int:membership_id>/role/",
        tenancy.member_set_role,
        name="member-set-role",
    ),
    path(
        "manage/members/<int:membership_id>/remove/",
        tenancy.member_remove,
        name="member-remove",
    ),
    path(
        "manage/invitations/<int:invitation_id>/revoke/",
        tenancy.invitation_revoke,
        name="invitation-revoke",
    ),
    path("manage/teams/", include("helpdesk.urls.teams")),
    path("manage/workflows/", include("automations.urls")),
    path("customers/", include("helpdesk.urls.customers")),
    path("manage/custom-fields/", include("helpdesk.urls.custom_fields")),
    path("tickets/", include("tickets.urls")),
    path("manage/", include("tickets.urls.manage")),
    path("manage/", include("tickets.urls.email_admin")),
    path("chat/", include("chat.urls")),
    path("calls/", include("telephony.urls")),
]
