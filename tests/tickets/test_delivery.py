"""Outbound delivery: retries with backoff, a final failed state with the reason, never twice,
nothing stuck (the requeue scan)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from celery.exceptions import Retry
from django.conf import settings as django_settings
from django.utils import timezone
from kombu.exceptions import OperationalError

from helpdesk.models import Role
from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tests.tickets.factories import make_ticket
from tickets import delivery, signals, tasks
from tickets.delivery import (
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
    deliveries_requeue_stuck,
    message_deliver,
    retry_delay,
)
from tickets.models import Channel, DeliveryStatus, Message
from tickets.services import messages as message_services

pytestmark = pytest.mark.django_db


class FakeAdapter:
    """Raises the queued errors in turn, then succeeds."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.sent: list[int] = []

    def send(self, message: Message) -> str:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(message.pk)
        return f"provider-{message.idempotency_key}"


@pytest.fixture
def adapter(monkeypatch):  # type: ignore[no-untyped-def]
    fake = FakeAdapter()
    monkeypatch.setitem(delivery._adapters, Channel.SMS, fake)
    return fake


@pytest.fixture(autouse=True)
def _steady_backoff(monkeypatch, settings):  # type: ignore[no-untyped-def]
    settings.DELIVERY_MAX_ATTEMPTS = 4
    settings.DELIVERY_RETRY_BASE_SECONDS = 10
    settings.DELIVERY_RETRY_MAX_SECONDS = 600
    monkeypatch.setattr(delivery.random, "uniform", lambda low, high: 1.0)


@pytest.fixture
def updates():  # type: ignore[no-untyped-def]
    seen: list[tuple[str, str]] = []

    def listener(sender: Any, message: Message, **kwargs: Any) -> None:
        seen.append((message.delivery_status, message.delivery_error))

    signals.delivery_updated.connect(listener, weak=False, dispatch_uid="test-delivery-updates")
    yield seen
    signals.delivery_updated.disconnect(dispatch_uid="test-delivery-updates")


def _reply(org, agent, channel: str = Channel.SMS) -> Message:  # type: ignore[no-untyped-def]
    ticket = make_ticket(org, source=channel)
    return message_services.message_send(actor=agent, ticket=ticket, body_text="On its way.")


def _deliver(message: Message) -> delivery.DeliveryOutcome:
    outcome = message_deliver(organization_id=message.organization_id, message_id=message.pk)
    message.refresh_from_db()
    return outcome


def test_transient_errors_retry_with_growing_backoff_then_fail_with_the_reason(  # type: ignore[no-untyped-def]
    org, agent, adapter, updates
) -> None:
    adapter.errors = [TransientDeliveryError(f"busy {n}") for n in range(1, 5)]
    message = _reply(org, agent)
    delays = []
    for attempt in (1, 2, 3):
        before = timezone.now()
        outcome = _deliver(message)
        assert outcome.status == DeliveryStatus.QUEUED
        assert message.delivery_status == DeliveryStatus.QUEUED
        assert message.delivery_attempts == attempt
        assert message.delivery_error == f"busy {attempt}"
        assert outcome.retry_in is not None
        assert message.delivery_due_at is not None
        assert message.delivery_due_at >= before + dt.timedelta(seconds=outcome.retry_in - 1)
        delays.append(outcome.retry_in)
    assert delays == [10, 20, 40]

    outcome = _deliver(message)
    assert outcome.status == DeliveryStatus.FAILED and outcome.retry_in is None
    assert message.delivery_status == DeliveryStatus.FAILED
    assert message.delivery_error == "busy 4"
    assert message.delivery_attempts == 4
    assert adapter.sent == []
    # The agent's screen hears about every change, the last one with the reason.
    assert updates[-1] == (DeliveryStatus.FAILED, "busy 4")
    assert [status for status, _error in updates] == ["queued", "queued", "queued", "failed"]


