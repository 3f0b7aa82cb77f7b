"""All websocket routes of the project; apps add theirs here as they gain consumers."""

from django.urls import URLPattern, URLResolver

from tickets.routing import websocket_urlpatterns as tickets_websocket_urlpatterns

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    *tickets_websocket_urlpatterns,
]
