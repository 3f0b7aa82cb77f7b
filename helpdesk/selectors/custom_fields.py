"""Reads for custom field definitions and for showing customers' values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from helpdesk.models import CustomField, FieldType, Membership, Organization


def custom_field_list(
    *, organization: Organization, chat_only: bool = False
) -> QuerySet[CustomField]:
    """The organization's definitions in their display order (every member may read them)."""
    fields = CustomField.objects.for_organization(organization)
    if chat_only:
        fields = fields.filter(show_in_chat=True)
    return fields.order_by("position", "id")


def access_custom_field(*, actor: Membership, field_id: int) -> CustomField:
    """The actor's organization's definition, or 404 (also for another organization's id)."""
    return get_object_or_404(CustomField.objects.for_organization(actor.organization), pk=field_id)


@dataclass(frozen=True)
class CustomFieldValue:
    """A stored value ready for a template: ``kind`` says how to format ``value``."""

    field: CustomField
    value: object
    kind: str


def _typed(field: CustomField, stored: object) -> CustomFieldValue:
    # Values written before a definition was deleted and re-created with another type may not
    # fit the new type; they are shown as text rather than failing the page.
    as_text = CustomFieldValue(field=field, value=str(stored), kind=FieldType.TEXT)
    match field.field_type:
        case FieldType.NUMBER:
            try:
                return CustomFieldValue(field=field, value=Decimal(str(stored)), kind="number")
            except InvalidOperation:
                return as_text
        case FieldType.DATE:
            try:
                day = dt.date.fromisoformat(str(stored))
            except ValueError:
                return as_text
            return CustomFieldValue(field=field, value=day, kind="date")
        case FieldType.BOOLEAN:
            if isinstance(stored, bool):
                return CustomFieldValue(field=field, value=stored, kind="boolean")
            return as_text
    return as_text


def custom_field_values_display(
    *, fields: Iterable[CustomField], values: Mapping[str, object]
) -> list[CustomFieldValue]:
    """The values of ``values`` that have a definition among ``fields``, in the fields' order.
    Values whose definition was deleted are left out."""
    return [
        _typed(field, values[field.key])
        for field in fields
        if field.key in values and values[field.key] not in (None, "")
    ]
