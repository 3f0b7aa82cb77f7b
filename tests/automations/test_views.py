"""The workflow screens through the test client: list (search, toggle, failing badge, constant
query count), builder (htmx fragments and the same commands without JavaScript, errors on the
right rows), duplicate, delete, gallery, run log and settings; 403 for agents."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from automations import services
from automations.models import AutomationSettings, Event, Outcome, Workflow, WorkflowRun
from tests.factories import TeamFactory
from tests.tickets.factories import make_tag, make_ticket

pytestmark = pytest.mark.django_db

BASE = "/app/acme/manage/workflows/"
HTMX = {"HTTP_HX_REQUEST": "true"}
REMINDER = {
    "all": [
        {"field": "reply_status", "op": "is", "value": "not_answered"},
        {"field": "ticket_created", "op": "more_than", "value": 24},
    ],
    "any": [],
}
NOTE = [{"type": "add_note", "params": {"body": "Please answer."}}]


def _workflow(actor: Any, **overrides: Any) -> Workflow:
    values: dict[str, Any] = {
        "name": "Reminder",
        "description": "Unanswered for a day",
        "conditions": REMINDER,
        "actions": NOTE,
    }
    values.update(overrides)
    return services.workflow_create(actor=actor, **values)


def _section(html: str, element_id: str) -> str:
    """The HTML from the element with ``element_id`` to the end (enough to look inside)."""
    start = html.index(f'id="{element_id}"')
    return html[start:]


def _row(html: str, prefix: str) -> str:
    """One builder row's HTML: up to the next row, group or section."""
    start = html.index(f'id="row-{prefix}"')
    ends = [
        html.find(marker, start + 1)
        for marker in ('class="builder-row', "</fieldset>\n  ", "</section>")
    ]
    return html[start : min(end for end in ends if end != -1)]


@pytest.fixture
def mclient(manager, client_for) -> Client:  # type: ignore[no-untyped-def]
    return client_for(manager)


# --- access ---------------------------------------------------------------------------------


def test_agents_get_403_everywhere(manager, agent, client_for) -> None:  # type: ignore[no-untyped-def]
    workflow = _workflow(manager)
    run = WorkflowRun.objects.create(
        organization=manager.organization, workflow=workflow, outcome=Outcome.NOT_MATCHED
    )
    client = client_for(agent)
    paths = [
        BASE,
        f"{BASE}new/",
        f"{BASE}gallery/",
        f"{BASE}settings/",
        f"{BASE}{workflow.pk}/",
        f"{BASE}{workflow.pk}/delete/",
        f"{BASE}{workflow.pk}/runs/",
        f"{BASE}runs/{run.pk}/",
    ]
    for path in paths:
        assert client.get(path).status_code == 403, path
    for path in [
        f"{BASE}{workflow.pk}/enabled/",
        f"{BASE}{workflow.pk}/duplicate/",
        f"{BASE}{workflow.pk}/delete/",
        f"{BASE}gallery/use/",
        f"{BASE}new/",
    ]:
        assert client.post(path, {"enabled": "1", "template": "first_message"}).status_code == 403
    assert Workflow.objects.for_organization(manager.organization).get().enabled is False


def test_the_manage_page_links_to_workflows(mclient) -> None:  # type: ignore[no-untyped-def]
    assert f'href="{BASE}"' in mclient.get("/app/acme/manage/").content.decode()


# --- list -----------------------------------------------------------------------------------


def test_list_shows_yes_no_trigger_last_run_and_failing(manager, mclient) -> None:  # type: ignore[no-untyped-def]
    org = manager.organization
    on = _workflow(manager, name="Reminder on", enabled=True)
    off = _workflow(manager, name="Reminder off")
    ticket = make_ticket(org)
    now = timezone.now()
    for minutes, outcome in [(5, Outcome.FAILED), (4, Outcome.NOT_MATCHED), (3, Outcome.PARTIAL)]:
        WorkflowRun.objects.create(
            organization=org,
            workflow=on,
            ticket=ticket,
            outcome=outcome,
            period_at=now - timedelta(minutes=minutes),
            created_at=now - timedelta(minutes=minutes),
        )
    html = mclient.get(BASE).content.decode()
    on_row = _section(html, f"workflow-{on.pk}").split("</tr>")[0]
    off_row = _section(html, f"workflow-{off.pk}").split("</tr>")[0]
    assert 'class="tag yes"' in on_row and ">Yes<" in on_row
    assert 'class="tag no"' in off_row and ">No<" in off_row
    assert "On a timer" in on_row
    assert "ago" in on_row and "never" in off_row
    assert "Failing" not in on_row  # two failed acting runs so far
    WorkflowRun.objects.create(
        organization=org, workflow=on, ticket=ticket, outcome=Outcome.FAILED, period_at=now
    )
    on_row = _section(mclient.get(BASE).content.decode(), f"workflow-{on.pk}").split("</tr>")[0]
    assert "Failing" in on_row
    WorkflowRun.objects.create(
        organization=org,
        workflow=on,
        ticket=ticket,
        outcome=Outcome.DONE,
        period_at=now + timedelta(seconds=1),
        created_at=now + timedelta(seconds=1),
    )
    assert "Failing" not in mclient.get(BASE).content.decode()


