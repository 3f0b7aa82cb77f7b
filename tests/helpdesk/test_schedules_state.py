"""``team_schedule_state``: is a team in hours at an instant, and who is on its slots."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from helpdesk.models import Organization, Recurrence, Schedule, ScheduleKind, Slot, Team, Weekday
from helpdesk.models.schedules import ScheduleAdvisor
from helpdesk.selectors.schedules import (
    schedule_list,
    team_schedule_state,
    team_schedule_state_from,
    team_schedule_states,
)
from tests.factories import ScheduleFactory, TeamFactory, UserFactory, add_range, add_team_member

pytestmark = pytest.mark.django_db

WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
UTC = dt.UTC
MON, TUE, WED, THU, FRI, SAT, SUN = (day.value for day in Weekday)


def local(text: str, zone: zoneinfo.ZoneInfo = WARSAW) -> dt.datetime:
    """An instant given as wall-clock time in ``zone`` (unambiguous times only)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone)


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def created(minutes: int) -> dt.datetime:
    """Creation times in a known order (later minutes = more recent)."""
    return dt.datetime(2026, 1, 1, tzinfo=UTC) + dt.timedelta(minutes=minutes)


@pytest.fixture
def team(org: Organization) -> Team:
    return TeamFactory(organization=org, name="Service")


def schedule(team: Team, *ranges: tuple[int, str, str], **fields: object) -> Schedule:
    fields.setdefault("starts_on", dt.date(2020, 1, 1))
    made = ScheduleFactory(team=team, **fields)
    for weekday, start, end in ranges:
        add_range(made, weekday, start, end)
    return made


def in_hours(team: Team, at: dt.datetime) -> bool:
    return team_schedule_state(team=team, at=at).in_hours


# --- weekly ranges ----------------------------------------------------------------------------

# 2 March 2026 is a Monday.


def test_no_schedule_means_after_hours(team: Team) -> None:
    state = team_schedule_state(team=team, at=local("2026-03-02 10:00"))
    assert state.in_hours is False
    assert state.schedule is None
    assert state.primary == [] and state.secondary == []


def test_weekly_range_bounds(team: Team) -> None:
    schedule(team, (MON, "09:00", "17:00"))
    assert not in_hours(team, local("2026-03-02 08:59"))
    assert in_hours(team, local("2026-03-02 09:00"))
    assert in_hours(team, local("2026-03-02 16:59:59"))
    assert not in_hours(team, local("2026-03-02 17:00"))
    assert not in_hours(team, local("2026-03-03 10:00"))  # Tuesday
    assert in_hours(team, local("2026-03-09 10:00"))  # next Monday


def test_several_ranges_on_several_days(team: Team) -> None:
    schedule(team, (MON, "08:00", "12:00"), (MON, "13:00", "16:00"), (SAT, "10:00", "14:00"))
    assert in_hours(team, local("2026-03-02 11:00"))
    assert not in_hours(team, local("2026-03-02 12:30"))
    assert in_hours(team, local("2026-03-02 15:00"))
    assert in_hours(team, local("2026-03-07 13:59"))
    assert not in_hours(team, local("2026-03-08 13:00"))


def test_the_instant_is_read_in_the_teams_time_zone(team: Team) -> None:
    schedule(team, (MON, "09:00", "17:00"))
    # 07:30 UTC is 08:30 in Warsaw in winter: closed, though 07:30 "looks" outside anyway;
    # 15:30 UTC is 16:30 in Warsaw: open; 16:30 UTC is 17:30 in Warsaw: closed.
    assert not in_hours(team, utc("2026-03-02 07:30"))
    assert in_hours(team, utc("2026-03-02 15:30"))
    assert not in_hours(team, utc("2026-03-02 16:30"))


def test_team_time_zone_overrides_the_organizations(team: Team) -> None:
    team.time_zone = "America/New_York"
    team.save()
    schedule(team, (MON, "09:00", "17:00"))
    # 21:00 UTC: 16:00 in New York (open), 22:00 in Warsaw (would be closed).
    assert in_hours(team, utc("2026-03-02 21:00"))
    # 09:30 UTC: 04:30 in New York (closed), 10:30 in Warsaw (would be open).
    assert not in_hours(team, utc("2026-03-02 09:30"))


