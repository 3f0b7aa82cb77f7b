"""The drain (``automations.engine.batch``), in process: a batch costs the same queries for 3 or
30 events, a ticket's events are handled in created order and each sees what the workflows did
on the earlier ones, an event taken again is claimed alone, poison and orphan events, one drain
per organization at a time, and the continuation after the time budget."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from automations.engine import evaluate, registry
from automations.engine.batch import LOCK_SPACE, _claim, events_drain
from automations.engine.events import DrainEnqueued, drain_enqueue
from automations.models import Event, Outcome, Workflow, WorkflowRun
from helpdesk.models import Schedule
from tests.automations.test_conditions_support import at
from tests.automations.test_resilience_standins import queued_tasks
from tests.factories import CustomerFactory, TeamFactory, add_customer_email
from tests.tickets.factories import make_tag, make_ticket
from tickets.models import TicketTag
from tickets.services.messages import InboundMessage, message_receive

pytestmark = pytest.mark.django_db

DRAIN = "automations.tasks.drain_events_task"
# A Tuesday, 10:00 in Warsaw.
MOMENT = datetime(2026, 6, 9, 8, 0, 10, tzinfo=UTC)


@pytest.fixture
def recorded() -> Iterator[list[tuple[str, str]]]:
    """A stand-in action that records (ticket subject, triggering message) when it runs."""
    calls: list[tuple[str, str]] = []

    def record(action: registry.ActionContext, params: dict[str, Any]) -> str:
        message = action.ctx.message
        calls.append((action.ctx.ticket.subject, message.body_text if message else ""))
        return "recorded"

    added = registry.action_register(registry.ActionType("t_record", "Record", (), record))
    yield calls
    registry.ACTIONS.pop(added.key, None)


def _workflow(org: Any, conditions: dict[str, Any], actions: list[Any], name: str) -> Workflow:
    conditions.setdefault("any", [])
    return Workflow.objects.create(
        organization=org,
        name=name,
        description="x",
        enabled=True,
        trigger="event",
        conditions=conditions,
        actions=actions,
    )


def _row(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def _say(ticket: Any, body: str) -> None:
    """A customer message on the ticket (a ``message.received`` event, not processed: plain
    ``django_db`` tests run no on-commit callbacks)."""
    message_receive(
        ticket=ticket,
        customer=ticket.customer,
        inbound=InboundMessage(channel=ticket.source, body_text=body, subject=ticket.subject),
    )


def _statements(queries: CaptureQueriesContext) -> list[str]:
    # Savepoints are this test's transaction's (the worker commits instead).
    return [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]


def _unprocessed(org: Any) -> Any:
    return Event.objects.for_organization(org).filter(processed_at__isnull=True)


# --- what a batch costs --------------------------------------------------------------------


def test_a_batch_costs_the_same_queries_for_3_or_30_events(org) -> None:  # type: ignore[no-untyped-def]
    # Given workflows whose conditions read what a context loads lazily: the ticket's tags,
    # the sender's address (from the customer: these messages carry none), the latest customer
    # message (for ticket.created), the working hours of the ticket's team (with a schedule),
    # and none of them matching.
    team = TeamFactory(organization=org)
    Schedule.objects.create(
        organization=org, team=team, name="Office", kind="open", starts_on=MOMENT.date()
    )
    tag = make_tag(org, "vip")
    _workflow(org, {"all": [_row("tag", "is", [tag.pk])]}, [], "Tagged")
    _workflow(org, {"all": [_row("email", "contains", "@nowhere.example")]}, [], "Email")
    _workflow(
        org,
        {"all": [_row("new_ticket", "is"), _row("message_text", "contains", "zqx")]},
        [],
        "New ticket text",
    )
    _workflow(
        org,
        {"all": [_row("working_hours", "outside", {"ticket_team": True}), _row("hour", "is", 3)]},
        [],
        "Hours",
    )
    _workflow(org, {"all": [_row("customer_name", "contains", "Zbigniew")]}, [], "Name")

    def queries_for(count: int) -> int:
        with at(MOMENT):  # one minute: one look-up of the team's hours per batch
            for n in range(count):
                customer = CustomerFactory(organization=org)
                add_customer_email(customer, f"c{count}-{n}@example.com")
                ticket = make_ticket(org, subject=f"Question {n}", customer=customer, team=team)
                if n % 2:
                    other = make_tag(org, f"t{count}-{n}")
                    TicketTag.objects.create(organization=org, ticket=ticket, tag=other)
        assert _unprocessed(org).count() == 2 * count
        evaluate.compiled_workflows(org.pk)  # compiled once per process, not per batch
        with CaptureQueriesContext(connection) as queries:
            assert events_drain(organization_id=org.pk) == 2 * count
        assert not _unprocessed(org).exists()
        return len(_statements(queries))

    # Elsewhere than on PostgreSQL the runs are written by ``bulk_create``, one INSERT per 111
    # rows (SQLite's 999 parameters): 20 tickets write 100.
    many = 30 if connection.vendor == "postgresql" else 20
    queries_for(1)  # warm: the condition texts of the reasons are cached per process
    assert queries_for(3) == queries_for(many)
    # Every listening workflow has its run: 4 per message, 1 per new ticket.
    runs = WorkflowRun.objects.for_organization(org)
    assert runs.count() == (1 + 3 + many) * 5
    assert set(runs.values_list("outcome", flat=True)) == {Outcome.NOT_MATCHED}
    assert runs.filter(reason__startswith="not met").count() == (1 + 3 + many) * 5


def test_a_drain_reads_tickets_messages_and_tags_once_per_batch(org) -> None:  # type: ignore[no-untyped-def]
    """The constant above is a handful: claim, tickets, messages, the lazy reads, one write."""
    tag = make_tag(org, "vip")
    _workflow(org, {"all": [_row("tag", "is", [tag.pk])]}, [], "Tagged")
    make_ticket(org, subject="Warm")
    events_drain(organization_id=org.pk)  # the compiled workflows and condition texts
    for n in range(5):
        make_ticket(org, subject=f"Question {n}")
    with CaptureQueriesContext(connection) as queries:
        assert events_drain(organization_id=org.pk) == 10
    statements = _statements(queries)
    ticket_reads = [s for s in statements if 'FROM "tickets_ticket"' in s]
    assert len(ticket_reads) == 1
    writes = [s for s in statements if s.startswith(("INSERT", "WITH"))]
    assert len(writes) == 1
    # PostgreSQL: lock, claim (with the workflows' stamp), tickets, messages, tags, runs and
    # processed marks, the next (empty) claim, unlock, anything left? Elsewhere no lock, the
    # claim takes four statements (an empty one, one) and the write two.
    assert len(statements) == (9 if connection.vendor == "postgresql" else 11)


# --- order --------------------------------------------------------------------------------


def _tickets_with_interleaved_messages(org: Any) -> tuple[Any, Any]:
    first = make_ticket(org, subject="A", body=None)
    second = make_ticket(org, subject="B", body=None)
    for ticket, body in ((first, "1"), (second, "1"), (first, "2"), (first, "3"), (second, "2")):
        _say(ticket, body)
    return first, second


@pytest.mark.parametrize("batch_size", [200, 2])
def test_each_event_of_a_ticket_sees_what_workflows_did_on_its_earlier_ones(  # type: ignore[no-untyped-def]
    org, recorded, batch_size
) -> None:
    # Given a workflow that acts on a ticket once: while it does not have the tag "seen".
    seen = make_tag(org, "seen")
    workflow = _workflow(
        org,
        {"all": [_row("tag", "is_not", [seen.pk])]},
        [{"type": "t_record", "params": {}}, {"type": "assign_tag", "params": {"tag": seen.pk}}],
        "Once per ticket",
    )
    _tickets_with_interleaved_messages(org)

    # When all the messages are drained together (or two at a time).
    events_drain(organization_id=org.pk, batch_size=batch_size)

    # Then, as if each event had been processed alone in created order, the workflow acted on
    # each ticket's first message only: the later ones saw the tag it added.
    assert recorded == [("A", "1"), ("B", "1")]
    runs = WorkflowRun.objects.for_organization(org).filter(workflow=workflow)
    outcomes = {(run.ticket.subject, run.event.payload["message"]): run.outcome for run in runs}
    assert sorted(outcomes.values()) == [Outcome.DONE] * 2 + [Outcome.NOT_MATCHED] * 3
    assert not _unprocessed(org).exclude(name="tag.added").exists()


@pytest.mark.parametrize("batch_size", [200, 2])
def test_the_events_of_a_ticket_are_acted_on_in_created_order(  # type: ignore[no-untyped-def]
    org, recorded, batch_size
) -> None:
    _workflow(org, {"all": [_row("new_message", "is")]}, [{"type": "t_record"}], "Every message")
    _tickets_with_interleaved_messages(org)

    events_drain(organization_id=org.pk, batch_size=batch_size)

    assert [body for subject, body in recorded if subject == "A"] == ["1", "2", "3"]
    assert [body for subject, body in recorded if subject == "B"] == ["1", "2"]
    assert sorted(recorded) == [("A", "1"), ("A", "2"), ("A", "3"), ("B", "1"), ("B", "2")]
    assert not _unprocessed(org).exists()


# --- events taken again, poison events, orphans ---------------------------------------------


def test_an_event_taken_again_is_claimed_alone(org) -> None:  # type: ignore[no-untyped-def]
    """A drain that died (or failed) mid-batch leaves its events with an attempt counted: each
    is then claimed on its own, so that one that kills its worker uses up only its attempts."""
    events = [
        Event.objects.get(ticket=make_ticket(org, subject=f"T{n}", body=None)) for n in range(5)
    ]
    Event.objects.filter(pk=events[2].pk, organization=org).update(attempts=1)

    def claim() -> list[int]:
        claimed, _stamp = _claim(org.pk, 200)
        Event.objects.for_organization(org).filter(pk__in=[e.pk for e in claimed]).update(
            processed_at=MOMENT
        )
        return [e.pk for e in claimed]

    ids = [e.pk for e in events]
    assert claim() == ids[:2]
    assert claim() == ids[2:3]
    assert claim() == ids[3:]
    assert claim() == []
    attempts = dict(Event.objects.for_organization(org).values_list("pk", "attempts"))
    assert [attempts[pk] for pk in ids] == [1, 1, 2, 1, 1]


def test_a_poison_event_is_given_up_and_the_others_processed(org, recorded) -> None:  # type: ignore[no-untyped-def]
    workflow = _workflow(org, {"all": [_row("new_message", "is")]}, [{"type": "t_record"}], "All")
    tickets = [make_ticket(org, subject=f"T{n}") for n in range(3)]
    poison = Event.objects.get(ticket=tickets[1], name="message.received")
    Event.objects.filter(pk=poison.pk, organization=org).update(
        attempts=evaluate.MAX_ATTEMPTS, last_error="OperationalError: deadlock detected"
    )

    assert events_drain(organization_id=org.pk) == 5

    poison.refresh_from_db()
    assert poison.processed_at is None
    assert poison.last_error.startswith(f"RuntimeError: gave up after {evaluate.MAX_ATTEMPTS}")
    assert "deadlock detected" in poison.last_error
    body = "Hello, my mirror is broken."
    assert recorded == [("T0", body), ("T2", body)]
    assert not WorkflowRun.objects.filter(workflow=workflow, event=poison).exists()
    # Given up for good: later drains leave it alone.
    assert events_drain(organization_id=org.pk) == 0
    poison.refresh_from_db()
    assert poison.attempts == evaluate.MAX_ATTEMPTS + 1


def test_events_without_ticket_or_caused_by_automated_messages_are_just_marked(  # type: ignore[no-untyped-def]
    org, recorded
) -> None:
    _workflow(org, {"all": []}, [{"type": "t_record"}], "Listens to everything it can")
    ticket = make_ticket(org, subject="Gone", body=None)
    Event.objects.for_organization(org).update(processed_at=MOMENT)
    orphan = Event.objects.create(
        organization=org, ticket=None, name="message.received", payload={"message": 1}
    )
    # What the outbox writes for a message a workflow sent.
    automated = Event.objects.create(
        organization=org, ticket=ticket, name="message.sent", payload={"automated": True}
    )

    events_drain(organization_id=org.pk)

    assert not _unprocessed(org).exists()
    assert not WorkflowRun.objects.filter(event__in=[orphan, automated]).exists()
    assert recorded == []


# --- one drain per organization, continuation --------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks (PostgreSQL)")
def test_a_drain_leaves_when_another_one_runs_for_the_organization(org, other_org) -> None:  # type: ignore[no-untyped-def]
    import psycopg

    make_ticket(org, subject="Waiting")
    make_ticket(other_org, subject="Elsewhere")
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        autocommit=True,
    ) as running:  # another worker's session, in the middle of a drain of ``org``
        running.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_SPACE, org.pk])
        assert events_drain(organization_id=org.pk) == 0
        assert _unprocessed(org).count() == 2
        assert events_drain(organization_id=other_org.pk) == 2  # not held up by it
    assert events_drain(organization_id=org.pk) == 2


@pytest.mark.redis
def test_a_drain_out_of_time_enqueues_its_continuation(org, real_celery, broker) -> None:  # type: ignore[no-untyped-def]
    for n in range(3):
        make_ticket(org, subject=f"T{n}")
    assert queued_tasks(broker) == []  # no on-commit in this test: nothing enqueued

    # A batch of one event, then the time is up.
    assert events_drain(organization_id=org.pk, batch_size=1, time_budget=0) == 1

    assert _unprocessed(org).count() == 5
    assert queued_tasks(broker) == [(DRAIN, [org.pk])]
    # While that one is pending, events committed meanwhile enqueue no other.
    assert drain_enqueue(org.pk) == DrainEnqueued.PENDING
    assert queued_tasks(broker) == [(DRAIN, [org.pk])]
    # A drain that had the time forgets the key when it starts, and leaves nothing to continue.
    assert events_drain(organization_id=org.pk) == 5
    assert drain_enqueue(org.pk) == DrainEnqueued.SENT
