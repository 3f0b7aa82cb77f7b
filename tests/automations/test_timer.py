"""Time-based workflows with a frozen clock: one SQL query per workflow and scan, at most one
run per ticket and period, capped batches, other organizations untouched."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from automations.engine import evaluate
from automations.engine.timer import timer_candidates, timer_scan
from automations.models import Outcome, Workflow, WorkflowRun
from automations.tasks import scan_time_workflows_task
from helpdesk.models import Membership, Organization
from tests.automations.test_conditions_support import (
    at,
    fresh,
    mark_action,
    receive,
    workflow,
)
from tests.tickets.factories import make_ticket
from tickets.models import Message, MessageKind, Status, Ticket
from tickets.services.messages import message_send
from tickets.services.tickets import ticket_merge, ticket_set_status

pytestmark = pytest.mark.django_db


@pytest.fixture
def marks() -> Iterator[list[int]]:
    with mark_action() as calls:
        yield calls


T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)  # a Monday, 10:00 in Warsaw
HOUR = timedelta(hours=1)

NOT_ANSWERED = {"field": "reply_status", "op": "is", "value": "not_answered"}
CREATED_24 = {"field": "ticket_created", "op": "more_than", "value": 24}
REPLY_24 = {"field": "last_customer_reply", "op": "more_than", "value": 24}


@pytest.fixture(autouse=True)
def _no_compiled_cache() -> Iterator[None]:
    evaluate._cache.clear()
    yield
    evaluate._cache.clear()


def ticket_at(org: Organization, when: datetime, **extra: Any) -> Ticket:
    with at(when):
        return make_ticket(org, **extra)


def scan_at(when: datetime, **kwargs: Any) -> int:
    with at(when):
        return timer_scan(**kwargs)


def reminder(org: Organization, **extra: Any) -> Workflow:
    """The seed's example: reply status is not answered AND ticket created more than 24 h ago."""
    wf = workflow(org, {"all": [NOT_ANSWERED, CREATED_24]}, **extra)
    assert wf.trigger == "time"
    return wf


def test_reminder_acts_once_per_ticket_and_period(org: Organization, marks: list[int]) -> None:
    wf = reminder(org)
    ticket = ticket_at(org, T0)
    assert scan_at(T0 + 23 * HOUR) == 0
    assert marks == []
    assert scan_at(T0 + 25 * HOUR) == 1
    assert marks == [ticket.pk]
    run = WorkflowRun.objects.for_organization(org).get(workflow=wf)
    assert (run.outcome, run.period_at, run.event_id) == (Outcome.DONE, T0, None)
    assert run.reason == "reply status is Not answered; ticket created more than 24 hours ago"
    # Not again on the next scans.
    assert scan_at(T0 + 25 * HOUR + timedelta(minutes=1)) == 0
    assert scan_at(T0 + 40 * HOUR) == 0
    assert marks == [ticket.pk]
    # A new customer reply starts a new period; the ticket is still more than 24 h old and
    # unanswered, so it qualifies again (once).
    with at(T0 + 41 * HOUR):
        receive(fresh(ticket), body="hello? anyone?")
    assert scan_at(T0 + 41 * HOUR + timedelta(minutes=1)) == 1
    assert scan_at(T0 + 65 * HOUR) == 0
    assert marks == [ticket.pk, ticket.pk]
    periods = WorkflowRun.objects.for_organization(org).filter(workflow=wf)
    assert sorted(run.period_at for run in periods) == [T0, T0 + 41 * HOUR]


def test_last_reply_reminder_waits_another_24_hours_after_a_new_reply(
    org: Organization, marks: list[int]
) -> None:
    workflow(org, {"all": [NOT_ANSWERED, REPLY_24]})
    ticket = ticket_at(org, T0)
    assert scan_at(T0 + 25 * HOUR) == 1
    with at(T0 + 30 * HOUR):
        receive(fresh(ticket), body="still waiting")
    assert scan_at(T0 + 31 * HOUR) == 0
    assert scan_at(T0 + 53 * HOUR) == 0  # 23 h after the reply
    assert scan_at(T0 + 55 * HOUR) == 1  # 25 h after it
    assert scan_at(T0 + 56 * HOUR) == 0
    assert marks == [ticket.pk, ticket.pk]