def test_backoff_is_capped_and_jittered(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert retry_delay(1) == 10
    assert retry_delay(30) == 600
    monkeypatch.setattr(delivery.random, "uniform", lambda low, high: high)
    assert retry_delay(1) == pytest.approx(12)


def test_a_transient_error_then_success(org, agent, adapter) -> None:  # type: ignore[no-untyped-def]
    adapter.errors = [TransientDeliveryError("451 try later")]
    message = _reply(org, agent)
    assert _deliver(message).status == DeliveryStatus.QUEUED
    assert _deliver(message).status == DeliveryStatus.SENT
    assert message.delivery_status == DeliveryStatus.SENT
    assert message.delivery_error == ""
    assert message.sent_at is not None
    assert message.provider_message_id == f"provider-{message.idempotency_key}"
    assert adapter.sent == [message.pk]


def test_a_permanent_error_fails_at_once(org, agent, adapter, updates) -> None:  # type: ignore[no-untyped-def]
    adapter.errors = [PermanentDeliveryError("550 no such user")]
    message = _reply(org, agent)
    outcome = _deliver(message)
    assert outcome.status == DeliveryStatus.FAILED and outcome.retry_in is None
    assert message.delivery_status == DeliveryStatus.FAILED
    assert message.delivery_error == "550 no such user"
    assert message.delivery_attempts == 1
    assert updates == [(DeliveryStatus.FAILED, "550 no such user")]
    # Nothing more happens however often the task runs.
    assert _deliver(message).status == DeliveryStatus.FAILED
    assert message.delivery_attempts == 1


def test_a_crashing_adapter_is_logged_and_retried(org, agent, adapter, caplog) -> None:  # type: ignore[no-untyped-def]
    adapter.errors = [KeyError("bug")]
    message = _reply(org, agent)
    with caplog.at_level(logging.ERROR, logger="tickets.delivery"):
        outcome = _deliver(message)
    assert outcome.status == DeliveryStatus.QUEUED
    assert message.delivery_error == "KeyError: 'bug'"
    assert any(record.exc_info for record in caplog.records)


def test_a_plain_delivery_error_is_permanent(org, agent, adapter) -> None:  # type: ignore[no-untyped-def]
    adapter.errors = [DeliveryError("")]
    message = _reply(org, agent)
    assert _deliver(message).status == DeliveryStatus.FAILED
    assert message.delivery_error == "DeliveryError"


def test_the_task_run_twice_sends_once(org, agent, adapter) -> None:  # type: ignore[no-untyped-def]
    message = _reply(org, agent)
    first = tasks.deliver_message_task.apply(args=(org.pk, message.pk))
    second = tasks.deliver_message_task.apply(args=(org.pk, message.pk))
    assert (first.result, second.result) == (DeliveryStatus.SENT, DeliveryStatus.SENT)
    assert adapter.sent == [message.pk]


def test_the_task_asks_celery_to_retry_after_the_backoff(org, agent, adapter) -> None:  # type: ignore[no-untyped-def]
    adapter.errors = [TransientDeliveryError("busy")]
    message = _reply(org, agent)
    with pytest.raises(Retry) as retry:
        tasks.deliver_message_task.apply(args=(org.pk, message.pk), throw=True)
    assert retry.value.when == 10
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.QUEUED
    assert adapter.sent == []


def test_a_message_found_sending_long_ago_is_failed_not_sent_again(  # type: ignore[no-untyped-def]
    org, agent, adapter, updates
) -> None:
    """Its worker died mid-send: the customer may or may not have it."""
    message = _reply(org, agent)
    Message.objects.for_organization(org).filter(pk=message.pk).update(
        delivery_status=DeliveryStatus.SENDING,
        delivery_attempts=1,
        delivery_due_at=timezone.now() - dt.timedelta(hours=1),
    )
    outcome = _deliver(message)
    assert outcome.status == DeliveryStatus.FAILED
    assert message.delivery_status == DeliveryStatus.FAILED
    assert "interrupted" in message.delivery_error
    assert message.delivery_attempts == 1
    assert adapter.sent == []
    assert updates[-1][0] == DeliveryStatus.FAILED


def test_a_message_being_sent_right_now_is_left_alone(org, agent, adapter) -> None:  # type: ignore[no-untyped-def]
    """A duplicate task while the first one is still sending: neither fails nor sends it."""
    message = _reply(org, agent)
    Message.objects.for_organization(org).filter(pk=message.pk).update(
        delivery_status=DeliveryStatus.SENDING, delivery_due_at=timezone.now()
    )
    outcome = _deliver(message)
    assert outcome.status == DeliveryStatus.SENDING
    assert message.delivery_status == DeliveryStatus.SENDING
    assert adapter.sent == []


def test_an_unknown_channel_fails_clearly(org, agent, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delitem(delivery._adapters, Channel.PHONE, raising=False)
    message = _reply(org, agent, channel=Channel.PHONE)
    assert _deliver(message).status == DeliveryStatus.FAILED
    assert message.delivery_error == "No delivery is set up for this channel."
    assert message.delivery_attempts == 0


def test_notes_and_inbound_messages_are_never_delivered(org, agent, adapter) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(org, source=Channel.SMS)
    note = message_services.note_add(actor=agent, ticket=ticket, body_text="internal")
    inbound = ticket.messages.get(direction="inbound")
    for message in (note, inbound):
        status = message.delivery_status
        _deliver(message)
        assert message.delivery_status == status
    assert adapter.sent == []


def test_a_missing_message_is_harmless(org) -> None:  # type: ignore[no-untyped-def]
    assert message_deliver(organization_id=org.pk, message_id=999_999).status == "missing"


def test_a_stored_reply_is_delivered_after_commit(  # type: ignore[no-untyped-def]
    org, agent, adapter, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = _reply(org, agent)
    assert len(callbacks) >= 1
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.SENT
    assert adapter.sent == [message.pk]


def test_a_broker_down_at_commit_keeps_the_message_queued(  # type: ignore[no-untyped-def]
    org, agent, adapter, monkeypatch, caplog, django_capture_on_commit_callbacks
) -> None:
    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.deliver_message_task, "delay", broker_down)
    with (
        caplog.at_level(logging.WARNING, logger="tickets.delivery"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        message = _reply(org, agent)  # no exception reaches the agent
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.QUEUED
    assert adapter.sent == []
    assert "stays queued" in caplog.text


# --- the requeue scan ------------------------------------------------------------------------


def _age(message: Message, **fields: Any) -> None:
    Message.objects.for_organization(message.organization_id).filter(pk=message.pk).update(**fields)


def test_the_requeue_scan_enqueues_what_is_stuck_and_nothing_else(  # type: ignore[no-untyped-def]
    org, other_org, agent, adapter, django_capture_on_commit_callbacks
) -> None:
    long_ago = timezone.now() - dt.timedelta(minutes=2)
    stuck = _reply(org, agent)  # never attempted: the broker was down
    _age(stuck, created_at=long_ago)
    overdue_retry = _reply(org, agent)
    _age(overdue_retry, delivery_attempts=1, delivery_due_at=long_ago)
    waiting_retry = _reply(org, agent)  # its backoff is not over
    _age(waiting_retry, delivery_attempts=1, delivery_due_at=timezone.now() + dt.timedelta(60))
    fresh = _reply(org, agent)  # its task is on the way
    died = _reply(org, agent)
    _age(died, delivery_status=DeliveryStatus.SENDING, delivery_due_at=long_ago - dt.timedelta(1))
    busy = _reply(org, agent)
    _age(busy, delivery_status=DeliveryStatus.SENDING, delivery_due_at=long_ago)
    their_agent = MembershipFactory(organization=other_org, role=Role.AGENT, user=UserFactory())
    theirs = _reply(other_org, their_agent)
    _age(theirs, created_at=long_ago)

    with django_capture_on_commit_callbacks(execute=True):
        count = deliveries_requeue_stuck()

    assert count == 4
    status = dict(
        Message.all_objects.filter(
            pk__in=[m.pk for m in (stuck, overdue_retry, waiting_retry, fresh, died, busy, theirs)]
        ).values_list("pk", "delivery_status")
    )
    assert status[stuck.pk] == DeliveryStatus.SENT
    assert status[overdue_retry.pk] == DeliveryStatus.SENT
    assert status[theirs.pk] == DeliveryStatus.SENT
    assert status[died.pk] == DeliveryStatus.FAILED  # never sent again
    assert status[waiting_retry.pk] == DeliveryStatus.QUEUED
    assert status[fresh.pk] == DeliveryStatus.QUEUED
    assert status[busy.pk] == DeliveryStatus.SENDING
    assert sorted(adapter.sent) == sorted([stuck.pk, overdue_retry.pk, theirs.pk])


def test_a_requeued_message_waits_a_minute_before_the_next_requeue(  # type: ignore[no-untyped-def]
    org, agent, adapter, monkeypatch
) -> None:
    """While the broker is still down, the scan does not pile up tasks every minute."""
    monkeypatch.setattr(delivery, "delivery_enqueue", lambda organization_id, message_id: False)
    message = _reply(org, agent)
    _age(message, created_at=timezone.now() - dt.timedelta(minutes=5))
    assert deliveries_requeue_stuck() == 1
    message.refresh_from_db()
    assert message.delivery_due_at is not None
    assert timezone.now() - message.delivery_due_at < dt.timedelta(seconds=5)
    assert deliveries_requeue_stuck() == 0


def test_the_requeue_task_is_on_the_beat_schedule(org, agent, adapter, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    entries = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert "tickets.tasks.requeue_stuck_deliveries_task" in entries
    enqueued: list[int] = []
    monkeypatch.setattr(
        delivery, "delivery_enqueue", lambda _organization_id, pk: enqueued.append(pk)
    )
    message = _reply(org, agent)
    _age(message, created_at=timezone.now() - dt.timedelta(minutes=5))
    assert tasks.requeue_stuck_deliveries_task.apply().result == 1


def test_email_replies_through_the_locmem_backend_send_once(  # type: ignore[no-untyped-def]
    org, agent, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    team = TeamFactory(organization=org, name="Support")
    from helpdesk.models import Customer
    from tests.factories import add_customer_email

    customer = Customer.objects.create(organization=org, name="Jan")
    add_customer_email(customer, "jan@example.com")
    ticket = make_ticket(org, customer=customer, team=team)
    with django_capture_on_commit_callbacks(execute=True):
        message = message_services.message_send(actor=agent, ticket=ticket, body_text="Hello")
    tasks.deliver_message_task.apply(args=(org.pk, message.pk))
    assert len(mailoutbox) == 1
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.SENT
    assert message.provider_message_id == mailoutbox[0].extra_headers["Message-ID"]


@pytest.mark.django_db(transaction=True)
def test_two_tasks_at_once_send_once(org, agent, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A duplicate enqueue runs while the first attempt is still talking to the provider."""
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL)")
    started, release = threading.Event(), threading.Event()
    sent: list[int] = []

    class SlowAdapter:
        def send(self, message: Message) -> str:
            started.set()
            release.wait(10)
            sent.append(message.pk)
            return "slow-1"

    monkeypatch.setitem(delivery._adapters, Channel.SMS, SlowAdapter())
    # Stored without its task: the two runs below are the only ones.
    monkeypatch.setattr(delivery, "delivery_enqueue", lambda *args: True)
    message = _reply(org, agent)
    outcomes: list[str] = []

    def run() -> None:
        try:
            outcomes.append(message_deliver(organization_id=org.pk, message_id=message.pk).status)
        finally:
            connection.close()

    first = threading.Thread(target=run)
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=run)
    second.start()
    second.join(10)
    release.set()
    first.join(10)
    assert outcomes == [DeliveryStatus.SENDING, DeliveryStatus.SENT]
    assert sent == [message.pk]
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.SENT
