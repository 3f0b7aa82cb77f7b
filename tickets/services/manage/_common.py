"""Helpers shared by the manager screens' services."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Membership

Errors = dict[str, list[ValidationError]]

POSITION_MAX = 32767


def require_manager(actor: Membership, *objects: models.Model | None) -> None:
    if not actor.can_manage:
        raise PermissionDenied
    require_own(actor, *objects)


def require_own(actor: Membership, *objects: models.Model | None) -> None:
    for obj in objects:
        if obj is not None and getattr(obj, "organization_id", None) != actor.organization_id:
            raise PermissionDenied


def add_error(errors: Errors, field: str, message: object, code: str) -> None:
    errors.setdefault(field, []).append(ValidationError(message, code=code))  # type: ignore[arg-type]


def clean_name(value: str, *, field: str, max_length: int, required: object, errors: Errors) -> str:
    """Whitespace collapsed; an error when empty or too long."""
    value = " ".join((value or "").split())
    if not value:
        add_error(errors, field, required, "required")
    elif len(value) > max_length:
        errors.setdefault(field, []).append(
            ValidationError(
                _("Keep it to %(max)s characters or fewer."),
                code="max_length",
                params={"max": max_length},
            )
        )
    return value


def same_org_choice(
    actor: Membership, errors: Errors, field: str, obj: models.Model | None
) -> None:
    """A team, group or account of another organization is refused as an unknown choice."""
    if obj is not None and getattr(obj, "organization_id", None) != actor.organization_id:
        add_error(errors, field, _("Choose one of the options."), "invalid_choice")


def taken(field: str, message: object, name: str) -> ValidationError:
    return ValidationError(
        {field: ValidationError(message, code="unique", params={"name": name})}  # type: ignore[arg-type]
    )


def save_unique(
    obj: models.Model,
    *,
    exists: Callable[[], bool],
    error: ValidationError,
    update_fields: list[str] | None = None,
) -> None:
    """Saves ``obj`` unless ``exists()`` says the name is taken, also when a concurrent request
    takes it between the check and the write."""
    if exists():
        raise error
    try:
        with transaction.atomic():
            obj.save(update_fields=update_fields)
    except IntegrityError:
        raise error from None


def raise_errors(errors: Errors) -> None:
    if errors:
        raise ValidationError(errors)
