"""Tags, custom statuses and ticket types."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from helpdesk.views.base import TenantRequest, require_manager
from tickets.forms.manage import CustomStatusForm, TagForm, TicketTypeForm
from tickets.selectors import access_custom_status, access_tag, access_ticket_type
from tickets.selectors.manage import (
    custom_status_list,
    tag_list,
    ticket_count_where,
    ticket_type_list,
)
from tickets.services import manage as services
from tickets.views.manage._common import bound, confirm_delete, form_page, save_form, url_for


@require_manager
@require_GET
def tag_list_view(request: TenantRequest) -> HttpResponse:
    return render(
        request, "tickets/manage/tags/list.html", {"tags": tag_list(actor=request.membership)}
    )


@require_manager
@require_http_methods(["GET", "POST"])
def tag_create_view(request: TenantRequest) -> HttpResponse:
    form = TagForm(bound(request))
    tag = save_form(
        request, form, lambda data: services.tag_create(actor=request.membership, **data)
    )
    if tag is not None:
        messages.success(request, _("Tag %(name)s added.") % {"name": tag.name})
        return redirect(url_for(request, "tag-list"))
    return form_page(
        request,
        form,
        title=_("Add tag"),
        submit=_("Add tag"),
        back="tag-list",
        back_label=_("All tags"),
    )


@require_manager
@require_http_methods(["GET", "POST"])
def tag_edit_view(request: TenantRequest, tag_id: int) -> HttpResponse:
    tag = access_tag(actor=request.membership, tag_id=tag_id)
    form = TagForm(bound(request), initial=TagForm.for_tag(tag))
    saved = save_form(
        request, form, lambda data: services.tag_update(actor=request.membership, tag=tag, **data)
    )
    if saved is not None:
        messages.success(request, _("Tag %(name)s saved.") % {"name": tag.name})
        return redirect(url_for(request, "tag-list"))
    if form.is_bound:
        tag.refresh_from_db()
    return form_page(
        request,
        form,
        title=_("Edit tag %(name)s") % {"name": tag.name},
        submit=_("Save"),
        back="tag-list",
        back_label=_("All tags"),
        delete_url=url_for(request, "tag-delete", tag_id=tag.pk),
    )


@require_manager
@require_http_methods(["GET", "POST"])
def tag_delete_view(request: TenantRequest, tag_id: int) -> HttpResponse:
    tag = access_tag(actor=request.membership, tag_id=tag_id)
    if request.method == "POST":
        services.tag_delete(actor=request.membership, tag=tag)
        messages.success(request, _("Tag %(name)s deleted.") % {"name": tag.name})
        return redirect(url_for(request, "tag-list"))
    count = ticket_count_where(organization=tag.organization_id, ticket_tags__tag=tag)
    return confirm_delete(
        request,
        title=_("Delete the tag %(name)s?") % {"name": tag.name},
        consequences=[
            ngettext(
                "It is removed from the %(count)s ticket that has it.",
                "It is removed from the %(count)s tickets that have it.",
                count,
            )
            % {"count": count},
            _("This cannot be undone."),
        ],
        button=_("Delete tag"),
        cancel=url_for(request, "tag-list"),
    )


# --- custom statuses ------------------------------------------------------


@require_manager
@require_GET
def custom_status_list_view(request: TenantRequest) -> HttpResponse:
    statuses = custom_status_list(actor=request.membership)
    return render(request, "tickets/manage/statuses/list.html", {"statuses": statuses})


@require_manager
@require_http_methods(["GET", "POST"])
def custom_status_create_view(request: TenantRequest) -> HttpResponse:
    form = CustomStatusForm(bound(request))
    status = save_form(
        request, form, lambda data: services.custom_status_create(actor=request.membership, **data)
    )
    if status is not None:
        messages.success(request, _("Status %(name)s added.") % {"name": status.name})
        return redirect(url_for(request, "custom-status-list"))
    return form_page(
        request,
        form,
        title=_("Add status"),
        submit=_("Add status"),
        back="custom-status-list",
        back_label=_("All statuses"),
    )


@require_manager
@require_http_methods(["GET", "POST"])
def custom_status_edit_view(request: TenantRequest, custom_status_id: int) -> HttpResponse:
    status = access_custom_status(actor=request.membership, custom_status_id=custom_status_id)
    form = CustomStatusForm(bound(request), initial=CustomStatusForm.for_status(status))
    saved = save_form(
        request,
        form,
        lambda data: services.custom_status_update(
            actor=request.membership, custom_status=status, **data
        ),
    )
    if saved is not None:
        messages.success(request, _("Status %(name)s saved.") % {"name": status.name})
        return redirect(url_for(request, "custom-status-list"))
    if form.is_bound:
        status.refresh_from_db()
    return form_page(
        request,
        form,
        title=_("Edit status %(name)s") % {"name": status.name},
        submit=_("Save"),
        back="custom-status-list",
        back_label=_("All statuses"),
        note=_("Changing what it counts as moves every ticket in this status along."),
        delete_url=url_for(request, "custom-status-delete", custom_status_id=status.pk),
    )


@require_manager
@require_http_methods(["GET", "POST"])
def custom_status_delete_view(request: TenantRequest, custom_status_id: int) -> HttpResponse:
    status = access_custom_status(actor=request.membership, custom_status_id=custom_status_id)
    if request.method == "POST":
        services.custom_status_delete(actor=request.membership, custom_status=status)
        messages.success(request, _("Status %(name)s deleted.") % {"name": status.name})
        return redirect(url_for(request, "custom-status-list"))
    count = ticket_count_where(organization=status.organization_id, custom_status=status)
    return confirm_delete(
        request,
        title=_("Delete the status %(name)s?") % {"name": status.name},
        consequences=[
            ngettext(
                "%(count)s ticket has it; it gets the base status %(base)s.",
                "%(count)s tickets have it; they get the base status %(base)s.",
                count,
            )
            % {"count": count, "base": status.get_base_status_display()},
            _("This cannot be undone."),
        ],
        button=_("Delete status"),
        cancel=url_for(request, "custom-status-list"),
    )


# --- ticket types ---------------------------------------------------------


@require_manager
@require_GET
def ticket_type_list_view(request: TenantRequest) -> HttpResponse:
    rows = ticket_type_list(actor=request.membership)
    return render(request, "tickets/manage/ticket_types/list.html", {"rows": rows})


@require_manager
@require_http_methods(["GET", "POST"])
def ticket_type_create_view(request: TenantRequest) -> HttpResponse:
    form = TicketTypeForm(bound(request))
    ticket_type = save_form(
        request, form, lambda data: services.ticket_type_create(actor=request.membership, **data)
    )
    if ticket_type is not None:
        messages.success(request, _("Ticket type %(name)s added.") % {"name": ticket_type.name})
        return redirect(url_for(request, "ticket-type-list"))
    return form_page(
        request,
        form,
        title=_("Add ticket type"),
        submit=_("Add ticket type"),
        back="ticket-type-list",
        back_label=_("All ticket types"),
    )


@require_manager
@require_http_methods(["GET", "POST"])
def ticket_type_edit_view(request: TenantRequest, ticket_type_id: int) -> HttpResponse:
    ticket_type = access_ticket_type(actor=request.membership, ticket_type_id=ticket_type_id)
    form = TicketTypeForm(bound(request), ticket_type=ticket_type)
    saved = save_form(
        request,
        form,
        lambda data: services.ticket_type_update(
            actor=request.membership,
            ticket_type=ticket_type,
            name=data["name"],
            active=data["active"],
        ),
    )
    if saved is not None:
        messages.success(request, _("Ticket type %(name)s saved.") % {"name": ticket_type.name})
        return redirect(url_for(request, "ticket-type-list"))
    if form.is_bound:
        ticket_type.refresh_from_db()
    return form_page(
        request,
        form,
        title=_("Edit ticket type %(name)s") % {"name": ticket_type.name},
        submit=_("Save"),
        back="ticket-type-list",
        back_label=_("All ticket types"),
        delete_url=url_for(request, "ticket-type-delete", ticket_type_id=ticket_type.pk),
    )


@require_manager
@require_http_methods(["GET", "POST"])
def ticket_type_delete_view(request: TenantRequest, ticket_type_id: int) -> HttpResponse:
    ticket_type = access_ticket_type(actor=request.membership, ticket_type_id=ticket_type_id)
    if request.method == "POST":
        services.ticket_type_delete(actor=request.membership, ticket_type=ticket_type)
        messages.success(request, _("Ticket type %(name)s deleted.") % {"name": ticket_type.name})
        return redirect(url_for(request, "ticket-type-list"))
    count = ticket_count_where(
        organization=ticket_type.organization_id, ticket_type=ticket_type.key
    )
    return confirm_delete(
        request,
        title=_("Delete the ticket type %(name)s?") % {"name": ticket_type.name},
        consequences=[
            ngettext(
                "%(count)s ticket has this type; it becomes a regular ticket.",
                "%(count)s tickets have this type; they become regular tickets.",
                count,
            )
            % {"count": count},
            _("This cannot be undone."),
        ],
        button=_("Delete ticket type"),
        cancel=url_for(request, "ticket-type-list"),
    )
