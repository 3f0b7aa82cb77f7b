"""The htmx parts of the team and schedule screens, in a real browser."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from helpdesk.models import Membership, Organization, Schedule, ScheduleKind, Slot, TeamMember
from helpdesk.models.schedules import ScheduleAdvisor
from tests.conftest import login
from tests.factories import ScheduleFactory, TeamFactory, add_range, add_team_member

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_toggles_a_schedule_and_adds_ranges_and_members(
    live_app: Any, page: Any, org: Organization, manager: Membership, agent: Membership
) -> None:
    team = TeamFactory(organization=org, name="Service")
    night = TeamFactory(organization=org, name="Night shift")
    add_team_member(team, agent.user)
    always = ScheduleFactory(team=team, name="Always", starts_on=dt.date(2020, 1, 1))
    add_range(always, 0, "00:00", "00:00")
    for weekday in range(1, 7):
        add_range(always, weekday, "00:00", "00:00")
    ScheduleAdvisor.all_objects.create(
        organization=org, schedule=always, user=agent.user, slot=Slot.PRIMARY
    )
    ScheduleFactory(team=team, name="Someday", kind=ScheduleKind.CLOSED, enabled=False)
    login(page, live_app, manager.user.email)
    base = f"{live_app.url}/app/{org.slug}/manage/teams"

    page.goto(f"{base}/")
    assert "In hours" in page.locator(f"#team-{team.pk}").inner_text()
    assert "After hours" in page.locator(f"#team-{night.pk}").inner_text()

    # Disable and enable again: the row and the state at the top change without a reload.
    page.goto(f"{base}/{team.pk}/schedules/")
    state = page.locator("#team-state")
    assert "In hours" in state.inner_text() and "Alex Agent" in state.inner_text()
    page.locator(f"#schedule-{always.pk} button.toggle").click()
    page.locator(f"#schedule-{always.pk} button.tag.no").wait_for()
    assert "After hours" in state.inner_text()
    page.locator(f"#schedule-{always.pk} button.toggle").click()
    page.locator(f"#schedule-{always.pk} button.tag.yes").wait_for()
    assert "In hours" in state.inner_text()

    # "Add another range" keeps what was typed, then the schedule is created.
    page.goto(f"{base}/{team.pk}/schedules/new/")
    page.get_by_label("Name:", exact=True).fill("Weekend")
    page.get_by_role("button", name="Add another range").click()
    page.locator("tr.range-row").nth(8).wait_for()
    assert page.get_by_label("Name:", exact=True).input_value() == "Weekend"
    page.get_by_label("Day of range 9").select_option(label="Saturday")
    page.get_by_label("From, range 9").fill("10:00")
    page.get_by_label("Until, range 9").fill("14:00")
    page.get_by_role("button", name="Create schedule").click()
    page.wait_for_url(f"{base}/{team.pk}/schedules/")
    weekend = Schedule.objects.filter(team=team, name="Weekend").get()
    assert sorted(r.weekday for r in weekend.ranges.all()) == [0, 1, 2, 3, 4, 5]

    # Members are added in place.
    page.goto(f"{base}/{night.pk}/")
    page.get_by_label("Person:").select_option(label="Alex Agent <agent@acme.example>")
    page.get_by_role("button", name="Add to team").click()
    page.get_by_text("Alex Agent was added to the team.").wait_for()
    assert TeamMember.objects.filter(team=night, user=agent.user).exists()
