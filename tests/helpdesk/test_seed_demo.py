"""``manage.py seed_demo``: the demo data, idempotent, refused without DEBUG."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from helpdesk.models import (
    Customer,
    Membership,
    Organization,
    Role,
    Schedule,
    Team,
    TeamMember,
    User,
)

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    return {
        "orgs": Organization.objects.count(),
        "users": User.objects.count(),
        "memberships": Membership.all_objects.count(),
        "teams": Team.all_objects.count(),
        "team_members": TeamMember.all_objects.count(),
        "schedules": Schedule.all_objects.count(),
        "customers": Customer.all_objects.count(),
    }


def test_seed_demo_creates_the_demo_and_is_idempotent(settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEBUG = True
    out = StringIO()
    call_command("seed_demo", stdout=out)
    first = _counts()
    call_command("seed_demo", stdout=StringIO())
    assert _counts() == first

    printed = out.getvalue()
    for email in (
        "admin@demo.example",
        "manager@demo.example",
        "agent1@demo.example",
        "agent2@demo.example",
        "admin@other.example",
    ):
        assert email in printed
    assert "'demo'" in printed

    demo = Organization.objects.get(slug="demo")
    other = Organization.objects.get(slug="other")
    assert set(Team.objects.for_organization(demo).values_list("name", flat=True)) == {
        "Service",
        "Parts",
    }
    roles = dict(Membership.objects.for_organization(demo).values_list("user__email", "role"))
    assert roles == {
        "admin@demo.example": Role.ADMIN,
        "manager@demo.example": Role.MANAGER,
        "agent1@demo.example": Role.AGENT,
        "agent2@demo.example": Role.AGENT,
    }
    assert Membership.objects.get(organization=other).user.email == "admin@other.example"
    assert Schedule.objects.for_organization(demo).count() >= 2
    assert Customer.objects.for_organization(demo).count() >= 5

    client = Client()
    assert client.login(username="manager@demo.example", password="demo")
    assert client.get("/app/demo/manage/").status_code == 200
    assert client.get("/app/other/").status_code == 404


def test_seed_demo_refuses_without_debug(settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo", stdout=StringIO())
    assert not Organization.objects.filter(slug="demo").exists()
    call_command("seed_demo", "--force", stdout=StringIO())
    assert Organization.objects.filter(slug="demo").exists()
