"""Customer services: create, update, delete, uniqueness, permissions and find-or-create."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from helpdesk.models import Customer, CustomerEmail, CustomerPhone, Membership, Organization
from helpdesk.services import customers as services
from helpdesk.services.customers import (
    customer_create,
    customer_delete,
    customer_find_or_create,
    customer_update,
)
from tests.factories import CustomerFactory, CustomFieldFactory, add_customer_email

pytestmark = pytest.mark.django_db


def emails_of(customer: Customer) -> list[str]:
    return [row.email for row in customer.emails.all()]


def phones_of(customer: Customer) -> list[str]:
    return [row.number for row in customer.phones.all()]


def messages_of(error: ValidationError, field: str) -> list[str]:
    return [str(m) for e in error.error_dict[field] for m in e.messages]


def make(actor: Membership, **kwargs: Any) -> Customer:
    kwargs.setdefault("name", "Jane Doe")
    return customer_create(actor=actor, **kwargs)


# --- create --------------------------------------------------------------------------------


def test_agent_creates_a_customer_with_everything(agent: Membership, org: Organization) -> None:
    org.country = "PL"
    org.save()
    CustomFieldFactory(organization=org, key="vip", field_type="boolean")
    CustomFieldFactory(organization=org, key="since", field_type="date")

    customer = customer_create(
        actor=agent,
        name="  Jane Doe ",
        emails=["Jane@Example.COM", "jane@example.com", "  ", "j.doe@work.example"],
        phones=["601 234 567", "+48 601-234-567", "+1 415 555 2671"],
        language="pl",
        company="Doe & Co",
        notes="Prefers email.",
        custom_fields={"vip": True, "since": "2020-02-29"},
    )

    customer.refresh_from_db()
    assert customer.organization == org
    assert customer.name == "Jane Doe"
    assert customer.language == "pl"
    assert customer.company == "Doe & Co"
    assert customer.notes == "Prefers email."
    assert customer.custom_fields == {"vip": True, "since": "2020-02-29"}
    # Duplicates in the input collapse; the domain is lower-cased, the local part kept.
    assert emails_of(customer) == ["Jane@example.com", "j.doe@work.example"]
    assert phones_of(customer) == ["+48601234567", "+14155552671"]


def test_create_collects_every_invalid_input(agent: Membership) -> None:
    CustomFieldFactory(organization=agent.organization, key="size", field_type="number")

    with pytest.raises(ValidationError) as caught:
        customer_create(
            actor=agent,
            name="x" * 201,
            emails=["not-an-email", "ok@example.com"],
            phones=["12", "(415) 555-2671"],
            language="xx",
            custom_fields={"size": "big", "nope": "1"},
        )

    error = caught.value
    assert messages_of(error, "emails") == ["“not-an-email” is not a valid email address."]
    assert messages_of(error, "phones") == ["“12” is not a valid phone number."]
    assert set(error.error_dict) == {
        "name",
        "emails",
        "phones",
        "language",
        "custom_fields.size",
        "custom_fields.nope",
    }
    assert messages_of(error, "custom_fields.size") == ["“big” is not a number."]
    assert Customer.objects.for_organization(agent.organization).count() == 0


def test_a_customer_needs_a_name_or_a_way_to_reach_them(agent: Membership) -> None:
    with pytest.raises(ValidationError) as caught:
        customer_create(actor=agent, name="  ", emails=[], phones=[])
    assert "name" in caught.value.error_dict

    assert customer_create(actor=agent, emails=["only@example.com"]).name == ""


def test_viewer_cannot_create(viewer: Membership) -> None:
    with pytest.raises(PermissionDenied):
        make(viewer)
    assert Customer.objects.for_organization(viewer.organization).count() == 0


# --- uniqueness ----------------------------------------------------------------------------


def test_email_is_unique_per_organization_regardless_of_case(agent: Membership) -> None:
    first = make(agent, name="First", emails=["jane@example.com"])

    with pytest.raises(ValidationError) as caught:
        make(agent, name="Second", emails=["JANE@example.com"])

    assert messages_of(caught.value, "emails") == ["“jane@example.com” already belongs to First."]
    assert list(Customer.objects.for_organization(agent.organization)) == [first]


def test_the_same_email_may_belong_to_customers_of_two_organizations(
    agent: Membership, outsider: Membership
) -> None:
    mine = make(agent, emails=["jane@example.com"])
    theirs = make(outsider, emails=["Jane@Example.com"])
    assert mine.organization != theirs.organization
    assert emails_of(theirs) == ["Jane@example.com"]


def test_the_database_refuses_a_duplicate_email_in_any_case(org: Organization) -> None:
    add_customer_email(CustomerFactory(organization=org), "jane@example.com")
    other = CustomerFactory(organization=org)
    with pytest.raises(IntegrityError), transaction.atomic():
        add_customer_email(other, "JANE@EXAMPLE.COM")


def test_phone_is_unique_per_organization_after_normalisation(
    agent: Membership, outsider: Membership
) -> None:
    make(agent, name="First", phones=["(415) 555-2671"])

    with pytest.raises(ValidationError) as caught:
        make(agent, name="Second", phones=["+1 415 555 2671"])
    assert messages_of(caught.value, "phones") == ["“+1 415-555-2671” already belongs to First."]

    # Another organization may have the same number.
    assert phones_of(make(outsider, phones=["+1 415 555 2671"])) == ["+14155552671"]


def test_a_clash_found_only_by_the_database_is_a_validation_error(
    agent: Membership, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two agents save the same address at once: the check passes for both, the insert fails
    for the second, and the form still shows who has it."""
    make(agent, name="First", emails=["jane@example.com"])
    real_conflicts = services._conflicts
    calls = []

    def blind_first_time(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) == 1:
            return {}
        return real_conflicts(*args, **kwargs)

    monkeypatch.setattr(services, "_conflicts", blind_first_time)

    with pytest.raises(ValidationError) as caught, transaction.atomic():
        make(agent, name="Second", emails=["Jane@example.com"])
    assert messages_of(caught.value, "emails") == ["“jane@example.com” already belongs to First."]
    assert len(calls) == 2


