"""Tenancy of the engine's tasks: a drain of one organization reads, evaluates and marks only
that organization's events, with only its workflows; the other organization's events wait for
their own drain, and its workflows never see this organization's tickets."""

from __future__ import annotations

from typing import Any

import pytest

from automations.engine.batch import events_drain
from automations.models import Event, Outcome, Workflow, WorkflowRun
from tests.tickets.factories import make_ticket

pytestmark = pytest.mark.django_db


def _tagging_workflow(org: Any, tag: str) -> Workflow:
    return Workflow.objects.create(
        organization=org,
        name=f"Tag {tag}",
        description="x",
        enabled=True,
        trigger="event",
        conditions={"all": [{"field": "new_ticket", "op": "is", "value": None}], "any": []},
        actions=[{"type": "assign_tag", "params": {"tag_name": tag}}],
    )


def test_a_drain_touches_only_its_organization(org, other_org) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = _tagging_workflow(org, "ours"), _tagging_workflow(other_org, "theirs")
    mine = make_ticket(org, subject="Mine")
    elsewhere = make_ticket(other_org, subject="Elsewhere")
    waiting = list(
        Event.objects.for_organization(other_org).values_list("pk", "processed_at", "attempts")
    )

    assert events_drain(organization_id=org.pk) > 0

    # The other organization's events are as they were: not claimed, not marked, no runs.
    assert (
        list(
            Event.objects.for_organization(other_org).values_list("pk", "processed_at", "attempts")
        )
        == waiting
    )
    assert not WorkflowRun.all_objects.filter(organization=other_org).exists()
    assert not WorkflowRun.all_objects.filter(workflow=theirs).exists()
    # Only our workflow ran, on our ticket.
    runs = WorkflowRun.all_objects.filter(event__ticket=mine)
    assert set(runs.values_list("workflow_id", flat=True)) == {ours.pk}
    assert runs.filter(outcome=Outcome.DONE).exists()
    assert list(mine.ticket_tags.values_list("tag__name", flat=True)) == ["ours"]
    assert not elsewhere.ticket_tags.exists()

    # Its own drain handles the other organization, with its own workflow only.
    assert events_drain(organization_id=other_org.pk) > 0
    assert list(elsewhere.ticket_tags.values_list("tag__name", flat=True)) == ["theirs"]
    assert not WorkflowRun.all_objects.filter(workflow=theirs, ticket=mine).exists()