def test_list_query_count_is_constant(manager, mclient, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    org = manager.organization
    ticket = make_ticket(org)

    def add(n: int) -> None:
        for i in range(n):
            workflow = _workflow(manager, name=f"W{Workflow.objects.for_organization(org).count()}")
            for k in range(3):
                WorkflowRun.objects.create(
                    organization=org,
                    workflow=workflow,
                    ticket=ticket,
                    outcome=Outcome.FAILED,
                    period_at=timezone.now() + timedelta(seconds=i * 10 + k),
                )

    add(2)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert mclient.get(BASE).status_code == 200
    add(15)
    with django_assert_max_num_queries(len(few)):
        html = mclient.get(BASE).content.decode()
    assert html.count('class="tag bad failing"') == 17


def test_search_filters_and_htmx_gets_the_results_only(manager, mclient) -> None:  # type: ignore[no-untyped-def]
    _workflow(manager, name="Refund reminder")
    _workflow(manager, name="VIP", description="Tag VIP senders")
    page = mclient.get(BASE, {"q": "vip"}).content.decode()
    assert "Tag VIP senders" in page and "Refund reminder" not in page
    fragment = mclient.get(BASE, {"q": "REFUND"}, **HTMX).content.decode()
    assert fragment.lstrip().startswith('<section id="workflow-results"')
    assert "Refund reminder" in fragment and "<html" not in fragment
    assert "No workflow matches" in mclient.get(BASE, {"q": "zzz"}, **HTMX).content.decode()


def test_toggle_with_htmx_and_without(manager, mclient) -> None:  # type: ignore[no-untyped-def]
    workflow = _workflow(manager)
    url = f"{BASE}{workflow.pk}/enabled/"
    response = mclient.post(url, {"enabled": "1"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith("<form")
    assert 'class="tag yes"' in html and 'name="enabled" value="0"' in html
    workflow.refresh_from_db()
    assert workflow.enabled
    response = mclient.post(url, {"enabled": "0"})
    assert response.status_code == 302 and response["Location"] == BASE
    workflow.refresh_from_db()
    assert not workflow.enabled
    assert mclient.get(url).status_code == 405


# --- builder --------------------------------------------------------------------------------


def _post_data(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Reminder",
        "description": "Unanswered for a day",
        "c-all-0-field": "reply_status",
        "c-all-0-op": "is",
        "c-all-0-value": "not_answered",
        "c-all-1-field": "ticket_created",
        "c-all-1-op": "more_than",
        "c-all-1-value": "24",
        "a-0-type": "add_note",
        "a-0-body": "Please answer.",
    }
    data.update(extra)
    return data


def test_new_builder_offers_every_condition_and_action(mclient) -> None:  # type: ignore[no-untyped-def]
    html = mclient.get(f"{BASE}new/").content.decode()
    from automations.engine.registry import ACTIONS, CONDITIONS

    for key in CONDITIONS:
        assert f'<option value="{key}"' in html, key
    for key in ACTIONS:
        assert f'<option value="{key}"' in html, key
    assert 'name="c-all-0-field"' in html and 'name="a-0-type"' in html


def test_saving_the_seeds_example(manager, mclient) -> None:  # type: ignore[no-untyped-def]
    response = mclient.post(f"{BASE}new/", _post_data(enabled="1"))
    assert response.status_code == 302
    workflow = Workflow.objects.for_organization(manager.organization).get()
    assert workflow.enabled and workflow.trigger == "time"
    assert workflow.conditions["all"] == REMINDER["all"]
    assert workflow.actions == NOTE
    assert workflow.created_by == manager.user


def test_errors_are_shown_on_their_rows(manager, mclient) -> None:  # type: ignore[no-untyped-def]
    data = _post_data(name="", **{"c-all-1-value": "soon", "a-1-type": "set_priority"})
    response = mclient.post(f"{BASE}new/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Give the workflow a name." in html
    assert "whole number of hours" in _row(html, "c-all-1")
    assert "errorlist" not in _row(html, "c-all-0")
    assert "This field is required." in _row(html, "a-1")
    # What was typed is kept.
    assert 'value="soon"' in _row(html, "c-all-1")
    assert not Workflow.objects.for_organization(manager.organization).exists()


def test_changing_a_field_redraws_its_row(mclient) -> None:  # type: ignore[no-untyped-def]
    data = _post_data(cmd="refresh", part="c-all-0", **{"c-all-0-field": "working_hours"})
    html = mclient.post(f"{BASE}new/", data, **HTMX).content.decode()
    assert html.lstrip().startswith('<div class="builder-row condition-row" id="row-c-all-0"')
    assert '<option value="outside"' in html and '<option value="inside"' in html
    assert "The ticket&#x27;s team" in html or "The ticket's team" in html
    # An action row too: "assign agent" offers round robin.
    data = _post_data(cmd="refresh", part="a-0", **{"a-0-type": "assign_agent"})
    html = mclient.post(f"{BASE}new/", data, **HTMX).content.decode()
    assert html.lstrip().startswith('<div class="builder-row action-row" id="row-a-0"')
    assert 'value="round_robin"' in html


def test_rows_and_groups_are_added_and_removed_with_htmx(mclient) -> None:  # type: ignore[no-untyped-def]
    url = f"{BASE}new/"
    html = mclient.post(url, _post_data(cmd="add-condition:all"), **HTMX).content.decode()
    assert html.lstrip().startswith('<section class="card" id="conditions"')
    assert 'name="c-all-2-field"' in html
    html = mclient.post(url, _post_data(cmd="remove-condition:c-all-0"), **HTMX).content.decode()
    assert 'name="c-all-1-field"' not in html
    assert 'value="ticket_created" selected' in _row(html, "c-all-0")
    html = mclient.post(url, _post_data(cmd="add-group"), **HTMX).content.decode()
    assert 'name="groups" value="any0"' in html and 'name="c-any0-0-field"' in html
    data = _post_data(cmd="add-condition:any0", groups="any0")
    html = mclient.post(url, data, **HTMX).content.decode()
    assert 'name="c-any0-0-field"' in html  # the empty group kept
    data = _post_data(cmd="remove-group:any0", groups="any0", **{"c-any0-0-field": "subject"})
    html = mclient.post(url, data, **HTMX).content.decode()
    assert "any0" not in html


def test_actions_are_added_moved_and_removed(mclient) -> None:  # type: ignore[no-untyped-def]
    url = f"{BASE}new/"
    data = _post_data(**{"a-1-type": "set_priority", "a-1-priority": "3"})
    html = mclient.post(url, {**data, "cmd": "up:a-1"}, **HTMX).content.decode()
    assert html.lstrip().startswith('<section class="card" id="actions"')
    assert 'value="set_priority" selected' in _row(html, "a-0")
    assert 'value="add_note" selected' in _row(html, "a-1")
    html = mclient.post(url, {**data, "cmd": "remove-action:a-0"}, **HTMX).content.decode()
    assert 'value="set_priority" selected' in _row(html, "a-0")
    assert 'id="row-a-1"' not in html
    html = mclient.post(url, {**data, "cmd": "add-action"}, **HTMX).content.decode()
    assert 'name="a-2-type"' in html


def test_the_same_commands_work_without_javascript(mclient) -> None:  # type: ignore[no-untyped-def]
    response = mclient.post(f"{BASE}new/", _post_data(cmd="add-condition:all"))
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html
    assert 'name="c-all-2-field"' in html and 'value="Reminder"' in html
    html = mclient.post(
        f"{BASE}new/", _post_data(cmd="refresh", **{"c-all-0-field": "source"})
    ).content.decode()
    assert 'value="whatsapp"' in _row(html, "c-all-0")


def test_translations_table_round_trips(manager, mclient) -> None:  # type: ignore[no-untyped-def]
    data = _post_data(
        **{
            "a-0-type": "send_translated_message",
            "a-0-template": "Thank you",
            "a-0-language": "customer",
            "a-0-source_language": "en-us",
            "a-0-translations-lang-0": "pl",
            "a-0-translations-text-0": "Dziękujemy",
            "a-0-translations-lang-1": "",
            "a-0-translations-text-1": "",
        }
    )
    data["c-all-0-field"] = "new_message"
    data.pop("c-all-1-field")
    assert mclient.post(f"{BASE}new/", data).status_code == 302
    workflow = Workflow.objects.for_organization(manager.organization).get()
    assert workflow.actions[0]["params"]["translations"] == {"pl": "Dziękujemy"}
    html = mclient.get(f"{BASE}{workflow.pk}/").content.decode()
    assert "Dziękujemy</textarea>" in html
    assert 'name="a-0-translations-lang-1"' in html  # one more empty row


def test_edit_prefills_and_updates(manager, mclient) -> None:  # type: ignore[no-untyped-def]
    tag = make_tag(manager.organization, "vip")
    workflow = _workflow(
        manager,
        conditions={
            "all": [{"field": "tag", "op": "is", "value": [tag.pk]}],
            "any": [[{"field": "weekday", "op": "is", "value": [5, 6]}]],
        },
    )
    html = mclient.get(f"{BASE}{workflow.pk}/").content.decode()
    assert f'value="{tag.pk}" checked' in _row(html, "c-all-0")
    weekend = _row(html, "c-any0-0")
    assert 'value="5" checked' in weekend and 'value="6" checked' in weekend
    assert 'value="0" checked' not in weekend
    data = {
        "name": "Weekend VIP",
        "description": "x",
        "enabled": "1",
        "groups": "any0",
        "c-all-0-field": "tag",
        "c-all-0-op": "is_not",
        "c-all-0-value": str(tag.pk),
        "c-any0-0-field": "weekday",
        "c-any0-0-op": "is",
        "c-any0-0-value": ["5"],
        "a-0-type": "add_note",
        "a-0-body": "hi",
    }
    assert mclient.post(f"{BASE}{workflow.pk}/", data).status_code == 302
    workflow.refresh_from_db()
    assert workflow.name == "Weekend VIP" and workflow.enabled
    assert workflow.conditions["all"][0]["op"] == "is_not"
    assert workflow.conditions["any"] == [[{"field": "weekday", "op": "is", "value": [5]}]]


def test_duplicate_opens_the_copy(manager, mclient) -> None:  # type: ignore[no-untyped-def]
    workflow = _workflow(manager, enabled=True)
    response = mclient.post(f"{BASE}{workflow.pk}/duplicate/")
    copy = Workflow.objects.for_organization(manager.organization).exclude(pk=workflow.pk).get()
    assert response["Location"] == f"{BASE}{copy.pk}/"
    assert copy.name == "Copy of Reminder" and not copy.enabled
    assert mclient.get(f"{BASE}{workflow.pk}/duplicate/").status_code == 405


def test_delete_asks_first_and_says_it_cannot_be_undone(manager, mclient) -> None:  # type: ignore[no-untyped-def]
    workflow = _workflow(manager)
    html = mclient.get(f"{BASE}{workflow.pk}/delete/").content.decode()
    assert "This cannot be undone." in html
    assert Workflow.objects.for_organization(manager.organization).exists()
    assert mclient.post(f"{BASE}{workflow.pk}/delete/")["Location"] == BASE
    assert not Workflow.objects.for_organization(manager.organization).exists()


def test_another_organizations_workflow_is_404(manager, outsider, client_for) -> None:  # type: ignore[no-untyped-def]
    workflow = _workflow(manager)
    client = client_for(outsider)
    assert client.get(f"/app/other/manage/workflows/{workflow.pk}/").status_code == 404
    assert client.post(f"/app/other/manage/workflows/{workflow.pk}/delete/").status_code == 404
    assert client.get(BASE).status_code == 404


# --- gallery --------------------------------------------------------------------------------


def test_gallery_use_as_is_and_edit_before_adding(manager, mclient) -> None:  # type: ignore[no-untyped-def]
    html = mclient.get(f"{BASE}gallery/").content.decode()
    assert html.count('class="card template-card"') >= 8
    assert 'name="template" value="remind_unanswered"' in html
    assert 'name="template" value="vip_senders"' not in html  # needs the addresses first
    response = mclient.post(f"{BASE}gallery/use/", {"template": "remind_unanswered"})
    assert response["Location"] == BASE
    workflow = Workflow.objects.for_organization(manager.organization).get()
    assert workflow.enabled and workflow.template_key == "remind_unanswered"
    # Edit before adding: the builder, filled in, nothing saved.
    html = mclient.get(f"{BASE}new/", {"template": "vip_senders"}).content.decode()
    assert 'value="Tag and prioritise VIP senders"' in html
    assert 'name="template_key" value="vip_senders"' in html
    assert "not saved yet" in html
    assert Workflow.objects.for_organization(manager.organization).count() == 1


def test_a_template_that_needs_choices_opens_the_builder(manager, mclient) -> None:  # type: ignore[no-untyped-def]
    response = mclient.post(f"{BASE}gallery/use/", {"template": "vip_senders"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "needs a few choices" in html
    assert "errorlist" in _row(html, "c-all-0")
    assert not Workflow.objects.for_organization(manager.organization).exists()
    assert mclient.post(f"{BASE}gallery/use/", {"template": "nope"}).status_code == 404


# --- run log --------------------------------------------------------------------------------


def test_run_log_pages_by_keyset(manager, mclient) -> None:  # type: ignore[no-untyped-def]
    org = manager.organization
    workflow = _workflow(manager)
    ticket = make_ticket(org, subject="Where is my parcel")
    start = timezone.now() - timedelta(hours=2)
    for i in range(55):
        WorkflowRun.objects.create(
            organization=org,
            workflow=workflow,
            ticket=ticket,
            period_at=start + timedelta(minutes=i),
            created_at=start + timedelta(minutes=i),
            outcome=Outcome.PARTIAL if i == 54 else Outcome.NOT_MATCHED,
            reason=f"reason {i}",
            actions=[
                {"type": "add_note", "ok": True, "summary": "added a note"},
                {"type": "send_message", "ok": False, "error": "smtp down"},
            ]
            if i == 54
            else [],
        )
    html = mclient.get(f"{BASE}{workflow.pk}/runs/").content.decode()
    assert html.count('<tr id="run-') == 50
    assert "Runs that did not match are kept for 30 days; runs that acted are kept." in html
    assert "reason 54" in html and "reason 4<" not in html
    assert "added a note" in html and "failed: smtp down" in html
    assert f"/app/acme/tickets/{ticket.number}/" in html
    next_url = re.search(r'rel="next" href="([^"]+)"', html)
    assert next_url is not None
    older = mclient.get(next_url.group(1).replace("&amp;", "&")).content.decode()
    assert older.count('<tr id="run-') == 5 and "reason 0<" in older and 'rel="next"' not in older
    acted = mclient.get(f"{BASE}{workflow.pk}/runs/", {"outcome": "acted"}).content.decode()
    assert acted.count('<tr id="run-') == 1
    run = WorkflowRun.objects.for_organization(org).get(reason="reason 54")
    detail = mclient.get(f"{BASE}runs/{run.pk}/").content.decode()
    assert "Some actions failed" in detail and "smtp down" in detail


def test_run_detail_names_the_event(manager, mclient) -> None:  # type: ignore[no-untyped-def]
    org = manager.organization
    workflow = _workflow(manager)
    ticket = make_ticket(org)
    event = Event.objects.create(organization=org, name="message.received", ticket=ticket)
    run = WorkflowRun.objects.create(
        organization=org, workflow=workflow, event=event, ticket=ticket, outcome=Outcome.DONE
    )
    assert "a customer message arrives" in mclient.get(f"{BASE}runs/{run.pk}/").content.decode()


# --- settings -------------------------------------------------------------------------------


def test_settings_never_render_keys(manager, mclient) -> None:  # type: ignore[no-untyped-def]
    url = f"{BASE}settings/"
    data = {
        "translate_url": "https://translate.example.com",
        "translate_api_key": "tr-secret-key",
        "ai_enabled": "on",
        "ai_base_url": "http://127.0.0.1:9/v1",
        "ai_api_key": "ai-secret-key",
        "ai_model": "tiny",
        "max_automated_per_ticket_per_hour": "7",
    }
    assert mclient.post(url, data)["Location"] == url
    html = mclient.get(url).content.decode()
    assert "tr-secret-key" not in html and "ai-secret-key" not in html
    assert "A key is stored" in html and 'value="tiny"' in html
    data.update(translate_api_key="", ai_api_key="")
    mclient.post(url, data)
    stored = AutomationSettings.objects.for_organization(manager.organization).get()
    assert stored.translate_api_key == "tr-secret-key" and stored.ai_api_key == "ai-secret-key"
    assert stored.max_automated_per_ticket_per_hour == 7
    response = mclient.post(
        url, {**data, "ai_base_url": "", "max_automated_per_ticket_per_hour": "7"}
    )
    assert response.status_code == 400 and "endpoint" in response.content.decode()


def test_team_names_are_escaped(manager, mclient) -> None:  # type: ignore[no-untyped-def]
    TeamFactory(organization=manager.organization, name="<script>x</script>")
    data = _post_data(cmd="refresh", part="c-all-0", **{"c-all-0-field": "working_hours"})
    html = mclient.post(f"{BASE}new/", data, **HTMX).content.decode()
    assert "<script>x" not in html and "&lt;script&gt;x" in html
