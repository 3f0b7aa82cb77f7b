"""Trigger conditions: something just happened. A workflow with one of these listens to its
events (``ConditionType.triggers``) and is never time-based.

Values:

- ``new_ticket``, ``new_message``: no value (operator *is*);
- ``action``: one of ``first_customer_message``, ``every_customer_message``,
  ``return_created`` (operator *is*);
- ``tag_added``: the id of a tag (*is*: that tag was added; *is not*: another tag was added);
- ``status_set``: a base status (*is*: the ticket's new status is it; *is not*: it changed to
  another one).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from automations.conditions.common import (
    IS,
    IS_NOT,
    IS_OPS,
    apply,
    choice_labels,
    clean_choices,
    clean_ids,
    int_list,
    names,
    no_value,
    quoted,
    str_list,
)
from automations.engine.context import EvalContext
from automations.engine.registry import ConditionType, condition_register
from tickets.models import Status, Tag

TICKET_CREATED = "ticket.created"
MESSAGE_RECEIVED = "message.received"
RETURN_CREATED = "return.created"
TAG_ADDED = "tag.added"
STATUS_CHANGED = "status.changed"


condition_register(
    ConditionType(
        key="new_ticket",
        label=gettext_lazy("New ticket created"),
        operators=(IS,),
        widget="none",
        evaluate=lambda ctx, op, value: ctx.event_name == TICKET_CREATED,
        describe=lambda op, value: _("a new ticket was created"),
        triggers=frozenset({TICKET_CREATED}),
        clean=no_value,
    )
)


condition_register(
    ConditionType(
        key="new_message",
        label=gettext_lazy("New message"),
        operators=(IS,),
        widget="none",
        # ``message.received`` is only sent for messages from the customer.
        evaluate=lambda ctx, op, value: ctx.event_name == MESSAGE_RECEIVED,
        describe=lambda op, value: _("a new customer message arrived"),
        triggers=frozenset({MESSAGE_RECEIVED}),
        clean=no_value,
    )
)


# --- action ------------------------------------------------------------------------------------

FIRST_CUSTOMER_MESSAGE = "first_customer_message"
EVERY_CUSTOMER_MESSAGE = "every_customer_message"
RETURN = "return_created"
ACTION_CHOICES = (
    (FIRST_CUSTOMER_MESSAGE, gettext_lazy("First customer message")),
    (EVERY_CUSTOMER_MESSAGE, gettext_lazy("Every new customer message")),
    (RETURN, gettext_lazy("Return created")),
)


def _action_evaluate(ctx: EvalContext, op: str, value: Any) -> bool:
    if value == FIRST_CUSTOMER_MESSAGE:
        return ctx.event_name == MESSAGE_RECEIVED and ctx.first_customer_message
    if value == EVERY_CUSTOMER_MESSAGE:
        return ctx.event_name == MESSAGE_RECEIVED
    if value == RETURN:
        return ctx.event_name == RETURN_CREATED
    return False


def _action_describe(op: str, value: Any) -> str:
    texts = {
        FIRST_CUSTOMER_MESSAGE: _("the customer's first message arrived"),
        EVERY_CUSTOMER_MESSAGE: _("a new customer message arrived"),
        RETURN: _("a return was created"),
    }
    return texts.get(str(value), _("action is %(value)s") % {"value": value})


condition_register(
    ConditionType(
        key="action",
        label=gettext_lazy("Action"),
        operators=(IS,),
        widget="action",
        evaluate=_action_evaluate,
        describe=_action_describe,
        triggers=frozenset({MESSAGE_RECEIVED, RETURN_CREATED}),
        clean=lambda op, value: clean_choices(
            value, [key for key, _label in ACTION_CHOICES], many=False
        ),
    )
)


# --- tag added ---------------------------------------------------------------------------------


def _tag_added_evaluate(ctx: EvalContext, op: str, value: Any) -> bool:
    if ctx.event_name != TAG_ADDED or ctx.tag is None:
        return False
    return apply(op, ctx.tag.pk in int_list(value))


def _tag_added_describe(op: str, value: Any) -> str:
    tags = ", ".join(quoted(name) for name in names(Tag, int_list(value)))
    if op == IS_NOT:
        return _("a tag other than %(tag)s was added") % {"tag": tags}
    return _("tag %(tag)s was added") % {"tag": tags}


condition_register(
    ConditionType(
        key="tag_added",
        label=gettext_lazy("Tag assigned"),
        operators=IS_OPS,
        widget="tag",
        evaluate=_tag_added_evaluate,
        describe=_tag_added_describe,
        triggers=frozenset({TAG_ADDED}),
        clean=lambda op, value: clean_ids(value, many=False),
    )
)


# --- status set -------------------------------------------------------------------------------


def _status_set_evaluate(ctx: EvalContext, op: str, value: Any) -> bool:
    if ctx.event_name != STATUS_CHANGED:
        return False
    return apply(op, str(ctx.payload.get("new", "")) in str_list(value))


def _status_set_describe(op: str, value: Any) -> str:
    status = ", ".join(choice_labels(str_list(value), Status))
    if op == IS_NOT:
        return _("status was set to something other than %(status)s") % {"status": status}
    return _("status was set to %(status)s") % {"status": status}


condition_register(
    ConditionType(
        key="status_set",
        label=gettext_lazy("Status set"),
        operators=IS_OPS,
        widget="status",
        evaluate=_status_set_evaluate,
        describe=_status_set_describe,
        triggers=frozenset({STATUS_CHANGED}),
        clean=lambda op, value: clean_choices(value, Status.values, many=False),
    )
)
