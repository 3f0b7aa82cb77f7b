"""The limits every message-sending action goes through."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from automations.engine.registry import ActionSkipped
from automations.models import AutomationSettings
from automations.safety import (
    automated_message_check,
    automated_messages_last_hour,
    automation_settings_for,
)
from tests.automations.fakes import customer_with_email, run_action
from tests.tickets.factories import make_ticket
from tickets.models import Channel
from tickets.services.messages import InboundMessage, message_receive

pytestmark = pytest.mark.django_db


def test_settings_are_created_once_with_the_defaults(org, other_org) -> None:  # type: ignore[no-untyped-def]
    first = automation_settings_for(org)
    assert automation_settings_for(org.pk) == first
    assert first.max_automated_per_ticket_per_hour == 5 and not first.ai_enabled
    assert automation_settings_for(other_org) != first
    assert AutomationSettings.objects.for_organization(org).count() == 1


def test_the_cap_counts_the_last_hour_only(org) -> None:  # type: ignore[no-untyped-def]
    AutomationSettings.objects.create(organization=org, max_automated_per_ticket_per_hour=2)
    ticket = make_ticket(org, customer=customer_with_email(org))
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        run_action("send_message", ticket, {"template": "one"})
        run_action("send_message", ticket, {"template": "two"})
        with pytest.raises(ActionSkipped):
            automated_message_check(ticket)
    with time_machine.travel(start + dt.timedelta(minutes=61), tick=False):
        assert automated_messages_last_hour(ticket) == 0
        automated_message_check(ticket)  # allowed again


def test_an_automated_sender_is_never_answered_until_a_person_writes(org) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(org, customer=customer_with_email(org))
    message_receive(
        ticket=ticket,
        customer=ticket.customer,
        inbound=InboundMessage(channel=Channel.EMAIL, body_text="auto", sender_is_automated=True),
    )
    with pytest.raises(ActionSkipped, match="automated sender"):
        run_action("send_message", ticket, {"template": "Thanks"})
    message_receive(
        ticket=ticket,
        customer=ticket.customer,
        inbound=InboundMessage(channel=Channel.EMAIL, body_text="me again, a person"),
    )
    assert run_action("send_message", ticket, {"template": "Thanks"}) == "sent “Thanks”"
