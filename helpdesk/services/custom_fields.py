"""Writes for custom field definitions, and validation of customers' custom field values.

Values live in ``Customer.custom_fields`` (JSON), keyed by the definition's ``key``, stored as:
text → string, number → string in plain decimal notation (``"12.50"``; a string so that no
precision is lost through JSON floats), date → ISO string ``"2024-05-31"``, choice → the choice's
string, boolean → JSON ``true``/``false``. Empty values are not stored.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext_lazy as _

from helpdesk.models import CustomField, FieldType, Membership, Organization

TEXT_MAX_LENGTH = 1000
KEY_MAX_LENGTH = 50
LABEL_MAX_LENGTH = 100
CHOICE_MAX_LENGTH = 200
MAX_CHOICES = 200
POSITION_MAX = 32767
# Plain-notation numbers longer than this are refused (and so is 1e999999, before formatting it).
NUMBER_MAX_DIGITS = 40

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Errors = dict[str, list[ValidationError]]


def _require_manager(actor: Membership) -> None:
    if not actor.can_manage:
        raise PermissionDenied


def _require_own(actor: Membership, field: CustomField) -> None:
    if field.organization_id != actor.organization_id:
        raise PermissionDenied


def _clean_label(label: str, errors: Errors) -> str:
    label = label.strip()
    if not label:
        errors.setdefault("label", []).append(
            ValidationError(_("Give the field a label."), code="required")
        )
    elif len(label) > LABEL_MAX_LENGTH:
        errors.setdefault("label", []).append(
            ValidationError(
                _("Keep the label to %(max)s characters or fewer."),
                code="max_length",
                params={"max": LABEL_MAX_LENGTH},
            )
        )
    return label


def _clean_choices(field_type: str, choices: Iterable[str], errors: Errors) -> list[str]:
    cleaned: list[str] = []
    for choice in choices:
        text = str(choice).strip()
        if text and text not in cleaned:
            cleaned.append(text)
    problem: ValidationError | None = None
    if field_type == FieldType.CHOICE and not cleaned:
        problem = ValidationError(_("A choice field needs at least one choice."), code="required")
    elif field_type != FieldType.CHOICE and cleaned:
        problem = ValidationError(_("Only choice fields have choices."), code="not_choice")
    elif len(cleaned) > MAX_CHOICES:
        problem = ValidationError(
            _("A field can have at most %(max)s choices."),
            code="too_many",
            params={"max": MAX_CHOICES},
        )
    else:
        too_long = next((c for c in cleaned if len(c) > CHOICE_MAX_LENGTH), None)
        if too_long is not None:
            problem = ValidationError(
                _("Keep each choice to %(max)s characters or fewer."),
                code="max_length",
                params={"max": CHOICE_MAX_LENGTH},
            )
    if problem is not None:
        errors.setdefault("choices", []).append(problem)
    return cleaned


def _clean_position(position: int, errors: Errors) -> int:
    if not 0 <= position <= POSITION_MAX:
        errors.setdefault("position", []).append(
            ValidationError(
                _("Enter a position between 0 and %(max)s."),
                code="range",
                params={"max": POSITION_MAX},
            )
        )
    return position


def _key_taken_error(key: str) -> ValidationError:
    return ValidationError(
        {
            "key": ValidationError(
                _("A custom field with the key “%(key)s” already exists."),
                code="unique",
                params={"key": key},
            )
        }
    )


def custom_field_create(
    *,
    actor: Membership,
    key: str,
    label: str,
    field_type: str,
    choices: Iterable[str] = (),
    show_in_chat: bool = False,
    position: int | None = None,
) -> CustomField:
    """A new definition; without a ``position`` it goes after the existing ones.

    The key and the type cannot change later: stored values are keyed and typed by them.
    """
    _require_manager(actor)
    organization = actor.organization
    errors: Errors = {}
    key = key.strip().lower()
    try:
        validate_slug(key)
    except ValidationError as exc:
        errors["key"] = [exc]
    if len(key) > KEY_MAX_LENGTH:
        errors.setdefault("key", []).append(
            ValidationError(
                _("Keep the key to %(max)s characters or fewer."),
                code="max_length",
                params={"max": KEY_MAX_LENGTH},
            )
        )
    label = _clean_label(label, errors)
    if field_type not in FieldType.values:
        errors["field_type"] = [ValidationError(_("Choose a type."), code="invalid_choice")]
    cleaned_choices = _clean_choices(field_type, choices, errors)
    if position is not None:
        _clean_position(position, errors)
    if errors:
        raise ValidationError(errors)

    fields = CustomField.objects.for_organization(organization)
    with transaction.atomic():
        if fields.filter(key=key).exists():
            raise _key_taken_error(key)
        if position is None:
            highest = fields.aggregate(highest=Max("position"))["highest"]
            position = 0 if highest is None else min(highest + 1, POSITION_MAX)
        try:
            with transaction.atomic():
                return CustomField.objects.create(
                    organization=organization,
                    key=key,
                    label=label,
                    field_type=field_type,
                    choices=cleaned_choices,
                    show_in_chat=show_in_chat,
                    position=position,
                )
        except IntegrityError:
            # Another manager created the same key between the check and the insert.
            raise _key_taken_error(key) from None


def custom_field_update(
    *,
    actor: Membership,
    field: CustomField,
    label: str | None = None,
    choices: Iterable[str] | None = None,
    show_in_chat: bool | None = None,
    position: int | None = None,
) -> CustomField:
    """Changes what was given. Removing a choice leaves customers' old values in place."""
    _require_manager(actor)
    _require_own(actor, field)
    errors: Errors = {}
    if label is not None:
        field.label = _clean_label(label, errors)
    if choices is not None:
        field.choices = _clean_choices(field.field_type, choices, errors)
    if position is not None:
        field.position = _clean_position(position, errors)
    if show_in_chat is not None:
        field.show_in_chat = show_in_chat
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        field.save(update_fields=["label", "choices", "show_in_chat", "position"])
    return field


