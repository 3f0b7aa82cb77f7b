"""A deliberately broken URLconf: proves the isolation checker catches a leak."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from helpdesk.models import Team


def leaky_team(request: HttpRequest, team_id: int) -> HttpResponse:
    team = Team.all_objects.get(pk=team_id)  # the bug: no organization scope
    if request.method == "POST":
        team.name = request.POST.get("name", team.name)
        team.save()
    return HttpResponse(team.name)


urlpatterns = [
    path("accounts/", include("django.contrib.auth.urls")),
    path("app/<slug:org>/leaky/<int:team_id>/", leaky_team, name="leaky-team"),
]
