"""Manager screens for a team's ring schedules, and their ``.ics`` export."""

from __future__ import annotations

from datetime import time
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.forms.schedules import RangeFormSet, ScheduleForm, range_initial
from helpdesk.models import Schedule, Team, Weekday
from helpdesk.selectors import schedules as schedule_selectors
from helpdesk.selectors.schedules import (
    access_schedule,
    team_schedule_ics,
    team_schedule_state,
    team_schedule_state_from,
    team_zone,
)
from helpdesk.selectors.teams import access_team
from helpdesk.services import schedules as schedule_services
from helpdesk.views.base import TenantRequest, render_page_or_partial, require_manager
from helpdesk.views.teams import apply_errors, invalid_status

RANGES_PREFIX = "ranges"
TRUE_VALUES = frozenset({"1", "on", "true", "yes"})
# What a new schedule's range rows start with: Monday to Friday, 9 to 5.
BUSINESS_HOURS = [
    {"weekday": day, "start_time": time(9), "end_time": time(17)}
    for day in Weekday.values
    if day < Weekday.SATURDAY
]


def _list_context(team: Team) -> dict[str, Any]:
    schedules = schedule_selectors.schedule_list(team=team)
    return {
        "team": team,
        "schedules": schedules,
        "state": team_schedule_state_from(team=team, schedules=schedules),
        "time_zone": team.effective_time_zone(),
    }


@require_manager
@require_GET
def schedule_list(request: TenantRequest, team_id: int) -> HttpResponse:
    team = access_team(actor=request.membership, team_id=team_id)
    return render(request, "helpdesk/schedules/list.html", _list_context(team))


def _initial_from_post(data: QueryDict) -> dict[str, Any]:
    """The schedule fields as typed, to show again (without error messages) after "add another
    range"."""
    initial: dict[str, Any] = {
        name: data.get(name, "")
        for name in ("name", "kind", "starts_on", "ends_on", "recurrence", "interval_weeks")
    }
    initial["enabled"] = data.get("enabled", "") in TRUE_VALUES
    initial["primary"] = data.getlist("primary")
    initial["secondary"] = data.getlist("secondary")
    return initial


def _with_another_row(data: QueryDict) -> QueryDict:
    data = data.copy()
    key = f"{RANGES_PREFIX}-TOTAL_FORMS"
    try:
        total = int(data.get(key, "0"))
    except ValueError:
        total = 0
    data[key] = str(total + 1)
    return data


def _schedule_form(
    request: TenantRequest, team: Team, schedule: Schedule | None = None
) -> HttpResponse:
    """Create (``schedule`` is None) or edit, with the ranges as a formset. "Add another range"
    posts the form back and shows one more empty row; that works without JavaScript too."""
    actor = request.membership
    adding_row = request.method == "POST" and "add_range" in request.POST
    if request.method == "POST" and not adding_row:
        form = ScheduleForm(request.POST, team=team)
        formset = RangeFormSet(request.POST, prefix=RANGES_PREFIX)
        if form.is_valid() and formset.is_valid():
            data = form.cleaned_data
            fields: dict[str, Any] = {
                "name": data["name"],
                "kind": data["kind"],
                "enabled": data["enabled"],
                "starts_on": data["starts_on"],
                "ends_on": data["ends_on"],
                "recurrence": data["recurrence"],
                "interval_weeks": data["interval_weeks"],
                "ranges": formset.specs(),
                "primary": list(data["primary"]),
                "secondary": list(data["secondary"]),
            }
            try:
                if schedule is None:
                    saved = schedule_services.schedule_create(actor=actor, team=team, **fields)
                    notice = _("Schedule “%(name)s” created.")
                else:
                    saved = schedule_services.schedule_update(
                        actor=actor, schedule=schedule, **fields
                    )
                    notice = _("Schedule “%(name)s” saved.")
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, notice % {"name": saved.name})
                return redirect("schedule-list", org=request.organization.slug, team_id=team.pk)
    elif adding_row:
        form = ScheduleForm(initial=_initial_from_post(request.POST), team=team)
        formset = RangeFormSet(_with_another_row(request.POST), prefix=RANGES_PREFIX)
    elif schedule is None:
        today = timezone.now().astimezone(team_zone(team)).date()
        form = ScheduleForm(initial={"starts_on": today}, team=team)
        formset = RangeFormSet(initial=BUSINESS_HOURS, prefix=RANGES_PREFIX)
    else:
        form = ScheduleForm(initial=ScheduleForm.initial_for(schedule), team=team)
        formset = RangeFormSet(initial=range_initial(schedule), prefix=RANGES_PREFIX)
    url_kwargs: dict[str, Any] = {"org": request.organization.slug, "team_id": team.pk}
    if schedule is None:
        action = reverse("schedule-create", kwargs=url_kwargs)
    else:
        action = reverse("schedule-edit", kwargs={**url_kwargs, "schedule_id": schedule.pk})
    context = {
        "team": team,
        "schedule": schedule,
        "action": action,
        "form": form,
        "formset": formset,
        "time_zone": team.effective_time_zone(),
    }
    invalid = request.method == "POST" and not adding_row
    return render_page_or_partial(
        request,
        "helpdesk/schedules/form.html",
        context,
        partial="ranges" if adding_row else None,
        status=invalid_status(request) if invalid else 200,
    )


