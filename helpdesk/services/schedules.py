"""Writes for ring schedules: create, update, enable/disable, delete."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from helpdesk.models import (
    MAX_SCHEDULES_PER_TEAM,
    Membership,
    Recurrence,
    Schedule,
    ScheduleAdvisor,
    ScheduleKind,
    ScheduleRange,
    Slot,
    Team,
    User,
)

MAX_INTERVAL_WEEKS = 52
MAX_RANGES_PER_SCHEDULE = 50


@dataclass(frozen=True)
class RangeSpec:
    """One weekly time range as entered: ``end <= start`` runs past midnight, 00:00–00:00 is
    the whole day."""

    weekday: int
    start_time: time
    end_time: time


def _require_manager(actor: Membership, team: Team) -> None:
    if not actor.can_manage or team.organization_id != actor.organization_id:
        raise PermissionDenied


def _add_year(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return date(day.year + 1, 3, 1)


def _validate(
    *,
    team: Team,
    name: str,
    kind: str,
    starts_on: date,
    ends_on: date | None,
    recurrence: str,
    interval_weeks: int,
    ranges: Sequence[RangeSpec],
    primary: Sequence[User],
    secondary: Sequence[User],
) -> None:
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if not name.strip():
        add("name", _("Give the schedule a name."))
    if kind not in ScheduleKind.values:
        add("kind", _("Choose open or closed."))
    if recurrence not in Recurrence.values:
        add("recurrence", _("Choose how the schedule repeats."))
    if ends_on is not None and ends_on < starts_on:
        add("ends_on", _("The end date cannot be before the start date."))
    if recurrence == Recurrence.YEARLY:
        if ends_on is None:
            add("ends_on", _("A schedule that repeats every year needs an end date."))
        elif ends_on >= _add_year(starts_on):
            add("ends_on", _("A schedule that repeats every year must span less than a year."))
    elif not 1 <= interval_weeks <= MAX_INTERVAL_WEEKS:
        add(
            "interval_weeks",
            _("Repeat every 1 to %(max)d weeks.") % {"max": MAX_INTERVAL_WEEKS},
        )
    if len(ranges) > MAX_RANGES_PER_SCHEDULE:
        add(
            NON_FIELD_ERRORS,
            _("A schedule can have at most %(max)d time ranges.")
            % {"max": MAX_RANGES_PER_SCHEDULE},
        )
    if any(not 0 <= item.weekday <= 6 for item in ranges):
        add(NON_FIELD_ERRORS, _("Choose a day of the week for every time range."))

    primary_ids = {user.pk for user in primary}
    secondary_ids = {user.pk for user in secondary}
    if primary_ids & secondary_ids:
        add("secondary", _("A person can be on the primary or the secondary slot, not both."))
    wanted = primary_ids | secondary_ids
    if wanted:
        on_team = set(team.memberships.filter(user_id__in=wanted).values_list("user_id", flat=True))
        if wanted - on_team:
            field = "primary" if primary_ids - on_team else "secondary"
            add(field, _("Advisors must be members of the team."))
    if errors:
        raise ValidationError(errors)


def _dedupe(users: Sequence[User]) -> list[User]:
    seen: set[int] = set()
    unique = []
    for user in users:
        if user.pk not in seen:
            seen.add(user.pk)
            unique.append(user)
    return unique


def _write_details(
    schedule: Schedule,
    ranges: Sequence[RangeSpec],
    primary: Sequence[User],
    secondary: Sequence[User],
) -> None:
    schedule.ranges.all().delete()
    schedule.slots.all().delete()
    # Drop what a selector prefetched, so the instance shows the new ranges and advisors.
    getattr(schedule, "_prefetched_objects_cache", {}).clear()
    ScheduleRange.objects.bulk_create(
        ScheduleRange(
            organization_id=schedule.organization_id,
            schedule=schedule,
            weekday=item.weekday,
            start_time=item.start_time,
            end_time=item.end_time,
        )
        for item in sorted(set(ranges), key=lambda r: (r.weekday, r.start_time, r.end_time))
    )
    ScheduleAdvisor.objects.bulk_create(
        ScheduleAdvisor(
            organization_id=schedule.organization_id,
            schedule=schedule,
            user=user,
            slot=slot,
            position=position,
        )
        for slot, users in ((Slot.PRIMARY, primary), (Slot.SECONDARY, secondary))
        for position, user in enumerate(_dedupe(users))
    )


def schedule_create(
    *,
    actor: Membership,
    team: Team,
    name: str,
    starts_on: date,
    kind: str = ScheduleKind.OPEN,
    ends_on: date | None = None,
    recurrence: str = Recurrence.WEEKLY,
    interval_weeks: int = 1,
    enabled: bool = True,
    ranges: Sequence[RangeSpec] = (),
    primary: Sequence[User] = (),
    secondary: Sequence[User] = (),
) -> Schedule:
    """Adds a schedule to the team: at most ``MAX_SCHEDULES_PER_TEAM``, counted under a lock on
    the team row so two managers saving at once cannot both take the last place."""
    _require_manager(actor, team)
    _validate(
        team=team,
        name=name,
        kind=kind,
        starts_on=starts_on,
        ends_on=ends_on,
        recurrence=recurrence,
        interval_weeks=interval_weeks,
        ranges=ranges,
        primary=primary,
        secondary=secondary,
    )
    with transaction.atomic():
        locked = (
            Team.objects.for_organization(team.organization_id).select_for_update().get(pk=team.pk)
        )
        if Schedule.objects.filter(team=locked).count() >= MAX_SCHEDULES_PER_TEAM:
            raise ValidationError(
                _("A team can have at most %(max)d schedules. Delete one to add another.")
                % {"max": MAX_SCHEDULES_PER_TEAM}
            )
        schedule = Schedule(
            organization_id=team.organization_id,
            team=team,
            name=name.strip(),
            kind=kind,
            enabled=enabled,
            starts_on=starts_on,
            ends_on=ends_on,
            recurrence=recurrence,
            interval_weeks=1 if recurrence == Recurrence.YEARLY else interval_weeks,
        )
        schedule.full_clean()
        schedule.save()
        _write_details(schedule, ranges, primary, secondary)
    return schedule


def schedule_update(
    *,
    actor: Membership,
    schedule: Schedule,
    name: str,
    starts_on: date,
    kind: str,
    ends_on: date | None,
    recurrence: str,
    interval_weeks: int,
    enabled: bool,
    ranges: Sequence[RangeSpec],
    primary: Sequence[User],
    secondary: Sequence[User],
) -> Schedule:
    """Replaces the schedule's settings, ranges and advisors. Its creation time (which decides
    what it overrides) stays."""
    team = schedule.team
    _require_manager(actor, team)
    _validate(
        team=team,
        name=name,
        kind=kind,
        starts_on=starts_on,
        ends_on=ends_on,
        recurrence=recurrence,
        interval_weeks=interval_weeks,
        ranges=ranges,
        primary=primary,
        secondary=secondary,
    )
    with transaction.atomic():
        schedule.name = name.strip()
        schedule.kind = kind
        schedule.enabled = enabled
        schedule.starts_on = starts_on
        schedule.ends_on = ends_on
        schedule.recurrence = recurrence
        schedule.interval_weeks = 1 if recurrence == Recurrence.YEARLY else interval_weeks
        schedule.full_clean()
        schedule.save()
        _write_details(schedule, ranges, primary, secondary)
    return schedule


def schedule_set_enabled(*, actor: Membership, schedule: Schedule, enabled: bool) -> Schedule:
    _require_manager(actor, schedule.team)
    schedule.enabled = enabled
    schedule.save(update_fields=["enabled"])
    return schedule


def schedule_delete(*, actor: Membership, schedule: Schedule) -> None:
    _require_manager(actor, schedule.team)
    with transaction.atomic():
        schedule.delete()
