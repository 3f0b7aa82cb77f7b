"""Manager screens for inboxes, inbox groups, tags, statuses, ticket types, integration
accounts and canned responses: ``/app/<org>/manage/…``."""

from django.urls import URLPattern, URLResolver, path

from tickets.views.manage import canned, inboxes, integrations, labels

urlpatterns: list[URLPattern | URLResolver] = [
    path("inboxes/", inboxes.inbox_list_view, name="inbox-list"),
    path("inboxes/new/", inboxes.inbox_create_view, name="inbox-create"),
    path("inboxes/<int:inbox_id>/", inboxes.inbox_edit_view, name="inbox-edit"),
    path("inboxes/<int:inbox_id>/secret/", inboxes.inbox_secret_view, name="inbox-secret"),
    path("inboxes/<int:inbox_id>/delete/", inboxes.inbox_delete_view, name="inbox-delete"),
    path("inbox-groups/", inboxes.inbox_group_list_view, name="inbox-group-list"),
    path("inbox-groups/new/", inboxes.inbox_group_create_view, name="inbox-group-create"),
    path(
        "inbox-groups/<int:inbox_group_id>/",
        inboxes.inbox_group_edit_view,
        name="inbox-group-edit",
    ),
    path(
        "inbox-groups/<int:inbox_group_id>/delete/",
        inboxes.inbox_group_delete_view,
        name="inbox-group-delete",
    ),
    path("tags/", labels.tag_list_view, name="tag-list"),
    path("tags/new/", labels.tag_create_view, name="tag-create"),
    path("tags/<int:tag_id>/", labels.tag_edit_view, name="tag-edit"),
    path("tags/<int:tag_id>/delete/", labels.tag_delete_view, name="tag-delete"),
    path("statuses/", labels.custom_status_list_view, name="custom-status-list"),
    path("statuses/new/", labels.custom_status_create_view, name="custom-status-create"),
    path(
        "statuses/<int:custom_status_id>/",
        labels.custom_status_edit_view,
        name="custom-status-edit",
    ),
    path(
        "statuses/<int:custom_status_id>/delete/",
        labels.custom_status_delete_view,
        name="custom-status-delete",
    ),
    path("ticket-types/", labels.ticket_type_list_view, name="ticket-type-list"),
    path("ticket-types/new/", labels.ticket_type_create_view, name="ticket-type-create"),
    path(
        "ticket-types/<int:ticket_type_id>/",
        labels.ticket_type_edit_view,
        name="ticket-type-edit",
    ),
    path(
        "ticket-types/<int:ticket_type_id>/delete/",
        labels.ticket_type_delete_view,
        name="ticket-type-delete",
    ),
    path("integrations/", integrations.integration_list_view, name="integration-list"),
    path("integrations/new/", integrations.integration_create_view, name="integration-create"),
    path(
        "integrations/<int:integration_id>/",
        integrations.integration_edit_view,
        name="integration-edit",
    ),
    path(
        "integrations/<int:integration_id>/delete/",
        integrations.integration_delete_view,
        name="integration-delete",
    ),
    path("canned-responses/", canned.canned_response_list_view, name="canned-response-list"),
    path(
        "canned-responses/new/",
        canned.canned_response_create_view,
        name="canned-response-create",
    ),
    path(
        "canned-responses/<int:canned_response_id>/",
        canned.canned_response_edit_view,
        name="canned-response-edit",
    ),
    path(
        "canned-responses/<int:canned_response_id>/delete/",
        canned.canned_response_delete_view,
        name="canned-response-delete",
    ),
]
