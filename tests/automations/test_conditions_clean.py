"""Values are validated and normalised before a workflow is saved: each kind's ``clean``
(shape) and ``conditions_clean`` (the organization's own tags, inboxes, accounts, …)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from automations.conditions import condition_row_clean, conditions_clean
from automations.engine.registry import CONDITIONS
from tests.automations.test_conditions_support import World, make_world
from tests.factories import MembershipFactory, UserFactory
from tests.tickets.factories import make_tag
from tickets.models import CustomTicketType

pytestmark = pytest.mark.django_db


def clean(key: str, op: str, value: Any) -> Any:
    kind = CONDITIONS[key]
    assert kind.clean is not None
    return kind.clean(op, value)


@pytest.mark.parametrize(
    ("key", "op", "value", "expected"),
    [
        ("source", "is", "email", ["email"]),
        ("source", "is_not", ["sms", "email", "sms"], ["sms", "email"]),
        ("weekday", "is", ["6", 0, 0], [0, 6]),
        (
            "email",
            "is",
            "A@X.example, b@y.example;c@z.example",
            ["a@x.example", "b@y.example", "c@z.example"],
        ),
        ("email", "is_not", ["Only@One.example"], ["only@one.example"]),
        ("email", "contains", "  @Shop.Example ", "@shop.example"),
        ("subject", "contains", "  money   back ", "money back"),
        ("customer_name", "not_contains", "Bot", "Bot"),
        ("message_text", "contains", "refund", "refund"),
        ("hour", "between", {"from": "9:00", "to": "17:30"}, {"from": "09:00", "to": "17:30"}),
        ("hour", "not_between", ["22:00", "06:00"], {"from": "22:00", "to": "06:00"}),
        ("integration", "is", "7", 7),
        ("integration", "is_not", [7], 7),
        ("marketplace", "is", [3, 4], [3, 4]),
        ("new_ticket", "is", None, None),
        ("new_message", "is", "", None),
        ("action", "is", "first_customer_message", "first_customer_message"),
        ("tag_added", "is", [5], 5),
        ("status_set", "is_not", "solved", "solved"),
        ("last_customer_reply", "more_than", "24", 24),
        ("ticket_created", "less_than", 2.0, 2),
        ("reply_status", "is", "answered", "answered"),
        ("ticket_status", "is", "open", ["open"]),
        ("inbox", "is", 3, [3]),
        ("inbox_group", "is_not", ["3", 4], [3, 4]),
        ("ticket_type", "is", ["return", "warranty-claim"], ["return", "warranty-claim"]),
        ("tag", "is", [1, "2"], [1, 2]),
        ("working_hours", "inside", {"team": "4"}, {"team": 4}),
        ("working_hours", "outside", {"user": 9}, {"user": 9}),
        ("working_hours", "outside", {"ticket_team": True}, {"ticket_team": True}),
    ],
)
def test_clean_normalises(key: str, op: str, value: Any, expected: Any) -> None:
    assert clean(key, op, value) == expected


@pytest.mark.parametrize(
    ("key", "op", "value", "message"),
    [
        ("source", "is", [], "Choose at least one value."),
        ("source", "is", ["fax"], "“fax” is not one of the choices."),
        ("weekday", "is", [], "Choose at least one day."),
        ("weekday", "is", [7], "Choose days of the week."),
        ("weekday", "is", ["monday"], "Choose days of the week."),
        ("email", "is", "", "Enter at least one email address."),
        (
            "email",
            "is",
            "jan@shop.example, not-an-address",
            "“not-an-address” is not a valid email address.",
        ),
        ("email", "contains", "   ", "Enter a phrase."),
        ("subject", "contains", "", "Enter a phrase."),
        ("subject", "contains", "x" * 201, "Enter at most 200 characters."),
        ("customer_name", "contains", None, "Enter a phrase."),
        ("message_text", "not_contains", 12, "Enter a phrase."),
        (
            "hour",
            "between",
            {"from": "25:00", "to": "06:00"},
            "Enter a time as HH:MM, e.g. 09:00 or 17:30.",
        ),
        ("hour", "between", {"from": "08:00"}, "Enter a time as HH:MM, e.g. 09:00 or 17:30."),
        (
            "hour",
            "between",
            {"from": "08:00", "to": "8:00"},
            "The start and the end time must differ.",
        ),
        ("hour", "between", "08:00-09:00", "Enter a start and an end time."),
        ("integration", "is", None, "Choose a value."),
        ("integration", "is", "abc", "Choose a valid value."),
        ("integration", "is", -3, "Choose a valid value."),
        ("new_ticket", "is", "yes please", "This condition takes no value."),
        ("action", "is", "every_return", "“every_return” is not one of the choices."),
        ("action", "is", None, "Choose a value."),
        ("tag_added", "is", [1, 2], "Choose one value."),
        ("tag_added", "is", True, "Choose a valid value."),
        ("status_set", "is", "reopened", "“reopened” is not one of the choices."),
        ("last_customer_reply", "more_than", "", "Enter a number of hours."),
        ("last_customer_reply", "more_than", "a day", "Enter a whole number of hours."),
        ("ticket_created", "more_than", 1.5, "Enter a whole number of hours."),
        ("ticket_created", "more_than", 0, "Enter a number of hours between 1 and 8760."),
        ("ticket_created", "less_than", 9000, "Enter a number of hours between 1 and 8760."),
        ("reply_status", "is", "maybe", "“maybe” is not one of the choices."),
        ("reply_status", "is", ["answered", "not_answered"], "Choose one value."),
        ("ticket_status", "is", ["open", "archived"], "“archived” is not one of the choices."),
        ("inbox", "is", [], "Choose at least one value."),
        ("inbox_group", "is", ["x"], "Choose a valid value."),
        ("ticket_type", "is", [], "Choose at least one ticket type."),
        ("ticket_type", "is", ["no spaces please"], "“no spaces please” is not a ticket type."),
        ("tag", "is_not", [0], "Choose a valid value."),
        ("working_hours", "inside", {}, "Choose an agent or a team."),
        ("working_hours", "inside", {"team": 1, "user": 2}, "Choose an agent or a team."),
        ("working_hours", "inside", 5, "Choose an agent or a team."),
        ("working_hours", "inside", {"team": "x"}, "Choose a valid value."),
    ],
)
def test_clean_rejects_bad_values(key: str, op: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        clean(key, op, value)
    assert raised.value.messages == [message]


# --- against the organization -----------------------------------------------------------------


@pytest.fixture
def both(org, other_org) -> tuple[World, World]:  # type: ignore[no-untyped-def]
    return make_world(org), make_world(other_org)


def row(key: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": key, "op": op, "value": value}


def test_references_of_the_organization_pass(both: tuple[World, World]) -> None:
    mine, _theirs = both
    CustomTicketType.objects.create(organization=mine.org, key="warranty", name="Warranty")
    spec = {
        "all": [
            row("integration", "is", [mine.integration.pk]),
            row("marketplace", "is_not", mine.marketplace.pk),
            row("inbox", "is", [mine.inbox_a.pk, mine.inbox_b.pk]),
            row("inbox_group", "is", [mine.group.pk]),
            row("tag", "is", [mine.tag_a.pk]),
            row("ticket_type", "is", ["return", "warranty"]),
            row("working_hours", "inside", {"team": mine.team.pk}),
        ],
        "any": [
            [
                row("tag_added", "is", mine.tag_b.pk),
                row("working_hours", "outside", {"user": mine.agent.user_id}),
            ],
            [],
        ],
    }
    cleaned = conditions_clean(mine.org, spec)
    assert cleaned["all"][1] == row("marketplace", "is_not", mine.marketplace.pk)
    assert cleaned["all"][0]["value"] == mine.integration.pk
    assert len(cleaned["any"]) == 1  # the empty group is dropped


@pytest.mark.parametrize(
    ("key", "op", "value", "message"),
    [
        (
            "integration",
            "is",
            "integration",
            "Integration: Choose an integration account of this organization.",
        ),
        (
            "marketplace",
            "is",
            "marketplace",
            "Marketplace account: Choose a marketplace account of this organization.",
        ),
        ("inbox", "is", ["inbox_a"], "Inbox: Choose inboxes of this organization."),
        ("inbox_group", "is", ["group"], "Inbox group: Choose inbox groups of this organization."),
        ("tag_added", "is", "tag_a", "Tag assigned: Choose a tag of this organization."),
        ("tag", "is", ["tag_a"], "Ticket has tag: Choose tags of this organization."),
        (
            "working_hours",
            "inside",
            {"team": "team"},
            "Working hours: Choose an agent or a team of this organization.",
        ),
        (
            "working_hours",
            "inside",
            {"user": "agent"},
            "Working hours: Choose an agent or a team of this organization.",
        ),
    ],
)
def test_references_of_another_organization_are_refused(
    both: tuple[World, World], key: str, op: str, value: Any, message: str
) -> None:
    mine, theirs = both

    def resolve(item: Any) -> Any:
        if isinstance(item, list):
            return [resolve(i) for i in item]
        if isinstance(item, dict):
            return {k: resolve(v) for k, v in item.items()}
        if item == "agent":
            return theirs.agent.user_id
        return getattr(theirs, item).pk if isinstance(item, str) else item

    with pytest.raises(ValidationError) as raised:
        condition_row_clean(mine.org, row(key, op, resolve(value)))
    assert raised.value.messages == [message]


def test_account_kinds_are_not_interchangeable(both: tuple[World, World]) -> None:
    mine, _theirs = both
    with pytest.raises(ValidationError):
        condition_row_clean(mine.org, row("marketplace", "is", mine.integration.pk))
    with pytest.raises(ValidationError):
        condition_row_clean(mine.org, row("integration", "is", mine.marketplace.pk))


def test_unknown_custom_type_and_non_member_agent_are_refused(org) -> None:  # type: ignore[no-untyped-def]
    CustomTicketType.objects.create(organization=org, key="warranty", name="Warranty")
    assert condition_row_clean(org, row("ticket_type", "is", ["warranty"]))["value"] == ["warranty"]
    with pytest.raises(ValidationError):
        condition_row_clean(org, row("ticket_type", "is", ["warranty", "repair"]))
    stranger = UserFactory(email="stranger@example.com")
    with pytest.raises(ValidationError):
        condition_row_clean(org, row("working_hours", "inside", {"user": stranger.pk}))
    MembershipFactory(organization=org, user=stranger)
    assert condition_row_clean(org, row("working_hours", "inside", {"user": stranger.pk}))


def test_rows_and_operators_must_be_known(org) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as raised:
        conditions_clean(
            org,
            {
                "all": [
                    row("telepathy", "is", 1),
                    row("subject", "is", "x"),
                    row("subject", "contains", ""),
                ]
            },
        )
    assert raised.value.messages == [
        "Choose a condition.",
        "Subject contains: choose an operator.",
        "Subject contains: Enter a phrase.",
    ]
    with pytest.raises(ValidationError):
        conditions_clean(org, ["not", "a", "dict"])
    assert conditions_clean(org, None) == {"all": [], "any": []}


def test_trigger_conditions_that_never_meet_are_refused(org) -> None:  # type: ignore[no-untyped-def]
    tag = make_tag(org, "vip")
    never = {"all": [row("tag_added", "is", tag.pk), row("status_set", "is", "solved")]}
    with pytest.raises(ValidationError) as raised:
        conditions_clean(org, never)
    assert "can never happen at the same time" in raised.value.messages[0]
    # The same two in an ANY group: either event may run the workflow.
    either = {"any": [[row("tag_added", "is", tag.pk), row("status_set", "is", "solved")]]}
    assert conditions_clean(org, either)["any"][0][1]["value"] == "solved"
