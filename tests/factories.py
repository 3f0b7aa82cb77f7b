"""Factories shared by every test module."""

from __future__ import annotations

import datetime as dt

import factory
from factory.django import DjangoModelFactory

from helpdesk.models import (
    Customer,
    CustomerEmail,
    CustomField,
    Membership,
    Organization,
    Role,
    Schedule,
    ScheduleRange,
    Team,
    TeamMember,
    User,
)


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"org{n}")
    name = factory.LazyAttribute(lambda o: o.slug.capitalize())
    company_name = factory.LazyAttribute(lambda o: f"{o.name} Ltd")
    time_zone = "Europe/Warsaw"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Sequence(lambda n: f"User {n}")
    password = factory.django.Password("pw")


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.AGENT

    @classmethod
    def _create(cls, model_class, *args, **kwargs):  # type: ignore[no-untyped-def]
        return model_class.all_objects.create(*args, **kwargs)


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Team {n}")
    display_name = factory.LazyAttribute(lambda o: f"{o.name} desk")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):  # type: ignore[no-untyped-def]
        return model_class.all_objects.create(*args, **kwargs)


def add_team_member(team: Team, user: User) -> TeamMember:
    return TeamMember.all_objects.create(organization=team.organization, team=team, user=user)


class ScheduleFactory(DjangoModelFactory):
    class Meta:
        model = Schedule

    team = factory.SubFactory(TeamFactory)
    organization = factory.SelfAttribute("team.organization")
    name = factory.Sequence(lambda n: f"Schedule {n}")
    starts_on = dt.date(2020, 1, 1)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):  # type: ignore[no-untyped-def]
        return model_class.all_objects.create(*args, **kwargs)


def add_range(schedule: Schedule, weekday: int, start: str, end: str) -> ScheduleRange:
    return ScheduleRange.all_objects.create(
        organization=schedule.organization,
        schedule=schedule,
        weekday=weekday,
        start_time=dt.time.fromisoformat(start),
        end_time=dt.time.fromisoformat(end),
    )


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Customer {n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):  # type: ignore[no-untyped-def]
        return model_class.all_objects.create(*args, **kwargs)


def add_customer_email(customer: Customer, email: str) -> CustomerEmail:
    return CustomerEmail.all_objects.create(
        organization=customer.organization, customer=customer, email=email
    )


class CustomFieldFactory(DjangoModelFactory):
    class Meta:
        model = CustomField

    organization = factory.SubFactory(OrganizationFactory)
    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.Sequence(lambda n: f"Field {n}")
    field_type = "text"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):  # type: ignore[no-untyped-def]
        return model_class.all_objects.create(*args, **kwargs)
