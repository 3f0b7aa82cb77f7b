"""Writes for workflows and the automation settings (manager only).

A workflow's conditions and actions are validated through the registries
(``automations.engine.registry``): every condition's field and operator must be known and its
value goes through the kind's ``clean``; every action's parameters through its ``clean``.
Ids in values (tags, inboxes, teams, members, integration accounts, …) are checked against the
actor's organization here, whatever the form offered. ``trigger`` is derived from the
conditions, and ``updated_at`` is bumped on every write so the evaluators' caches reload.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext

from automations.engine.registry import ACTIONS, CONDITIONS, trigger_of
from automations.models import AutomationSettings, Workflow
from helpdesk.models import Membership, Organization, Team
from tickets.models import CustomStatus, Inbox, InboxGroup, IntegrationAccount, Tag

Errors = dict[str, list[ValidationError]]

MAX_CONDITIONS = 50
MAX_GROUPS = 10
MAX_ACTIONS = 20
NAME_MAX = 100
CAP_MAX = 100

# Which model an id in a value of this widget names (condition widgets and action param
# widgets share the vocabulary). "member" ids are user ids of the organization's members.
ID_WIDGETS: dict[str, Any] = {
    "tag": Tag,
    "tags": Tag,
    "inbox": Inbox,
    "inboxes": Inbox,
    "inbox_group": InboxGroup,
    "integration": IntegrationAccount,
    "marketplace": IntegrationAccount,
    "team": Team,
    "custom_status": CustomStatus,
}
MEMBER_WIDGETS = frozenset({"member", "agent", "round_robin_or_member"})


def _require_manager(actor: Membership, *objects: Any) -> None:
    if not actor.can_manage:
        raise PermissionDenied
    for obj in objects:
        if obj is not None and getattr(obj, "organization_id", None) != actor.organization_id:
            raise PermissionDenied


def _add(errors: Errors, key: str, error: ValidationError | str) -> None:
    if isinstance(error, ValidationError):
        errors.setdefault(key, []).extend(
            ValidationError(message, code=getattr(error, "code", None) or "invalid")
            for message in error.messages
        )
    else:
        errors.setdefault(key, []).append(ValidationError(error, code="invalid"))


# --- ids in values: always the actor's organization's ------------------------------------


def _ints(value: Any) -> list[int]:
    """The ids a value names: an int, a digit string, a list of those, or the ``id``/``team``/
    ``agent``/``member``/``user`` entries of a mapping."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, str):
        return [int(value)] if value.strip().isdigit() else []
    if isinstance(value, list | tuple | set | frozenset):
        return [i for item in value for i in _ints(item)]
    if isinstance(value, dict):
        found: list[int] = []
        for key in ("id", "ids", "team", "agent", "member", "user"):
            if key in value:
                found += _ints(value[key])
        return found
    return []


def _foreign_ids(organization: Organization | int, widget: str, value: Any) -> bool:
    """True when ``value`` names an object that is not the organization's."""
    if widget == "member_or_team" and isinstance(value, dict):
        kind = str(value.get("kind") or value.get("type") or "")
        if "team" in value or kind == "team":
            team = value.get("team", value.get("id"))
            return _foreign_ids(organization, "team", team)
        agent = value.get("agent", value.get("member", value.get("user", value.get("id"))))
        return _foreign_ids(organization, "member", agent)
    if widget == "status":
        # Custom statuses are chosen as "custom-<id>".
        values = value if isinstance(value, list | tuple) else [value]
        custom = [str(v)[len("custom-") :] for v in values if str(v).startswith("custom-")]
        return _foreign_ids(organization, "custom_status", custom)
    ids = set(_ints(value))
    if not ids:
        return False
    if widget in MEMBER_WIDGETS:
        found = Membership.objects.for_organization(organization).filter(user_id__in=ids)
        return found.count() != len(ids)
    model = ID_WIDGETS.get(widget)
    if model is None:
        return False
    return model.objects.for_organization(organization).filter(pk__in=ids).count() != len(ids)


# --- conditions and actions -----------------------------------------------------------


