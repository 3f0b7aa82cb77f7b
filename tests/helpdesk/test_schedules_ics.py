"""The ``.ics`` export of a team's schedules, read back with ``icalendar`` and expanded with
``recurring_ical_events``, agrees with ``team_schedule_state``."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import icalendar
import pytest
import recurring_ical_events

from helpdesk.models import Organization, Recurrence, Schedule, ScheduleKind, Team, Weekday
from helpdesk.selectors.schedules import team_schedule_ics, team_schedule_state
from tests.factories import ScheduleFactory, TeamFactory, add_range

pytestmark = pytest.mark.django_db

UTC = dt.UTC
MON, TUE, WED, THU, FRI, SAT, SUN = (day.value for day in Weekday)
TODAY = dt.date(2026, 3, 1)


def created(minutes: int) -> dt.datetime:
    return dt.datetime(2026, 1, 1, tzinfo=UTC) + dt.timedelta(minutes=minutes)


def parse(team: Team, today: dt.date = TODAY) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(team_schedule_ics(team=team, today=today))


def events(calendar: icalendar.Calendar) -> list[icalendar.Event]:
    return list(calendar.walk("VEVENT"))


def schedule_events(calendar: icalendar.Calendar, schedule: Schedule) -> list[icalendar.Event]:
    return [e for e in events(calendar) if e["X-HELPDESK-SCHEDULE-ID"] == str(schedule.pk)]


@pytest.fixture
def team(org: Organization) -> Team:
    return TeamFactory(organization=org, name="Service")


# --- the calendar's shape -------------------------------------------------------------------


def test_weekly_range_is_a_weekly_rule_in_the_teams_zone(team: Team) -> None:
    schedule = ScheduleFactory(
        team=team,
        name="Hours",
        starts_on=dt.date(2026, 3, 4),
        ends_on=dt.date(2026, 6, 1),
        interval_weeks=2,
    )
    add_range(schedule, MON, "09:00", "17:00")
    calendar = parse(team)

    [timezone] = calendar.walk("VTIMEZONE")
    assert timezone["TZID"] == "Europe/Warsaw"
    [event] = events(calendar)
    start, end = event["DTSTART"], event["DTEND"]
    # Monday 2 March is before the start; week 0 is 2–8 March, so the first is 16 March.
    assert start.dt == dt.datetime(2026, 3, 16, 9, tzinfo=zoneinfo.ZoneInfo("Europe/Warsaw"))
    assert end.dt == dt.datetime(2026, 3, 16, 17, tzinfo=zoneinfo.ZoneInfo("Europe/Warsaw"))
    assert start.params["TZID"] == "Europe/Warsaw"
    rule = event["RRULE"]
    assert rule["FREQ"] == ["WEEKLY"]
    assert rule["INTERVAL"] == [2]
    # UNTIL is the last start, 1 June 09:00 in Warsaw (CEST), in UTC.
    assert rule["UNTIL"] == [dt.datetime(2026, 6, 1, 7, tzinfo=UTC)]
    assert "Hours" in event["SUMMARY"] and "Open" in event["SUMMARY"]
    assert event["CATEGORIES"].cats == ["OPEN"]


def test_range_past_midnight_ends_the_next_day(team: Team) -> None:
    schedule = ScheduleFactory(team=team, starts_on=dt.date(2026, 3, 2))
    add_range(schedule, FRI, "22:00", "02:00")
    add_range(schedule, TUE, "00:00", "00:00")
    by_start = {e["DTSTART"].dt.date(): e for e in events(parse(team))}
    night = by_start[dt.date(2026, 3, 6)]
    assert night["DTEND"].dt.replace(tzinfo=None) == dt.datetime(2026, 3, 7, 2)
    whole_day = by_start[dt.date(2026, 3, 3)]
    assert whole_day["DTEND"].dt.replace(tzinfo=None) == dt.datetime(2026, 3, 4, 0)
    assert "UNTIL" not in night["RRULE"]


def test_schedule_without_ranges_is_all_day(team: Team) -> None:
    ScheduleFactory(
        team=team,
        kind=ScheduleKind.CLOSED,
        name="Inventory",
        starts_on=dt.date(2026, 4, 3),
        ends_on=dt.date(2026, 4, 4),
    )
    [event] = events(parse(team))
    assert event["DTSTART"].dt == dt.date(2026, 4, 3)
    assert event["DTEND"].dt == dt.date(2026, 4, 4)
    assert event["RRULE"]["UNTIL"] == [dt.date(2026, 4, 4)]
    assert event["CATEGORIES"].cats == ["CLOSED"]
    assert "Closed" in event["SUMMARY"] and "Inventory" in event["SUMMARY"]


def test_yearly_schedule_is_spelt_out_for_this_and_the_next_three_years(team: Team) -> None:
    christmas = ScheduleFactory(
        team=team,
        kind=ScheduleKind.CLOSED,
        recurrence=Recurrence.YEARLY,
        starts_on=dt.date(2020, 12, 24),
        ends_on=dt.date(2020, 12, 26),
    )
    new_year = ScheduleFactory(
        team=team,
        kind=ScheduleKind.CLOSED,
        recurrence=Recurrence.YEARLY,
        starts_on=dt.date(2025, 12, 30),
        ends_on=dt.date(2026, 1, 2),
    )
    calendar = parse(team, today=dt.date(2026, 3, 1))

    starts = sorted(e["DTSTART"].dt for e in schedule_events(calendar, christmas))
    assert starts == [dt.date(year, 12, 24) for year in (2026, 2027, 2028, 2029)]
    assert all("RRULE" not in e for e in schedule_events(calendar, christmas))
    spans = sorted((e["DTSTART"].dt, e["DTEND"].dt) for e in schedule_events(calendar, new_year))
    # The window that opened on 30 December 2025 is still running in 2026.
    assert spans[0] == (dt.date(2025, 12, 30), dt.date(2026, 1, 3))
    assert spans[-1] == (dt.date(2029, 12, 30), dt.date(2030, 1, 3))
    assert len(spans) == 5


def test_yearly_schedule_does_not_start_before_its_first_year(team: Team) -> None:
    schedule = ScheduleFactory(
        team=team,
        recurrence=Recurrence.YEARLY,
        starts_on=dt.date(2027, 7, 1),
        ends_on=dt.date(2027, 7, 31),
    )
    starts = sorted(e["DTSTART"].dt for e in schedule_events(parse(team), schedule))
    assert starts == [dt.date(year, 7, 1) for year in (2027, 2028, 2029)]


def test_disabled_schedules_are_left_out(team: Team) -> None:
    ScheduleFactory(team=team, enabled=False)
    kept = ScheduleFactory(team=team)
    assert [e["X-HELPDESK-SCHEDULE-ID"] for e in events(parse(team))] == [str(kept.pk)]


def test_team_time_zone_is_used(team: Team) -> None:
    team.time_zone = "America/New_York"
    team.save()
    add_range(ScheduleFactory(team=team), MON, "09:00", "17:00")
    calendar = parse(team)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["America/New_York"]
    [event] = events(calendar)
    assert event["DTSTART"].params["TZID"] == "America/New_York"


def test_empty_team_gives_an_empty_calendar(team: Team) -> None:
    calendar = parse(team)
    assert events(calendar) == []
    assert calendar["VERSION"] == "2.0"


# --- cross-check against team_schedule_state ----------------------------------------------


def _build_schedules(team: Team) -> None:
    def make(minutes: int, *ranges: tuple[int, str, str], **fields: object) -> Schedule:
        made = ScheduleFactory(team=team, created_at=created(minutes), **fields)
        for weekday, start, end in ranges:
            add_range(made, weekday, start, end)
        return made

    week = [(day, "09:00", "17:00") for day in (MON, TUE, WED, THU, FRI)]
    make(0, *week, starts_on=dt.date(2026, 1, 1))
    make(
        1,
        (SAT, "10:00", "14:00"),
        starts_on=dt.date(2026, 3, 4),
        ends_on=dt.date(2026, 11, 30),
        interval_weeks=2,
    )
    make(2, (SUN, "22:00", "02:00"), starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 10, 25))
    make(3, (SUN, "01:00", "04:00"), starts_on=dt.date(2026, 1, 1))
    make(
        4,
        kind=ScheduleKind.CLOSED,
        recurrence=Recurrence.YEARLY,
        starts_on=dt.date(2024, 12, 24),
        ends_on=dt.date(2024, 12, 26),
    )
    make(
        5,
        *[(day, "10:00", "12:00") for day in range(7)],
        recurrence=Recurrence.YEARLY,
        starts_on=dt.date(2025, 12, 28),
        ends_on=dt.date(2026, 1, 3),
    )
    make(6, kind=ScheduleKind.CLOSED, starts_on=dt.date(2026, 4, 3), ends_on=dt.date(2026, 4, 3))
    make(7, kind=ScheduleKind.CLOSED, enabled=False, starts_on=dt.date(2020, 1, 1))
    make(8, (WED, "00:00", "00:00"), starts_on=dt.date(2026, 10, 1), interval_weeks=3)
    make(
        9,
        kind=ScheduleKind.CLOSED,
        starts_on=dt.date(2026, 3, 22),
        ends_on=dt.date(2026, 3, 28),
        interval_weeks=1,
    )
    make(10, (MON, "12:00", "13:00"), kind=ScheduleKind.CLOSED, starts_on=dt.date(2026, 1, 1))


def _intervals(
    calendar: icalendar.Calendar, zone: zoneinfo.ZoneInfo, start: dt.date, end: dt.date
) -> list[tuple[dt.datetime, dt.datetime, int]]:
    """(start, end, schedule id) of every occurrence, in UTC."""
    found = []
    for event in recurring_ical_events.of(calendar).between(start, end):
        begins, ends = event["DTSTART"].dt, event["DTEND"].dt
        if not isinstance(begins, dt.datetime):  # all-day: local midnight to local midnight
            begins = dt.datetime.combine(begins, dt.time(0), tzinfo=zone)
            ends = dt.datetime.combine(ends, dt.time(0), tzinfo=zone)
        found.append(
            (begins.astimezone(UTC), ends.astimezone(UTC), int(event["X-HELPDESK-SCHEDULE-ID"]))
        )
    return found


def _samples(
    start: dt.date, end: dt.date, intervals: list[tuple[dt.datetime, dt.datetime, int]]
) -> list[dt.datetime]:
    """Every occurrence's start and end and the minute before each, plus a coarse grid."""
    first = dt.datetime.combine(start, dt.time(0), tzinfo=UTC)
    last = dt.datetime.combine(end, dt.time(0), tzinfo=UTC)
    minute = dt.timedelta(minutes=1)
    samples = {
        first + n * dt.timedelta(minutes=170) for n in range((last - first) // (170 * minute))
    }
    for begins, ends, _pk in intervals:
        samples.update((begins, begins - minute, ends, ends - minute))
    return sorted(instant for instant in samples if first <= instant < last)


@pytest.mark.parametrize("zone_name", ["Europe/Warsaw", "America/New_York"])
@pytest.mark.parametrize(
    "window",
    [
        (dt.date(2026, 3, 1), dt.date(2026, 4, 8)),  # spring changes, intervals, a closed day
        (dt.date(2026, 10, 17), dt.date(2026, 11, 4)),  # autumn changes, end of a date range
        (dt.date(2026, 12, 20), dt.date(2027, 1, 6)),  # yearly windows over the year end
    ],
)
def test_export_agrees_with_the_schedule_state(
    team: Team, zone_name: str, window: tuple[dt.date, dt.date]
) -> None:
    team.time_zone = zone_name
    team.save()
    zone = zoneinfo.ZoneInfo(zone_name)
    _build_schedules(team)
    order = {s.pk: (s.created_at, s.pk) for s in Schedule.objects.filter(team=team)}
    kinds = {s.pk: s.kind for s in Schedule.objects.filter(team=team)}
    calendar = parse(team, today=dt.date(2026, 3, 1))
    start, end = window
    intervals = _intervals(calendar, zone, start - dt.timedelta(days=2), end + dt.timedelta(days=2))

    checked = in_hours_seen = 0
    for instant in _samples(start, end, intervals):
        covering = [pk for begins, ends, pk in intervals if begins <= instant < ends]
        winner = max(covering, key=order.__getitem__) if covering else None
        expected = winner is not None and kinds[winner] == ScheduleKind.OPEN
        state = team_schedule_state(team=team, at=instant)
        assert state.in_hours == expected, (instant, covering)
        assert (state.schedule.pk if state.schedule else None) == winner, instant
        checked += 1
        in_hours_seen += expected
    assert checked > 200
    assert 0 < in_hours_seen < checked
