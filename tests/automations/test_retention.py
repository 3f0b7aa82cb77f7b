"""Retention of run rows (``automations.engine.retention``): not-matched event runs past the
retention are deleted, in capped batches, in every organization; everything else is kept."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from automations.engine import retention
from automations.models import Event, Outcome, Workflow, WorkflowRun
from automations.tasks import prune_workflow_runs_task
from tests.tickets.factories import make_ticket

pytestmark = pytest.mark.django_db


def _workflow(org: Any, name: str = "Watch") -> Workflow:
    return Workflow.objects.create(
        organization=org,
        name=name,
        description="x",
        enabled=True,
        trigger="event",
        conditions={"all": [], "any": []},
        actions=[],
    )


def _run(workflow: Workflow, *, days_ago: float, outcome: str, event: bool = True) -> WorkflowRun:
    org = workflow.organization
    ticket = make_ticket(org)
    at = timezone.now() - timedelta(days=days_ago)
    unique: dict[str, Any] = {"period_at": at}
    if event:
        unique = {"event": Event.objects.create(organization=org, name="x", ticket=ticket)}
    return WorkflowRun.objects.create(
        organization=org,
        workflow=workflow,
        ticket=ticket,
        outcome=outcome,
        created_at=at,
        **unique,
    )


def test_old_not_matched_event_runs_go_and_the_rest_stays(org, other_org, settings) -> None:  # type: ignore[no-untyped-def]
    settings.WORKFLOW_NOT_MATCHED_RUNS_DAYS = 30
    ours, theirs = _workflow(org), _workflow(other_org)
    old = [
        _run(ours, days_ago=31, outcome=Outcome.NOT_MATCHED),
        _run(theirs, days_ago=45, outcome=Outcome.NOT_MATCHED),
    ]
    kept = [
        _run(ours, days_ago=29, outcome=Outcome.NOT_MATCHED),  # within the retention
        _run(ours, days_ago=90, outcome=Outcome.DONE),  # acted: shows on the ticket
        _run(ours, days_ago=90, outcome=Outcome.FAILED),
        _run(ours, days_ago=90, outcome=Outcome.SKIPPED),
        # A time-based workflow's period: it keeps the workflow from acting twice.
        _run(ours, days_ago=90, outcome=Outcome.NOT_MATCHED, event=False),
    ]

    assert prune_workflow_runs_task.delay().get() == 2

    left = set(WorkflowRun.all_objects.values_list("pk", flat=True))
    assert left == {run.pk for run in kept}
    assert not left & {run.pk for run in old}
    # The events themselves stay (they may have runs that acted).
    assert Event.all_objects.filter(pk__in=[run.event_id for run in old]).count() == 2


def test_pruning_goes_in_capped_batches(org, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settings.WORKFLOW_NOT_MATCHED_RUNS_DAYS = 7
    monkeypatch.setattr(retention, "PRUNE_MAX_BATCHES", 2)
    workflow = _workflow(org)
    for _ in range(7):
        _run(workflow, days_ago=8, outcome=Outcome.NOT_MATCHED)

    # Two batches of three per call; the next call goes on where it stopped.
    assert retention.runs_prune(batch=3) == 6
    assert WorkflowRun.objects.for_organization(org).count() == 1
    assert retention.runs_prune(batch=3) == 1
    assert retention.runs_prune(batch=3) == 0
    assert not WorkflowRun.objects.for_organization(org).exists()


def test_the_beat_prunes_hourly(settings) -> None:  # type: ignore[no-untyped-def]
    entry = settings.CELERY_BEAT_SCHEDULE["prune-workflow-runs"]
    assert entry["task"] == "automations.tasks.prune_workflow_runs_task"
    assert entry["schedule"] == 3600.0
