"""All websocket routes of the project; apps add theirs here as they gain consumers."""

from django.urls import URLPattern, URLResolver

websocket_urlpatterns: list[URLPattern | URLResolver] = []
