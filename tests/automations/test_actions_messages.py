"""Send message: placeholders, delivery on the ticket's channel, the per-ticket cap, no reply to
automated senders, and no loops (a workflow's own message triggers nothing)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from automations.engine.registry import ACTIONS, ActionSkipped
from automations.models import AutomationSettings, Event, Outcome, WorkflowRun
from automations.safety import automation_settings_for
from tests.automations.fakes import customer_with_email, run_action, workflow_with
from tests.factories import TeamFactory
from tests.tickets.factories import make_inbox, make_ticket
from tickets.models import Channel, DeliveryStatus, Message, MessageKind
from tickets.services.messages import InboundMessage, message_receive

pytestmark = pytest.mark.django_db

REPLY = {
    "type": "send_message",
    "params": {"template": "Hi {customer_name}, ticket {ticket_number} is with {team_name}."},
}


def _automated(ticket) -> list[Message]:  # type: ignore[no-untyped-def]
    return list(Message.objects.filter(ticket=ticket, kind=MessageKind.AUTOMATED))


def test_a_new_customer_message_gets_exactly_one_auto_reply_by_email(  # type: ignore[no-untyped-def]
    org, django_capture_on_commit_callbacks
) -> None:
    team = TeamFactory(organization=org, name="Service", display_name="Acme Service")
    inbox = make_inbox(org, team)
    workflow = workflow_with(org, [REPLY], name="Auto-reply")
    customer = customer_with_email(org)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(org, customer=customer, inbox=inbox, subject="Broken")

    [reply] = _automated(ticket)
    assert reply.body_text == f"Hi Jan Kowalski, ticket {ticket.number} is with Acme Service."
    assert reply.automation_label == "Workflow “Auto-reply”"
    assert reply.automation_reason  # why: the conditions that held
    assert reply.channel == Channel.EMAIL
    assert reply.delivery_status == DeliveryStatus.SENT
    [sent] = mail.outbox
    assert sent.to == ["jan@example.com"]
    assert sent.extra_headers["Auto-Submitted"] == "auto-replied"
    # The reply's own event ran no workflow: one run only, for the customer's message.
    sent_event = Event.objects.get(ticket=ticket, name="message.sent")
    assert sent_event.payload["automated"] is True
    assert sent_event.processed_at is not None
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.outcome == Outcome.DONE
    assert run.actions[0]["summary"].startswith("sent “Hi Jan Kowalski")


def test_the_reply_loop_stops_even_with_a_workflow_on_every_message(  # type: ignore[no-untyped-def]
    org, django_capture_on_commit_callbacks
) -> None:
    workflow_with(org, [REPLY], name="One")
    workflow_with(org, [REPLY], name="Two")
    customer = customer_with_email(org)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(org, customer=customer)
    # Each workflow answered the customer once; neither answered the other's reply.
    assert sorted(m.automation_label for m in _automated(ticket)) == [
        "Workflow “One”",
        "Workflow “Two”",
    ]
    assert WorkflowRun.objects.filter(ticket=ticket).count() == 2


def test_the_hourly_cap_per_ticket_skips_further_messages(  # type: ignore[no-untyped-def]
    org, django_capture_on_commit_callbacks
) -> None:
    settings_row = automation_settings_for(org)
    settings_row.max_automated_per_ticket_per_hour = 2
    settings_row.save()
    workflow = workflow_with(org, [REPLY])
    customer = customer_with_email(org)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(org, customer=customer)
        for text in ("again", "and again"):
            message_receive(
                ticket=ticket,
                customer=customer,
                inbound=InboundMessage(channel=Channel.EMAIL, body_text=text),
            )
    assert len(_automated(ticket)) == 2
    runs = list(WorkflowRun.objects.filter(workflow=workflow).order_by("id"))
    assert [r.outcome for r in runs] == [Outcome.DONE, Outcome.DONE, Outcome.SKIPPED]
    assert "2 automated messages in the last hour" in runs[-1].actions[0]["error"]
    assert runs[-1].actions[0]["skipped"] is True


def test_the_cap_directly(org) -> None:  # type: ignore[no-untyped-def]
    AutomationSettings.objects.create(organization=org, max_automated_per_ticket_per_hour=1)
    ticket = make_ticket(org, customer=customer_with_email(org))
    run_action("send_message", ticket, {"template": "one"})
    with pytest.raises(ActionSkipped, match="limit is 1"):
        run_action("send_message", ticket, {"template": "two"})
    assert [m.body_text for m in _automated(ticket)] == ["one"]


def test_no_automated_message_to_an_automated_sender(  # type: ignore[no-untyped-def]
    org, django_capture_on_commit_callbacks
) -> None:
    workflow = workflow_with(org, [REPLY])
    ticket = make_ticket(org, body=None, customer=customer_with_email(org))
    with django_capture_on_commit_callbacks(execute=True):
        message_receive(
            ticket=ticket,
            customer=ticket.customer,
            inbound=InboundMessage(
                channel=Channel.EMAIL,
                body_text="I am out of office",
                sender_is_automated=True,
                automated_reason="Auto-Submitted: auto-replied",
            ),
        )
    assert _automated(ticket) == []
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.outcome == Outcome.SKIPPED
    assert "automated sender" in run.actions[0]["error"]


def test_placeholders_cover_agent_and_company(org, agent) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(org, customer=customer_with_email(org), assignee=agent.user)
    summary = run_action(
        "send_message", ticket, {"template": "{agent_name} of {company_name}; {unknown} stays"}
    )
    [reply] = _automated(ticket)
    assert reply.body_text == "Alex Agent of Acme Ltd; {unknown} stays"
    assert summary == "sent “Alex Agent of Acme Ltd; {unknown} stays”"


def test_clean_and_describe() -> None:
    kind = ACTIONS["send_message"]
    with pytest.raises(ValidationError) as error:
        kind.clean(None, {"template": "   "})  # type: ignore[misc]
    assert "template" in error.value.message_dict
    assert kind.clean(None, {"template": " Thanks, we got it "}) == {  # type: ignore[misc]
        "template": "Thanks, we got it"
    }
    assert kind.describe({"template": "Thanks, we will answer within a day or two at most"}) == (  # type: ignore[misc]
        "would send “Thanks, we will answer within a day or…”"
    )
    assert kind.sends_message
