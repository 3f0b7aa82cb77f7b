""" "Test against recent tickets": which of the latest tickets would match, why, and what would
be done, for a saved or an unsaved workflow, without changing anything."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from automations.models import Event, Workflow, WorkflowRun
from automations.selectors import workflow_dry_run
from tests.tickets.factories import make_tag, make_ticket
from tickets.models import Message, Ticket, TicketTag

pytestmark = pytest.mark.django_db

BASE = "/app/acme/manage/workflows/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def _age(ticket: Ticket, hours: int) -> None:
    Ticket.objects.for_organization(ticket.organization_id).filter(pk=ticket.pk).update(
        created_at=timezone.now() - timedelta(hours=hours)
    )


def _snapshot(org: Any) -> tuple[Any, ...]:
    return (
        Message.objects.for_organization(org).count(),
        Event.objects.for_organization(org).count(),
        WorkflowRun.objects.for_organization(org).count(),
        Workflow.objects.for_organization(org).count(),
        TicketTag.objects.for_organization(org).count(),
        list(
            Ticket.objects.for_organization(org)
            .order_by("pk")
            .values_list("status", "priority", "assignee_id", "team_id", "updated_at")
        ),
        len(mail.outbox),
    )


REMINDER_FORM = {
    "name": "",
    "description": "",
    "cmd": "dry-run",
    "c-all-0-field": "reply_status",
    "c-all-0-op": "is",
    "c-all-0-value": "not_answered",
    "c-all-1-field": "ticket_created",
    "c-all-1-op": "more_than",
    "c-all-1-value": "24",
    "a-0-type": "send_message",
    "a-0-template": "Sorry for the wait, {customer_name}.",
    "a-1-type": "set_priority",
    "a-1-priority": "3",
    "a-2-type": "assign_tag",
    "a-2-tag_name": "waiting",
}


def test_the_unsaved_builder_lists_matches_without_acting(  # type: ignore[no-untyped-def]
    manager, client_for, django_capture_on_commit_callbacks
) -> None:
    org = manager.organization
    with django_capture_on_commit_callbacks(execute=True):
        old = make_ticket(org, subject="Old unanswered question")
        fresh = make_ticket(org, subject="Fresh question")
    _age(old, 30)
    before = _snapshot(org)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client_for(manager).post(f"{BASE}new/", REMINDER_FORM, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="dry-run"')
    assert "1 of the last 2 tickets would match." in html
    matches = html[html.index('id="dry-run-matches"') : html.index("</table>")]
    assert f"#{old.number} Old unanswered question" in matches
    assert "Fresh question" not in matches
    assert "not answered" in matches.lower()
    assert "would send" in matches and "would set the priority to Urgent" in matches
    assert "would add the tag waiting" in matches
    # Why the other one does not match.
    rest = html[html.index("would not match") :]
    assert f"#{fresh.number} Fresh question" in rest
    # Nothing happened.
    assert callbacks == []
    assert _snapshot(org) == before


def test_a_saved_workflow_is_tested_as_edited(manager, client_for) -> None:  # type: ignore[no-untyped-def]
    from automations import services

    org = manager.organization
    make_ticket(org, subject="Refund please")
    make_ticket(org, subject="Hello")
    workflow = services.workflow_create(
        actor=manager,
        name="Refunds",
        description="x",
        conditions={"all": [{"field": "subject", "op": "contains", "value": "hello"}]},
        actions=[{"type": "add_note", "params": {"body": "Refund asked"}}],
    )
    data = {
        "name": "Refunds",
        "description": "x",
        "cmd": "dry-run",
        "c-all-0-field": "subject",
        "c-all-0-op": "contains",
        "c-all-0-value": "refund",
    }
    html = client_for(manager).post(f"{BASE}{workflow.pk}/", data, **HTMX).content.decode()
    assert "1 of the last 2 tickets would match." in html
    assert "Refund please" in html[: html.index("would not match")]
    assert "no actions yet" in html
    workflow.refresh_from_db()
    assert workflow.conditions["all"][0]["value"] == "hello"


def test_invalid_conditions_redraw_the_form_with_errors(manager, client_for) -> None:  # type: ignore[no-untyped-def]
    data = {**REMINDER_FORM, "c-all-1-value": "soon"}
    response = client_for(manager).post(f"{BASE}new/", data, **HTMX)
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#workflow-form"
    html = response.content.decode()
    assert html.lstrip().startswith("<form") and "whole number of hours" in html


def test_without_javascript_the_results_come_with_the_page(manager, client_for) -> None:  # type: ignore[no-untyped-def]
    org = manager.organization
    old = make_ticket(org, subject="Old one")
    _age(old, 48)
    html = client_for(manager).post(f"{BASE}new/", REMINDER_FORM).content.decode()
    assert "<html" in html and 'id="dry-run-matches"' in html and "Old one" in html
    assert 'value="Sorry for the wait, {customer_name}."' not in html  # textarea, not input
    assert "Sorry for the wait, {customer_name}.</textarea>" in html


def test_only_the_latest_tickets_are_tested(manager) -> None:  # type: ignore[no-untyped-def]
    org = manager.organization
    tag = make_tag(org, "vip")
    tickets = [make_ticket(org, subject=f"T{i}", body=None) for i in range(3)]
    draft = Workflow(
        organization=org,
        name="x",
        description="x",
        conditions={"all": [{"field": "subject", "op": "contains", "value": "T"}], "any": []},
        actions=[{"type": "assign_tag", "params": {"tag": tag.pk, "tag_name": ""}}],
        trigger="event",
    )
    result = workflow_dry_run(actor=manager, workflow=draft, limit=2)
    assert result.checked == 2
    assert [row.ticket.pk for row in result.rows] == [tickets[2].pk, tickets[1].pk]
    assert all(row.matched for row in result.rows)
    assert result.rows[0].actions == [
        {"type": "assign_tag", "ok": True, "summary": "would add the tag vip"}
    ]
    assert not TicketTag.objects.for_organization(org).exists()
