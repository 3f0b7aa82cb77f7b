"""Day of week, hour and working hours are read on the organization's wall clock at the event's
instant, across daylight-saving changes (Europe/Warsaw 2026-03-29 and 2026-10-25,
America/New_York 2026-03-08 and 2026-11-01). Events are made at chosen instants with a frozen
clock, through the real services; a few go through the whole pipeline to the run row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from automations.engine import evaluate
from automations.models import Outcome, WorkflowRun
from helpdesk.models import Organization, ScheduleAdvisor, ScheduleKind, Slot, Team, User
from tests.automations.test_conditions_support import (
    at,
    event_ctx,
    holds,
    mark_action,
    workflow,
)
from tests.factories import ScheduleFactory, TeamFactory, UserFactory, add_range, add_team_member
from tests.tickets.factories import make_ticket
from tickets.models import Ticket
from tickets.services.tickets import ticket_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def marks() -> Iterator[list[int]]:
    with mark_action() as calls:
        yield calls


@pytest.fixture(autouse=True)
def _no_compiled_cache() -> Iterator[None]:
    evaluate._cache.clear()
    yield
    evaluate._cache.clear()


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def ticket_at(org: Organization, instant: datetime, **extra: Any) -> Ticket:
    with at(instant):
        return make_ticket(org, **extra)


def holds_at(org: Organization, instant: datetime, key: str, op: str, value: Any) -> bool:
    """Whether the condition holds on the ``message.received`` event of a ticket written to
    ``org`` at ``instant``."""
    ctx = event_ctx(ticket_at(org, instant), "message.received")
    assert ctx.at == instant
    return holds(ctx, key, op, value)


# --- day of week ------------------------------------------------------------------------------

MONDAY, SATURDAY, SUNDAY = 0, 5, 6


@pytest.mark.parametrize(
    ("instant", "local_day"),
    [
        # Sunday 22:30 UTC is already Monday 00:30 in Warsaw (summer time since that night).
        (utc(2026, 3, 29, 22, 30), MONDAY),
        # Saturday 23:30 UTC is Sunday 00:30 in Warsaw (still winter time, +1).
        (utc(2026, 3, 28, 23, 30), SUNDAY),
        # Back to winter time that morning: Sunday 22:30 UTC is Sunday 23:30, not Monday.
        (utc(2026, 10, 25, 22, 30), SUNDAY),
        (utc(2026, 10, 24, 22, 30), SUNDAY),  # Saturday 22:30 UTC, summer time: 00:30 Sunday
    ],
)
def test_weekday_in_warsaw(org: Organization, instant: datetime, local_day: int) -> None:
    assert holds_at(org, instant, "weekday", "is", [local_day])
    assert not holds_at(org, instant, "weekday", "is", [d for d in range(7) if d != local_day])
    assert holds_at(org, instant, "weekday", "is_not", [(local_day + 1) % 7])
    assert not holds_at(org, instant, "weekday", "is_not", [local_day, SATURDAY])


@pytest.mark.parametrize(
    ("instant", "local_day"),
    [
        (utc(2026, 3, 9, 4, 30), MONDAY),  # 00:30 EDT Monday (23:30 on EST's Sunday)
        (utc(2026, 11, 2, 4, 30), SUNDAY),  # 23:30 EST Sunday (00:30 on EDT's Monday)
    ],
)
def test_weekday_in_new_york(other_org: Organization, instant: datetime, local_day: int) -> None:
    assert holds_at(other_org, instant, "weekday", "is", [local_day])
    assert not holds_at(other_org, instant, "weekday", "is_not", [local_day])
    assert holds_at(other_org, instant, "weekday", "is_not", [SATURDAY])


# --- hour --------------------------------------------------------------------------------------

OFFICE = {"from": "09:00", "to": "17:00"}
NIGHT = {"from": "22:00", "to": "06:00"}
LOST_HOUR = {"from": "02:00", "to": "03:00"}


@pytest.mark.parametrize(
    ("instant", "value", "inside"),
    [
        (utc(2026, 3, 28, 8, 30), OFFICE, True),  # 09:30 CET
        (utc(2026, 3, 30, 7, 15), OFFICE, True),  # 09:15 CEST (08:15 on winter time)
        (utc(2026, 3, 30, 6, 45), OFFICE, False),  # 08:45 CEST
        (utc(2026, 3, 30, 14, 59), OFFICE, True),  # 16:59 CEST
        (utc(2026, 3, 30, 15, 0), OFFICE, False),  # 17:00 CEST: the end is not included
        (utc(2026, 3, 30, 7, 0), OFFICE, True),  # 09:00 CEST: the start is
        # 2026-03-29 02:00–03:00 does not exist in Warsaw.
        (utc(2026, 3, 29, 0, 59), LOST_HOUR, False),  # 01:59 CET
        (utc(2026, 3, 29, 1, 0), LOST_HOUR, False),  # 03:00 CEST
        # 2026-10-25 02:00–03:00 happens twice.
        (utc(2026, 10, 25, 0, 30), LOST_HOUR, True),  # 02:30 CEST
        (utc(2026, 10, 25, 1, 30), LOST_HOUR, True),  # 02:30 CET
        (utc(2026, 10, 25, 2, 30), LOST_HOUR, False),  # 03:30 CET
        (utc(2026, 10, 26, 15, 30), OFFICE, True),  # 16:30 CET (17:30 on summer time)
        # Across midnight.
        (utc(2026, 10, 24, 21, 30), NIGHT, True),  # 23:30 CEST
        (utc(2026, 10, 24, 19, 30), NIGHT, False),  # 21:30 CEST
        (utc(2026, 10, 25, 4, 30), NIGHT, True),  # 05:30 CET
        (utc(2026, 10, 25, 5, 30), NIGHT, False),  # 06:30 CET
        (utc(2026, 10, 24, 22, 0), NIGHT, True),  # 00:00 CEST
    ],
)
def test_hour_in_warsaw(
    org: Organization, instant: datetime, value: dict[str, str], inside: bool
) -> None:
    assert holds_at(org, instant, "hour", "between", value) is inside
    assert holds_at(org, instant, "hour", "not_between", value) is not inside


@pytest.mark.parametrize(
    ("instant", "inside"),
    [
        (utc(2026, 3, 9, 13, 30), True),  # 09:30 EDT (08:30 on EST)
        (utc(2026, 3, 7, 13, 30), False),  # 08:30 EST
        (utc(2026, 11, 2, 21, 30), True),  # 16:30 EST (17:30 on EDT)
        (utc(2026, 10, 30, 21, 30), False),  # 17:30 EDT
    ],
)
def test_hour_in_new_york(other_org: Organization, instant: datetime, inside: bool) -> None:
    assert holds_at(other_org, instant, "hour", "between", OFFICE) is inside
    assert holds_at(other_org, instant, "hour", "not_between", OFFICE) is not inside


# --- working hours ------------------------------------------------------------------------------


class Staff:
    def __init__(self, org: Organization) -> None:
        slug = org.slug
        self.team: Team = TeamFactory(organization=org, name="Support")
        self.other_team: Team = TeamFactory(organization=org, name="Night desk")
        self.primary: User = UserFactory(email=f"primary@{slug}.example")
        self.secondary: User = UserFactory(email=f"secondary@{slug}.example")
        self.off_slot: User = UserFactory(email=f"offslot@{slug}.example")
        self.elsewhere: User = UserFactory(email=f"elsewhere@{slug}.example")
        for user in (self.primary, self.secondary, self.off_slot):
            add_team_member(self.team, user)
        add_team_member(self.other_team, self.elsewhere)  # a team without any schedule
        self.schedule = ScheduleFactory(team=self.team, name="Office hours")
        for day in range(7):
            add_range(self.schedule, day, "09:00", "17:00")
        for user, slot in ((self.primary, Slot.PRIMARY), (self.secondary, Slot.SECONDARY)):
            ScheduleAdvisor.all_objects.create(
                organization=org, schedule=self.schedule, user=user, slot=slot
            )


def _who(staff: Staff, name: str) -> dict[str, Any]:
    if name == "team":
        return {"team": staff.team.pk}
    if name == "other_team":
        return {"team": staff.other_team.pk}
    return {"user": getattr(staff, name).pk}


@pytest.mark.parametrize(
    ("instant", "inside"),
    [
        (utc(2026, 3, 30, 7, 15), True),  # Monday 09:15 CEST (08:15 on winter time)
        (utc(2026, 3, 30, 6, 45), False),  # Monday 08:45 CEST
        (utc(2026, 3, 28, 8, 15), True),  # Saturday 09:15 CET
        (utc(2026, 10, 26, 15, 30), True),  # Monday 16:30 CET (17:30 on summer time)
        (utc(2026, 10, 24, 15, 30), False),  # Saturday 17:30 CEST
    ],
)
def test_working_hours_of_teams_and_agents_in_warsaw(
    org: Organization, instant: datetime, inside: bool
) -> None:
    staff = Staff(org)
    for name in ("team", "primary", "secondary"):
        assert holds_at(org, instant, "working_hours", "inside", _who(staff, name)) is inside
        assert holds_at(org, instant, "working_hours", "outside", _who(staff, name)) is not inside
    # On the team but on no slot, on a team without a schedule: never in working hours.
    for name in ("off_slot", "elsewhere", "other_team"):
        assert not holds_at(org, instant, "working_hours", "inside", _who(staff, name))
        assert holds_at(org, instant, "working_hours", "outside", _who(staff, name))


def test_working_hours_of_the_tickets_team(org: Organization) -> None:
    staff = Staff(org)
    open_at, closed_at = utc(2026, 3, 30, 7, 15), utc(2026, 3, 30, 6, 45)
    for instant, inside in ((open_at, True), (closed_at, False)):
        with at(instant):
            on_team = ticket_create(organization=org, subject="x", source="email", team=staff.team)
            no_team = ticket_create(organization=org, subject="y", source="email")
        ctx = event_ctx(on_team, "ticket.created")
        assert holds(ctx, "working_hours", "inside", {"ticket_team": True}) is inside
        assert holds(ctx, "working_hours", "outside", {"ticket_team": True}) is not inside
        ctx = event_ctx(no_team, "ticket.created")
        assert not holds(ctx, "working_hours", "inside", {"ticket_team": True})
        assert holds(ctx, "working_hours", "outside", {"ticket_team": True})


def test_a_newer_closed_schedule_means_outside_working_hours(org: Organization) -> None:
    staff = Staff(org)
    instant = utc(2026, 3, 30, 7, 15)  # in office hours
    assert holds_at(org, instant, "working_hours", "inside", _who(staff, "primary"))
    ScheduleFactory(team=staff.team, name="Holiday", kind=ScheduleKind.CLOSED)
    assert not holds_at(org, instant, "working_hours", "inside", _who(staff, "primary"))
    assert holds_at(org, instant, "working_hours", "outside", _who(staff, "team"))


@pytest.mark.parametrize(
    ("instant", "inside"),
    [
        (utc(2026, 3, 9, 13, 15), True),  # 09:15 EDT (08:15 on EST)
        (utc(2026, 3, 7, 13, 15), False),  # 08:15 EST
        (utc(2026, 11, 2, 21, 30), True),  # 16:30 EST (17:30 on EDT)
        (utc(2026, 10, 30, 21, 30), False),  # 17:30 EDT
    ],
)
def test_working_hours_in_new_york(
    other_org: Organization, instant: datetime, inside: bool
) -> None:
    staff = Staff(other_org)
    assert holds_at(other_org, instant, "working_hours", "inside", _who(staff, "team")) is inside
    assert holds_at(other_org, instant, "working_hours", "inside", _who(staff, "primary")) is inside


# --- through the whole pipeline ------------------------------------------------------------------


def _process_at(org: Organization, instant: datetime, capture: Any) -> Ticket:
    with at(instant), capture(execute=True):
        return make_ticket(org)


def test_out_of_hours_workflow_acts_only_outside_hours(  # type: ignore[no-untyped-def]
    org: Organization, marks: list[int], django_capture_on_commit_callbacks
) -> None:
    """ "Outside working hours of the ticket's team, or at the weekend" — decided on the
    worker from the event's time, on the organization's clock."""
    staff = Staff(org)
    wf = workflow(
        org,
        {
            "any": [
                [
                    {"field": "working_hours", "op": "outside", "value": {"team": staff.team.pk}},
                    {"field": "weekday", "op": "is", "value": [SATURDAY, SUNDAY]},
                ]
            ]
        },
    )
    inside = _process_at(org, utc(2026, 3, 30, 7, 15), django_capture_on_commit_callbacks)
    outside = _process_at(org, utc(2026, 3, 30, 6, 45), django_capture_on_commit_callbacks)
    weekend = _process_at(org, utc(2026, 3, 29, 10, 0), django_capture_on_commit_callbacks)
    assert marks == [outside.pk, weekend.pk]
    runs = {
        run.ticket_id: run for run in WorkflowRun.objects.for_organization(org).filter(workflow=wf)
    }
    assert runs[inside.pk].outcome == Outcome.NOT_MATCHED
    assert runs[inside.pk].reason == (
        "none of: outside the working hours of team Support / day of week is Saturday or Sunday"
    )
    assert runs[outside.pk].outcome == Outcome.DONE
    assert runs[outside.pk].reason == "outside the working hours of team Support"
    assert runs[weekend.pk].reason == "day of week is Saturday or Sunday"


def test_night_hours_workflow_on_the_night_the_clocks_go_back(  # type: ignore[no-untyped-def]
    org: Organization, marks: list[int], django_capture_on_commit_callbacks
) -> None:
    workflow(org, {"all": [{"field": "hour", "op": "between", "value": NIGHT}]})
    tickets = [
        _process_at(org, instant, django_capture_on_commit_callbacks)
        for instant in (
            utc(2026, 10, 24, 19, 30),  # 21:30 CEST: not yet
            utc(2026, 10, 25, 0, 30),  # 02:30 CEST
            utc(2026, 10, 25, 1, 30),  # 02:30 CET, the same wall-clock time again
            utc(2026, 10, 25, 5, 30),  # 06:30 CET: over
        )
    ]
    assert marks == [tickets[1].pk, tickets[2].pk]
