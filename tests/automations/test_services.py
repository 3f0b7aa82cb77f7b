"""Workflow services: managers only, validation through the registries (ids of another
organization refused), the trigger derived from the conditions, duplicate, delete, and the
automation settings with write-only keys."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from automations import services
from automations.engine.evaluate import compiled_workflows
from automations.models import AutomationSettings, Event, Outcome, Workflow, WorkflowRun
from tests.factories import TeamFactory
from tests.tickets.factories import make_inbox, make_tag, make_ticket

pytestmark = pytest.mark.django_db

REMINDER = {
    "all": [
        {"field": "reply_status", "op": "is", "value": "not_answered"},
        {"field": "ticket_created", "op": "more_than", "value": "24"},
    ],
    "any": [],
}
NOTE = [{"type": "add_note", "params": {"body": "Still not answered: please reply."}}]


def _create(actor: Any, **overrides: Any) -> Workflow:
    values: dict[str, Any] = {
        "name": "Reminder",
        "description": "Remind about tickets unanswered for a day",
        "conditions": REMINDER,
        "actions": NOTE,
    }
    values.update(overrides)
    return services.workflow_create(actor=actor, **values)


def _errors(excinfo: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return excinfo.value.message_dict


# --- permissions ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["agent", "viewer"])
def test_only_managers_write_workflows(request, manager, role) -> None:  # type: ignore[no-untyped-def]
    actor = request.getfixturevalue(role)
    workflow = _create(manager)
    with pytest.raises(PermissionDenied):
        _create(actor)
    calls = [
        lambda: services.workflow_update(
            actor=actor,
            workflow=workflow,
            name="x",
            description="y",
            conditions=REMINDER,
            actions=NOTE,
            enabled=True,
        ),
        lambda: services.workflow_set_enabled(actor=actor, workflow=workflow, enabled=True),
        lambda: services.workflow_duplicate(actor=actor, workflow=workflow),
        lambda: services.workflow_delete(actor=actor, workflow=workflow),
        lambda: services.workflow_from_template(actor=actor, template_key="first_message"),
        lambda: services.automation_settings_update(actor=actor),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    workflow.refresh_from_db()
    assert workflow.name == "Reminder" and not workflow.enabled
    assert Workflow.objects.for_organization(manager.organization).count() == 1


def test_admins_write_workflows_too(admin) -> None:  # type: ignore[no-untyped-def]
    assert _create(admin).created_by == admin.user


def test_another_organizations_workflow_is_refused(manager, outsider) -> None:  # type: ignore[no-untyped-def]
    workflow = _create(manager)
    with pytest.raises(PermissionDenied):
        services.workflow_set_enabled(actor=outsider, workflow=workflow, enabled=True)
    with pytest.raises(PermissionDenied):
        services.workflow_delete(actor=outsider, workflow=workflow)
    with pytest.raises(PermissionDenied):
        services.workflow_duplicate(actor=outsider, workflow=workflow)
    assert (
        Workflow.objects.for_organization(manager.organization).filter(enabled=False).count() == 1
    )


# --- what is stored -----------------------------------------------------------------------


def test_a_time_workflow_is_stored_cleaned_with_its_trigger(manager) -> None:  # type: ignore[no-untyped-def]
    workflow = _create(manager, name="  Remind   me ")
    assert workflow.name == "Remind me"
    assert workflow.trigger == "time"
    assert workflow.conditions["all"][1] == {
        "field": "ticket_created",
        "op": "more_than",
        "value": 24,
    }
    assert workflow.actions == NOTE
    assert workflow.enabled is False
    assert workflow.position == 1
    assert _create(manager).position == 2


def test_an_event_condition_makes_it_an_event_workflow(manager) -> None:  # type: ignore[no-untyped-def]
    conditions = {
        "all": [
            {"field": "new_message", "op": "is", "value": None},
            {"field": "ticket_created", "op": "more_than", "value": 24},
        ],
        "any": [],
    }
    assert _create(manager, conditions=conditions).trigger == "event"


def test_any_groups_are_kept_and_empty_ones_dropped(manager) -> None:  # type: ignore[no-untyped-def]
    conditions = {
        "all": [],
        "any": [
            [
                {"field": "subject", "op": "contains", "value": "refund"},
                {"field": "message_text", "op": "contains", "value": " money  back "},
            ],
            [],
        ],
    }
    workflow = _create(manager, conditions=conditions)
    assert workflow.conditions["any"] == [
        [
            {"field": "subject", "op": "contains", "value": "refund"},
            {"field": "message_text", "op": "contains", "value": "money back"},
        ]
    ]


# --- validation ---------------------------------------------------------------------------


def test_name_and_description_are_required(manager) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as excinfo:
        _create(manager, name="  ", description="")
    assert set(_errors(excinfo)) == {"name", "description"}


def test_each_bad_row_is_reported_where_it_is(manager) -> None:  # type: ignore[no-untyped-def]
    conditions = {
        "all": [
            {"field": "nonsense", "op": "is", "value": 1},
            {"field": "subject", "op": "more_than", "value": "x"},
            {"field": "ticket_created", "op": "more_than", "value": "soon"},
        ],
        "any": [[{"field": "subject", "op": "contains", "value": "ok"}, {"field": ""}]],
    }
    actions = [
        {"type": "add_note", "params": {}},
        {"type": "launch_rocket", "params": {}},
        {"type": "set_priority", "params": {"priority": 9}},
    ]
    with pytest.raises(ValidationError) as excinfo:
        _create(manager, conditions=conditions, actions=actions)
    errors = _errors(excinfo)
    assert set(errors) == {
        "conditions.all.0",
        "conditions.all.1",
        "conditions.all.2",
        "conditions.any.0.1",
        "actions.0.body",
        "actions.1",
        "actions.2.priority",
    }
    assert Workflow.objects.for_organization(manager.organization).count() == 0


def test_at_least_one_action(manager) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as excinfo:
        _create(manager, actions=[])
    assert "actions" in _errors(excinfo)


def test_ids_of_another_organization_are_refused(manager, other_org, outsider) -> None:  # type: ignore[no-untyped-def]
    foreign_tag = make_tag(other_org, "theirs")
    foreign_team = TeamFactory(organization=other_org, name="Their team")
    foreign_inbox = make_inbox(other_org, foreign_team, name="Their inbox", address="x@o.example")
    own_tag = make_tag(manager.organization, "ours")
    cases: list[tuple[dict[str, Any], list[dict[str, Any]], str]] = [
        (
            {"all": [{"field": "tag", "op": "is", "value": [own_tag.pk, foreign_tag.pk]}]},
            NOTE,
            "conditions.all.0",
        ),
        (
            {"all": [{"field": "tag_added", "op": "is", "value": foreign_tag.pk}]},
            NOTE,
            "conditions.all.0",
        ),
        (
            {"all": [{"field": "inbox", "op": "is", "value": [foreign_inbox.pk]}]},
            NOTE,
            "conditions.all.0",
        ),
        (
            {
                "all": [
                    {"field": "working_hours", "op": "outside", "value": {"team": foreign_team.pk}}
                ]
            },
            NOTE,
            "conditions.all.0",
        ),
        (
            {
                "all": [
                    {"field": "working_hours", "op": "inside", "value": {"user": outsider.user_id}}
                ]
            },
            NOTE,
            "conditions.all.0",
        ),
        (
            REMINDER,
            [{"type": "assign_agent", "params": {"agent": outsider.user_id}}],
            "actions.0.agent",
        ),
        (REMINDER, [{"type": "assign_tag", "params": {"tag": foreign_tag.pk}}], "actions.0.tag"),
        (
            REMINDER,
            [{"type": "assign_team", "params": {"team": foreign_team.pk}}],
            "actions.0.team",
        ),
    ]
    for conditions, actions, where in cases:
        with pytest.raises(ValidationError) as excinfo:
            _create(manager, conditions=conditions, actions=actions)
        assert where in _errors(excinfo), (conditions, actions)
    assert Workflow.objects.for_organization(manager.organization).count() == 0


def test_ai_messages_need_the_setting(manager) -> None:  # type: ignore[no-untyped-def]
    actions = [{"type": "ai_message", "params": {"instruction": "Thank them."}}]
    with pytest.raises(ValidationError) as excinfo:
        _create(manager, actions=actions)
    assert "actions.0" in _errors(excinfo)
    services.automation_settings_update(
        actor=manager, ai_enabled=True, ai_base_url="http://127.0.0.1:9/v1", ai_model="small"
    )
    assert _create(manager, actions=actions).actions[0]["type"] == "ai_message"


# --- update, enable, duplicate, delete ----------------------------------------------------


def test_updates_and_toggles_reload_the_evaluators_cache(manager) -> None:  # type: ignore[no-untyped-def]
    org = manager.organization
    workflow = _create(manager, enabled=True)
    assert [w.id for w in compiled_workflows(org.pk)] == [workflow.pk]
    stamp = workflow.updated_at
    services.workflow_set_enabled(actor=manager, workflow=workflow, enabled=False)
    assert compiled_workflows(org.pk) == []
    assert workflow.updated_at > stamp
    services.workflow_update(
        actor=manager,
        workflow=workflow,
        name="Renamed",
        description="Still reminds",
        conditions={"all": [{"field": "new_message", "op": "is", "value": None}], "any": []},
        actions=NOTE,
        enabled=True,
    )
    (compiled,) = compiled_workflows(org.pk)
    assert compiled.name == "Renamed" and compiled.trigger == "event"
    assert "message.received" in compiled.listens_to


def test_a_failed_update_changes_nothing(manager) -> None:  # type: ignore[no-untyped-def]
    workflow = _create(manager)
    with pytest.raises(ValidationError):
        services.workflow_update(
            actor=manager,
            workflow=workflow,
            name="New name",
            description="x",
            conditions=REMINDER,
            actions=[],
            enabled=True,
        )
    stored = Workflow.objects.for_organization(manager.organization).get()
    assert stored.name == "Reminder" and not stored.enabled


def test_duplicate_is_a_disabled_copy(manager) -> None:  # type: ignore[no-untyped-def]
    original = _create(manager, enabled=True)
    copy = services.workflow_duplicate(actor=manager, workflow=original)
    assert copy.pk != original.pk
    assert copy.name == "Copy of Reminder"
    assert copy.enabled is False
    assert copy.conditions == original.conditions and copy.actions == original.actions
    assert copy.trigger == original.trigger
    assert copy.position > original.position
    long = _create(manager, name="x" * 100)
    assert len(services.workflow_duplicate(actor=manager, workflow=long).name) == 100


def test_delete_removes_the_workflow_and_its_runs(manager) -> None:  # type: ignore[no-untyped-def]
    org = manager.organization
    workflow = _create(manager)
    ticket = make_ticket(org)
    event = Event.objects.create(organization=org, name="message.received", ticket=ticket)
    WorkflowRun.objects.create(
        organization=org, workflow=workflow, event=event, ticket=ticket, outcome=Outcome.DONE
    )
    services.workflow_delete(actor=manager, workflow=workflow)
    assert not Workflow.objects.for_organization(org).exists()
    assert not WorkflowRun.objects.for_organization(org).exists()
    assert Event.objects.for_organization(org).filter(pk=event.pk).exists()


# --- settings -----------------------------------------------------------------------------


def test_settings_keys_are_write_only(manager) -> None:  # type: ignore[no-untyped-def]
    org = manager.organization
    services.automation_settings_update(
        actor=manager,
        translate_url="https://translate.example.com",
        translate_api_key="secret-1",
        max_automated_per_ticket_per_hour=3,
    )
    services.automation_settings_update(
        actor=manager,
        translate_url="https://translate.example.com",
        translate_api_key="",
        max_automated_per_ticket_per_hour=4,
    )
    stored = AutomationSettings.objects.for_organization(org).get()
    assert stored.translate_api_key == "secret-1"
    assert stored.max_automated_per_ticket_per_hour == 4
    services.automation_settings_update(actor=manager, clear_translate_api_key=True)
    stored.refresh_from_db()
    assert stored.translate_api_key == "" and stored.translate_url == ""


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"translate_url": "ftp://x"}, "translate_url"),
        ({"ai_enabled": True, "ai_model": "m"}, "ai_base_url"),
        ({"ai_enabled": True, "ai_base_url": "http://127.0.0.1/v1"}, "ai_model"),
        ({"max_automated_per_ticket_per_hour": 0}, "max_automated_per_ticket_per_hour"),
    ],
)
def test_settings_validation(manager, values, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as excinfo:
        services.automation_settings_update(actor=manager, **values)
    assert field in _errors(excinfo)
    assert not AutomationSettings.objects.for_organization(manager.organization).exists()
