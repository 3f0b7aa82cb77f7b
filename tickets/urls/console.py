from django.urls import URLPattern, URLResolver, path

from tickets.views import console

urlpatterns: list[URLPattern | URLResolver] = [
    path("", console.ticket_list, name="ticket-list"),
    path("bulk/", console.ticket_bulk, name="ticket-bulk"),
]
