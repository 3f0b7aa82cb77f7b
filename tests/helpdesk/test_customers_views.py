"""Customer screens through the test client: list and search, card, create, edit, delete."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpdesk.models import Customer, Membership, Organization
from helpdesk.services.customers import customer_create
from tests.factories import CustomerFactory, CustomFieldFactory, add_customer_email

pytestmark = pytest.mark.django_db

ClientFor = Callable[[Membership], Client]


def url(name: str, org: Organization, **kwargs: int) -> str:
    return reverse(name, kwargs={"org": org.slug, **kwargs})


def new_customer(actor: Membership, **kwargs: object) -> Customer:
    kwargs.setdefault("name", "Jane Doe")
    return customer_create(actor=actor, **kwargs)  # type: ignore[arg-type]


def names_in(response: object) -> list[str]:
    page = response.context["page"]  # type: ignore[attr-defined]
    return [c.name for c in page.object_list]


# --- list and search -----------------------------------------------------------------------


def test_list_shows_only_this_organizations_customers(
    agent: Membership, outsider: Membership, client_for: ClientFor
) -> None:
    new_customer(agent, name="Mine", emails=["mine@example.com"], phones=["415 555 2671"])
    new_customer(outsider, name="Theirs")

    response = client_for(agent).get(url("customer-list", agent.organization))

    assert response.status_code == 200
    assert names_in(response) == ["Mine"]
    body = response.content.decode()
    assert "mine@example.com" in body
    assert "+1 415-555-2671" in body
    assert "Theirs" not in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("jane", ["Jane Doe"]),
        ("ACME", ["Bob Builder"]),
        ("BOB@acme", ["Bob Builder"]),
        ("example.org", ["Jane Doe"]),
        ("(415) 555-2671", ["Jane Doe"]),
        ("+14155552671", ["Jane Doe"]),
        ("555-2671", ["Jane Doe"]),
        ("601", ["Bob Builder"]),
        ("nobody", []),
    ],
)
def test_search_by_name_company_email_and_phone(
    agent: Membership, client_for: ClientFor, query: str, expected: list[str]
) -> None:
    new_customer(agent, name="Jane Doe", emails=["jane@example.org"], phones=["415 555 2671"])
    new_customer(
        agent,
        name="Bob Builder",
        company="Acme Ltd",
        emails=["bob@acme.example"],
        phones=["+48 601 234 567"],
    )
    response = client_for(agent).get(url("customer-list", agent.organization), {"q": query})
    assert names_in(response) == expected


def test_a_search_in_national_format_finds_the_e164_number(
    agent: Membership, org: Organization, client_for: ClientFor
) -> None:
    """The national form's digits are not a substring of the E.164 number; parsing finds it."""
    org.country = "GB"
    org.save()
    new_customer(agent, name="London", phones=["+44 20 7946 0958"])
    new_customer(agent, name="Other", phones=["+44 20 7946 0000"])

    response = client_for(agent).get(url("customer-list", org), {"q": "020 7946 0958"})

    assert names_in(response) == ["London"]


def test_a_customer_with_two_matching_emails_is_listed_once(
    agent: Membership, client_for: ClientFor
) -> None:
    new_customer(agent, name="Twice", emails=["a@match.example", "b@match.example"])
    response = client_for(agent).get(url("customer-list", agent.organization), {"q": "match"})
    assert names_in(response) == ["Twice"]


