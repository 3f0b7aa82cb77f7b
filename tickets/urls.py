from django.urls import path

from tickets import views

urlpatterns = [
    path("", views.ticket_list, name="ticket-list"),
]