def _clean_condition(organization: Organization, row: Any, key: str, errors: Errors) -> Any:
    """One row through ``automations.conditions.validation.condition_row_clean`` (the kind's
    ``clean`` and its references checked against the organization), then checked once more
    here: no id in a value may name another organization's object."""
    from automations.conditions.validation import condition_row_clean

    try:
        cleaned = condition_row_clean(organization, row)
    except ValidationError as error:
        _add(errors, key, error)
        return None
    kind = CONDITIONS[cleaned["field"]]
    if _foreign_ids(organization, kind.widget, cleaned["value"]):
        _add(errors, key, gettext("Choose one of the options."))
        return None
    return cleaned


def _clean_conditions(organization: Organization, spec: Any, errors: Errors) -> dict[str, Any]:
    spec = spec if isinstance(spec, dict) else {}
    all_rows = spec.get("all") or []
    groups = [group for group in (spec.get("any") or []) if group]
    if not isinstance(all_rows, list) or not isinstance(groups, list):
        _add(errors, "conditions", gettext("The conditions could not be read."))
        return {"all": [], "any": []}
    total = len(all_rows) + sum(len(g) if isinstance(g, list) else 1 for g in groups)
    if total > MAX_CONDITIONS or len(groups) > MAX_GROUPS:
        _add(
            errors,
            "conditions",
            gettext("Keep it to %(rows)s conditions in %(groups)s groups or fewer.")
            % {"rows": MAX_CONDITIONS, "groups": MAX_GROUPS},
        )
        return {"all": [], "any": []}
    cleaned_all = [
        _clean_condition(organization, row, f"conditions.all.{i}", errors)
        for i, row in enumerate(all_rows)
    ]
    cleaned_any = []
    for g, group in enumerate(groups):
        rows = group if isinstance(group, list) else [group]
        cleaned_any.append(
            [
                _clean_condition(organization, row, f"conditions.any.{g}.{i}", errors)
                for i, row in enumerate(rows)
            ]
        )
    cleaned = {"all": cleaned_all, "any": cleaned_any}
    if not errors:
        # What only the whole set can tell (trigger conditions that never meet, …).
        from automations.conditions.validation import conditions_clean

        try:
            cleaned = conditions_clean(organization, cleaned)
        except ValidationError as error:
            _add(errors, "conditions", error)
    return cleaned


def _ai_enabled(organization: Organization) -> bool:
    return (
        AutomationSettings.objects.for_organization(organization).filter(ai_enabled=True).exists()
    )


def _clean_action(organization: Organization, row: Any, key: str, errors: Errors) -> Any:
    if not isinstance(row, dict):
        _add(errors, key, gettext("Choose an action."))
        return None
    kind = ACTIONS.get(str(row.get("type") or ""))
    if kind is None:
        _add(errors, key, gettext("Choose an action."))
        return None
    params = row.get("params") or {}
    if not isinstance(params, dict):
        _add(errors, key, gettext("The action's settings could not be read."))
        return None
    before = sum(len(v) for v in errors.values())
    if kind.experimental and not _ai_enabled(organization):
        _add(
            errors,
            key,
            gettext("Turn on AI messages in the automation settings before using this action."),
        )
    for spec in kind.params:
        if spec.required and params.get(spec.name) in (None, "", [], {}):
            _add(errors, f"{key}.{spec.name}", gettext("This field is required."))
    if sum(len(v) for v in errors.values()) != before:
        return None
    if kind.clean is not None:
        try:
            params = kind.clean(organization, dict(params))
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for name, messages in error.error_dict.items():
                    for message in messages:
                        _add(errors, f"{key}.{name}" if name != "__all__" else key, message)
            else:
                _add(errors, key, error)
            return None
    for spec in kind.params:
        if _foreign_ids(organization, spec.widget, params.get(spec.name)):
            _add(errors, f"{key}.{spec.name}", gettext("Choose one of the options."))
    return {"type": kind.key, "params": params}


def _clean_actions(
    organization: Organization, rows: Any, errors: Errors, *, require_action: bool = True
) -> list[Any]:
    if not isinstance(rows, list):
        _add(errors, "actions", gettext("The actions could not be read."))
        return []
    if not rows and require_action:
        _add(errors, "actions", gettext("Add at least one action."))
    if len(rows) > MAX_ACTIONS:
        _add(
            errors,
            "actions",
            gettext("Keep it to %(count)s actions or fewer.") % {"count": MAX_ACTIONS},
        )
        return []
    return [_clean_action(organization, row, f"actions.{i}", errors) for i, row in enumerate(rows)]


