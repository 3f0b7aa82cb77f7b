"""Reads for ring schedules: which schedule is active at an instant, and the ``.ics`` export.

All wall-clock reasoning happens on the instant converted to the team's zone (``astimezone``),
so a daylight-saving change never shifts a range: 01:00–04:00 covers the local hours 01:00 to
04:00 on both sides of a transition, however many real hours that is.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import icalendar
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.models import (
    Membership,
    Recurrence,
    Schedule,
    ScheduleAdvisor,
    ScheduleKind,
    ScheduleRange,
    Slot,
    Team,
    TeamMember,
    User,
)

# How many years after the current one the export spells out yearly schedules for.
ICS_YEARS_AHEAD = 3
ALL_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class ScheduleState:
    """Whether a team is in hours at one instant, and whom to ring.

    ``schedule`` is the winning schedule even when it is a closed one (then ``in_hours`` is
    false and nobody is on a slot); ``None`` means no schedule covers the instant.
    """

    in_hours: bool
    schedule: Schedule | None = None
    primary: list[User] = field(default_factory=list)
    secondary: list[User] = field(default_factory=list)


# --- fetching ---------------------------------------------------------------------------------


def _with_details(queryset: QuerySet[Schedule]) -> QuerySet[Schedule]:
    """Ranges and advisor slots in two more queries. A slot only counts while its user is an
    active member of the team (removing someone from the team elsewhere cannot leave them on
    the schedule). The subquery is correlated to the outer, already scoped, schedules."""
    on_team = TeamMember.objects.filter(
        team_id=OuterRef("schedule__team_id"), user_id=OuterRef("user_id")
    )
    slots = ScheduleAdvisor.objects.filter(Exists(on_team), user__is_active=True).select_related(
        "user"
    )
    return queryset.prefetch_related("ranges", Prefetch("slots", queryset=slots))


def schedule_list(*, team: Team) -> list[Schedule]:
    """All of the team's schedules, newest first, with ranges and advisors."""
    return list(_with_details(Schedule.objects.filter(team=team)).order_by("-created_at", "-id"))


def access_schedule(*, actor: Membership, schedule_id: int, team_id: int | None = None) -> Schedule:
    """The actor's organization's schedule (of ``team_id`` if given), or 404."""
    queryset = Schedule.objects.for_organization(actor.organization).select_related(
        "team__organization"
    )
    if team_id is not None:
        queryset = queryset.filter(team_id=team_id)
    return get_object_or_404(_with_details(queryset), pk=schedule_id)


# --- which days and instants a schedule covers -------------------------------------------------


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _month_day(day: date) -> tuple[int, int]:
    return (day.month, day.day)


def yearly_window_wraps(schedule: Schedule) -> bool:
    """A yearly window like 30 December – 2 January runs over the year end."""
    assert schedule.ends_on is not None
    return _month_day(schedule.ends_on) < _month_day(schedule.starts_on)


def _in_yearly_window(schedule: Schedule, day: date) -> bool:
    if schedule.ends_on is None:
        return False
    start, end, current = (
        _month_day(schedule.starts_on),
        _month_day(schedule.ends_on),
        _month_day(day),
    )
    first_year = schedule.starts_on.year
    if start <= end:
        return day.year >= first_year and start <= current <= end
    if current >= start:  # the window opened this year
        return day.year >= first_year
    if current <= end:  # the window opened last year
        return day.year - 1 >= first_year
    return False


def schedule_covers_day(schedule: Schedule, day: date) -> bool:
    """Whether ``day`` is one of the schedule's days (its date range, interval and recurrence);
    a range that runs past midnight counts as part of the day it starts on."""
    if schedule.recurrence == Recurrence.YEARLY:
        return _in_yearly_window(schedule, day)
    if day < schedule.starts_on or (schedule.ends_on is not None and day > schedule.ends_on):
        return False
    interval = max(schedule.interval_weeks, 1)
    weeks = (_monday(day) - _monday(schedule.starts_on)).days // 7
    return weeks % interval == 0


def _runs_past_midnight(schedule_range: ScheduleRange) -> bool:
    return schedule_range.end_time <= schedule_range.start_time


def schedule_covers(schedule: Schedule, local: datetime) -> bool:
    """Whether the schedule covers the wall-clock moment ``local`` (in the team's zone).

    Uses the prefetched ``ranges``; without ranges the schedule covers its whole days.
    """
    day, moment = local.date(), local.time().replace(tzinfo=None)
    ranges = list(schedule.ranges.all())
    if not ranges:
        return schedule_covers_day(schedule, day)
    yesterday = day - timedelta(days=1)
    for item in ranges:
        overnight = _runs_past_midnight(item)
        if (
            item.weekday == day.weekday()
            and moment >= item.start_time
            and (overnight or moment < item.end_time)
            and schedule_covers_day(schedule, day)
        ):
            return True
        if (
            overnight
            and item.weekday == yesterday.weekday()
            and moment < item.end_time
            and schedule_covers_day(schedule, yesterday)
        ):
            return True
    return False


