"""Canned responses: every agent keeps their own; managers also keep the teams' ones."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from helpdesk.views.base import TenantRequest, require_agent
from tickets.forms.manage import CannedResponseForm
from tickets.selectors import access_canned_response
from tickets.selectors.manage import canned_response_editable, canned_response_list
from tickets.services import manage as services
from tickets.views.manage._common import bound, confirm_delete, form_page, save_form, url_for


def _editable_canned(request: TenantRequest, canned_response_id: int) -> Any:
    response = access_canned_response(
        actor=request.membership, canned_response_id=canned_response_id
    )
    if not canned_response_editable(actor=request.membership, canned_response=response):
        raise PermissionDenied
    return response


@require_agent
@require_GET
def canned_response_list_view(request: TenantRequest) -> HttpResponse:
    responses = canned_response_list(actor=request.membership)
    return render(request, "tickets/manage/canned_responses/list.html", {"responses": responses})


@require_agent
@require_http_methods(["GET", "POST"])
def canned_response_create_view(request: TenantRequest) -> HttpResponse:
    actor = request.membership
    form = CannedResponseForm(bound(request), actor=actor)
    response = save_form(
        request, form, lambda data: services.canned_response_create(actor=actor, **data)
    )
    if response is not None:
        messages.success(request, _("Canned response %(title)s added.") % {"title": response.title})
        return redirect(url_for(request, "canned-response-list"))
    return form_page(
        request,
        form,
        title=_("Add canned response"),
        submit=_("Add canned response"),
        back="canned-response-list",
        back_label=_("All canned responses"),
    )


@require_agent
@require_http_methods(["GET", "POST"])
def canned_response_edit_view(request: TenantRequest, canned_response_id: int) -> HttpResponse:
    actor = request.membership
    response = _editable_canned(request, canned_response_id)
    form = CannedResponseForm(
        bound(request), actor=actor, initial=CannedResponseForm.for_response(response)
    )
    saved = save_form(
        request,
        form,
        lambda data: services.canned_response_update(actor=actor, canned_response=response, **data),
    )
    if saved is not None:
        messages.success(request, _("Canned response %(title)s saved.") % {"title": response.title})
        return redirect(url_for(request, "canned-response-list"))
    if form.is_bound:
        response.refresh_from_db()
    return form_page(
        request,
        form,
        title=_("Edit canned response %(title)s") % {"title": response.title},
        submit=_("Save"),
        back="canned-response-list",
        back_label=_("All canned responses"),
        delete_url=url_for(request, "canned-response-delete", canned_response_id=response.pk),
    )


@require_agent
@require_http_methods(["GET", "POST"])
def canned_response_delete_view(request: TenantRequest, canned_response_id: int) -> HttpResponse:
    response = _editable_canned(request, canned_response_id)
    if request.method == "POST":
        services.canned_response_delete(actor=request.membership, canned_response=response)
        messages.success(
            request, _("Canned response %(title)s deleted.") % {"title": response.title}
        )
        return redirect(url_for(request, "canned-response-list"))
    if response.team_id is not None:
        who = _("Nobody on the team %(team)s can use it any more.") % {"team": response.team.name}
    else:
        who = _("You can no longer use it.")
    return confirm_delete(
        request,
        title=_("Delete the canned response %(title)s?") % {"title": response.title},
        consequences=[who, _("This cannot be undone.")],
        button=_("Delete canned response"),
        cancel=url_for(request, "canned-response-list"),
    )
