"""Tickets from the public web form and the mobile-app / JSON endpoint of an inbox.

Anyone on the internet may call these, so the views keep bots off before anything is written:
a honeypot field, a minimum fill time carried in a signed form token (HTML form only), and rate
limits per client address and per inbox (``tickets.ratelimit``). What reaches
:func:`web_ticket_create` is validated again here, then the customer is found or created by
email address, the ticket is created on the inbox's team and the message is stored — in one
transaction, so a failure leaves nothing half-made.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Customer, CustomerPhone
from helpdesk.phones import phone_normalize
from helpdesk.services.customers import customer_find_or_create
from tickets.models import Channel, Inbox, Ticket
from tickets.ratelimit import RateLimit
from tickets.services.attachments import AttachmentUpload, attachment_validate
from tickets.services.messages import InboundMessage, message_receive
from tickets.services.tickets import ticket_create

NAME_MAX_LENGTH = 200
EMAIL_MAX_LENGTH = 254
SUBJECT_MAX_LENGTH = 255
MESSAGE_MAX_LENGTH = 20_000
# A public form takes fewer files than an agent's reply.
FORM_MAX_ATTACHMENTS = 5

_TOKEN_SALT = "tickets.intake.form-token"  # noqa: S105 (a salt, not a secret)


def rate_limits() -> tuple[RateLimit, RateLimit]:
    """Per client address and inbox, and per inbox, as ``(hits, seconds)`` in the optional
    settings ``WEB_FORM_RATE_LIMIT`` and ``WEB_FORM_INBOX_RATE_LIMIT``."""
    return (
        RateLimit("web-form-client", *getattr(settings, "WEB_FORM_RATE_LIMIT", (5, 600))),
        RateLimit("web-form-inbox", *getattr(settings, "WEB_FORM_INBOX_RATE_LIMIT", (200, 600))),
    )


def form_min_seconds() -> float:
    return float(getattr(settings, "WEB_FORM_MIN_FILL_SECONDS", 2))


def form_max_age() -> int:
    return int(getattr(settings, "WEB_FORM_TOKEN_MAX_AGE", 24 * 3600))


def form_max_attachments() -> int:
    return min(FORM_MAX_ATTACHMENTS, settings.ATTACHMENT_MAX_COUNT)


def form_max_request_bytes() -> int:
    """The largest HTML form submission accepted: every allowed file at full size, and room
    for the text fields and the multipart framing."""
    return form_max_attachments() * settings.ATTACHMENT_MAX_BYTES + 1024 * 1024


def api_max_request_bytes() -> int:
    return int(getattr(settings, "WEB_FORM_API_MAX_BYTES", 64 * 1024))


# --- the form token: when the form was shown, and one ticket per form --------------------


class TokenState(Enum):
    OK = "ok"
    TOO_FAST = "too_fast"  # a bot: treated like a filled-in honeypot
    INVALID = "invalid"  # missing, forged or for another inbox: a bot too
    EXPIRED = "expired"  # a person who left the form open for too long


@dataclass(frozen=True)
class TokenCheck:
    state: TokenState
    nonce: str = ""


def form_token_issue(*, inbox: Inbox, issued_at: float | None = None) -> str:
    """A signed token for one showing of ``inbox``'s form."""
    payload = {
        "i": inbox.pk,
        "t": time.time() if issued_at is None else issued_at,
        "n": secrets.token_urlsafe(12),
    }
    return signing.dumps(payload, salt=_TOKEN_SALT, compress=False)