def test_every_other_week_counts_from_the_monday_of_the_start_week(team: Team) -> None:
    # Starts on Wednesday 4 March: week 0 is 2–8 March, so Monday 2 March is before the start.
    schedule(
        team,
        (MON, "09:00", "17:00"),
        (THU, "09:00", "17:00"),
        starts_on=dt.date(2026, 3, 4),
        interval_weeks=2,
    )
    assert not in_hours(team, local("2026-03-02 10:00"))  # before starts_on
    assert in_hours(team, local("2026-03-05 10:00"))  # Thursday, week 0
    assert not in_hours(team, local("2026-03-09 10:00"))  # week 1
    assert not in_hours(team, local("2026-03-12 10:00"))  # week 1
    assert in_hours(team, local("2026-03-16 10:00"))  # week 2
    assert not in_hours(team, local("2026-03-23 10:00"))  # week 3
    assert in_hours(team, local("2026-03-30 10:00"))  # week 4


def test_every_third_week(team: Team) -> None:
    schedule(team, (MON, "09:00", "17:00"), starts_on=dt.date(2026, 3, 2), interval_weeks=3)
    results = [in_hours(team, local(f"2026-{d} 10:00")) for d in ("03-02", "03-09", "03-16")]
    assert results == [True, False, False]
    assert in_hours(team, local("2026-03-23 10:00"))


def test_date_range_is_inclusive(team: Team) -> None:
    every_day = [(day, "09:00", "17:00") for day in range(7)]
    schedule(team, *every_day, starts_on=dt.date(2026, 3, 2), ends_on=dt.date(2026, 3, 6))
    assert not in_hours(team, local("2026-03-01 10:00"))
    assert in_hours(team, local("2026-03-02 10:00"))
    assert in_hours(team, local("2026-03-06 16:59"))
    assert not in_hours(team, local("2026-03-07 10:00"))


# --- whole days and ranges past midnight --------------------------------------------------


def test_schedule_without_ranges_covers_whole_days(team: Team) -> None:
    schedule(team, starts_on=dt.date(2026, 3, 3), ends_on=dt.date(2026, 3, 4))
    assert not in_hours(team, local("2026-03-02 23:59:59"))
    assert in_hours(team, local("2026-03-03 00:00"))
    assert in_hours(team, local("2026-03-04 23:59:59"))
    assert not in_hours(team, local("2026-03-05 00:00"))


def test_midnight_to_midnight_is_the_whole_day(team: Team) -> None:
    schedule(team, (TUE, "00:00", "00:00"))
    assert not in_hours(team, local("2026-03-02 23:59:59"))
    assert in_hours(team, local("2026-03-03 00:00"))
    assert in_hours(team, local("2026-03-03 12:00"))
    assert in_hours(team, local("2026-03-03 23:59:59"))
    assert not in_hours(team, local("2026-03-04 00:00"))


def test_range_past_midnight(team: Team) -> None:
    schedule(team, (FRI, "22:00", "02:00"))
    assert not in_hours(team, local("2026-03-06 21:59"))
    assert in_hours(team, local("2026-03-06 22:00"))
    assert in_hours(team, local("2026-03-06 23:59"))
    assert in_hours(team, local("2026-03-07 00:00"))
    assert in_hours(team, local("2026-03-07 01:59"))
    assert not in_hours(team, local("2026-03-07 02:00"))
    assert not in_hours(team, local("2026-03-07 22:30"))  # Saturday evening: no range
    assert not in_hours(team, local("2026-03-06 01:00"))  # Friday early: Thursday has none


def test_part_after_midnight_belongs_to_the_day_it_started(team: Team) -> None:
    # Friday 6 March is the last day; its night runs into Saturday 7 March (after ends_on).
    # The first day is Saturday 28 February: Friday 27's night is not part of the schedule.
    schedule(
        team,
        (FRI, "22:00", "02:00"),
        starts_on=dt.date(2026, 2, 28),
        ends_on=dt.date(2026, 3, 6),
    )
    assert not in_hours(team, local("2026-02-27 23:00"))
    assert not in_hours(team, local("2026-02-28 01:00"))
    assert in_hours(team, local("2026-03-06 23:00"))
    assert in_hours(team, local("2026-03-07 01:00"))
    assert not in_hours(team, local("2026-03-13 23:00"))
    assert not in_hours(team, local("2026-03-14 01:00"))


