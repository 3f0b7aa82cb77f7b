"""Writes for customers (contacts): agents' edits and the matching of inbound contacts.

Email addresses are unique per organization regardless of case, phone numbers are unique per
organization in E.164; the database enforces both, and these services turn a clash into a
ValidationError that names the customer who already has the address or number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils.translation import get_supported_language_variant
from django.utils.translation import gettext_lazy as _

from helpdesk.models import (
    Customer,
    CustomerEmail,
    CustomerPhone,
    CustomField,
    Membership,
    Organization,
)
from helpdesk.phones import phone_normalize
from helpdesk.services.custom_fields import custom_field_values_clean_with

NAME_MAX_LENGTH = 200
COMPANY_MAX_LENGTH = 200
EMAIL_MAX_LENGTH = 254
NOTES_MAX_LENGTH = 20_000

# Errors about custom field values are keyed ``custom_fields.<key>``, so that a field named
# like a customer attribute cannot be confused with it.
CUSTOM_FIELD_ERROR_PREFIX = "custom_fields."

Errors = dict[str, list[ValidationError]]


def _require_writer(actor: Membership) -> None:
    if not actor.can_write:
        raise PermissionDenied


def _require_own(actor: Membership, customer: Customer) -> None:
    if customer.organization_id != actor.organization_id:
        raise PermissionDenied


# --- cleaning -----------------------------------------------------------------------------


def _clean_email(raw: str) -> str:
    email = raw.strip()
    if len(email) > EMAIL_MAX_LENGTH:
        raise ValidationError(
            _("“%(value)s” is too long for an email address."),
            code="invalid_email",
            params={"value": email},
        )
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            _("“%(value)s” is not a valid email address."),
            code="invalid_email",
            params={"value": email},
        ) from None
    # The domain is case-insensitive everywhere; the local part is kept as typed.
    local, _at, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def _clean_emails(raw: Iterable[str], errors: Errors) -> list[str]:
    cleaned: list[str] = []
    seen: set[str] = set()
    for item in raw:
        if not item.strip():
            continue
        try:
            email = _clean_email(item)
        except ValidationError as exc:
            errors.setdefault("emails", []).append(exc)
            continue
        if email.lower() not in seen:
            seen.add(email.lower())
            cleaned.append(email)
    return cleaned


def _clean_phones(raw: Iterable[str], region: str, errors: Errors) -> list[str]:
    cleaned: list[str] = []
    for item in raw:
        if not item.strip():
            continue
        try:
            number = phone_normalize(item, region=region)
        except ValidationError as exc:
            errors.setdefault("phones", []).append(exc)
            continue
        if number not in cleaned:
            cleaned.append(number)
    return cleaned


def _clean_language(language: str, errors: Errors) -> str:
    language = language.strip()
    if language and language not in dict(settings.LANGUAGES):
        errors.setdefault("language", []).append(
            ValidationError(_("Choose a language from the list."), code="invalid_choice")
        )
    return language


def _clean_length(field: str, value: str, limit: int, errors: Errors) -> str:
    value = value.strip()
    if len(value) > limit:
        errors.setdefault(field, []).append(
            ValidationError(
                _("Keep it to %(max)s characters or fewer."),
                code="max_length",
                params={"max": limit},
            )
        )
    return value


def _clean_custom_fields(
    organization: Organization,
    current: Mapping[str, object],
    given: Mapping[str, object],
    errors: Errors,
) -> dict[str, object]:
    """``current`` with ``given`` applied: a given empty value removes its key; values of keys
    not given (including those of deleted definitions) stay as they were."""
    if not given:
        return dict(current)
    fields = CustomField.objects.for_organization(organization)
    try:
        cleaned = custom_field_values_clean_with(fields=fields, values=given)
    except ValidationError as exc:
        for key, messages in exc.error_dict.items():
            errors.setdefault(CUSTOM_FIELD_ERROR_PREFIX + key, []).extend(messages)
        return dict(current)
    merged = {key: value for key, value in current.items() if key not in given}
    merged.update(cleaned)
    return merged


# --- conflicts and the contact rows -------------------------------------------------------


def _conflicts(
    organization: Organization,
    emails: Sequence[str],
    phones: Sequence[str],
    customer: Customer | None,
) -> Errors:
    """Addresses and numbers in ``emails``/``phones`` that belong to another customer."""
    errors: Errors = {}
    if emails:
        taken = (
            CustomerEmail.objects.for_organization(organization)
            .annotate(email_lower=Lower("email"))
            .filter(email_lower__in=[email.lower() for email in emails])
            .select_related("customer")
        )
        if customer is not None:
            taken = taken.exclude(customer=customer)
        for row in taken:
            errors.setdefault("emails", []).append(
                ValidationError(
                    _("“%(value)s” already belongs to %(customer)s."),
                    code="email_taken",
                    params={"value": row.email, "customer": str(row.customer)},
                )
            )
    if phones:
        taken_phones = (
            CustomerPhone.objects.for_organization(organization)
            .filter(number__in=phones)
            .select_related("customer")
        )
        if customer is not None:
            taken_phones = taken_phones.exclude(customer=customer)
        for phone in taken_phones:
            errors.setdefault("phones", []).append(
                ValidationError(
                    _("“%(value)s” already belongs to %(customer)s."),
                    code="phone_taken",
                    params={"value": phone.display, "customer": str(phone.customer)},
                )
            )
    return errors


def _set_emails(customer: Customer, emails: Sequence[str]) -> None:
    existing = {row.email.lower(): row for row in customer.emails.all()}
    wanted = {email.lower(): email for email in emails}
    for lower, row in existing.items():
        if lower not in wanted:
            row.delete()
    for lower, email in wanted.items():
        kept = existing.get(lower)
        if kept is None:
            CustomerEmail.objects.create(
                organization_id=customer.organization_id, customer=customer, email=email
            )
        elif kept.email != email:
            kept.email = email
            kept.save(update_fields=["email"])


def _set_phones(customer: Customer, phones: Sequence[str]) -> None:
    existing = {row.number: row for row in customer.phones.all()}
    for number, row in existing.items():
        if number not in phones:
            row.delete()
    for number in phones:
        if number not in existing:
            CustomerPhone.objects.create(
                organization_id=customer.organization_id, customer=customer, number=number
            )


def _save_contacts(
    customer: Customer,
    emails: Sequence[str] | None,
    phones: Sequence[str] | None,
) -> None:
    """Writes the contact rows in a savepoint; a clash with a row another request has just
    written becomes the same ValidationError the checks give."""
    try:
        with transaction.atomic():
            if emails is not None:
                _set_emails(customer, emails)
            if phones is not None:
                _set_phones(customer, phones)
    except IntegrityError:
        errors = _conflicts(customer.organization, emails or (), phones or (), customer)
        if not errors:
            raise
        raise ValidationError(errors) from None


# --- agents' writes -----------------------------------------------------------------------


def customer_create(
    *,
    actor: Membership,
    name: str = "",
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    language: str = "",
    company: str = "",
    notes: str = "",
    custom_fields: Mapping[str, object] | None = None,
) -> Customer:
    """A new customer of the actor's organization. Phone numbers are read in the
    organization's country; ``custom_fields`` is validated against its definitions."""
    _require_writer(actor)
    organization = actor.organization
    errors: Errors = {}
    name = _clean_length("name", name, NAME_MAX_LENGTH, errors)
    company = _clean_length("company", company, COMPANY_MAX_LENGTH, errors)
    notes = _clean_length("notes", notes, NOTES_MAX_LENGTH, errors)
    language = _clean_language(language, errors)
    clean_emails = _clean_emails(emails, errors)
    clean_phones = _clean_phones(phones, organization.country, errors)
    values = _clean_custom_fields(organization, {}, custom_fields or {}, errors)
    if not errors and not (name or clean_emails or clean_phones):
        errors["name"] = [
            ValidationError(
                _("Give the customer a name, an email address or a phone number."),
                code="required",
            )
        ]
    for field, messages in _conflicts(organization, clean_emails, clean_phones, None).items():
        errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        customer = Customer.objects.create(
            organization=organization,
            name=name,
            language=language,
            company=company,
            notes=notes,
            custom_fields=values,
        )
        _save_contacts(customer, clean_emails, clean_phones)
    return customer


