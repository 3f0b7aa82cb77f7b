"""Writes for teams and their members."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from helpdesk.models import Membership, ScheduleAdvisor, Team, TeamMember
from helpdesk.services.tenancy import membership_set_default_team

# The team fields a manager may set; everything else (organization, members) has its own path.
TEAM_FIELDS = frozenset(
    {"name", "display_name", "time_zone", "create_ticket_for_missed_calls", "ring_last_advisor"}
)


def _require_manager(actor: Membership, team: Team | None = None) -> None:
    if not actor.can_manage:
        raise PermissionDenied
    if team is not None and team.organization_id != actor.organization_id:
        raise PermissionDenied


def _require_same_organization(team: Team, membership: Membership) -> None:
    if membership.organization_id != team.organization_id:
        raise ValidationError(_("That person is not a member of this organization."))


def _save_team(team: Team) -> Team:
    team.name = team.name.strip()
    team.display_name = team.display_name.strip()
    team.time_zone = team.time_zone.strip()
    name_taken = (
        Team.objects.for_organization(team.organization_id)
        .filter(name__iexact=team.name)
        .exclude(pk=team.pk)
        .exists()
    )
    if team.name and name_taken:
        raise ValidationError(
            {"name": _("A team named “%(name)s” already exists.") % {"name": team.name}}
        )
    team.full_clean()
    try:
        with transaction.atomic():
            team.save()
    except IntegrityError as exc:  # a concurrent request took the name first
        raise ValidationError(
            {"name": _("A team named “%(name)s” already exists.") % {"name": team.name}}
        ) from exc
    return team


def _apply_fields(team: Team, fields: dict[str, object]) -> None:
    unknown = set(fields) - TEAM_FIELDS
    if unknown:
        raise TypeError(f"unknown team fields: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(team, name, value)


def team_create(
    *,
    actor: Membership,
    name: str,
    display_name: str = "",
    time_zone: str = "",
    create_ticket_for_missed_calls: bool = False,
    ring_last_advisor: bool = False,
) -> Team:
    _require_manager(actor)
    team = Team(organization=actor.organization)
    _apply_fields(
        team,
        {
            "name": name,
            "display_name": display_name,
            "time_zone": time_zone,
            "create_ticket_for_missed_calls": create_ticket_for_missed_calls,
            "ring_last_advisor": ring_last_advisor,
        },
    )
    return _save_team(team)


def team_update(*, actor: Membership, team: Team, **fields: object) -> Team:
    """Changes any of ``TEAM_FIELDS``; the others stay as they are."""
    _require_manager(actor, team)
    _apply_fields(team, fields)
    return _save_team(team)


def team_delete(*, actor: Membership, team: Team) -> None:
    """Deletes the team with its schedules; members keep their accounts, and whoever had it as
    their default team has none afterwards."""
    _require_manager(actor, team)
    with transaction.atomic():
        team.delete()


def team_member_add(*, actor: Membership, team: Team, membership: Membership) -> TeamMember:
    """Puts a member of the organization on the team (adding someone twice is harmless).

    A person without a default team gets this one, so everyone on a team has one."""
    _require_manager(actor, team)
    _require_same_organization(team, membership)
    with transaction.atomic():
        member, created = TeamMember.objects.get_or_create(
            organization_id=team.organization_id, team=team, user_id=membership.user_id
        )
        if created and membership.default_team_id is None:
            membership_set_default_team(actor=actor, membership=membership, team=team)
    return member


def team_member_remove(*, actor: Membership, team: Team, membership: Membership) -> None:
    """Takes a person off the team and off its schedules' advisor slots.

    If it was their default team, their default becomes another of their teams (or none)."""
    _require_manager(actor, team)
    _require_same_organization(team, membership)
    with transaction.atomic():
        TeamMember.objects.filter(team=team, user_id=membership.user_id).delete()
        ScheduleAdvisor.objects.for_organization(team.organization_id).filter(
            schedule__team=team, user_id=membership.user_id
        ).delete()
        if membership.default_team_id == team.pk:
            other = (
                Team.objects.for_organization(team.organization_id)
                .filter(memberships__user_id=membership.user_id)
                .exclude(pk=team.pk)
                .order_by("name")
                .first()
            )
            membership_set_default_team(actor=actor, membership=membership, team=other)


def team_member_make_default(*, actor: Membership, team: Team, membership: Membership) -> None:
    """Makes ``team`` the default team of one of its members."""
    _require_manager(actor, team)
    _require_same_organization(team, membership)
    if not TeamMember.objects.filter(team=team, user_id=membership.user_id).exists():
        raise ValidationError(_("Only a member of the team can have it as their default team."))
    membership_set_default_team(actor=actor, membership=membership, team=team)
