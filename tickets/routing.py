"""Websocket routes of the tickets app (listed in ``helpdesk.routing``)."""

from django.urls import URLPattern, URLResolver, path

from tickets.consumers import TicketListConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/app/<slug:org>/tickets/", TicketListConsumer.as_asgi(), name="ws-ticket-list"),
]
