"""Call a webhook against a fake receiver on loopback that verifies the signature: retries on
5xx then success with the same delivery id, no retry on 4xx, backoff capped, private
addresses refused; and once through a real Celery worker."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest
from celery.exceptions import Retry
from django.core.exceptions import ValidationError

from automations.backends.http import UnsafeUrlError, post_json
from automations.engine.registry import ACTIONS
from automations.models import WebhookDelivery, WebhookStatus, WorkflowRun
from automations.tasks_webhooks import deliver_webhook_task
from automations.webhooks import (
    webhook_deliver,
    webhook_deliveries_for_run,
    webhook_delivery_list,
    webhook_retry_delay,
)
from tests.automations.fakes import (
    Reply,
    customer_with_email,
    fake_server,
    run_action,
    webhook_receiver,
    workflow_with,
)
from tests.factories import TeamFactory
from tests.tickets.factories import make_tag, make_ticket
from tickets.services.tickets import ticket_add_tag

SECRET = "s3cret-s3cret-s3cret"


@pytest.fixture
def allow_loopback(settings: Any) -> None:
    settings.AUTOMATION_WEBHOOK_ALLOW_PRIVATE = True


def _hook(url: str) -> dict[str, Any]:
    return {"type": "call_webhook", "params": {"url": url, "secret": SECRET}}


@pytest.mark.django_db
def test_a_failing_receiver_gets_the_same_signed_call_again_until_it_succeeds(  # type: ignore[no-untyped-def]
    org, settings, allow_loopback, django_capture_on_commit_callbacks
) -> None:
    team = TeamFactory(organization=org, name="Service")
    with fake_server(webhook_receiver(SECRET, [500, 503])) as server:
        workflow = workflow_with(org, [_hook(server.url + "/hooks?x=1")], name="Notify CRM")
        with django_capture_on_commit_callbacks(execute=True):
            ticket = make_ticket(
                org, customer=customer_with_email(org), team=team, subject="Where is it?"
            )
        # The task's first attempt ran after the commit; the retries come later.
        delivery = WebhookDelivery.objects.get(ticket=ticket)
        assert (delivery.status, delivery.attempts) == (WebhookStatus.QUEUED, 1)
        with pytest.raises(Retry) as retry:
            deliver_webhook_task.apply(args=(org.pk, delivery.pk), throw=True)
        assert 0 < float(retry.value.when) <= settings.DELIVERY_RETRY_MAX_SECONDS
        assert webhook_deliver(organization_id=org.pk, delivery_pk=delivery.pk).status == (
            WebhookStatus.DELIVERED
        )
    assert len(server.requests) == 3
    deliveries = {r.headers["x-helpdesk-delivery"] for r in server.requests}
    assert len(deliveries) == 1
    assert {r.body for r in server.requests} == {server.requests[0].body}
    first = server.requests[0]
    assert first.path == "/hooks?x=1"
    assert first.headers["x-helpdesk-event"] == "message.received"
    assert first.headers["user-agent"].startswith("Helpdesk-Automations/")
    payload = first.json()
    assert payload["delivery"] == deliveries.pop()
    assert payload["event"] == "message.received"
    assert payload["workflow"] == {"id": workflow.pk, "name": "Notify CRM"}
    assert payload["ticket"]["number"] == ticket.number
    assert payload["ticket"]["subject"] == "Where is it?"
    assert payload["ticket"]["status"] == "new"
    assert payload["ticket"]["team"] == "Service"
    assert payload["ticket"]["customer"] == {"name": "Jan Kowalski", "email": "jan@example.com"}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (
        WebhookStatus.DELIVERED,
        3,
        200,
    )
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.actions[0]["ok"] is True
    assert webhook_deliveries_for_run(run=run) == [delivery]
    assert webhook_delivery_list(organization=org, workflow=workflow) == [delivery]


@pytest.mark.django_db
def test_a_4xx_is_not_retried(org, allow_loopback) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(org)
    with fake_server(webhook_receiver(SECRET, [400])) as server:
        run_action("call_webhook", ticket, {"url": server.url, "secret": SECRET})
        delivery = WebhookDelivery.objects.get(ticket=ticket)
        outcome = webhook_deliver(organization_id=org.pk, delivery_pk=delivery.pk)
        assert outcome.status == WebhookStatus.FAILED and outcome.retry_in is None
        # A repeated task finds it finished and calls nobody.
        assert webhook_deliver(organization_id=org.pk, delivery_pk=delivery.pk).status == "failed"
    assert len(server.requests) == 1
    delivery.refresh_from_db()
    assert delivery.response_status == 400
    assert delivery.error == "The receiver answered 400."


@pytest.mark.django_db
def test_a_wrong_secret_fails_the_receivers_check(org, allow_loopback) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(org)
    with fake_server(webhook_receiver("another-secret-entirely")) as server:
        run_action("call_webhook", ticket, {"url": server.url, "secret": SECRET})
        delivery = WebhookDelivery.objects.get(ticket=ticket)
        webhook_deliver(organization_id=org.pk, delivery_pk=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.response_status == 401


@pytest.mark.django_db
def test_retries_back_off_without_exceeding_the_cap(org, settings, allow_loopback) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    ticket = make_ticket(org)
    tag = make_tag(org, "x")
    ticket_add_tag(actor=None, ticket=ticket, tag=tag)
    with fake_server(lambda request: Reply(429, {}, headers={"Retry-After": "86400"})) as server:
        run_action("call_webhook", ticket, {"url": server.url, "secret": SECRET})
        delivery = WebhookDelivery.objects.get(ticket=ticket)
        delays = []
        for _attempt in range(3):
            outcome = webhook_deliver(organization_id=org.pk, delivery_pk=delivery.pk)
            delays.append(outcome.retry_in)
    assert delays[:2] == [settings.DELIVERY_RETRY_MAX_SECONDS] * 2  # Retry-After, capped
    assert delays[2] is None  # out of attempts
    delivery.refresh_from_db()
    assert delivery.status == WebhookStatus.FAILED
    assert json.loads(delivery.body)["ticket"]["tags"] == ["x"]
    for attempt in range(1, 30):
        assert 0 < webhook_retry_delay(attempt) <= settings.DELIVERY_RETRY_MAX_SECONDS


@pytest.mark.django_db
def test_timeouts_and_refused_connections_are_retried(org, settings, allow_loopback) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    ticket = make_ticket(org)
    with fake_server(lambda request: Reply(200, {}, delay=1.0)) as server:
        run_action("call_webhook", ticket, {"url": server.url, "secret": SECRET})
        delivery = WebhookDelivery.objects.get(ticket=ticket)
        outcome = webhook_deliver(organization_id=org.pk, delivery_pk=delivery.pk)
    assert outcome.retry_in is not None
    delivery.refresh_from_db()
    assert "did not answer within 0.3 seconds" in delivery.error
    # The server is gone now: connection refused, retried too.
    outcome = webhook_deliver(organization_id=org.pk, delivery_pk=delivery.pk)
    assert outcome.retry_in is not None
    delivery.refresh_from_db()
    assert delivery.status == WebhookStatus.QUEUED and delivery.attempts == 2
    assert "Could not reach 127.0.0.1" in delivery.error


@pytest.mark.django_db
def test_private_addresses_are_refused(org, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settings.AUTOMATION_WEBHOOK_ALLOW_PRIVATE = False
    kind = ACTIONS["call_webhook"]
    assert kind.clean is not None
    for url in (
        "http://127.0.0.1:8000/x",
        "http://localhost/x",
        "http://10.1.2.3/x",
        "http://[::1]/x",
        "http://169.254.169.254/latest/meta-data",
        "ftp://example.com/x",
        "http://user:pw@example.com/x",
    ):
        with pytest.raises(ValidationError) as error:
            kind.clean(org, {"url": url, "secret": SECRET})
        assert "url" in error.value.message_dict, url
    with pytest.raises(ValidationError) as error:
        kind.clean(org, {"url": "https://hooks.example.com/x", "secret": "short"})
    assert "secret" in error.value.message_dict
    assert kind.clean(org, {"url": "https://hooks.example.com/x", "secret": SECRET}) == {
        "url": "https://hooks.example.com/x",
        "secret": SECRET,
    }

    # A public name that resolves to a private address is refused when calling, before any
    # connection is made.
    real = socket.getaddrinfo

    def resolver(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.example.com":
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with fake_server(webhook_receiver(SECRET)) as server:
        port = server.url.rsplit(":", 1)[1]
        with pytest.raises(UnsafeUrlError):
            post_json(f"http://hooks.example.com:{port}/", {}, timeout=1)
        ticket = make_ticket(org)
        run_action(
            "call_webhook", ticket, {"url": f"http://hooks.example.com:{port}/", "secret": SECRET}
        )
        delivery = WebhookDelivery.objects.get(ticket=ticket)
        outcome = webhook_deliver(organization_id=org.pk, delivery_pk=delivery.pk)
    assert outcome.status == WebhookStatus.FAILED and outcome.retry_in is None
    assert server.requests == []


def test_describe() -> None:
    kind = ACTIONS["call_webhook"]
    assert kind.describe is not None
    assert kind.describe({"url": "https://crm.example.com/hook", "secret": SECRET}) == (
        "would call the webhook at crm.example.com"
    )


@pytest.fixture
def worker_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """For the worker process (it reads the environment): loopback allowed, quick retries."""
    monkeypatch.setenv("AUTOMATION_WEBHOOK_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("DELIVERY_RETRY_BASE_SECONDS", "0.2")


@pytest.mark.worker
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_through_a_real_worker(  # type: ignore[no-untyped-def]
    worker_settings, allow_loopback, org, real_celery, celery_worker
) -> None:
    with fake_server(webhook_receiver(SECRET, [500])) as server:
        workflow_with(org, [_hook(server.url)])
        ticket = make_ticket(org)
        deadline = time.monotonic() + 30
        delivery = None
        while time.monotonic() < deadline:
            delivery = WebhookDelivery.objects.filter(ticket=ticket).first()
            if delivery is not None and delivery.status == WebhookStatus.DELIVERED:
                break
            time.sleep(0.1)
    assert delivery is not None and delivery.status == WebhookStatus.DELIVERED
    assert delivery.attempts == 2
    assert len({r.headers["x-helpdesk-delivery"] for r in server.requests}) == 1
    assert [r.json()["ticket"]["number"] for r in server.requests] == [ticket.number] * 2


@pytest.mark.django_db
def test_the_requeue_scan_sends_deliveries_left_behind(org, allow_loopback) -> None:  # type: ignore[no-untyped-def]
    """The broker was down at commit: the row waits, and the beat scan sends it."""
    from datetime import timedelta

    from django.utils import timezone

    from automations.webhooks import webhooks_requeue_stuck

    ticket = make_ticket(org)
    with fake_server(webhook_receiver(SECRET)) as server:
        run_action("call_webhook", ticket, {"url": server.url, "secret": SECRET})
        delivery = WebhookDelivery.objects.get(ticket=ticket)
        assert webhooks_requeue_stuck() == 0  # not overdue yet
        WebhookDelivery.objects.filter(pk=delivery.pk, organization=org).update(
            due_at=timezone.now() - timedelta(minutes=5)
        )
        assert webhooks_requeue_stuck() == 1
    delivery.refresh_from_db()
    assert delivery.status == WebhookStatus.DELIVERED
    assert len(server.requests) == 1
