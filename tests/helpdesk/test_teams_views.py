"""Team manager screens: list, create, edit, delete, members; and the dashboard's team status."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpdesk.models import Membership, Organization, ScheduleKind, Slot, Team, TeamMember
from helpdesk.models.schedules import ScheduleAdvisor
from tests.factories import ScheduleFactory, TeamFactory, UserFactory, add_range, add_team_member

pytestmark = pytest.mark.django_db

WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
MONDAY_10 = dt.datetime(2026, 3, 2, 10, tzinfo=WARSAW)
HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name: str, org: Organization, **kwargs: object) -> str:
    return reverse(name, kwargs={"org": org.slug, **kwargs})


def names(org: Organization) -> list[str]:
    return list(Team.objects.for_organization(org).values_list("name", flat=True))


def team_with_hours(org: Organization, name: str, advisor_name: str = "") -> Team:
    team = TeamFactory(organization=org, name=name)
    schedule = ScheduleFactory(team=team)
    add_range(schedule, 0, "09:00", "17:00")
    if advisor_name:
        user = UserFactory(name=advisor_name)
        add_team_member(team, user)
        ScheduleAdvisor.all_objects.create(
            organization=org, schedule=schedule, user=user, slot=Slot.PRIMARY
        )
    return team


@pytest.fixture
def as_manager(manager: Membership, client_for: Callable[[Membership], Client]) -> Client:
    return client_for(manager)


# --- list -----------------------------------------------------------------------------------


def test_list_shows_teams_members_and_whether_in_hours(
    as_manager: Client, org: Organization, time_machine
) -> None:  # type: ignore[no-untyped-def]
    time_machine.move_to(MONDAY_10, tick=False)
    open_team = team_with_hours(org, "Service", advisor_name="Olga Open")
    add_team_member(open_team, UserFactory())
    TeamFactory(organization=org, name="Night shift")

    response = as_manager.get(url("team-list", org))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Service" in html and "Night shift" in html
    rows = {team.name: _row(html, team.pk) for team in Team.objects.for_organization(org)}
    assert "In hours" in rows["Service"] and "Olga Open" in rows["Service"]
    assert ">2<" in rows["Service"]  # member count
    assert "After hours" in rows["Night shift"] and "In hours" not in rows["Night shift"]


def _row(html: str, team_id: int) -> str:
    start = html.index(f'id="team-{team_id}"')
    return html[start : html.index("</tr>", start)]


def test_list_does_not_show_other_organizations_teams(
    as_manager: Client, org: Organization, other_org: Organization
) -> None:
    TeamFactory(organization=other_org, name="Their secret team")
    response = as_manager.get(url("team-list", org))
    assert "Their secret team" not in response.content.decode()


def test_list_is_empty_politely(as_manager: Client, org: Organization) -> None:
    response = as_manager.get(url("team-list", org))
    assert "No teams yet" in response.content.decode()


@pytest.mark.parametrize("role", ["agent", "viewer"])
@pytest.mark.parametrize(
    ("method", "name", "needs_team"),
    [
        ("get", "team-list", False),
        ("get", "team-create", False),
        ("post", "team-create", False),
        ("get", "team-edit", True),
        ("post", "team-edit", True),
        ("get", "team-delete", True),
        ("post", "team-delete", True),
        ("post", "team-member-add", True),
    ],
)
def test_agents_and_viewers_get_403(  # type: ignore[no-untyped-def]
    request, org: Organization, client_for, role: str, method: str, name: str, needs_team: bool
) -> None:
    actor = request.getfixturevalue(role)
    team = TeamFactory(organization=org, name="Service")
    kwargs = {"team_id": team.pk} if needs_team else {}
    response = getattr(client_for(actor), method)(
        url(name, org, **kwargs), {"name": "Hacked", "membership": actor.pk}
    )
    assert response.status_code == 403
    assert names(org) == ["Service"]
    assert not TeamMember.objects.filter(team=team).exists()


def test_list_query_count_does_not_grow_with_teams(
    as_manager: Client, org: Organization, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    team_with_hours(org, "Team 0", advisor_name="A0")
    as_manager.get(url("team-list", org))  # the first request also writes the session
    with CaptureQueriesContext(connection) as one_team:
        assert as_manager.get(url("team-list", org)).status_code == 200
    for n in range(1, 5):
        team_with_hours(org, f"Team {n}", advisor_name=f"A{n}")
    with django_assert_num_queries(len(one_team.captured_queries)):
        response = as_manager.get(url("team-list", org))
    assert (
        response.content.decode().count("In hours") + response.content.decode().count("After hours")
        == 5
    )


# --- create and edit --------------------------------------------------------------------------


def test_create_team(as_manager: Client, org: Organization) -> None:
    response = as_manager.post(
        url("team-create", org),
        {
            "name": "Service",
            "display_name": "Customer service",
            "time_zone": "",
            "create_ticket_for_missed_calls": "on",
        },
    )
    team = Team.objects.for_organization(org).get()
    assert response.status_code == 302
    assert response["Location"] == url("team-edit", org, team_id=team.pk)
    assert (team.name, team.display_name, team.time_zone) == ("Service", "Customer service", "")
    assert team.create_ticket_for_missed_calls and not team.ring_last_advisor


def test_create_form_page(as_manager: Client, org: Organization) -> None:
    response = as_manager.get(url("team-create", org))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="name"' in html and 'name="time_zone"' in html
    assert "The organization&#x27;s time zone (Europe/Warsaw)" in html
    assert 'value="America/New_York"' in html


def test_create_duplicate_name_shows_an_error(as_manager: Client, org: Organization) -> None:
    TeamFactory(organization=org, name="Service")
    response = as_manager.post(url("team-create", org), {"name": "service"})
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert names(org) == ["Service"]


def test_create_with_htmx_rerenders_only_the_form(as_manager: Client, org: Organization) -> None:
    response = as_manager.post(url("team-create", org), {"name": ""}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith("<form") and "<html" not in html
    assert names(org) == []


def test_edit_team(as_manager: Client, org: Organization, agent: Membership) -> None:
    team = TeamFactory(organization=org, name="Service")
    add_team_member(team, agent.user)
    page = as_manager.get(url("team-edit", org, team_id=team.pk))
    assert page.status_code == 200
    assert "Alex Agent" in page.content.decode()
    response = as_manager.post(
        url("team-edit", org, team_id=team.pk),
        {"name": "Support", "display_name": "", "time_zone": "Europe/London"},
    )
    assert response.status_code == 302
    team.refresh_from_db()
    assert (team.name, team.time_zone) == ("Support", "Europe/London")


def test_edit_refuses_an_unknown_time_zone(as_manager: Client, org: Organization) -> None:
    team = TeamFactory(organization=org, name="Service")
    response = as_manager.post(
        url("team-edit", org, team_id=team.pk), {"name": "Service", "time_zone": "Mars/Base"}
    )
    assert response.status_code == 400
    team.refresh_from_db()
    assert team.time_zone == ""


def test_cannot_edit_or_delete_another_organizations_team(
    org: Organization, other_org: Organization, outsider: Membership, client_for
) -> None:  # type: ignore[no-untyped-def]
    team = TeamFactory(organization=org, name="Service")
    client = client_for(outsider)
    for name in ("team-edit", "team-delete"):
        # Through the attacker's own organization (the victim's URL needs membership).
        attacker_url = url(name, other_org, team_id=team.pk)
        assert client.get(attacker_url).status_code == 404
        assert client.post(attacker_url, {"name": "Hacked"}).status_code == 404
        assert client.get(url(name, org, team_id=team.pk)).status_code == 404
    assert names(org) == ["Service"]


def test_delete_asks_for_confirmation_then_deletes(as_manager: Client, org: Organization) -> None:
    team = TeamFactory(organization=org, name="Service")
    page = as_manager.get(url("team-delete", org, team_id=team.pk))
    assert page.status_code == 200
    assert "This cannot be undone." in page.content.decode()
    assert names(org) == ["Service"]
    response = as_manager.post(url("team-delete", org, team_id=team.pk))
    assert response.status_code == 302
    assert response["Location"] == url("team-list", org)
    assert names(org) == []


# --- members --------------------------------------------------------------------------------


def test_add_member_without_javascript(
    as_manager: Client, org: Organization, agent: Membership
) -> None:
    team = TeamFactory(organization=org)
    response = as_manager.post(
        url("team-member-add", org, team_id=team.pk), {"membership": agent.pk}
    )
    assert response.status_code == 302
    assert response["Location"] == url("team-edit", org, team_id=team.pk)
    assert TeamMember.objects.filter(team=team, user=agent.user).exists()


def test_add_member_with_htmx_returns_the_members_section(
    as_manager: Client, org: Organization, agent: Membership
) -> None:
    team = TeamFactory(organization=org)
    response = as_manager.post(
        url("team-member-add", org, team_id=team.pk), {"membership": agent.pk}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="team-members"')
    assert "Alex Agent" in html and "This team" in html  # now their default team


def test_add_member_offers_only_the_organizations_people_not_yet_on_the_team(
    as_manager: Client, org: Organization, agent: Membership, viewer: Membership, outsider
) -> None:  # type: ignore[no-untyped-def]
    team = TeamFactory(organization=org)
    add_team_member(team, viewer.user)
    html = as_manager.get(url("team-edit", org, team_id=team.pk)).content.decode()
    form = html[html.index('name="membership"') :]
    form = form[: form.index("</select>")]
    assert f'value="{agent.pk}"' in form
    assert f'value="{viewer.pk}"' not in form
    assert f'value="{outsider.pk}"' not in form and "Otto Outsider" not in form


def test_cannot_add_someone_from_another_organization(
    as_manager: Client, org: Organization, outsider: Membership
) -> None:
    team = TeamFactory(organization=org)
    response = as_manager.post(
        url("team-member-add", org, team_id=team.pk), {"membership": outsider.pk}
    )
    assert response.status_code == 302
    assert not TeamMember.objects.filter(team=team).exists()


def test_remove_member(as_manager: Client, org: Organization, agent: Membership) -> None:
    team = TeamFactory(organization=org)
    add_team_member(team, agent.user)
    response = as_manager.post(
        url("team-member-remove", org, team_id=team.pk, membership_id=agent.pk), **HTMX
    )
    assert response.status_code == 200
    assert "Nobody is on this team yet." in response.content.decode()
    assert not TeamMember.objects.filter(team=team).exists()


def test_make_default_team(as_manager: Client, org: Organization, agent: Membership) -> None:
    first, second = TeamFactory(organization=org), TeamFactory(organization=org)
    add_team_member(first, agent.user)
    add_team_member(second, agent.user)
    agent.default_team = first
    agent.save()
    response = as_manager.post(
        url("team-member-default", org, team_id=second.pk, membership_id=agent.pk)
    )
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.default_team == second


def test_default_team_needs_team_membership(
    as_manager: Client, org: Organization, agent: Membership
) -> None:
    team = TeamFactory(organization=org)
    response = as_manager.post(
        url("team-member-default", org, team_id=team.pk, membership_id=agent.pk), **HTMX
    )
    assert "Only a member of the team" in response.content.decode()
    agent.refresh_from_db()
    assert agent.default_team is None


def test_member_urls_404_for_another_organizations_member(
    as_manager: Client, org: Organization, outsider: Membership
) -> None:
    team = TeamFactory(organization=org)
    for name in ("team-member-remove", "team-member-default"):
        response = as_manager.post(url(name, org, team_id=team.pk, membership_id=outsider.pk))
        assert response.status_code == 404
    outsider.refresh_from_db()
    assert outsider.default_team is None


# --- dashboard ------------------------------------------------------------------------------


def test_dashboard_shows_each_teams_state_and_primary(
    org: Organization, agent: Membership, client_for, time_machine
) -> None:  # type: ignore[no-untyped-def]
    time_machine.move_to(MONDAY_10, tick=False)
    team_with_hours(org, "Service", advisor_name="Olga Open")
    closed = team_with_hours(org, "Sales")
    ScheduleFactory(team=closed, name="Stocktaking", kind=ScheduleKind.CLOSED)
    response = client_for(agent).get(url("dashboard", org))
    html = response.content.decode()
    assert response.status_code == 200
    service = html[html.index(">Service<") :]
    assert service.index("In hours") < service.index("Olga Open") < service.index("</li>")
    sales = html[html.index(">Sales<") :]
    assert sales.index("After hours") < sales.index("Stocktaking") < sales.index("</li>")


def test_dashboard_without_teams(org: Organization, viewer: Membership, client_for) -> None:  # type: ignore[no-untyped-def]
    html = client_for(viewer).get(url("dashboard", org)).content.decode()
    assert "No teams yet." in html


def test_dashboard_query_count_does_not_grow_with_teams(
    org: Organization, manager: Membership, client_for, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    client = client_for(manager)
    team_with_hours(org, "Team 0", advisor_name="A0")
    client.get(url("dashboard", org))  # the first request also writes the session
    with CaptureQueriesContext(connection) as one_team:
        client.get(url("dashboard", org))
    for n in range(1, 5):
        team_with_hours(org, f"Team {n}", advisor_name=f"A{n}")
    with django_assert_num_queries(len(one_team.captured_queries)):
        client.get(url("dashboard", org))
