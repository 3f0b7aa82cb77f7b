"""Assign agent: a chosen member, or round robin among the ticket's team.

Round robin picks among the team's members who
- can work tickets (role agent, manager or admin) and are active users,
- are online (``helpdesk.presence``: the agent console is open), and
- are in working hours: when the team has enabled schedules, the one in force now must be an
  open one and list them on its primary or secondary slot (an open schedule with nobody on
  its slots sets the hours only). A team without schedules is not restricted by hours.

Of those, the one round robin gave a ticket least recently (never first) gets it. That moment
is kept per team and member in ``RoundRobinSlot``; the pick locks the chosen row with
``SELECT … FOR UPDATE SKIP LOCKED`` until the workflow's transaction commits, so two
concurrent picks take different rows, and so different people, while two are free (when
every candidate's row is locked, the pick waits for the least recent one). Manual
assignments do not move the cursor: round robin spreads the tickets it hands out itself.

A ticket that already has an assignee is left alone by round robin (a chosen agent is
assigned whatever the current assignee).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from automations.engine.registry import (
    ActionContext,
    ActionError,
    ActionSkipped,
    ActionType,
    ParamSpec,
    action_register,
)
from automations.models import RoundRobinSlot
from helpdesk.models import Membership, Organization, Role, Schedule, Team, TeamMember, User
from helpdesk.presence import presence_online
from helpdesk.selectors.schedules import team_schedule_state
from tickets.services.tickets import ticket_assign

ROUND_ROBIN = "round_robin"
WORKING_ROLES = (Role.AGENT, Role.MANAGER, Role.ADMIN)


def _working_member_ids(organization_id: int, user_ids: list[int] | None = None) -> set[int]:
    queryset = Membership.objects.for_organization(organization_id).filter(
        role__in=WORKING_ROLES, user__is_active=True
    )
    if user_ids is not None:
        queryset = queryset.filter(user_id__in=user_ids)
    return set(queryset.values_list("user_id", flat=True))


def round_robin_candidates(*, team: Team, at: datetime | None = None) -> list[int]:
    """The ids of the team's members available for a ticket now (see the module's doc)."""
    at = at or timezone.now()
    members = list(
        TeamMember.objects.for_organization(team.organization_id)
        .filter(team=team)
        .values_list("user_id", flat=True)
    )
    working = _working_member_ids(team.organization_id, members)
    available = presence_online(team.organization_id, working)
    if not available:
        return []
    has_schedules = (
        Schedule.objects.for_organization(team.organization_id)
        .filter(team=team, enabled=True)
        .exists()
    )
    if has_schedules:
        state = team_schedule_state(team=team, at=at)
        if not state.in_hours:
            return []
        on_slots = {user.pk for user in [*state.primary, *state.secondary]}
        if on_slots:
            available &= on_slots
    return sorted(available)


def round_robin_pick(*, team: Team, at: datetime | None = None) -> User | None:
    """The available member round robin gave a ticket least recently, now marked as just
    given one; None when nobody is available. Call inside the transaction that assigns."""
    candidates = round_robin_candidates(team=team, at=at)
    if not candidates:
        return None
    slots = (
        RoundRobinSlot.objects.for_organization(team.organization_id)
        .filter(team=team, user_id__in=candidates)
        .order_by(F("last_assigned_at").asc(nulls_first=True), "user_id")
    )
    missing = set(candidates) - set(slots.values_list("user_id", flat=True))
    if missing:
        # Newcomers get a row (never given a ticket: first in line); a concurrent insert of
        # the same row waits for the other transaction, then skips it.
        RoundRobinSlot.objects.bulk_create(
            [
                RoundRobinSlot(organization_id=team.organization_id, team=team, user_id=user_id)
                for user_id in sorted(missing)
            ],
            ignore_conflicts=True,
        )
    slot = slots.select_for_update(skip_locked=True).first()
    if slot is None:  # every candidate is being handed a ticket right now: wait our turn
        slot = slots.select_for_update().first()
    if slot is None:
        return None
    slot.last_assigned_at = timezone.now()
    slot.save(update_fields=["last_assigned_at"])
    return User.objects.get(pk=slot.user_id)


def _clean(organization: Organization, params: dict[str, Any]) -> dict[str, Any]:
    value = str(params.get("agent") or "").strip()
    if value == ROUND_ROBIN:
        return {"agent": ROUND_ROBIN}
    if not value.isdigit() or int(value) not in _working_member_ids(organization.pk, [int(value)]):
        raise ValidationError({"agent": _("Choose an agent, or round robin.")})
    return {"agent": int(value)}


def _run(action: ActionContext, params: dict[str, Any]) -> str:
    ticket = action.ctx.ticket
    value = str(params.get("agent") or "").strip()
    if value == ROUND_ROBIN:
        if ticket.assignee_id is not None:
            raise ActionSkipped(
                _("the ticket is already assigned to %(name)s")
                % {"name": ticket.assignee.display_name if ticket.assignee else ""}
            )
        team = ticket.team
        if team is None:
            raise ActionSkipped(_("the ticket has no team to pick an agent from"))
        user = round_robin_pick(team=team)
        if user is None:
            raise ActionSkipped(_("no available agent in team %(team)s") % {"team": team.name})
        ticket_assign(actor=None, ticket=ticket, assignee=user)
        return _("assigned to %(name)s (round robin)") % {"name": user.display_name}
    if not value.isdigit() or not _working_member_ids(ticket.organization_id, [int(value)]):
        raise ActionError(_("that agent is no longer a member who can work tickets"))
    user = User.objects.get(pk=int(value))
    if ticket.assignee_id == user.pk:
        return _("the ticket was already assigned to %(name)s") % {"name": user.display_name}
    ticket_assign(actor=None, ticket=ticket, assignee=user)
    return _("assigned to %(name)s") % {"name": user.display_name}


def _describe(params: dict[str, Any]) -> str:
    value = str(params.get("agent") or "").strip()
    if value == ROUND_ROBIN:
        return _("would assign an available agent of the ticket's team (round robin)")
    # Only ids checked against the organization when the workflow was saved get here.
    user = User.objects.filter(pk=int(value)).first() if value.isdigit() else None
    return _("would assign %(name)s") % {"name": user.display_name if user else "?"}


action_register(
    ActionType(
        key="assign_agent",
        label=gettext_lazy("Assign agent"),
        params=(
            ParamSpec(
                "agent",
                gettext_lazy("Agent"),
                "round_robin_or_member",
                help_text=gettext_lazy(
                    "Round robin: the team's agents who are online and in working hours, in turn."
                ),
            ),
        ),
        run=_run,
        describe=_describe,
        clean=_clean,
    )
)
