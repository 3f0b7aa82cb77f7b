"""Ticket URLs inside an organization (``/app/<org>/tickets/…`` and ``/app/<org>/manage/…``).

Public ones (inbound-mail hook, web forms) are in ``tickets.urls.hooks`` and
``tickets.urls.forms``, included at the root.
"""

from django.urls import include, path

urlpatterns = [
    path("", include("tickets.urls.console")),
    path("", include("tickets.urls.ticket")),
]
