"""The template gallery: at least eight templates; each one the organization can fill in by
itself becomes a valid workflow as it is; the others say what is missing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from automations import services
from automations.engine.registry import ACTIONS, CONDITIONS
from automations.gallery import template_get, template_list
from automations.models import Workflow
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

NEED_CHOICES = {"route_returns", "vip_senders", "notify_returns"}


def test_there_are_at_least_eight_templates_of_known_kinds(org) -> None:  # type: ignore[no-untyped-def]
    templates = template_list()
    assert len(templates) >= 8
    assert len({t.key for t in templates}) == len(templates)
    for template in templates:
        draft = template.draft(org)
        assert draft.name and draft.description
        rows = draft.conditions["all"] + [r for g in draft.conditions["any"] for r in g]
        assert rows, template.key
        assert all(row["field"] in CONDITIONS for row in rows), template.key
        assert draft.actions and all(a["type"] in ACTIONS for a in draft.actions), template.key


def test_templates_are_usable_as_they_are_unless_they_need_choices(manager) -> None:  # type: ignore[no-untyped-def]
    created = []
    for template in template_list():
        if template.key in NEED_CHOICES:
            with pytest.raises(ValidationError):
                services.workflow_from_template(actor=manager, template_key=template.key)
            assert template.needs
            continue
        workflow = services.workflow_from_template(actor=manager, template_key=template.key)
        assert workflow.template_key == template.key and not workflow.enabled
        created.append(workflow.pk)
    assert Workflow.objects.for_organization(manager.organization).count() == len(created)


def test_the_reminder_template_is_the_seeds_example(manager) -> None:  # type: ignore[no-untyped-def]
    workflow = services.workflow_from_template(
        actor=manager, template_key="remind_unanswered", enabled=True
    )
    assert workflow.enabled and workflow.trigger == "time"
    fields = [(row["field"], row["op"], row["value"]) for row in workflow.conditions["all"]]
    assert ("reply_status", "is", "not_answered") in fields
    assert ("ticket_created", "more_than", 24) in fields


def test_route_returns_finds_the_returns_team(manager) -> None:  # type: ignore[no-untyped-def]
    TeamFactory(organization=manager.organization, name="Service")
    returns = TeamFactory(organization=manager.organization, name="Returns desk")
    workflow = services.workflow_from_template(actor=manager, template_key="route_returns")
    assert workflow.actions[0] == {"type": "assign_team", "params": {"team": returns.pk}}
    assert workflow.actions[1]["type"] == "assign_tag"


def test_templates_speak_the_managers_language(org) -> None:  # type: ignore[no-untyped-def]
    from django.utils import translation

    template = template_get("translated_reply")
    assert template is not None
    with translation.override("pl"):
        draft = template.draft(org)
    assert draft.actions[0]["params"]["source_language"] == "pl"


def test_unknown_templates_are_refused(manager) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError):
        services.workflow_from_template(actor=manager, template_key="nope")
