"""The evaluator's machinery with stand-in conditions and actions: outbox rows written with
the change, run-once under duplicate delivery, per-action failures, loop protection."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction

from automations.engine import registry
from automations.engine.evaluate import event_process
from automations.models import Event, Outcome, Workflow, WorkflowRun
from tests.tickets.factories import make_ticket
from tickets.models import Message, MessageKind
from tickets.services.tickets import tag_get_or_create, ticket_add_tag

pytestmark = pytest.mark.django_db


@pytest.fixture
def stand_ins() -> Iterator[list[str]]:
    calls: list[str] = []

    def subject_is(ctx: Any, op: str, value: Any) -> bool:
        return (ctx.ticket.subject == value) == (op == "is")

    def tag_it(action: registry.ActionContext, params: dict[str, Any]) -> str:
        calls.append(params["name"])
        tag = tag_get_or_create(organization=action.ctx.organization, name=params["name"])
        ticket_add_tag(actor=None, ticket=action.ctx.ticket, tag=tag)
        return f"tagged {params['name']}"

    def explode(action: registry.ActionContext, params: dict[str, Any]) -> str:
        raise RuntimeError("boom")

    added = [
        registry.condition_register(
            registry.ConditionType("t_subject", "Subject", ("is", "is_not"), "text", subject_is)
        ),
        registry.action_register(registry.ActionType("t_tag", "Tag", (), tag_it)),
        registry.action_register(registry.ActionType("t_explode", "Explode", (), explode)),
    ]
    yield calls
    for item in added:
        registry.CONDITIONS.pop(item.key, None)
        registry.ACTIONS.pop(item.key, None)


def _workflow(org, actions, subject="Help") -> Workflow:  # type: ignore[no-untyped-def]
    return Workflow.objects.create(
        organization=org,
        name="Tag help",
        description="x",
        enabled=True,
        trigger="event",
        conditions={"all": [{"field": "t_subject", "op": "is", "value": subject}]},
        actions=actions,
    )


def test_events_are_written_with_the_change(org) -> None:  # type: ignore[no-untyped-def]
    with transaction.atomic():
        ticket = make_ticket(org, subject="Help")
        names = list(Event.objects.filter(ticket=ticket).values_list("name", flat=True))
        assert names == ["ticket.created", "message.received"]
        transaction.set_rollback(True)
    assert not Event.objects.for_organization(org).exists()


def test_a_matching_workflow_acts_once_even_when_delivered_twice(  # type: ignore[no-untyped-def]
    org, stand_ins, django_capture_on_commit_callbacks
) -> None:
    workflow = _workflow(org, [{"type": "t_tag", "params": {"name": "help"}}])
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(org, subject="Help")  # eager Celery: processed once on commit
    event = Event.objects.get(ticket=ticket, name="message.received")
    assert event.processed_at is not None
    Event.objects.filter(pk=event.pk, organization=org).update(processed_at=None)
    assert event_process(organization_id=org.pk, event_id=event.pk) == "processed"
    assert stand_ins == ["help"]
    run = WorkflowRun.objects.get(workflow=workflow, event=event)
    assert run.outcome == Outcome.DONE
    assert run.actions == [{"type": "t_tag", "ok": True, "summary": "tagged help"}]
    # The tag event the workflow caused names it on the timeline, and does not re-run it.
    system = Message.objects.filter(ticket=ticket, kind=MessageKind.SYSTEM).get()
    assert system.automation_label == "Workflow “Tag help”"
    tag_event = Event.objects.get(ticket=ticket, name="tag.added")
    assert tag_event.payload["by_workflow"] == workflow.pk


def test_non_matching_runs_are_recorded(  # type: ignore[no-untyped-def]
    org, stand_ins, django_capture_on_commit_callbacks
) -> None:
    workflow = _workflow(org, [{"type": "t_tag", "params": {"name": "x"}}], subject="Other")
    with django_capture_on_commit_callbacks(execute=True):
        make_ticket(org, subject="Help")
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.outcome == Outcome.NOT_MATCHED
    assert stand_ins == []


def test_one_failing_action_does_not_stop_the_others(  # type: ignore[no-untyped-def]
    org, stand_ins, django_capture_on_commit_callbacks
) -> None:
    workflow = _workflow(
        org,
        [{"type": "t_explode", "params": {}}, {"type": "t_tag", "params": {"name": "after"}}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        make_ticket(org, subject="Help")
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.outcome == Outcome.PARTIAL
    assert [a["ok"] for a in run.actions] == [False, True]
    assert run.actions[0]["error"] == "boom"
    assert stand_ins == ["after"]


def test_workflows_do_not_react_to_their_own_changes(org, stand_ins) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(org, subject="Help", body=None)
    workflow = Workflow.objects.create(
        organization=org,
        name="On tag",
        description="x",
        enabled=True,
        trigger="event",
        conditions={"all": [{"field": "t_subject", "op": "is", "value": "Help"}]},
        actions=[{"type": "t_tag", "params": {"name": "loop"}}],
    )
    from tickets.provenance import Acting, acting_as

    with acting_as(Acting(workflow_id=workflow.pk, label="x", reason="y", depth=1)):
        ticket_add_tag(actor=None, ticket=ticket, tag=tag_get_or_create(organization=org, name="a"))
    event = Event.objects.get(ticket=ticket, name="tag.added", payload__tag__isnull=False)
    assert event.payload["by_workflow"] == workflow.pk
    assert stand_ins == []


def test_the_timeline_links_a_workflows_event_to_its_run_log_for_managers(  # type: ignore[no-untyped-def]
    org, manager, agent, client_for, stand_ins, django_capture_on_commit_callbacks
) -> None:
    workflow = _workflow(org, [{"type": "t_tag", "params": {"name": "linked"}}])
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(org, subject="Help")
    system = Message.objects.filter(ticket=ticket, kind=MessageKind.SYSTEM).get()
    assert system.metadata["workflow_id"] == workflow.pk
    link = f'href="/app/acme/manage/workflows/{workflow.pk}/runs/"'
    assert link in client_for(manager).get(f"/app/acme/tickets/{ticket.number}/").content.decode()
    assert link not in client_for(agent).get(f"/app/acme/tickets/{ticket.number}/").content.decode()
