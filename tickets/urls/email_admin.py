"""Manager screens for inbound mail (included at ``/app/<org>/manage/``)."""

from django.urls import URLPattern, URLResolver, path

from tickets.views import email_admin

urlpatterns: list[URLPattern | URLResolver] = [
    path("inboxes/<int:inbox_id>/mail/", email_admin.inbox_mail_list, name="inbox-mail-list"),
    path(
        "mail/<int:inbound_email_id>/raw/", email_admin.inbound_email_raw, name="inbound-email-raw"
    ),
    path(
        "mail/<int:inbound_email_id>/retry/",
        email_admin.inbound_email_retry_view,
        name="inbound-email-retry",
    ),
]
