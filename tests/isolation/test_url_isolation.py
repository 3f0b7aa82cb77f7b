"""Tenant isolation across every URL of the project (see ``walker``).

A new URL joins automatically. A new kind of object id in a URL needs a builder in
``KWARG_BUILDERS`` (the test says which); a new URL outside ``/app/<org>/`` must be declared in
``PUBLIC_PATTERNS`` with the reason it may be reached without an organization.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import get_resolver

from helpdesk.models import Invitation, Role
from tests.factories import (
    CustomerFactory,
    CustomFieldFactory,
    MembershipFactory,
    ScheduleFactory,
    TeamFactory,
    UserFactory,
    add_customer_email,
    add_range,
    add_team_member,
)
from tests.isolation.walker import check_isolation, iter_routes

pytestmark = pytest.mark.django_db

PUBLIC_PATTERNS = {
    "": "redirects to the organization picker",
    "accounts/login/": "sign-in",
    "accounts/logout/": "sign-out",
    "accounts/password/reset/": "password reset request (answers the same for any address)",
    "accounts/password/reset/sent/": "password reset confirmation page",
    "accounts/password/reset/<uidb64>/<token>/": "password reset link, signed per user",
    "accounts/password/reset/done/": "password reset done page",
    "accounts/password/change/": "the signed-in user's own password",
    "accounts/password/change/done/": "the signed-in user's own password",
    "language/": "the signed-in user's own language",
    "healthz": "health check, no tenant data",
    "invite/<str:token>/": "invitation link; the 256-bit token is the capability",
    "app/": "the signed-in user's own organizations",
    "hooks/email/<str:secret>/": "inbound mail; the inbox's secret token is the credential",
    "forms/<str:secret>/": "public web form of one inbox (its key is published on purpose)",
    "api/v1/forms/<str:secret>/tickets/": "public ticket creation (web form / mobile app)",
}


@pytest.fixture
def world(org, other_org, outsider) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Organization A (``org``) with one object of every kind; B's admin is the attacker."""
    agent = MembershipFactory(organization=org, role=Role.AGENT, user=UserFactory())
    team = TeamFactory(organization=org, name="Victim team")
    add_team_member(team, agent.user)
    schedule = ScheduleFactory(team=team, name="Victim schedule")
    add_range(schedule, 0, "09:00", "17:00")
    customer = CustomerFactory(organization=org, name="Victim customer")
    add_customer_email(customer, "victim@example.com")
    field = CustomFieldFactory(organization=org, key="victim_field", label="Victim field")
    from django.utils import timezone

    invitation = Invitation.objects.create(
        organization=org,
        email="pending@example.com",
        role=Role.AGENT,
        expires_at=timezone.now() + timezone.timedelta(days=1),
    )
    from django.core.files.base import ContentFile

    from tests.tickets.factories import make_inbox, make_tag, make_ticket
    from tickets.models import (
        Attachment,
        CannedResponse,
        CustomStatus,
        CustomTicketType,
        InboundEmail,
        InboxGroup,
        IntegrationAccount,
    )

    inbox_group = InboxGroup.objects.create(organization=org, name="Victim group")
    inbox = make_inbox(org, team, name="Victim inbox", group=inbox_group)
    ticket = make_ticket(org, subject="Victim ticket", customer=customer, inbox=inbox)
    message = ticket.messages.first()
    attachment = Attachment(
        organization=org, message=message, filename="victim.txt", content_type="text/plain", size=6
    )
    attachment.file.save("victim.txt", ContentFile(b"secret"), save=True)
    tag = make_tag(org, "victim-tag")
    custom_status = CustomStatus.objects.create(organization=org, name="Victim", base_status="open")
    ticket_type = CustomTicketType.objects.create(organization=org, key="victim", name="Victim")
    canned = CannedResponse.objects.create(organization=org, title="Victim", body="x", team=team)
    integration = IntegrationAccount.objects.create(
        organization=org, name="Victim", kind="marketplace"
    )
    inbound = InboundEmail(organization=org, inbox=inbox, state="failed", error="x")
    inbound.raw.save("victim.eml", ContentFile(b"From: x"), save=True)
    from automations.models import Outcome, Workflow, WorkflowRun

    workflow = Workflow.objects.create(
        organization=org,
        name="Victim workflow",
        description="x",
        trigger="event",
        conditions={"all": [{"field": "new_message", "op": "is", "value": None}], "any": []},
        actions=[{"type": "add_note", "params": {"body": "x"}}],
    )
    run = WorkflowRun.objects.create(
        organization=org, workflow=workflow, ticket=ticket, outcome=Outcome.DONE
    )
    # B has objects too, so "own org" requests reach real views; none of its ticket numbers is
    # the victim's (so a number-keyed URL in B's organization must answer 404).
    attacker_team = TeamFactory(organization=other_org, name="Attacker team")
    make_inbox(other_org, attacker_team, name="Attacker inbox", address="b@other.example")
    return {
        "org": org,
        "attacker_org": other_org,
        "attacker": outsider,
        "builders": {
            "team_id": lambda: team.pk,
            "schedule_id": lambda: schedule.pk,
            "customer_id": lambda: customer.pk,
            "field_id": lambda: field.pk,
            "membership_id": lambda: agent.pk,
            "user_id": lambda: agent.user.pk,
            "invitation_id": lambda: invitation.pk,
            "number": lambda: ticket.number,
            "ticket_id": lambda: ticket.pk,
            "message_id": lambda: message.pk,
            "attachment_id": lambda: attachment.pk,
            "inbox_id": lambda: inbox.pk,
            "inbox_group_id": lambda: inbox_group.pk,
            "tag_id": lambda: tag.pk,
            "custom_status_id": lambda: custom_status.pk,
            "ticket_type_id": lambda: ticket_type.pk,
            "canned_response_id": lambda: canned.pk,
            "integration_id": lambda: integration.pk,
            "inbound_email_id": lambda: inbound.pk,
            "workflow_id": lambda: workflow.pk,
            "run_id": lambda: run.pk,
        },
    }