def team_zone(team: Team) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(team.effective_time_zone())


def _state(team: Team, schedules: Iterable[Schedule], at: datetime) -> ScheduleState:
    local = at.astimezone(team_zone(team))
    candidates = sorted(
        (s for s in schedules if s.enabled), key=lambda s: (s.created_at, s.pk), reverse=True
    )
    for schedule in candidates:
        if not schedule_covers(schedule, local):
            continue
        if schedule.kind != ScheduleKind.OPEN:
            return ScheduleState(in_hours=False, schedule=schedule)
        slots = list(schedule.slots.all())
        return ScheduleState(
            in_hours=True,
            schedule=schedule,
            primary=[s.user for s in slots if s.slot == Slot.PRIMARY],
            secondary=[s.user for s in slots if s.slot == Slot.SECONDARY],
        )
    return ScheduleState(in_hours=False)


def _instant(at: datetime | None) -> datetime:
    if at is None:
        return timezone.now()
    if timezone.is_naive(at):
        raise ValueError("team_schedule_state needs an aware datetime")
    return at


def team_schedule_state(*, team: Team, at: datetime | None = None) -> ScheduleState:
    """Is ``team`` in hours at the instant ``at`` (default: now), and who is on its primary and
    secondary slots? Among the enabled schedules covering the instant the most recently created
    wins; a closed winner means after hours. Three queries (four if ``team.organization`` is
    not loaded yet)."""
    at = _instant(at)
    schedules = _with_details(Schedule.objects.filter(team=team, enabled=True))
    return _state(team, schedules, at)


def team_schedule_state_from(
    *, team: Team, schedules: Iterable[Schedule], at: datetime | None = None
) -> ScheduleState:
    """``team_schedule_state`` among schedules already loaded with their details (from
    ``schedule_list``); disabled ones are skipped. No queries."""
    return _state(team, schedules, _instant(at))


def team_schedule_states(
    *, teams: Sequence[Team], at: datetime | None = None
) -> dict[int, ScheduleState]:
    """``team_schedule_state`` for several teams of one organization in three queries."""
    at = _instant(at)
    if not teams:
        return {}
    organization_ids = {team.organization_id for team in teams}
    if len(organization_ids) != 1:
        raise ValueError("team_schedule_states takes the teams of one organization")
    by_team: dict[int, list[Schedule]] = {team.pk: [] for team in teams}
    schedules = _with_details(
        Schedule.objects.for_organization(organization_ids.pop()).filter(
            team__in=[team.pk for team in teams], enabled=True
        )
    )
    for schedule in schedules:
        by_team[schedule.team_id].append(schedule)
    return {team.pk: _state(team, by_team[team.pk], at) for team in teams}


# --- .ics export ----------------------------------------------------------------------------


def _summary(schedule: Schedule) -> str:
    if schedule.kind == ScheduleKind.OPEN:
        return _("Open: %(name)s") % {"name": schedule.name}
    return _("Closed: %(name)s") % {"name": schedule.name}


def _event(
    schedule: Schedule,
    uid: str,
    start: date | datetime,
    end: date | datetime,
    stamp: datetime,
    rrule: dict[str, object] | None = None,
) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("summary", _summary(schedule))
    event.add("categories", [schedule.kind.upper()])
    event.add("dtstart", start)
    event.add("dtend", end)
    if schedule.kind == ScheduleKind.OPEN:
        names = ", ".join(s.user.display_name for s in schedule.slots.all())
        if names:
            event.add("description", _("Advisors: %(names)s") % {"names": names})
    event.add("x-helpdesk-schedule-id", str(schedule.pk))
    if rrule:
        event.add("rrule", rrule)
    return event


def _first_weekly_day(schedule: Schedule, weekday: int) -> date:
    """The first date on ``weekday`` in an active week, on or after ``starts_on``."""
    interval = max(schedule.interval_weeks, 1)
    day = _monday(schedule.starts_on) + timedelta(days=weekday)
    if day < schedule.starts_on:
        day += timedelta(weeks=interval)
    return day


def _range_bounds(day: date, item: ScheduleRange, zone: zoneinfo.ZoneInfo) -> tuple[datetime, ...]:
    end_day = day + timedelta(days=1) if _runs_past_midnight(item) else day
    return (
        datetime.combine(day, item.start_time, tzinfo=zone),
        datetime.combine(end_day, item.end_time, tzinfo=zone),
    )


def _until(last_day: date, item: ScheduleRange, zone: zoneinfo.ZoneInfo) -> datetime:
    # RFC 5545: with a zoned DTSTART, UNTIL is in UTC; the last occurrence starts on last_day.
    return datetime.combine(last_day, item.start_time, tzinfo=zone).astimezone(
        zoneinfo.ZoneInfo("UTC")
    )


