"""Manager screens for teams and their members."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms import Form
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from helpdesk.forms.teams import TeamForm, TeamMemberAddForm
from helpdesk.models import Team
from helpdesk.selectors.teams import (
    access_team,
    access_team_member,
    team_member_list,
    team_status_list,
)
from helpdesk.services import teams as team_services
from helpdesk.views.base import TenantRequest, render_page_or_partial, require_manager


def apply_errors(form: Form, error: ValidationError) -> None:
    """Shows a service's ValidationError on the form's fields (or above the form)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else NON_FIELD_ERRORS, errors)
    else:
        form.add_error(None, error)


def invalid_status(request: TenantRequest) -> int:
    # htmx swaps only 2xx answers; a plain form post says what went wrong with a 400.
    return 200 if request.htmx else 400


@require_manager
def team_list(request: TenantRequest) -> HttpResponse:
    statuses = team_status_list(actor=request.membership)
    return render(request, "helpdesk/teams/list.html", {"statuses": statuses})


@require_manager
@require_http_methods(["GET", "POST"])
def team_create(request: TenantRequest) -> HttpResponse:
    form = TeamForm(request.POST or None, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            team = team_services.team_create(actor=request.membership, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Team “%(name)s” created.") % {"name": team.name})
            return redirect("team-edit", org=request.organization.slug, team_id=team.pk)
    status = invalid_status(request) if form.errors else 200
    return render_page_or_partial(
        request, "helpdesk/teams/form.html", {"form": form}, partial="team-form", status=status
    )


def _members_context(team: Team, add_form: TeamMemberAddForm | None = None) -> dict[str, Any]:
    return {
        "team": team,
        "members": list(team_member_list(team=team)),
        "add_form": add_form or TeamMemberAddForm(team=team),
    }


@require_manager
@require_http_methods(["GET", "POST"])
def team_edit(request: TenantRequest, team_id: int) -> HttpResponse:
    team = access_team(actor=request.membership, team_id=team_id)
    form = TeamForm(
        request.POST or None, initial=TeamForm.initial_for(team), organization=request.organization
    )
    if request.method == "POST" and form.is_valid():
        try:
            team_services.team_update(actor=request.membership, team=team, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
            team.refresh_from_db()
        else:
            messages.success(request, _("Team saved."))
            return redirect("team-edit", org=request.organization.slug, team_id=team.pk)
    context = {"form": form, **_members_context(team)}
    status = invalid_status(request) if form.errors else 200
    return render_page_or_partial(
        request, "helpdesk/teams/form.html", context, partial="team-form", status=status
    )


@require_manager
@require_http_methods(["GET", "POST"])
def team_delete(request: TenantRequest, team_id: int) -> HttpResponse:
    team = access_team(actor=request.membership, team_id=team_id)
    if request.method == "POST":
        team_services.team_delete(actor=request.membership, team=team)
        messages.success(request, _("Team “%(name)s” deleted.") % {"name": team.name})
        return redirect("team-list", org=request.organization.slug)
    return render(request, "helpdesk/teams/delete.html", {"team": team})


def _members_response(
    request: TenantRequest,
    team: Team,
    *,
    add_form: TeamMemberAddForm | None = None,
    error: str = "",
    notice: str = "",
) -> HttpResponse:
    """The members section for htmx; otherwise a redirect back to the team page."""
    if request.htmx:
        context = {**_members_context(team, add_form), "error": error, "notice": notice}
        return render(request, "helpdesk/teams/form.html#members", context)
    if error:
        messages.error(request, error)
    elif notice:
        messages.success(request, notice)
    return redirect("team-edit", org=request.organization.slug, team_id=team.pk)


@require_manager
@require_POST
def team_member_add(request: TenantRequest, team_id: int) -> HttpResponse:
    team = access_team(actor=request.membership, team_id=team_id)
    form = TeamMemberAddForm(request.POST, team=team)
    if not form.is_valid():
        return _members_response(
            request, team, add_form=form, error=_("Choose someone to add to the team.")
        )
    membership = form.cleaned_data["membership"]
    try:
        team_services.team_member_add(actor=request.membership, team=team, membership=membership)
    except ValidationError as exc:
        return _members_response(request, team, add_form=form, error=" ".join(exc.messages))
    notice = _("%(name)s was added to the team.") % {"name": membership.user.display_name}
    return _members_response(request, team, notice=notice)


@require_manager
@require_POST
def team_member_remove(request: TenantRequest, team_id: int, membership_id: int) -> HttpResponse:
    team = access_team(actor=request.membership, team_id=team_id)
    membership = access_team_member(team=team, membership_id=membership_id)
    team_services.team_member_remove(actor=request.membership, team=team, membership=membership)
    notice = _("%(name)s was removed from the team.") % {"name": membership.user.display_name}
    return _members_response(request, team, notice=notice)


@require_manager
@require_POST
def team_member_default(request: TenantRequest, team_id: int, membership_id: int) -> HttpResponse:
    team = access_team(actor=request.membership, team_id=team_id)
    membership = access_team_member(team=team, membership_id=membership_id)
    try:
        team_services.team_member_make_default(
            actor=request.membership, team=team, membership=membership
        )
    except ValidationError as exc:
        return _members_response(request, team, error=" ".join(exc.messages))
    notice = _("This is now the default team of %(name)s.") % {"name": membership.user.display_name}
    return _members_response(request, team, notice=notice)
