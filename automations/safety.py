"""What stops workflows from harming customers: every message-sending action goes through
``automated_message_send``.

- A per-ticket cap: at most ``AutomationSettings.max_automated_per_ticket_per_hour`` automated
  messages on one ticket in any hour. The ticket row is locked while counting and sending, so
  concurrent workflows cannot both slip under the cap.
- No automated message to a sender flagged as automated (auto-reply, bounce, no-reply): the
  check of ``message_send`` (``ValidationError(code="automated_recipient")``) becomes a skip.
- Loops: messages sent here are ``MessageKind.AUTOMATED``; the outbox marks their events
  ``automated`` and the evaluator never runs a workflow on those.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from automations.engine.registry import ActionContext, ActionError, ActionSkipped
from automations.models import AutomationSettings
from helpdesk.models import Organization
from tickets.models import Message, MessageKind, Ticket
from tickets.services.messages import last_sender_is_automated, message_send


def automation_settings_for(organization: Organization | int) -> AutomationSettings:
    """The organization's settings row, created with the defaults on first use."""
    organization_id = organization if isinstance(organization, int) else organization.pk
    row, _created = AutomationSettings.objects.for_organization(organization_id).get_or_create(
        organization_id=organization_id
    )
    return row


def automated_messages_last_hour(ticket: Ticket) -> int:
    since = timezone.now() - timedelta(hours=1)
    return (
        Message.objects.for_organization(ticket.organization_id)
        .filter(ticket=ticket, kind=MessageKind.AUTOMATED, created_at__gte=since)
        .count()
    )


def automated_message_check(ticket: Ticket) -> None:
    """Raises ActionSkipped when an automated message may not go to this ticket now."""
    cap = automation_settings_for(ticket.organization_id).max_automated_per_ticket_per_hour
    sent = automated_messages_last_hour(ticket)
    if sent >= cap:
        raise ActionSkipped(
            _(
                "not sent: this ticket already got %(count)s automated messages in the last "
                "hour (the limit is %(cap)s)"
            )
            % {"count": sent, "cap": cap}
        )
    if last_sender_is_automated(ticket):
        raise ActionSkipped(
            _("not sent: the customer's last message came from an automated sender")
        )


def workflow_label(action: ActionContext) -> str:
    return _("Workflow “%(name)s”") % {"name": action.workflow_name}


def automated_message_send(*, action: ActionContext, body_text: str) -> Message:
    """Sends ``body_text`` to the customer on the ticket's channel as the workflow, within the
    limits above; raises ActionSkipped (limits) or ActionError (nothing to send)."""
    ticket = action.ctx.ticket
    if not body_text.strip():
        raise ActionError(_("the message is empty"))
    with transaction.atomic():
        # Serialises automated sends on this ticket until commit: the count below stays true.
        Ticket.objects.for_organization(ticket.organization_id).select_for_update().filter(
            pk=ticket.pk
        ).values_list("pk", flat=True).first()
        automated_message_check(ticket)
        try:
            return message_send(
                ticket=ticket,
                body_text=body_text,
                automation_label=workflow_label(action),
                automation_reason=action.reason,
            )
        except ValidationError as exc:
            if getattr(exc, "code", None) == "automated_recipient":
                raise ActionSkipped(
                    _("not sent: the customer's last message came from an automated sender")
                ) from exc
            raise ActionError("; ".join(str(m) for m in exc.messages)) from exc
