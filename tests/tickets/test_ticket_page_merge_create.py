"""Merging two tickets from the ticket page (both directions, refusals), and "New ticket"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from helpdesk.models import Customer, CustomerEmail, Membership, Organization
from tests.factories import CustomerFactory, TeamFactory, add_customer_email, add_team_member
from tests.tickets.factories import make_tag, make_ticket
from tickets.models import Direction, Message, MessageKind, Status, Ticket
from tickets.services.tickets import ticket_add_tag, ticket_merge

pytestmark = pytest.mark.django_db

ClientFor = Callable[[Membership], Client]


def url(name: str, **kwargs: Any) -> str:
    return reverse(name, kwargs={"org": "acme", **kwargs})


@pytest.fixture
def team(org: Organization, agent: Membership) -> Any:
    team = TeamFactory(organization=org, name="Returns")
    add_team_member(team, agent.user)
    return team


@pytest.fixture
def customer(org: Organization) -> Customer:
    customer = CustomerFactory(organization=org, name="Cora Customer")
    add_customer_email(customer, "cora@example.com")
    return customer


@pytest.fixture
def pair(
    org: Organization, agent: Membership, team: Any, customer: Customer
) -> tuple[Ticket, Ticket]:
    first = make_ticket(org, subject="First", customer=customer, team=team, body="first body")
    second = make_ticket(org, subject="Second", customer=customer, team=team, body="second body")
    ticket_add_tag(actor=agent, ticket=first, tag=make_tag(org, "from-first"))
    return first, second


def _note_form(**fields: Any) -> dict[str, Any]:
    """A new-ticket form whose first message is a note ("x"), for an email customer."""
    return {
        "subject": "x",
        "customer_email": "a@example.com",
        "channel": "email",
        "first_kind": "note",
        "body": "x",
        **fields,
    }


# --- merge ----------------------------------------------------------------------------------


def test_merge_asks_for_the_other_ticket_then_shows_both_and_both_directions(
    agent: Membership, pair: tuple[Ticket, Ticket], client_for: ClientFor
) -> None:
    first, second = pair
    client = client_for(agent)
    page = client.get(url("ticket-merge", number=first.number)).content.decode()
    assert "Other ticket&#x27;s number" in page or "Other ticket's number" in page
    assert 'name="direction"' not in page

    response = client.get(url("ticket-merge", number=first.number), {"other": second.number})
    assert response.status_code == 200
    page = response.content.decode()
    assert "First" in page and "Second" in page
    assert f"Merge this ticket (#{first.number}) into #{second.number}" in page
    assert f"Merge #{second.number} into this ticket (#{first.number})" in page
    assert "checked" not in page.split('id="merge-form"')[1]  # the direction is chosen explicitly
    first.refresh_from_db()
    assert first.merged_into is None  # a preview changes nothing


def test_merge_this_ticket_into_the_other(
    agent: Membership, pair: tuple[Ticket, Ticket], client_for: ClientFor
) -> None:
    first, second = pair
    response = client_for(agent).post(
        url("ticket-merge", number=first.number),
        {"other": second.number, "direction": "into_other"},
    )
    assert response.status_code == 302
    assert response["Location"] == url("ticket-detail", number=second.number)
    first.refresh_from_db()
    assert first.merged_into == second and first.status == Status.CLOSED
    bodies = set(Message.objects.filter(ticket=second).values_list("body_text", flat=True))
    assert {"first body", "second body"} <= bodies
    assert [t.name for t in second.tags.all()] == ["from-first"]


def test_merge_the_other_ticket_into_this_one(
    agent: Membership, pair: tuple[Ticket, Ticket], client_for: ClientFor
) -> None:
    first, second = pair
    client = client_for(agent)
    response = client.post(
        url("ticket-merge", number=first.number),
        {"other": second.number, "direction": "into_this"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == url("ticket-detail", number=first.number)
    second.refresh_from_db()
    assert second.merged_into == first and second.status == Status.CLOSED
    page = response.content.decode()
    assert f"Ticket #{second.number} was merged into ticket #{first.number}." in page
    assert "second body" in page


def test_merge_without_a_direction_is_refused(
    agent: Membership, pair: tuple[Ticket, Ticket], client_for: ClientFor
) -> None:
    first, second = pair
    response = client_for(agent).post(
        url("ticket-merge", number=first.number), {"other": second.number}
    )
    assert response.status_code == 400
    assert "Choose which ticket goes on." in response.content.decode()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.merged_into is None and second.merged_into is None


def test_merge_into_itself_is_refused(
    agent: Membership, pair: tuple[Ticket, Ticket], client_for: ClientFor
) -> None:
    first, _second = pair
    response = client_for(agent).post(
        url("ticket-merge", number=first.number), {"other": first.number, "direction": "into_other"}
    )
    assert response.status_code == 400
    assert "A ticket cannot be merged into itself." in response.content.decode()
    first.refresh_from_db()
    assert first.merged_into is None and first.status != Status.CLOSED


def test_merge_with_another_organizations_ticket_is_refused(
    org: Organization,
    other_org: Organization,
    agent: Membership,
    team: Any,
    client_for: ClientFor,
) -> None:
    for _ in range(3):
        make_ticket(other_org, subject="Theirs")
    mine = make_ticket(org, subject="Mine", team=team)  # number 1; theirs go up to 3
    for number in (2, 3):
        response = client_for(agent).post(
            url("ticket-merge", number=mine.number), {"other": number, "direction": "into_this"}
        )
        assert response.status_code == 400
        assert f"There is no ticket #{number}." in response.content.decode()
    assert all(t.merged_into_id is None for t in Ticket.objects.for_organization(other_org))
    assert Message.objects.filter(ticket=mine).count() == 1


def test_merge_with_a_ticket_the_agent_may_not_see_is_refused(
    org: Organization, agent: Membership, team: Any, client_for: ClientFor
) -> None:
    mine = make_ticket(org, subject="Mine", team=team)
    hidden = make_ticket(org, subject="Hidden", team=TeamFactory(organization=org, name="Other"))
    response = client_for(agent).get(
        url("ticket-merge", number=mine.number), {"other": hidden.number}
    )
    assert response.status_code == 400
    assert "Hidden" not in response.content.decode()


def test_merge_with_an_already_merged_ticket_is_refused(
    agent: Membership,
    pair: tuple[Ticket, Ticket],
    org: Organization,
    team: Any,
    client_for: ClientFor,
) -> None:
    first, second = pair
    third = make_ticket(org, subject="Third", team=team)
    ticket_merge(actor=agent, source=second, target=third)
    client = client_for(agent)
    response = client.post(
        url("ticket-merge", number=first.number),
        {"other": second.number, "direction": "into_other"},
    )
    assert response.status_code == 400
    assert "That ticket was itself merged into another one." in response.content.decode()
    response = client.post(
        url("ticket-merge", number=second.number), {"other": first.number, "direction": "into_this"}
    )
    assert response.status_code == 400
    assert "This ticket was already merged into another one." in response.content.decode()


def test_viewer_cannot_merge(
    viewer: Membership, pair: tuple[Ticket, Ticket], client_for: ClientFor
) -> None:
    first, second = pair
    client = client_for(viewer)
    assert client.get(url("ticket-merge", number=first.number)).status_code == 403
    response = client.post(
        url("ticket-merge", number=first.number),
        {"other": second.number, "direction": "into_other"},
    )
    assert response.status_code == 403
    first.refresh_from_db()
    assert first.merged_into is None


# --- new ticket -----------------------------------------------------------------------------


def test_agent_creates_a_ticket_for_a_new_customer_with_the_customers_message(
    org: Organization, agent: Membership, team: Any, client_for: ClientFor
) -> None:
    client = client_for(agent)
    assert client.get(url("ticket-create")).status_code == 200
    response = client.post(
        url("ticket-create"),
        {
            "subject": "Called about a refund",
            "customer_email": "new@example.com",
            "customer_name": "Nina New",
            "team": team.pk,
            "channel": "phone",
            "first_kind": "customer",
            "body": "She wants her money back.",
            "attachments": [SimpleUploadedFile("receipt.txt", b"receipt")],
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.for_organization(org).get(subject="Called about a refund")
    assert response["Location"] == url("ticket-detail", number=ticket.number)
    assert (ticket.team, ticket.source) == (team, "phone")
    assert ticket.customer is not None and ticket.customer.name == "Nina New"
    first = ticket.messages.get(kind=MessageKind.MESSAGE)
    assert (first.direction, first.author_customer) == (Direction.INBOUND, ticket.customer)
    assert first.attachments.get().filename == "receipt.txt"


def test_agent_creates_a_ticket_for_an_existing_customer_with_a_reply_or_a_note(
    org: Organization, agent: Membership, team: Any, customer: Customer, client_for: ClientFor
) -> None:
    client = client_for(agent)
    page = client.get(url("ticket-create"), {"q": "cora"}).content.decode()
    assert f'value="{customer.pk}"' in page and "Cora Customer" in page

    client.post(
        url("ticket-create"),
        {
            "subject": "Reply first",
            "customer": customer.pk,
            "channel": "email",
            "first_kind": "reply",
            "body": "Hello Cora",
        },
    )
    ticket = Ticket.objects.for_organization(org).get(subject="Reply first")
    assert ticket.customer == customer
    reply = ticket.messages.get(kind=MessageKind.MESSAGE)
    assert (reply.direction, reply.author_user, reply.delivery_status) == (
        "outbound",
        agent.user,
        "queued",
    )

    client.post(
        url("ticket-create"),
        {
            "subject": "Note first",
            "customer_email": "CORA@example.com",
            "channel": "email",
            "first_kind": "note",
            "body": "Internal",
        },
    )
    ticket = Ticket.objects.for_organization(org).get(subject="Note first")
    assert ticket.customer == customer  # found by email regardless of case
    assert ticket.messages.get().kind == MessageKind.NOTE
    assert CustomerEmail.objects.for_organization(org).count() == 1


def test_new_ticket_form_errors(
    org: Organization, agent: Membership, team: Any, client_for: ClientFor
) -> None:
    client = client_for(agent)
    response = client.post(
        url("ticket-create"),
        {"subject": "x", "channel": "email", "first_kind": "note", "body": "x"},
    )
    assert response.status_code == 400
    assert (
        "Choose a customer, or give their email address or phone number."
        in response.content.decode()
    )
    response = client.post(
        url("ticket-create"),
        {
            "subject": "x",
            "customer_phone": "not a phone",
            "channel": "sms",
            "first_kind": "note",
            "body": "x",
        },
    )
    assert response.status_code == 400
    assert "is not a valid phone number" in response.content.decode()
    response = client.post(
        url("ticket-create"),
        _note_form(attachments=[SimpleUploadedFile("virus.exe", b"MZ")]),
    )
    assert response.status_code == 400
    assert "such files cannot be attached" in response.content.decode()
    # Nothing half-made: no ticket, no customer.
    assert not Ticket.objects.for_organization(org).exists()
    assert not Customer.objects.for_organization(org).exists()


def test_agent_may_only_pick_their_own_teams(
    org: Organization, agent: Membership, team: Any, client_for: ClientFor
) -> None:
    other = TeamFactory(organization=org, name="Sales")
    response = client_for(agent).post(
        url("ticket-create"),
        _note_form(team=other.pk),
    )
    assert response.status_code == 400
    assert not Ticket.objects.for_organization(org).exists()


def test_other_organizations_customer_cannot_be_picked(
    org: Organization, other_org: Organization, agent: Membership, client_for: ClientFor
) -> None:
    theirs = CustomerFactory(organization=other_org, name="Theirs")
    response = client_for(agent).post(
        url("ticket-create"),
        {
            "subject": "x",
            "customer": theirs.pk,
            "channel": "email",
            "first_kind": "note",
            "body": "x",
        },
    )
    assert response.status_code == 400
    assert not Ticket.objects.for_organization(org).exists()


def test_viewer_cannot_create_tickets(
    viewer: Membership, org: Organization, client_for: ClientFor
) -> None:
    client = client_for(viewer)
    assert client.get(url("ticket-create")).status_code == 403
    response = client.post(
        url("ticket-create"),
        _note_form(),
    )
    assert response.status_code == 403
    assert not Ticket.objects.for_organization(org).exists()


def test_other_organization_cannot_create_tickets_here(
    outsider: Membership, org: Organization, client_for: ClientFor
) -> None:
    response = client_for(outsider).post(
        url("ticket-create"),
        _note_form(),
    )
    assert response.status_code == 404
    assert not Ticket.objects.for_organization(org).exists()


def test_new_ticket_from_the_customer_card_has_the_customer_chosen(
    org: Organization, agent: Membership, team: Any, customer: Customer, client_for: ClientFor
) -> None:
    client = client_for(agent)
    ticket = make_ticket(org, subject="Existing", customer=customer, team=team)
    page = client.get(url("ticket-detail", number=ticket.number)).content.decode()
    link = f"{url('ticket-create')}?customer={customer.pk}"
    assert f'href="{link}"' in page
    page = client.get(link).content.decode()
    assert f'name="customer" value="{customer.pk}" id="id_customer_0" checked>' in page
    assert "Cora Customer" in page


def test_customer_search_with_htmx_answers_only_the_results(
    org: Organization, agent: Membership, customer: Customer, client_for: ClientFor
) -> None:
    response = client_for(agent).get(url("ticket-create"), {"q": "cora@"}, HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<div id="customer-results"')
    assert "Cora Customer" in content
    assert "<main" not in content
