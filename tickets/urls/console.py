from django.urls import URLPattern, URLResolver, path

from tickets import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.ticket_list, name="ticket-list"),
]
