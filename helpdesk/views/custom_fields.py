"""Manager screens for custom field definitions."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from helpdesk.forms.custom_fields import CustomFieldForm
from helpdesk.selectors.custom_fields import access_custom_field, custom_field_list
from helpdesk.services import custom_fields as custom_field_services
from helpdesk.views.base import TenantRequest, require_manager


@require_manager
@require_GET
def custom_field_list_view(request: TenantRequest) -> HttpResponse:
    fields = custom_field_list(organization=request.organization)
    return render(request, "helpdesk/custom_fields/list.html", {"fields": fields})


@require_manager
@require_http_methods(["GET", "POST"])
def custom_field_create(request: TenantRequest) -> HttpResponse:
    form = CustomFieldForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            field = custom_field_services.custom_field_create(
                actor=request.membership,
                key=data["key"],
                label=data["label"],
                field_type=data["field_type"],
                choices=data["choices"],
                show_in_chat=data["show_in_chat"],
                position=data["position"],
            )
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("Custom field %(label)s added.") % {"label": field.label})
            return redirect("custom-field-list", org=request.organization.slug)
    status = 400 if form.is_bound else 200
    return render(
        request,
        "helpdesk/custom_fields/form.html",
        {"form": form, "definition": None},
        status=status,
    )


@require_manager
@require_http_methods(["GET", "POST"])
def custom_field_edit(request: TenantRequest, field_id: int) -> HttpResponse:
    field = access_custom_field(actor=request.membership, field_id=field_id)
    form = CustomFieldForm(request.POST if request.method == "POST" else None, field=field)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            custom_field_services.custom_field_update(
                actor=request.membership,
                field=field,
                label=data["label"],
                choices=data["choices"],
                show_in_chat=data["show_in_chat"],
                position=data["position"],
            )
        except ValidationError as error:
            field.refresh_from_db()
            form.add_service_error(error)
        else:
            messages.success(request, _("Custom field %(label)s saved.") % {"label": field.label})
            return redirect("custom-field-list", org=request.organization.slug)
    status = 400 if form.is_bound else 200
    return render(
        request,
        "helpdesk/custom_fields/form.html",
        {"form": form, "definition": field},
        status=status,
    )


@require_manager
@require_http_methods(["GET", "POST"])
def custom_field_delete(request: TenantRequest, field_id: int) -> HttpResponse:
    field = access_custom_field(actor=request.membership, field_id=field_id)
    if request.method == "POST":
        custom_field_services.custom_field_delete(actor=request.membership, field=field)
        messages.success(request, _("Custom field %(label)s deleted.") % {"label": field.label})
        return redirect("custom-field-list", org=request.organization.slug)
    return render(request, "helpdesk/custom_fields/delete.html", {"definition": field})
