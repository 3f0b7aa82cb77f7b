"""The public web form (HTML) of an inbox: the page, submissions, spam defences, limits."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from helpdesk.models import Customer, Organization, Team
from tests.factories import TeamFactory
from tests.tickets.factories import make_inbox
from tickets.models import Channel, Inbox, Ticket
from tickets.services.intake import form_token_issue

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_cache(settings: Any) -> None:
    """Rate-limit counters and used form tokens of one test stay in that test."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"intake-{uuid.uuid4()}",
        }
    }


@pytest.fixture
def team(org: Organization) -> Team:
    org.company_name = "Acme Furniture Ltd"
    org.save()
    return TeamFactory(organization=org, name="Service", display_name="Acme Service Desk")


@pytest.fixture
def inbox(org: Organization, team: Team) -> Inbox:
    return make_inbox(org, team, name="Contact form", channel=Channel.WEB_FORM, address="")


def form_url(inbox: Inbox) -> str:
    return f"/forms/{inbox.secret}/"


def ready_token(inbox: Inbox) -> str:
    """A token as the page issued it a few seconds ago (a person's fill time)."""
    return form_token_issue(inbox=inbox, issued_at=time.time() - 5)


def post_data(inbox: Inbox, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Jane Doe",
        "email": "jane@example.com",
        "phone": "",
        "subject": "Broken mirror",
        "message": "My mirror arrived broken.",
        "website": "",
        "token": ready_token(inbox),
    }
    data.update(overrides)
    return data


def tickets(org: Organization) -> list[Ticket]:
    return list(Ticket.objects.for_organization(org).order_by("number"))


# --- the page -----------------------------------------------------------------------------


def test_the_form_page_is_public_and_branded(inbox: Inbox) -> None:
    response = Client().get(form_url(inbox))

    body = response.content.decode()
    assert response.status_code == 200
    assert "Acme Furniture Ltd" in body and "Acme Service Desk" in body
    assert 'enctype="multipart/form-data"' in body
    # No app navigation: this is not base.html.
    assert 'id="mainnav"' not in body and "Log out" not in body
    # The honeypot is hidden from people and screen readers.
    assert re.search(r'<div class="hp" aria-hidden="true">\s*<label for="id_website">', body)
    assert 'tabindex="-1"' in body
    # The signed start time is on the form; the page may be embedded in the business's site.
    assert 'name="token"' in body
    assert "X-Frame-Options" not in response.headers
    # Each showing has its own token: never served from a shared cache.
    assert "no-store" in response["Cache-Control"]


def test_the_form_speaks_the_visitors_language(inbox: Inbox) -> None:
    by_header = Client().get(form_url(inbox), HTTP_ACCEPT_LANGUAGE="de")
    by_param = Client().get(form_url(inbox) + "?lang=pl", HTTP_ACCEPT_LANGUAGE="de")
    unknown = Client().get(form_url(inbox) + "?lang=xx", HTTP_ACCEPT_LANGUAGE="fr")

    assert '<html lang="de">' in by_header.content.decode()
    assert '<html lang="pl">' in by_param.content.decode()
    assert by_param["Content-Language"] == "pl"
    assert 'action="/forms/' in by_param.content.decode()
    assert "?lang=pl" in by_param.content.decode()
    assert '<html lang="fr">' in unknown.content.decode()


def test_only_active_web_form_inboxes_have_a_form(org: Organization, team: Team) -> None:
    email = make_inbox(org, team, name="Mail")
    app = make_inbox(org, team, name="App", channel=Channel.MOBILE_APP)
    closed = make_inbox(org, team, name="Closed", channel=Channel.WEB_FORM, active=False)
    client = Client()
    for inbox in (email, app, closed):
        assert client.get(form_url(inbox)).status_code == 404
        assert client.post(form_url(inbox), post_data(inbox)).status_code == 404
    assert client.get("/forms/no-such-secret/").status_code == 404
    assert tickets(org) == []


# --- sending it ---------------------------------------------------------------------------


def test_a_visitor_sends_the_form_and_gets_a_ticket_number(
    org: Organization, inbox: Inbox, team: Team
) -> None:
    photo = SimpleUploadedFile("photo.jpg", b"jpeg-bytes", content_type="image/jpeg")

    response = Client().post(
        form_url(inbox) + "?lang=pl",
        post_data(inbox, phone="(415) 555-2671", attachments=[photo]),
        HTTP_USER_AGENT="Firefox/130",
        HTTP_REFERER="https://acme.example/contact",
    )

    [ticket] = tickets(org)
    body = response.content.decode()
    assert response.status_code == 200
    assert f'<strong id="ticket-number">#{ticket.number}</strong>' in body
    assert (ticket.source, ticket.inbox, ticket.team) == ("web_form", inbox, team)
    message = ticket.messages.get()
    assert message.body_text == "My mirror arrived broken."
    assert message.metadata["form"]["page"] == "https://acme.example/contact"
    assert [a.filename for a in message.attachments.all()] == ["photo.jpg"]
    customer = ticket.customer
    assert customer is not None
    assert (customer.name, customer.language) == ("Jane Doe", "pl")
    assert [p.number for p in customer.phones.all()] == ["+14155552671"]


def test_the_thank_you_page_escapes_what_was_typed(org: Organization, inbox: Inbox) -> None:
    evil = "<script>alert(1)</script>"

    response = Client().post(form_url(inbox), post_data(inbox, name=evil, subject=evil))

    body = response.content.decode()
    assert response.status_code == 200 and len(tickets(org)) == 1
    assert "<script>alert(1)" not in body
    assert "Thank you, &lt;script&gt;alert(1)&lt;/script&gt;!" in body


