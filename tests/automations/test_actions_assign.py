"""Assign agent: a chosen member, or round robin among the team's members who are online (the
console's websocket), in working hours (the team's schedule) and assigned least recently —
also under concurrency on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.db import connection, connections, transaction

from automations.actions.assign import round_robin_candidates, round_robin_pick
from automations.engine.registry import ACTIONS, ActionSkipped
from automations.models import Event, Outcome, WorkflowRun
from helpdesk.models import Membership, Organization, Role, Team, User
from helpdesk.models.schedules import ScheduleAdvisor
from helpdesk.presence import presence_clear, presence_online, presence_touch
from tests.automations.fakes import run_action, workflow_with
from tests.factories import ScheduleFactory, TeamFactory, add_range, add_team_member
from tests.tickets.factories import make_ticket

# Wednesday 4 June 2025, 10:00 in Warsaw (08:00 UTC).
WEDNESDAY_MORNING = dt.datetime(2025, 6, 4, 8, 0, tzinfo=dt.UTC)
WEDNESDAY_EVENING = dt.datetime(2025, 6, 4, 18, 0, tzinfo=dt.UTC)


@pytest.fixture
def online() -> Iterator[Callable[[Membership], None]]:
    """Marks members online (as the console's websocket does); forgotten after the test."""
    touched: list[tuple[int, int]] = []

    def mark(member: Membership) -> None:
        presence_touch(member.organization_id, member.user_id, "test")
        touched.append((member.organization_id, member.user_id))

    yield mark
    for organization_id, user_id in touched:
        presence_clear(organization_id, user_id, "test")


@pytest.fixture
def desk(org: Organization, make_member: Callable[..., Membership]) -> dict[str, Any]:
    """A team with three agents, a viewer and a deactivated agent."""
    team = TeamFactory(organization=org, name="Service")
    people = {
        name: make_member(org, role, name=name.capitalize(), email=f"{name}@acme.example")
        for name, role in [
            ("ann", Role.AGENT),
            ("bob", Role.MANAGER),
            ("cid", Role.AGENT),
            ("vic", Role.VIEWER),
            ("gone", Role.AGENT),
        ]
    }
    User.objects.filter(pk=people["gone"].user_id).update(is_active=False)
    for member in people.values():
        add_team_member(team, member.user)
    return {"team": team, **people}


def _ids(*members: Membership) -> list[int]:
    return sorted(member.user_id for member in members)


@pytest.mark.django_db
def test_only_online_working_members_are_candidates(desk, online) -> None:  # type: ignore[no-untyped-def]
    team = desk["team"]
    assert round_robin_candidates(team=team) == []
    for name in ("ann", "bob", "vic", "gone"):
        online(desk[name])
    assert round_robin_candidates(team=team) == _ids(desk["ann"], desk["bob"])


@pytest.mark.django_db
def test_working_hours_come_from_the_teams_schedule(desk, online) -> None:  # type: ignore[no-untyped-def]
    team = desk["team"]
    for name in ("ann", "bob", "cid"):
        online(desk[name])
    schedule = ScheduleFactory(team=team)
    add_range(schedule, 2, "09:00", "17:00")  # Wednesdays, Warsaw time
    for name, slot in (("ann", "primary"), ("bob", "secondary")):
        ScheduleAdvisor.objects.create(
            organization=team.organization, schedule=schedule, user=desk[name].user, slot=slot
        )
    assert round_robin_candidates(team=team, at=WEDNESDAY_MORNING) == _ids(desk["ann"], desk["bob"])
    assert round_robin_candidates(team=team, at=WEDNESDAY_EVENING) == []
    # An open schedule with nobody on its slots only sets the hours.
    ScheduleAdvisor.objects.filter(schedule=schedule).delete()
    assert round_robin_candidates(team=team, at=WEDNESDAY_MORNING) == _ids(
        desk["ann"], desk["bob"], desk["cid"]
    )


@pytest.mark.django_db
def test_the_least_recently_assigned_goes_first(desk, online) -> None:  # type: ignore[no-untyped-def]
    team = desk["team"]
    online(desk["ann"])
    online(desk["bob"])
    first = round_robin_pick(team=team)
    second = round_robin_pick(team=team)
    third = round_robin_pick(team=team)
    assert first is not None and second is not None and third is not None
    assert sorted([first.pk, second.pk]) == _ids(desk["ann"], desk["bob"])
    assert third == first
    # A newcomer coming online has never been given one: next in line.
    online(desk["cid"])
    assert round_robin_pick(team=team) == desk["cid"].user


@pytest.mark.django_db
def test_round_robin_through_the_engine(  # type: ignore[no-untyped-def]
    org, desk, online, django_capture_on_commit_callbacks
) -> None:
    online(desk["bob"])
    workflow = workflow_with(
        org, [{"type": "assign_agent", "params": {"agent": "round_robin"}}], name="Spread"
    )
    with time_machine.travel(WEDNESDAY_MORNING), django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(org, team=desk["team"])
    ticket.refresh_from_db()
    assert ticket.assignee == desk["bob"].user
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.actions[0]["summary"] == "assigned to Bob (round robin)"
    assigned = Event.objects.get(ticket=ticket, name="ticket.assigned")
    assert assigned.payload["by_workflow"] == workflow.pk


@pytest.mark.django_db
def test_nobody_available_skips(org, desk, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    workflow = workflow_with(org, [{"type": "assign_agent", "params": {"agent": "round_robin"}}])
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(org, team=desk["team"])
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.outcome == Outcome.SKIPPED
    assert run.actions[0]["error"] == "no available agent in team Service"
    ticket.refresh_from_db()
    assert ticket.assignee is None
    no_team = make_ticket(org)
    with pytest.raises(ActionSkipped, match="no team"):
        run_action("assign_agent", no_team, {"agent": "round_robin"})


@pytest.mark.django_db
def test_a_chosen_agent(org, desk, other_org) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(org)
    kind = ACTIONS["assign_agent"]
    assert kind.clean is not None and kind.describe is not None
    params = kind.clean(org, {"agent": str(desk["cid"].user_id)})
    assert params == {"agent": desk["cid"].user_id}
    assert kind.describe(params) == "would assign Cid"
    assert run_action("assign_agent", ticket, params) == "assigned to Cid"
    ticket.refresh_from_db()
    assert ticket.assignee == desk["cid"].user
    for bad in (desk["vic"].user_id, desk["gone"].user_id, "someone"):
        with pytest.raises(Exception, match="Choose an agent"):
            kind.clean(org, {"agent": bad})


@pytest.mark.django_db
def test_presence_tracks_each_connection() -> None:
    presence_touch(1, 7, "tab-1")
    presence_touch(1, 7, "tab-2")
    presence_clear(1, 7, "tab-1")
    assert presence_online(1, [7, 8]) == {7}
    assert presence_online(2, [7]) == set()
    presence_clear(1, 7, "tab-2")
    assert presence_online(1, [7]) == set()


@pytest.mark.django_db(transaction=True)
def test_the_console_websocket_marks_its_user_online(org: Organization, agent: Membership) -> None:
    from tests.tickets.test_consumers import connect

    async def scenario() -> None:
        communicator, connected, _code = await connect(agent.user)
        assert connected
        assert presence_online(org.pk, [agent.user_id]) == {agent.user_id}
        await communicator.disconnect()
        assert presence_online(org.pk, [agent.user_id]) == set()

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_concurrent_picks_take_different_agents(desk, online) -> None:  # type: ignore[no-untyped-def]
    if connection.vendor != "postgresql":
        pytest.skip("row locks (SELECT … FOR UPDATE SKIP LOCKED) need PostgreSQL")
    online(desk["ann"])
    online(desk["bob"])
    team_id = desk["team"].pk
    organization_id = desk["team"].organization_id
    # Both have been given a ticket before; the rows exist.
    with transaction.atomic():
        round_robin_pick(team=desk["team"])
    with transaction.atomic():
        round_robin_pick(team=desk["team"])
    both_picked = threading.Barrier(2, timeout=15)
    picked: list[int] = []
    errors: list[BaseException] = []

    def pick() -> None:
        try:
            team = Team.objects.for_organization(organization_id).get(pk=team_id)
            with transaction.atomic():
                user = round_robin_pick(team=team)
                assert user is not None
                picked.append(user.pk)
                both_picked.wait()  # neither commits before the other has picked
        except BaseException as exc:  # noqa: BLE001  (reported by the main thread)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=pick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(picked) == _ids(desk["ann"], desk["bob"])