def customer_update(
    *,
    actor: Membership,
    customer: Customer,
    name: str | None = None,
    emails: Iterable[str] | None = None,
    phones: Iterable[str] | None = None,
    language: str | None = None,
    company: str | None = None,
    notes: str | None = None,
    custom_fields: Mapping[str, object] | None = None,
) -> Customer:
    """Changes what was given (None leaves a part alone). ``emails`` and ``phones`` replace the
    customer's lists. In ``custom_fields`` an empty value removes that key; keys not given keep
    their values."""
    _require_writer(actor)
    _require_own(actor, customer)
    organization = actor.organization
    errors: Errors = {}
    if name is not None:
        customer.name = _clean_length("name", name, NAME_MAX_LENGTH, errors)
    if company is not None:
        customer.company = _clean_length("company", company, COMPANY_MAX_LENGTH, errors)
    if notes is not None:
        customer.notes = _clean_length("notes", notes, NOTES_MAX_LENGTH, errors)
    if language is not None:
        customer.language = _clean_language(language, errors)
    clean_emails = None if emails is None else _clean_emails(emails, errors)
    clean_phones = None if phones is None else _clean_phones(phones, organization.country, errors)
    if custom_fields is not None:
        customer.custom_fields = _clean_custom_fields(
            organization, customer.custom_fields or {}, custom_fields, errors
        )
    if not errors and not customer.name:
        has_email = clean_emails if clean_emails is not None else customer.emails.exists()
        has_phone = clean_phones if clean_phones is not None else customer.phones.exists()
        if not (has_email or has_phone):
            errors["name"] = [
                ValidationError(
                    _("Give the customer a name, an email address or a phone number."),
                    code="required",
                )
            ]
    conflicts = _conflicts(organization, clean_emails or (), clean_phones or (), customer)
    for field, messages in conflicts.items():
        errors.setdefault(field, []).extend(messages)
    if errors:
        customer.refresh_from_db()
        raise ValidationError(errors)
    with transaction.atomic():
        customer.save()
        _save_contacts(customer, clean_emails, clean_phones)
    return customer


