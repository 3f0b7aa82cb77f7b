"""Helpers shared by the manager screens' views."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse

from helpdesk.views.base import TenantRequest
from tickets.forms.manage import ServiceForm

FORM_TEMPLATE = "tickets/manage/form.html"
DELETE_TEMPLATE = "tickets/manage/delete.html"


def url_for(request: TenantRequest, name: str, **kwargs: int) -> str:
    return reverse(name, kwargs={"org": request.organization.slug, **kwargs})


def form_page(
    request: TenantRequest,
    form: ServiceForm,
    *,
    title: str,
    submit: str,
    back: str,
    back_label: str,
    template: str = FORM_TEMPLATE,
    **context: Any,
) -> HttpResponse:
    """The form page; 400 when a submitted form comes back with errors."""
    context.update(
        form=form,
        title=title,
        submit=submit,
        back_url=url_for(request, back),
        back_label=back_label,
    )
    return render(request, template, context, status=400 if form.is_bound else 200)


def save_form(
    request: TenantRequest, form: ServiceForm, write: Callable[[dict[str, Any]], Any]
) -> Any | None:
    """Runs ``write`` with the form's data when the form is valid; None (with the service's
    errors on the form) when it is not."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        return write(form.cleaned_data)
    except ValidationError as error:
        form.add_service_error(error)
        return None


def confirm_delete(
    request: TenantRequest,
    *,
    title: str,
    consequences: list[str],
    button: str,
    cancel: str,
    deactivate: str = "",
) -> HttpResponse:
    return render(
        request,
        DELETE_TEMPLATE,
        {
            "title": title,
            "consequences": consequences,
            "button": button,
            "cancel_url": cancel,
            "deactivate": deactivate,
        },
    )


def bound(request: TenantRequest) -> Any:
    return request.POST if request.method == "POST" else None
