"""Send email: a notification to a fixed address (a colleague, a shared mailbox), never to the
customer, sent after the workflow's transaction commits."""

from __future__ import annotations

import logging
import uuid
from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from automations.actions.common import quote, render, text_param
from automations.actions.messages import TEMPLATE_HELP
from automations.engine.registry import (
    ActionContext,
    ActionSkipped,
    ActionType,
    ParamSpec,
    action_register,
)
from helpdesk.models import CustomerEmail, Organization
from tickets.models import Inbox, Ticket

logger = logging.getLogger(__name__)


def _is_inbox_address(organization_id: int, address: str) -> bool:
    """Mail to one of our own inboxes would come back as a ticket and could loop."""
    return Inbox.objects.for_organization(organization_id).filter(address__iexact=address).exists()


def _is_customer_address(ticket: Ticket, address: str) -> bool:
    if ticket.customer_id is None:
        return False
    return (
        CustomerEmail.objects.for_organization(ticket.organization_id)
        .filter(customer_id=ticket.customer_id, email__iexact=address)
        .exists()
    )


def _clean(organization: Organization, params: dict[str, Any]) -> dict[str, Any]:
    to = text_param(params, "to", max_length=254, message=_("Enter the address to write to."))
    try:
        validate_email(to)
    except ValidationError as exc:
        raise ValidationError({"to": _("Enter a valid email address.")}) from exc
    if _is_inbox_address(organization.pk, to):
        raise ValidationError(
            {"to": _("That is one of your inboxes; mail to it would come back as a ticket.")}
        )
    subject = text_param(params, "subject", max_length=200, message=_("Write a subject."))
    body = text_param(params, "body", message=_("Write the message."))
    return {"to": to.lower(), "subject": subject, "body": body}


def email_enqueue(*, organization_id: int, to: str, subject: str, body: str) -> None:
    """Hands the mail to the task once the workflow's transaction commits; the Message-ID is
    fixed here, so a retried send is recognisably the same mail."""
    from automations.tasks_webhooks import send_workflow_email_task

    message_id = f"<workflow-{uuid.uuid4().hex}@helpdesk>"

    def enqueue() -> None:
        try:
            send_workflow_email_task.delay(organization_id, to, subject, body, message_id)
        except Exception:  # the broker is down: the mail is lost, and the log says so
            logger.warning("could not enqueue a workflow email to %s", to, exc_info=True)

    transaction.on_commit(enqueue)


def _run(action: ActionContext, params: dict[str, Any]) -> str:
    ticket = action.ctx.ticket
    to = str(params.get("to") or "").strip().lower()
    if not to:
        raise ActionSkipped(_("not sent: no address"))
    if _is_customer_address(ticket, to) or to == action.ctx.sender_email:
        raise ActionSkipped(_("not sent: that is the customer's address"))
    if _is_inbox_address(ticket.organization_id, to):
        raise ActionSkipped(_("not sent: that is one of your inboxes"))
    subject = " ".join(render(str(params.get("subject") or ""), ticket).split())
    body = render(str(params.get("body") or ""), ticket)
    email_enqueue(organization_id=ticket.organization_id, to=to, subject=subject, body=body)
    return _("emailed %(to)s: %(quote)s") % {"to": to, "quote": quote(subject)}


def _describe(params: dict[str, Any]) -> str:
    return _("would email %(to)s: %(quote)s") % {
        "to": params.get("to") or "?",
        "quote": quote(str(params.get("subject") or "")),
    }


action_register(
    ActionType(
        key="send_email",
        label=gettext_lazy("Send email"),
        params=(
            ParamSpec(
                "to",
                gettext_lazy("To"),
                "email",
                help_text=gettext_lazy("A fixed address, not the customer's."),
            ),
            ParamSpec("subject", gettext_lazy("Subject"), "text", help_text=TEMPLATE_HELP),
            ParamSpec("body", gettext_lazy("Message"), "textarea", help_text=TEMPLATE_HELP),
        ),
        run=_run,
        describe=_describe,
        clean=_clean,
    )
)


def workflow_email_send(
    *, organization_id: int, to: str, subject: str, body: str, message_id: str
) -> None:
    """Sends the notification (the task's body): from the platform's address under the
    organization's name, marked ``Auto-Submitted: auto-generated`` (RFC 3834) so that
    auto-responders stay quiet."""
    organization = Organization.objects.get(pk=organization_id)
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    mail = EmailMessage(
        subject=subject,
        body=body,
        from_email=formataddr((organization.public_name, address or settings.DEFAULT_FROM_EMAIL)),
        to=[to],
        headers={
            "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "All",
            "Message-ID": message_id,
        },
    )
    mail.send(fail_silently=False)