def custom_field_delete(*, actor: Membership, field: CustomField) -> None:
    """Deletes the definition. Customers keep the stored values, which are no longer shown."""
    _require_manager(actor)
    _require_own(actor, field)
    with transaction.atomic():
        field.delete()


# --- values -------------------------------------------------------------------------------


def is_empty_value(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _invalid(message: Any, value: object, code: str = "invalid") -> ValidationError:
    return ValidationError(message, code=code, params={"value": str(value).strip()})


def _clean_text(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValidationError(_("Enter text."), code="invalid")
    text = str(value).strip()
    if len(text) > TEXT_MAX_LENGTH:
        raise ValidationError(
            _("Keep it to %(max)s characters or fewer."),
            code="max_length",
            params={"max": TEXT_MAX_LENGTH},
        )
    return text


def _clean_number(value: object) -> str:
    not_a_number = _("“%(value)s” is not a number.")
    if isinstance(value, bool):
        raise _invalid(not_a_number, value)
    if isinstance(value, float):
        value = str(value)
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise _invalid(not_a_number, value) from None
    elif isinstance(value, int | Decimal):
        number = Decimal(value)
    else:
        raise _invalid(not_a_number, value)
    if not number.is_finite():
        raise _invalid(not_a_number, value)
    too_long = len(number.as_tuple().digits) > NUMBER_MAX_DIGITS
    if too_long or not -NUMBER_MAX_DIGITS <= number.adjusted() <= NUMBER_MAX_DIGITS:
        raise _invalid(_("“%(value)s” has too many digits."), value, code="max_digits")
    if number == 0:
        number = abs(number)  # no "-0"
    return format(number, "f")


def _clean_date(value: object) -> str:
    if isinstance(value, dt.datetime):
        raise _invalid(_("“%(value)s” is not a date in the form yyyy-mm-dd."), value)
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    if isinstance(value, str) and _ISO_DATE.match(text):
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            pass
    raise _invalid(_("“%(value)s” is not a date in the form yyyy-mm-dd."), value)


def _clean_choice(value: object, field: CustomField) -> str:
    text = str(value).strip() if isinstance(value, str | int | Decimal) else None
    if isinstance(value, bool) or text not in field.choices:
        raise _invalid(_("“%(value)s” is not one of the choices."), value, code="invalid_choice")
    assert text is not None
    return text


def _clean_boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise _invalid(_("“%(value)s” is neither true nor false."), value)


def custom_field_value_clean(*, field: CustomField, value: object) -> object:
    """One value in its stored form, or None when it is empty; ValidationError when invalid."""
    if is_empty_value(value):
        return None
    match field.field_type:
        case FieldType.TEXT:
            return _clean_text(value)
        case FieldType.NUMBER:
            return _clean_number(value)
        case FieldType.DATE:
            return _clean_date(value)
        case FieldType.CHOICE:
            return _clean_choice(value, field)
        case FieldType.BOOLEAN:
            return _clean_boolean(value)
    raise ValidationError(_("This field has an unknown type."), code="invalid")


def custom_field_values_clean_with(
    *, fields: Iterable[CustomField], values: Mapping[str, object]
) -> dict[str, object]:
    """Like :func:`custom_field_values_clean` with the organization's definitions at hand."""
    by_key = {field.key: field for field in fields}
    errors: Errors = {}
    cleaned: dict[str, object] = {}
    for key, value in values.items():
        field = by_key.get(key)
        if field is None:
            errors[key] = [
                ValidationError(
                    _("There is no custom field “%(key)s”."),
                    code="unknown_field",
                    params={"key": key},
                )
            ]
            continue
        try:
            stored = custom_field_value_clean(field=field, value=value)
        except ValidationError as exc:
            errors[key] = [exc]
            continue
        if stored is not None:
            cleaned[key] = stored
    if errors:
        raise ValidationError(errors)
    return cleaned


def custom_field_values_clean(
    *, organization: Organization, values: Mapping[str, object]
) -> dict[str, object]:
    """``values`` (key → value) validated against the organization's definitions, in stored
    form, without the empty ones. Raises a ValidationError keyed by the offending keys."""
    fields = CustomField.objects.for_organization(organization)
    return custom_field_values_clean_with(fields=fields, values=values)