def customer_delete(*, actor: Membership, customer: Customer) -> None:
    """Deletes the customer with their email addresses and phone numbers. There is no undo."""
    _require_writer(actor)
    _require_own(actor, customer)
    with transaction.atomic():
        customer.delete()


# --- inbound contacts ---------------------------------------------------------------------


def _customer_match(
    organization: Organization, email: str | None, phone: str | None
) -> Customer | None:
    """The customer with this email address (any case), else the one with this number."""
    if email:
        row = (
            CustomerEmail.objects.for_organization(organization)
            .filter(email__iexact=email)
            .select_related("customer")
            .first()
        )
        if row is not None:
            return row.customer
    if phone:
        phone_row = (
            CustomerPhone.objects.for_organization(organization)
            .filter(number=phone)
            .select_related("customer")
            .first()
        )
        if phone_row is not None:
            return phone_row.customer
    return None


def _customer_insert(
    organization: Organization, *, email: str | None, phone: str | None, name: str, language: str
) -> Customer:
    """Creates the customer and their contact rows in a savepoint, so that an IntegrityError
    (someone else inserted the same address or number first) leaves the caller's transaction
    usable."""
    with transaction.atomic():
        customer = Customer.objects.create(organization=organization, name=name, language=language)
        if email:
            CustomerEmail.objects.create(organization=organization, customer=customer, email=email)
        if phone:
            CustomerPhone.objects.create(organization=organization, customer=customer, number=phone)
    return customer


def _fill_blank_name(customer: Customer, name: str) -> None:
    """A customer first known only by a number gets the name a later email or chat gives."""
    if customer.name or not name:
        return
    Customer.objects.filter(pk=customer.pk, organization=customer.organization_id, name="").update(
        name=name
    )
    customer.name = name


def _supported_language(language: str) -> str:
    if not language.strip():
        return ""
    try:
        return get_supported_language_variant(language.strip().lower().replace("_", "-"))
    except LookupError:
        return ""


def customer_find_or_create(
    *,
    organization: Organization,
    email: str | None = None,
    phone: str | None = None,
    name: str = "",
    language: str = "",
) -> tuple[Customer, bool]:
    """The customer an inbound email, call, text or chat comes from, and whether it is new.

    An existing customer is matched first: by email address regardless of case, then by phone
    number after normalisation to E.164 in the organization's country. Otherwise one is
    created with the given name and language (a language the UI does not offer is dropped).
    Safe when two deliveries from the same sender race: the loser of the insert finds the
    winner's row. Raises ValueError without an email address or phone number, and
    ValidationError when the one given is malformed.
    """
    clean_email = _clean_email(email) if email and email.strip() else None
    clean_phone = (
        phone_normalize(phone, region=organization.country) if phone and phone.strip() else None
    )
    if clean_email is None and clean_phone is None:
        raise ValueError("customer_find_or_create() needs an email address or a phone number")
    clean_name = name.strip()[:NAME_MAX_LENGTH]
    found = _customer_match(organization, clean_email, clean_phone)
    if found is not None:
        _fill_blank_name(found, clean_name)
        return found, False
    try:
        customer = _customer_insert(
            organization,
            email=clean_email,
            phone=clean_phone,
            name=clean_name,
            language=_supported_language(language),
        )
    except IntegrityError:
        found = _customer_match(organization, clean_email, clean_phone)
        if found is None:
            raise
        return found, False
    return customer, True