def _client(membership) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(membership.user)
    return client


def test_no_url_reaches_another_organization(world) -> None:  # type: ignore[no-untyped-def]
    routes = list(iter_routes())
    report = check_isolation(
        routes=routes,
        victim=world["org"],
        attacker_org=world["attacker_org"],
        attacker_client=_client(world["attacker"]),
        kwarg_builders=world["builders"],
        public_patterns=PUBLIC_PATTERNS,
    )
    assert report.undeclared_public == [], "declare these in PUBLIC_PATTERNS (with the reason)"
    assert report.missing_builders == {}, "add builders to the world fixture for these kwargs"
    assert report.findings == []
    assert not report.data_changed
    tenant_routes = [r for r in routes if "org" in r.kwargs]
    assert len(tenant_routes) >= 10
    assert report.checked >= 2 * len(tenant_routes)


def test_public_patterns_still_exist() -> None:
    templates = {route.template for route in iter_routes()}
    assert set(PUBLIC_PATTERNS) <= templates


def test_platform_admin_is_closed_to_organization_admins(world) -> None:  # type: ignore[no-untyped-def]
    response = _client(world["attacker"]).get("/admin/helpdesk/team/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@override_settings(ROOT_URLCONF="tests.isolation.leaky_urls")
def test_the_checker_catches_a_leaking_view(world) -> None:  # type: ignore[no-untyped-def]
    """Break one view on purpose and watch the checker fail."""
    from tests.isolation import leaky_urls

    routes = list(iter_routes(get_resolver(leaky_urls).url_patterns))
    report = check_isolation(
        routes=routes,
        victim=world["org"],
        attacker_org=world["attacker_org"],
        attacker_client=_client(world["attacker"]),
        kwarg_builders=world["builders"],
        public_patterns={r.template: "auth" for r in routes if "org" not in r.kwargs},
    )
    assert not report.ok
    assert [f.method for f in report.findings] == ["GET", "POST"]
    assert all("/app/other/leaky/" in f.path for f in report.findings)
    assert report.data_changed
