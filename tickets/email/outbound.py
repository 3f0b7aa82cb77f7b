"""Outbound mail: the email channel adapter that ``tickets.delivery`` calls.

A reply goes out from the ticket's inbox address under the team's public name, to the address
the customer last wrote from, with a Message-ID derived from the message's idempotency key (so
a retried send carries the same Message-ID and the receiving side can tell it is the same
mail), In-Reply-To and References that thread it in the customer's mail program, and the
ticket's reference in the subject so a reply that loses its headers still finds the ticket.
Automated messages carry ``Auto-Submitted: auto-replied`` (RFC 3834).

SMTP errors are mapped to the delivery's error kinds: 4xx replies and connection problems are
transient (retried), 5xx replies and a missing recipient are permanent.
"""

from __future__ import annotations

import smtplib
import socket
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils.html import linebreaks
from django.utils.translation import gettext as _
from django.utils.translation import override

from tickets.delivery import PermanentDeliveryError, TransientDeliveryError
from tickets.models import Channel, Direction, Inbox, Message, MessageKind, Ticket

# RFC 5322 asks to keep References short enough; the first and the latest ids matter most.
MAX_REFERENCES = 20
DEFAULT_SMTP_TIMEOUT = 30


def ticket_from_address(*, ticket: Ticket) -> str:
    """``Team name <inbox@address>``: the ticket's email inbox, else the team's first active
    email inbox, else ``DEFAULT_FROM_EMAIL``."""
    inbox = ticket.inbox
    if inbox is None or inbox.channel != Channel.EMAIL or not inbox.address:
        inbox = None
        if ticket.team_id is not None:
            inbox = (
                Inbox.objects.for_organization(ticket.organization_id)
                .filter(team_id=ticket.team_id, channel=Channel.EMAIL, active=True)
                .exclude(address="")
                .order_by("id")
                .first()
            )
    if inbox is None:
        return settings.DEFAULT_FROM_EMAIL
    team = ticket.team or inbox.team
    name = team.public_name if team is not None else ticket.organization.public_name
    return formataddr((name, inbox.address))


def customer_reply_address(*, ticket: Ticket) -> str:
    """Where a reply on ``ticket`` goes: the address the customer last wrote from (their
    Reply-To if they set one), else the customer's first email address, else ""."""
    last = (
        Message.objects.for_organization(ticket.organization_id)
        .filter(
            ticket=ticket,
            direction=Direction.INBOUND,
            channel=Channel.EMAIL,
            metadata__has_key="email",
        )
        .order_by("-created_at", "-id")
        .values_list("metadata", flat=True)
        .first()
    )
    email = last.get("email") if isinstance(last, dict) else None
    if isinstance(email, dict):
        address = email.get("reply_to") or email.get("from")
        if isinstance(address, str) and address:
            return address
    if ticket.customer_id is None:
        return ""
    customer = ticket.customer
    assert customer is not None
    return customer.emails.order_by("id").values_list("email", flat=True).first() or ""


def reply_subject(*, ticket: Ticket, subject: str = "") -> str:
    subject = " ".join((subject or ticket.subject).split())
    if ticket.reference.lower() not in subject.lower():
        subject = f"{subject} {ticket.reference}".strip()
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    return subject


def message_id_for(*, message: Message, from_address: str) -> str:
    """Deterministic, so that every attempt to send ``message`` carries the same id."""
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "localhost"
    return f"<{message.idempotency_key}@{domain}>"


def thread_headers(*, message: Message) -> tuple[str, list[str]]:
    """In-Reply-To (the customer's latest mail) and References: that mail's own References and
    Message-ID (RFC 5322 §3.6.4), with the ticket's other mail the chain lacks in between."""
    rows = list(
        Message.objects.for_organization(message.organization_id)
        .filter(ticket_id=message.ticket_id, channel=Channel.EMAIL)
        .exclude(provider_message_id="")
        .exclude(pk=message.pk)
        .order_by("created_at", "id")
        .values_list("provider_message_id", "direction", "metadata")
    )
    parent, parent_refs = "", []
    for provider_id, direction, metadata in rows:
        if direction == Direction.INBOUND:
            parent = provider_id
            email = (metadata or {}).get("email")
            refs = email.get("references", []) if isinstance(email, dict) else []
            parent_refs = [mid for mid in refs if isinstance(mid, str)]
    chain: list[str] = []
    others = [provider_id for provider_id, _direction, _metadata in rows if provider_id != parent]
    for mid in [*parent_refs, *others, parent]:
        if mid and mid.startswith("<") and mid.endswith(">") and mid not in chain:
            chain.append(mid)
    if len(chain) > MAX_REFERENCES:
        chain = [chain[0], *chain[-(MAX_REFERENCES - 1) :]]
    return parent, chain


