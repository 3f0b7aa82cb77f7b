"""Integration: replies delivered by a real Celery worker on the real broker (Redis), through
SMTP to a fake mail server on loopback; a broker outage at commit time loses nothing."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.utils import timezone

from tests.factories import TeamFactory
from tests.tickets.emails import FakeSMTPServer, free_port, sample
from tests.tickets.factories import make_inbox
from tickets.email.inbound import email_ingest
from tickets.models import DeliveryStatus, Message, Ticket
from tickets.services import messages as message_services

pytestmark = [pytest.mark.redis, pytest.mark.worker]


@pytest.fixture
def mail_server(monkeypatch) -> Iterator[FakeSMTPServer]:  # type: ignore[no-untyped-def]
    """The fake SMTP server, and the worker's settings pointing at it (set before the worker
    fixture starts the process)."""
    server = FakeSMTPServer()
    server.start()
    monkeypatch.setenv("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
    monkeypatch.setenv("EMAIL_HOST", "127.0.0.1")
    monkeypatch.setenv("EMAIL_PORT", str(server.port))
    monkeypatch.setenv("DELIVERY_RETRY_BASE_SECONDS", "0.5")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ticket(org) -> Ticket:  # type: ignore[no-untyped-def]
    inbox = make_inbox(org, TeamFactory(organization=org, name="Support", display_name="Acme"))
    message = email_ingest(inbox=inbox, raw=sample("plain")).message
    assert message is not None
    return message.ticket


def _wait_for(check: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def _status(message: Message) -> str:
    message.refresh_from_db()
    return message.delivery_status


@contextmanager
def _broker_down() -> Iterator[None]:
    """The app publishes to a port nothing listens on, as when Redis is down."""
    from helpdesk.celery import app

    url = app.conf.broker_url

    def reset() -> None:
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    reset()
    try:
        yield
    finally:
        app.conf.broker_url = url
        reset()


def test_a_reply_is_delivered_by_the_worker(  # type: ignore[no-untyped-def]
    mail_server, celery_worker, real_celery, agent, ticket
) -> None:
    reply = message_services.message_send(actor=agent, ticket=ticket, body_text="Sent by Celery")
    assert _wait_for(lambda: _status(reply) == DeliveryStatus.SENT), reply.delivery_error
    [received] = mail_server.received
    assert received["Message-ID"] == reply.provider_message_id
    assert received["In-Reply-To"] == "<CAJx7plain0001@mail.example.com>"
    assert ticket.reference in received["Subject"]
    assert reply.delivery_attempts == 1


def test_the_worker_retries_a_451_and_sends_once(  # type: ignore[no-untyped-def]
    mail_server, celery_worker, real_celery, agent, ticket
) -> None:
    mail_server.handler.data_replies.append("451 4.7.1 Greylisted, try again")
    reply = message_services.message_send(actor=agent, ticket=ticket, body_text="Second try")
    assert _wait_for(lambda: _status(reply) == DeliveryStatus.SENT), reply.delivery_error
    assert reply.delivery_attempts == 2
    assert mail_server.handler.attempts == 2
    assert len(mail_server.received) == 1


def test_a_broker_outage_at_commit_delays_the_reply_but_loses_nothing(  # type: ignore[no-untyped-def]
    mail_server, celery_worker, real_celery, agent, ticket
) -> None:
    from tickets.tasks import requeue_stuck_deliveries_task

    with _broker_down():
        reply = message_services.message_send(actor=agent, ticket=ticket, body_text="Held back")
    time.sleep(1)
    assert _status(reply) == DeliveryStatus.QUEUED
    assert mail_server.received == []

    # A minute later the beat's scan (here sent by hand, run by the worker) enqueues it again.
    Message.objects.for_organization(reply.organization_id).filter(pk=reply.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=2)
    )
    requeue_stuck_deliveries_task.delay()
    assert _wait_for(lambda: _status(reply) == DeliveryStatus.SENT), reply.delivery_error
    assert len(mail_server.received) == 1
    assert mail_server.received[0]["Message-ID"] == reply.provider_message_id
