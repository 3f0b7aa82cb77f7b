"""Writes made by automations (workflows) rather than by a person."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets import signals
from tickets.models import AuthorType, Direction, Message, MessageKind, Ticket
from tickets.provenance import acting_metadata


def note_add_automated(
    *, ticket: Ticket, body_text: str, automation_label: str, automation_reason: str = ""
) -> Message:
    """An internal note written by an automation: visible to agents only, never delivered,
    and labelled with what wrote it and why (``note_add`` is the agents' version)."""
    body_text = body_text.strip()
    if not body_text:
        raise ValidationError({"body": _("Write a note first.")})
    if not automation_label:
        raise ValidationError(_("An automated note needs to say what wrote it."))
    with transaction.atomic():
        message = Message.objects.create(
            organization_id=ticket.organization_id,
            ticket=ticket,
            direction=Direction.OUTBOUND,
            kind=MessageKind.NOTE,
            author_type=AuthorType.AUTOMATION,
            channel=ticket.source,
            body_text=body_text,
            automation_label=automation_label[:200],
            automation_reason=automation_reason[:500],
            metadata=acting_metadata(),
        )
        ticket.updated_at = timezone.now()
        ticket.save(update_fields=["updated_at"])
        signals.note_added.send(sender=Ticket, ticket=ticket, message=message)
        signals.ticket_changed.send(sender=Ticket, ticket=ticket, fields={"notes"}, actor=None)
    return message
