"""Public hooks (no login): the credential is the inbox's secret in the URL."""

from django.urls import URLPattern, URLResolver, path

from tickets.views.hooks import inbound_email_hook

urlpatterns: list[URLPattern | URLResolver] = [
    path("hooks/email/<str:secret>/", inbound_email_hook, name="inbound-email-hook"),
]