# --- update and delete ---------------------------------------------------------------------


def test_update_replaces_emails_and_phones(agent: Membership) -> None:
    customer = make(agent, emails=["a@example.com", "b@example.com"], phones=["415 555 2671"])
    keep = customer.emails.get(email="a@example.com")

    customer_update(
        actor=agent,
        customer=customer,
        emails=["A@example.com", "c@example.com"],
        phones=["+1 201 555 0123"],
    )

    # Changing only the case of an address keeps its row.
    assert emails_of(customer) == ["A@example.com", "c@example.com"]
    assert customer.emails.filter(pk=keep.pk).exists()
    assert phones_of(customer) == ["+12015550123"]
    assert customer.name == "Jane Doe"  # untouched


def test_update_may_keep_its_own_email_and_phone(agent: Membership) -> None:
    customer = make(agent, emails=["a@example.com"], phones=["415 555 2671"])
    customer_update(
        actor=agent,
        customer=customer,
        name="Renamed",
        emails=["a@example.com"],
        phones=["(415) 555-2671"],
    )
    customer.refresh_from_db()
    assert customer.name == "Renamed"
    assert emails_of(customer) == ["a@example.com"]


def test_update_rejects_another_customers_email_and_changes_nothing(agent: Membership) -> None:
    make(agent, name="Owner", emails=["taken@example.com"])
    customer = make(agent, name="Before", emails=["mine@example.com"])

    with pytest.raises(ValidationError) as caught:
        customer_update(actor=agent, customer=customer, name="After", emails=["TAKEN@example.com"])

    assert messages_of(caught.value, "emails") == ["“taken@example.com” already belongs to Owner."]
    customer.refresh_from_db()
    assert customer.name == "Before"
    assert emails_of(customer) == ["mine@example.com"]


