"""Canned responses: personal ones of every agent, and managers' team ones."""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Membership, Team
from tickets.models import CannedResponse
from tickets.selectors.manage import canned_response_editable
from tickets.services.manage._common import (
    Errors,
    add_error,
    clean_name,
    raise_errors,
    same_org_choice,
)

CANNED_BODY_MAX_LENGTH = 10_000
PLACEHOLDERS = ("customer_name", "agent_name", "team_name", "ticket_number")
_PLACEHOLDER = re.compile(r"\{(\w*)\}")


def _apply_canned(
    actor: Membership, response: CannedResponse, title: str, body: str, team: Team | None
) -> None:
    if team is not None and not actor.can_manage:
        raise PermissionDenied
    errors: Errors = {}
    response.title = clean_name(
        title, field="title", max_length=100, required=_("Give it a title."), errors=errors
    )
    body = (body or "").strip()
    if not body:
        add_error(errors, "body", _("Write the text."), "required")
    elif len(body) > CANNED_BODY_MAX_LENGTH:
        errors.setdefault("body", []).append(
            ValidationError(
                _("Keep it to %(max)s characters or fewer."),
                code="max_length",
                params={"max": CANNED_BODY_MAX_LENGTH},
            )
        )
    unknown = sorted({m for m in _PLACEHOLDER.findall(body) if m not in PLACEHOLDERS})
    if unknown:
        errors.setdefault("body", []).append(
            ValidationError(
                _(
                    "Unknown placeholder {%(name)s}. Use {customer_name}, {agent_name}, "
                    "{team_name} or {ticket_number}."
                ),
                code="placeholder",
                params={"name": unknown[0]},
            )
        )
    same_org_choice(actor, errors, "team", team)
    raise_errors(errors)
    response.body = body
    response.team = team
    response.owner = None if team is not None else actor.user


def canned_response_create(
    *, actor: Membership, title: str, body: str, team: Team | None = None
) -> CannedResponse:
    """Without ``team`` a personal response of the actor; with one (managers only) it is
    shared with that team."""
    if not actor.can_write:
        raise PermissionDenied
    response = CannedResponse(organization_id=actor.organization_id)
    _apply_canned(actor, response, title, body, team)
    with transaction.atomic():
        response.save()
    return response


def canned_response_update(
    *,
    actor: Membership,
    canned_response: CannedResponse,
    title: str,
    body: str,
    team: Team | None = None,
) -> CannedResponse:
    """Managers may also move a response between "only me" and a team."""
    if not canned_response_editable(actor=actor, canned_response=canned_response):
        raise PermissionDenied
    _apply_canned(actor, canned_response, title, body, team)
    with transaction.atomic():
        canned_response.save()
    return canned_response


def canned_response_delete(*, actor: Membership, canned_response: CannedResponse) -> None:
    if not canned_response_editable(actor=actor, canned_response=canned_response):
        raise PermissionDenied
    with transaction.atomic():
        canned_response.delete()