def test_search_by_htmx_returns_only_the_results_fragment(
    agent: Membership, client_for: ClientFor
) -> None:
    new_customer(agent, name="Jane Doe")
    response = client_for(agent).get(
        url("customer-list", agent.organization), {"q": "jane"}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="customer-results"')
    assert "Jane Doe" in body
    assert "<html" not in body


def test_the_search_box_is_wired_for_live_search(agent: Membership, client_for: ClientFor) -> None:
    body = client_for(agent).get(url("customer-list", agent.organization)).content.decode()
    assert 'hx-trigger="input changed delay:300ms, search"' in body
    assert 'hx-target="#customer-results"' in body
    assert 'hx-push-url="true"' in body
    assert '<label for="customer-search">' in body


def test_list_is_paginated(agent: Membership, client_for: ClientFor, org: Organization) -> None:
    for number in range(55):
        CustomerFactory(organization=org, name=f"C{number:02d}")
    client = client_for(agent)

    first = client.get(url("customer-list", org))
    second = client.get(url("customer-list", org), {"page": 2})

    assert len(names_in(first)) == 50
    assert names_in(second) == [f"C{n}" for n in range(50, 55)]
    assert 'rel="next"' in first.content.decode()


def test_list_query_count_does_not_grow_with_customers(
    agent: Membership,
    org: Organization,
    client_for: ClientFor,
    django_assert_num_queries: Callable[..., object],
) -> None:
    client = client_for(agent)

    def add(count: int) -> None:
        for _ in range(count):
            customer = CustomerFactory(organization=org)
            add_customer_email(customer, f"c{customer.pk}@example.com")
            customer.phones.create(organization=org, number=f"+1415555{customer.pk:04d}")

    add(1)
    client.get(url("customer-list", org))  # warm the session
    with CaptureQueriesContext(connection) as one:
        assert client.get(url("customer-list", org)).status_code == 200
    add(19)
    # Session, user, membership, the org switcher, count, customers, emails, phones.
    assert len(one.captured_queries) <= 8
    with django_assert_num_queries(len(one.captured_queries)):  # type: ignore[operator]
        response = client.get(url("customer-list", org))
    assert len(names_in(response)) == 20
    with django_assert_num_queries(len(one.captured_queries)):  # type: ignore[operator]
        client.get(url("customer-list", org), {"q": "example.com"})


# --- detail --------------------------------------------------------------------------------


def test_detail_shows_the_card_with_custom_fields_formatted(
    agent: Membership, org: Organization, client_for: ClientFor
) -> None:
    CustomFieldFactory(organization=org, key="vip", label="VIP", field_type="boolean", position=2)
    CustomFieldFactory(organization=org, key="renewal", label="Renewal", field_type="date")
    CustomFieldFactory(organization=org, key="gone", label="Gone")
    CustomFieldFactory(organization=org, key="seats", label="Seats", field_type="number")
    customer = new_customer(
        agent,
        emails=["jane@example.com"],
        phones=["415 555 2671"],
        language="de",
        company="Doe & Co",
        notes="Line one\nLine two",
        custom_fields={
            "vip": True,
            "renewal": "2024-05-31",
            "gone": "old value",
            "seats": "12.50",
        },
    )
    # A deleted definition's value stays stored but is not shown.
    org_fields = CustomFieldFactory._meta.model.objects.for_organization(org)
    org_fields.filter(key="gone").delete()

    response = client_for(agent).get(url("customer-detail", org, customer_id=customer.pk))

    body = response.content.decode()
    assert response.status_code == 200
    assert '<a href="mailto:jane@example.com">jane@example.com</a>' in body
    assert 'href="tel:+14155552671"' in body
    assert "+1 415-555-2671" in body
    assert "German" in body
    assert "Doe &amp; Co" in body
    assert "Line one<br>Line two" in body
    assert "<dt>VIP</dt>" in body
    assert '<span class="tag yes">Yes</span>' in body
    assert "May 31, 2024" in body
    assert "<dt>Seats</dt>\n      <dd>12.50</dd>" in body
    assert "old value" not in body
    assert "Gone" not in body
    assert body.index("Renewal") < body.index("VIP")  # in the fields' order


def test_viewer_sees_the_card_without_write_buttons(
    agent: Membership, viewer: Membership, client_for: ClientFor
) -> None:
    customer = new_customer(agent)
    org = agent.organization
    client = client_for(viewer)

    detail = client.get(url("customer-detail", org, customer_id=customer.pk)).content.decode()
    listing = client.get(url("customer-list", org)).content.decode()

    assert "Jane Doe" in detail
    assert url("customer-edit", org, customer_id=customer.pk) not in detail
    assert url("customer-delete", org, customer_id=customer.pk) not in detail
    assert url("customer-create", org) not in listing


def test_agent_sees_the_write_buttons(agent: Membership, client_for: ClientFor) -> None:
    customer = new_customer(agent)
    org = agent.organization
    client = client_for(agent)
    detail = client.get(url("customer-detail", org, customer_id=customer.pk)).content.decode()
    assert url("customer-edit", org, customer_id=customer.pk) in detail
    assert url("customer-delete", org, customer_id=customer.pk) in detail
    assert url("customer-create", org) in client.get(url("customer-list", org)).content.decode()


def test_names_are_escaped(agent: Membership, client_for: ClientFor) -> None:
    evil = "<script>alert(1)</script>"
    customer = new_customer(agent, name=evil, company=evil, notes=evil)
    org = agent.organization
    client = client_for(agent)

    for path in [
        url("customer-list", org),
        url("customer-detail", org, customer_id=customer.pk),
        url("customer-edit", org, customer_id=customer.pk),
        url("customer-delete", org, customer_id=customer.pk),
    ]:
        body = client.get(path).content.decode()
        assert evil not in body, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body, path
    search = client.get(url("customer-list", org), {"q": "<b>nobody</b>"}).content.decode()
    assert "<b>nobody</b>" not in search
    assert "&lt;b&gt;nobody&lt;/b&gt;" in search


# --- create and edit -----------------------------------------------------------------------


def test_create_form_renders_typed_custom_field_inputs(
    agent: Membership, org: Organization, client_for: ClientFor
) -> None:
    CustomFieldFactory(organization=org, key="note", label="Note", field_type="text")
    CustomFieldFactory(organization=org, key="seats", label="Seats", field_type="number")
    CustomFieldFactory(organization=org, key="renewal", label="Renewal", field_type="date")
    CustomFieldFactory(
        organization=org, key="plan", label="Plan", field_type="choice", choices=["Gold", "Blue"]
    )
    CustomFieldFactory(organization=org, key="vip", label="VIP", field_type="boolean")

    response = client_for(agent).get(url("customer-create", org))

    body = response.content.decode()
    assert response.status_code == 200
    assert 'type="text" name="cf_note"' in body
    assert 'type="number" name="cf_seats"' in body
    assert 'type="date" name="cf_renewal"' in body
    assert '<select name="cf_plan"' in body
    assert '<option value="Gold">Gold</option>' in body
    assert 'type="checkbox" name="cf_vip"' in body
    for field_id in ["id_name", "id_emails", "id_phones", "id_language", "id_cf_plan"]:
        assert f'for="{field_id}"' in body


def test_agent_creates_a_customer_through_the_form(
    agent: Membership, org: Organization, client_for: ClientFor
) -> None:
    org.country = "PL"
    org.save()
    CustomFieldFactory(organization=org, key="seats", field_type="number")
    CustomFieldFactory(organization=org, key="vip", field_type="boolean")

    response = client_for(agent).post(
        url("customer-create", org),
        {
            "name": "Jan Kowalski",
            "emails": "jan@example.pl\nJan.K@Example.pl, other@example.pl",
            "phones": "601 234 567\n+1 (415) 555-2671",
            "language": "pl",
            "company": "Kowalski sp. z o.o.",
            "notes": "VIP",
            "cf_seats": "12.5",
            "cf_vip": "on",
        },
    )

    customer = Customer.objects.for_organization(org).get()
    assert response.status_code == 302
    assert response.url == url("customer-detail", org, customer_id=customer.pk)
    assert customer.name == "Jan Kowalski"
    assert [e.email for e in customer.emails.all()] == [
        "jan@example.pl",
        "Jan.K@example.pl",
        "other@example.pl",
    ]
    assert [p.number for p in customer.phones.all()] == ["+48601234567", "+14155552671"]
    assert customer.custom_fields == {"seats": "12.5", "vip": True}


def test_invalid_input_is_shown_next_to_the_fields(
    agent: Membership, org: Organization, client_for: ClientFor
) -> None:
    CustomFieldFactory(organization=org, key="renewal", field_type="date")
    new_customer(agent, name="Owner", emails=["taken@example.com"], phones=["415 555 2671"])

    response = client_for(agent).post(
        url("customer-create", org),
        {
            "name": "New",
            "emails": "TAKEN@example.com\nbroken@",
            "phones": "12\n(415) 555-2671",
            "cf_renewal": "31.05.2024",
        },
    )

    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["cf_renewal"] == ["“31.05.2024” is not a date in the form yyyy-mm-dd."]
    assert form.errors["emails"] == [
        "“broken@” is not a valid email address.",
        "“taken@example.com” already belongs to Owner.",
    ]
    assert form.errors["phones"] == [
        "“12” is not a valid phone number.",
        "“+1 415-555-2671” already belongs to Owner.",
    ]
    body = response.content.decode()
    assert "“12” is not a valid phone number." in body
    assert 'value="31.05.2024"' in body  # what was typed is kept
    assert Customer.objects.for_organization(org).count() == 1


def test_a_duplicate_email_names_the_other_customer(
    agent: Membership, org: Organization, client_for: ClientFor
) -> None:
    new_customer(agent, name="Owner", emails=["taken@example.com"])
    response = client_for(agent).post(
        url("customer-create", org), {"name": "New", "emails": "Taken@Example.com"}
    )
    assert response.status_code == 400
    assert "“taken@example.com” already belongs to Owner." in response.content.decode()


def test_a_custom_field_error_from_the_service_lands_on_its_input(
    agent: Membership, org: Organization, client_for: ClientFor
) -> None:
    CustomFieldFactory(organization=org, key="note", field_type="text")
    # The form accepts up to 1000 characters; ask the service for a number it refuses.
    CustomFieldFactory(organization=org, key="seats", field_type="number")

    response = client_for(agent).post(
        url("customer-create", org), {"name": "New", "cf_seats": "1e999999"}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["cf_seats"] == ["“1e999999” has too many digits."]


def test_edit_prefills_and_saves(
    agent: Membership, org: Organization, client_for: ClientFor
) -> None:
    CustomFieldFactory(organization=org, key="plan", field_type="choice", choices=["A", "B"])
    customer = new_customer(
        agent, emails=["a@example.com"], phones=["415 555 2671"], custom_fields={"plan": "A"}
    )
    client = client_for(agent)
    edit_url = url("customer-edit", org, customer_id=customer.pk)

    form = client.get(edit_url).context["form"]
    assert form.initial["emails"] == "a@example.com"
    assert form.initial["phones"] == "+1 415-555-2671"
    assert form.initial["cf_plan"] == "A"

    response = client.post(
        edit_url,
        {
            "name": "Jane Smith",
            "emails": "a@example.com\nb@example.com",
            "phones": "",
            "language": "",
            "company": "",
            "notes": "",
            "cf_plan": "",
        },
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.name == "Jane Smith"
    assert [e.email for e in customer.emails.all()] == ["a@example.com", "b@example.com"]
    assert not customer.phones.exists()
    assert customer.custom_fields == {}


def test_edit_with_an_error_changes_nothing(
    agent: Membership, org: Organization, client_for: ClientFor
) -> None:
    customer = new_customer(agent, name="Before", emails=["a@example.com"])
    response = client_for(agent).post(
        url("customer-edit", org, customer_id=customer.pk),
        {"name": "After", "emails": "not an email"},
    )
    assert response.status_code == 400
    customer.refresh_from_db()
    assert customer.name == "Before"
    assert "Before" in response.content.decode()  # the heading keeps the saved name


def test_delete_asks_first_then_deletes(
    agent: Membership, org: Organization, client_for: ClientFor
) -> None:
    customer = new_customer(agent)
    client = client_for(agent)
    delete_url = url("customer-delete", org, customer_id=customer.pk)

    confirm = client.get(delete_url)
    assert confirm.status_code == 200
    assert "This cannot be undone." in confirm.content.decode()
    assert Customer.objects.for_organization(org).exists()

    response = client.post(delete_url)
    assert response.status_code == 302
    assert response.url == url("customer-list", org)
    assert not Customer.objects.for_organization(org).exists()


# --- permissions and isolation -------------------------------------------------------------


def test_viewer_gets_403_on_every_write_view_and_nothing_changes(
    agent: Membership, viewer: Membership, client_for: ClientFor
) -> None:
    customer = new_customer(agent, name="Same")
    org = agent.organization
    client = client_for(viewer)
    for path in [
        url("customer-create", org),
        url("customer-edit", org, customer_id=customer.pk),
        url("customer-delete", org, customer_id=customer.pk),
    ]:
        assert client.get(path).status_code == 403, path
        assert client.post(path, {"name": "HACKED"}).status_code == 403, path
    customer.refresh_from_db()
    assert customer.name == "Same"
    assert Customer.objects.for_organization(org).count() == 1


def test_another_organizations_customer_is_404_and_unchanged(
    agent: Membership, outsider: Membership, client_for: ClientFor
) -> None:
    customer = new_customer(agent, name="Same", emails=["a@example.com"])
    client = client_for(outsider)
    their_org = outsider.organization
    for name, post_status in [
        ("customer-detail", 405),  # read-only: POST is refused before the lookup
        ("customer-edit", 404),
        ("customer-delete", 404),
    ]:
        # Their own organization's URL with our customer's id.
        path = url(name, their_org, customer_id=customer.pk)
        assert client.get(path).status_code == 404, path
        hostile = {"name": "HACKED", "emails": "x@example.com"}
        assert client.post(path, hostile).status_code == post_status, path
        # Our organization's URL: not a member.
        assert client.get(url(name, agent.organization, customer_id=customer.pk)).status_code == 404
    customer.refresh_from_db()
    assert customer.name == "Same"
    assert [e.email for e in customer.emails.all()] == ["a@example.com"]


def test_anonymous_visitors_are_sent_to_log_in(org: Organization) -> None:
    response = Client().get(url("customer-list", org))
    assert response.status_code == 302
    assert "/accounts/login/" in response.url
