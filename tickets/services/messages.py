"""Writes on messages: inbound messages, agent replies, notes, automated messages.

An outbound message is stored first (``delivery_status=queued``) and handed to the delivery
task after commit (``tickets.delivery``), so a broker hiccup never loses a reply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.models import Customer, Membership
from tickets import signals
from tickets.models import (
    AuthorType,
    Channel,
    DeliveryStatus,
    Direction,
    Message,
    MessageKind,
    ReplyStatus,
    Status,
    Ticket,
)
from tickets.provenance import acting_metadata
from tickets.services.attachments import AttachmentUpload, attachments_store

# Statuses a customer's new message brings back to "open".
REOPENED_BY_CUSTOMER = (Status.PENDING, Status.SOLVED)


def reply_status_of(ticket: Ticket) -> str:
    """Answered when an agent wrote after the customer's last message."""
    customer, agent = ticket.last_customer_message_at, ticket.last_agent_message_at
    if customer is None:
        return ReplyStatus.ANSWERED if agent is not None else ReplyStatus.NOT_ANSWERED
    if agent is not None and agent >= customer:
        return ReplyStatus.ANSWERED
    return ReplyStatus.NOT_ANSWERED


def reply_channel(ticket: Ticket) -> str:
    """Replies go back the way the customer came, except that web-form and mobile-app tickets
    are answered by email (the address the customer gave)."""
    if ticket.source in (Channel.WEB_FORM, Channel.MOBILE_APP):
        return Channel.EMAIL
    return ticket.source


@dataclass(frozen=True)
class InboundMessage:
    """What a channel adapter (email, SMS, chat, web form) hands to ``message_receive``."""

    channel: str
    body_text: str
    body_html: str = ""
    subject: str = ""
    metadata: dict[str, object] | None = None
    provider_message_id: str = ""
    sender_is_automated: bool = False
    automated_reason: str = ""
    attachments: Sequence[AttachmentUpload] = ()


def message_receive(
    *, ticket: Ticket, customer: Customer | None, inbound: InboundMessage
) -> Message:
    """Stores a customer's message on ``ticket`` and updates its timestamps and status."""
    if inbound.channel not in Channel.values:
        raise ValidationError(_("Unknown channel."))
    if customer is not None and customer.organization_id != ticket.organization_id:
        raise PermissionDenied
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(
            pk=ticket.pk, organization_id=ticket.organization_id
        )
        first = not Message.objects.filter(
            ticket=ticket, direction=Direction.INBOUND, kind=MessageKind.MESSAGE
        ).exists()
        now = timezone.now()
        message = Message.objects.create(
            organization_id=ticket.organization_id,
            ticket=ticket,
            direction=Direction.INBOUND,
            kind=MessageKind.MESSAGE,
            author_type=AuthorType.CUSTOMER,
            author_customer=customer,
            channel=inbound.channel,
            subject=inbound.subject[:255],
            body_text=inbound.body_text,
            body_html=inbound.body_html,
            metadata=inbound.metadata or {},
            provider_message_id=inbound.provider_message_id[:255],
            sender_is_automated=inbound.sender_is_automated,
            automated_reason=inbound.automated_reason[:100],
            delivery_status=DeliveryStatus.RECEIVED,
            created_at=now,
        )
        attachments_store(message=message, uploads=inbound.attachments)
        ticket.last_message_at = now
        fields = {"last_message_at"}
        if not inbound.sender_is_automated:
            # An out-of-office reply or a bounce is no customer reply: it neither reopens the
            # ticket nor makes it "not answered".
            ticket.last_customer_message_at = now
            ticket.reply_status = reply_status_of(ticket)
            fields |= {"last_customer_message_at", "reply_status"}
        old_status = ticket.status
        if ticket.status in REOPENED_BY_CUSTOMER and not inbound.sender_is_automated:
            ticket.status = Status.OPEN
            ticket.custom_status = None
            fields |= {"status", "custom_status"}
        ticket.updated_at = now
        ticket.save(update_fields=[*fields, "updated_at"])
        if ticket.status != old_status:
            signals.status_changed.send(
                sender=Ticket, ticket=ticket, old=old_status, new=ticket.status, actor=None
            )
        signals.message_received.send(
            sender=Ticket, ticket=ticket, message=message, first_customer_message=first
        )
        signals.ticket_changed.send(sender=Ticket, ticket=ticket, fields=fields, actor=None)
    return message


