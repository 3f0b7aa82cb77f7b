"""Teams and their ring schedules: ``/app/<org>/manage/teams/…``."""

from django.urls import URLPattern, path

from helpdesk.views import schedules, teams

urlpatterns: list[URLPattern] = [
    path("", teams.team_list, name="team-list"),
    path("new/", teams.team_create, name="team-create"),
    path("<int:team_id>/", teams.team_edit, name="team-edit"),
    path("<int:team_id>/delete/", teams.team_delete, name="team-delete"),
    path("<int:team_id>/members/add/", teams.team_member_add, name="team-member-add"),
    path(
        "<int:team_id>/members/<int:membership_id>/remove/",
        teams.team_member_remove,
        name="team-member-remove",
    ),
    path(
        "<int:team_id>/members/<int:membership_id>/default/",
        teams.team_member_default,
        name="team-member-default",
    ),
    path("<int:team_id>/schedules/", schedules.schedule_list, name="schedule-list"),
    path("<int:team_id>/schedules/new/", schedules.schedule_create, name="schedule-create"),
    path(
        "<int:team_id>/schedules/<int:schedule_id>/",
        schedules.schedule_edit,
        name="schedule-edit",
    ),
    path(
        "<int:team_id>/schedules/<int:schedule_id>/toggle/",
        schedules.schedule_toggle,
        name="schedule-toggle",
    ),
    path(
        "<int:team_id>/schedules/<int:schedule_id>/delete/",
        schedules.schedule_delete,
        name="schedule-delete",
    ),
    path("<int:team_id>/schedules.ics", schedules.schedule_export, name="schedule-export"),
]