@require_manager
@require_http_methods(["GET", "POST"])
def schedule_create(request: TenantRequest, team_id: int) -> HttpResponse:
    team = access_team(actor=request.membership, team_id=team_id)
    return _schedule_form(request, team)


@require_manager
@require_http_methods(["GET", "POST"])
def schedule_edit(request: TenantRequest, team_id: int, schedule_id: int) -> HttpResponse:
    schedule = access_schedule(actor=request.membership, schedule_id=schedule_id, team_id=team_id)
    return _schedule_form(request, schedule.team, schedule)


@require_manager
@require_POST
def schedule_toggle(request: TenantRequest, team_id: int, schedule_id: int) -> HttpResponse:
    """Enables or disables a schedule: ``enabled`` says which (absent: the opposite of now)."""
    schedule = access_schedule(actor=request.membership, schedule_id=schedule_id, team_id=team_id)
    if "enabled" in request.POST:
        enabled = request.POST["enabled"].lower() in TRUE_VALUES
    else:
        enabled = not schedule.enabled
    schedule_services.schedule_set_enabled(
        actor=request.membership, schedule=schedule, enabled=enabled
    )
    team = schedule.team
    if not request.htmx:
        if enabled:
            messages.success(request, _("Schedule “%(name)s” enabled.") % {"name": schedule.name})
        else:
            messages.success(request, _("Schedule “%(name)s” disabled.") % {"name": schedule.name})
        return redirect("schedule-list", org=request.organization.slug, team_id=team.pk)
    # The row, and the team's state at the top of the page (out of band): it may have changed.
    context = {"team": team, "schedule": schedule, "state": team_schedule_state(team=team)}
    row = render_to_string("helpdesk/schedules/list.html#schedule-row", context, request)
    state = render_to_string(
        "helpdesk/schedules/list.html#team-state", {**context, "oob": True}, request
    )
    return HttpResponse(row + state)


@require_manager
@require_http_methods(["GET", "POST"])
def schedule_delete(request: TenantRequest, team_id: int, schedule_id: int) -> HttpResponse:
    schedule = access_schedule(actor=request.membership, schedule_id=schedule_id, team_id=team_id)
    if request.method == "POST":
        schedule_services.schedule_delete(actor=request.membership, schedule=schedule)
        messages.success(request, _("Schedule “%(name)s” deleted.") % {"name": schedule.name})
        return redirect("schedule-list", org=request.organization.slug, team_id=team_id)
    return render(
        request, "helpdesk/schedules/delete.html", {"team": schedule.team, "schedule": schedule}
    )


@require_manager
@require_GET
def schedule_export(request: TenantRequest, team_id: int) -> HttpResponse:
    team = access_team(actor=request.membership, team_id=team_id)
    response = HttpResponse(
        team_schedule_ics(team=team), content_type="text/calendar; charset=utf-8"
    )
    filename = f"{slugify(team.name) or f'team-{team.pk}'}-schedules.ics"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
