"""ALL conditions and ANY groups: every ALL row must hold, and at least one row of every ANY
group; empty groups are ignored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from automations.engine import evaluate
from automations.engine.evaluate import compiled_from, conditions_evaluate
from automations.engine.registry import listens_to
from automations.models import Outcome, Workflow, WorkflowRun
from helpdesk.models import Organization
from tests.automations.test_conditions_support import (
    World,
    event_ctx,
    make_world,
    mark_action,
    timer_ctx,
    workflow,
)
from tests.tickets.factories import make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def marks() -> Iterator[list[int]]:
    with mark_action() as calls:
        yield calls


@pytest.fixture
def world(org: Organization) -> World:
    return make_world(org)


# On the world's "refund" ticket (an unanswered email from Zofia, subject "Refund for order
# 12", tagged VIP, 30 h old):
YES_SUBJECT = {"field": "subject", "op": "contains", "value": "refund"}
YES_SOURCE = {"field": "source", "op": "is", "value": ["email"]}
YES_REPLY = {"field": "reply_status", "op": "is", "value": "not_answered"}
NO_SUBJECT = {"field": "subject", "op": "contains", "value": "invoice"}
NO_SOURCE = {"field": "source", "op": "is", "value": ["chat"]}
NO_STATUS = {"field": "ticket_status", "op": "is", "value": ["closed"]}


@pytest.fixture(autouse=True)
def _no_compiled_cache() -> Iterator[None]:
    evaluate._cache.clear()
    yield
    evaluate._cache.clear()


def verdict(world: World, conditions: dict[str, Any]) -> evaluate.Verdict:
    unsaved = Workflow(organization=world.org, name="w", trigger="time", conditions=conditions)
    return conditions_evaluate(compiled_from(unsaved), timer_ctx(world.tickets["refund"]))


@pytest.mark.parametrize(
    ("conditions", "matched"),
    [
        # ALL only
        ({"all": [YES_SUBJECT, YES_SOURCE, YES_REPLY]}, True),
        ({"all": [YES_SUBJECT, NO_SOURCE, YES_REPLY]}, False),
        ({"all": [NO_SUBJECT]}, False),
        # ANY groups only
        ({"any": [[NO_SUBJECT, YES_SOURCE]]}, True),
        ({"any": [[NO_SUBJECT, NO_SOURCE, NO_STATUS]]}, False),
        ({"any": [[NO_SUBJECT, YES_SOURCE], [YES_REPLY, NO_STATUS]]}, True),
        ({"any": [[NO_SUBJECT, YES_SOURCE], [NO_SOURCE, NO_STATUS]]}, False),  # one group fails
        # both
        ({"all": [YES_SUBJECT], "any": [[NO_SOURCE, YES_REPLY]]}, True),
        ({"all": [YES_SUBJECT], "any": [[NO_SOURCE, NO_STATUS]]}, False),
        ({"all": [NO_SUBJECT], "any": [[YES_SOURCE]]}, False),
        ({"all": [YES_SUBJECT, YES_SOURCE], "any": [[YES_REPLY], [NO_STATUS, YES_SUBJECT]]}, True),
        # empty groups are ignored
        ({"all": [YES_SUBJECT], "any": [[], [YES_SOURCE], []]}, True),
        ({"all": [NO_SUBJECT], "any": [[]]}, False),
        ({"all": [], "any": [[]]}, True),
        ({}, True),
    ],
)
def test_all_and_any(world: World, conditions: dict[str, Any], matched: bool) -> None:
    assert verdict(world, conditions).matched is matched


def test_the_reason_names_what_held_or_what_did_not(world: World) -> None:
    held = verdict(world, {"all": [YES_SUBJECT], "any": [[NO_SOURCE, YES_REPLY]]})
    assert held.reason == "subject contains “refund”; reply status is Not answered"
    failed_all = verdict(world, {"all": [YES_SUBJECT, NO_SOURCE]})
    assert failed_all.reason == "not met: source is Chat"
    failed_any = verdict(world, {"any": [[NO_SOURCE, NO_SUBJECT]]})
    assert failed_any.reason == "none of: source is Chat / subject contains “invoice”"
    assert verdict(world, {"any": [[]]}).reason == "no conditions"


def test_trigger_conditions_in_any_groups_listen_to_each_event(world: World) -> None:
    """An ANY group of trigger conditions runs on either event; in ALL they must all be the
    same event."""
    tagged_or_new = {
        "any": [
            [
                {"field": "tag_added", "op": "is", "value": world.tag_a.pk},
                {"field": "new_ticket", "op": "is", "value": None},
            ]
        ]
    }
    assert listens_to(tagged_or_new) == {"tag.added", "ticket.created"}
    unsaved = Workflow(organization=world.org, name="w", trigger="event", conditions=tagged_or_new)
    compiled = compiled_from(unsaved)
    ticket = world.tickets["refund"]
    assert conditions_evaluate(compiled, event_ctx(ticket, "tag.added")).matched
    assert conditions_evaluate(compiled, event_ctx(ticket, "ticket.created")).matched
    assert not conditions_evaluate(compiled, event_ctx(ticket, "message.received")).matched


def test_through_the_pipeline(  # type: ignore[no-untyped-def]
    org, marks: list[int], django_capture_on_commit_callbacks
) -> None:
    """ "Email or web form, AND (subject mentions a refund OR the message does)"."""
    wf = workflow(
        org,
        {
            "all": [{"field": "source", "op": "is", "value": ["email", "web_form"]}],
            "any": [
                [
                    {"field": "subject", "op": "contains", "value": "refund"},
                    {"field": "message_text", "op": "contains", "value": "refund"},
                ]
            ],
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        by_subject = make_ticket(org, subject="Refund please", body="hello")
        by_text = make_ticket(org, subject="Order 7", body="I would like a REFUND")
        neither = make_ticket(org, subject="Order 8", body="where is it?")
        sms = make_ticket(org, subject="Refund", body="refund", source="sms")
    assert marks == [by_subject.pk, by_text.pk]
    outcomes = dict(
        WorkflowRun.objects.for_organization(org)
        .filter(workflow=wf)
        .values_list("ticket_id", "outcome")
    )
    assert outcomes == {
        by_subject.pk: Outcome.DONE,
        by_text.pk: Outcome.DONE,
        neither.pk: Outcome.NOT_MATCHED,
        sms.pk: Outcome.NOT_MATCHED,
    }