def test_update_custom_fields_merges_and_removes_empty_values(
    agent: Membership, org: Organization
) -> None:
    CustomFieldFactory(organization=org, key="plan", field_type="text")
    CustomFieldFactory(organization=org, key="seats", field_type="number")
    customer = make(agent, custom_fields={"plan": "Gold", "seats": "5"})
    # A value whose definition was deleted stays stored.
    Customer.objects.for_organization(org).filter(pk=customer.pk).update(
        custom_fields={"plan": "Gold", "seats": "5", "old": "kept"}
    )
    customer.refresh_from_db()

    customer_update(actor=agent, customer=customer, custom_fields={"plan": "", "seats": 7})

    customer.refresh_from_db()
    assert customer.custom_fields == {"seats": "7", "old": "kept"}


def test_viewer_cannot_update_or_delete(agent: Membership, viewer: Membership) -> None:
    customer = make(agent, name="Same")
    with pytest.raises(PermissionDenied):
        customer_update(actor=viewer, customer=customer, name="Changed")
    with pytest.raises(PermissionDenied):
        customer_delete(actor=viewer, customer=customer)
    customer.refresh_from_db()
    assert customer.name == "Same"


def test_outsider_cannot_touch_another_organizations_customer(
    agent: Membership, outsider: Membership
) -> None:
    customer = make(agent, name="Same", emails=["a@example.com"])
    with pytest.raises(PermissionDenied):
        customer_update(actor=outsider, customer=customer, name="HACKED")
    with pytest.raises(PermissionDenied):
        customer_delete(actor=outsider, customer=customer)
    customer.refresh_from_db()
    assert customer.name == "Same"


def test_delete_removes_the_customer_and_their_contacts(agent: Membership) -> None:
    customer = make(agent, emails=["a@example.com"], phones=["415 555 2671"])
    customer_delete(actor=agent, customer=customer)
    org = agent.organization
    assert not Customer.objects.for_organization(org).exists()
    assert not CustomerEmail.objects.for_organization(org).exists()
    assert not CustomerPhone.objects.for_organization(org).exists()
    # The address is free again.
    make(agent, emails=["a@example.com"])


# --- find or create ------------------------------------------------------------------------


def test_find_or_create_by_email_creates_then_finds_in_any_case(org: Organization) -> None:
    customer, created = customer_find_or_create(
        organization=org, email="Jane@Example.com", name="Jane", language="pl"
    )
    assert created
    assert customer.name == "Jane"
    assert customer.language == "pl"
    assert emails_of(customer) == ["Jane@example.com"]

    again, created_again = customer_find_or_create(
        organization=org, email="  JANE@example.COM ", name="Someone else"
    )
    assert (again, created_again) == (customer, False)
    assert again.name == "Jane"
    assert Customer.objects.for_organization(org).count() == 1


def test_find_or_create_by_phone_matches_any_formatting(org: Organization) -> None:
    org.country = "PL"
    org.save()
    customer, created = customer_find_or_create(organization=org, phone="601 234 567")
    assert created
    assert phones_of(customer) == ["+48601234567"]
    assert customer.name == ""

    for variant in ["+48601234567", "0048 601-234-567", "+48 (601) 234 567"]:
        assert customer_find_or_create(organization=org, phone=variant) == (customer, False)


def test_find_or_create_fills_a_blank_name_only(org: Organization) -> None:
    customer, _ = customer_find_or_create(organization=org, phone="+1 415 555 2671")
    found, created = customer_find_or_create(organization=org, phone="+14155552671", name="Caller")
    assert not created
    customer.refresh_from_db()
    assert customer.name == found.name == "Caller"
    customer_find_or_create(organization=org, phone="+14155552671", name="Another")
    customer.refresh_from_db()
    assert customer.name == "Caller"


