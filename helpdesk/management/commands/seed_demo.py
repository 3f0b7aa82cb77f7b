"""Loads the demo organizations, idempotently: running it again changes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from helpdesk.demo import demo_seeders
from helpdesk.models import (
    CustomerEmail,
    CustomField,
    Membership,
    Organization,
    Recurrence,
    Role,
    Schedule,
    ScheduleKind,
    Team,
    User,
)
from helpdesk.services.custom_fields import custom_field_create
from helpdesk.services.customers import customer_create
from helpdesk.services.schedules import RangeSpec, schedule_create
from helpdesk.services.teams import team_create, team_member_add, team_member_make_default
from helpdesk.services.tenancy import organization_create

PASSWORD = "demo"  # noqa: S105 - printed demo credentials; refused without DEBUG

DEMO_USERS = [
    ("admin@demo.example", "Ada Admin", Role.ADMIN),
    ("manager@demo.example", "Max Manager", Role.MANAGER),
    ("agent1@demo.example", "Alicja Agent", Role.AGENT),
    ("agent2@demo.example", "Bruno Agent", Role.AGENT),
]

CUSTOMERS: list[dict[str, Any]] = [
    {
        "name": "Jan Kowalski",
        "emails": ["jan.kowalski@example.com"],
        "phones": ["+48 501 234 567"],
        "language": "pl",
        "company": "Kowalski Transport",
        "custom_fields": {"vip": True, "customer_number": "C-1001", "preferred_contact": "Phone"},
    },
    {
        "name": "Marie Dubois",
        "emails": ["marie.dubois@example.fr"],
        "phones": ["+33 6 12 34 56 78"],
        "language": "fr",
        "custom_fields": {"customer_number": "C-1002", "preferred_contact": "Email"},
    },
    {
        "name": "Hans Müller",
        "emails": ["hans.mueller@example.de"],
        "phones": [],
        "language": "de",
        "company": "Müller Landtechnik GmbH",
        "custom_fields": {"customer_number": "C-1003"},
    },
    {
        "name": "Sofia Rossi",
        "emails": ["sofia.rossi@example.it"],
        "phones": ["+39 312 345 6789"],
        "language": "it",
        "custom_fields": {"vip": True, "preferred_contact": "Chat"},
    },
    {
        "name": "Ana Souza",
        "emails": ["ana.souza@example.com.br"],
        "phones": [],
        "language": "pt-br",
        "notes": "Prefers WhatsApp in the afternoon.",
    },
]


def _user(email: str, name: str) -> User:
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email, PASSWORD, name=name)
    return user


class Command(BaseCommand):
    help = "Create the demo organizations 'demo' and 'other' (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (known passwords!)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo creates users with the known password 'demo'; it refuses to run "
                "with DEBUG off. Use --force if you really mean it."
            )
        with transaction.atomic():
            demo = self._demo()
            self._other()
            admin = Membership.objects.get(organization=demo, user__email="admin@demo.example")
            for seeder in demo_seeders():
                seeder(admin)
        self.stdout.write(self.style.SUCCESS(f"Demo organization '{demo.slug}' is ready."))
        self.stdout.write(f"Log in at {settings.SITE_URL}/ with (password 'demo'):")
        for email, _name, role in DEMO_USERS:
            self.stdout.write(f"  {email:<24} {role.label} of demo")
        self.stdout.write(f"  {'admin@other.example':<24} Admin of other")

    def _demo(self) -> Organization:
        users = {email: _user(email, name) for email, name, _role in DEMO_USERS}
        demo = Organization.objects.filter(slug="demo").first()
        if demo is None:
            demo = organization_create(
                slug="demo",
                name="Demo Motors",
                company_name="Demo Motors Customer Care",
                time_zone="Europe/Warsaw",
                default_language="en-us",
                country="PL",
                admin=users["admin@demo.example"],
            )
        for email, _name, role in DEMO_USERS:
            Membership.objects.get_or_create(
                organization=demo, user=users[email], defaults={"role": role}
            )
        actor = Membership.objects.get(organization=demo, user=users["admin@demo.example"])
        agent1 = Membership.objects.get(organization=demo, user=users["agent1@demo.example"])
        agent2 = Membership.objects.get(organization=demo, user=users["agent2@demo.example"])

        teams: dict[str, Team] = {}
        for name, display in (("Service", "Demo Motors Service"), ("Parts", "Demo Motors Parts")):
            team = Team.objects.for_organization(demo).filter(name=name).first()
            if team is None:
                team = team_create(
                    actor=actor,
                    name=name,
                    display_name=display,
                    create_ticket_for_missed_calls=True,
                    ring_last_advisor=name == "Service",
                )
            teams[name] = team
        for team, members in (
            (teams["Service"], [agent1, agent2]),
            (teams["Parts"], [agent2]),
        ):
            for member in members:
                if not team.memberships.filter(user=member.user).exists():
                    team_member_add(actor=actor, team=team, membership=member)
        for member, team in ((agent1, teams["Service"]), (agent2, teams["Parts"])):
            member.refresh_from_db()
            if member.default_team_id is None:
                team_member_make_default(actor=actor, team=team, membership=member)

        self._schedules(actor, teams, agent1.user, agent2.user)
        self._custom_fields(actor)
        for spec in CUSTOMERS:
            if (
                not CustomerEmail.objects.for_organization(demo)
                .filter(email__iexact=spec["emails"][0])
                .exists()
            ):
                customer_create(actor=actor, **spec)
        return demo

    def _schedules(
        self, actor: Membership, teams: dict[str, Team], agent1: User, agent2: User
    ) -> None:
        weekdays = range(5)
        plans: list[tuple[Team, str, dict[str, Any]]] = [
            (
                teams["Service"],
                "Business hours",
                {
                    "kind": ScheduleKind.OPEN,
                    "ranges": [RangeSpec(d, dt.time(8), dt.time(18)) for d in weekdays]
                    + [RangeSpec(5, dt.time(9), dt.time(13))],
                    "primary": [agent1],
                    "secondary": [agent2],
                },
            ),
            (
                teams["Parts"],
                "Business hours",
                {
                    "kind": ScheduleKind.OPEN,
                    "ranges": [RangeSpec(d, dt.time(9), dt.time(17)) for d in weekdays],
                    "primary": [agent2],
                },
            ),
            (
                teams["Service"],
                "Christmas",
                {
                    "kind": ScheduleKind.CLOSED,
                    "recurrence": Recurrence.YEARLY,
                    "starts_on": dt.date(2024, 12, 24),
                    "ends_on": dt.date(2024, 12, 26),
                },
            ),
        ]
        for team, name, spec in plans:
            if Schedule.objects.filter(team=team, name=name).exists():
                continue
            spec.setdefault("starts_on", dt.date(2024, 1, 1))
            schedule_create(actor=actor, team=team, name=name, **spec)

    def _custom_fields(self, actor: Membership) -> None:
        fields = [
            ("customer_number", "Customer number", "text", [], True),
            ("vip", "VIP", "boolean", [], True),
            ("preferred_contact", "Preferred contact", "choice", ["Phone", "Email", "Chat"], False),
            ("contract_end", "Contract ends", "date", [], False),
        ]
        existing = set(
            CustomField.objects.for_organization(actor.organization).values_list("key", flat=True)
        )
        for key, label, field_type, choices, show_in_chat in fields:
            if key not in existing:
                custom_field_create(
                    actor=actor,
                    key=key,
                    label=label,
                    field_type=field_type,
                    choices=choices,
                    show_in_chat=show_in_chat,
                )

    def _other(self) -> Organization:
        admin = _user("admin@other.example", "Olga Other")
        other = Organization.objects.filter(slug="other").first()
        if other is None:
            other = organization_create(
                slug="other",
                name="Other Company",
                company_name="Other Company Support",
                time_zone="America/New_York",
                default_language="en-us",
                country="US",
                admin=admin,
            )
            actor = Membership.objects.get(organization=other, user=admin)
            team = team_create(actor=actor, name="Support", display_name="Other Support")
            team_member_add(actor=actor, team=team, membership=actor)
            customer_create(
                actor=actor, name="Olivia Other", emails=["olivia@example.net"], phones=[]
            )
        return other
