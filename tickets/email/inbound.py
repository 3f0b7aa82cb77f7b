"""Inbound mail: store the raw bytes first, then turn them into a message on a ticket.

Two transactions, so that nothing is ever lost: the raw mail is committed on its own (as a
``failed`` row saying processing did not finish, which is what stays if the process dies); then
parsing and processing run in a second transaction whose outcome (processed, duplicate, or
failed with the error, logged at ERROR) is written on that row. A manager can download the raw
mail and process a failed one again (``inbound_email_retry``).

Threading, in order: In-Reply-To/References (and, in a bounce, the returned message's
Message-ID) against the Message-IDs stored on messages of the organization
(``Message.provider_message_id``; our own outbound Message-IDs are also recognised by the
idempotency key they carry); then the ticket token ``[#<number>-<thread_token>]`` in the
subject. Merged tickets lead to their target; a closed or spam ticket gets a new ticket instead.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from typing import cast

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import DatabaseError, transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from helpdesk.models import Membership, Organization
from helpdesk.services.customers import customer_find_or_create
from tickets.email.parse import EmailParseError, ParsedEmail, clean_text, email_parse
from tickets.models import (
    Channel,
    InboundEmail,
    Inbox,
    Message,
    Status,
    Ticket,
)
from tickets.services.attachments import AttachmentUpload, attachment_validate
from tickets.services.messages import InboundMessage, message_receive
from tickets.services.tickets import ticket_create

logger = logging.getLogger(__name__)

NOT_FINISHED = gettext_noop("Processing did not finish.")
TOKEN = re.compile(r"\[#(\d{1,10})-([0-9a-f]{4,16})\]", re.IGNORECASE)
# Tickets a reply may no longer reopen: the customer's mail starts a new ticket instead.
FINAL_STATUSES = (Status.CLOSED, Status.SPAM)
MAX_MERGE_HOPS = 10


@dataclass(frozen=True)
class _Outcome:
    state: str
    message: Message | None = None


# --- entry points ----------------------------------------------------------------------------


def email_ingest(*, inbox: Inbox, raw: bytes) -> InboundEmail:
    """Stores ``raw`` for ``inbox`` and processes it. Must run outside any transaction (the
    raw mail is committed on its own). Raises only when the raw mail could not be stored
    (database or storage down): then the caller must have the sender try again later."""
    if inbox.channel != Channel.EMAIL:
        raise ValueError(f"inbox {inbox.pk} does not receive email")
    inbound = _store_raw(inbox, raw)
    return inbound_email_process(inbound_email=inbound, raw=raw)


def inbound_email_process(*, inbound_email: InboundEmail, raw: bytes | None = None) -> InboundEmail:
    """Parses and processes a stored mail; the outcome is written on ``inbound_email``."""
    parsed: ParsedEmail | None = None
    try:
        if raw is None:
            with inbound_email.raw.open("rb") as handle:
                raw = handle.read()
        parsed = email_parse(raw)
        with transaction.atomic():
            outcome = _process(inbound_email, parsed)
            _record(inbound_email, parsed, state=outcome.state, message=outcome.message)
    except Exception as exc:  # any failure is kept and reported, never raised
        logger.error(
            "inbound email %s (inbox %s, organization %s) could not be processed: %s",
            inbound_email.pk,
            inbound_email.inbox_id,
            inbound_email.organization_id,
            exc,
            exc_info=not isinstance(exc, EmailParseError | ValidationError),
        )
        try:
            with transaction.atomic():
                _record(inbound_email, parsed, state=InboundEmail.State.FAILED, error=_reason(exc))
        except DatabaseError:
            # The row still says that processing did not finish; the raw mail is safe.
            logger.exception("could not record the failure of inbound email %s", inbound_email.pk)
    return inbound_email


def inbound_email_retry(*, actor: Membership, inbound_email: InboundEmail) -> InboundEmail:
    """Processes a failed mail again (after a fix, or when its ticket was closed since)."""
    if not actor.can_manage or actor.organization_id != inbound_email.organization_id:
        raise PermissionDenied
    if inbound_email.state != InboundEmail.State.FAILED:
        raise ValidationError(_("Only mail that failed can be processed again."))
    return inbound_email_process(inbound_email=inbound_email)


# --- steps -----------------------------------------------------------------------------------


def _store_raw(inbox: Inbox, raw: bytes) -> InboundEmail:
    with transaction.atomic():
        inbound = InboundEmail(
            organization_id=inbox.organization_id,
            inbox=inbox,
            state=InboundEmail.State.FAILED,
            error=NOT_FINISHED,
        )
        inbound.raw.save(f"{uuid.uuid4().hex}.eml", ContentFile(raw), save=False)
        inbound.save()
    return inbound


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    if isinstance(exc, EmailParseError):
        return str(exc)
    return f"{exc.__class__.__name__}: {exc}"[:2000]


def _record(
    inbound: InboundEmail,
    parsed: ParsedEmail | None,
    *,
    state: str,
    message: Message | None = None,
    error: str = "",
) -> None:
    inbound.state = state
    inbound.error = error
    inbound.message = message
    fields = ["state", "error", "message"]
    if parsed is not None:
        inbound.message_id_header = parsed.message_id[:998]
        inbound.sender = parsed.from_address[:254]
        inbound.subject = parsed.subject[:255]
        fields += ["message_id_header", "sender", "subject"]
    inbound.save(update_fields=fields)


def _process(inbound: InboundEmail, parsed: ParsedEmail) -> _Outcome:
    # One mail at a time per inbox: two deliveries of the same mail cannot both pass the
    # duplicate check. Only the inbox row, and in a mode that foreign-key checks do not wait
    # for: mail being stored meanwhile (an insert referencing the inbox and its organization)
    # must not deadlock with it.
    inbox = (
        Inbox.objects.for_organization(inbound.organization_id)
        .select_for_update(of=("self",), no_key=True)
        .select_related("organization", "team")
        .get(pk=inbound.inbox_id)
    )
    organization = inbox.organization
    if _is_duplicate(organization, parsed):
        return _Outcome(InboundEmail.State.DUPLICATE)
    customer, _created = customer_find_or_create(
        organization=organization, email=parsed.from_address, name=parsed.from_name
    )
    ticket = _thread(organization, parsed)
    if ticket is None:
        ticket = ticket_create(
            organization=organization,
            subject=_new_subject(parsed.subject),
            source=Channel.EMAIL,
            customer=customer,
            inbox=inbox,
        )
    uploads, skipped = _uploads(parsed)
    automated, reason = parsed.sender_is_automated, parsed.automated_reason
    if not automated and _is_own_address(organization, parsed.from_address):
        automated, reason = True, "sent from an address of this helpdesk"
    message = message_receive(
        ticket=ticket,
        customer=customer,
        inbound=InboundMessage(
            channel=Channel.EMAIL,
            body_text=parsed.text,
            body_html=parsed.html,
            subject=parsed.subject,
            metadata={"email": _metadata(inbound, parsed, skipped)},
            provider_message_id=parsed.message_id,
            sender_is_automated=automated,
            automated_reason=reason,
            attachments=uploads,
        ),
    )
    return _Outcome(InboundEmail.State.PROCESSED, message)


def _is_duplicate(organization: Organization, parsed: ParsedEmail) -> bool:
    """Already received: a message of the organization has this Message-ID (this mail came
    before, on this inbox or another of its addresses, or it is a message the helpdesk sent
    coming back). Every processed mail leaves such a message, so the check is one indexed
    lookup however much mail the inbox keeps."""
    if not parsed.message_id:
        return False
    return (
        Message.objects.for_organization(organization)
        .filter(provider_message_id=parsed.message_id[:255])
        .exists()
    )


def _follow_merges(organization: Organization, ticket: Ticket) -> Ticket:
    for _hop in range(MAX_MERGE_HOPS):
        if ticket.merged_into_id is None:
            break
        ticket = Ticket.objects.for_organization(organization).get(pk=ticket.merged_into_id)
    return ticket


def _own_keys(ids: list[str]) -> list[uuid.UUID]:
    """Idempotency keys in our own Message-IDs (``<key@domain>``, see ``outbound``)."""
    keys = []
    for mid in ids:
        local = mid.strip("<>").partition("@")[0]
        try:
            keys.append(uuid.UUID(local))
        except ValueError:
            continue
    return keys


def _thread(organization: Organization, parsed: ParsedEmail) -> Ticket | None:
    """The open ticket this mail continues, or None for a new ticket."""
    ticket_id = None
    ids = parsed.thread_ids
    if ids:
        messages = Message.objects.for_organization(organization)
        found = dict(
            messages.filter(provider_message_id__in=[mid[:255] for mid in ids])
            .order_by("-id")
            .values_list("provider_message_id", "ticket_id")
        )
        ticket_id = next((found[mid[:255]] for mid in ids if mid[:255] in found), None)
        keys = _own_keys(ids)
        if ticket_id is None and keys:
            ticket_id = (
                messages.filter(idempotency_key__in=keys)
                .values_list("ticket_id", flat=True)
                .first()
            )
    ticket = None
    if ticket_id is not None:
        ticket = Ticket.objects.for_organization(organization).filter(pk=ticket_id).first()
    if ticket is None:
        match = TOKEN.search(parsed.subject)
        if match:
            ticket = (
                Ticket.objects.for_organization(organization)
                .filter(number=int(match.group(1)), thread_token=match.group(2).lower())
                .first()
            )
    if ticket is None:
        return None
    ticket = _follow_merges(organization, ticket)
    if ticket.status in FINAL_STATUSES:
        return None
    return ticket


def _new_subject(subject: str) -> str:
    return " ".join(TOKEN.sub(" ", subject).split())


def _is_own_address(organization: Organization, address: str) -> bool:
    return (
        Inbox.objects.for_organization(organization)
        .annotate(address_lower=Lower("address"))
        .filter(channel=Channel.EMAIL, address_lower=address.lower())
        .exists()
    )


def _uploads(parsed: ParsedEmail) -> tuple[list[AttachmentUpload], list[dict[str, str]]]:
    """The attachments that fit the limits; the others are listed with the reason (the raw
    mail still has them)."""
    uploads: list[AttachmentUpload] = []
    skipped: list[dict[str, str]] = []
    for attachment in parsed.attachments:
        upload = AttachmentUpload(
            filename=attachment.filename,
            content=attachment.content,
            content_type=attachment.content_type,
            content_id=attachment.content_id,
        )
        if len(uploads) >= settings.ATTACHMENT_MAX_COUNT:
            skipped.append(
                {
                    "filename": attachment.filename,
                    "reason": _("At most %(count)d attachments per message.")
                    % {"count": settings.ATTACHMENT_MAX_COUNT},
                }
            )
            continue
        try:
            attachment_validate(upload)
        except ValidationError as exc:
            skipped.append({"filename": attachment.filename, "reason": "; ".join(exc.messages)})
            continue
        uploads.append(upload)
    return uploads, skipped


def _metadata(
    inbound: InboundEmail, parsed: ParsedEmail, skipped: list[dict[str, str]]
) -> dict[str, object]:
    data: dict[str, object] = {
        "from": parsed.from_address,
        "from_name": parsed.from_name,
        "reply_to": parsed.reply_to,
        "to": parsed.to,
        "cc": parsed.cc,
        "message_id": parsed.message_id,
        "in_reply_to": parsed.in_reply_to,
        "references": parsed.references,
        "date": parsed.date.isoformat() if parsed.date else "",
        "inbound_email_id": inbound.pk,
    }
    if parsed.defects:
        data["defects"] = parsed.defects
    if skipped:
        data["skipped_attachments"] = skipped
    return cast(dict[str, object], _json_safe(data))


def _json_safe(value: object) -> object:
    """PostgreSQL's jsonb refuses NUL characters."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    return value
