"""The tenant-scoped manager refuses queries that are not narrowed to one organization."""

import pytest
from django.apps import apps
from django.db.models import Q

from helpdesk.models import (
    Membership,
    Organization,
    Schedule,
    Team,
    TenantModel,
    TenantQuerySet,
    UnscopedQueryError,
)
from tests.factories import ScheduleFactory, TeamFactory

pytestmark = pytest.mark.django_db


def test_every_model_with_an_organization_uses_the_scoped_manager() -> None:
    offenders = []
    for model in apps.get_models():
        if model is Organization:
            continue
        field_names = {f.name for f in model._meta.get_fields()}
        scoped = issubclass(model, TenantModel) and isinstance(
            model._default_manager.all(), TenantQuerySet
        )
        if "organization" in field_names and not scoped:
            offenders.append(model.__name__)
    assert offenders == []


@pytest.mark.parametrize(
    "run",
    [
        lambda: list(Team.objects.all()),
        lambda: Team.objects.count(),
        lambda: Team.objects.exists(),
        lambda: Team.objects.get(pk=1),
        lambda: Team.objects.first(),
        lambda: Team.objects.filter(pk=1).update(name="x"),
        lambda: Team.objects.filter(name="x").delete(),
        lambda: list(Team.objects.values_list("name", flat=True)),
        lambda: list(Team.objects.filter(Q(organization_id=1) | Q(pk=2))),
        lambda: list(Team.objects.exclude(organization_id=1)),
        lambda: list(Schedule.objects.filter(team_id=1)),
        lambda: list(Team.objects.iterator()),
        lambda: Team.objects.in_bulk([1]),
    ],
)
def test_unscoped_queries_raise(run) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnscopedQueryError):
        run()


def test_scoped_queries_work(org, other_org) -> None:  # type: ignore[no-untyped-def]
    mine = TeamFactory(organization=org, name="Service")
    TeamFactory(organization=other_org, name="Service")
    schedule = ScheduleFactory(team=mine)

    assert list(Team.objects.for_organization(org)) == [mine]
    assert list(Team.objects.filter(organization=org)) == [mine]
    assert list(Team.objects.filter(Q(organization=org) & Q(name="Service"))) == [mine]
    assert Team.objects.for_organization(org).count() == 1
    # Related managers are scoped by their tenant-owned parent.
    assert list(mine.schedules.all()) == [schedule]
    assert list(Schedule.objects.filter(team=mine)) == [schedule]
    assert list(Schedule.objects.filter(team__in=Team.objects.for_organization(org))) == [schedule]
    # Prefetching goes through the same scoping (instances of a tenant-owned model).
    teams = list(Team.objects.for_organization(org).prefetch_related("schedules"))
    assert list(teams[0].schedules.all()) == [schedule]


def test_memberships_of_one_user_may_be_listed_across_organizations(  # type: ignore[no-untyped-def]
    org, other_org, make_member
) -> None:
    mine = make_member(org, email="x@example.com")
    theirs = make_member(other_org, email="x@example.com")
    assert set(Membership.objects.filter(user=mine.user)) == {mine, theirs}
    with pytest.raises(UnscopedQueryError):
        list(Membership.objects.all())
