"""Schedule services: create, update, enable, delete, validation and the 25-per-team limit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk.models import (
    MAX_SCHEDULES_PER_TEAM,
    Membership,
    Organization,
    Recurrence,
    Schedule,
    ScheduleAdvisor,
    ScheduleKind,
    ScheduleRange,
    Team,
    User,
)
from helpdesk.services.schedules import (
    RangeSpec,
    schedule_create,
    schedule_delete,
    schedule_set_enabled,
    schedule_update,
)
from tests.factories import ScheduleFactory, TeamFactory, UserFactory, add_team_member

pytestmark = pytest.mark.django_db


def spec(weekday: int, start: str, end: str) -> RangeSpec:
    return RangeSpec(weekday, dt.time.fromisoformat(start), dt.time.fromisoformat(end))


@pytest.fixture
def team(org: Organization) -> Team:
    return TeamFactory(organization=org, name="Service")


@pytest.fixture
def advisors(team: Team) -> list[User]:
    users = [UserFactory(name=name) for name in ("Ann", "Ben", "Cat")]
    for user in users:
        add_team_member(team, user)
    return users


def create(actor: Membership, team: Team, **fields: Any) -> Schedule:
    fields.setdefault("name", "Business hours")
    fields.setdefault("starts_on", dt.date(2026, 3, 2))
    return schedule_create(actor=actor, team=team, **fields)


def slots(schedule: Schedule) -> list[tuple[str, str]]:
    return [(s.slot, s.user.name) for s in schedule.slots.select_related("user")]


def test_create_with_ranges_and_advisors(
    manager: Membership, team: Team, advisors: list[User]
) -> None:
    ann, ben, cat = advisors
    schedule = create(
        manager,
        team,
        ranges=[spec(0, "09:00", "17:00"), spec(4, "22:00", "02:00"), spec(0, "09:00", "17:00")],
        primary=[ben, ann],
        secondary=[cat],
        ends_on=dt.date(2026, 12, 31),
        interval_weeks=2,
    )
    schedule = Schedule.objects.filter(team=team).get()
    assert schedule.kind == ScheduleKind.OPEN and schedule.enabled
    assert (schedule.starts_on, schedule.ends_on) == (dt.date(2026, 3, 2), dt.date(2026, 12, 31))
    assert schedule.interval_weeks == 2
    assert [(r.weekday, str(r.start_time), str(r.end_time)) for r in schedule.ranges.all()] == [
        (0, "09:00:00", "17:00:00"),
        (4, "22:00:00", "02:00:00"),
    ]
    assert slots(schedule) == [("primary", "Ben"), ("primary", "Ann"), ("secondary", "Cat")]
    assert {r.organization_id for r in schedule.ranges.all()} == {team.organization_id}


@pytest.mark.parametrize("role", ["agent", "viewer"])
def test_agents_and_viewers_cannot_write_schedules(request, team: Team, role: str) -> None:  # type: ignore[no-untyped-def]
    actor = request.getfixturevalue(role)
    existing = ScheduleFactory(team=team, name="Hours")
    with pytest.raises(PermissionDenied):
        create(actor, team)
    with pytest.raises(PermissionDenied):
        schedule_set_enabled(actor=actor, schedule=existing, enabled=False)
    with pytest.raises(PermissionDenied):
        schedule_delete(actor=actor, schedule=existing)
    with pytest.raises(PermissionDenied):
        schedule_update(
            actor=actor,
            schedule=existing,
            name="Hacked",
            starts_on=existing.starts_on,
            kind=ScheduleKind.CLOSED,
            ends_on=None,
            recurrence=Recurrence.WEEKLY,
            interval_weeks=1,
            enabled=True,
            ranges=[],
            primary=[],
            secondary=[],
        )
    existing.refresh_from_db()
    assert (existing.name, existing.enabled) == ("Hours", True)
    assert Schedule.objects.filter(team=team).count() == 1


def test_another_organization_cannot_write_schedules(outsider: Membership, team: Team) -> None:
    existing = ScheduleFactory(team=team)
    with pytest.raises(PermissionDenied):
        create(outsider, team)
    with pytest.raises(PermissionDenied):
        schedule_delete(actor=outsider, schedule=existing)
    assert Schedule.objects.filter(team=team).count() == 1


def test_advisors_must_be_team_members(
    manager: Membership, team: Team, org: Organization, make_member
) -> None:  # type: ignore[no-untyped-def]
    colleague = make_member(org).user  # in the organization, not on the team
    with pytest.raises(ValidationError) as error:
        create(manager, team, primary=[colleague])
    assert "primary" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        create(manager, team, secondary=[UserFactory()])
    assert "secondary" in error.value.message_dict
    assert not Schedule.objects.filter(team=team).exists()


def test_a_person_is_on_one_slot_only(
    manager: Membership, team: Team, advisors: list[User]
) -> None:
    with pytest.raises(ValidationError):
        create(manager, team, primary=[advisors[0]], secondary=[advisors[0]])


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": " "}, "name"),
        ({"ends_on": dt.date(2026, 3, 1)}, "ends_on"),
        ({"recurrence": Recurrence.YEARLY}, "ends_on"),
        ({"recurrence": Recurrence.YEARLY, "ends_on": dt.date(2027, 3, 2)}, "ends_on"),
        ({"interval_weeks": 0}, "interval_weeks"),
        ({"interval_weeks": 53}, "interval_weeks"),
        ({"kind": "maybe"}, "kind"),
        ({"recurrence": "daily"}, "recurrence"),
        ({"ranges": [spec(7, "09:00", "10:00")]}, "__all__"),
    ],
)
def test_invalid_schedules_are_refused(
    manager: Membership, team: Team, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as error:
        create(manager, team, **fields)
    assert field in error.value.message_dict
    assert not Schedule.objects.filter(team=team).exists()


def test_yearly_window_shorter_than_a_year_is_fine(manager: Membership, team: Team) -> None:
    schedule = create(
        manager,
        team,
        recurrence=Recurrence.YEARLY,
        interval_weeks=4,
        starts_on=dt.date(2025, 12, 30),
        ends_on=dt.date(2026, 1, 2),
    )
    assert schedule.interval_weeks == 1  # meaningless for yearly schedules


def test_at_most_25_schedules_per_team(manager: Membership, team: Team, org: Organization) -> None:
    for _ in range(MAX_SCHEDULES_PER_TEAM - 1):
        ScheduleFactory(team=team)
    create(manager, team)  # the 25th
    with pytest.raises(ValidationError) as error:
        create(manager, team)
    assert "25" in error.value.messages[0]
    assert Schedule.objects.filter(team=team).count() == MAX_SCHEDULES_PER_TEAM
    # The limit is per team.
    assert create(manager, TeamFactory(organization=org)).pk


@pytest.mark.skipif(
    not connection.features.has_select_for_update, reason="the database has no row locks"
)
def test_the_limit_is_counted_under_a_lock_on_the_team(manager: Membership, team: Team) -> None:
    with CaptureQueriesContext(connection) as queries:
        create(manager, team)
    assert any(
        "FOR UPDATE" in q["sql"] and "helpdesk_team" in q["sql"] for q in queries.captured_queries
    )


def test_update_replaces_ranges_and_advisors_and_keeps_the_creation_time(
    manager: Membership, team: Team, advisors: list[User]
) -> None:
    ann, ben, cat = advisors
    schedule = create(manager, team, ranges=[spec(0, "09:00", "17:00")], primary=[ann])
    created_at = schedule.created_at
    schedule_update(
        actor=manager,
        schedule=schedule,
        name="Holiday",
        starts_on=dt.date(2026, 4, 3),
        kind=ScheduleKind.CLOSED,
        ends_on=dt.date(2026, 4, 3),
        recurrence=Recurrence.WEEKLY,
        interval_weeks=1,
        enabled=False,
        ranges=[spec(2, "10:00", "11:00")],
        primary=[ben],
        secondary=[cat],
    )
    schedule = Schedule.objects.filter(team=team).get()
    assert (schedule.name, schedule.kind, schedule.enabled) == ("Holiday", "closed", False)
    assert schedule.created_at == created_at
    assert [(r.weekday, r.start_time) for r in schedule.ranges.all()] == [(2, dt.time(10))]
    assert slots(schedule) == [("primary", "Ben"), ("secondary", "Cat")]


def test_update_validates(manager: Membership, team: Team) -> None:
    schedule = create(manager, team, ranges=[spec(0, "09:00", "17:00")])
    with pytest.raises(ValidationError):
        schedule_update(
            actor=manager,
            schedule=schedule,
            name="x",
            starts_on=dt.date(2026, 4, 3),
            kind=ScheduleKind.OPEN,
            ends_on=dt.date(2026, 4, 1),
            recurrence=Recurrence.WEEKLY,
            interval_weeks=1,
            enabled=True,
            ranges=[],
            primary=[],
            secondary=[],
        )
    schedule.refresh_from_db()
    assert schedule.name == "Business hours" and schedule.ranges.count() == 1


def test_set_enabled_and_delete(manager: Membership, team: Team, advisors: list[User]) -> None:
    schedule = create(manager, team, ranges=[spec(0, "09:00", "17:00")], primary=[advisors[0]])
    schedule_set_enabled(actor=manager, schedule=schedule, enabled=False)
    schedule.refresh_from_db()
    assert schedule.enabled is False
    schedule_set_enabled(actor=manager, schedule=schedule, enabled=True)
    schedule.refresh_from_db()
    assert schedule.enabled is True
    schedule_delete(actor=manager, schedule=schedule)
    assert not Schedule.objects.filter(team=team).exists()
    assert not ScheduleRange.objects.for_organization(team.organization_id).exists()
    assert not ScheduleAdvisor.objects.for_organization(team.organization_id).exists()
