"""The public JSON endpoint: ``POST /api/v1/forms/<secret>/tickets/``."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.test import Client

from helpdesk.models import Customer, Organization, Team
from tests.factories import TeamFactory
from tests.tickets.factories import make_inbox
from tickets.models import Channel, Inbox, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_cache(settings: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"intake-api-{uuid.uuid4()}",
        }
    }


@pytest.fixture
def team(org: Organization) -> Team:
    return TeamFactory(organization=org, name="Service")


@pytest.fixture
def app_inbox(org: Organization, team: Team) -> Inbox:
    return make_inbox(org, team, name="App", channel=Channel.MOBILE_APP, address="")


def api_url(inbox: Inbox) -> str:
    return f"/api/v1/forms/{inbox.secret}/tickets/"


TICKET = {
    "name": "Jane Doe",
    "email": "jane@example.com",
    "phone": "+1 415 555 2671",
    "subject": "App crashes",
    "message": "It crashes when I open my orders.",
}


def post(inbox: Inbox, payload: Any, client: Client | None = None, **extra: Any) -> Any:
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return (client or Client()).post(
        api_url(inbox),
        data=body,
        content_type=extra.pop("content_type", "application/json"),
        **extra,
    )


def tickets(org: Organization) -> list[Ticket]:
    return list(Ticket.objects.for_organization(org).order_by("number"))


def test_an_app_creates_a_ticket(org: Organization, app_inbox: Inbox, team: Team) -> None:
    response = post(app_inbox, TICKET, HTTP_ACCEPT_LANGUAGE="de")

    [ticket] = tickets(org)
    assert response.status_code == 201
    assert response.json() == {"ticket": ticket.number, "customer": ticket.customer_id}
    assert (ticket.source, ticket.inbox, ticket.team) == ("mobile_app", app_inbox, team)
    assert ticket.subject == "App crashes"
    assert ticket.messages.get().body_text == "It crashes when I open my orders."
    customer = ticket.customer
    assert customer is not None and customer.language == "de"
    assert [p.number for p in customer.phones.all()] == ["+14155552671"]


def test_a_web_form_inbox_accepts_json_too(org: Organization, team: Team) -> None:
    web = make_inbox(org, team, name="Web", channel=Channel.WEB_FORM, address="")
    minimal = {k: v for k, v in TICKET.items() if k != "phone"}
    response = post(web, minimal)
    assert response.status_code == 201
    assert tickets(org)[0].source == "web_form"


def test_other_inboxes_have_no_endpoint(org: Organization, team: Team) -> None:
    email = make_inbox(org, team, name="Mail")
    closed = make_inbox(org, team, name="Old app", channel=Channel.MOBILE_APP, active=False)
    for inbox in (email, closed):
        response = post(inbox, TICKET)
        assert response.status_code == 404
        assert "error" in response.json()
    assert tickets(org) == []


def test_only_post(app_inbox: Inbox) -> None:
    response = Client().get(api_url(app_inbox))
    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_json_is_required(org: Organization, app_inbox: Inbox) -> None:
    form_encoded = Client().post(api_url(app_inbox), TICKET)
    text = post(app_inbox, json.dumps(TICKET), content_type="text/plain")

    assert form_encoded.status_code == 415 and text.status_code == 415
    assert "application/json" in form_encoded.json()["error"]
    assert tickets(org) == []


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("{not json", "The body is not valid JSON."),
        (b"\xff\xfe{}", "The body is not valid JSON."),
        ("[" * 30_000 + "]" * 30_000, "The body is not valid JSON."),  # too deep
        ('["a list"]', "The body must be a JSON object."),
        ("null", "The body must be a JSON object."),
    ],
)
def test_malformed_bodies(org: Organization, app_inbox: Inbox, body: str, error: str) -> None:
    response = post(app_inbox, body)
    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert tickets(org) == []


def test_field_errors_name_each_field(org: Organization, app_inbox: Inbox) -> None:
    response = post(
        app_inbox, {"name": "", "email": "nope", "phone": "12", "subject": "Hi", "message": 5}
    )
    assert response.status_code == 400
    assert response.json() == {"errors": {"message": ["Send this as text."]}}

    response = post(app_inbox, {"email": "nope", "phone": "12", "subject": "Hi"})
    errors = response.json()["errors"]
    assert response.status_code == 400
    assert set(errors) == {"name", "email", "phone", "message"}
    assert errors["phone"] == ["“12” is not a valid phone number."]
    assert errors["name"] == ["This field is required."]
    assert tickets(org) == []


def test_a_large_body_is_refused(org: Organization, app_inbox: Inbox, settings: Any) -> None:
    settings.WEB_FORM_API_MAX_BYTES = 1000
    response = post(app_inbox, {**TICKET, "message": "x" * 2000})
    assert response.status_code == 413
    assert "error" in response.json()
    assert tickets(org) == []


def test_the_honeypot_pretends_success(org: Organization, app_inbox: Inbox) -> None:
    response = post(app_inbox, {**TICKET, "honeypot": "I am a bot"})
    assert response.status_code == 201
    assert response.json() == {"ticket": None, "customer": None}
    assert tickets(org) == []
    assert not Customer.objects.for_organization(org).exists()


def test_too_many_tickets_from_one_address(
    org: Organization, app_inbox: Inbox, settings: Any
) -> None:
    settings.WEB_FORM_RATE_LIMIT = (2, 600)
    client = Client(REMOTE_ADDR="203.0.113.5")
    assert [post(app_inbox, TICKET, client).status_code for _ in range(2)] == [201, 201]

    refused = post(app_inbox, TICKET, client)

    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 600
    assert "Too many messages" in refused.json()["error"]
    assert len(tickets(org)) == 2


def test_the_limit_holds_across_processes_on_redis(
    org: Organization, app_inbox: Inbox, settings: Any, redis_url: str
) -> None:
    """Against real Redis, as in production: the counter lives in the shared cache."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": f"test-intake-{uuid.uuid4()}",
        }
    }
    settings.WEB_FORM_RATE_LIMIT = (2, 600)
    statuses = [
        post(app_inbox, TICKET, Client(REMOTE_ADDR="203.0.113.77")).status_code for _ in range(3)
    ]
    assert statuses == [201, 201, 429]
    assert len(tickets(org)) == 2
