"""The template gallery, the run log, and the automation settings."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from automations import services
from automations.forms.builder import Builder
from automations.forms.settings import AutomationSettingsForm
from automations.gallery import template_get, template_list
from automations.models import Outcome
from automations.selectors import access_run, access_workflow, event_label, run_list
from automations.views.workflows import builder_page
from helpdesk.views.base import TenantRequest, require_manager

# --- gallery --------------------------------------------------------------------------------


@require_manager
@require_GET
def gallery_view(request: TenantRequest) -> HttpResponse:
    cards = []
    for template in template_list():
        draft = template.draft(request.organization)
        try:
            services.workflow_clean(
                organization=request.organization,
                conditions=draft.conditions,
                actions=draft.actions,
            )
            usable = True
        except ValidationError:
            usable = False
        cards.append({"template": template, "usable": usable})
    return render(request, "automations/gallery.html", {"cards": cards})


@require_manager
@require_POST
def gallery_use_view(request: TenantRequest) -> HttpResponse:
    """ "Use as is": the template becomes an enabled workflow. When it needs choices only the
    manager can make, the builder opens with it filled in and those fields marked."""
    template = template_get(request.POST.get("template", ""))
    if template is None:
        raise Http404("No such template")
    try:
        workflow = services.workflow_from_template(
            actor=request.membership, template_key=template.key, enabled=True
        )
    except ValidationError as error:
        draft = template.draft(request.organization)
        builder = Builder.from_spec(
            name=draft.name,
            description=draft.description,
            enabled=True,
            conditions=draft.conditions,
            actions=draft.actions,
            template_key=template.key,
        )
        builder.add_errors(error)
        note = _("“%(name)s” needs a few choices before it can be added: %(needs)s.") % {
            "name": template.name,
            "needs": template.needs or _("see the marked fields"),
        }
        return builder_page(request, builder, workflow=None, status=400, note=note)
    messages.success(
        request,
        _("Workflow %(name)s added and turned on. You can turn it off in the list.")
        % {"name": workflow.name},
    )
    return redirect(reverse("workflow-list", kwargs={"org": request.organization.slug}))


# --- run log --------------------------------------------------------------------------------


@require_manager
@require_GET
def run_list_view(request: TenantRequest, workflow_id: int) -> HttpResponse:
    workflow = access_workflow(actor=request.membership, workflow_id=workflow_id)
    outcome = request.GET.get("outcome", "")
    page = run_list(
        actor=request.membership,
        workflow=workflow,
        cursor=request.GET.get("after", ""),
        outcome=outcome,
    )
    return render(
        request,
        "automations/runs.html",
        {
            "workflow": workflow,
            "page": page,
            "outcome": outcome,
            "outcomes": [("acted", _("Acted (done or failed)")), *Outcome.choices],
            "first_page": not request.GET.get("after"),
            "not_matched_days": settings.WORKFLOW_NOT_MATCHED_RUNS_DAYS,
        },
    )


@require_manager
@require_GET
def run_detail_view(request: TenantRequest, run_id: int) -> HttpResponse:
    run = access_run(actor=request.membership, run_id=run_id)
    event = event_label(run.event.name) if run.event is not None else event_label("time")
    return render(request, "automations/run.html", {"run": run, "event_text": event})


# --- settings -------------------------------------------------------------------------------


@require_manager
@require_http_methods(["GET", "POST"])
def automation_settings_view(request: TenantRequest) -> HttpResponse:
    current = services.automation_settings_get(organization=request.organization)
    form = AutomationSettingsForm(
        request.POST if request.method == "POST" else None, current=current
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.automation_settings_update(actor=request.membership, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("Automation settings saved."))
            return redirect(
                reverse("automation-settings", kwargs={"org": request.organization.slug})
            )
    return render(
        request,
        "automations/settings.html",
        {"form": form, "current": current},
        status=400 if form.is_bound else 200,
    )