def _smtp_error(exc: Exception) -> Exception:
    """The delivery error for an SMTP failure, with a reason an agent can act on."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in exc.recipients.values()]
        details = "; ".join(
            f"{address}: {code} {_decode(text)}" for address, (code, text) in exc.recipients.items()
        )
        reason = _("The mail server refused the recipient (%(details)s).") % {"details": details}
        if codes and all(400 <= code < 500 for code in codes):
            return TransientDeliveryError(reason)
        return PermanentDeliveryError(reason)
    if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code > 0:
        reason = _("The mail server answered %(code)s %(text)s") % {
            "code": exc.smtp_code,
            "text": _decode(exc.smtp_error),
        }
        if 400 <= exc.smtp_code < 500:
            return TransientDeliveryError(reason)
        if 500 <= exc.smtp_code < 600:
            return PermanentDeliveryError(reason)
        return TransientDeliveryError(reason)
    if isinstance(exc, socket.timeout | TimeoutError):
        return TransientDeliveryError(_("The mail server did not answer in time."))
    if isinstance(exc, smtplib.SMTPException | OSError):
        return TransientDeliveryError(
            _("Could not talk to the mail server (%(error)s).")
            % {"error": str(exc) or exc.__class__.__name__}
        )
    return exc


def _decode(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


class EmailAdapter:
    """Sends a message of an email ticket through Django's email backend."""

    def send(self, message: Message) -> str:
        ticket = (
            Ticket.objects.for_organization(message.organization_id)
            .select_related("organization", "team", "inbox__team", "customer")
            .get(pk=message.ticket_id)
        )
        with override(ticket.organization.default_language or settings.LANGUAGE_CODE):
            mail = self.build(message=message, ticket=ticket)
            connection = get_connection(
                fail_silently=False,
                timeout=getattr(settings, "EMAIL_TIMEOUT", None) or DEFAULT_SMTP_TIMEOUT,
            )
            try:
                sent = connection.send_messages([mail])
            except Exception as exc:  # mapped below; unknown ones are re-raised
                mapped = _smtp_error(exc)
                if mapped is exc:
                    raise
                raise mapped from exc
            if not sent:
                raise TransientDeliveryError(_("The mail server did not take the message."))
        return str(mail.extra_headers["Message-ID"])

    def build(self, *, message: Message, ticket: Ticket) -> EmailMultiAlternatives:
        recipient = customer_reply_address(ticket=ticket)
        if not recipient:
            raise PermanentDeliveryError(_("The customer has no email address."))
        from_address = ticket_from_address(ticket=ticket)
        message_id = message_id_for(message=message, from_address=from_address)
        in_reply_to, references = thread_headers(message=message)
        headers = {"Message-ID": message_id}
        if in_reply_to:
            headers["In-Reply-To"] = in_reply_to
        if references:
            headers["References"] = " ".join(references)
        if message.kind == MessageKind.AUTOMATED:
            headers["Auto-Submitted"] = "auto-replied"
            headers["X-Auto-Response-Suppress"] = "All"
        mail = EmailMultiAlternatives(
            subject=reply_subject(ticket=ticket, subject=message.subject),
            body=message.body_text,
            from_email=from_address,
            to=[recipient],
            headers=headers,
        )
        mail.attach_alternative(linebreaks(message.body_text, autoescape=True), "text/html")
        for attachment in message.attachments.order_by("id"):
            with attachment.file.open("rb") as handle:
                mail.attach(attachment.filename, handle.read(), attachment.content_type)
        return mail