def test_part_after_midnight_follows_the_week_interval(team: Team) -> None:
    schedule(team, (SUN, "20:00", "06:00"), starts_on=dt.date(2026, 3, 2), interval_weeks=2)
    # Sunday 8 March is in week 0: its night runs into Monday 9 March (week 1) and counts.
    assert in_hours(team, local("2026-03-08 21:00"))
    assert in_hours(team, local("2026-03-09 05:00"))
    assert not in_hours(team, local("2026-03-15 21:00"))
    assert not in_hours(team, local("2026-03-16 05:00"))
    assert in_hours(team, local("2026-03-23 05:00"))


def test_equal_start_and_end_other_than_midnight_is_24_hours(team: Team) -> None:
    schedule(team, (MON, "09:00", "09:00"))
    assert not in_hours(team, local("2026-03-02 08:59"))
    assert in_hours(team, local("2026-03-02 09:00"))
    assert in_hours(team, local("2026-03-03 08:59"))
    assert not in_hours(team, local("2026-03-03 09:00"))


# --- every year ---------------------------------------------------------------------------


def test_yearly_window(team: Team) -> None:
    schedule(
        team,
        starts_on=dt.date(2024, 12, 24),
        ends_on=dt.date(2024, 12, 26),
        recurrence=Recurrence.YEARLY,
    )
    assert not in_hours(team, local("2023-12-25 12:00"))  # before the first year
    assert in_hours(team, local("2024-12-24 00:00"))
    for year in (2025, 2026, 2031):
        assert not in_hours(team, local(f"{year}-12-23 23:59"))
        assert in_hours(team, local(f"{year}-12-24 00:00"))
        assert in_hours(team, local(f"{year}-12-26 23:59"))
        assert not in_hours(team, local(f"{year}-12-27 00:00"))


def test_yearly_window_wrapping_the_year_end(team: Team) -> None:
    schedule(
        team,
        starts_on=dt.date(2025, 12, 30),
        ends_on=dt.date(2026, 1, 2),
        recurrence=Recurrence.YEARLY,
    )
    # The first year: 1 January 2025 comes before the first window (30 Dec 2025 – 2 Jan 2026).
    assert not in_hours(team, local("2025-01-01 12:00"))
    assert not in_hours(team, local("2025-12-29 23:59"))
    assert in_hours(team, local("2025-12-30 00:00"))
    assert in_hours(team, local("2026-01-01 12:00"))
    assert in_hours(team, local("2026-01-02 23:59"))
    assert not in_hours(team, local("2026-01-03 00:00"))
    assert not in_hours(team, local("2026-06-15 12:00"))
    assert in_hours(team, local("2026-12-31 12:00"))
    assert in_hours(team, local("2027-01-01 12:00"))
    assert not in_hours(team, local("2027-01-03 12:00"))


def test_yearly_window_with_ranges(team: Team) -> None:
    # 24 December 2026 and 2 January 2027 are Thursday and Saturday.
    schedule(
        team,
        (THU, "10:00", "14:00"),
        (SAT, "22:00", "01:00"),
        starts_on=dt.date(2026, 12, 20),
        ends_on=dt.date(2027, 1, 2),
        recurrence=Recurrence.YEARLY,
    )
    assert in_hours(team, local("2026-12-24 11:00"))
    assert not in_hours(team, local("2026-12-24 15:00"))
    assert in_hours(team, local("2026-12-31 11:00"))
    assert not in_hours(team, local("2027-01-07 11:00"))  # window over
    assert in_hours(team, local("2027-01-02 23:00"))
    assert in_hours(team, local("2027-01-03 00:30"))  # after midnight of the last day
    assert not in_hours(team, local("2026-12-20 00:30"))  # Saturday 19 Dec is not in it


