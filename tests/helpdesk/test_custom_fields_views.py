"""Manager screens for custom field definitions."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from helpdesk.models import CustomField, Membership, Organization
from tests.factories import CustomFieldFactory

pytestmark = pytest.mark.django_db

ClientFor = Callable[[Membership], Client]


def url(name: str, org: Organization, **kwargs: int) -> str:
    return reverse(name, kwargs={"org": org.slug, **kwargs})


def fields_of(org: Organization) -> list[CustomField]:
    return list(CustomField.objects.for_organization(org))


def test_list_shows_the_organizations_fields_in_order(
    manager: Membership, other_org: Organization, client_for: ClientFor
) -> None:
    org = manager.organization
    CustomFieldFactory(organization=org, label="Second", key="second", position=2)
    CustomFieldFactory(
        organization=org,
        label="First",
        key="first",
        position=1,
        field_type="choice",
        choices=["Gold", "Silver"],
        show_in_chat=True,
    )
    CustomFieldFactory(organization=other_org, label="Theirs")

    response = client_for(manager).get(url("custom-field-list", org))

    body = response.content.decode()
    assert response.status_code == 200
    assert [f.label for f in response.context["fields"]] == ["First", "Second"]
    assert body.index("First") < body.index("Second")
    assert "<li>Silver</li>" in body
    assert '<span class="tag yes">Yes</span>' in body
    assert "Theirs" not in body


def test_the_manage_index_links_to_custom_fields(
    manager: Membership, client_for: ClientFor
) -> None:
    body = client_for(manager).get(url("manage", manager.organization)).content.decode()
    assert url("custom-field-list", manager.organization) in body


def test_manager_creates_a_choice_field(manager: Membership, client_for: ClientFor) -> None:
    org = manager.organization
    client = client_for(manager)
    assert client.get(url("custom-field-create", org)).status_code == 200

    response = client.post(
        url("custom-field-create", org),
        {
            "label": "Plan",
            "key": "plan",
            "field_type": "choice",
            "choices": "Gold\r\n\r\n Silver \r\nGold",
            "show_in_chat": "on",
            "position": "",
        },
    )

    assert response.status_code == 302
    assert response.url == url("custom-field-list", org)
    [field] = fields_of(org)
    assert (field.key, field.label, field.field_type) == ("plan", "Plan", "choice")
    assert field.choices == ["Gold", "Silver"]
    assert field.show_in_chat is True


def test_create_shows_errors_on_the_fields(manager: Membership, client_for: ClientFor) -> None:
    org = manager.organization
    CustomFieldFactory(organization=org, key="plan")
    client = client_for(manager)

    taken = client.post(
        url("custom-field-create", org), {"label": "Plan", "key": "plan", "field_type": "text"}
    )
    no_choices = client.post(
        url("custom-field-create", org), {"label": "Size", "key": "size", "field_type": "choice"}
    )
    stray_choices = client.post(
        url("custom-field-create", org),
        {"label": "Size", "key": "size", "field_type": "number", "choices": "S\nM"},
    )
    bad_key = client.post(
        url("custom-field-create", org), {"label": "Size", "key": "a b", "field_type": "text"}
    )

    assert taken.status_code == 400
    assert taken.context["form"].errors["key"] == [
        "A custom field with the key “plan” already exists."
    ]
    assert no_choices.context["form"].errors["choices"] == [
        "A choice field needs at least one choice."
    ]
    assert stray_choices.context["form"].errors["choices"] == ["Only choice fields have choices."]
    assert "key" in bad_key.context["form"].errors
    assert len(fields_of(org)) == 1


def test_edit_changes_label_and_choices_but_not_key_or_type(
    manager: Membership, client_for: ClientFor
) -> None:
    org = manager.organization
    field = CustomFieldFactory(
        organization=org, key="plan", label="Plan", field_type="choice", choices=["A"]
    )
    client = client_for(manager)
    edit_url = url("custom-field-edit", org, field_id=field.pk)

    page = client.get(edit_url).content.decode()
    assert re.search(r'<input type="text" name="key" value="plan"[^>]* disabled', page)
    assert re.search(r'<select name="field_type" disabled', page)

    response = client.post(
        edit_url,
        {
            "label": "Tier",
            "key": "hacked",
            "field_type": "text",
            "choices": "A\nB",
            "position": "4",
        },
    )

    assert response.status_code == 302
    field.refresh_from_db()
    assert (field.label, field.choices, field.position, field.show_in_chat) == (
        "Tier",
        ["A", "B"],
        4,
        False,
    )
    assert (field.key, field.field_type) == ("plan", "choice")


def test_edit_with_an_error_keeps_the_saved_definition(
    manager: Membership, client_for: ClientFor
) -> None:
    org = manager.organization
    field = CustomFieldFactory(
        organization=org, key="plan", label="Plan", field_type="choice", choices=["A"]
    )
    response = client_for(manager).post(
        url("custom-field-edit", org, field_id=field.pk),
        {"label": "Tier", "choices": "", "position": "0"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["choices"] == [
        "A choice field needs at least one choice."
    ]
    field.refresh_from_db()
    assert (field.label, field.choices) == ("Plan", ["A"])


def test_delete_asks_first_then_deletes(manager: Membership, client_for: ClientFor) -> None:
    org = manager.organization
    field = CustomFieldFactory(organization=org, label="Plan")
    client = client_for(manager)
    delete_url = url("custom-field-delete", org, field_id=field.pk)

    confirm = client.get(delete_url)
    assert confirm.status_code == 200
    assert "This cannot be undone." in confirm.content.decode()
    assert fields_of(org) == [field]

    response = client.post(delete_url)
    assert response.status_code == 302
    assert fields_of(org) == []


@pytest.mark.parametrize("role", ["agent", "viewer"])
def test_agents_and_viewers_get_403(
    role: str, request: pytest.FixtureRequest, org: Organization, client_for: ClientFor
) -> None:
    actor: Membership = request.getfixturevalue(role)
    field = CustomFieldFactory(organization=org, label="Same")
    client = client_for(actor)
    for path in [
        url("custom-field-list", org),
        url("custom-field-create", org),
        url("custom-field-edit", org, field_id=field.pk),
        url("custom-field-delete", org, field_id=field.pk),
    ]:
        assert client.get(path).status_code == 403, path
        post = client.post(path, {"label": "HACKED", "key": "hacked", "field_type": "text"})
        assert post.status_code in (403, 405), path
    field.refresh_from_db()
    assert field.label == "Same"
    assert fields_of(org) == [field]


def test_another_organizations_field_is_404_and_unchanged(
    outsider: Membership, org: Organization, client_for: ClientFor
) -> None:
    field = CustomFieldFactory(organization=org, label="Same")
    client = client_for(outsider)
    for name in ["custom-field-edit", "custom-field-delete"]:
        path = url(name, outsider.organization, field_id=field.pk)
        assert client.get(path).status_code == 404, path
        assert client.post(path, {"label": "HACKED", "position": "1"}).status_code == 404, path
        assert client.get(url(name, org, field_id=field.pk)).status_code == 404
    field.refresh_from_db()
    assert field.label == "Same"


def test_labels_are_escaped(manager: Membership, client_for: ClientFor) -> None:
    org = manager.organization
    evil = "<script>alert(1)</script>"
    field = CustomFieldFactory(organization=org, label=evil, field_type="choice", choices=[evil])
    client = client_for(manager)
    for path in [
        url("custom-field-list", org),
        url("custom-field-edit", org, field_id=field.pk),
        url("custom-field-delete", org, field_id=field.pk),
        url("customer-create", org),
    ]:
        body = client.get(path).content.decode()
        assert evil not in body, path
        assert "&lt;script&gt;" in body, path
