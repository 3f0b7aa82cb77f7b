"""Inboxes (with how to connect each channel) and inbox groups."""

from __future__ import annotations

import contextlib

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.views.base import TenantRequest, require_manager
from tickets.forms.manage import InboxForm, InboxGroupForm
from tickets.models import Channel, Inbox
from tickets.selectors import access_inbox, access_inbox_group
from tickets.selectors.manage import (
    inbound_email_count,
    inbox_group_list,
    inbox_group_members,
    inbox_list,
    team_choices,
    ticket_count_where,
)
from tickets.services import manage as services
from tickets.views.manage._common import bound, confirm_delete, form_page, save_form, url_for


@require_manager
@require_GET
def inbox_list_view(request: TenantRequest) -> HttpResponse:
    return render(
        request,
        "tickets/manage/inboxes/list.html",
        {"inboxes": inbox_list(actor=request.membership)},
    )


@require_manager
@require_http_methods(["GET", "POST"])
def inbox_create_view(request: TenantRequest) -> HttpResponse:
    form = InboxForm(bound(request), organization=request.organization)
    inbox = save_form(
        request, form, lambda data: services.inbox_create(actor=request.membership, **data)
    )
    if inbox is not None:
        messages.success(request, _("Inbox %(name)s added.") % {"name": inbox.name})
        return redirect(url_for(request, "inbox-edit", inbox_id=inbox.pk))
    return form_page(
        request,
        form,
        title=_("Add inbox"),
        submit=_("Add inbox"),
        back="inbox-list",
        back_label=_("All inboxes"),
        template="tickets/manage/inboxes/form.html",
        note=""
        if team_choices(organization=request.organization).exists()
        else _("Every inbox belongs to a team: add a team under Manage → Teams first."),
    )


def inbox_connection(inbox: Inbox, *, org: str) -> dict[str, str]:
    """What the edit page shows to connect the inbox's channel."""
    site = settings.SITE_URL.rstrip("/")
    info: dict[str, str] = {}
    if inbox.channel == Channel.EMAIL:
        info["hook_url"] = f"{site}/hooks/email/{inbox.secret}/"
        info["pipe_command"] = f"python manage.py ingest_email --inbox {inbox.pk}"
        # The inbound mail screens live in ``tickets.urls.email_admin``.
        with contextlib.suppress(NoReverseMatch):
            info["mail_url"] = reverse("inbox-mail-list", kwargs={"org": org, "inbox_id": inbox.pk})
    if inbox.channel in (Channel.WEB_FORM, Channel.MOBILE_APP):
        info["api_url"] = site + reverse("web-form-api", kwargs={"secret": inbox.secret})
    if inbox.channel == Channel.WEB_FORM:
        info["form_url"] = site + reverse("web-form", kwargs={"secret": inbox.secret})
    return info


@require_manager
@require_http_methods(["GET", "POST"])
def inbox_edit_view(request: TenantRequest, inbox_id: int) -> HttpResponse:
    inbox = access_inbox(actor=request.membership, inbox_id=inbox_id)
    form = InboxForm(
        bound(request), organization=request.organization, initial=InboxForm.for_inbox(inbox)
    )
    saved = save_form(
        request,
        form,
        lambda data: services.inbox_update(actor=request.membership, inbox=inbox, **data),
    )
    if saved is not None:
        messages.success(request, _("Inbox %(name)s saved.") % {"name": inbox.name})
        return redirect(url_for(request, "inbox-edit", inbox_id=inbox.pk))
    if form.is_bound:
        inbox.refresh_from_db()
    return form_page(
        request,
        form,
        title=_("Edit inbox %(name)s") % {"name": inbox.name},
        submit=_("Save"),
        back="inbox-list",
        back_label=_("All inboxes"),
        template="tickets/manage/inboxes/form.html",
        inbox=inbox,
        connection=inbox_connection(inbox, org=request.organization.slug),
        delete_url=url_for(request, "inbox-delete", inbox_id=inbox.pk),
    )


@require_manager
@require_POST
def inbox_secret_view(request: TenantRequest, inbox_id: int) -> HttpResponse:
    inbox = access_inbox(actor=request.membership, inbox_id=inbox_id)
    services.inbox_regenerate_secret(actor=request.membership, inbox=inbox)
    messages.success(
        request,
        _("Inbox %(name)s has a new secret: update every place that used the old addresses.")
        % {"name": inbox.name},
    )
    return redirect(url_for(request, "inbox-edit", inbox_id=inbox.pk))


