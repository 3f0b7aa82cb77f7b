"""Creating tickets from the public form and endpoint, and the signed form token."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from helpdesk.models import Customer, CustomerPhone, Organization, Team
from tests.factories import CustomerFactory, TeamFactory, add_customer_email
from tests.tickets.factories import make_inbox
from tickets import signals
from tickets.models import Channel, Inbox, Message, Ticket
from tickets.services.attachments import AttachmentUpload
from tickets.services.intake import (
    TokenState,
    WebSubmission,
    form_token_check,
    form_token_claim,
    form_token_issue,
    form_token_settle,
    web_ticket_create,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_cache(settings: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"intake-{uuid.uuid4()}",
        }
    }


@pytest.fixture
def team(org: Organization) -> Team:
    return TeamFactory(organization=org, name="Service", display_name="Acme Service")


@pytest.fixture
def inbox(org: Organization, team: Team) -> Inbox:
    return make_inbox(org, team, name="Contact form", channel=Channel.WEB_FORM, address="")


def submission(**overrides: Any) -> WebSubmission:
    values: dict[str, Any] = {
        "name": "Jane Doe",
        "email": "jane@example.com",
        "phone": "",
        "subject": "Broken mirror",
        "message": "My mirror arrived broken.",
    }
    values.update(overrides)
    return WebSubmission(**values)


def test_a_submission_becomes_a_ticket_with_its_message(inbox: Inbox, team: Team) -> None:
    created_signals: list[Ticket] = []

    def on_created(sender: object, ticket: Ticket, **kwargs: Any) -> None:
        created_signals.append(ticket)

    signals.ticket_created.connect(on_created, weak=False)
    try:
        result = web_ticket_create(
            inbox=inbox,
            submission=submission(
                phone="(415) 555-2671",
                language="pl",
                metadata={"user_agent": "Firefox"},
                attachments=[AttachmentUpload("photo.jpg", b"jpeg", "image/jpeg")],
            ),
        )
    finally:
        signals.ticket_created.disconnect(on_created)

    ticket = result.ticket
    assert (ticket.source, ticket.inbox, ticket.team) == (Channel.WEB_FORM, inbox, team)
    assert ticket.subject == "Broken mirror" and ticket.number == 1
    assert ticket.last_customer_message_at is not None
    customer = result.customer
    assert (customer.name, customer.language) == ("Jane Doe", "pl")
    assert [e.email for e in customer.emails.all()] == ["jane@example.com"]
    assert [p.number for p in customer.phones.all()] == ["+14155552671"]
    [message] = Message.objects.filter(ticket=ticket)
    assert (message.channel, message.author_customer, message.body_text) == (
        "web_form",
        customer,
        "My mirror arrived broken.",
    )
    assert message.metadata["form"]["user_agent"] == "Firefox"
    assert message.metadata["form"]["phone"] == "+14155552671"
    assert [a.filename for a in message.attachments.all()] == ["photo.jpg"]
    assert created_signals == [ticket]


def test_a_mobile_app_inbox_makes_mobile_app_tickets(org: Organization, team: Team) -> None:
    app = make_inbox(org, team, name="App", channel=Channel.MOBILE_APP, address="")
    result = web_ticket_create(inbox=app, submission=submission())
    assert result.ticket.source == Channel.MOBILE_APP
    assert result.ticket.messages.get().channel == Channel.MOBILE_APP


def test_an_existing_customer_is_found_by_email_and_left_unchanged(
    org: Organization, inbox: Inbox
) -> None:
    existing = CustomerFactory(organization=org, name="Jane Original")
    add_customer_email(existing, "Jane@Example.com")

    result = web_ticket_create(
        inbox=inbox, submission=submission(name="Someone Else", phone="+14155552671")
    )

    assert result.customer == existing
    existing.refresh_from_db()
    assert existing.name == "Jane Original"
    assert not existing.phones.exists()
    assert Customer.objects.for_organization(org).count() == 1


def test_a_phone_number_another_customer_has_stays_on_the_message_only(
    org: Organization, inbox: Inbox
) -> None:
    owner = CustomerFactory(organization=org, name="Owner")
    CustomerPhone.objects.create(organization=org, customer=owner, number="+14155552671")

    result = web_ticket_create(inbox=inbox, submission=submission(phone="415 555 2671"))

    assert result.customer != owner
    assert not result.customer.phones.exists()
    assert result.ticket.messages.get().metadata["form"]["phone"] == "+14155552671"


def test_invalid_submissions_create_nothing(org: Organization, inbox: Inbox, settings: Any) -> None:
    settings.ATTACHMENT_MAX_BYTES = 10
    with pytest.raises(ValidationError) as excinfo:
        web_ticket_create(
            inbox=inbox,
            submission=submission(
                name=" ",
                email="not-an-address",
                phone="12",
                subject="",
                message="x" * 20_001,
                attachments=[
                    AttachmentUpload("virus.exe", b"MZ"),
                    AttachmentUpload("big.pdf", b"x" * 11),
                ],
            ),
        )
    errors = excinfo.value.message_dict
    assert set(errors) == {"name", "email", "phone", "subject", "message", "attachments"}
    assert errors["phone"] == ["“12” is not a valid phone number."]
    assert len(errors["attachments"]) == 2
    assert not Ticket.objects.for_organization(org).exists()
    assert not Customer.objects.for_organization(org).exists()


def test_only_active_form_inboxes_take_tickets(org: Organization, team: Team) -> None:
    email = make_inbox(org, team, name="Mail")
    closed = make_inbox(org, team, name="Old form", channel=Channel.WEB_FORM, active=False)
    for inbox in (email, closed):
        with pytest.raises(PermissionDenied):
            web_ticket_create(inbox=inbox, submission=submission())
    assert not Ticket.objects.for_organization(org).exists()


def test_the_form_token(inbox: Inbox, org: Organization, team: Team, settings: Any) -> None:
    other = make_inbox(org, team, name="Other form", channel=Channel.WEB_FORM)
    now = time.time()
    fresh = form_token_issue(inbox=inbox, issued_at=now - 1)
    ready = form_token_issue(inbox=inbox, issued_at=now - 3)
    stale = form_token_issue(inbox=inbox, issued_at=now - 2 * 86400)

    assert form_token_check(inbox=inbox, token=fresh, now=now).state == TokenState.TOO_FAST
    assert form_token_check(inbox=inbox, token=ready, now=now).state == TokenState.OK
    assert form_token_check(inbox=inbox, token=stale, now=now).state == TokenState.EXPIRED
    assert form_token_check(inbox=other, token=ready, now=now).state == TokenState.INVALID
    assert form_token_check(inbox=inbox, token=ready + "x", now=now).state == TokenState.INVALID
    assert form_token_check(inbox=inbox, token="", now=now).state == TokenState.INVALID
    settings.WEB_FORM_MIN_FILL_SECONDS = 5
    assert form_token_check(inbox=inbox, token=ready, now=now).state == TokenState.TOO_FAST


def test_a_form_token_is_sent_once() -> None:
    assert form_token_claim(nonce="abc") == (True, None)
    assert form_token_claim(nonce="abc") == (False, None)  # still being created
    form_token_settle(nonce="abc", number=42)
    assert form_token_claim(nonce="abc") == (False, 42)
    form_token_settle(nonce="def", number=None)
    assert form_token_claim(nonce="def") == (True, None)
    form_token_settle(nonce="def", number=None)  # freed again after an error
    assert form_token_claim(nonce="def") == (True, None)
