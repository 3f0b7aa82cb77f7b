"""Ring schedule manager screens: list, create, edit, toggle, delete and the .ics export."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from typing import Any

import icalendar
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpdesk.models import (
    Membership,
    Organization,
    Schedule,
    ScheduleKind,
    Slot,
    Team,
    User,
)
from helpdesk.models.schedules import ScheduleAdvisor
from tests.factories import ScheduleFactory, TeamFactory, UserFactory, add_range, add_team_member

pytestmark = pytest.mark.django_db

WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
MONDAY_10 = dt.datetime(2026, 3, 2, 10, tzinfo=WARSAW)
HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name: str, org: Organization, **kwargs: object) -> str:
    return reverse(name, kwargs={"org": org.slug, **kwargs})


@pytest.fixture
def as_manager(manager: Membership, client_for: Callable[[Membership], Client]) -> Client:
    return client_for(manager)


@pytest.fixture
def team(org: Organization) -> Team:
    return TeamFactory(organization=org, name="Service")


@pytest.fixture
def advisors(team: Team) -> list[User]:
    users = [UserFactory(name=name) for name in ("Ann Advisor", "Ben Backup")]
    for user in users:
        add_team_member(team, user)
    return users


def slot(schedule: Schedule, user: User, which: str = Slot.PRIMARY) -> None:
    ScheduleAdvisor.all_objects.create(
        organization=schedule.organization, schedule=schedule, user=user, slot=which
    )


def form_data(rows: list[tuple[str, str, str]] | None = None, **fields: Any) -> dict[str, Any]:
    """A schedule form post: fields plus the range formset (with one empty row)."""
    rows = [("0", "09:00", "17:00")] if rows is None else rows
    data: dict[str, Any] = {
        "name": "Business hours",
        "kind": "open",
        "enabled": "on",
        "starts_on": "2026-03-02",
        "ends_on": "",
        "recurrence": "weekly",
        "interval_weeks": "1",
        "ranges-TOTAL_FORMS": str(len(rows) + 1),
        "ranges-INITIAL_FORMS": "0",
        "ranges-MIN_NUM_FORMS": "0",
        "ranges-MAX_NUM_FORMS": "1000",
    }
    for index, (weekday, start, end) in enumerate([*rows, ("", "", "")]):
        data[f"ranges-{index}-weekday"] = weekday
        data[f"ranges-{index}-start_time"] = start
        data[f"ranges-{index}-end_time"] = end
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def schedules_of(team: Team) -> list[str]:
    return list(Schedule.objects.filter(team=team).values_list("name", flat=True))


# --- list -----------------------------------------------------------------------------------


def test_list_shows_state_and_each_schedules_details(
    as_manager: Client, org: Organization, team: Team, advisors: list[User], time_machine
) -> None:  # type: ignore[no-untyped-def]
    time_machine.move_to(MONDAY_10, tick=False)
    ann, ben = advisors
    hours = ScheduleFactory(team=team, name="Business hours", ends_on=dt.date(2026, 12, 31))
    add_range(hours, 0, "09:00", "17:00")
    add_range(hours, 4, "22:00", "02:00")
    slot(hours, ann)
    slot(hours, ben, Slot.SECONDARY)
    ScheduleFactory(
        team=team,
        name="Christmas",
        kind=ScheduleKind.CLOSED,
        recurrence="yearly",
        starts_on=dt.date(2026, 12, 24),
        ends_on=dt.date(2026, 12, 26),
        enabled=False,
    )

    response = as_manager.get(url("schedule-list", org, team_id=team.pk))

    html = response.content.decode()
    assert response.status_code == 200
    state = html[html.index('id="team-state"') :]
    state = state[: state.index("</section>")]
    assert "In hours" in state
    assert state.index("Primary:") < state.index("Ann Advisor")
    assert state.index("Secondary:") < state.index("Ben Backup")
    row = _row(html, hours.pk)
    assert "Monday" in row and "09:00–17:00" in row
    assert "Friday" in row and "22:00–02:00" in row and "(next day)" in row
    assert "Every week" in row and "Ann Advisor" in row
    assert 'class="tag yes toggle"' in row
    christmas = _row(html, Schedule.objects.get(team=team, name="Christmas").pk)
    assert "Every year" in christmas and "Closed" in christmas and "Whole days" in christmas
    assert 'class="tag no toggle"' in christmas
    assert url("schedule-export", org, team_id=team.pk) in html


def _row(html: str, schedule_id: int) -> str:
    start = html.index(f'id="schedule-{schedule_id}"')
    return html[start : html.index("</tr>", start)]


def test_list_says_after_hours(
    as_manager: Client, org: Organization, team: Team, time_machine
) -> None:  # type: ignore[no-untyped-def]
    time_machine.move_to(MONDAY_10 + dt.timedelta(hours=8), tick=False)
    add_range(ScheduleFactory(team=team), 0, "09:00", "17:00")
    html = as_manager.get(url("schedule-list", org, team_id=team.pk)).content.decode()
    assert "After hours" in html and "In hours" not in html


def test_list_query_count_does_not_grow_with_schedules(
    as_manager: Client,
    org: Organization,
    team: Team,
    advisors: list[User],
    django_assert_num_queries,
) -> None:  # type: ignore[no-untyped-def]
    def add_schedule(n: int) -> None:
        made = ScheduleFactory(team=team, name=f"Schedule {n}")
        add_range(made, n % 7, "09:00", "17:00")
        add_range(made, (n + 1) % 7, "20:00", "02:00")
        slot(made, advisors[0])
        slot(made, advisors[1], Slot.SECONDARY)

    add_schedule(0)
    as_manager.get(url("schedule-list", org, team_id=team.pk))  # writes the session
    with CaptureQueriesContext(connection) as one:
        as_manager.get(url("schedule-list", org, team_id=team.pk))
    for n in range(1, 5):
        add_schedule(n)
    with django_assert_num_queries(len(one.captured_queries)):
        response = as_manager.get(url("schedule-list", org, team_id=team.pk))
    assert response.content.decode().count('class="tag yes toggle"') == 5


@pytest.mark.parametrize("role", ["agent", "viewer"])
@pytest.mark.parametrize(
    ("method", "name", "needs_schedule"),
    [
        ("get", "schedule-list", False),
        ("get", "schedule-create", False),
        ("post", "schedule-create", False),
        ("get", "schedule-export", False),
        ("get", "schedule-edit", True),
        ("post", "schedule-edit", True),
        ("post", "schedule-toggle", True),
        ("get", "schedule-delete", True),
        ("post", "schedule-delete", True),
    ],
)
def test_agents_and_viewers_get_403(  # type: ignore[no-untyped-def]
    request, org, team, client_for, role, method, name, needs_schedule
) -> None:
    schedule = ScheduleFactory(team=team, name="Hours")
    kwargs: dict[str, int] = {"team_id": team.pk}
    if needs_schedule:
        kwargs["schedule_id"] = schedule.pk
    client = client_for(request.getfixturevalue(role))
    response = getattr(client, method)(url(name, org, **kwargs), form_data(name="Hacked"))
    assert response.status_code == 403
    schedule.refresh_from_db()
    assert schedules_of(team) == ["Hours"] and schedule.enabled


# --- create and edit ------------------------------------------------------------------------


def test_create_form_offers_business_hours_and_team_members_only(
    as_manager: Client, org: Organization, team: Team, advisors: list[User], agent: Membership
) -> None:
    html = as_manager.get(url("schedule-create", org, team_id=team.pk)).content.decode()
    assert 'name="ranges-4-weekday"' in html  # Monday to Friday
    assert 'name="ranges-7-weekday"' in html  # and three empty rows
    assert 'name="ranges-8-weekday"' not in html
    assert 'value="09:00"' in html
    assert "Ann Advisor" in html and "Alex Agent" not in html
    assert "Add another range" in html
    for field in ("name", "kind", "starts_on", "ends_on", "recurrence", "interval_weeks"):
        assert f'for="id_{field}"' in html


def test_create_schedule(
    as_manager: Client, org: Organization, team: Team, advisors: list[User]
) -> None:
    ann, ben = advisors
    data = form_data(
        rows=[("0", "09:00", "17:00"), ("4", "22:00", "02:00")],
        primary=[str(ann.pk)],
        secondary=[str(ben.pk)],
        interval_weeks="2",
        ends_on="2026-12-31",
    )
    response = as_manager.post(url("schedule-create", org, team_id=team.pk), data)
    assert response.status_code == 302
    assert response["Location"] == url("schedule-list", org, team_id=team.pk)
    schedule = Schedule.objects.filter(team=team).get()
    assert schedule.interval_weeks == 2 and schedule.ends_on == dt.date(2026, 12, 31)
    assert [(r.weekday, r.start_time, r.end_time) for r in schedule.ranges.all()] == [
        (0, dt.time(9), dt.time(17)),
        (4, dt.time(22), dt.time(2)),
    ]
    assert {(s.slot, s.user_id) for s in schedule.slots.all()} == {
        ("primary", ann.pk),
        ("secondary", ben.pk),
    }


def test_create_rejects_advisors_from_outside_the_team(
    as_manager: Client, org: Organization, team: Team, agent: Membership, outsider: Membership
) -> None:
    for stranger in (agent.user, outsider.user):
        response = as_manager.post(
            url("schedule-create", org, team_id=team.pk), form_data(primary=[str(stranger.pk)])
        )
        assert response.status_code == 400
        assert "Select a valid choice" in response.content.decode()
    assert schedules_of(team) == []


def test_create_shows_service_errors_on_the_form(
    as_manager: Client, org: Organization, team: Team
) -> None:
    response = as_manager.post(
        url("schedule-create", org, team_id=team.pk), form_data(recurrence="yearly")
    )
    assert response.status_code == 400
    assert "needs an end date" in response.content.decode()
    assert schedules_of(team) == []


def test_half_filled_range_row_is_an_error(
    as_manager: Client, org: Organization, team: Team
) -> None:
    response = as_manager.post(
        url("schedule-create", org, team_id=team.pk), form_data(rows=[("0", "09:00", "")])
    )
    assert response.status_code == 400
    assert "Fill in the day, from and until" in response.content.decode()
    assert schedules_of(team) == []


def test_create_over_the_limit_says_so(as_manager: Client, org: Organization, team: Team) -> None:
    for n in range(25):
        ScheduleFactory(team=team, name=f"S{n}")
    response = as_manager.post(url("schedule-create", org, team_id=team.pk), form_data())
    assert response.status_code == 400
    assert "at most 25 schedules" in response.content.decode()
    assert len(schedules_of(team)) == 25


def test_add_another_range_without_javascript_keeps_what_was_typed(
    as_manager: Client, org: Organization, team: Team
) -> None:
    data = form_data(rows=[("2", "08:00", "12:00")], name="Draft", add_range="1")
    response = as_manager.post(url("schedule-create", org, team_id=team.pk), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="ranges-2-weekday"' in html and 'name="ranges-3-weekday"' not in html
    assert 'value="Draft"' in html and 'value="08:00"' in html
    assert "errorlist" not in html
    assert schedules_of(team) == []


def test_add_another_range_with_htmx_returns_the_rows_only(
    as_manager: Client, org: Organization, team: Team
) -> None:
    data = form_data(add_range="1")
    response = as_manager.post(url("schedule-create", org, team_id=team.pk), data, **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<fieldset class="ranges" id="ranges"')
    assert 'name="ranges-2-weekday"' in html and 'name="ranges-TOTAL_FORMS" value="3"' in html


def test_edit_shows_and_replaces_ranges_and_advisors(
    as_manager: Client, org: Organization, team: Team, advisors: list[User]
) -> None:
    ann, ben = advisors
    schedule = ScheduleFactory(team=team, name="Hours")
    add_range(schedule, 1, "08:00", "16:00")
    slot(schedule, ann)
    page = as_manager.get(url("schedule-edit", org, team_id=team.pk, schedule_id=schedule.pk))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'value="Hours"' in html and 'value="08:00"' in html and 'value="16:00"' in html
    assert "checked" in _input(html, "primary", ann.pk)
    assert "checked" not in _input(html, "secondary", ann.pk)

    data = form_data(rows=[("3", "10:00", "12:00")], name="Hours 2", secondary=[str(ben.pk)])
    response = as_manager.post(
        url("schedule-edit", org, team_id=team.pk, schedule_id=schedule.pk), data
    )
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert schedule.name == "Hours 2"
    assert [(r.weekday, r.start_time) for r in schedule.ranges.all()] == [(3, dt.time(10))]
    assert [(s.slot, s.user_id) for s in schedule.slots.all()] == [("secondary", ben.pk)]


def _input(html: str, name: str, value: object) -> str:
    start = html.index(f'name="{name}" value="{value}"')
    return html[start : html.index(">", start)]


def test_edit_can_remove_a_range_row(as_manager: Client, org: Organization, team: Team) -> None:
    schedule = ScheduleFactory(team=team, name="Hours")
    data = form_data(rows=[("0", "09:00", "17:00"), ("1", "09:00", "17:00")])
    data["ranges-1-DELETE"] = "on"
    as_manager.post(url("schedule-edit", org, team_id=team.pk, schedule_id=schedule.pk), data)
    assert [r.weekday for r in schedule.ranges.all()] == [0]


# --- toggle and delete ----------------------------------------------------------------------


def test_toggle_with_htmx_returns_the_row_and_the_new_state(
    as_manager: Client, org: Organization, team: Team, time_machine
) -> None:  # type: ignore[no-untyped-def]
    time_machine.move_to(MONDAY_10, tick=False)
    schedule = ScheduleFactory(team=team)
    add_range(schedule, 0, "09:00", "17:00")
    toggle = url("schedule-toggle", org, team_id=team.pk, schedule_id=schedule.pk)

    response = as_manager.post(toggle, {"enabled": "0"}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="schedule-{schedule.pk}"')
    assert 'class="tag no toggle"' in html
    assert 'id="team-state"' in html and 'hx-swap-oob="true"' in html
    assert "After hours" in html
    schedule.refresh_from_db()
    assert schedule.enabled is False

    html = as_manager.post(toggle, {"enabled": "1"}, **HTMX).content.decode()
    assert 'class="tag yes toggle"' in html and "In hours" in html
    schedule.refresh_from_db()
    assert schedule.enabled is True


def test_toggle_without_javascript_redirects(
    as_manager: Client, org: Organization, team: Team
) -> None:
    schedule = ScheduleFactory(team=team)
    toggle = url("schedule-toggle", org, team_id=team.pk, schedule_id=schedule.pk)
    response = as_manager.post(toggle)  # no value: flips
    assert response.status_code == 302
    assert response["Location"] == url("schedule-list", org, team_id=team.pk)
    schedule.refresh_from_db()
    assert schedule.enabled is False
    assert as_manager.get(toggle).status_code == 405


def test_delete_asks_for_confirmation_then_deletes(
    as_manager: Client, org: Organization, team: Team
) -> None:
    schedule = ScheduleFactory(team=team, name="Hours")
    delete = url("schedule-delete", org, team_id=team.pk, schedule_id=schedule.pk)
    page = as_manager.get(delete)
    assert page.status_code == 200
    assert "This cannot be undone." in page.content.decode()
    assert schedules_of(team) == ["Hours"]
    response = as_manager.post(delete)
    assert response.status_code == 302
    assert schedules_of(team) == []


# --- other organizations and teams ----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "schedule-edit"),
        ("post", "schedule-edit"),
        ("post", "schedule-toggle"),
        ("get", "schedule-delete"),
        ("post", "schedule-delete"),
    ],
)
def test_another_organizations_schedule_is_404_and_unchanged(  # type: ignore[no-untyped-def]
    org, other_org, team, outsider, client_for, method, name
) -> None:
    schedule = ScheduleFactory(team=team, name="Hours")
    own_team = TeamFactory(organization=other_org)
    client = client_for(outsider)
    for team_id in (team.pk, own_team.pk):
        path = url(name, other_org, team_id=team_id, schedule_id=schedule.pk)
        response = getattr(client, method)(path, form_data(name="Hacked", enabled="0"))
        assert response.status_code == 404
    schedule.refresh_from_db()
    assert (schedule.name, schedule.enabled) == ("Hours", True)


@pytest.mark.parametrize("name", ["schedule-list", "schedule-create", "schedule-export"])
def test_another_organizations_team_is_404(  # type: ignore[no-untyped-def]
    org, other_org, team, outsider, client_for, name
) -> None:
    client = client_for(outsider)
    assert client.get(url(name, other_org, team_id=team.pk)).status_code == 404
    assert (
        client.post(url("schedule-create", other_org, team_id=team.pk), form_data()).status_code
        == 404
    )
    assert schedules_of(team) == []


def test_schedule_of_another_team_is_404(as_manager: Client, org: Organization, team: Team) -> None:
    sales = TeamFactory(organization=org, name="Sales")
    schedule = ScheduleFactory(team=sales, name="Hours")
    response = as_manager.post(
        url("schedule-toggle", org, team_id=team.pk, schedule_id=schedule.pk), {"enabled": "0"}
    )
    assert response.status_code == 404
    schedule.refresh_from_db()
    assert schedule.enabled


# --- export ---------------------------------------------------------------------------------


def test_export(as_manager: Client, org: Organization, team: Team) -> None:
    schedule = ScheduleFactory(team=team, name="Hours")
    add_range(schedule, 0, "09:00", "17:00")
    response = as_manager.get(url("schedule-export", org, team_id=team.pk))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert response["Content-Disposition"] == 'attachment; filename="service-schedules.ics"'
    calendar = icalendar.Calendar.from_ical(response.content)
    [event] = calendar.walk("VEVENT")
    assert event["DTSTART"].params["TZID"] == "Europe/Warsaw"
    assert calendar.walk("VTIMEZONE")
