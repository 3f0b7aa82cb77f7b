"""Integration: the outbox against the real broker (Redis) and a real worker process.

- The evaluator's task (a drain of the organization's events) reaches the broker only when the
  change commits, never from a change that rolls back, and only once while one is pending.
- A web request that creates a ticket returns before any workflow ran: with a broker configured
  the evaluator never runs in the request.
- The broker unreachable at commit time delays an event, never loses it: the beat's requeue
  scan sends it again once the broker is back, and it runs exactly once.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.utils import timezone

from automations.models import Event, Outcome, WorkflowRun
from automations.tasks import requeue_stale_events_task
from tests.automations.test_resilience_standins import (
    STANDINS_MODULE,
    WORKER_ENV,
    processed,
    queued_tasks,
    received_event,
    tag_action,
    tag_links,
    wait_for,
    worker_idle,
    workflow_make,
)
from tests.factories import TeamFactory
from tests.tickets.factories import make_inbox, make_ticket
from tickets.models import Channel, Ticket

pytestmark = [pytest.mark.redis]


@contextmanager
def broker_down() -> Iterator[None]:
    """This process publishes to a port nothing listens on, as when Redis is down (the worker
    process keeps its own connection)."""
    import socket

    from helpdesk.celery import app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    url = app.conf.broker_url

    def reset() -> None:
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.broker_url = f"redis://127.0.0.1:{closed_port}/0"
    reset()
    try:
        yield
    finally:
        app.conf.broker_url = url
        reset()


DRAIN = "automations.tasks.drain_events_task"


@pytest.mark.django_db(transaction=True)
def test_a_drain_is_enqueued_when_the_change_commits_once_while_pending_never_on_rollback(  # type: ignore[no-untyped-def]
    real_celery, broker, org, other_org
) -> None:
    # Given a change in progress: its events are written, nothing is sent yet.
    with transaction.atomic():
        ticket = make_ticket(org, subject="Help")
        events = list(Event.objects.filter(ticket=ticket).order_by("id"))
        assert [e.name for e in events] == ["ticket.created", "message.received"]
        assert queued_tasks(broker) == []
    # When it commits, then one drain of the organization is in the broker for both events.
    assert queued_tasks(broker) == [(DRAIN, [org.pk])]

    # A change that rolls back leaves neither events nor tasks.
    with transaction.atomic():
        rolled_back = make_ticket(org, subject="Never")
        assert Event.objects.filter(ticket=rolled_back).count() == 2
        transaction.set_rollback(True)
    assert not Event.objects.for_organization(org).filter(ticket_id=rolled_back.pk).exists()
    assert queued_tasks(broker) == [(DRAIN, [org.pk])]

    # More changes while that drain is pending add events, not tasks; another organization
    # gets a drain of its own.
    for n in range(5):
        make_ticket(org, subject=f"More {n}")
    make_ticket(other_org, subject="Elsewhere")
    assert Event.objects.for_organization(org).filter(processed_at__isnull=True).count() == 12
    assert queued_tasks(broker) == [(DRAIN, [org.pk]), (DRAIN, [other_org.pk])]


@pytest.mark.worker
def test_a_web_request_returns_before_any_workflow_ran(  # type: ignore[no-untyped-def]
    start_worker, real_celery, broker, org, keys
) -> None:
    # Given a workflow that tags "Help" tickets, and no worker running yet.
    workflow = workflow_make(org, [tag_action(keys, "seen")])
    inbox = make_inbox(org, TeamFactory(organization=org), channel=Channel.WEB_FORM, address="")
    assert settings.CELERY_TASK_ALWAYS_EAGER is False

    # When a customer sends the web form's JSON API a ticket.
    response = Client().post(
        f"/api/v1/forms/{inbox.secret}/tickets/",
        data=json.dumps(
            {"name": "Jane", "email": "jane@example.com", "subject": "Help", "message": "Hi"}
        ),
        content_type="application/json",
    )

    # Then the request answered with the ticket stored, its events waiting in the broker, and
    # no workflow run.
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.for_organization(org).get(number=response.json()["ticket"])
    events = list(Event.objects.filter(ticket=ticket).order_by("id"))
    assert {e.name for e in events} == {"ticket.created", "message.received"}
    assert all(e.processed_at is None and e.attempts == 0 for e in events)
    assert not WorkflowRun.objects.filter(workflow=workflow).exists()
    assert tag_links(ticket, "seen") == 0
    assert queued_tasks(broker) == [(DRAIN, [org.pk])]

    # And a worker started afterwards runs the workflow.
    start_worker(include=(STANDINS_MODULE,), env=WORKER_ENV)
    event = received_event(ticket)
    assert wait_for(lambda: processed(event))
    assert WorkflowRun.objects.get(workflow=workflow).outcome == Outcome.DONE
    assert tag_links(ticket, "seen") == 1


@pytest.mark.worker
def test_a_broker_outage_at_commit_delays_the_event_but_loses_nothing(  # type: ignore[no-untyped-def]
    start_worker, real_celery, broker, org, keys
) -> None:
    worker = start_worker(include=(STANDINS_MODULE,), env=WORKER_ENV)
    workflow = workflow_make(org, [tag_action(keys, "late")])

    # Given the broker unreachable when the change commits.
    with broker_down():
        ticket = make_ticket(org, subject="Help")  # commits; the enqueue fails and is logged
    event = received_event(ticket)

    # Then the change is stored, its events wait in the outbox, nothing ran.
    assert queued_tasks(broker) == []
    assert wait_for(lambda: worker_idle(worker.name))
    event.refresh_from_db()
    assert event.processed_at is None and event.attempts == 0
    assert not WorkflowRun.objects.filter(workflow=workflow).exists()

    # When the beat's requeue scan runs after the broker is back (the events are older than
    # its delay by then; the scan runs in the worker, as beat would have it).
    Event.objects.filter(ticket=ticket).update(created_at=timezone.now() - dt.timedelta(minutes=1))
    requeue_stale_events_task.delay()

    # Then the workflow runs, once.
    assert wait_for(lambda: processed(event))
    assert wait_for(lambda: worker_idle(worker.name))
    run = WorkflowRun.objects.get(workflow=workflow)
    assert (run.event_id, run.outcome) == (event.pk, Outcome.DONE)
    assert tag_links(ticket, "late") == 1
    assert keys.started("tag") == 1
    assert Event.objects.filter(ticket=ticket, processed_at__isnull=True).count() == 0

    # And a later scan finds nothing left to send.
    requeue_stale_events_task.delay()
    assert wait_for(lambda: worker_idle(worker.name))
    assert queued_tasks(broker) == []
    assert WorkflowRun.objects.filter(workflow=workflow).count() == 1
    assert keys.started("tag") == 1