def test_sending_the_same_form_twice_makes_one_ticket(org: Organization, inbox: Inbox) -> None:
    data = post_data(inbox)
    client = Client()

    first = client.post(form_url(inbox), data)
    again = client.post(form_url(inbox), data)

    [ticket] = tickets(org)
    for response in (first, again):
        assert f"#{ticket.number}</strong>" in response.content.decode()


def test_mistakes_are_shown_on_the_fields(org: Organization, inbox: Inbox, settings: Any) -> None:
    settings.ATTACHMENT_MAX_BYTES = 100
    big = SimpleUploadedFile("big.pdf", b"x" * 101, content_type="application/pdf")
    script = SimpleUploadedFile("run.exe", b"MZ", content_type="application/octet-stream")
    data = post_data(inbox, email="nope", phone="12", subject="", attachments=[big, script])

    response = Client().post(form_url(inbox), data)

    errors = response.context["form"].errors
    assert response.status_code == 400
    assert set(errors) == {"email", "phone", "subject", "attachments"}
    assert errors["phone"] == ["“12” is not a valid phone number."]
    assert errors["attachments"] == [
        "“big.pdf” is 101\xa0bytes; attachments can be at most 100\xa0bytes.",
        "“run.exe” is a .exe file; such files cannot be attached.",
    ]
    assert 'value="Jane Doe"' in response.content.decode()
    assert tickets(org) == []
    # Correcting the mistakes sends the same form (same token) successfully.
    fixed = Client().post(
        form_url(inbox),
        {**data, "email": "jane@example.com", "phone": "", "subject": "Hi", "attachments": []},
    )
    assert fixed.status_code == 200 and len(tickets(org)) == 1


def test_too_many_files(org: Organization, inbox: Inbox) -> None:
    files = [SimpleUploadedFile(f"f{n}.txt", b"x", content_type="text/plain") for n in range(6)]
    response = Client().post(form_url(inbox), post_data(inbox, attachments=files))
    assert response.status_code == 400
    assert response.context["form"].errors["attachments"] == ["Attach at most 5 files."]
    assert tickets(org) == []


def test_an_oversized_request_is_refused_before_it_is_read(
    org: Organization, inbox: Inbox, settings: Any
) -> None:
    settings.ATTACHMENT_MAX_BYTES = 1000  # the whole request may then be 5 × 1000 B + 1 MiB
    blob = SimpleUploadedFile("big.bin", b"x" * (1100 * 1024), content_type="text/plain")
    response = Client().post(form_url(inbox), post_data(inbox, attachments=[blob]))
    assert response.status_code == 413
    assert "too large" in response.content.decode()
    assert tickets(org) == []


# --- bots ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "trap",
    [
        {"website": "https://spam.example"},  # the honeypot
        {"token": "made-up"},  # a forged or missing start time
        {"token": ""},
    ],
)
def test_bots_are_thanked_but_create_nothing(
    org: Organization, inbox: Inbox, trap: dict[str, str]
) -> None:
    response = Client().post(form_url(inbox), post_data(inbox, **trap))

    assert response.status_code == 200
    assert "Thank you, Jane Doe!" in response.content.decode()
    assert 'id="ticket-number"' not in response.content.decode()
    assert tickets(org) == []
    assert not Customer.objects.for_organization(org).exists()


def test_a_form_sent_within_two_seconds_is_treated_as_a_bot(
    org: Organization, inbox: Inbox
) -> None:
    client = Client()
    page = client.get(form_url(inbox)).content.decode()
    token = re.search(r'name="token" value="([^"]+)"', page)
    assert token is not None

    fast = client.post(form_url(inbox), post_data(inbox, token=token.group(1)))

    assert fast.status_code == 200 and "Thank you" in fast.content.decode()
    assert tickets(org) == []


def test_a_form_left_open_too_long_asks_to_send_again(org: Organization, inbox: Inbox) -> None:
    stale = form_token_issue(inbox=inbox, issued_at=time.time() - 3 * 86400)

    response = Client().post(form_url(inbox), post_data(inbox, token=stale))

    body = response.content.decode()
    assert response.status_code == 400
    assert "This form was open for a long time." in body
    new_token = re.search(r'name="token" value="([^"]+)"', body)
    assert new_token is not None and new_token.group(1) != stale
    assert tickets(org) == []


def test_too_many_submissions_from_one_address_are_refused(
    org: Organization, inbox: Inbox, team: Team, settings: Any
) -> None:
    settings.WEB_FORM_RATE_LIMIT = (2, 600)
    client = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(2):
        assert client.post(form_url(inbox), post_data(inbox)).status_code == 200

    refused = client.post(form_url(inbox), post_data(inbox))
    elsewhere = Client(REMOTE_ADDR="198.51.100.1").post(form_url(inbox), post_data(inbox))
    other_inbox = make_inbox(org, team, name="Second form", channel=Channel.WEB_FORM)
    same_client_other_form = client.post(form_url(other_inbox), post_data(other_inbox))

    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 600
    assert "Too many messages were sent from here" in refused.content.decode()
    assert elsewhere.status_code == 200
    assert same_client_other_form.status_code == 200
    assert len(tickets(org)) == 4


def test_the_inbox_as_a_whole_is_limited_too(
    org: Organization, inbox: Inbox, settings: Any
) -> None:
    settings.WEB_FORM_INBOX_RATE_LIMIT = (3, 600)
    statuses = [
        Client(REMOTE_ADDR=f"203.0.113.{n}").post(form_url(inbox), post_data(inbox)).status_code
        for n in range(1, 6)
    ]
    assert statuses == [200, 200, 200, 429, 429]
    assert len(tickets(org)) == 3
