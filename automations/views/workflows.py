"""The workflow list, the builder (new, edit, from a template), enable/disable, duplicate and
delete. The builder's add/remove/move buttons and its "test against recent tickets" work the
same with and without JavaScript: the posted form is read back, changed and drawn again (a
fragment for htmx, the whole page otherwise)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from automations import services
from automations.engine.registry import trigger_of
from automations.forms.builder import Builder, action_view, builder_view, condition_view
from automations.forms.choices import Choices
from automations.gallery import template_get
from automations.models import Workflow
from automations.selectors import (
    access_workflow,
    event_label,
    workflow_dry_run,
    workflow_list,
)
from helpdesk.views.base import TenantRequest, render_page_or_partial, require_manager

LIST_TEMPLATE = "automations/list.html"
BUILDER_TEMPLATE = "automations/builder/page.html"


def _url(request: TenantRequest, name: str, **kwargs: Any) -> str:
    return reverse(name, kwargs={"org": request.organization.slug, **kwargs})


# --- list ---------------------------------------------------------------------------------


@require_manager
@require_GET
def workflow_list_view(request: TenantRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    workflows = workflow_list(actor=request.membership, query=query)
    return render_page_or_partial(
        request,
        LIST_TEMPLATE,
        {"workflows": workflows, "query": query, "any_workflows": bool(workflows) or query},
        partial="results",
    )


@require_manager
@require_POST
def workflow_enabled_view(request: TenantRequest, workflow_id: int) -> HttpResponse:
    workflow = access_workflow(actor=request.membership, workflow_id=workflow_id)
    enabled = request.POST.get("enabled") in ("1", "on", "true")
    services.workflow_set_enabled(actor=request.membership, workflow=workflow, enabled=enabled)
    if request.htmx:
        return render(request, f"{LIST_TEMPLATE}#enabled", {"workflow": workflow})
    if enabled:
        messages.success(request, _("Workflow %(name)s turned on.") % {"name": workflow.name})
    else:
        messages.success(request, _("Workflow %(name)s turned off.") % {"name": workflow.name})
    return redirect(_url(request, "workflow-list"))


# --- builder ------------------------------------------------------------------------------


def builder_page(
    request: TenantRequest,
    builder: Builder,
    *,
    workflow: Workflow | None,
    status: int = 200,
    part: str | None = None,
    dry_run: Any = None,
    note: str = "",
) -> HttpResponse:
    action = (
        _url(request, "workflow-edit", workflow_id=workflow.pk)
        if workflow is not None
        else _url(request, "workflow-create")
    )
    context = {
        **builder_view(builder, Choices(request.organization)),
        "workflow": workflow,
        "action": action,
        "dry_run": dry_run,
        "note": note,
        "trigger": trigger_of(builder.conditions()),
    }
    template = BUILDER_TEMPLATE
    if part and request.htmx:
        template = f"{BUILDER_TEMPLATE}#{part}"
    return render(request, template, context, status=status)


def _row_page(request: TenantRequest, builder: Builder, prefix: str) -> HttpResponse | None:
    """The one condition or action row ``prefix`` (htmx: its field or type changed)."""
    choices = Choices(request.organization)
    context: dict[str, Any]
    row = builder.condition_row(prefix)
    if row is not None:
        rows = [r for group in builder.groups() for r in group.rows]
        number = rows.index(row) + 1
        context = {"c": condition_view(row, number, choices), "action": request.path}
        return render(request, f"{BUILDER_TEMPLATE}#condition-row", context)
    action_row = builder.action_row(prefix)
    if action_row is not None:
        number = builder.actions.index(action_row) + 1
        context = {
            "a": action_view(action_row, number, choices),
            "action": request.path,
            "last": number == len(builder.actions),
        }
        return render(request, f"{BUILDER_TEMPLATE}#action-row", context)
    return None


def _dry_run(request: TenantRequest, builder: Builder) -> Any:
    """The dry run of the form as it is (saved or not); None, with the errors on the builder,
    when its conditions or actions are not valid. Testing the conditions before adding any
    action is fine."""
    try:
        conditions, actions = services.workflow_clean(
            organization=request.organization,
            conditions=builder.conditions(),
            actions=builder.actions_json(),
            require_action=False,
        )
    except ValidationError as error:
        builder.add_errors(error)
        return None
    draft = Workflow(
        organization=request.organization,
        name=builder.name or _("This workflow"),
        description=builder.description,
        conditions=conditions,
        actions=actions,
        trigger=trigger_of(conditions),
    )
    result = workflow_dry_run(actor=request.membership, workflow=draft)
    result.event_text = event_label(result.event_name)  # type: ignore[attr-defined]
    return result


def _builder_post(request: TenantRequest, workflow: Workflow | None) -> HttpResponse:
    builder = Builder.from_post(request.POST)
    if builder.template_key and template_get(builder.template_key) is None:
        builder.template_key = ""
    cmd = request.POST.get("cmd", "save")
    if cmd == "refresh":
        prefix = request.POST.get("part", "")
        if request.htmx and prefix:
            response = _row_page(request, builder, prefix)
            if response is not None:
                return response
        return builder_page(request, builder, workflow=workflow)
    if cmd == "dry-run":
        result = _dry_run(request, builder)
        if result is None:
            response = builder_page(request, builder, workflow=workflow, status=400, part="builder")
            if request.htmx:
                response["HX-Retarget"] = "#workflow-form"
                response["HX-Reswap"] = "outerHTML"
            return response
        return builder_page(request, builder, workflow=workflow, part="dry-run", dry_run=result)
    if cmd != "save":
        part = builder.command(cmd)
        return builder_page(request, builder, workflow=workflow, part=part or None)
    try:
        if workflow is None:
            workflow = services.workflow_create(
                actor=request.membership,
                name=builder.name,
                description=builder.description,
                conditions=builder.conditions(),
                actions=builder.actions_json(),
                enabled=builder.enabled,
                template_key=builder.template_key,
            )
            messages.success(request, _("Workflow %(name)s added.") % {"name": workflow.name})
        else:
            services.workflow_update(
                actor=request.membership,
                workflow=workflow,
                name=builder.name,
                description=builder.description,
                conditions=builder.conditions(),
                actions=builder.actions_json(),
                enabled=builder.enabled,
            )
            messages.success(request, _("Workflow %(name)s saved.") % {"name": workflow.name})
    except ValidationError as error:
        builder.add_errors(error)
        if workflow is not None:
            workflow.refresh_from_db()
        return builder_page(request, builder, workflow=workflow, status=400)
    return redirect(_url(request, "workflow-list"))


@require_manager
@require_http_methods(["GET", "POST"])
def workflow_create_view(request: TenantRequest) -> HttpResponse:
    if request.method == "POST":
        return _builder_post(request, None)
    key = request.GET.get("template", "")
    template = template_get(key) if key else None
    if template is None:
        return builder_page(request, Builder.blank(), workflow=None)
    draft = template.draft(request.organization)
    builder = Builder.from_spec(
        name=draft.name,
        description=draft.description,
        enabled=False,
        conditions=draft.conditions,
        actions=draft.actions,
        template_key=template.key,
    )
    note = _(
        "Started from the template “%(name)s”. Check the choices, then add it; it is not saved yet."
    ) % {"name": template.name}
    return builder_page(request, builder, workflow=None, note=note)


@require_manager
@require_http_methods(["GET", "POST"])
def workflow_edit_view(request: TenantRequest, workflow_id: int) -> HttpResponse:
    workflow = access_workflow(actor=request.membership, workflow_id=workflow_id)
    if request.method == "POST":
        return _builder_post(request, workflow)
    return builder_page(request, Builder.from_workflow(workflow), workflow=workflow)


# --- duplicate, delete ----------------------------------------------------------------------


@require_POST
@require_manager
def workflow_duplicate_view(request: TenantRequest, workflow_id: int) -> HttpResponse:
    workflow = access_workflow(actor=request.membership, workflow_id=workflow_id)
    copy = services.workflow_duplicate(actor=request.membership, workflow=workflow)
    messages.success(
        request,
        _("Copied as %(name)s. The copy is off until you turn it on.") % {"name": copy.name},
    )
    return redirect(_url(request, "workflow-edit", workflow_id=copy.pk))


@require_manager
@require_http_methods(["GET", "POST"])
def workflow_delete_view(request: TenantRequest, workflow_id: int) -> HttpResponse:
    workflow = access_workflow(actor=request.membership, workflow_id=workflow_id)
    if request.method == "POST":
        services.workflow_delete(actor=request.membership, workflow=workflow)
        messages.success(request, _("Workflow %(name)s deleted.") % {"name": workflow.name})
        return redirect(_url(request, "workflow-list"))
    return render(request, "automations/delete.html", {"workflow": workflow})
