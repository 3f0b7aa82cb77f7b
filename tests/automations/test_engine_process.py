"""The evaluator's bookkeeping, in process: what one event costs in queries whatever the number
of workflows (the per-event path), the beat's requeue scan, and giving up on a poison event."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from automations.engine import evaluate
from automations.engine.evaluate import event_process, events_requeue_stale
from automations.engine.events import drain_pending_forget
from automations.models import Event, Outcome, WorkflowRun
from tests.automations.test_resilience_standins import (
    queued_tasks,
    registered_standins,
    workflow_make,
)
from tests.tickets.factories import make_ticket

pytestmark = pytest.mark.django_db

DRAIN = "automations.tasks.drain_events_task"


@pytest.fixture
def registered() -> Iterator[None]:
    yield from registered_standins()


def _not_matching(org: Any, count: int) -> None:
    for n in range(count):
        workflow_make(
            org,
            [{"type": "t_raise", "params": {}}],
            conditions=[{"field": "t_subject", "op": "is", "value": f"Other {n}"}],
            name=f"Not matching {n}",
        )


def _queries_of_one_event(org: Any) -> int:
    ticket = make_ticket(org, subject="Help")  # eager Celery, no on-commit: not processed yet
    event = Event.objects.get(ticket=ticket, name="message.received")
    evaluate.compiled_workflows(org.pk)  # compiled once per process, not per event
    with CaptureQueriesContext(connection) as queries:
        assert event_process(organization_id=org.pk, event_id=event.pk) == "processed"
    # Savepoints are this test's transaction's (the worker commits instead).
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    return len(statements)


def test_one_event_costs_the_same_queries_for_1_or_40_workflows(org, registered) -> None:  # type: ignore[no-untyped-def]
    _not_matching(org, 1)
    one = _queries_of_one_event(org)
    _not_matching(org, 39)
    forty = _queries_of_one_event(org)
    # The attempt with the workflow stamp, the ticket, the message, then the runs and the
    # processed mark (one statement on PostgreSQL, two elsewhere).
    assert forty == one == (4 if connection.vendor == "postgresql" else 5)
    assert (
        WorkflowRun.objects.for_organization(org).filter(outcome=Outcome.NOT_MATCHED).count() == 41
    )


def test_a_matching_workflow_acts_in_one_transaction_with_its_run(org, registered) -> None:  # type: ignore[no-untyped-def]
    workflow = workflow_make(org, [{"type": "t_raise", "params": {}}])
    ticket = make_ticket(org, subject="Help")
    event = Event.objects.get(ticket=ticket, name="message.received")
    assert event_process(organization_id=org.pk, event_id=event.pk) == "processed"
    run = WorkflowRun.objects.get(workflow=workflow)
    assert (run.event_id, run.outcome) == (event.pk, Outcome.FAILED)
    # Processed: another delivery does nothing, not even count an attempt.
    assert event_process(organization_id=org.pk, event_id=event.pk) == "already"
    event.refresh_from_db()
    assert event.attempts == 1


def test_a_poison_event_is_given_up(org, registered) -> None:  # type: ignore[no-untyped-def]
    workflow = workflow_make(org, [{"type": "t_raise", "params": {}}])
    ticket = make_ticket(org, subject="Help")
    event = Event.objects.get(ticket=ticket, name="message.received")
    Event.objects.filter(pk=event.pk, organization=org).update(
        attempts=evaluate.MAX_ATTEMPTS, last_error="OperationalError: deadlock detected"
    )
    assert event_process(organization_id=org.pk, event_id=event.pk) == "gave_up"
    event.refresh_from_db()
    assert event.processed_at is None
    assert event.last_error.startswith(f"RuntimeError: gave up after {evaluate.MAX_ATTEMPTS}")
    assert "deadlock detected" in event.last_error
    assert not WorkflowRun.objects.filter(workflow=workflow).exists()


@pytest.mark.redis
def test_the_requeue_scan_sends_a_drain_for_stale_events_but_not_too_often(  # type: ignore[no-untyped-def]
    org, other_org, real_celery, broker
) -> None:
    # In the organization, one event still unprocessed a while after it was written.
    ticket = make_ticket(org, subject="Help", body=None)  # one ticket.created event, fresh
    old = timezone.now() - dt.timedelta(minutes=2)
    Event.objects.create(organization=org, ticket=ticket, name="tag.added", created_at=old)
    # In the other one, a fresh event, a processed one and a given-up one: nothing to send.
    other = make_ticket(other_org, subject="Help", body=None)
    done, poison = (
        Event.objects.create(organization=other_org, ticket=other, name="tag.added", created_at=old)
        for _ in range(2)
    )
    Event.objects.filter(pk=done.pk, organization=other_org).update(processed_at=timezone.now())
    Event.objects.filter(pk=poison.pk, organization=other_org).update(
        attempts=evaluate.MAX_ATTEMPTS + 1
    )

    # Only the organization with a stale, unprocessed, not given-up event gets a drain.
    assert events_requeue_stale() == 1
    assert queued_tasks(broker) == [(DRAIN, [org.pk])]

    # While that drain is pending (it may simply wait behind a backlog), none is sent again.
    assert events_requeue_stale() == 0
    assert len(queued_tasks(broker)) == 1

    # Once a drain started (it forgets the pending key) and the event is still there, it is.
    drain_pending_forget(org.pk)
    assert events_requeue_stale() == 1
    assert queued_tasks(broker) == [(DRAIN, [org.pk])] * 2
