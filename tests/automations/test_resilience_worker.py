"""Integration: the engine's guarantees under failure, with real worker processes on the real
broker (Redis) against the test database.

- A worker killed (SIGKILL) in the middle of a workflow: the task is delivered again (or the
  beat's requeue scan sends it again) and the workflow's effects happen exactly once, because
  the run row and the effects commit together.
- The same event delivered twice, also to two workers at once (PostgreSQL), runs each workflow
  once.
- Only database errors that may pass are retried; a bug in a condition or an action is
  recorded on the run and never retried.
- A workflow edited, disabled or enabled is seen by the next event in the same worker process.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
from django.db import connection
from django.utils import timezone

from automations import services
from automations.models import Event, Outcome, WorkflowRun
from automations.tasks import evaluate_event_task, requeue_stale_events_task
from tests.automations.test_resilience_standins import (
    STANDINS_MODULE,
    WORKER_ENV,
    hold_action,
    processed,
    received_event,
    registered_standins,
    tag_action,
    tag_links,
    wait_for,
    worker_idle,
    workflow_make,
)
from tests.tickets.factories import make_ticket
from tickets.models import Tag

pytestmark = [pytest.mark.redis, pytest.mark.worker]


@pytest.fixture
def registered() -> Iterator[None]:
    yield from registered_standins()


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent writers (PostgreSQL)"
)


def _standin_worker(start_worker, **options):  # type: ignore[no-untyped-def]
    return start_worker(include=(STANDINS_MODULE,), env=WORKER_ENV, **options)


def _tag_added_events(ticket, name: str) -> int:  # type: ignore[no-untyped-def]
    tag = Tag.objects.for_organization(ticket.organization_id).get(name=name)
    return Event.objects.filter(ticket=ticket, name="tag.added", payload__tag=tag.pk).count()


# --- a worker killed mid-run --------------------------------------------------------------


def test_a_pool_process_killed_mid_run_is_redelivered_and_acts_once(  # type: ignore[no-untyped-def]
    start_worker, real_celery, org, keys
) -> None:
    # Given a prefork worker, and a workflow that tags the ticket and then waits for the test.
    worker = _standin_worker(start_worker, pool="prefork", concurrency=1)
    workflow = workflow_make(org, [tag_action(keys, "once"), hold_action(keys)])
    keys.hold()
    ticket = make_ticket(org, subject="Help")
    event = received_event(ticket)
    assert wait_for(lambda: keys.started("hold") == 1)

    # Mid-run, the tag and the run row are written but not committed.
    assert not WorkflowRun.objects.filter(workflow=workflow).exists()
    assert tag_links(ticket, "once") == 0

    # When the pool process evaluating it is killed.
    assert worker.kill_pool()
    keys.release()

    # Then the task is delivered again (acks_late, reject_on_worker_lost) and the workflow's
    # effects happen once, although its actions began twice.
    assert wait_for(lambda: processed(event))
    run = WorkflowRun.objects.get(workflow=workflow)
    assert (run.event_id, run.outcome) == (event.pk, Outcome.DONE)
    assert tag_links(ticket, "once") == 1
    assert _tag_added_events(ticket, "once") == 1
    assert (keys.started("tag"), keys.started("hold")) == (2, 2)
    assert event.attempts == 2
    assert worker.process.poll() is None  # the worker itself lived on


def test_a_worker_killed_mid_run_is_taken_up_by_the_requeue_scan(  # type: ignore[no-untyped-def]
    start_worker, real_celery, org, keys
) -> None:
    # Given a worker in the middle of a workflow.
    worker = _standin_worker(start_worker)
    workflow = workflow_make(org, [tag_action(keys, "once"), hold_action(keys)])
    keys.hold()
    ticket = make_ticket(org, subject="Help")
    event = received_event(ticket)
    assert wait_for(lambda: keys.started("hold") == 1)

    # When the whole worker is killed (nothing acknowledged or rejected: the broker would hand
    # the message out again only after its hour of visibility timeout).
    worker.kill()
    keys.release()
    assert not processed(event)
    assert not WorkflowRun.objects.filter(workflow=workflow).exists()
    assert tag_links(ticket, "once") == 0

    # And another worker runs the beat's requeue scan once the event is older than its delay.
    other = _standin_worker(start_worker)
    Event.objects.filter(ticket=ticket).update(created_at=timezone.now() - dt.timedelta(minutes=1))
    requeue_stale_events_task.delay()

    # Then the workflow runs to its end once.
    assert wait_for(lambda: processed(event))
    assert wait_for(lambda: worker_idle(other.name))
    run = WorkflowRun.objects.get(workflow=workflow)
    assert (run.event_id, run.outcome) == (event.pk, Outcome.DONE)
    assert tag_links(ticket, "once") == 1
    assert _tag_added_events(ticket, "once") == 1
    assert (keys.started("tag"), keys.started("hold")) == (2, 2)


# --- duplicate delivery -------------------------------------------------------------------


def test_the_same_event_delivered_again_runs_each_workflow_once(  # type: ignore[no-untyped-def]
    start_worker, real_celery, org, keys
) -> None:
    worker = _standin_worker(start_worker)
    tagging = workflow_make(org, [tag_action(keys, "dup")], name="Tags")
    not_matching = workflow_make(
        org,
        [tag_action(keys, "never")],
        conditions=[{"field": "t_subject", "op": "is_not", "value": "Help"}],
        name="Other subjects",
    )
    ticket = make_ticket(org, subject="Help")
    event = received_event(ticket)
    assert wait_for(lambda: processed(event))

    # When the event is delivered twice more (as after a crash between the workflows' commit
    # and marking the event processed).
    Event.objects.filter(pk=event.pk, organization=org).update(processed_at=None)
    evaluate_event_task.delay(org.pk, event.pk)
    evaluate_event_task.delay(org.pk, event.pk)
    assert wait_for(lambda: processed(event))
    assert wait_for(lambda: worker_idle(worker.name))

    # Then each workflow ran once.
    runs = WorkflowRun.objects.filter(event=event).order_by("workflow_id")
    assert [(r.workflow_id, r.outcome) for r in runs] == [
        (tagging.pk, Outcome.DONE),
        (not_matching.pk, Outcome.NOT_MATCHED),
    ]
    assert tag_links(ticket, "dup") == 1
    assert keys.started("tag") == 1
    assert event.attempts == 2  # the third delivery found it processed


@postgresql_only
def test_two_workers_on_the_same_event_at_once_run_each_workflow_once(  # type: ignore[no-untyped-def]
    start_worker, real_celery, org, keys
) -> None:
    # Given two workers, one of them in the middle of the event's workflow.
    first, second = _standin_worker(start_worker), _standin_worker(start_worker)
    workflow = workflow_make(org, [hold_action(keys), tag_action(keys, "once")])
    keys.hold()
    ticket = make_ticket(org, subject="Help")
    event = received_event(ticket)
    assert wait_for(lambda: keys.started("hold") == 1)

    # When the same event is delivered again, to the other worker.
    evaluate_event_task.delay(org.pk, event.pk)
    second_started = Event.objects.filter(pk=event.pk, attempts=2, organization=org)
    assert wait_for(second_started.exists)
    # It evaluated the workflow too and now waits on the first one's uncommitted run row.
    assert wait_for(lambda: _waiting_on_a_lock() >= 1)
    keys.release()

    # Then the workflow acted once; the second delivery found the run when the first committed.
    assert wait_for(lambda: worker_idle(first.name) and worker_idle(second.name))
    assert processed(event)
    run = WorkflowRun.objects.get(workflow=workflow)
    assert (run.event_id, run.outcome) == (event.pk, Outcome.DONE)
    assert tag_links(ticket, "once") == 1
    assert (keys.started("hold"), keys.started("tag")) == (1, 1)


def _waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


# --- what is retried ----------------------------------------------------------------------


@pytest.mark.parametrize("where", ["condition", "action"])
def test_a_database_error_is_retried_until_it_passes(  # type: ignore[no-untyped-def]
    start_worker, real_celery, org, keys, where
) -> None:
    # Given a workflow whose condition (or action) hits an OperationalError twice.
    worker = _standin_worker(start_worker)
    if where == "condition":
        workflow = workflow_make(
            org,
            [tag_action(keys, "after-retry")],
            conditions=[{"field": "t_flaky_db", "op": "is", "value": keys.key}],
        )
    else:
        flaky = {"type": "t_flaky_tag", "params": {"name": "after-retry", "key": keys.key}}
        workflow = workflow_make(org, [flaky])
    keys.fail_next(2)
    ticket = make_ticket(org, subject="Help")
    event = received_event(ticket)

    # Then the task is retried until it passes, and the workflow acted once.
    assert wait_for(lambda: processed(event), seconds=60)
    assert wait_for(lambda: worker_idle(worker.name))
    run = WorkflowRun.objects.get(workflow=workflow)
    assert (run.event_id, run.outcome) == (event.pk, Outcome.DONE)
    assert run.actions[0]["ok"] is True
    assert tag_links(ticket, "after-retry") == 1
    assert _tag_added_events(ticket, "after-retry") == 1
    assert event.attempts == 3
    assert "OperationalError" in event.last_error  # what the failed attempts hit
    if where == "action":
        assert keys.started("tag") == 3


@postgresql_only
@pytest.mark.parametrize("keep_connections", [False, True])
def test_a_lost_database_connection_mid_run_is_retried(  # type: ignore[no-untyped-def]
    start_worker, real_celery, org, keys, keep_connections
) -> None:
    # Also with a worker that keeps its connection across tasks (CELERY_DB_REUSE_MAX): the
    # retry must not reuse the broken one.
    env = {**WORKER_ENV}
    if keep_connections:
        env["AUTOMATIONS_STANDINS_KEEP_CONNECTIONS"] = "1000"
    worker = start_worker(include=(STANDINS_MODULE,), env=env)
    workflow = workflow_make(org, [hold_action(keys), tag_action(keys, "after-retry")])
    keys.hold()
    ticket = make_ticket(org, subject="Help")
    event = received_event(ticket)
    assert wait_for(lambda: keys.started("hold") == 1)

    # When the database ends the worker's connection in the middle of the workflow.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
            "current_database() AND pid <> pg_backend_pid() AND state = 'idle in transaction'"
        )
        assert cursor.fetchall() == [(True,)]
    keys.release()

    # Then the task is retried on a new connection and the workflow acts once.
    assert wait_for(lambda: processed(event), seconds=60)
    assert wait_for(lambda: worker_idle(worker.name))
    run = WorkflowRun.objects.get(workflow=workflow)
    assert (run.event_id, run.outcome) == (event.pk, Outcome.DONE)
    assert tag_links(ticket, "after-retry") == 1
    assert keys.started("hold") == 2
    assert keys.started("tag") == 1
    assert event.attempts == 2


@postgresql_only
def test_a_connection_lost_between_tasks_is_replaced(  # type: ignore[no-untyped-def]
    start_worker, real_celery, org, keys
) -> None:
    """A worker that keeps its connection across tasks (CELERY_DB_REUSE_MAX) finds it broken
    (the database restarted meanwhile): the retry opens a new one."""
    env = {**WORKER_ENV, "AUTOMATIONS_STANDINS_KEEP_CONNECTIONS": "1000"}
    worker = start_worker(include=(STANDINS_MODULE,), env=env)
    workflow = workflow_make(org, [tag_action(keys, "after-reconnect")])
    first = make_ticket(org, subject="Help")
    assert wait_for(lambda: processed(received_event(first)))
    assert wait_for(lambda: worker_idle(worker.name))

    # When the database ends the idle worker's connection.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
            "current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        assert cursor.fetchall()

    # Then the next event is processed all the same.
    second = make_ticket(org, subject="Help")
    event = received_event(second)
    assert wait_for(lambda: processed(event), seconds=60)
    run = WorkflowRun.objects.get(workflow=workflow, ticket=second)
    assert (run.event_id, run.outcome) == (event.pk, Outcome.DONE)
    assert tag_links(second, "after-reconnect") == 1


def test_bugs_in_conditions_and_actions_are_recorded_and_not_retried(  # type: ignore[no-untyped-def]
    start_worker, real_celery, org, keys
) -> None:
    worker = _standin_worker(start_worker)
    broken_condition = workflow_make(
        org,
        [tag_action(keys, "never")],
        conditions=[{"field": "t_bug", "op": "is", "value": None}],
        name="Broken condition",
    )
    broken_action = workflow_make(
        org,
        [{"type": "t_raise", "params": {}}, tag_action(keys, "after-the-bug")],
        name="Broken action",
    )
    fine = workflow_make(org, [tag_action(keys, "fine")], name="Fine")
    ticket = make_ticket(org, subject="Help")
    event = received_event(ticket)

    assert wait_for(lambda: processed(event))
    time.sleep(1)  # a retry would come back within its first backoff (at most 2 s)
    assert wait_for(lambda: worker_idle(worker.name))
    event.refresh_from_db()
    assert (event.attempts, event.last_error) == (1, "")
    runs = {run.workflow_id: run for run in WorkflowRun.objects.filter(event=event)}
    assert runs[broken_condition.pk].outcome == Outcome.FAILED
    assert "ZeroDivisionError" in runs[broken_condition.pk].reason
    assert runs[broken_action.pk].outcome == Outcome.PARTIAL
    assert [a["ok"] for a in runs[broken_action.pk].actions] == [False, True]
    assert "a bug in an action" in runs[broken_action.pk].actions[0]["error"]
    assert runs[fine.pk].outcome == Outcome.DONE
    assert (tag_links(ticket, "after-the-bug"), tag_links(ticket, "fine")) == (1, 1)
    assert tag_links(ticket, "never") == 0


# --- the compiled workflows' cache --------------------------------------------------------


def test_workflow_changes_are_seen_by_the_next_event_in_the_same_worker(  # type: ignore[no-untyped-def]
    start_worker, real_celery, registered, org, manager, keys
) -> None:
    worker = _standin_worker(start_worker)
    workflow = services.workflow_create(
        actor=manager,
        name="Tag help",
        description="Tags tickets about help.",
        conditions={"all": [{"field": "t_subject", "op": "is", "value": "Help"}], "any": []},
        actions=[tag_action(keys, "v1")],
        enabled=True,
    )

    def ticket_processed():  # type: ignore[no-untyped-def]
        ticket = make_ticket(org, subject="Help")
        event = received_event(ticket)
        assert wait_for(lambda: processed(event))
        return ticket

    first = ticket_processed()
    assert tag_links(first, "v1") == 1

    # Edited: the next event runs the new actions.
    services.workflow_update(
        actor=manager,
        workflow=workflow,
        name=workflow.name,
        description=workflow.description,
        conditions=workflow.conditions,
        actions=[tag_action(keys, "v2")],
        enabled=True,
    )
    second = ticket_processed()
    assert (tag_links(second, "v1"), tag_links(second, "v2")) == (0, 1)

    # Disabled: the next event does not run it.
    services.workflow_set_enabled(actor=manager, workflow=workflow, enabled=False)
    third = ticket_processed()
    assert not WorkflowRun.objects.filter(workflow=workflow, ticket=third).exists()

    # Enabled again: it runs.
    services.workflow_set_enabled(actor=manager, workflow=workflow, enabled=True)
    fourth = ticket_processed()
    assert tag_links(fourth, "v2") == 1

    # Deleted: gone from the next event's workflows, and a new one is there.
    services.workflow_delete(actor=manager, workflow=workflow)
    services.workflow_create(
        actor=manager,
        name="Tag help again",
        description="Tags tickets about help.",
        conditions={"all": [{"field": "t_subject", "op": "is", "value": "Help"}], "any": []},
        actions=[tag_action(keys, "v3")],
        enabled=True,
    )
    fifth = ticket_processed()
    assert (tag_links(fifth, "v2"), tag_links(fifth, "v3")) == (0, 1)

    # All in one worker process (a solo pool runs tasks in the worker's own process).
    assert worker.process.poll() is None
    assert keys.started("tag") == 4
