"""Send translated message and AI message against fake LibreTranslate and OpenAI servers on
loopback: the right language or no message at all; placeholders survive translation; the AI
gets the instruction and the conversation, and its answer goes out as an automated message."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from automations.engine.registry import ACTIONS, ActionError, ActionSkipped
from automations.models import Outcome, WorkflowRun
from automations.safety import automation_settings_for
from tests.automations.fakes import (
    customer_with_email,
    fake_server,
    libretranslate,
    openai_chat,
    run_action,
    workflow_with,
)
from tests.factories import TeamFactory
from tests.tickets.factories import make_ticket
from tickets.models import Message, MessageKind
from tickets.services.messages import message_send, note_add

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _loopback_allowed(settings: Any) -> None:
    settings.AUTOMATION_WEBHOOK_ALLOW_PRIVATE = True


def _configure(org, **fields: Any) -> None:  # type: ignore[no-untyped-def]
    row = automation_settings_for(org)
    for key, value in fields.items():
        setattr(row, key, value)
    row.save()


def _bodies(ticket) -> list[str]:  # type: ignore[no-untyped-def]
    return list(
        Message.objects.filter(ticket=ticket, kind=MessageKind.AUTOMATED).values_list(
            "body_text", flat=True
        )
    )


TEMPLATE = "Hello {customer_name}, we got ticket {ticket_number}."


# --- translated message ----------------------------------------------------------------------


def test_a_written_translation_for_the_customers_language_is_used(org) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(org, customer=customer_with_email(org, language="pl"))
    summary = run_action(
        "send_translated_message",
        ticket,
        {
            "template": TEMPLATE,
            "language": "customer",
            "translations": {"pl": "Dzień dobry {customer_name}, zgłoszenie {ticket_number}."},
        },
    )
    assert _bodies(ticket) == [f"Dzień dobry Jan Kowalski, zgłoszenie {ticket.number}."]
    assert "Polish" in summary and "written translation" in summary


def test_the_translation_service_translates_with_placeholders_protected(org) -> None:  # type: ignore[no-untyped-def]
    with fake_server(libretranslate(api_key="k3y")) as server:
        _configure(org, translate_url=server.url + "/", translate_api_key="k3y")
        ticket = make_ticket(org, customer=customer_with_email(org, language="de"))
        summary = run_action(
            "send_translated_message", ticket, {"template": TEMPLATE, "language": "customer"}
        )
    [request] = server.requests
    assert request.json() == {
        "q": "Hello {0}, we got ticket {1}.",
        "source": "en",
        "target": "de",
        "format": "text",
        "api_key": "k3y",
    }
    assert _bodies(ticket) == [f"[de] Hello Jan Kowalski, we got ticket {ticket.number}."]
    assert "translation service" in summary


def test_a_translation_that_loses_a_placeholder_is_not_sent(org) -> None:  # type: ignore[no-untyped-def]
    with fake_server(libretranslate(lambda q, s, t: "Hallo, wir haben es.")) as server:
        _configure(org, translate_url=server.url)
        ticket = make_ticket(org, customer=customer_with_email(org))
        with pytest.raises(ActionError, match="lost the placeholder"):
            run_action("send_translated_message", ticket, {"template": TEMPLATE, "language": "de"})
    assert _bodies(ticket) == []


def test_without_a_variant_or_a_service_the_run_fails_clearly(  # type: ignore[no-untyped-def]
    org, django_capture_on_commit_callbacks
) -> None:
    workflow = workflow_with(
        org,
        [
            {
                "type": "send_translated_message",
                "params": {"template": TEMPLATE, "language": "it", "translations": {}},
            }
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(org, customer=customer_with_email(org))
    assert _bodies(ticket) == []
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.outcome == Outcome.FAILED
    assert run.actions[0]["error"] == (
        "not sent: no translation for Italian and no translation service configured"
    )


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (libretranslate(status=500), "answered 500: Slow down"),
        (libretranslate(api_key="right"), "answered 403: Invalid API key"),
        (libretranslate(delay=1.5), "did not answer within 0.5 seconds"),
    ],
)
def test_service_errors_send_nothing(org, settings, handler, expected) -> None:  # type: ignore[no-untyped-def]
    settings.AUTOMATION_TRANSLATE_TIMEOUT_SECONDS = 0.5
    with fake_server(handler) as server:
        _configure(org, translate_url=server.url, translate_api_key="wrong")
        ticket = make_ticket(org, customer=customer_with_email(org))
        with pytest.raises(ActionError, match=expected):
            run_action("send_translated_message", ticket, {"template": TEMPLATE, "language": "fr"})
    assert _bodies(ticket) == []


def test_the_language_falls_back_to_the_organizations_and_same_language_is_not_translated(  # type: ignore[no-untyped-def]
    org,
) -> None:
    org.default_language = "fr"
    org.save()
    ticket = make_ticket(org, customer=customer_with_email(org, language=""))
    run_action(
        "send_translated_message",
        ticket,
        {"template": "Bonjour {customer_name}", "language": "customer", "source_language": ""},
    )
    assert _bodies(ticket) == ["Bonjour Jan Kowalski"]


def test_the_service_is_not_called_when_the_cap_is_reached(org) -> None:  # type: ignore[no-untyped-def]
    with fake_server(libretranslate()) as server:
        _configure(org, translate_url=server.url, max_automated_per_ticket_per_hour=0)
        ticket = make_ticket(org, customer=customer_with_email(org))
        with pytest.raises(ActionSkipped):
            run_action("send_translated_message", ticket, {"template": TEMPLATE, "language": "pl"})
    assert server.requests == []


def test_translated_clean_and_describe(org) -> None:  # type: ignore[no-untyped-def]
    kind = ACTIONS["send_translated_message"]
    assert kind.clean is not None and kind.describe is not None
    with pytest.raises(ValidationError) as error:
        kind.clean(org, {"template": "x", "language": "klingon"})
    assert "language" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        kind.clean(org, {"template": "x", "language": "pl", "translations": {"xx": "y"}})
    assert "translations" in error.value.message_dict
    cleaned = kind.clean(
        org, {"template": "Hi", "language": "PL", "translations": {"de": " Hallo ", "fr": ""}}
    )
    assert cleaned == {
        "template": "Hi",
        "language": "pl",
        "source_language": "",
        "translations": {"de": "Hallo"},
    }
    assert kind.describe(cleaned) == "would send “Hi” in Polish"
    assert kind.describe({"template": "Hi", "language": "customer"}) == (
        "would send “Hi” in the customer's language"
    )


# --- AI message ------------------------------------------------------------------------------


def test_ai_message_is_off_by_default(org) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(org, customer=customer_with_email(org))
    with pytest.raises(ActionError, match="turned off"):
        run_action("ai_message", ticket, {"instruction": "Be nice"})
    _configure(org, ai_enabled=True)
    with pytest.raises(ActionError, match="no AI endpoint or model"):
        run_action("ai_message", ticket, {"instruction": "Be nice"})
    assert ACTIONS["ai_message"].experimental


def test_ai_message_sends_the_models_answer_with_the_conversation(org, agent) -> None:  # type: ignore[no-untyped-def]
    team = TeamFactory(organization=org, name="Returns", display_name="Acme Returns")
    with fake_server(openai_chat("We will refund you today.")) as server:
        _configure(
            org,
            ai_enabled=True,
            ai_base_url=server.url + "/v1",
            ai_api_key="sk-test",
            ai_model="small-model",
        )
        ticket = make_ticket(
            org, customer=customer_with_email(org), team=team, body="Where is my refund?"
        )
        message_send(ticket=ticket, body_text="Checking.", actor=agent)
        note_add(actor=agent, ticket=ticket, body_text="secret note")
        summary = run_action(
            "ai_message", ticket, {"instruction": "Answer refund questions kindly."}
        )
    [request] = server.requests
    body = request.json()
    assert body["model"] == "small-model"
    system, *rest = body["messages"]
    assert system["role"] == "system"
    assert system["content"].startswith("Answer refund questions kindly.")
    assert "Acme Ltd" in system["content"] and "Acme Returns" in system["content"]
    assert rest == [
        {"role": "user", "content": "Where is my refund?"},
        {"role": "assistant", "content": "Checking."},
    ]
    assert _bodies(ticket) == ["We will refund you today."]
    assert summary == "sent an AI-written reply: “We will refund you today.”"


def test_ai_message_sends_only_the_last_ten_messages(org) -> None:  # type: ignore[no-untyped-def]
    from tickets.models import Channel
    from tickets.services.messages import InboundMessage, message_receive

    with fake_server(openai_chat()) as server:
        _configure(org, ai_enabled=True, ai_base_url=server.url + "/v1", ai_api_key="sk-test")
        _configure(org, ai_model="m")
        ticket = make_ticket(org, customer=customer_with_email(org), body="message 0")
        for index in range(1, 13):
            message_receive(
                ticket=ticket,
                customer=ticket.customer,
                inbound=InboundMessage(channel=Channel.EMAIL, body_text=f"message {index}"),
            )
        run_action("ai_message", ticket, {"instruction": "Reply."})
    contents = [m["content"] for m in server.requests[0].json()["messages"][1:]]
    assert contents == [f"message {index}" for index in range(3, 13)]


@pytest.mark.parametrize(
    ("handler", "key", "expected"),
    [
        (openai_chat(), "sk-wrong", "answered 401: Incorrect API key provided."),
        (openai_chat(status=503), "sk-test", "answered 503: The server is overloaded."),
        (openai_chat(delay=1.5), "sk-test", "did not answer within 0.5 seconds"),
    ],
)
def test_ai_errors_send_nothing(org, settings, handler, key, expected) -> None:  # type: ignore[no-untyped-def]
    settings.AUTOMATION_AI_TIMEOUT_SECONDS = 0.5
    with fake_server(handler) as server:
        _configure(
            org, ai_enabled=True, ai_base_url=server.url + "/v1", ai_api_key=key, ai_model="m"
        )
        ticket = make_ticket(org, customer=customer_with_email(org))
        with pytest.raises(ActionError, match=expected):
            run_action("ai_message", ticket, {"instruction": "Reply."})
    assert _bodies(ticket) == []
