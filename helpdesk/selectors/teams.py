"""Reads for teams and their members."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404

from helpdesk.models import Membership, Team
from helpdesk.selectors.schedules import ScheduleState, team_schedule_states


def team_list(*, actor: Membership) -> QuerySet[Team]:
    """The organization's teams with ``member_count`` and ``schedule_count``."""
    return (
        Team.objects.for_organization(actor.organization)
        .select_related("organization")
        .annotate(
            member_count=Count("memberships", distinct=True),
            schedule_count=Count("schedules", distinct=True),
        )
        .order_by("name")
    )


def access_team(*, actor: Membership, team_id: int) -> Team:
    """The actor's organization's team, or 404 (for any other organization's id too)."""
    return get_object_or_404(
        Team.objects.for_organization(actor.organization).select_related("organization"),
        pk=team_id,
    )


def team_member_list(*, team: Team) -> QuerySet[Membership]:
    """The organization memberships of the team's members (their ids are what URLs carry)."""
    return (
        Membership.objects.for_organization(team.organization_id)
        .filter(user__teams=team)
        .select_related("user", "default_team")
        .order_by("user__name", "user__email")
    )


def team_member_candidates(*, team: Team) -> QuerySet[Membership]:
    """Members of the organization who are not on the team yet."""
    return (
        Membership.objects.for_organization(team.organization_id)
        .exclude(user__teams=team)
        .select_related("user")
        .order_by("user__name", "user__email")
    )


def access_team_member(*, team: Team, membership_id: int) -> Membership:
    """A membership of the team's organization, or 404."""
    return get_object_or_404(
        Membership.objects.for_organization(team.organization_id).select_related(
            "user", "default_team"
        ),
        pk=membership_id,
    )


@dataclass(frozen=True)
class TeamStatus:
    team: Team
    state: ScheduleState


def team_status_list(*, actor: Membership, at: datetime | None = None) -> list[TeamStatus]:
    """Every team of the organization with its schedule state at ``at`` (default: now), in a
    fixed number of queries however many teams there are."""
    teams = list(team_list(actor=actor))
    states = team_schedule_states(teams=teams, at=at)
    return [TeamStatus(team=team, state=states[team.pk]) for team in teams]