def test_an_answered_ticket_is_left_alone(
    org: Organization, manager: Membership, marks: list[int]
) -> None:
    reminder(org)
    answered = ticket_at(org, T0)
    waiting = ticket_at(org, T0)
    with at(T0 + 2 * HOUR):
        message_send(actor=manager, ticket=fresh(answered), body_text="On it.")
    assert scan_at(T0 + 30 * HOUR) == 1
    assert marks == [waiting.pk]
    # Only the qualifying ticket got a run; the answered one was never loaded.
    assert not WorkflowRun.objects.for_organization(org).filter(ticket=answered).exists()


def test_the_run_shows_on_the_ticket_with_a_real_action(org: Organization) -> None:
    wf = reminder(
        org,
        name="Unanswered for a day",
        actions=[{"type": "add_note", "params": {"body": "Nobody has answered for a day."}}],
    )
    ticket = ticket_at(org, T0)
    assert scan_at(T0 + 25 * HOUR) == 1
    note = Message.objects.filter(ticket=ticket, kind=MessageKind.NOTE).get()
    assert note.body_text == "Nobody has answered for a day."
    assert note.automation_label == "Workflow “Unanswered for a day”"
    assert note.automation_reason == (
        "reply status is Not answered; ticket created more than 24 hours ago"
    )
    assert WorkflowRun.objects.for_organization(org).get(workflow=wf).outcome == Outcome.DONE


def test_batches_are_capped_and_oldest_periods_go_first(
    org: Organization, marks: list[int]
) -> None:
    reminder(org)
    tickets = [ticket_at(org, T0 + i * timedelta(minutes=5)) for i in range(7)]
    now = T0 + 30 * HOUR
    assert scan_at(now, batch_size=3) == 3
    assert marks == [t.pk for t in tickets[:3]]
    assert scan_at(now + timedelta(minutes=1), batch_size=3) == 3
    assert scan_at(now + timedelta(minutes=2), batch_size=3) == 1
    assert scan_at(now + timedelta(minutes=3), batch_size=3) == 0
    assert marks == [t.pk for t in tickets]


def test_other_organizations_are_untouched(
    org: Organization, other_org: Organization, marks: list[int]
) -> None:
    reminder(org)
    mine = ticket_at(org, T0)
    theirs = ticket_at(other_org, T0)
    assert scan_at(T0 + 30 * HOUR) == 1
    assert marks == [mine.pk]
    assert not WorkflowRun.all_objects.filter(ticket=theirs).exists()
    # Their own workflow acts on their tickets only.
    workflow(other_org, {"all": [NOT_ANSWERED, CREATED_24]})
    assert scan_at(T0 + 31 * HOUR) == 1
    assert marks == [mine.pk, theirs.pk]


def test_disabled_and_event_workflows_are_not_scanned(org: Organization, marks: list[int]) -> None:
    reminder(org, enabled=False)
    workflow(org, {"all": [NOT_ANSWERED, {"field": "new_message", "op": "is", "value": None}]})
    ticket_at(org, T0)
    assert scan_at(T0 + 30 * HOUR) == 0
    assert marks == []


def test_merged_tickets_are_not_candidates(
    org: Organization, manager: Membership, marks: list[int]
) -> None:
    reminder(org)
    source, target = ticket_at(org, T0), ticket_at(org, T0 + HOUR)
    with at(T0 + 2 * HOUR):
        ticket_merge(actor=manager, source=fresh(source), target=fresh(target))
    assert scan_at(T0 + 30 * HOUR) == 1
    assert marks == [target.pk]


def test_the_beat_task_scans(org: Organization, marks: list[int]) -> None:
    reminder(org)
    ticket = ticket_at(org, T0)
    with at(T0 + 30 * HOUR):
        assert scan_time_workflows_task.delay().get() == 1
    assert marks == [ticket.pk]


