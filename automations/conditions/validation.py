"""Validating a workflow's conditions against its organization before it is saved.

``ConditionType.clean`` checks a value's shape without an organization; ``conditions_clean``
adds what needs one: the tags, inboxes, inbox groups, integration accounts, teams, agents and
ticket types a row names must be the organization's own (ids of another tenant are refused as
if they did not exist).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from automations.conditions.common import int_list, str_list
from automations.engine.registry import CONDITIONS, conditions_of
from helpdesk.models import Membership, Organization, Team
from tickets.models import CustomTicketType, Inbox, InboxGroup, IntegrationAccount, SystemType, Tag


def _all_exist(queryset: Any, ids: list[int]) -> bool:
    return bool(ids) and queryset.filter(pk__in=ids).count() == len(ids)


def _accounts(kind: str) -> Callable[[Organization, Any], bool]:
    def check(organization: Organization, value: Any) -> bool:
        accounts = IntegrationAccount.objects.for_organization(organization).filter(kind=kind)
        return _all_exist(accounts, int_list(value))

    return check


def _rows_of(model: Any) -> Callable[[Organization, Any], bool]:
    def check(organization: Organization, value: Any) -> bool:
        return _all_exist(model.objects.for_organization(organization), int_list(value))

    return check


def _ticket_types(organization: Organization, value: Any) -> bool:
    custom = CustomTicketType.objects.for_organization(organization).values_list("key", flat=True)
    known = set(SystemType.values) | set(custom)
    return all(key in known for key in str_list(value))


def _working_hours(organization: Organization, value: Any) -> bool:
    if value.get("ticket_team"):
        return True
    if "team" in value:
        return _all_exist(Team.objects.for_organization(organization), int_list(value["team"]))
    users = int_list(value.get("user"))
    return bool(users) and (
        Membership.objects.for_organization(organization).filter(user_id=users[0]).exists()
    )


REFERENCES: dict[str, tuple[Callable[[Organization, Any], bool], Callable[[], str]]] = {
    "integration": (
        _accounts(IntegrationAccount.Kind.INTEGRATION),
        lambda: _("Choose an integration account of this organization."),
    ),
    "marketplace": (
        _accounts(IntegrationAccount.Kind.MARKETPLACE),
        lambda: _("Choose a marketplace account of this organization."),
    ),
    "inbox": (_rows_of(Inbox), lambda: _("Choose inboxes of this organization.")),
    "inbox_group": (_rows_of(InboxGroup), lambda: _("Choose inbox groups of this organization.")),
    "tag_added": (_rows_of(Tag), lambda: _("Choose a tag of this organization.")),
    "tag": (_rows_of(Tag), lambda: _("Choose tags of this organization.")),
    "ticket_type": (_ticket_types, lambda: _("Choose ticket types of this organization.")),
    "working_hours": (
        _working_hours,
        lambda: _("Choose an agent or a team of this organization."),
    ),
}


def condition_row_clean(organization: Organization, row: Any) -> dict[str, Any]:
    """One row ``{"field", "op", "value"}``, normalised; ValidationError when it is not valid
    for ``organization``."""
    if not isinstance(row, dict):
        raise ValidationError(_("A condition is malformed."), code="invalid")
    kind = CONDITIONS.get(str(row.get("field", "")))
    if kind is None:
        raise ValidationError(_("Choose a condition."), code="invalid")
    op = str(row.get("op", ""))
    if op not in kind.operators:
        raise ValidationError(
            _("%(condition)s: choose an operator.") % {"condition": kind.label}, code="invalid"
        )
    value = row.get("value")
    try:
        if kind.clean is not None:
            value = kind.clean(op, value)
        reference = REFERENCES.get(kind.key)
        if reference is not None and not reference[0](organization, value):
            raise ValidationError(reference[1](), code="invalid_choice")
    except ValidationError as error:
        messages = [
            _("%(condition)s: %(error)s") % {"condition": kind.label, "error": message}
            for message in error.messages
        ]
        raise ValidationError(messages, code="invalid") from None
    return {"field": kind.key, "op": op, "value": value}


def conditions_clean(organization: Organization, spec: Any) -> dict[str, Any]:
    """The whole ``{"all": [...], "any": [[...], ...]}``, every row cleaned, empty ANY groups
    dropped; refuses trigger conditions in ALL that can never hold on the same event (e.g.
    "tag assigned" and "status set")."""
    if spec in (None, ""):
        spec = {}
    if not isinstance(spec, dict):
        raise ValidationError(_("The conditions are malformed."), code="invalid")
    all_rows, any_groups = conditions_of(spec)
    errors: list[str] = []
    cleaned_all: list[dict[str, Any]] = []
    cleaned_any: list[list[dict[str, Any]]] = []
    for row in all_rows:
        try:
            cleaned_all.append(condition_row_clean(organization, row))
        except ValidationError as error:
            errors.extend(error.messages)
    for group in any_groups:
        cleaned_group = []
        for row in group:
            try:
                cleaned_group.append(condition_row_clean(organization, row))
            except ValidationError as error:
                errors.extend(error.messages)
        if cleaned_group:
            cleaned_any.append(cleaned_group)
    events: frozenset[str] | None = None
    for row in cleaned_all:
        triggers = CONDITIONS[row["field"]].triggers
        if triggers:
            events = triggers if events is None else events & triggers
    if events is not None and not events:
        errors.append(
            _(
                "These “when something happens” conditions can never happen at the same time; "
                "put them in an ANY group or in separate workflows."
            )
        )
    if errors:
        raise ValidationError(errors, code="invalid")
    return {"all": cleaned_all, "any": cleaned_any}
