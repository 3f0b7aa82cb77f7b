"""The inbound-mail webhook: one raw RFC 5322 message per POST, authenticated by the inbox's
secret in the URL."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.handlers.asgi import ASGIRequest
from django.test import Client

from tests.factories import TeamFactory
from tests.tickets.emails import sample
from tests.tickets.factories import make_inbox
from tickets.email import inbound as inbound_module
from tickets.models import Channel, InboundEmail, Ticket
from tickets.views.hooks import inbound_email_hook

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(org):  # type: ignore[no-untyped-def]
    return make_inbox(org, TeamFactory(organization=org, name="Support"))


def _post(secret: str, body: bytes, **extra: Any) -> Any:
    # No CSRF token, no session: the provider calling the hook has neither.
    client = Client(enforce_csrf_checks=True)
    return client.post(f"/hooks/email/{secret}/", data=body, content_type="message/rfc822", **extra)


def test_a_mail_becomes_a_ticket(org, inbox) -> None:  # type: ignore[no-untyped-def]
    response = _post(inbox.secret, sample("plain"))
    assert response.status_code == 202
    ticket = Ticket.objects.for_organization(org).get()
    assert response.json() == {"state": "processed", "ticket": ticket.number}
    assert ticket.inbox == inbox


def test_any_content_type_is_read_as_the_raw_mail(org, inbox) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    response = client.post(
        f"/hooks/email/{inbox.secret}/", data=sample("plain"), content_type="text/plain"
    )
    assert response.status_code == 202
    assert response.json()["state"] == "processed"


def test_a_duplicate_answers_202_without_a_ticket(org, inbox) -> None:  # type: ignore[no-untyped-def]
    _post(inbox.secret, sample("plain"))
    response = _post(inbox.secret, sample("plain"))
    assert response.status_code == 202
    assert response.json() == {"state": "duplicate", "ticket": None}
    assert Ticket.objects.for_organization(org).count() == 1


def test_unreadable_mail_is_kept_and_answers_202(org, inbox) -> None:  # type: ignore[no-untyped-def]
    """Sending it again would not help: it is kept for a manager (reported)."""
    response = _post(inbox.secret, sample("garbage"))
    assert response.status_code == 202
    assert response.json() == {"state": "failed", "ticket": None}
    kept = InboundEmail.objects.for_organization(org).get()
    assert kept.state == InboundEmail.State.FAILED


@pytest.mark.parametrize("case", ["unknown", "inactive", "not email", "other org empty"])
def test_unknown_inactive_or_non_email_inboxes_answer_404(org, inbox, case) -> None:  # type: ignore[no-untyped-def]
    secret = inbox.secret
    if case == "unknown":
        secret = "x" + secret
    elif case == "inactive":
        inbox.active = False
        inbox.save()
    elif case == "not email":
        inbox.channel = Channel.SMS
        inbox.save()
    else:
        secret = ""
    response = _post(secret, sample("plain")) if secret else Client().post("/hooks/email//")
    assert response.status_code == 404
    assert not InboundEmail.objects.for_organization(org).exists()


def test_only_post(inbox) -> None:  # type: ignore[no-untyped-def]
    response = Client().get(f"/hooks/email/{inbox.secret}/")
    assert response.status_code == 405


def test_an_empty_body_is_refused(org, inbox) -> None:  # type: ignore[no-untyped-def]
    response = _post(inbox.secret, b"  \r\n")
    assert response.status_code == 400
    assert "error" in response.json()
    assert not InboundEmail.objects.for_organization(org).exists()


def test_a_mail_over_the_limit_is_refused_and_not_stored(org, inbox, settings) -> None:  # type: ignore[no-untyped-def]
    settings.INBOUND_EMAIL_MAX_BYTES = 500
    response = _post(inbox.secret, sample("plain") + b"x" * 500)
    assert response.status_code == 413
    assert "500" in response.json()["error"]
    assert not InboundEmail.objects.for_organization(org).exists()


def test_a_mail_over_the_limit_without_a_length_is_refused(org, inbox, settings) -> None:  # type: ignore[no-untyped-def]
    """A chunked upload declares no length (the ASGI server hands the body over as it comes):
    the body itself is measured."""
    settings.INBOUND_EMAIL_MAX_BYTES = 500
    scope = {
        "type": "http",
        "method": "POST",
        "path": f"/hooks/email/{inbox.secret}/",
        "query_string": b"",
        "headers": [(b"content-type", b"message/rfc822")],
    }
    request = ASGIRequest(scope, io.BytesIO(sample("plain") + b"x" * 500))
    assert "CONTENT_LENGTH" not in request.META
    response = inbound_email_hook(request, secret=inbox.secret)
    assert response.status_code == 413
    assert not InboundEmail.objects.for_organization(org).exists()
    small = ASGIRequest(scope, io.BytesIO(sample("noreply")))
    assert inbound_email_hook(small, secret=inbox.secret).status_code == 202


def test_a_mail_larger_than_the_form_upload_cap_is_accepted(org, inbox, settings) -> None:  # type: ignore[no-untyped-def]
    """The mail limit is its own setting, above Django's in-memory cap for form data."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.INBOUND_EMAIL_MAX_BYTES = 100_000
    body = sample("plain").replace(b"Pozdrawiam", b"P" * 5000 + b"\r\nPozdrawiam")
    response = _post(inbox.secret, body)
    assert response.status_code == 202
    assert response.json()["state"] == "processed"


def test_storage_down_answers_503_so_the_sender_retries(org, inbox, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def storage_down(*args: Any, **kwargs: Any) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(inbound_module, "_store_raw", storage_down)
    response = _post(inbox.secret, sample("plain"))
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