def form_token_check(*, inbox: Inbox, token: str, now: float | None = None) -> TokenCheck:
    now = time.time() if now is None else now
    try:
        payload = signing.loads(token or "", salt=_TOKEN_SALT)
        issued_at = float(payload["t"])
        nonce = str(payload["n"])
        inbox_id = int(payload["i"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return TokenCheck(TokenState.INVALID)
    if inbox_id != inbox.pk:
        return TokenCheck(TokenState.INVALID)
    age = now - issued_at
    if age < form_min_seconds():
        return TokenCheck(TokenState.TOO_FAST, nonce)
    if age > form_max_age():
        return TokenCheck(TokenState.EXPIRED, nonce)
    return TokenCheck(TokenState.OK, nonce)


def _nonce_key(nonce: str) -> str:
    return "web-form-token:" + hashlib.sha256(nonce.encode()).hexdigest()[:32]


def form_token_claim(*, nonce: str) -> tuple[bool, int | None]:
    """Marks one showing of the form as sent. Returns ``(True, None)`` the first time, and
    ``(False, number)`` when it was sent before (a reload of the thank-you page, a double
    click) with the number of the ticket it created, if that is known yet."""
    key = _nonce_key(nonce)
    if cache.add(key, 0, timeout=form_max_age()):
        return True, None
    number = cache.get(key)
    return False, (int(number) if number else None)


def form_token_settle(*, nonce: str, number: int | None) -> None:
    """Records the ticket a claimed token created, or (``None``) frees the token again so
    that the corrected form can be sent."""
    key = _nonce_key(nonce)
    if number is None:
        cache.delete(key)
    else:
        cache.set(key, number, timeout=form_max_age())


# --- creating the ticket ------------------------------------------------------------------


@dataclass(frozen=True)
class WebSubmission:
    name: str
    email: str
    subject: str
    message: str
    phone: str = ""
    attachments: Sequence[AttachmentUpload] = ()
    language: str = ""
    metadata: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class WebTicket:
    ticket: Ticket
    customer: Customer


def source_for(inbox: Inbox) -> str:
    return Channel.MOBILE_APP if inbox.channel == Channel.MOBILE_APP else Channel.WEB_FORM


Errors = dict[str, list[ValidationError]]


def _required_text(value: str, field_name: str, limit: int, errors: Errors) -> str:
    text = (value or "").strip()
    if not text:
        errors.setdefault(field_name, []).append(
            ValidationError(_("This field is required."), code="required")
        )
    elif len(text) > limit:
        errors.setdefault(field_name, []).append(
            ValidationError(
                _("Keep it to %(max)s characters or fewer."),
                code="max_length",
                params={"max": limit},
            )
        )
    return text


def web_submission_clean(*, inbox: Inbox, submission: WebSubmission) -> dict[str, object]:
    """The submission's values in the form they are stored in; a ValidationError keyed by
    field (``name``, ``email``, ``phone``, ``subject``, ``message``, ``attachments``)."""
    errors: Errors = {}
    name = " ".join(_required_text(submission.name, "name", NAME_MAX_LENGTH, errors).split())
    email = _required_text(submission.email, "email", EMAIL_MAX_LENGTH, errors)
    if email and "email" not in errors:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = [ValidationError(_("Enter a valid email address."), code="invalid")]
    phone = ""
    if (submission.phone or "").strip():
        try:
            phone = phone_normalize(submission.phone, region=inbox.organization.country)
        except ValidationError as exc:
            errors["phone"] = [exc]
    subject = " ".join(
        _required_text(submission.subject, "subject", SUBJECT_MAX_LENGTH, errors).split()
    )
    message = _required_text(submission.message, "message", MESSAGE_MAX_LENGTH, errors)
    if len(submission.attachments) > form_max_attachments():
        errors.setdefault("attachments", []).append(
            ValidationError(
                _("Attach at most %(count)s files."),
                code="too_many",
                params={"count": form_max_attachments()},
            )
        )
    for upload in submission.attachments:
        try:
            attachment_validate(upload)
        except ValidationError as exc:
            errors.setdefault("attachments", []).append(exc)
    if errors:
        raise ValidationError(errors)
    return {"name": name, "email": email, "phone": phone, "subject": subject, "message": message}


def web_ticket_create(*, inbox: Inbox, submission: WebSubmission) -> WebTicket:
    """A ticket from a public form or the JSON endpoint of ``inbox`` (source "web form", or
    "mobile app" for a mobile-app inbox), with the submission as its first message.

    The customer is the one with this email address, or a new one with the given name, phone
    number and language. An existing customer's details are never changed from here: anyone
    can type anyone's address into a public form."""
    if not inbox.active or inbox.channel not in (Channel.WEB_FORM, Channel.MOBILE_APP):
        raise PermissionDenied
    values = web_submission_clean(inbox=inbox, submission=submission)
    organization = inbox.organization
    source = source_for(inbox)
    with transaction.atomic():
        customer, created = customer_find_or_create(
            organization=organization,
            email=str(values["email"]),
            name=str(values["name"]),
            language=submission.language,
        )
        phone = str(values["phone"])
        if created and phone:
            _customer_add_phone(customer, phone)
        ticket = ticket_create(
            organization=organization,
            subject=str(values["subject"]),
            source=source,
            customer=customer,
            inbox=inbox,
        )
        metadata: dict[str, object] = {
            "form": {
                **submission.metadata,
                "name": values["name"],
                "email": values["email"],
                **({"phone": phone} if phone else {}),
            }
        }
        message_receive(
            ticket=ticket,
            customer=customer,
            inbound=InboundMessage(
                channel=source,
                body_text=str(values["message"]),
                subject=str(values["subject"]),
                metadata=metadata,
                attachments=submission.attachments,
            ),
        )
    ticket.refresh_from_db()
    return WebTicket(ticket=ticket, customer=customer)


def _customer_add_phone(customer: Customer, phone: str) -> None:
    """The new customer's number, unless another customer already has it (then the number
    stays on the message only)."""
    org = customer.organization_id
    if CustomerPhone.objects.for_organization(org).filter(number=phone).exists():
        return
    try:
        with transaction.atomic():
            CustomerPhone.objects.create(organization_id=org, customer=customer, number=phone)
    except IntegrityError:
        pass  # taken by a concurrent request