def _require_agent(actor: Membership, ticket: Ticket) -> None:
    if not actor.can_write or actor.organization_id != ticket.organization_id:
        raise PermissionDenied


def message_send(
    *,
    ticket: Ticket,
    body_text: str,
    actor: Membership | None = None,
    automation_label: str = "",
    automation_reason: str = "",
    channel: str | None = None,
    subject: str = "",
    attachments: Sequence[AttachmentUpload] = (),
) -> Message:
    """Stores an outbound message (an agent's reply, or an automated one when ``actor`` is
    None) and queues its delivery on the ticket's channel after commit."""
    if actor is not None:
        _require_agent(actor, ticket)
    elif not automation_label:
        raise ValidationError(_("An automated message needs to say what sent it."))
    body_text = body_text.strip()
    if not body_text and not attachments:
        raise ValidationError({"body": _("Write a message first.")})
    channel = channel or reply_channel(ticket)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(
            pk=ticket.pk, organization_id=ticket.organization_id
        )
        now = timezone.now()
        automated = actor is None
        if automated and last_sender_is_automated(ticket):
            raise ValidationError(
                _(
                    "The customer's last message came from an automated sender; automated "
                    "messages never answer those."
                ),
                code="automated_recipient",
            )
        message = Message.objects.create(
            organization_id=ticket.organization_id,
            ticket=ticket,
            direction=Direction.OUTBOUND,
            kind=MessageKind.AUTOMATED if automated else MessageKind.MESSAGE,
            author_type=AuthorType.AUTOMATION if automated else AuthorType.AGENT,
            author_user=actor.user if actor is not None else None,
            automation_label=automation_label[:200],
            automation_reason=automation_reason[:500],
            channel=channel,
            subject=subject[:255],
            body_text=body_text,
            metadata=acting_metadata() if automated else {},
            delivery_status=DeliveryStatus.QUEUED,
            created_at=now,
        )
        attachments_store(message=message, uploads=attachments)
        fields = {"last_message_at"}
        ticket.last_message_at = now
        if not automated:
            # Only a person's reply answers the customer; an auto-reply does not.
            ticket.last_agent_message_at = now
            if ticket.first_response_at is None:
                ticket.first_response_at = now
            ticket.reply_status = reply_status_of(ticket)
            fields |= {"last_agent_message_at", "first_response_at", "reply_status"}
            if ticket.status == Status.NEW:
                ticket.status = Status.OPEN
                fields.add("status")
                signals.status_changed.send(
                    sender=Ticket, ticket=ticket, old=Status.NEW, new=Status.OPEN, actor=actor
                )
        ticket.updated_at = now
        ticket.save(update_fields=[*fields, "updated_at"])
        signals.message_sent.send(sender=Ticket, ticket=ticket, message=message)
        signals.ticket_changed.send(sender=Ticket, ticket=ticket, fields=fields, actor=actor)
        from tickets.delivery import delivery_schedule

        delivery_schedule(message=message)
    return message


def last_sender_is_automated(ticket: Ticket) -> bool:
    """Whether the latest inbound message came from a machine (auto-reply, bulk, bounce,
    no-reply): such senders never get an automated message (no mail loops)."""
    latest = (
        Message.objects.filter(ticket=ticket, direction=Direction.INBOUND)
        .order_by("-created_at", "-id")
        .values_list("sender_is_automated", flat=True)
        .first()
    )
    return bool(latest)


def note_add(
    *,
    actor: Membership,
    ticket: Ticket,
    body_text: str,
    attachments: Sequence[AttachmentUpload] = (),
) -> Message:
    """An internal note: visible to agents only, never delivered to the customer."""
    _require_agent(actor, ticket)
    body_text = body_text.strip()
    if not body_text and not attachments:
        raise ValidationError({"body": _("Write a note first.")})
    with transaction.atomic():
        message = Message.objects.create(
            organization_id=ticket.organization_id,
            ticket=ticket,
            direction=Direction.OUTBOUND,
            kind=MessageKind.NOTE,
            author_type=AuthorType.AGENT,
            author_user=actor.user,
            channel=ticket.source,
            body_text=body_text,
        )
        attachments_store(message=message, uploads=attachments)
        ticket.updated_at = timezone.now()
        ticket.save(update_fields=["updated_at"])
        signals.note_added.send(sender=Ticket, ticket=ticket, message=message)
        signals.ticket_changed.send(sender=Ticket, ticket=ticket, fields={"notes"}, actor=actor)
    return message