def test_yearly_window_on_29_february(team: Team) -> None:
    schedule(
        team,
        starts_on=dt.date(2024, 2, 29),
        ends_on=dt.date(2024, 3, 1),
        recurrence=Recurrence.YEARLY,
    )
    assert in_hours(team, local("2024-02-29 12:00"))
    assert not in_hours(team, local("2025-02-28 12:00"))
    assert in_hours(team, local("2025-03-01 12:00"))
    assert in_hours(team, local("2028-02-29 12:00"))


# --- overlapping schedules ----------------------------------------------------------------


def test_newer_closed_schedule_overrides_an_older_open_one(team: Team) -> None:
    hours = schedule(team, (MON, "09:00", "17:00"), created_at=created(0))
    holiday = schedule(
        team,
        kind=ScheduleKind.CLOSED,
        starts_on=dt.date(2026, 3, 2),
        ends_on=dt.date(2026, 3, 2),
        created_at=created(1),
    )
    state = team_schedule_state(team=team, at=local("2026-03-02 10:00"))
    assert state.in_hours is False
    assert state.schedule == holiday
    assert state.primary == []
    later = team_schedule_state(team=team, at=local("2026-03-09 10:00"))
    assert later.in_hours is True and later.schedule == hours


def test_older_closed_schedule_does_not_override_a_newer_open_one(team: Team) -> None:
    schedule(team, kind=ScheduleKind.CLOSED, created_at=created(0))  # always closed
    hours = schedule(team, (MON, "09:00", "17:00"), created_at=created(1))
    assert team_schedule_state(team=team, at=local("2026-03-02 10:00")).schedule == hours
    closed = team_schedule_state(team=team, at=local("2026-03-02 18:00"))
    assert closed.in_hours is False and closed.schedule is not None
    assert closed.schedule.kind == ScheduleKind.CLOSED


def test_newer_open_schedule_overrides_an_older_one_with_its_advisors(team: Team) -> None:
    alice, bob, carol, dan = (UserFactory(name=n) for n in ("Alice", "Bob", "Carol", "Dan"))
    for user in (alice, bob, carol, dan):
        add_team_member(team, user)
    older = schedule(team, (MON, "09:00", "17:00"), created_at=created(0))
    _slot(older, alice, Slot.PRIMARY)
    _slot(older, bob, Slot.SECONDARY)
    newer = schedule(team, (MON, "12:00", "13:00"), created_at=created(1))
    _slot(newer, carol, Slot.PRIMARY)
    _slot(newer, dan, Slot.PRIMARY, position=1)
    _slot(newer, alice, Slot.SECONDARY)

    lunch = team_schedule_state(team=team, at=local("2026-03-02 12:30"))
    assert lunch.schedule == newer
    assert lunch.primary == [carol, dan]
    assert lunch.secondary == [alice]
    morning = team_schedule_state(team=team, at=local("2026-03-02 10:00"))
    assert morning.schedule == older
    assert morning.primary == [alice]
    assert morning.secondary == [bob]


def test_same_creation_time_the_higher_id_wins(team: Team) -> None:
    schedule(team, (MON, "09:00", "17:00"), created_at=created(5))
    second = schedule(team, kind=ScheduleKind.CLOSED, created_at=created(5))
    assert team_schedule_state(team=team, at=local("2026-03-02 10:00")).schedule == second


def test_creation_time_beats_id(team: Team) -> None:
    newer_by_time = schedule(team, (MON, "09:00", "17:00"), created_at=created(10))
    schedule(team, kind=ScheduleKind.CLOSED, created_at=created(5))
    assert team_schedule_state(team=team, at=local("2026-03-02 10:00")).schedule == newer_by_time


def test_disabled_schedules_are_ignored(team: Team) -> None:
    hours = schedule(team, (MON, "09:00", "17:00"), created_at=created(0))
    schedule(team, kind=ScheduleKind.CLOSED, enabled=False, created_at=created(1))
    state = team_schedule_state(team=team, at=local("2026-03-02 10:00"))
    assert state.in_hours and state.schedule == hours
    hours.enabled = False
    hours.save()
    assert team_schedule_state(team=team, at=local("2026-03-02 10:00")).schedule is None


def test_other_teams_schedules_do_not_count(team: Team, org: Organization) -> None:
    other = TeamFactory(organization=org, name="Sales")
    schedule(other, (MON, "09:00", "17:00"))
    assert not in_hours(team, local("2026-03-02 10:00"))
    assert in_hours(other, local("2026-03-02 10:00"))


