from django.urls import path

from telephony import views

urlpatterns = [
    path("", views.call_list, name="call-list"),
]
