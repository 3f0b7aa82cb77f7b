from django.urls import URLPattern, path

from helpdesk.views import tenancy

# Placeholder until the teams screens land.
urlpatterns: list[URLPattern] = [path("", tenancy.manage_index, name="team-list")]