# --- SQL-only filtering ---------------------------------------------------------------------


def _scan_queries(when: datetime) -> tuple[int, int]:
    with at(when), CaptureQueriesContext(connection) as queries:
        runs = timer_scan()
    return runs, len(queries)


def test_query_count_does_not_grow_with_non_matching_tickets(
    org: Organization, manager: Membership, marks: list[int]
) -> None:
    workflow(
        org,
        {
            "all": [NOT_ANSWERED, CREATED_24, {"field": "source", "op": "is", "value": ["email"]}],
            "any": [
                [
                    {"field": "subject", "op": "contains", "value": "order"},
                    {"field": "ticket_status", "op": "is", "value": ["pending"]},
                ]
            ],
        },
    )

    def non_matching(per_kind: int, start: datetime, scan: datetime, young: bool) -> None:
        for _i in range(per_kind):
            if young:  # too young at that scan
                ticket_at(org, scan - 10 * HOUR, subject="Order 1")
            answered = ticket_at(org, start, subject="Order 2")
            with at(start + HOUR):
                message_send(actor=manager, ticket=fresh(answered), body_text="Done")
            ticket_at(org, start, subject="Order 3", source="sms")  # by SMS
            ticket_at(org, start, subject="Hello")  # not about an order, not pending

    ticket_at(org, T0, subject="Order 42")
    # (No "too young" ones before the first scan: they would qualify by the second.)
    non_matching(1, T0, T0 + 30 * HOUR, young=False)
    first = _scan_queries(T0 + 30 * HOUR)
    ticket_at(org, T0 + 30 * HOUR, subject="Order 43")
    non_matching(6, T0 + 30 * HOUR, T0 + 60 * HOUR, young=True)
    second = _scan_queries(T0 + 60 * HOUR)
    assert first[0] == second[0] == 1
    assert first[1] == second[1]
    assert len(marks) == 2
    # Nothing left: the next scan is the workflow list and one candidate query.
    assert _scan_queries(T0 + 61 * HOUR) == (0, 2)


def test_a_moment_condition_is_decided_before_the_query(
    org: Organization, marks: list[int]
) -> None:
    """ "Between 09:00 and 17:00 (Warsaw)" is checked once per workflow and scan: out of those
    hours, the scan does not even query the tickets."""
    workflow(
        org,
        {
            "all": [
                NOT_ANSWERED,
                CREATED_24,
                {"field": "hour", "op": "between", "value": {"from": "09:00", "to": "17:00"}},
            ]
        },
    )
    ticket = ticket_at(org, T0)
    evening = T0 + 34 * HOUR  # Tuesday 20:00 in Warsaw
    assert _scan_queries(evening) == (0, 1)  # the workflow list only
    morning = T0 + 48 * HOUR  # Wednesday 10:00
    assert _scan_queries(morning)[0] == 1
    assert marks == [ticket.pk]


def test_a_moment_condition_in_an_any_group(org: Organization, marks: list[int]) -> None:
    weekend = {"field": "weekday", "op": "is", "value": [5, 6]}
    wf = workflow(
        org,
        {
            "all": [CREATED_24],
            "any": [[weekend, {"field": "subject", "op": "contains", "value": "urgent"}]],
        },
    )
    urgent, plain = ticket_at(org, T0, subject="Urgent!"), ticket_at(org, T0, subject="Hi")
    tuesday = T0 + 30 * HOUR
    assert list(timer_candidates(wf, tuesday).values_list("pk", flat=True)) == [urgent.pk]
    assert scan_at(tuesday) == 1
    saturday = T0 + 5 * 24 * HOUR
    assert list(timer_candidates(wf, saturday).values_list("pk", flat=True)) == [plain.pk]
    assert scan_at(saturday) == 1
    assert marks == [urgent.pk, plain.pk]


