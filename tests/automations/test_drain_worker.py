"""Integration: drains through real worker processes on the real broker (Redis).

- Many events committed while a drain is pending take that one drain (and the few that the
  workflows' own changes enqueue), not one task each; every workflow acts once per event.
- A worker killed (SIGKILL) in the middle of a batch loses no event and doubles none: what
  committed before the kill stays done, the rest of the batch is taken again and done once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from automations.models import Event, Outcome, WorkflowRun
from automations.tasks import requeue_stale_events_task
from tests.automations.test_resilience_standins import (
    STANDINS_MODULE,
    WORKER_ENV,
    hold_action,
    queued_tasks,
    tag_action,
    tag_links,
    wait_for,
    worker_idle,
    workflow_make,
)
from tests.tickets.factories import make_ticket
from tickets.models import Tag

pytestmark = [pytest.mark.redis, pytest.mark.worker]

DRAIN = "automations.tasks.drain_events_task"


def _standin_worker(start_worker, **options):  # type: ignore[no-untyped-def]
    return start_worker(include=(STANDINS_MODULE,), env=WORKER_ENV, **options)


def _all_processed(org: Any) -> bool:
    return not Event.objects.for_organization(org).filter(processed_at__isnull=True).exists()


def _drains_run(worker: Any) -> int:
    from helpdesk.celery import app

    stats = app.control.inspect(destination=[worker.name], timeout=5).stats() or {}
    return int(((stats.get(worker.name) or {}).get("total") or {}).get(DRAIN, 0))


def _tag_added_events(ticket: Any, name: str) -> int:
    tag = Tag.objects.for_organization(ticket.organization_id).get(name=name)
    return Event.objects.filter(ticket=ticket, name="tag.added", payload__tag=tag.pk).count()


def test_many_events_take_few_drains_and_each_workflow_acts_once_per_event(  # type: ignore[no-untyped-def]
    start_worker, real_celery, broker, org, keys
) -> None:
    # Given a workflow that tags "Help" tickets, and 20 tickets (40 events) committed one by
    # one while no worker runs.
    workflow = workflow_make(org, [tag_action(keys, "seen")])
    tickets = [make_ticket(org, subject="Help") for _ in range(20)]

    # Then one drain waits in the broker for all of them.
    assert Event.objects.for_organization(org).count() == 40
    assert queued_tasks(broker) == [(DRAIN, [org.pk])]

    # When a worker takes it.
    worker = _standin_worker(start_worker)
    assert wait_for(lambda: _all_processed(org) and worker_idle(worker.name), seconds=60)

    # Then every event was processed, including the 20 tag.added events the workflow caused,
    # by a few drains (the first, and those the workflow's own changes enqueued).
    assert Event.objects.for_organization(org).count() == 60
    assert 1 <= _drains_run(worker) <= 3
    # And the workflow acted once per message: one run each, one tag each.
    runs = WorkflowRun.objects.filter(workflow=workflow)
    assert runs.count() == 20
    assert set(runs.values_list("outcome", flat=True)) == {Outcome.DONE}
    assert all(tag_links(ticket, "seen") == 1 for ticket in tickets)
    assert keys.started("tag") == 20


def test_a_drain_killed_mid_batch_loses_no_event_and_doubles_none(  # type: ignore[no-untyped-def]
    start_worker, real_celery, org, keys
) -> None:
    # Given two workflows: "Help" tickets are tagged; the "Hold" ticket is tagged, then the
    # workflow waits for the test (its transaction open).
    tagging = workflow_make(org, [tag_action(keys, "once")], name="Tag help")
    holding = workflow_make(
        org,
        [tag_action(keys, "held"), hold_action(keys)],
        conditions=[{"field": "t_subject", "op": "is", "value": "Hold"}],
        name="Hold",
    )
    worker = _standin_worker(start_worker)
    keys.hold()
    subjects = ["Help"] * 4 + ["Hold"] + ["Help"] * 5
    with transaction.atomic():  # 20 events, one drain
        tickets = [make_ticket(org, subject=subject) for subject in subjects]

    # When that drain, with the 20 events in one batch, has acted on the first four tickets
    # (committed), is in the middle of the fifth, and its worker is killed.
    assert wait_for(lambda: keys.started("hold") == 1)
    assert [tag_links(ticket, "once") for ticket in tickets] == [1] * 4 + [0] * 6
    assert tag_links(tickets[4], "held") == 0
    assert not Event.objects.for_organization(org).filter(processed_at__isnull=False).exists()
    worker.kill()
    keys.release()

    # And another worker takes the events up (the beat's requeue scan, once they are old).
    other = _standin_worker(start_worker)
    Event.objects.for_organization(org).update(created_at=timezone.now() - dt.timedelta(minutes=1))
    requeue_stale_events_task.delay()

    # Then every event is processed, and each workflow ran once per message: what committed
    # before the kill was not done again, what rolled back was done once.
    assert wait_for(lambda: _all_processed(org) and worker_idle(other.name), seconds=60)
    received = Event.objects.for_organization(org).filter(name="message.received")
    assert received.count() == 10
    runs = WorkflowRun.objects.filter(event__in=received)
    assert runs.count() == 20  # two workflows, ten messages, no duplicates
    outcomes = {(run.workflow_id, run.ticket_id): run.outcome for run in runs}
    for ticket, subject in zip(tickets, subjects, strict=True):
        help_ = subject == "Help"
        done, not_matched = Outcome.DONE, Outcome.NOT_MATCHED
        assert outcomes[(tagging.pk, ticket.pk)] == (done if help_ else not_matched)
        assert outcomes[(holding.pk, ticket.pk)] == (not_matched if help_ else done)
        assert tag_links(ticket, "once" if help_ else "held") == 1
        assert _tag_added_events(ticket, "once" if help_ else "held") == 1
    # The four committed tags were not redone; the held one began twice.
    assert (keys.started("tag"), keys.started("hold")) == (9 + 2, 2)
    # No event used up more than the one attempt the kill cost it.
    assert max(Event.objects.for_organization(org).values_list("attempts", flat=True)) == 2