def _slot(schedule: Schedule, user, slot: str, position: int = 0) -> ScheduleAdvisor:  # type: ignore[no-untyped-def]
    return ScheduleAdvisor.all_objects.create(
        organization=schedule.organization,
        schedule=schedule,
        user=user,
        slot=slot,
        position=position,
    )


def test_advisors_no_longer_on_the_team_or_inactive_are_not_rung(team: Team) -> None:
    stays, leaves, inactive = UserFactory(), UserFactory(), UserFactory(is_active=False)
    add_team_member(team, stays)
    add_team_member(team, inactive)
    hours = schedule(team, (MON, "09:00", "17:00"))
    for position, user in enumerate((stays, leaves, inactive)):
        _slot(hours, user, Slot.PRIMARY, position)
    state = team_schedule_state(team=team, at=local("2026-03-02 10:00"))
    assert state.primary == [stays]


# --- daylight saving time -----------------------------------------------------------------


def test_warsaw_spring_forward(team: Team) -> None:
    # Sunday 29 March 2026: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    schedule(team, (SUN, "01:00", "04:00"))
    assert not in_hours(team, utc("2026-03-28 23:30"))  # 00:30 CET
    assert in_hours(team, utc("2026-03-29 00:00"))  # 01:00 CET
    assert in_hours(team, utc("2026-03-29 00:59"))  # 01:59 CET
    assert in_hours(team, utc("2026-03-29 01:00"))  # 03:00 CEST
    assert in_hours(team, utc("2026-03-29 01:59"))  # 03:59 CEST
    assert not in_hours(team, utc("2026-03-29 02:00"))  # 04:00 CEST
    assert not in_hours(team, utc("2026-03-29 02:30"))  # 04:30 CEST (03:30 in CET)


def test_warsaw_fall_back(team: Team) -> None:
    # Sunday 25 October 2026: 03:00 CEST falls back to 02:00 CET (01:00 UTC); 02:xx twice.
    schedule(team, (SUN, "01:00", "04:00"))
    assert not in_hours(team, utc("2026-10-24 22:30"))  # 00:30 CEST
    assert in_hours(team, utc("2026-10-24 23:00"))  # 01:00 CEST
    assert in_hours(team, utc("2026-10-25 00:30"))  # 02:30 CEST
    assert in_hours(team, utc("2026-10-25 01:30"))  # 02:30 CET
    assert in_hours(team, utc("2026-10-25 02:30"))  # 03:30 CET (04:30 in CEST)
    assert not in_hours(team, utc("2026-10-25 03:00"))  # 04:00 CET
    assert not in_hours(team, utc("2026-10-25 03:30"))


def test_business_hours_keep_their_wall_clock_time_across_the_change(team: Team) -> None:
    schedule(team, (MON, "09:00", "17:00"))
    # Before the change Warsaw is UTC+1, after it UTC+2.
    assert in_hours(team, utc("2026-03-23 08:00"))
    assert not in_hours(team, utc("2026-03-23 16:30"))
    assert in_hours(team, utc("2026-03-30 07:00"))
    assert not in_hours(team, utc("2026-03-30 06:30"))
    assert not in_hours(team, utc("2026-03-30 15:00"))
    assert in_hours(team, utc("2026-03-30 14:59"))


def test_night_range_across_the_fall_back(team: Team) -> None:
    # Saturday 24 → Sunday 25 October 2026: 22:00–06:00 local lasts nine real hours.
    schedule(team, (SAT, "22:00", "06:00"))
    assert not in_hours(team, utc("2026-10-24 19:59"))  # 21:59 CEST
    assert in_hours(team, utc("2026-10-24 20:00"))  # 22:00 CEST
    assert in_hours(team, utc("2026-10-25 04:59"))  # 05:59 CET
    assert not in_hours(team, utc("2026-10-25 05:00"))  # 06:00 CET


