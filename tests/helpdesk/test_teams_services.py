"""Team services: create, update, delete, members and default teams."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from helpdesk.models import Membership, Organization, Role, Schedule, Slot, Team, TeamMember
from helpdesk.models.schedules import ScheduleAdvisor
from helpdesk.services.teams import (
    team_create,
    team_delete,
    team_member_add,
    team_member_make_default,
    team_member_remove,
    team_update,
)
from tests.factories import ScheduleFactory, TeamFactory, add_team_member

pytestmark = pytest.mark.django_db


def teams_of(org: Organization) -> list[str]:
    return list(Team.objects.for_organization(org).values_list("name", flat=True))


def on_team(team: Team) -> set[int]:
    return set(TeamMember.objects.filter(team=team).values_list("user_id", flat=True))


# --- create, update, delete -----------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_managers_and_admins_create_teams(request, org: Organization, role: str) -> None:  # type: ignore[no-untyped-def]
    actor: Membership = request.getfixturevalue(role)
    team = team_create(
        actor=actor,
        name="  Service ",
        display_name="Customer service",
        time_zone="Europe/London",
        create_ticket_for_missed_calls=True,
        ring_last_advisor=True,
    )
    team.refresh_from_db()
    assert team.organization_id == org.pk
    assert (team.name, team.display_name, team.time_zone) == (
        "Service",
        "Customer service",
        "Europe/London",
    )
    assert team.create_ticket_for_missed_calls and team.ring_last_advisor
    assert team.effective_time_zone() == "Europe/London"


def test_blank_time_zone_means_the_organizations(manager: Membership) -> None:
    team = team_create(actor=manager, name="Service")
    assert team.time_zone == ""
    assert team.effective_time_zone() == "Europe/Warsaw"
    assert team.public_name == "Service"


@pytest.mark.parametrize("role", ["agent", "viewer"])
def test_agents_and_viewers_cannot_create_teams(request, org: Organization, role: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        team_create(actor=request.getfixturevalue(role), name="Service")
    assert teams_of(org) == []


def test_team_names_are_unique_per_organization_ignoring_case(
    manager: Membership, outsider: Membership, org: Organization
) -> None:
    team_create(actor=manager, name="Service")
    with pytest.raises(ValidationError) as error:
        team_create(actor=manager, name="service")
    assert "name" in error.value.message_dict
    assert teams_of(org) == ["Service"]
    # Another organization may use the same name.
    assert team_create(actor=outsider, name="Service").organization_id == outsider.organization_id


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"name": "  "}, "name"), ({"name": "Service", "time_zone": "Mars/Olympus"}, "time_zone")],
)
def test_invalid_teams_are_refused(
    manager: Membership, org: Organization, fields: dict[str, str], field: str
) -> None:
    with pytest.raises(ValidationError) as error:
        team_create(actor=manager, **fields)  # type: ignore[arg-type]
    assert field in error.value.message_dict
    assert teams_of(org) == []


def test_update_changes_the_given_fields(manager: Membership, org: Organization) -> None:
    team = TeamFactory(organization=org, name="Service", display_name="Desk")
    team_update(actor=manager, team=team, name="Support", ring_last_advisor=True)
    team.refresh_from_db()
    assert (team.name, team.display_name, team.ring_last_advisor) == ("Support", "Desk", True)


def test_update_keeps_the_name_unique(manager: Membership, org: Organization) -> None:
    TeamFactory(organization=org, name="Sales")
    team = TeamFactory(organization=org, name="Service")
    team_update(actor=manager, team=team, name="Service")  # its own name is fine
    with pytest.raises(ValidationError):
        team_update(actor=manager, team=team, name="SALES")
    team.refresh_from_db()
    assert team.name == "Service"


def test_update_refuses_unknown_fields(manager: Membership, org: Organization) -> None:
    team = TeamFactory(organization=org)
    with pytest.raises(TypeError):
        team_update(actor=manager, team=team, organization=None)


def test_agents_cannot_update_or_delete(agent: Membership, org: Organization) -> None:
    team = TeamFactory(organization=org, name="Service")
    with pytest.raises(PermissionDenied):
        team_update(actor=agent, team=team, name="Hacked")
    with pytest.raises(PermissionDenied):
        team_delete(actor=agent, team=team)
    assert teams_of(org) == ["Service"]


def test_cannot_change_other_organizations_teams(outsider: Membership, org: Organization) -> None:
    team = TeamFactory(organization=org, name="Service")
    with pytest.raises(PermissionDenied):
        team_update(actor=outsider, team=team, name="Hacked")
    with pytest.raises(PermissionDenied):
        team_delete(actor=outsider, team=team)
    assert teams_of(org) == ["Service"]


def test_delete_removes_schedules_and_clears_default_teams(
    manager: Membership, agent: Membership, org: Organization
) -> None:
    team = TeamFactory(organization=org)
    keep = TeamFactory(organization=org, name="Keep")
    ScheduleFactory(team=team)
    ScheduleFactory(team=keep)
    team_member_add(actor=manager, team=team, membership=agent)
    team_delete(actor=manager, team=team)
    assert teams_of(org) == ["Keep"]
    assert Schedule.objects.for_organization(org).count() == 1
    agent.refresh_from_db()
    assert agent.default_team is None


# --- members --------------------------------------------------------------------------------


def test_add_member_and_their_first_team_becomes_the_default(
    manager: Membership, agent: Membership, org: Organization
) -> None:
    first, second = TeamFactory(organization=org), TeamFactory(organization=org)
    team_member_add(actor=manager, team=first, membership=agent)
    team_member_add(actor=manager, team=second, membership=agent)
    assert on_team(first) == on_team(second) == {agent.user_id}
    agent.refresh_from_db()
    assert agent.default_team == first


def test_adding_twice_is_harmless(
    manager: Membership, agent: Membership, org: Organization
) -> None:
    team = TeamFactory(organization=org)
    one = team_member_add(actor=manager, team=team, membership=agent)
    two = team_member_add(actor=manager, team=team, membership=agent)
    assert one.pk == two.pk
    assert TeamMember.objects.filter(team=team).count() == 1


def test_cannot_add_someone_from_another_organization(
    manager: Membership, outsider: Membership, org: Organization
) -> None:
    team = TeamFactory(organization=org)
    with pytest.raises(ValidationError):
        team_member_add(actor=manager, team=team, membership=outsider)
    assert on_team(team) == set()


def test_cannot_add_to_another_organizations_team(
    outsider: Membership, agent: Membership, org: Organization, other_org: Organization
) -> None:
    team = TeamFactory(organization=org)
    with pytest.raises(PermissionDenied):
        team_member_add(actor=outsider, team=team, membership=agent)
    assert on_team(team) == set()


@pytest.mark.parametrize("role", ["agent", "viewer"])
def test_agents_and_viewers_cannot_manage_members(  # type: ignore[no-untyped-def]
    request, org: Organization, make_member: Callable[..., Membership], role: str
) -> None:
    actor = request.getfixturevalue(role)
    colleague = make_member(org, Role.AGENT)
    team = TeamFactory(organization=org)
    with pytest.raises(PermissionDenied):
        team_member_add(actor=actor, team=team, membership=colleague)
    add_team_member(team, colleague.user)
    with pytest.raises(PermissionDenied):
        team_member_remove(actor=actor, team=team, membership=colleague)
    with pytest.raises(PermissionDenied):
        team_member_make_default(actor=actor, team=team, membership=colleague)
    assert on_team(team) == {colleague.user_id}


def test_remove_member_takes_them_off_the_schedules_and_moves_the_default(
    manager: Membership, agent: Membership, org: Organization
) -> None:
    service, sales = (
        TeamFactory(organization=org, name="Service"),
        TeamFactory(organization=org, name="Sales"),
    )
    team_member_add(actor=manager, team=service, membership=agent)
    team_member_add(actor=manager, team=sales, membership=agent)
    schedule = ScheduleFactory(team=service)
    other_schedule = ScheduleFactory(team=sales)
    for made in (schedule, other_schedule):
        ScheduleAdvisor.all_objects.create(
            organization=org, schedule=made, user=agent.user, slot=Slot.PRIMARY
        )

    team_member_remove(actor=manager, team=service, membership=agent)

    assert on_team(service) == set() and on_team(sales) == {agent.user_id}
    assert not ScheduleAdvisor.objects.filter(schedule=schedule).exists()
    assert ScheduleAdvisor.objects.filter(schedule=other_schedule).exists()
    agent.refresh_from_db()
    assert agent.default_team == sales
    team_member_remove(actor=manager, team=sales, membership=agent)
    agent.refresh_from_db()
    assert agent.default_team is None


def test_removing_leaves_another_default_team_alone(
    manager: Membership, agent: Membership, org: Organization
) -> None:
    service, sales = TeamFactory(organization=org), TeamFactory(organization=org)
    team_member_add(actor=manager, team=service, membership=agent)
    team_member_add(actor=manager, team=sales, membership=agent)
    team_member_remove(actor=manager, team=sales, membership=agent)
    agent.refresh_from_db()
    assert agent.default_team == service


def test_make_default_team(manager: Membership, agent: Membership, org: Organization) -> None:
    service, sales = TeamFactory(organization=org), TeamFactory(organization=org)
    team_member_add(actor=manager, team=service, membership=agent)
    team_member_add(actor=manager, team=sales, membership=agent)
    team_member_make_default(actor=manager, team=sales, membership=agent)
    agent.refresh_from_db()
    assert agent.default_team == sales


def test_default_team_must_be_one_of_their_teams(
    manager: Membership, agent: Membership, org: Organization
) -> None:
    team = TeamFactory(organization=org)
    with pytest.raises(ValidationError):
        team_member_make_default(actor=manager, team=team, membership=agent)
    agent.refresh_from_db()
    assert agent.default_team is None
