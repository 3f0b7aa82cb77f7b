"""Conditions on the ticket as it is: its age and last customer reply, reply status, status,
marketplace account, inbox, inbox group, type and tags. Each has an exact SQL form, so a timer
workflow made of them is decided entirely by the scan's one query.

Values:

- ``last_customer_reply``, ``ticket_created``: a whole number of hours (operators *more than* /
  *less than*; "more than 24" holds once the moment is over 24 hours before ``ctx.at``). With
  *more than* they make a workflow time-based (``timer``); a ticket without a customer message
  has no last customer reply, and neither operator holds on it;
- ``reply_status``: ``answered`` or ``not_answered``;
- ``ticket_status``: a list of base statuses;
- ``marketplace``: the id of an integration account of kind *marketplace*;
- ``inbox``, ``inbox_group``: lists of ids;
- ``ticket_type``: a list of type keys (system types and the organization's own);
- ``tag``: a list of tag ids (*is*: the ticket has at least one of them; *is not*: none).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy

from automations.conditions.common import (
    AGE_OPS,
    IS_NOT,
    IS_OPS,
    MORE_THAN,
    apply,
    choice_labels,
    clean_choices,
    clean_hours,
    clean_ids,
    either,
    hours_of,
    int_list,
    invalid,
    names,
    quoted,
    str_list,
)
from automations.conditions.message import account_clean, account_evaluate, account_q
from automations.engine.context import EvalContext
from automations.engine.registry import ConditionType, condition_register
from tickets.models import (
    Inbox,
    InboxGroup,
    IntegrationAccount,
    ReplyStatus,
    Status,
    SystemType,
    Tag,
    TicketTag,
)

# --- last customer reply, ticket created -----------------------------------------------------


def _age_condition(
    key: str,
    label: Any,
    field: str,
    more_text: Any,
    less_text: Any,
) -> ConditionType:
    def evaluate(ctx: EvalContext, op: str, value: Any) -> bool:
        moment = getattr(ctx.ticket, field)
        hours = hours_of(value)
        if moment is None or hours is None:
            return False
        cutoff = ctx.at - timedelta(hours=hours)
        return moment < cutoff if op == MORE_THAN else moment > cutoff

    def to_q(op: str, value: Any, now: datetime) -> Q:
        hours = hours_of(value)
        if hours is None:
            return Q(pk__in=[])
        cutoff = now - timedelta(hours=hours)
        return Q(**{f"{field}__lt" if op == MORE_THAN else f"{field}__gt": cutoff})

    def describe(op: str, value: Any) -> str:
        hours = hours_of(value) or 0
        text = more_text if op == MORE_THAN else less_text
        return str(text % {"hours": hours})

    return ConditionType(
        key=key,
        label=label,
        operators=AGE_OPS,
        widget="number",
        evaluate=evaluate,
        describe=describe,
        timer=True,
        to_q=to_q,
        clean=lambda op, value: clean_hours(value),
    )


condition_register(
    _age_condition(
        "last_customer_reply",
        gettext_lazy("Last customer reply"),
        "last_customer_message_at",
        ngettext_lazy(
            "last customer reply more than %(hours)d hour ago",
            "last customer reply more than %(hours)d hours ago",
            "hours",
        ),
        ngettext_lazy(
            "last customer reply less than %(hours)d hour ago",
            "last customer reply less than %(hours)d hours ago",
            "hours",
        ),
    )
)
condition_register(
    _age_condition(
        "ticket_created",
        gettext_lazy("Ticket created"),
        "created_at",
        ngettext_lazy(
            "ticket created more than %(hours)d hour ago",
            "ticket created more than %(hours)d hours ago",
            "hours",
        ),
        ngettext_lazy(
            "ticket created less than %(hours)d hour ago",
            "ticket created less than %(hours)d hours ago",
            "hours",
        ),
    )
)


# --- reply status, ticket status, ticket type ------------------------------------------------


def _field_in(field: str) -> Any:
    def evaluate(ctx: EvalContext, op: str, value: Any) -> bool:
        return apply(op, str(getattr(ctx.ticket, field)) in str_list(value))

    def to_q(op: str, value: Any, now: datetime) -> Q:
        q = Q(**{f"{field}__in": str_list(value)})
        return ~q if op == IS_NOT else q

    return evaluate, to_q


def _reply_status_describe(op: str, value: Any) -> str:
    status = either(choice_labels(str_list(value), ReplyStatus))
    if op == IS_NOT:
        return _("reply status is not %(status)s") % {"status": status}
    return _("reply status is %(status)s") % {"status": status}


_evaluate, _unused = _field_in("reply_status")


def _reply_status_q(op: str, value: Any, now: datetime) -> Q:
    """Always an equality on the one value that holds (there are two), which the timer
    index ``ticket_timer_period`` starts with."""
    chosen = set(str_list(value))
    wanted = [v for v in ReplyStatus.values if (v in chosen) != (op == IS_NOT)]
    return Q(reply_status__in=wanted)


condition_register(
    ConditionType(
        key="reply_status",
        label=gettext_lazy("Reply status"),
        operators=IS_OPS,
        widget="reply_status",
        evaluate=_evaluate,
        describe=_reply_status_describe,
        to_q=_reply_status_q,
        clean=lambda op, value: clean_choices(value, ReplyStatus.values, many=False),
    )
)


def _status_describe(op: str, value: Any) -> str:
    statuses = either(choice_labels(str_list(value), Status))
    if op == IS_NOT:
        return _("ticket status is not %(statuses)s") % {"statuses": statuses}
    return _("ticket status is %(statuses)s") % {"statuses": statuses}


_evaluate, _to_q = _field_in("status")
condition_register(
    ConditionType(
        key="ticket_status",
        label=gettext_lazy("Ticket status"),
        operators=IS_OPS,
        widget="status",
        evaluate=_evaluate,
        describe=_status_describe,
        to_q=_to_q,
        clean=lambda op, value: clean_choices(value, Status.values, many=True),
    )
)


def _type_keys_clean(op: str, value: Any) -> list[str]:
    """Keys of system or custom types; that a custom key exists in the organization is checked
    by ``conditions_clean``."""
    keys = str_list(value)
    if not keys:
        raise invalid(_("Choose at least one ticket type."), "required")
    for key in keys:
        if not key or len(key) > 40 or not all(c.isalnum() or c in "-_" for c in key):
            raise invalid(_("“%(value)s” is not a ticket type.") % {"value": key})
    return keys


def _type_describe(op: str, value: Any) -> str:
    # Custom types show their key: a sentence has no organization to look their names up in.
    types = either(choice_labels(str_list(value), SystemType))
    if op == IS_NOT:
        return _("ticket type is not %(types)s") % {"types": types}
    return _("ticket type is %(types)s") % {"types": types}


_evaluate, _to_q = _field_in("ticket_type")
condition_register(
    ConditionType(
        key="ticket_type",
        label=gettext_lazy("Ticket type"),
        operators=IS_OPS,
        widget="ticket_type",
        evaluate=_evaluate,
        describe=_type_describe,
        to_q=_to_q,
        clean=_type_keys_clean,
    )
)


# --- marketplace account, inbox, inbox group -------------------------------------------------


def _marketplace_describe(op: str, value: Any) -> str:
    accounts = either(names(IntegrationAccount, int_list(value)))
    if op == IS_NOT:
        return _("marketplace account is not %(accounts)s") % {"accounts": accounts}
    return _("marketplace account is %(accounts)s") % {"accounts": accounts}


condition_register(
    ConditionType(
        key="marketplace",
        label=gettext_lazy("Marketplace account"),
        operators=IS_OPS,
        widget="marketplace",
        evaluate=account_evaluate,
        describe=_marketplace_describe,
        to_q=account_q,
        clean=account_clean,
    )
)


def _inbox_evaluate(ctx: EvalContext, op: str, value: Any) -> bool:
    return apply(op, ctx.ticket.inbox_id in int_list(value))


def _inbox_q(op: str, value: Any, now: datetime) -> Q:
    q = Q(inbox_id__in=int_list(value))
    return ~q if op == IS_NOT else q


def _inbox_describe(op: str, value: Any) -> str:
    inboxes = either(names(Inbox, int_list(value)))
    if op == IS_NOT:
        return _("inbox is not %(inboxes)s") % {"inboxes": inboxes}
    return _("inbox is %(inboxes)s") % {"inboxes": inboxes}


condition_register(
    ConditionType(
        key="inbox",
        label=gettext_lazy("Inbox"),
        operators=IS_OPS,
        widget="inbox",
        evaluate=_inbox_evaluate,
        describe=_inbox_describe,
        to_q=_inbox_q,
        clean=lambda op, value: clean_ids(value, many=True),
    )
)


def _group_evaluate(ctx: EvalContext, op: str, value: Any) -> bool:
    group_id = ctx.ticket.inbox.group_id if ctx.ticket.inbox is not None else None
    return apply(op, group_id in int_list(value))


def _group_q(op: str, value: Any, now: datetime) -> Q:
    # A subquery rather than a join: "is not" then also keeps tickets without an inbox (or
    # whose inbox has no group), as the Python form does.
    in_groups = Inbox.all_objects.filter(group_id__in=int_list(value)).values("pk")
    q = Q(inbox_id__in=in_groups)
    return ~q if op == IS_NOT else q


def _group_describe(op: str, value: Any) -> str:
    groups = either(names(InboxGroup, int_list(value)))
    if op == IS_NOT:
        return _("inbox group is not %(groups)s") % {"groups": groups}
    return _("inbox group is %(groups)s") % {"groups": groups}


condition_register(
    ConditionType(
        key="inbox_group",
        label=gettext_lazy("Inbox group"),
        operators=IS_OPS,
        widget="inbox_group",
        evaluate=_group_evaluate,
        describe=_group_describe,
        to_q=_group_q,
        clean=lambda op, value: clean_ids(value, many=True),
    )
)


# --- tags the ticket has --------------------------------------------------------------------


def _tag_evaluate(ctx: EvalContext, op: str, value: Any) -> bool:
    return apply(op, bool(ctx.tag_ids & set(int_list(value))))


def _tag_q(op: str, value: Any, now: datetime) -> Q:
    tagged = TicketTag.all_objects.filter(ticket_id=OuterRef("pk"), tag_id__in=int_list(value))
    return ~Q(Exists(tagged)) if op == IS_NOT else Q(Exists(tagged))


def _tag_describe(op: str, value: Any) -> str:
    tags = either(quoted(name) for name in names(Tag, int_list(value)))
    if op == IS_NOT:
        return _("ticket does not have the tag %(tags)s") % {"tags": tags}
    return _("ticket has the tag %(tags)s") % {"tags": tags}


condition_register(
    ConditionType(
        key="tag",
        label=gettext_lazy("Ticket has tag"),
        operators=IS_OPS,
        widget="tag",
        evaluate=_tag_evaluate,
        describe=_tag_describe,
        to_q=_tag_q,
        clean=lambda op, value: clean_ids(value, many=True),
    )
)
