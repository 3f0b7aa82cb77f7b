"""An agent opens a ticket by hand (on the phone, at the counter): customer, ticket and its
first entry in one transaction."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction

from helpdesk.models import Customer, Membership, Team
from helpdesk.services.customers import customer_find_or_create
from tickets.models import Ticket
from tickets.services.attachments import AttachmentUpload
from tickets.services.messages import InboundMessage, message_receive, message_send, note_add
from tickets.services.tickets import ticket_create


class FirstEntry:
    """What the agent's first text is: the customer's own words, a reply to them, or a note."""

    CUSTOMER = "customer"
    REPLY = "reply"
    NOTE = "note"


def ticket_open_by_agent(
    *,
    actor: Membership,
    subject: str,
    channel: str,
    team: Team | None,
    body: str,
    first_entry: str,
    customer: Customer | None = None,
    customer_email: str = "",
    customer_phone: str = "",
    customer_name: str = "",
    attachments: Sequence[AttachmentUpload] = (),
) -> Ticket:
    """Finds or creates the customer (by email or phone) unless one is given, creates the
    ticket and records the first entry. Errors name the form field they belong to."""
    with transaction.atomic():
        if customer is None:
            try:
                customer, _created = customer_find_or_create(
                    organization=actor.organization,
                    email=customer_email or None,
                    phone=customer_phone or None,
                    name=customer_name,
                )
            except ValidationError as error:
                field = "customer_phone" if customer_phone else "customer_email"
                raise ValidationError({field: error.messages}) from None
        ticket = ticket_create(
            organization=actor.organization,
            subject=subject,
            source=channel,
            actor=actor,
            customer=customer,
            team=team,
        )
        if first_entry == FirstEntry.CUSTOMER:
            message_receive(
                ticket=ticket,
                customer=customer,
                inbound=InboundMessage(
                    channel=channel,
                    body_text=body,
                    subject=subject,
                    metadata={"entered_by": actor.user_id},
                    attachments=attachments,
                ),
            )
        elif first_entry == FirstEntry.REPLY:
            message_send(ticket=ticket, body_text=body, actor=actor, attachments=attachments)
        else:
            note_add(actor=actor, ticket=ticket, body_text=body, attachments=attachments)
    return ticket