@require_manager
@require_http_methods(["GET", "POST"])
def inbox_delete_view(request: TenantRequest, inbox_id: int) -> HttpResponse:
    actor = request.membership
    inbox = access_inbox(actor=actor, inbox_id=inbox_id)
    if request.method == "POST":
        if "deactivate" in request.POST:
            services.inbox_update(
                actor=actor,
                inbox=inbox,
                name=inbox.name,
                team=inbox.team,
                channel=inbox.channel,
                address=inbox.address,
                group=inbox.group,
                integration_account=inbox.integration_account,
                active=False,
            )
            messages.success(request, _("Inbox %(name)s deactivated.") % {"name": inbox.name})
            return redirect(url_for(request, "inbox-list"))
        services.inbox_delete(actor=actor, inbox=inbox)
        messages.success(request, _("Inbox %(name)s deleted.") % {"name": inbox.name})
        return redirect(url_for(request, "inbox-list"))
    tickets = ticket_count_where(organization=inbox.organization_id, inbox=inbox)
    emails = inbound_email_count(inbox=inbox)
    consequences = [
        _("Its secret addresses stop working at once."),
        ngettext(
            "%(count)s ticket came through it; it stays, without an inbox.",
            "%(count)s tickets came through it; they stay, without an inbox.",
            tickets,
        )
        % {"count": tickets},
    ]
    if emails:
        consequences.append(
            ngettext(
                "The log of %(count)s received email is deleted with it.",
                "The log of %(count)s received emails is deleted with it.",
                emails,
            )
            % {"count": emails}
        )
    consequences.append(_("This cannot be undone."))
    return confirm_delete(
        request,
        title=_("Delete the inbox %(name)s?") % {"name": inbox.name},
        consequences=consequences,
        button=_("Delete inbox"),
        cancel=url_for(request, "inbox-edit", inbox_id=inbox.pk),
        deactivate=_("Deactivate instead") if inbox.active else "",
    )


# --- inbox groups -----------------------------------------------------------------------


@require_manager
@require_GET
def inbox_group_list_view(request: TenantRequest) -> HttpResponse:
    groups = inbox_group_list(actor=request.membership)
    return render(request, "tickets/manage/inbox_groups/list.html", {"groups": groups})


@require_manager
@require_http_methods(["GET", "POST"])
def inbox_group_create_view(request: TenantRequest) -> HttpResponse:
    form = InboxGroupForm(bound(request))
    group = save_form(
        request, form, lambda data: services.inbox_group_create(actor=request.membership, **data)
    )
    if group is not None:
        messages.success(request, _("Inbox group %(name)s added.") % {"name": group.name})
        return redirect(url_for(request, "inbox-group-list"))
    return form_page(
        request,
        form,
        title=_("Add inbox group"),
        submit=_("Add inbox group"),
        back="inbox-group-list",
        back_label=_("All inbox groups"),
    )


@require_manager
@require_http_methods(["GET", "POST"])
def inbox_group_edit_view(request: TenantRequest, inbox_group_id: int) -> HttpResponse:
    group = access_inbox_group(actor=request.membership, inbox_group_id=inbox_group_id)
    form = InboxGroupForm(bound(request), initial={"name": group.name})
    saved = save_form(
        request,
        form,
        lambda data: services.inbox_group_update(
            actor=request.membership, inbox_group=group, **data
        ),
    )
    if saved is not None:
        messages.success(request, _("Inbox group %(name)s saved.") % {"name": group.name})
        return redirect(url_for(request, "inbox-group-list"))
    if form.is_bound:
        group.refresh_from_db()
    return form_page(
        request,
        form,
        title=_("Edit inbox group %(name)s") % {"name": group.name},
        submit=_("Save"),
        back="inbox-group-list",
        back_label=_("All inbox groups"),
        template="tickets/manage/inbox_groups/form.html",
        members=inbox_group_members(inbox_group=group),
        delete_url=url_for(request, "inbox-group-delete", inbox_group_id=group.pk),
    )


@require_manager
@require_http_methods(["GET", "POST"])
def inbox_group_delete_view(request: TenantRequest, inbox_group_id: int) -> HttpResponse:
    group = access_inbox_group(actor=request.membership, inbox_group_id=inbox_group_id)
    if request.method == "POST":
        services.inbox_group_delete(actor=request.membership, inbox_group=group)
        messages.success(request, _("Inbox group %(name)s deleted.") % {"name": group.name})
        return redirect(url_for(request, "inbox-group-list"))
    count = inbox_group_members(inbox_group=group).count()
    return confirm_delete(
        request,
        title=_("Delete the inbox group %(name)s?") % {"name": group.name},
        consequences=[
            ngettext(
                "%(count)s inbox is in it; it stays, in no group.",
                "%(count)s inboxes are in it; they stay, in no group.",
                count,
            )
            % {"count": count},
            _("Workflows that check this group no longer match it."),
            _("This cannot be undone."),
        ],
        button=_("Delete inbox group"),
        cancel=url_for(request, "inbox-group-list"),
    )
