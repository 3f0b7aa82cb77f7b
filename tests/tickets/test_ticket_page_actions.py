"""The ticket page's actions through the views: reply, note, assign, status, type, priority,
team, tags, resend; without JS (redirect or 400 with the form) and with htmx (the panels)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from helpdesk.models import Customer, Membership, Organization, Role
from tests.factories import CustomerFactory, TeamFactory, add_customer_email, add_team_member
from tests.tickets.factories import make_tag, make_ticket
from tickets.models import (
    CustomStatus,
    CustomTicketType,
    DeliveryStatus,
    Direction,
    Message,
    MessageKind,
    Priority,
    Status,
    Ticket,
)
from tickets.services.messages import message_send
from tickets.services.tickets import ticket_add_tag

pytestmark = pytest.mark.django_db

ClientFor = Callable[[Membership], Client]
HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name: str, **kwargs: Any) -> str:
    return reverse(name, kwargs={"org": "acme", **kwargs})


def html(response: Any) -> str:
    return response.content.decode()


@pytest.fixture
def team(org: Organization, agent: Membership) -> Any:
    team = TeamFactory(organization=org, name="Returns", display_name="Returns desk")
    add_team_member(team, agent.user)
    return team


@pytest.fixture
def customer(org: Organization) -> Customer:
    customer = CustomerFactory(organization=org, name="Cora Customer")
    add_customer_email(customer, "cora@example.com")
    return customer


@pytest.fixture
def ticket(org: Organization, team: Any, customer: Customer) -> Ticket:
    return make_ticket(org, subject="Broken mirror", customer=customer, team=team)


def events(ticket: Ticket) -> list[str]:
    return [
        m.body_text % m.metadata.get("params", {})
        for m in Message.objects.filter(ticket=ticket, kind=MessageKind.SYSTEM).order_by("id")
    ]


def timeline_of(client: Client, ticket: Ticket) -> str:
    page = html(client.get(url("ticket-detail", number=ticket.number)))
    return page[page.index('id="timeline"') : page.index("</ol>", page.index('id="timeline"'))]


# --- reply and note -------------------------------------------------------------------------


def test_reply_queues_an_outbound_message_on_the_tickets_channel(
    agent: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    client = client_for(agent)
    response = client.post(url("ticket-reply", number=ticket.number), {"body": "On its way!"})

    assert response.status_code == 302
    assert response["Location"] == url("ticket-detail", number=ticket.number)
    reply = Message.objects.get(ticket=ticket, direction=Direction.OUTBOUND, kind="message")
    assert (reply.body_text, reply.channel, reply.author_user) == (
        "On its way!",
        "email",
        agent.user,
    )
    assert reply.delivery_status == DeliveryStatus.QUEUED
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    timeline = timeline_of(client, ticket)
    assert "On its way!" in timeline
    assert 'data-delivery="queued"' in timeline


def test_reply_with_htmx_answers_the_changed_panels(
    agent: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    response = client_for(agent).post(
        url("ticket-reply", number=ticket.number), {"body": "Hi there"}, **HTMX
    )
    assert response.status_code == 200
    page = html(response)
    for panel in ("timeline", "ticket-head", "ticket-side", "reply", "ticket-notice"):
        assert f'id="{panel}"' in page
    assert page.count('hx-swap-oob="true"') == 5
    assert 'id="note"' not in page  # a note being written is left alone
    assert "Hi there" in page
    assert '<textarea name="body" cols="40" rows="6" id="reply-body">\n</textarea>' in page
    assert "Reply queued for sending." in page


def test_empty_reply_is_refused_with_the_form(
    agent: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    client = client_for(agent)
    response = client.post(url("ticket-reply", number=ticket.number), {"body": "  "})
    assert response.status_code == 400
    assert "Write a message first." in html(response)
    assert 'id="timeline"' in html(response)  # the whole page
    response = client.post(url("ticket-reply", number=ticket.number), {"body": ""}, **HTMX)
    assert response.status_code == 400
    assert "Write a message first." in html(response)
    assert not Message.objects.filter(ticket=ticket, direction=Direction.OUTBOUND).exists()


def test_note_is_internal_and_shown_as_such(
    agent: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    client = client_for(agent)
    response = client.post(url("ticket-note", number=ticket.number), {"body": "Refund approved"})
    assert response.status_code == 302
    note = Message.objects.get(ticket=ticket, kind=MessageKind.NOTE)
    assert note.body_text == "Refund approved"
    assert note.delivery_status == ""  # never delivered
    timeline = timeline_of(client, ticket)
    assert "Refund approved" in timeline
    assert "Internal note" in timeline

    response = client.post(
        url("ticket-note", number=ticket.number), {"body": "Second note"}, **HTMX
    )
    page = html(response)
    assert 'id="note"' in page and 'id="timeline"' in page
    assert 'id="reply"' not in page  # a reply being written is left alone
    assert client.post(url("ticket-note", number=ticket.number), {"body": ""}).status_code == 400


# --- properties -----------------------------------------------------------------------------


def test_assign(
    org: Organization, agent: Membership, manager: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    client = client_for(agent)
    response = client.post(
        url("ticket-assign", number=ticket.number), {"assignee": manager.user.pk}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == manager.user
    assert "Assigned to Max Manager" in timeline_of(client, ticket)

    response = client.post(url("ticket-assign", number=ticket.number), {"assignee": ""}, **HTMX)
    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.assignee is None
    assert "Unassigned" in html(response)


def test_assign_refuses_someone_outside_the_organization(
    ticket: Ticket, agent: Membership, outsider: Membership, client_for: ClientFor
) -> None:
    response = client_for(agent).post(
        url("ticket-assign", number=ticket.number), {"assignee": outsider.user.pk}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in html(response)
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_status_base_and_custom(
    org: Organization, agent: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    client = client_for(agent)
    assert (
        client.post(url("ticket-status", number=ticket.number), {"status": "pending"}).status_code
        == 302
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING

    waiting = CustomStatus.objects.create(
        organization=org, name="Waiting for parts", base_status="pending"
    )
    response = client.post(
        url("ticket-status", number=ticket.number), {"status": f"custom-{waiting.pk}"}, **HTMX
    )
    assert response.status_code == 200
    ticket.refresh_from_db()
    assert (ticket.status, ticket.custom_status) == (Status.PENDING, waiting)
    page = html(response)
    assert "Status set to Waiting for parts" in page
    assert f'<option value="custom-{waiting.pk}" selected>' in page
    assert events(ticket)[-2:] == ["Status set to Pending", "Status set to Waiting for parts"]


def test_status_refuses_unknown_values_and_other_organizations_custom_status(
    other_org: Organization, agent: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    theirs = CustomStatus.objects.create(organization=other_org, name="Theirs", base_status="open")
    client = client_for(agent)
    for value in ("bogus", f"custom-{theirs.pk}"):
        response = client.post(
            url("ticket-status", number=ticket.number), {"status": value}, **HTMX
        )
        assert response.status_code == 400
        assert 'id="ticket-side"' in html(response)
        assert "Select a valid choice" in html(response)
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW and ticket.custom_status is None


def test_type_system_and_custom(
    org: Organization, agent: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    CustomTicketType.objects.create(organization=org, key="warranty", name="Warranty claim")
    CustomTicketType.objects.create(organization=org, key="old", name="Old", active=False)
    client = client_for(agent)
    assert (
        client.post(url("ticket-type", number=ticket.number), {"ticket_type": "return"}).status_code
        == 302
    )
    ticket.refresh_from_db()
    assert ticket.ticket_type == "return"
    response = client.post(url("ticket-type", number=ticket.number), {"ticket_type": "warranty"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.ticket_type == "warranty"
    assert "Warranty claim" in html(client.get(url("ticket-detail", number=ticket.number)))
    assert (
        client.post(url("ticket-type", number=ticket.number), {"ticket_type": "old"}).status_code
        == 400
    )
    assert "Type set to Warranty claim" in events(ticket)


def test_priority(agent: Membership, ticket: Ticket, client_for: ClientFor) -> None:
    client = client_for(agent)
    response = client.post(url("ticket-priority", number=ticket.number), {"priority": "3"}, **HTMX)
    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.priority == Priority.URGENT
    assert "Priority set to Urgent" in html(response)
    assert (
        client.post(url("ticket-priority", number=ticket.number), {"priority": "9"}).status_code
        == 400
    )


def test_team(
    org: Organization, agent: Membership, manager: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    other_team = TeamFactory(organization=org, name="Sales")
    response = client_for(manager).post(
        url("ticket-team", number=ticket.number), {"team": other_team.pk}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.team == other_team
    assert "Moved to team Sales" in events(ticket)


def test_agent_moving_a_ticket_out_of_their_teams_goes_back_to_the_list(
    org: Organization, agent: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    other_team = TeamFactory(organization=org, name="Sales")
    client = client_for(agent)
    response = client.post(url("ticket-team", number=ticket.number), {"team": other_team.pk})
    assert response.status_code == 302
    assert response["Location"] == url("ticket-list")
    response = client.post(url("ticket-team", number=ticket.number), {"team": ""}, **HTMX)
    assert response.status_code == 404  # no longer theirs to change


def test_team_of_another_organization_is_refused(
    other_org: Organization, manager: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    theirs = TeamFactory(organization=other_org, name="Theirs")
    response = client_for(manager).post(
        url("ticket-team", number=ticket.number), {"team": theirs.pk}
    )
    assert response.status_code == 400
    ticket.refresh_from_db()
    assert ticket.team is not None and ticket.team.name == "Returns"


# --- tags -----------------------------------------------------------------------------------


def test_tags_add_existing_or_new_and_remove(
    org: Organization, agent: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    refund = make_tag(org, "Refund")
    client = client_for(agent)
    assert (
        client.post(url("ticket-tag-add", number=ticket.number), {"name": "refund"}).status_code
        == 302
    )
    response = client.post(
        url("ticket-tag-add", number=ticket.number), {"name": "  New   tag "}, **HTMX
    )
    assert response.status_code == 200
    assert sorted(t.name for t in ticket.tags.all()) == ["New tag", "Refund"]
    assert refund in ticket.tags.all()  # matched regardless of case, not duplicated
    assert "Tag New tag added" in html(response)

    response = client.post(url("ticket-tag-add", number=ticket.number), {"name": "refund"}, **HTMX)
    assert "already has" in html(response)

    response = client.post(url("ticket-tag-remove", number=ticket.number, tag_id=refund.pk), **HTMX)
    assert response.status_code == 200
    assert [t.name for t in ticket.tags.all()] == ["New tag"]
    assert "Tag Refund removed" in events(ticket)
    assert client.post(url("ticket-tag-add", number=ticket.number), {"name": ""}).status_code == 400


def test_removing_another_organizations_tag_is_404(
    other_org: Organization, agent: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    theirs = make_tag(other_org, "theirs")
    response = client_for(agent).post(
        url("ticket-tag-remove", number=ticket.number, tag_id=theirs.pk)
    )
    assert response.status_code == 404


# --- resend ---------------------------------------------------------------------------------


def _failed(agent: Membership, ticket: Ticket) -> Message:
    message = message_send(ticket=ticket, body_text="Your refund is ready.", actor=agent)
    Message.objects.filter(pk=message.pk, organization=ticket.organization_id).update(
        delivery_status=DeliveryStatus.FAILED, delivery_error="Mailbox full"
    )
    message.refresh_from_db()
    return message


def test_send_again_creates_a_new_message_and_leaves_the_failed_one(
    agent: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    failed = _failed(agent, ticket)
    client = client_for(agent)
    resend_url = url("ticket-message-resend", number=ticket.number, message_id=failed.pk)

    response = client.post(resend_url, **HTMX)

    assert response.status_code == 200
    failed.refresh_from_db()
    assert (failed.delivery_status, failed.delivery_error) == ("failed", "Mailbox full")
    copy = Message.objects.filter(
        ticket=ticket, direction=Direction.OUTBOUND, kind="message"
    ).latest("id")
    assert copy.pk != failed.pk
    assert (copy.body_text, copy.delivery_status) == ("Your refund is ready.", "queued")
    assert copy.idempotency_key != failed.idempotency_key
    page = html(response)
    assert f'href="#message-{copy.pk}"' in page  # the failed one points to the new try
    assert f'action="{resend_url}"' not in page  # no second "Send again"

    # A second click does not send twice.
    response = client.post(resend_url)
    assert response.status_code == 400
    assert "already sent again" in html(response)
    assert Message.objects.filter(ticket=ticket, body_text="Your refund is ready.").count() == 2


def test_only_failed_outbound_messages_can_be_sent_again(
    agent: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    queued = message_send(ticket=ticket, body_text="Queued", actor=agent)
    inbound = ticket.messages.get(direction=Direction.INBOUND)
    client = client_for(agent)
    for message in (queued, inbound):
        response = client.post(
            url("ticket-message-resend", number=ticket.number, message_id=message.pk)
        )
        assert response.status_code == 400
        assert "Only a message that failed to send can be sent again." in html(response)
    assert (
        Message.objects.filter(ticket=ticket, direction=Direction.OUTBOUND, kind="message").count()
        == 1
    )


def test_resend_of_a_message_of_another_ticket_is_404(
    org: Organization, agent: Membership, ticket: Ticket, team: Any, client_for: ClientFor
) -> None:
    other = make_ticket(org, subject="Other", team=team)
    failed = _failed(agent, other)
    response = client_for(agent).post(
        url("ticket-message-resend", number=ticket.number, message_id=failed.pk)
    )
    assert response.status_code == 404


# --- permissions ----------------------------------------------------------------------------


def _write_requests(
    ticket: Ticket, tag_id: int, message_id: int
) -> list[tuple[str, dict[str, Any]]]:
    n = ticket.number
    return [
        (url("ticket-reply", number=n), {"body": "x"}),
        (url("ticket-note", number=n), {"body": "x"}),
        (url("ticket-assign", number=n), {"assignee": ""}),
        (url("ticket-status", number=n), {"status": "solved"}),
        (url("ticket-type", number=n), {"ticket_type": "return"}),
        (url("ticket-priority", number=n), {"priority": "3"}),
        (url("ticket-team", number=n), {"team": ""}),
        (url("ticket-tag-add", number=n), {"name": "x"}),
        (url("ticket-tag-remove", number=n, tag_id=tag_id), {}),
        (url("ticket-merge", number=n), {"other": "1", "direction": "into_other"}),
        (url("ticket-message-resend", number=n, message_id=message_id), {}),
    ]


def _snapshot(ticket: Ticket) -> tuple[Any, ...]:
    ticket.refresh_from_db()
    return (
        ticket.status,
        ticket.ticket_type,
        ticket.priority,
        ticket.team_id,
        ticket.assignee_id,
        sorted(ticket.tags.values_list("name", flat=True)),
        Message.objects.filter(ticket=ticket).count(),
    )


def test_viewer_gets_403_on_every_action_and_nothing_changes(
    org: Organization, agent: Membership, viewer: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    tag = make_tag(org, "keep")
    ticket_add_tag(actor=agent, ticket=ticket, tag=tag)
    failed = _failed(agent, ticket)
    before = _snapshot(ticket)
    client = client_for(viewer)
    for path, data in _write_requests(ticket, tag.pk, failed.pk):
        assert client.post(path, data).status_code == 403, path
    assert _snapshot(ticket) == before


def test_agent_outside_the_team_gets_404_on_every_action(
    org: Organization, agent: Membership, ticket: Ticket, make_member: Any, client_for: ClientFor
) -> None:
    tag = make_tag(org, "keep")
    ticket_add_tag(actor=agent, ticket=ticket, tag=tag)
    failed = _failed(agent, ticket)
    stranger = make_member(org, Role.AGENT, email="stranger@acme.example")
    before = _snapshot(ticket)
    client = client_for(stranger)
    for path, data in _write_requests(ticket, tag.pk, failed.pk):
        assert client.post(path, data).status_code == 404, path
    assert _snapshot(ticket) == before


def test_other_organization_gets_404_on_reply_and_note(
    ticket: Ticket, outsider: Membership, other_org: Organization, client_for: ClientFor
) -> None:
    client = client_for(outsider)
    for name in ("ticket-reply", "ticket-note"):
        for org_slug in ("acme", "other"):
            path = reverse(name, kwargs={"org": org_slug, "number": ticket.number})
            assert client.post(path, {"body": "HACKED"}).status_code == 404
    assert not Message.objects.filter(ticket=ticket, body_text="HACKED").exists()


def test_get_on_an_action_is_refused(
    agent: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    assert client_for(agent).get(url("ticket-reply", number=ticket.number)).status_code == 405
