"""Sending a failed outbound message again.

The failed message stays as it is (its delivery state and reason are the record of what
happened); a new outbound message with the same text and attachments goes through
``message_send``, so it gets its own idempotency key and delivery.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from helpdesk.models import Membership
from tickets.models import DeliveryStatus, Direction, Message, MessageKind
from tickets.services.attachments import AttachmentUpload
from tickets.services.messages import message_send


def _uploads_of(message: Message) -> list[AttachmentUpload]:
    uploads = []
    for attachment in message.attachments.order_by("id"):
        with attachment.file.open("rb") as handle:
            content = handle.read()
        uploads.append(
            AttachmentUpload(
                filename=attachment.filename,
                content=content,
                content_type=attachment.content_type,
                content_id=attachment.content_id,
            )
        )
    return uploads


def message_resend(*, actor: Membership, message: Message) -> Message:
    """A new outbound message copying the failed ``message``'s text, subject, channel and
    attachments, queued for delivery. Refused unless ``message`` is a failed outbound message
    that was not sent again already (so a double click sends once)."""
    if not actor.can_write or actor.organization_id != message.organization_id:
        raise PermissionDenied
    with transaction.atomic():
        locked = (
            Message.objects.for_organization(message.organization_id)
            .select_for_update()
            .select_related("ticket")
            .get(pk=message.pk)
        )
        if (
            locked.direction != Direction.OUTBOUND
            or locked.kind not in (MessageKind.MESSAGE, MessageKind.AUTOMATED)
            or locked.delivery_status != DeliveryStatus.FAILED
        ):
            raise ValidationError(_("Only a message that failed to send can be sent again."))
        already = Message.objects.filter(
            ticket_id=locked.ticket_id,
            organization_id=locked.organization_id,
            metadata__resent_from=locked.pk,
        )
        if already.exists():
            raise ValidationError(_("This message was already sent again."))
        copy = message_send(
            ticket=locked.ticket,
            body_text=locked.body_text,
            actor=actor,
            channel=locked.channel,
            subject=locked.subject,
            attachments=_uploads_of(locked),
        )
        copy.metadata = {**(copy.metadata or {}), "resent_from": locked.pk}
        copy.save(update_fields=["metadata"])
    return copy
