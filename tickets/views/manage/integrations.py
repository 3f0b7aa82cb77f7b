"""Integration accounts."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from helpdesk.views.base import TenantRequest, require_manager
from tickets.forms.manage import IntegrationAccountForm
from tickets.selectors import access_integration_account
from tickets.selectors.manage import integration_account_list, ticket_count_where
from tickets.services import manage as services
from tickets.views.manage._common import bound, confirm_delete, form_page, save_form, url_for


@require_manager
@require_GET
def integration_list_view(request: TenantRequest) -> HttpResponse:
    accounts = integration_account_list(actor=request.membership)
    return render(request, "tickets/manage/integrations/list.html", {"accounts": accounts})


@require_manager
@require_http_methods(["GET", "POST"])
def integration_create_view(request: TenantRequest) -> HttpResponse:
    form = IntegrationAccountForm(bound(request))
    account = save_form(
        request,
        form,
        lambda data: services.integration_account_create(actor=request.membership, **data),
    )
    if account is not None:
        messages.success(request, _("Integration account %(name)s added.") % {"name": account.name})
        return redirect(url_for(request, "integration-list"))
    return form_page(
        request,
        form,
        title=_("Add integration account"),
        submit=_("Add integration account"),
        back="integration-list",
        back_label=_("All integration accounts"),
    )


@require_manager
@require_http_methods(["GET", "POST"])
def integration_edit_view(request: TenantRequest, integration_id: int) -> HttpResponse:
    account = access_integration_account(actor=request.membership, integration_id=integration_id)
    form = IntegrationAccountForm(
        bound(request), initial=IntegrationAccountForm.initial_from(account)
    )
    saved = save_form(
        request,
        form,
        lambda data: services.integration_account_update(
            actor=request.membership, integration_account=account, **data
        ),
    )
    if saved is not None:
        messages.success(request, _("Integration account %(name)s saved.") % {"name": account.name})
        return redirect(url_for(request, "integration-list"))
    if form.is_bound:
        account.refresh_from_db()
    return form_page(
        request,
        form,
        title=_("Edit integration account %(name)s") % {"name": account.name},
        submit=_("Save"),
        back="integration-list",
        back_label=_("All integration accounts"),
        delete_url=url_for(request, "integration-delete", integration_id=account.pk),
    )


@require_manager
@require_http_methods(["GET", "POST"])
def integration_delete_view(request: TenantRequest, integration_id: int) -> HttpResponse:
    account = access_integration_account(actor=request.membership, integration_id=integration_id)
    if request.method == "POST":
        services.integration_account_delete(actor=request.membership, integration_account=account)
        messages.success(
            request, _("Integration account %(name)s deleted.") % {"name": account.name}
        )
        return redirect(url_for(request, "integration-list"))
    tickets = ticket_count_where(organization=account.organization_id, integration_account=account)
    return confirm_delete(
        request,
        title=_("Delete the integration account %(name)s?") % {"name": account.name},
        consequences=[
            ngettext(
                "%(count)s ticket came through it; it stays, without an account.",
                "%(count)s tickets came through it; they stay, without an account.",
                tickets,
            )
            % {"count": tickets},
            _("Inboxes that use it stay, without an account."),
            _("This cannot be undone."),
        ],
        button=_("Delete integration account"),
        cancel=url_for(request, "integration-list"),
    )
