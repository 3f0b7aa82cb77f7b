"""Customer screens: searchable list, card, create, edit, delete. Viewers only read."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from helpdesk.forms.customers import CustomerForm
from helpdesk.selectors.custom_fields import custom_field_list, custom_field_values_display
from helpdesk.selectors.customers import access_customer, customer_list
from helpdesk.services import customers as customer_services
from helpdesk.views.base import TenantRequest, render_page_or_partial, require_agent

PAGE_SIZE = 50


@require_GET
def customer_list_view(request: TenantRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    paginator = Paginator(customer_list(actor=request.membership, query=query), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return render_page_or_partial(
        request,
        "helpdesk/customers/list.html",
        {"query": query, "page": page},
        partial="results",
    )


@require_GET
def customer_detail(request: TenantRequest, customer_id: int) -> HttpResponse:
    customer = access_customer(actor=request.membership, customer_id=customer_id)
    values = custom_field_values_display(
        fields=custom_field_list(organization=request.organization),
        values=customer.custom_fields or {},
    )
    return render(
        request,
        "helpdesk/customers/detail.html",
        {"customer": customer, "custom_values": values},
    )


def _form(request: TenantRequest, initial: dict[str, object] | None = None) -> CustomerForm:
    return CustomerForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        custom_fields=custom_field_list(organization=request.organization),
        country=request.organization.country,
    )


@require_agent
@require_http_methods(["GET", "POST"])
def customer_create(request: TenantRequest) -> HttpResponse:
    form = _form(request)
    if request.method == "POST" and form.is_valid():
        try:
            customer = customer_services.customer_create(
                actor=request.membership, **form.service_kwargs()
            )
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("Customer %(name)s added.") % {"name": customer})
            return redirect(
                "customer-detail", org=request.organization.slug, customer_id=customer.pk
            )
    status = 400 if form.is_bound else 200
    return render(
        request, "helpdesk/customers/form.html", {"form": form, "customer": None}, status=status
    )


@require_agent
@require_http_methods(["GET", "POST"])
def customer_edit(request: TenantRequest, customer_id: int) -> HttpResponse:
    customer = access_customer(actor=request.membership, customer_id=customer_id)
    form = _form(request, initial=CustomerForm.initial_for(customer))
    if request.method == "POST" and form.is_valid():
        try:
            customer_services.customer_update(
                actor=request.membership, customer=customer, **form.service_kwargs()
            )
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("Customer %(name)s saved.") % {"name": customer})
            return redirect(
                "customer-detail", org=request.organization.slug, customer_id=customer.pk
            )
    status = 400 if form.is_bound else 200
    return render(
        request,
        "helpdesk/customers/form.html",
        {"form": form, "customer": customer},
        status=status,
    )


@require_agent
@require_http_methods(["GET", "POST"])
def customer_delete(request: TenantRequest, customer_id: int) -> HttpResponse:
    customer = access_customer(actor=request.membership, customer_id=customer_id)
    if request.method == "POST":
        name = str(customer)
        customer_services.customer_delete(actor=request.membership, customer=customer)
        messages.success(request, _("Customer %(name)s deleted.") % {"name": name})
        return redirect("customer-list", org=request.organization.slug)
    return render(request, "helpdesk/customers/delete.html", {"customer": customer})