def workflow_clean(
    *, organization: Organization, conditions: Any, actions: Any, require_action: bool = True
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The conditions and actions as they are stored, or a ValidationError keyed by where
    each problem is: ``conditions.all.<i>``, ``conditions.any.<group>.<i>``, ``actions``,
    ``actions.<i>`` and ``actions.<i>.<param>``. ``require_action=False`` for dry runs."""
    errors: Errors = {}
    cleaned_conditions = _clean_conditions(organization, conditions, errors)
    cleaned_actions = _clean_actions(organization, actions, errors, require_action=require_action)
    if errors:
        raise ValidationError(errors)
    return cleaned_conditions, cleaned_actions


def _clean_text(value: str, *, field: str, required: str, errors: Errors, max_length: int) -> str:
    value = (value or "").strip()
    if field == "name":
        value = " ".join(value.split())
    if not value:
        _add(errors, field, required)
    elif len(value) > max_length:
        _add(
            errors,
            field,
            gettext("Keep it to %(max)s characters or fewer.") % {"max": max_length},
        )
    return value


def _apply(
    workflow: Workflow,
    *,
    organization: Organization,
    name: str,
    description: str,
    conditions: Any,
    actions: Any,
) -> None:
    errors: Errors = {}
    workflow.name = _clean_text(
        name,
        field="name",
        required=gettext("Give the workflow a name."),
        errors=errors,
        max_length=NAME_MAX,
    )
    workflow.description = _clean_text(
        description,
        field="description",
        required=gettext("Describe what the workflow does, so it is easy to find."),
        errors=errors,
        max_length=2000,
    )
    try:
        workflow.conditions, workflow.actions = workflow_clean(
            organization=organization, conditions=conditions, actions=actions
        )
    except ValidationError as error:
        for key, messages in error.error_dict.items():
            errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    workflow.trigger = trigger_of(workflow.conditions)
    workflow.updated_at = timezone.now()


def _next_position(organization_id: int) -> int:
    last = Workflow.objects.for_organization(organization_id).aggregate(top=Max("position"))
    return int(last["top"] or 0) + 1


@transaction.atomic
def workflow_create(
    *,
    actor: Membership,
    name: str,
    description: str,
    conditions: Any,
    actions: Any,
    enabled: bool = False,
    template_key: str = "",
) -> Workflow:
    _require_manager(actor)
    workflow = Workflow(
        organization_id=actor.organization_id,
        enabled=bool(enabled),
        template_key=(template_key or "")[:50],
        created_by_id=actor.user_id,
    )
    _apply(
        workflow,
        organization=actor.organization,
        name=name,
        description=description,
        conditions=conditions,
        actions=actions,
    )
    workflow.position = _next_position(actor.organization_id)
    workflow.save()
    return workflow


@transaction.atomic
def workflow_update(
    *,
    actor: Membership,
    workflow: Workflow,
    name: str,
    description: str,
    conditions: Any,
    actions: Any,
    enabled: bool,
) -> Workflow:
    _require_manager(actor, workflow)
    _apply(
        workflow,
        organization=actor.organization,
        name=name,
        description=description,
        conditions=conditions,
        actions=actions,
    )
    workflow.enabled = bool(enabled)
    workflow.save()
    return workflow


@transaction.atomic
def workflow_set_enabled(*, actor: Membership, workflow: Workflow, enabled: bool) -> Workflow:
    _require_manager(actor, workflow)
    workflow.enabled = bool(enabled)
    workflow.updated_at = timezone.now()
    workflow.save(update_fields=["enabled", "updated_at"])
    return workflow


@transaction.atomic
def workflow_duplicate(*, actor: Membership, workflow: Workflow) -> Workflow:
    """A disabled copy named "Copy of …", placed last."""
    _require_manager(actor, workflow)
    name = gettext("Copy of %(name)s") % {"name": workflow.name}
    if len(name) > NAME_MAX:
        name = name[: NAME_MAX - 1] + "…"
    now = timezone.now()
    copy = Workflow(
        organization_id=actor.organization_id,
        name=name,
        description=workflow.description,
        enabled=False,
        trigger=workflow.trigger,
        conditions=workflow.conditions,
        actions=workflow.actions,
        template_key=workflow.template_key,
        created_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
        position=_next_position(actor.organization_id),
    )
    copy.save()
    return copy


@transaction.atomic
def workflow_delete(*, actor: Membership, workflow: Workflow) -> None:
    """Deletes the workflow and its run log; what it did to tickets stays on their timelines."""
    _require_manager(actor, workflow)
    Workflow.objects.for_organization(actor.organization_id).filter(pk=workflow.pk).delete()


def workflow_from_template(
    *, actor: Membership, template_key: str, enabled: bool = False
) -> Workflow:
    """A workflow made from a gallery template as it is (disabled unless ``enabled``). A
    template that needs choices this organization cannot fill (no team yet, …) raises the
    ValidationError that says what is missing."""
    from automations.gallery import template_get

    _require_manager(actor)
    template = template_get(template_key)
    if template is None:
        raise ValidationError(gettext("There is no such template."), code="invalid")
    draft = template.draft(actor.organization)
    return workflow_create(
        actor=actor,
        name=draft.name,
        description=draft.description,
        conditions=draft.conditions,
        actions=draft.actions,
        enabled=enabled,
        template_key=template.key,
    )


# --- settings -----------------------------------------------------------------------------


def automation_settings_get(*, organization: Organization | int) -> AutomationSettings:
    """The organization's settings, or unsaved defaults."""
    org_id = organization if isinstance(organization, int) else organization.pk
    found = AutomationSettings.objects.for_organization(org_id).first()
    return found or AutomationSettings(organization_id=org_id)


_url = URLValidator(schemes=["http", "https"])


def _clean_url(value: str, field: str, errors: Errors) -> str:
    value = (value or "").strip()
    if value:
        try:
            _url(value)
        except ValidationError:
            _add(errors, field, gettext("Enter a web address starting with http:// or https://."))
    return value


@transaction.atomic
def automation_settings_update(
    *,
    actor: Membership,
    translate_url: str = "",
    translate_api_key: str = "",
    clear_translate_api_key: bool = False,
    ai_enabled: bool = False,
    ai_base_url: str = "",
    ai_api_key: str = "",
    clear_ai_api_key: bool = False,
    ai_model: str = "",
    max_automated_per_ticket_per_hour: int = 5,
) -> AutomationSettings:
    """Keys are write-only: an empty key keeps the stored one (``clear_*`` removes it)."""
    _require_manager(actor)
    current = (
        AutomationSettings.objects.for_organization(actor.organization_id)
        .select_for_update()
        .first()
    ) or AutomationSettings(organization_id=actor.organization_id)
    errors: Errors = {}
    current.translate_url = _clean_url(translate_url, "translate_url", errors)
    current.ai_base_url = _clean_url(ai_base_url, "ai_base_url", errors)
    current.ai_model = (ai_model or "").strip()[:100]
    current.ai_enabled = bool(ai_enabled)
    for field, value, clear, limit in (
        ("translate_api_key", translate_api_key, clear_translate_api_key, 200),
        ("ai_api_key", ai_api_key, clear_ai_api_key, 300),
    ):
        value = (value or "").strip()
        if len(value) > limit:
            _add(errors, field, gettext("Keep it to %(max)s characters or fewer.") % {"max": limit})
        elif value:
            setattr(current, field, value)
        elif clear:
            setattr(current, field, "")
    if current.ai_enabled:
        if not current.ai_base_url:
            _add(errors, "ai_base_url", gettext("AI messages need the endpoint's address."))
        if not current.ai_model:
            _add(errors, "ai_model", gettext("AI messages need a model name."))
    try:
        cap = int(max_automated_per_ticket_per_hour)
    except (TypeError, ValueError):
        cap = -1
    if not 1 <= cap <= CAP_MAX:
        _add(
            errors,
            "max_automated_per_ticket_per_hour",
            gettext("Enter a number from 1 to %(max)s.") % {"max": CAP_MAX},
        )
    else:
        current.max_automated_per_ticket_per_hour = cap
    if errors:
        raise ValidationError(errors)
    current.save()
    return current


__all__ = [
    "automation_settings_get",
    "automation_settings_update",
    "workflow_clean",
    "workflow_create",
    "workflow_delete",
    "workflow_duplicate",
    "workflow_from_template",
    "workflow_set_enabled",
    "workflow_update",
]
