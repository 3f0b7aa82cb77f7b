"""Reads for customers: the searchable list and permission-checked fetches."""

from __future__ import annotations

import re

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from helpdesk.models import Customer, CustomerEmail, CustomerPhone, Membership
from helpdesk.phones import phone_digits, phone_parse_or_none

# A partial phone search needs a few digits, or "1" would match nearly every number.
MIN_PHONE_DIGITS = 3
_PHONE_FRAGMENT = re.compile(r"^[0-9\s+\-().]+$")


def customer_list(*, actor: Membership, query: str = "") -> QuerySet[Customer]:
    """The organization's customers by name, with emails and phones prefetched, narrowed by
    ``query``: part of the name, company, an email address or a phone number. A query that
    reads as a phone number in the organization's country also finds it in E.164."""
    organization = actor.organization
    customers = Customer.objects.for_organization(organization).prefetch_related("emails", "phones")
    query = query.strip()
    if not query:
        return customers.order_by("name", "id")
    emails = CustomerEmail.objects.for_organization(organization).filter(email__icontains=query)
    match = (
        Q(name__icontains=query)
        | Q(company__icontains=query)
        | Q(pk__in=emails.values("customer_id"))
    )
    phones = CustomerPhone.objects.for_organization(organization)
    digits = phone_digits(query)
    e164 = phone_parse_or_none(query, region=organization.country)
    if e164 is not None:
        match |= Q(pk__in=phones.filter(number=e164).values("customer_id"))
    if _PHONE_FRAGMENT.match(query) and len(digits) >= MIN_PHONE_DIGITS:
        match |= Q(pk__in=phones.filter(number__contains=digits).values("customer_id"))
    return customers.filter(match).order_by("name", "id")


def access_customer(*, actor: Membership, customer_id: int) -> Customer:
    """The actor's organization's customer with emails and phones, or 404 (also for another
    organization's id)."""
    return get_object_or_404(
        Customer.objects.for_organization(actor.organization).prefetch_related("emails", "phones"),
        pk=customer_id,
    )
