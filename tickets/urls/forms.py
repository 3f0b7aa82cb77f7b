"""Public ticket creation, reached without signing in; the inbox's secret is the key:
``/forms/<secret>/`` (the HTML form) and ``/api/v1/forms/<secret>/tickets/`` (JSON)."""

from django.urls import URLPattern, URLResolver, path

from tickets.views import forms as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("forms/<str:secret>/", views.web_form, name="web-form"),
    path("api/v1/forms/<str:secret>/tickets/", views.web_form_api, name="web-form-api"),
]