def test_conditions_without_sql_are_decided_once_per_period_in_python(
    org: Organization, marks: list[int]
) -> None:
    """ "Message does not contain" has no SQL form: candidates are checked in Python; those it
    rejects get a "not matched" run for their period and are not looked at again."""
    wf = workflow(
        org,
        {"all": [CREATED_24, {"field": "message_text", "op": "not_contains", "value": "thanks"}]},
    )
    thankful = ticket_at(org, T0, body="thanks a lot")
    asking = ticket_at(org, T0, body="where is my parcel?")
    assert scan_at(T0 + 30 * HOUR) == 2
    assert marks == [asking.pk]
    runs = dict(
        WorkflowRun.objects.for_organization(org)
        .filter(workflow=wf)
        .values_list("ticket_id", "outcome")
    )
    assert runs == {thankful.pk: Outcome.NOT_MATCHED, asking.pk: Outcome.DONE}
    assert scan_at(T0 + 31 * HOUR) == 0


def test_working_hours_of_the_tickets_team_is_decided_per_candidate(
    org: Organization, marks: list[int]
) -> None:
    from tests.factories import ScheduleFactory, TeamFactory, add_range

    open_team, closed_team = TeamFactory(organization=org), TeamFactory(organization=org)
    schedule = ScheduleFactory(team=open_team)
    for day in range(7):
        add_range(schedule, day, "00:00", "00:00")  # always open
    workflow(
        org,
        {
            "all": [
                CREATED_24,
                {"field": "working_hours", "op": "outside", "value": {"ticket_team": True}},
            ]
        },
    )
    with at(T0):
        on_open = make_ticket(org, team=open_team)
        on_closed = make_ticket(org, team=closed_team)
    assert scan_at(T0 + 30 * HOUR) == 2
    assert marks == [on_closed.pk]
    assert on_open.pk not in marks


def test_a_broken_workflow_does_not_stop_the_others(
    org: Organization, marks: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    broken = reminder(org, name="Broken")
    Workflow.objects.for_organization(org).filter(pk=broken.pk).update(
        conditions={"all": [CREATED_24, {"field": "gone", "op": "is", "value": 1}]}
    )
    reminder(org, name="Fine")
    ticket = ticket_at(org, T0)
    with caplog.at_level(logging.ERROR):
        assert scan_at(T0 + 30 * HOUR) == 1
    assert marks == [ticket.pk]
    assert f"workflow {broken.pk} failed" in caplog.text


def test_a_status_change_without_a_new_reply_is_caught_by_the_next_scan(
    org: Organization, marks: list[int]
) -> None:
    """Conditions in SQL keep a ticket out of the candidates until they hold: a ticket
    reopened by hand (no new customer message, same period) still gets its reminder."""
    workflow(
        org,
        {
            "all": [
                NOT_ANSWERED,
                CREATED_24,
                {"field": "ticket_status", "op": "is", "value": ["open"]},
            ]
        },
    )
    ticket = ticket_at(org, T0)
    assert scan_at(T0 + 30 * HOUR) == 0  # still "new"
    with at(T0 + 40 * HOUR):
        ticket_set_status(actor=None, ticket=fresh(ticket), status=Status.OPEN)
    assert scan_at(T0 + 40 * HOUR + timedelta(minutes=1)) == 1
    assert marks == [ticket.pk]


def test_working_hours_are_read_once_per_batch_not_per_ticket(
    org: Organization, marks: list[int]
) -> None:
    from tests.factories import ScheduleFactory, TeamFactory, add_range

    team = TeamFactory(organization=org)
    schedule = ScheduleFactory(team=team)
    for day in range(7):
        add_range(schedule, day, "00:00", "00:00")
    inside = {"field": "working_hours", "op": "inside", "value": {"team": team.pk}}
    workflow(org, {"all": [CREATED_24, inside]})

    def schedule_queries(count: int, created: datetime) -> int:
        for _i in range(count):
            ticket_at(org, created)
        with at(created + 30 * HOUR), CaptureQueriesContext(connection) as queries:
            assert timer_scan() == count
        return sum("helpdesk_schedule" in query["sql"] for query in queries.captured_queries)

    assert schedule_queries(2, T0) == schedule_queries(6, T0 + 100 * HOUR)
    assert len(marks) == 8
