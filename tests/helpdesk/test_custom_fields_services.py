"""Custom field definitions (managers only) and validation of customers' values by type."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from helpdesk.models import CustomField, Membership, Organization
from helpdesk.selectors.custom_fields import (
    access_custom_field,
    custom_field_list,
    custom_field_values_display,
)
from helpdesk.services.custom_fields import (
    custom_field_create,
    custom_field_delete,
    custom_field_update,
    custom_field_values_clean,
)
from tests.factories import CustomFieldFactory

pytestmark = pytest.mark.django_db


def field_errors(error: ValidationError) -> dict[str, list[str]]:
    return {
        key: [str(m) for e in errs for m in e.messages] for key, errs in error.error_dict.items()
    }


# --- definitions ---------------------------------------------------------------------------


def test_manager_creates_fields_in_order(manager: Membership) -> None:
    first = custom_field_create(
        actor=manager, key="Customer-No", label=" Customer number ", field_type="text"
    )
    second = custom_field_create(
        actor=manager,
        key="plan",
        label="Plan",
        field_type="choice",
        choices=["Gold", " Silver ", "", "Gold"],
        show_in_chat=True,
    )
    assert (first.key, first.label, first.position) == ("customer-no", "Customer number", 0)
    assert (second.choices, second.show_in_chat, second.position) == (["Gold", "Silver"], True, 1)
    assert list(custom_field_list(organization=manager.organization)) == [first, second]
    assert list(custom_field_list(organization=manager.organization, chat_only=True)) == [second]


@pytest.mark.parametrize(
    ("kwargs", "errors"),
    [
        ({"key": "has space"}, {"key"}),
        ({"key": ""}, {"key"}),
        ({"key": "k" * 51}, {"key"}),
        ({"label": "  "}, {"label"}),
        ({"label": "x" * 101}, {"label"}),
        ({"field_type": "colour"}, {"field_type"}),
        ({"field_type": "choice"}, {"choices"}),
        ({"field_type": "text", "choices": ["a"]}, {"choices"}),
        ({"field_type": "choice", "choices": ["x" * 201]}, {"choices"}),
        ({"position": -1}, {"position"}),
    ],
)
def test_invalid_definitions_are_rejected(
    manager: Membership, kwargs: dict[str, Any], errors: set[str]
) -> None:
    given = {"key": "ok", "label": "OK", "field_type": "text", **kwargs}
    with pytest.raises(ValidationError) as caught:
        custom_field_create(actor=manager, **given)
    assert set(caught.value.error_dict) == errors
    assert not CustomField.objects.for_organization(manager.organization).exists()


def test_the_choice_error_messages(manager: Membership) -> None:
    with pytest.raises(ValidationError) as caught:
        custom_field_create(actor=manager, key="a", label="A", field_type="choice")
    assert field_errors(caught.value) == {"choices": ["A choice field needs at least one choice."]}
    with pytest.raises(ValidationError) as caught:
        custom_field_create(actor=manager, key="a", label="A", field_type="date", choices=["x"])
    assert field_errors(caught.value) == {"choices": ["Only choice fields have choices."]}


def test_key_is_unique_per_organization(manager: Membership, outsider: Membership) -> None:
    custom_field_create(actor=manager, key="plan", label="Plan", field_type="text")
    with pytest.raises(ValidationError) as caught:
        custom_field_create(actor=manager, key="PLAN", label="Other", field_type="number")
    assert field_errors(caught.value) == {
        "key": ["A custom field with the key “plan” already exists."]
    }
    # Another organization may use the same key.
    custom_field_create(actor=outsider, key="plan", label="Plan", field_type="text")


@pytest.mark.parametrize("role", ["agent", "viewer"])
def test_only_managers_change_definitions(
    role: str, request: pytest.FixtureRequest, org: Organization
) -> None:
    actor: Membership = request.getfixturevalue(role)
    field = CustomFieldFactory(organization=org, label="Before")
    with pytest.raises(PermissionDenied):
        custom_field_create(actor=actor, key="x", label="X", field_type="text")
    with pytest.raises(PermissionDenied):
        custom_field_update(actor=actor, field=field, label="After")
    with pytest.raises(PermissionDenied):
        custom_field_delete(actor=actor, field=field)
    field.refresh_from_db()
    assert field.label == "Before"
    assert CustomField.objects.for_organization(org).count() == 1


def test_admin_may_manage_too(admin: Membership) -> None:
    assert custom_field_create(actor=admin, key="x", label="X", field_type="text").pk


def test_outsider_cannot_change_another_organizations_definition(
    outsider: Membership, org: Organization
) -> None:
    field = CustomFieldFactory(organization=org, label="Before")
    with pytest.raises(PermissionDenied):
        custom_field_update(actor=outsider, field=field, label="HACKED")
    with pytest.raises(PermissionDenied):
        custom_field_delete(actor=outsider, field=field)
    field.refresh_from_db()
    assert field.label == "Before"


def test_access_custom_field_404s_across_organizations(
    manager: Membership, outsider: Membership, org: Organization
) -> None:
    from django.http import Http404

    field = CustomFieldFactory(organization=org)
    assert access_custom_field(actor=manager, field_id=field.pk) == field
    with pytest.raises(Http404):
        access_custom_field(actor=outsider, field_id=field.pk)


def test_update_changes_label_choices_flag_and_position(manager: Membership) -> None:
    field = custom_field_create(
        actor=manager, key="plan", label="Plan", field_type="choice", choices=["A"]
    )
    custom_field_update(
        actor=manager,
        field=field,
        label="Tier",
        choices=["A", "B"],
        show_in_chat=True,
        position=9,
    )
    field.refresh_from_db()
    assert (field.label, field.choices, field.show_in_chat, field.position) == (
        "Tier",
        ["A", "B"],
        True,
        9,
    )
    assert (field.key, field.field_type) == ("plan", "choice")

    with pytest.raises(ValidationError) as caught:
        custom_field_update(actor=manager, field=field, choices=[])
    assert set(caught.value.error_dict) == {"choices"}
    field.refresh_from_db()
    assert field.choices == ["A", "B"]


def test_delete_leaves_values_stored_but_unshown(manager: Membership, org: Organization) -> None:
    field = CustomFieldFactory(organization=org, key="plan", label="Plan")
    keep = CustomFieldFactory(organization=org, key="size", label="Size", field_type="number")
    values = {"plan": "Gold", "size": "3"}

    custom_field_delete(actor=manager, field=field)

    fields = custom_field_list(organization=org)
    shown = custom_field_values_display(fields=fields, values=values)
    assert [(item.field, item.value) for item in shown] == [(keep, Decimal("3"))]
    assert not CustomField.objects.for_organization(org).filter(key="plan").exists()


# --- values --------------------------------------------------------------------------------


@pytest.fixture
def fields(org: Organization) -> dict[str, CustomField]:
    return {
        "text": CustomFieldFactory(organization=org, key="note", field_type="text"),
        "number": CustomFieldFactory(organization=org, key="seats", field_type="number"),
        "date": CustomFieldFactory(organization=org, key="renewal", field_type="date"),
        "choice": CustomFieldFactory(
            organization=org, key="plan", field_type="choice", choices=["Gold", "Silver"]
        ),
        "boolean": CustomFieldFactory(organization=org, key="vip", field_type="boolean"),
    }


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        ("note", "  hello  ", "hello"),
        ("note", "x" * 1000, "x" * 1000),
        ("note", 42, "42"),
        ("seats", "12", "12"),
        ("seats", " -3.50 ", "-3.50"),
        ("seats", "1e3", "1000"),
        ("seats", 7, "7"),
        ("seats", 2.5, "2.5"),
        ("seats", Decimal("0.10"), "0.10"),
        ("seats", "-0", "0"),
        ("renewal", "2024-02-29", "2024-02-29"),
        ("renewal", dt.date(2024, 5, 31), "2024-05-31"),
        ("plan", "Gold", "Gold"),
        ("plan", " Silver ", "Silver"),
        ("vip", True, True),
        ("vip", False, False),
        ("vip", "true", True),
        ("vip", "FALSE", False),
    ],
)
def test_valid_values_are_stored_in_one_form(
    org: Organization, fields: dict[str, CustomField], key: str, value: object, stored: object
) -> None:
    assert custom_field_values_clean(organization=org, values={key: value}) == {key: stored}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("note", "x" * 1001, "Keep it to 1000 characters or fewer."),
        ("note", ["a"], "Enter text."),
        ("note", True, "Enter text."),
        ("seats", "twelve", "“twelve” is not a number."),
        ("seats", "12,5", "“12,5” is not a number."),
        ("seats", "NaN", "“NaN” is not a number."),
        ("seats", "Infinity", "“Infinity” is not a number."),
        ("seats", True, "“True” is not a number."),
        ("seats", "1e999999", "“1e999999” has too many digits."),
        ("renewal", "31/05/2024", "“31/05/2024” is not a date in the form yyyy-mm-dd."),
        ("renewal", "2023-02-29", "“2023-02-29” is not a date in the form yyyy-mm-dd."),
        ("renewal", "20240531", "“20240531” is not a date in the form yyyy-mm-dd."),
        ("renewal", 20240531, "“20240531” is not a date in the form yyyy-mm-dd."),
        (
            "renewal",
            dt.datetime(2024, 5, 31, 12, 0),
            "“2024-05-31 12:00:00” is not a date in the form yyyy-mm-dd.",
        ),
        ("plan", "Bronze", "“Bronze” is not one of the choices."),
        ("plan", "gold", "“gold” is not one of the choices."),
        ("vip", "yes", "“yes” is neither true nor false."),
        ("vip", 1, "“1” is neither true nor false."),
        ("nope", "x", "There is no custom field “nope”."),
    ],
)
def test_invalid_values_are_rejected_with_a_message(
    org: Organization, fields: dict[str, CustomField], key: str, value: object, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        custom_field_values_clean(organization=org, values={key: value})
    assert field_errors(caught.value) == {key: [message]}


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_empty_values_are_allowed_and_left_out(
    org: Organization, fields: dict[str, CustomField], empty: object
) -> None:
    values = {field.key: empty for field in fields.values()}
    assert custom_field_values_clean(organization=org, values=values) == {}


def test_all_errors_are_reported_together(org: Organization, fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        custom_field_values_clean(
            organization=org, values={"seats": "x", "plan": "x", "note": "fine"}
        )
    assert set(caught.value.error_dict) == {"seats", "plan"}


def test_another_organizations_definitions_do_not_count(
    other_org: Organization, fields: dict[str, CustomField]
) -> None:
    with pytest.raises(ValidationError) as caught:
        custom_field_values_clean(organization=other_org, values={"note": "hello"})
    assert set(caught.value.error_dict) == {"note"}


def test_display_types_values_and_survives_stale_ones(
    org: Organization, fields: dict[str, CustomField]
) -> None:
    values = {
        "vip": False,
        "plan": "Gold",
        "renewal": "2024-05-31",
        "seats": "not a number any more",
        "note": "",
    }
    shown = {
        item.field.key: (item.kind, item.value)
        for item in custom_field_values_display(
            fields=custom_field_list(organization=org), values=values
        )
    }
    assert shown == {
        "vip": ("boolean", False),
        "plan": ("text", "Gold"),
        "renewal": ("date", dt.date(2024, 5, 31)),
        "seats": ("text", "not a number any more"),
    }
