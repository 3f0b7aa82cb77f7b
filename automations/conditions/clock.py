"""Conditions on the moment: day of week, hour, working hours.

They are read at ``ctx.at`` (the event's time; the scan's "now" for timer runs) on the
organization's wall clock: the instant is converted with ``astimezone``, so a daylight-saving
change never shifts them (09:00–17:00 means 09:00 to 17:00 local time on both sides of it).

None of them depends on the ticket (except working hours of *the ticket's team*), so the timer
scan evaluates them once per workflow and scan, through ``INSTANT``, instead of per ticket.

Values:

- ``weekday``: a list of days, 0 = Monday … 6 = Sunday;
- ``hour``: ``{"from": "HH:MM", "to": "HH:MM"}``; the start is included, the end is not; a
  range whose end is before its start runs past midnight (22:00–06:00);
- ``working_hours``: ``{"team": id}``, ``{"user": id}`` or ``{"ticket_team": true}``.

Working hours (operators *inside* / *outside*):

- a **team** is in working hours when its ring schedules put it in hours at that instant
  (``team_schedule_state(...).in_hours``: the newest enabled schedule covering the instant is
  an open one); schedules are read on the team's clock, which is the organization's unless
  the team has a time zone of its own;
- an **agent** is in working hours when at least one team they belong to is in hours *and*
  they are on that schedule's primary or secondary slot (an agent not on any slot of an open
  schedule is outside working hours, even if their team is open);
- **the ticket's team** is the team of the ticket being looked at; a ticket without a team is
  outside working hours.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from automations.conditions.common import (
    HOURS_OPS,
    INSIDE,
    IS_NOT,
    IS_OPS,
    NOT_BETWEEN,
    OUTSIDE,
    RANGE_OPS,
    apply,
    clean_ids,
    clean_time,
    either,
    int_list,
    invalid,
    names,
    range_of,
)
from automations.engine.context import EvalContext
from automations.engine.registry import ConditionType, condition_register
from helpdesk.models import Organization, Team, User, Weekday
from helpdesk.selectors.schedules import team_schedule_state, team_schedule_states

# Conditions that depend only on the organization and the instant: (organization, op, value,
# at) -> whether it holds, or None when this value depends on the ticket after all.
InstantCheck = Callable[[Organization, str, Any, datetime], bool | None]
INSTANT: dict[str, InstantCheck] = {}

WEEKDAY_CHOICES = tuple(Weekday.choices)


def _local(organization: Organization, at: datetime) -> datetime:
    return at.astimezone(organization.tz)


# --- day of week ------------------------------------------------------------------------------


def days_of(value: Any) -> list[int]:
    """Days 0–6 (``int_list`` would drop 0, which is Monday here)."""
    days: list[int] = []
    for item in value if isinstance(value, list | tuple) else [value]:
        try:
            day = int(item)
        except (TypeError, ValueError):
            continue
        if 0 <= day <= 6 and day not in days:
            days.append(day)
    return days


def _weekday_at(organization: Organization, op: str, value: Any, at: datetime) -> bool:
    return apply(op, _local(organization, at).weekday() in days_of(value))


def _weekday_clean(op: str, value: Any) -> list[int]:
    items = value if isinstance(value, list | tuple) else [value]
    if not items or items == [None] or items == [""]:
        raise invalid(_("Choose at least one day."), "required")
    days: list[int] = []
    for item in items:
        if isinstance(item, bool):
            raise invalid(_("Choose days of the week."))
        try:
            day = int(item)
        except (TypeError, ValueError):
            raise invalid(_("Choose days of the week.")) from None
        if not 0 <= day <= 6:
            raise invalid(_("Choose days of the week."))
        if day not in days:
            days.append(day)
    return sorted(days)


def _weekday_describe(op: str, value: Any) -> str:
    labels = dict(WEEKDAY_CHOICES)
    days = either(str(labels[day]) for day in days_of(value))
    if op == IS_NOT:
        return _("day of week is not %(days)s") % {"days": days}
    return _("day of week is %(days)s") % {"days": days}


INSTANT["weekday"] = _weekday_at
condition_register(
    ConditionType(
        key="weekday",
        label=gettext_lazy("Day of week"),
        operators=IS_OPS,
        widget="weekdays",
        evaluate=lambda ctx, op, value: _weekday_at(ctx.organization, op, value, ctx.at),
        describe=_weekday_describe,
        clean=_weekday_clean,
    )
)


# --- hour -----------------------------------------------------------------------------------------


def _hour_at(organization: Organization, op: str, value: Any, at: datetime) -> bool:
    bounds = range_of(value)
    if bounds is None:
        return False
    start, end = bounds
    moment = _local(organization, at).time().replace(tzinfo=None)
    within = start <= moment < end if start < end else moment >= start or moment < end
    return apply(op, within)


def _hour_clean(op: str, value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        start, end = value.get("from"), value.get("to")
    elif isinstance(value, list | tuple) and len(value) == 2:
        start, end = value
    else:
        raise invalid(_("Enter a start and an end time."), "required")
    cleaned = {"from": clean_time(start), "to": clean_time(end)}
    if cleaned["from"] == cleaned["to"]:
        raise invalid(_("The start and the end time must differ."))
    return cleaned


def _hour_describe(op: str, value: Any) -> str:
    bounds = range_of(value)
    if bounds is None:
        return _("hour (not set)")
    params = {"start": f"{bounds[0]:%H:%M}", "end": f"{bounds[1]:%H:%M}"}
    if op == NOT_BETWEEN:
        return _("time is not between %(start)s and %(end)s") % params
    return _("time is between %(start)s and %(end)s") % params


INSTANT["hour"] = _hour_at
condition_register(
    ConditionType(
        key="hour",
        label=gettext_lazy("Hour"),
        operators=RANGE_OPS,
        widget="hours_range",
        evaluate=lambda ctx, op, value: _hour_at(ctx.organization, op, value, ctx.at),
        describe=_hour_describe,
        clean=_hour_clean,
    )
)


# --- working hours ----------------------------------------------------------------------------


def _target(value: Any) -> tuple[str, int | None]:
    """("team", id), ("user", id), ("ticket_team", None), or ("", None) for a broken value."""
    if not isinstance(value, dict):
        return "", None
    if value.get("ticket_team") is True:
        return "ticket_team", None
    for kind in ("team", "user"):
        ids = int_list(value.get(kind))
        if len(ids) == 1:
            return kind, ids[0]
    return "", None


def team_in_hours(organization: Organization, team_id: int, at: datetime) -> bool:
    team = Team.objects.for_organization(organization).filter(pk=team_id).first()
    if team is None:
        return False
    team.organization = organization
    return team_schedule_state(team=team, at=at).in_hours


def agent_in_hours(organization: Organization, user_id: int, at: datetime) -> bool:
    """In hours on at least one of their teams, on its primary or secondary slot."""
    teams = list(Team.objects.for_organization(organization).filter(memberships__user_id=user_id))
    for team in teams:
        team.organization = organization
    states = team_schedule_states(teams=teams, at=at)
    return any(
        state.in_hours and user_id in {user.pk for user in state.primary + state.secondary}
        for state in states.values()
    )


def _working_hours_at(organization: Organization, op: str, value: Any, at: datetime) -> bool | None:
    kind, target_id = _target(value)
    if kind == "ticket_team":
        return None
    if kind == "team" and target_id is not None:
        inside = team_in_hours(organization, target_id, at)
    elif kind == "user" and target_id is not None:
        inside = agent_in_hours(organization, target_id, at)
    else:
        inside = False
    return inside if op == INSIDE else not inside


def _working_hours_evaluate(ctx: EvalContext, op: str, value: Any) -> bool:
    kind, target_id = _target(value)
    if kind == "ticket_team":
        if ctx.ticket.team is None:
            return op == OUTSIDE
        team = ctx.ticket.team
        team.organization = ctx.organization  # the same row, already loaded
        inside = ctx.memo(
            ("team_in_hours", team.pk),
            lambda: team_schedule_state(team=team, at=ctx.at).in_hours,
        )
        return inside if op == INSIDE else not inside
    held = ctx.memo(
        ("working_hours", kind, target_id),
        lambda: _working_hours_at(ctx.organization, INSIDE, value, ctx.at),
    )
    return bool(held) if op == INSIDE else not held


def _working_hours_clean(op: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        if value.get("ticket_team") in (True, "true", "1", 1):
            return {"ticket_team": True}
        given = [kind for kind in ("team", "user") if value.get(kind) not in (None, "")]
        if len(given) == 1:
            kind = given[0]
            return {kind: clean_ids(value[kind], many=False)}
    raise invalid(_("Choose an agent or a team."), "required")


def _working_hours_describe(op: str, value: Any) -> str:
    kind, target_id = _target(value)
    if kind == "ticket_team":
        whose = _("the ticket's team")
    elif kind == "team" and target_id is not None:
        whose = _("team %(name)s") % {"name": names(Team, [target_id])[0]}
    elif kind == "user" and target_id is not None:
        whose = names(User, [target_id])[0]
    else:
        whose = _("(nobody chosen)")
    if op == OUTSIDE:
        return _("outside the working hours of %(whose)s") % {"whose": whose}
    return _("inside the working hours of %(whose)s") % {"whose": whose}


INSTANT["working_hours"] = _working_hours_at
condition_register(
    ConditionType(
        key="working_hours",
        label=gettext_lazy("Working hours"),
        operators=HOURS_OPS,
        widget="member_or_team",
        evaluate=_working_hours_evaluate,
        describe=_working_hours_describe,
        clean=_working_hours_clean,
    )
)
