"""Factories for the tickets app: tickets are made through the real services."""

from __future__ import annotations

from typing import Any

from helpdesk.models import Customer, Organization, Team
from tickets.models import Channel, Inbox, Tag, Ticket
from tickets.services.messages import InboundMessage, message_receive
from tickets.services.tickets import ticket_create


def make_inbox(
    organization: Organization,
    team: Team,
    *,
    name: str = "Support mail",
    channel: str = Channel.EMAIL,
    address: str = "support@acme.example",
    **extra: Any,
) -> Inbox:
    return Inbox.objects.create(
        organization=organization, team=team, name=name, channel=channel, address=address, **extra
    )


def make_tag(organization: Organization, name: str) -> Tag:
    return Tag.objects.create(organization=organization, name=name)


def make_ticket(
    organization: Organization,
    *,
    subject: str = "Broken mirror",
    source: str = Channel.EMAIL,
    customer: Customer | None = None,
    body: str | None = "Hello, my mirror is broken.",
    **extra: Any,
) -> Ticket:
    """A ticket as an inbound customer message creates it (with that first message)."""
    ticket = ticket_create(
        organization=organization, subject=subject, source=source, customer=customer, **extra
    )
    if body is not None:
        message_receive(
            ticket=ticket,
            customer=customer,
            inbound=InboundMessage(channel=source, body_text=body, subject=subject),
        )
        ticket.refresh_from_db()
    return ticket
