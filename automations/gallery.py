"""The template gallery: ready-made workflows a manager uses as they are or edits first.

Each template builds its conditions and actions for one organization (``draft``): choices it
can make by itself are filled in (the team named like "Returns", the ticket's own team, a tag
created when first needed), and what only the manager can know (VIP addresses, a supervisor's
address) is left empty. Such a template cannot be used as it is; the builder opens with the
empty fields marked. Texts are written in the language of the manager who opens the template.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from helpdesk.models import Organization, Team
from tickets.models import Priority, ReplyStatus, Status

Spec = tuple[dict[str, Any], list[dict[str, Any]]]


@dataclass(frozen=True)
class Draft:
    name: str
    description: str
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]


@dataclass(frozen=True)
class Template:
    key: str
    name: str | Promise
    description: str | Promise
    build: Callable[[Organization], Spec]
    # What the manager has to fill in before it can be added (empty: usable as it is).
    needs: str | Promise = ""

    def draft(self, organization: Organization) -> Draft:
        conditions, actions = self.build(organization)
        return Draft(
            name=str(self.name),
            description=str(self.description),
            conditions=conditions,
            actions=actions,
        )


def _row(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def _action(kind: str, **params: Any) -> dict[str, Any]:
    return {"type": kind, "params": params}


# Words customers and teams use in the seven UI languages ("urgent" also finds "urgente").
URGENT_WORDS = ("urgent", "asap", "dringend", "pilne", "pilny")
RETURNS_TEAM_WORDS = ("return", "zwrot", "retour", "rücksend", "devoluc", "devoluç")


def _team_named(organization: Organization, *words: str) -> int | None:
    query = Q()
    for word in words:
        query |= Q(name__icontains=word)
    team = Team.objects.for_organization(organization).filter(query).order_by("name").first()
    return team.pk if team is not None else None


def _language() -> str:
    return (get_language() or "en-us").lower()


# --- the templates ------------------------------------------------------------------------


def _remind_unanswered(organization: Organization) -> Spec:
    return (
        {
            "all": [
                _row("reply_status", "is", ReplyStatus.NOT_ANSWERED),
                _row("ticket_created", "more_than", 24),
                _row("ticket_status", "is", [Status.NEW, Status.OPEN]),
            ],
            "any": [],
        },
        [
            _action(
                "add_note",
                body=_("Reminder: this ticket has waited more than 24 hours for an answer."),
            ),
            _action("set_priority", priority=Priority.HIGH),
        ],
    )


def _out_of_hours(organization: Organization) -> Spec:
    return (
        {
            "all": [
                _row("new_message", "is"),
                _row("working_hours", "outside", {"ticket_team": True}),
            ],
            "any": [],
        },
        [
            _action(
                "send_message",
                template=_(
                    "Hello {customer_name}, thank you for your message. {team_name} is away "
                    "right now; we will answer on the next working day."
                ),
            )
        ],
    )


def _route_returns(organization: Organization) -> Spec:
    return (
        {"all": [_row("action", "is", "return_created")], "any": []},
        [
            _action("assign_team", team=_team_named(organization, *RETURNS_TEAM_WORDS)),
            _action("assign_tag", tag=None, tag_name=_("return")),
        ],
    )


def _vip(organization: Organization) -> Spec:
    return (
        {"all": [_row("email", "is", [])], "any": []},
        [
            _action("assign_tag", tag=None, tag_name="VIP"),
            _action("set_priority", priority=Priority.HIGH),
        ],
    )


def _first_message(organization: Organization) -> Spec:
    return (
        {"all": [_row("action", "is", "first_customer_message")], "any": []},
        [
            _action(
                "send_message",
                template=_(
                    "Hello {customer_name}, thank you for writing to {company_name}. We have "
                    "your message (ticket #{ticket_number}) and will answer as soon as we can."
                ),
            )
        ],
    )


def _close_solved(organization: Organization) -> Spec:
    return (
        {
            "all": [
                _row("ticket_status", "is", [Status.SOLVED]),
                _row("last_customer_reply", "more_than", 72),
            ],
            "any": [],
        },
        [_action("set_status", status=Status.CLOSED)],
    )


def _urgent(organization: Organization) -> Spec:
    return (
        {
            "all": [_row("new_message", "is")],
            "any": [
                [
                    *[_row("message_text", "contains", word) for word in URGENT_WORDS],
                    _row("subject", "contains", "urgent"),
                ]
            ],
        },
        [
            _action("set_priority", priority=Priority.URGENT),
            _action(
                "add_note",
                body=_("The customer says this is urgent; the priority was raised to urgent."),
            ),
        ],
    )


def _notify_returns(organization: Organization) -> Spec:
    return (
        {"all": [_row("action", "is", "return_created")], "any": []},
        [
            _action(
                "send_email",
                to="",
                subject=_("New return: ticket #{ticket_number}"),
                body=_("{customer_name} started a return (ticket #{ticket_number})."),
            )
        ],
    )


def _round_robin(organization: Organization) -> Spec:
    return (
        {"all": [_row("new_ticket", "is")], "any": []},
        [_action("assign_agent", agent="round_robin")],
    )


def _translated_reply(organization: Organization) -> Spec:
    return (
        {"all": [_row("action", "is", "first_customer_message")], "any": []},
        [
            _action(
                "send_translated_message",
                template=_(
                    "Hello {customer_name}, thank you for your message. We will answer within "
                    "one working day."
                ),
                language="customer",
                source_language=_language(),
                translations={},
            )
        ],
    )


TEMPLATES: tuple[Template, ...] = (
    Template(
        "remind_unanswered",
        gettext_lazy("Remind about tickets unanswered for 24 hours"),
        gettext_lazy(
            "Reply status is not answered and the ticket was created more than 24 hours ago: "
            "add a reminder note and raise the priority to high."
        ),
        _remind_unanswered,
    ),
    Template(
        "out_of_hours",
        gettext_lazy("Out-of-hours auto-reply"),
        gettext_lazy(
            "A customer writes outside the working hours of the ticket's team: tell them when "
            "to expect an answer."
        ),
        _out_of_hours,
    ),
    Template(
        "route_returns",
        gettext_lazy("Route returns to the returns team"),
        gettext_lazy("A return is created: move it to the returns team and tag it “return”."),
        _route_returns,
        needs=gettext_lazy("the returns team (when no team is named like “Returns”)"),
    ),
    Template(
        "vip_senders",
        gettext_lazy("Tag and prioritise VIP senders"),
        gettext_lazy("A message from one of your VIP addresses: tag it VIP, priority high."),
        _vip,
        needs=gettext_lazy("the VIP email addresses"),
    ),
    Template(
        "first_message",
        gettext_lazy("Acknowledge the first message"),
        gettext_lazy("A customer's first message: confirm it arrived and give the ticket number."),
        _first_message,
    ),
    Template(
        "close_solved",
        gettext_lazy("Close solved tickets after 72 hours"),
        gettext_lazy("A solved ticket whose customer has not written for 72 hours: close it."),
        _close_solved,
    ),
    Template(
        "urgent_keywords",
        gettext_lazy("Escalate urgent messages"),
        gettext_lazy(
            "A message that says “urgent” or “ASAP”: priority urgent and a note for the team."
        ),
        _urgent,
    ),
    Template(
        "notify_returns",
        gettext_lazy("Email a supervisor about new returns"),
        gettext_lazy("A return is created: send an email to a fixed address."),
        _notify_returns,
        needs=gettext_lazy("the supervisor's email address"),
    ),
    Template(
        "round_robin",
        gettext_lazy("Assign new tickets round robin"),
        gettext_lazy(
            "A new ticket: assign it to the next available agent of its team (online and in "
            "working hours)."
        ),
        _round_robin,
    ),
    Template(
        "translated_reply",
        gettext_lazy("Auto-reply in the customer's language"),
        gettext_lazy(
            "A customer's first message: a thank-you in their language, from your own "
            "translations or the translation service."
        ),
        _translated_reply,
    ),
)


def template_list() -> tuple[Template, ...]:
    return TEMPLATES


def template_get(key: str) -> Template | None:
    return next((template for template in TEMPLATES if template.key == key), None)
