"""Canned responses on the ticket page: placeholders, personal and team scope, insertion."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from helpdesk.models import Customer, Membership, Organization, Role
from tests.factories import CustomerFactory, TeamFactory, add_team_member
from tests.tickets.factories import make_ticket
from tickets.models import CannedResponse, Ticket
from tickets.services.canned import canned_response_render

pytestmark = pytest.mark.django_db

ClientFor = Callable[[Membership], Client]
HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name: str, **kwargs: Any) -> str:
    return reverse(name, kwargs={"org": "acme", **kwargs})


@pytest.fixture
def team(org: Organization, agent: Membership) -> Any:
    team = TeamFactory(organization=org, name="Returns", display_name="Returns desk")
    add_team_member(team, agent.user)
    return team


@pytest.fixture
def customer(org: Organization) -> Customer:
    return CustomerFactory(organization=org, name="Cora Customer")


@pytest.fixture
def ticket(org: Organization, team: Any, customer: Customer) -> Ticket:
    return make_ticket(org, subject="Broken mirror", customer=customer, team=team)


def canned(org: Organization, body: str, **scope: Any) -> CannedResponse:
    return CannedResponse.objects.create(
        organization=org, title=scope.pop("title", "Hello"), body=body, **scope
    )


# --- rendering ------------------------------------------------------------------------------


def test_placeholders_are_filled_in(org: Organization, agent: Membership, ticket: Ticket) -> None:
    response = canned(
        org,
        "Hi {customer_name}, {agent_name} from {team_name} here about #{ticket_number}.",
        owner=agent.user,
    )
    text = canned_response_render(response=response, ticket=ticket, agent=agent)
    assert text == f"Hi Cora Customer, Alex Agent from Returns desk here about #{ticket.number}."


def test_unknown_placeholders_and_other_braces_are_left_alone(
    org: Organization, agent: Membership, ticket: Ticket
) -> None:
    response = canned(org, "{customer_name} {order_id} {} {{agent_name}} %(x)s", owner=agent.user)
    text = canned_response_render(response=response, ticket=ticket, agent=agent)
    assert text == "Cora Customer {order_id} {} {Alex Agent} %(x)s"


def test_values_are_plain_text_and_missing_ones_are_empty(
    org: Organization, agent: Membership
) -> None:
    customer = CustomerFactory(organization=org, name="<b>{agent_name}</b>")
    ticket = make_ticket(org, customer=customer)  # no team
    response = canned(org, "Dear {customer_name} / {team_name}", owner=agent.user)
    # A value is never read as a template: the customer's braces stay as typed.
    text = canned_response_render(response=response, ticket=ticket, agent=agent)
    assert text == "Dear <b>{agent_name}</b> / Acme Ltd"  # the organization's public name
    no_customer = make_ticket(org, subject="Anonymous")
    text = canned_response_render(response=response, ticket=no_customer, agent=agent)
    assert text == "Dear  / Acme Ltd"


# --- on the page ----------------------------------------------------------------------------


def test_picker_lists_personal_and_team_responses_only(
    org: Organization,
    agent: Membership,
    manager: Membership,
    team: Any,
    ticket: Ticket,
    client_for: ClientFor,
) -> None:
    mine = canned(org, "x", owner=agent.user, title="My greeting")
    ours = canned(org, "x", team=team, title="Team greeting")
    other_team = TeamFactory(organization=org, name="Sales")
    canned(org, "x", team=other_team, title="Sales pitch")
    canned(org, "x", owner=manager.user, title="Manager's own")

    page = client_for(agent).get(url("ticket-detail", number=ticket.number)).content.decode()

    assert "My greeting" in page and "Team greeting" in page
    assert "Sales pitch" not in page and "Manager's own" not in page
    for response in (mine, ours):
        link = url("ticket-canned", number=ticket.number, canned_response_id=response.pk)
        assert f'hx-get="{link}"' in page


def test_htmx_insertion_adds_the_rendered_text_after_the_draft(
    org: Organization, agent: Membership, team: Any, ticket: Ticket, client_for: ClientFor
) -> None:
    response = canned(org, "Hello {customer_name}, <script>x</script> #{ticket_number}", team=team)
    link = url("ticket-canned", number=ticket.number, canned_response_id=response.pk)

    answer = client_for(agent).get(link, {"body": "Thanks for waiting."}, **HTMX)

    assert answer.status_code == 200
    content = answer.content.decode()
    assert 'id="reply-body-field"' in content
    assert "<main" not in content  # only the field
    expected = (
        "Thanks for waiting.\n\n"
        f"Hello Cora Customer, &lt;script&gt;x&lt;/script&gt; #{ticket.number}"
    )
    assert expected in content


def test_without_js_the_page_comes_back_with_the_reply_box_prefilled(
    org: Organization, agent: Membership, team: Any, ticket: Ticket, client_for: ClientFor
) -> None:
    response = canned(org, "Hello {customer_name}", team=team)
    link = url("ticket-canned", number=ticket.number, canned_response_id=response.pk)
    answer = client_for(agent).get(link)
    assert answer.status_code == 200
    content = answer.content.decode()
    assert 'id="timeline"' in content
    assert 'id="reply-body">\nHello Cora Customer</textarea>' in content


def test_someone_elses_personal_or_another_teams_response_is_404(
    org: Organization,
    agent: Membership,
    manager: Membership,
    ticket: Ticket,
    other_org: Organization,
    client_for: ClientFor,
) -> None:
    others = [
        canned(org, "x", owner=manager.user),
        canned(org, "x", team=TeamFactory(organization=org, name="Sales")),
        canned(other_org, "x", team=TeamFactory(organization=other_org, name="Theirs")),
    ]
    client = client_for(agent)
    for response in others:
        link = url("ticket-canned", number=ticket.number, canned_response_id=response.pk)
        assert client.get(link).status_code == 404


def test_viewer_cannot_insert(
    org: Organization, viewer: Membership, team: Any, ticket: Ticket, client_for: ClientFor
) -> None:
    response = canned(org, "x", team=team)
    link = url("ticket-canned", number=ticket.number, canned_response_id=response.pk)
    assert client_for(viewer).get(link).status_code == 403


def test_agent_outside_the_tickets_team_gets_404(
    org: Organization, ticket: Ticket, make_member: Any, client_for: ClientFor
) -> None:
    stranger = make_member(org, Role.AGENT, email="stranger@acme.example")
    response = canned(org, "x", owner=stranger.user)
    link = url("ticket-canned", number=ticket.number, canned_response_id=response.pk)
    assert client_for(stranger).get(link).status_code == 404
