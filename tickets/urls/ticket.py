"""The ticket page and its actions, "New ticket" and attachment downloads:
``/app/<org>/tickets/…``."""

from django.urls import URLPattern, URLResolver, path

from tickets.views import ticket as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("new/", views.ticket_create_view, name="ticket-create"),
    path("<int:number>/", views.ticket_detail, name="ticket-detail"),
    path("<int:number>/reply/", views.ticket_reply, name="ticket-reply"),
    path("<int:number>/note/", views.ticket_note, name="ticket-note"),
    path("<int:number>/assign/", views.ticket_assign_view, name="ticket-assign"),
    path("<int:number>/status/", views.ticket_status_view, name="ticket-status"),
    path("<int:number>/type/", views.ticket_type_view, name="ticket-type"),
    path("<int:number>/priority/", views.ticket_priority_view, name="ticket-priority"),
    path("<int:number>/team/", views.ticket_team_view, name="ticket-team"),
    path("<int:number>/tags/", views.ticket_tag_add, name="ticket-tag-add"),
    path(
        "<int:number>/tags/<int:tag_id>/remove/",
        views.ticket_tag_remove,
        name="ticket-tag-remove",
    ),
    path("<int:number>/merge/", views.ticket_merge_view, name="ticket-merge"),
    path(
        "<int:number>/messages/<int:message_id>/resend/",
        views.ticket_message_resend,
        name="ticket-message-resend",
    ),
    path(
        "<int:number>/canned/<int:canned_response_id>/",
        views.ticket_canned,
        name="ticket-canned",
    ),
    path(
        "attachments/<int:attachment_id>/",
        views.attachment_download,
        name="attachment-download",
    ),
]