def _weekly_events(
    schedule: Schedule, zone: zoneinfo.ZoneInfo, uid_base: str, stamp: datetime
) -> list[icalendar.Event]:
    interval = max(schedule.interval_weeks, 1)
    ranges = list(schedule.ranges.all())
    if not ranges:
        rule: dict[str, object] = {
            "FREQ": "WEEKLY",
            "INTERVAL": interval,
            "BYDAY": list(ALL_WEEKDAYS),
            "WKST": "MO",
        }
        if schedule.ends_on is not None:
            rule["UNTIL"] = schedule.ends_on
        start = schedule.starts_on
        return [_event(schedule, uid_base, start, start + timedelta(days=1), stamp, rule)]
    events = []
    for item in ranges:
        first = _first_weekly_day(schedule, item.weekday)
        if schedule.ends_on is not None and first > schedule.ends_on:
            continue
        rule = {"FREQ": "WEEKLY", "INTERVAL": interval, "WKST": "MO"}
        if schedule.ends_on is not None:
            rule["UNTIL"] = _until(schedule.ends_on, item, zone)
        start, end = _range_bounds(first, item, zone)
        events.append(_event(schedule, f"range-{item.pk}-{uid_base}", start, end, stamp, rule))
    return events


def _day_in_year(year: int, month_day: tuple[int, int], *, last: bool) -> date:
    """The month/day in ``year``; 29 February becomes 1 March (as a window's first day) or
    28 February (as its last day) in other years."""
    try:
        return date(year, *month_day)
    except ValueError:
        return date(year, 3, 1) if not last else date(year, 2, 28)


def yearly_windows(schedule: Schedule, first_year: int, last_year: int) -> list[tuple[date, date]]:
    """The schedule's (first day, last day) windows that open in ``first_year..last_year``."""
    assert schedule.ends_on is not None
    wraps = yearly_window_wraps(schedule)
    windows = []
    for year in range(max(first_year, schedule.starts_on.year), last_year + 1):
        opens = _day_in_year(year, _month_day(schedule.starts_on), last=False)
        closes = _day_in_year(year + 1 if wraps else year, _month_day(schedule.ends_on), last=True)
        windows.append((opens, closes))
    return windows


def _yearly_events(
    schedule: Schedule, zone: zoneinfo.ZoneInfo, uid_base: str, stamp: datetime, today: date
) -> list[icalendar.Event]:
    if schedule.ends_on is None:
        return []
    ranges = list(schedule.ranges.all())
    events = []
    # A window that opened last year may still be running in this one.
    for opens, closes in yearly_windows(schedule, today.year - 1, today.year + ICS_YEARS_AHEAD):
        if closes < date(today.year, 1, 1):
            continue
        uid_year = f"{opens.year}-{uid_base}"
        if not ranges:
            events.append(_event(schedule, uid_year, opens, closes + timedelta(days=1), stamp))
            continue
        for item in ranges:
            first = opens + timedelta(days=(item.weekday - opens.weekday()) % 7)
            if first > closes:
                continue
            start, end = _range_bounds(first, item, zone)
            rule = {"FREQ": "WEEKLY", "UNTIL": _until(closes, item, zone)}
            uid = f"range-{item.pk}-{uid_year}"
            events.append(_event(schedule, uid, start, end, stamp, rule))
    return events


def team_schedule_calendar(*, team: Team, today: date | None = None) -> icalendar.Calendar:
    """The team's enabled schedules as an iCalendar: one event per weekly range (a weekly
    RRULE), all-day events for schedules without ranges, and yearly schedules spelt out for
    this year and the next ``ICS_YEARS_AHEAD``. Times carry the team's TZID with a VTIMEZONE.

    Calendars cannot say "the newer schedule wins"; each event names its schedule
    (``X-HELPDESK-SCHEDULE-ID``) and the kind is in SUMMARY and CATEGORIES."""
    zone = team_zone(team)
    stamp = timezone.now().replace(microsecond=0)
    today = today or stamp.astimezone(zone).date()
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Helpdesk//Ring schedules//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", team.public_name)
    calendar.add("x-wr-timezone", zone.key)
    for schedule in schedule_list(team=team):
        if not schedule.enabled:
            continue
        uid_base = f"schedule-{schedule.pk}-team-{team.pk}@helpdesk"
        if schedule.recurrence == Recurrence.YEARLY:
            events = _yearly_events(schedule, zone, uid_base, stamp, today)
        else:
            events = _weekly_events(schedule, zone, uid_base, stamp)
        for event in events:
            calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar


def team_schedule_ics(*, team: Team, today: date | None = None) -> bytes:
    return team_schedule_calendar(team=team, today=today).to_ical()
