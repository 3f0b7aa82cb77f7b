"""Set status, set priority, assign team, assign tag, add internal note, send email: through the
engine and directly, with their parameters checked against the organization."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from automations.engine.registry import ACTIONS, ActionSkipped
from automations.models import Outcome, WorkflowRun
from tests.automations.fakes import customer_with_email, run_action, workflow_with
from tests.factories import TeamFactory
from tests.tickets.factories import make_inbox, make_tag, make_ticket
from tickets.models import AuthorType, CustomStatus, Message, MessageKind, Priority, Status

pytestmark = pytest.mark.django_db


def _clean(key: str, org, params):  # type: ignore[no-untyped-def]
    kind = ACTIONS[key]
    assert kind.clean is not None
    return kind.clean(org, params)


def _describe(key: str, params) -> str:  # type: ignore[no-untyped-def]
    kind = ACTIONS[key]
    assert kind.describe is not None
    return kind.describe(params)


def test_several_ticket_actions_through_the_engine(  # type: ignore[no-untyped-def]
    org, django_capture_on_commit_callbacks
) -> None:
    team = TeamFactory(organization=org, name="Returns")
    vip = make_tag(org, "VIP")
    workflow = workflow_with(
        org,
        [
            {"type": "set_status", "params": {"status": "pending"}},
            {"type": "set_priority", "params": {"priority": Priority.URGENT}},
            {"type": "assign_team", "params": {"team": team.pk}},
            {"type": "assign_tag", "params": {"tag": vip.pk}},
            {"type": "assign_tag", "params": {"tag_name": "  follow   up "}},
            {"type": "add_note", "params": {"body": "Customer {customer_name} is VIP"}},
        ],
        name="Route VIPs",
    )
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(org, customer=customer_with_email(org))
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING
    assert ticket.priority == Priority.URGENT
    assert ticket.team == team
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["VIP", "follow up"]
    note = Message.objects.get(ticket=ticket, kind=MessageKind.NOTE)
    assert note.body_text == "Customer Jan Kowalski is VIP"
    assert note.author_type == AuthorType.AUTOMATION
    assert note.automation_label == "Workflow “Route VIPs”"
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.outcome == Outcome.DONE
    assert [a["summary"] for a in run.actions] == [
        "set the status to Pending",
        "set the priority to Urgent",
        "moved the ticket to team Returns",
        "added the tag VIP",
        "added the tag follow up",
        "added a note: “Customer Jan Kowalski is VIP”",
    ]
    # The timeline names the workflow on each change it made.
    labels = set(
        Message.objects.filter(ticket=ticket, kind=MessageKind.SYSTEM).values_list(
            "automation_label", flat=True
        )
    )
    assert labels == {"Workflow “Route VIPs”"}


def test_set_status_to_a_custom_status(org) -> None:  # type: ignore[no-untyped-def]
    waiting = CustomStatus.objects.create(
        organization=org, name="Waiting for parts", base_status=Status.PENDING
    )
    ticket = make_ticket(org)
    params = _clean("set_status", org, {"status": f"custom-{waiting.pk}"})
    assert params == {"status": f"custom-{waiting.pk}"}
    assert _describe("set_status", params) == "would set the status to Waiting for parts"
    assert run_action("set_status", ticket, params) == "set the status to Waiting for parts"
    ticket.refresh_from_db()
    assert (ticket.status, ticket.custom_status) == (Status.PENDING, waiting)
    assert run_action("set_status", ticket, params) == "the status was already Waiting for parts"
    assert _describe("set_status", {"status": "solved"}) == "would set the status to Solved"


def test_ids_of_another_organization_are_rejected(org, other_org, outsider) -> None:  # type: ignore[no-untyped-def]
    foreign_tag = make_tag(other_org, "Theirs")
    foreign_team = TeamFactory(organization=other_org)
    foreign_status = CustomStatus.objects.create(
        organization=other_org, name="Theirs", base_status=Status.OPEN
    )
    cases = [
        ("assign_tag", {"tag": foreign_tag.pk}, "tag"),
        ("assign_team", {"team": foreign_team.pk}, "team"),
        ("set_status", {"status": f"custom-{foreign_status.pk}"}, "status"),
        ("assign_agent", {"agent": outsider.user.pk}, "agent"),
        ("set_status", {"status": "nonsense"}, "status"),
        ("set_priority", {"priority": 9}, "priority"),
        ("assign_tag", {}, "tag"),
    ]
    for key, params, field in cases:
        with pytest.raises(ValidationError) as error:
            _clean(key, org, params)
        assert field in error.value.message_dict, key


def test_ids_are_looked_up_in_the_tickets_organization_when_running(org, other_org) -> None:  # type: ignore[no-untyped-def]
    """A stored workflow whose id went stale (or was tampered with) never reaches another
    organization's rows."""
    foreign_tag = make_tag(other_org, "Theirs")
    ticket = make_ticket(org)
    workflow = workflow_with(org, [{"type": "assign_tag", "params": {"tag": foreign_tag.pk}}])
    from automations.engine.context import context_for_ticket
    from automations.engine.evaluate import compiled_from, workflow_run

    run = workflow_run(
        compiled_from(workflow), context_for_ticket(ticket), period_at=ticket.created_at
    )
    assert run is not None and run.outcome == Outcome.FAILED
    assert run.actions[0]["error"] == "that tag no longer exists"
    assert not ticket.tags.exists()


def test_send_email_goes_to_the_fixed_address_after_commit(  # type: ignore[no-untyped-def]
    org, django_capture_on_commit_callbacks
) -> None:
    workflow_with(
        org,
        [
            {
                "type": "send_email",
                "params": {
                    "to": "Boss@Acme.example",
                    "subject": "New ticket {ticket_number} from {customer_name}",
                    "body": "Have a look.",
                },
            }
        ],
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ticket = make_ticket(org, customer=customer_with_email(org))
        assert mail.outbox == []  # nothing leaves before the commit
    assert callbacks
    [sent] = mail.outbox
    assert sent.to == ["boss@acme.example"]
    assert sent.subject == f"New ticket {ticket.number} from Jan Kowalski"
    assert sent.body == "Have a look."
    assert sent.extra_headers["Auto-Submitted"] == "auto-generated"
    assert "Acme Ltd" in sent.from_email


def test_send_email_never_writes_to_the_customer_or_an_inbox(org) -> None:  # type: ignore[no-untyped-def]
    team = TeamFactory(organization=org)
    make_inbox(org, team, address="support@acme.example")
    with pytest.raises(ValidationError) as error:
        _clean("send_email", org, {"to": "support@acme.example", "subject": "s", "body": "b"})
    assert "to" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        _clean("send_email", org, {"to": "not an address", "subject": "s", "body": "b"})
    assert "to" in error.value.message_dict
    ticket = make_ticket(org, customer=customer_with_email(org))
    with pytest.raises(ActionSkipped, match="customer's address"):
        run_action("send_email", ticket, {"to": "JAN@example.com", "subject": "s", "body": "b"})
    assert mail.outbox == []
    assert _describe("send_email", {"to": "boss@acme.example", "subject": "New VIP"}) == (
        "would email boss@acme.example: “New VIP”"
    )