def test_find_or_create_prefers_the_email_match(org: Organization) -> None:
    by_email = CustomerFactory(organization=org, name="By email")
    add_customer_email(by_email, "jane@example.com")
    by_phone, _ = customer_find_or_create(organization=org, phone="+14155552671")

    found, created = customer_find_or_create(
        organization=org, email="jane@example.com", phone="+14155552671"
    )
    assert (found, created) == (by_email, False)

    # An unknown email with a known phone finds the phone's customer.
    found, created = customer_find_or_create(
        organization=org, email="new@example.com", phone="(415) 555-2671"
    )
    assert (found, created) == (by_phone, False)


def test_find_or_create_with_email_and_phone_creates_both_rows(org: Organization) -> None:
    customer, created = customer_find_or_create(
        organization=org, email="new@example.com", phone="+14155552671"
    )
    assert created
    assert emails_of(customer) == ["new@example.com"]
    assert phones_of(customer) == ["+14155552671"]


def test_find_or_create_never_crosses_organizations(
    org: Organization, other_org: Organization
) -> None:
    theirs, _ = customer_find_or_create(organization=other_org, email="jane@example.com")
    mine, created = customer_find_or_create(organization=org, email="jane@example.com")
    assert created
    assert mine != theirs
    assert mine.organization == org


def test_find_or_create_needs_an_email_or_a_phone(org: Organization) -> None:
    with pytest.raises(ValueError, match="email address or a phone number"):
        customer_find_or_create(organization=org)
    with pytest.raises(ValueError):
        customer_find_or_create(organization=org, email="  ", phone="", name="Nobody")
    assert not Customer.objects.for_organization(org).exists()


def test_find_or_create_rejects_malformed_input(org: Organization) -> None:
    with pytest.raises(ValidationError):
        customer_find_or_create(organization=org, email="not-an-email")
    with pytest.raises(ValidationError) as caught:
        customer_find_or_create(organization=org, phone="12")
    assert caught.value.messages == ["“12” is not a valid phone number."]
    assert not Customer.objects.for_organization(org).exists()


def test_find_or_create_drops_an_unknown_language_and_maps_a_variant(org: Organization) -> None:
    a, _ = customer_find_or_create(organization=org, email="a@example.com", language="klingon")
    b, _ = customer_find_or_create(organization=org, email="b@example.com", language="pt_BR")
    c, _ = customer_find_or_create(organization=org, email="c@example.com", language="de-AT")
    assert (a.language, b.language, c.language) == ("", "pt-br", "de")


def test_the_insert_helper_hits_the_constraint_on_a_duplicate(org: Organization) -> None:
    services._customer_insert(org, email="jane@example.com", phone=None, name="First", language="")
    with pytest.raises(IntegrityError):
        services._customer_insert(
            org, email="JANE@example.com", phone=None, name="Second", language=""
        )
    with pytest.raises(IntegrityError):
        services._customer_insert(org, email=None, phone="+14155552671", name="A", language="")
        services._customer_insert(org, email=None, phone="+14155552671", name="B", language="")
    # The savepoint rolled the half-made customers back; the transaction is still usable.
    names = set(Customer.objects.for_organization(org).values_list("name", flat=True))
    assert names == {"First", "A"}


def test_find_or_create_recovers_when_a_row_appears_between_check_and_insert(
    org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race: another delivery inserts the same sender after our lookup found nothing."""
    winner, _ = customer_find_or_create(organization=org, email="jane@example.com", name="W")
    real_match = services._customer_match
    lookups: list[tuple[Any, ...]] = []

    def stale_first_lookup(*args: Any) -> Customer | None:
        lookups.append(args)
        return None if len(lookups) == 1 else real_match(*args)

    monkeypatch.setattr(services, "_customer_match", stale_first_lookup)

    with transaction.atomic():
        found, created = customer_find_or_create(
            organization=org, email="Jane@EXAMPLE.com", name="Loser"
        )
        # The caller's transaction is still usable after the failed insert.
        assert Customer.objects.for_organization(org).count() == 1

    assert (found, created) == (winner, False)
    assert len(lookups) == 2
    assert list(Customer.objects.for_organization(org).values_list("name", flat=True)) == ["W"]