def test_new_york_spring_forward_and_fall_back(team: Team) -> None:
    team.time_zone = "America/New_York"
    team.save()
    schedule(team, (SUN, "01:00", "04:00"))
    # Sunday 8 March 2026: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
    assert not in_hours(team, utc("2026-03-08 05:30"))  # 00:30 EST
    assert in_hours(team, utc("2026-03-08 06:30"))  # 01:30 EST
    assert in_hours(team, utc("2026-03-08 07:30"))  # 03:30 EDT
    assert not in_hours(team, utc("2026-03-08 08:00"))  # 04:00 EDT
    # Sunday 1 November 2026: 02:00 EDT falls back to 01:00 EST (06:00 UTC); 01:xx twice.
    assert not in_hours(team, utc("2026-11-01 04:30"))  # 00:30 EDT
    assert in_hours(team, utc("2026-11-01 05:30"))  # 01:30 EDT
    assert in_hours(team, utc("2026-11-01 06:30"))  # 01:30 EST
    assert in_hours(team, utc("2026-11-01 08:30"))  # 03:30 EST
    assert not in_hours(team, utc("2026-11-01 09:00"))  # 04:00 EST
    assert in_hours(team, local("2026-11-01 03:59", NEW_YORK))


# --- API details and query counts ---------------------------------------------------------


def test_naive_instants_are_refused(team: Team) -> None:
    with pytest.raises(ValueError):
        team_schedule_state(team=team, at=dt.datetime(2026, 3, 2, 10))


def test_default_instant_is_now(team: Team, time_machine) -> None:  # type: ignore[no-untyped-def]
    schedule(team, (MON, "09:00", "17:00"))
    time_machine.move_to(local("2026-03-02 10:00"), tick=False)
    assert team_schedule_state(team=team).in_hours
    time_machine.move_to(local("2026-03-02 18:00"), tick=False)
    assert not team_schedule_state(team=team).in_hours


def _busy_team(org: Organization, name: str) -> Team:
    team = TeamFactory(organization=org, name=name)
    user = UserFactory()
    add_team_member(team, user)
    for kind in (ScheduleKind.OPEN, ScheduleKind.CLOSED):
        made = schedule(team, (MON, "09:00", "17:00"), (TUE, "22:00", "02:00"), kind=kind)
        _slot(made, user, Slot.PRIMARY)
    return Team.objects.for_organization(org).select_related("organization").get(pk=team.pk)


def test_one_team_in_three_queries(org: Organization, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    team = _busy_team(org, "Busy")
    with django_assert_num_queries(3):
        state = team_schedule_state(team=team, at=local("2026-03-02 10:00"))
    assert state.schedule is not None


@pytest.mark.parametrize("count", [1, 5])
def test_many_teams_in_three_queries(  # type: ignore[no-untyped-def]
    org: Organization, count: int, django_assert_num_queries
) -> None:
    teams = [_busy_team(org, f"Team {n}") for n in range(count)]
    with django_assert_num_queries(3):
        states = team_schedule_states(teams=teams, at=local("2026-03-02 10:00"))
    assert set(states) == {team.pk for team in teams}
    assert all(state.schedule is not None for state in states.values())
    for team in teams:
        assert states[team.pk] == team_schedule_state(team=team, at=local("2026-03-02 10:00"))


def test_state_from_loaded_schedules_needs_no_queries(  # type: ignore[no-untyped-def]
    org: Organization, django_assert_num_queries
) -> None:
    team = _busy_team(org, "Busy")
    schedules = schedule_list(team=team)  # disabled ones too: they are skipped
    schedules[0].enabled = False
    at = local("2026-03-02 10:00")
    with django_assert_num_queries(0):
        state = team_schedule_state_from(team=team, schedules=schedules, at=at)
    assert state.schedule == schedules[1]
    assert state.in_hours is (schedules[1].kind == ScheduleKind.OPEN)


def test_no_teams_no_queries(django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    with django_assert_num_queries(0):
        assert team_schedule_states(teams=[], at=local("2026-03-02 10:00")) == {}


def test_teams_of_several_organizations_are_refused(org, other_org) -> None:  # type: ignore[no-untyped-def]
    teams = [TeamFactory(organization=org), TeamFactory(organization=other_org)]
    with pytest.raises(ValueError):
        team_schedule_states(teams=teams, at=local("2026-03-02 10:00"))
