"""Actions that change the ticket: set status, set priority, assign team, assign tag, add an
internal note. Each calls the tickets service as the system (``actor=None``); the engine's
``acting_as`` makes the timeline name the workflow and why.

Ids in the parameters are checked against the organization when the workflow is saved
(``clean``) and looked up within the ticket's organization when the action runs.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from automations.actions.common import int_param, quote, render, text_param
from automations.actions.messages import TEMPLATE_HELP
from automations.engine.registry import (
    ActionContext,
    ActionError,
    ActionType,
    ParamSpec,
    action_register,
)
from automations.safety import workflow_label
from helpdesk.models import Organization, Team
from tickets.models import CustomStatus, Priority, Status, Tag
from tickets.services.automated import note_add_automated
from tickets.services.tickets import (
    tag_get_or_create,
    ticket_add_tag,
    ticket_set_priority,
    ticket_set_status,
    ticket_set_team,
)

# Custom statuses are chosen as "custom-<id>", as in the console's status form.
CUSTOM_STATUS_PREFIX = "custom-"


# --- set status -------------------------------------------------------------------------------


def _custom_status_id(value: Any) -> int | None:
    text = str(value).strip()
    if text.startswith(CUSTOM_STATUS_PREFIX):
        text = text[len(CUSTOM_STATUS_PREFIX) :]
    return int(text) if text.isdigit() else None


def _status_clean(organization: Organization, params: dict[str, Any]) -> dict[str, Any]:
    value = str(params.get("status") or "").strip()
    if value in Status.values:
        return {"status": value}
    custom_id = _custom_status_id(value)
    if (
        custom_id is None
        or not CustomStatus.objects.for_organization(organization)
        .filter(pk=custom_id, active=True)
        .exists()
    ):
        raise ValidationError({"status": _("Choose a status.")})
    return {"status": f"{CUSTOM_STATUS_PREFIX}{custom_id}"}


def _status_label(value: str, organization_id: int | None = None) -> str:
    if value in Status.values:
        return str(Status(value).label)
    custom_id = _custom_status_id(value)
    if custom_id is None:
        return value
    # Only ids checked against the organization when the workflow was saved get here.
    queryset = (
        CustomStatus.objects.for_organization(organization_id)
        if organization_id is not None
        else CustomStatus.all_objects
    )
    name = queryset.filter(pk=custom_id).values_list("name", flat=True).first()
    return name or value


def _status_run(action: ActionContext, params: dict[str, Any]) -> str:
    ticket = action.ctx.ticket
    value = str(params.get("status") or "")
    custom = None
    if value in Status.values:
        status = value
    else:
        custom_id = _custom_status_id(value)
        custom = (
            CustomStatus.objects.for_organization(ticket.organization_id)
            .filter(pk=custom_id)
            .first()
            if custom_id is not None
            else None
        )
        if custom is None:
            raise ActionError(_("that status no longer exists"))
        status = custom.base_status
    label = custom.name if custom is not None else str(Status(status).label)
    if ticket.status == status and ticket.custom_status_id == (custom.pk if custom else None):
        return _("the status was already %(status)s") % {"status": label}
    ticket_set_status(actor=None, ticket=ticket, status=status, custom_status=custom)
    return _("set the status to %(status)s") % {"status": label}


def _status_describe(params: dict[str, Any]) -> str:
    return _("would set the status to %(status)s") % {
        "status": _status_label(str(params.get("status") or ""))
    }


action_register(
    ActionType(
        key="set_status",
        label=gettext_lazy("Set status"),
        params=(ParamSpec("status", gettext_lazy("Status"), "status"),),
        run=_status_run,
        describe=_status_describe,
        clean=_status_clean,
    )
)


# --- set priority -----------------------------------------------------------------------------


def _priority_clean(organization: Organization, params: dict[str, Any]) -> dict[str, Any]:
    priority = int_param(params, "priority", message=_("Choose a priority."))
    if priority not in Priority.values:
        raise ValidationError({"priority": _("Choose a priority.")})
    return {"priority": priority}


def _priority_run(action: ActionContext, params: dict[str, Any]) -> str:
    try:
        priority = int(params.get("priority"))  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ActionError(_("no priority chosen")) from exc
    if priority not in Priority.values:
        raise ActionError(_("no priority chosen"))
    label = str(Priority(priority).label)
    if action.ctx.ticket.priority == priority:
        return _("the priority was already %(priority)s") % {"priority": label}
    ticket_set_priority(actor=None, ticket=action.ctx.ticket, priority=priority)
    return _("set the priority to %(priority)s") % {"priority": label}


def _priority_describe(params: dict[str, Any]) -> str:
    try:
        label = str(Priority(int(params.get("priority"))).label)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        label = "?"
    return _("would set the priority to %(priority)s") % {"priority": label}


action_register(
    ActionType(
        key="set_priority",
        label=gettext_lazy("Set priority"),
        params=(ParamSpec("priority", gettext_lazy("Priority"), "priority"),),
        run=_priority_run,
        describe=_priority_describe,
        clean=_priority_clean,
    )
)


# --- assign team ------------------------------------------------------------------------------


def _team_clean(organization: Organization, params: dict[str, Any]) -> dict[str, Any]:
    team_id = int_param(params, "team", message=_("Choose a team."))
    if not Team.objects.for_organization(organization).filter(pk=team_id).exists():
        raise ValidationError({"team": _("Choose a team.")})
    return {"team": team_id}


def _team_run(action: ActionContext, params: dict[str, Any]) -> str:
    ticket = action.ctx.ticket
    team = (
        Team.objects.for_organization(ticket.organization_id)
        .filter(pk=_int_or_none(params.get("team")))
        .first()
    )
    if team is None:
        raise ActionError(_("that team no longer exists"))
    if ticket.team_id == team.pk:
        return _("the ticket was already in team %(team)s") % {"team": team.name}
    ticket_set_team(actor=None, ticket=ticket, team=team)
    return _("moved the ticket to team %(team)s") % {"team": team.name}


def _team_describe(params: dict[str, Any]) -> str:
    # Only ids checked against the organization when the workflow was saved get here.
    team_id = _int_or_none(params.get("team"))
    name = (
        Team.all_objects.filter(pk=team_id).values_list("name", flat=True).first()
        if team_id is not None
        else None
    )
    return _("would move the ticket to team %(team)s") % {"team": name or "?"}


def _int_or_none(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


action_register(
    ActionType(
        key="assign_team",
        label=gettext_lazy("Assign team"),
        params=(ParamSpec("team", gettext_lazy("Team"), "team"),),
        run=_team_run,
        describe=_team_describe,
        clean=_team_clean,
    )
)


# --- assign tag -------------------------------------------------------------------------------


def _tag_clean(organization: Organization, params: dict[str, Any]) -> dict[str, Any]:
    raw_id = params.get("tag")
    name = text_param(params, "tag_name", required=False, max_length=50)
    if raw_id not in (None, ""):
        tag_id = int_param(params, "tag", message=_("Choose a tag."))
        if not Tag.objects.for_organization(organization).filter(pk=tag_id).exists():
            raise ValidationError({"tag": _("Choose a tag.")})
        return {"tag": tag_id, "tag_name": ""}
    if not name:
        raise ValidationError({"tag": _("Choose a tag, or name a new one.")})
    return {"tag": None, "tag_name": " ".join(name.split())}


def _tag_run(action: ActionContext, params: dict[str, Any]) -> str:
    ticket = action.ctx.ticket
    tag_id = _int_or_none(params.get("tag"))
    if tag_id is not None:
        tag = Tag.objects.for_organization(ticket.organization_id).filter(pk=tag_id).first()
        if tag is None:
            raise ActionError(_("that tag no longer exists"))
    else:
        name = str(params.get("tag_name") or "")
        if not name.strip():
            raise ActionError(_("no tag chosen"))
        tag = tag_get_or_create(organization=action.ctx.organization, name=name)
    if not ticket_add_tag(actor=None, ticket=ticket, tag=tag):
        return _("the ticket already had the tag %(tag)s") % {"tag": tag.name}
    return _("added the tag %(tag)s") % {"tag": tag.name}


def _tag_describe(params: dict[str, Any]) -> str:
    name = str(params.get("tag_name") or "")
    tag_id = _int_or_none(params.get("tag"))
    if tag_id is not None:
        # Only ids checked against the organization when the workflow was saved get here.
        name = Tag.all_objects.filter(pk=tag_id).values_list("name", flat=True).first() or "?"
    return _("would add the tag %(tag)s") % {"tag": name}


action_register(
    ActionType(
        key="assign_tag",
        label=gettext_lazy("Assign tag"),
        params=(
            ParamSpec("tag", gettext_lazy("Tag"), "tag", required=False),
            ParamSpec(
                "tag_name",
                gettext_lazy("Or a new tag"),
                "text",
                required=False,
                help_text=gettext_lazy("Created the first time it is needed."),
            ),
        ),
        run=_tag_run,
        describe=_tag_describe,
        clean=_tag_clean,
    )
)


# --- add internal note ------------------------------------------------------------------------


def _note_clean(organization: Organization, params: dict[str, Any]) -> dict[str, Any]:
    return {"body": text_param(params, "body", message=_("Write the note."))}


def _note_run(action: ActionContext, params: dict[str, Any]) -> str:
    body = render(str(params.get("body") or ""), action.ctx.ticket)
    if not body.strip():
        raise ActionError(_("the note is empty"))
    note = note_add_automated(
        ticket=action.ctx.ticket,
        body_text=body,
        automation_label=workflow_label(action),
        automation_reason=action.reason,
    )
    return _("added a note: %(quote)s") % {"quote": quote(note.body_text)}


def _note_describe(params: dict[str, Any]) -> str:
    return _("would add a note: %(quote)s") % {"quote": quote(str(params.get("body") or ""))}


action_register(
    ActionType(
        key="add_note",
        label=gettext_lazy("Add internal note"),
        params=(ParamSpec("body", gettext_lazy("Note"), "textarea", help_text=TEMPLATE_HELP),),
        run=_note_run,
        describe=_note_describe,
        clean=_note_clean,
    )
)
