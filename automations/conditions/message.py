"""Conditions on who wrote and what came in: source, email, subject, customer name, message
text, integration account.

Values:

- ``source``: a list of ``Channel`` values;
- ``email``: *is* / *is not*: a list of addresses (a string of addresses separated by commas,
  semicolons or spaces is accepted); *contains* / *does not contain*: a phrase;
- ``subject``, ``customer_name``, ``message_text``: a phrase (compared case-insensitively);
- ``integration``: the id of an integration account of kind *integration*.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from automations.conditions.common import (
    CONTAINS,
    IS,
    IS_NOT,
    IS_OPS,
    NOT_CONTAINS,
    TEXT_OPS,
    apply,
    as_list,
    choice_labels,
    clean_choices,
    clean_ids,
    clean_text,
    either,
    int_list,
    invalid,
    names,
    quoted,
    str_list,
    text_of,
)
from automations.engine.context import EvalContext
from automations.engine.registry import ConditionType, condition_register
from helpdesk.models import CustomerEmail
from tickets.models import Channel, Direction, IntegrationAccount, Message

# --- source ------------------------------------------------------------------------------------


def _source_evaluate(ctx: EvalContext, op: str, value: Any) -> bool:
    return apply(op, ctx.channel in str_list(value))


def _source_clean(op: str, value: Any) -> list[str]:
    return list(clean_choices(value, Channel.values, many=True))


def _source_describe(op: str, value: Any) -> str:
    channels = either(choice_labels(str_list(value), Channel))
    if op == IS_NOT:
        return _("source is not %(channels)s") % {"channels": channels}
    return _("source is %(channels)s") % {"channels": channels}


def _source_q(op: str, value: Any, now: datetime) -> Q:
    q = Q(source__in=str_list(value))
    return ~q if op == IS_NOT else q


condition_register(
    ConditionType(
        key="source",
        label=gettext_lazy("Source"),
        operators=IS_OPS,
        widget="channel",
        evaluate=_source_evaluate,
        describe=_source_describe,
        to_q=_source_q,
        clean=_source_clean,
    )
)


# --- email ---------------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s,;]+")


def _addresses(value: Any) -> list[str]:
    items: list[str] = []
    for item in as_list(value):
        if isinstance(item, str):
            items.extend(part for part in _SEPARATORS.split(item.strip().lower()) if part)
    return list(dict.fromkeys(items))


def _email_evaluate(ctx: EvalContext, op: str, value: Any) -> bool:
    sender = ctx.sender_email
    if op in (CONTAINS, NOT_CONTAINS):
        needle = text_of(value).lower()
        return apply(op, bool(needle) and bool(sender) and needle in sender)
    return apply(op, bool(sender) and sender in _addresses(value))


def _email_clean(op: str, value: Any) -> str | list[str]:
    if op in (CONTAINS, NOT_CONTAINS):
        return clean_text(value).lower()
    addresses = _addresses(value)
    if not addresses:
        raise invalid(_("Enter at least one email address."), "required")
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise invalid(
                _("“%(value)s” is not a valid email address.") % {"value": address}
            ) from None
    return addresses


def _email_describe(op: str, value: Any) -> str:
    if op == CONTAINS:
        return _("sender's email contains %(text)s") % {"text": quoted(text_of(value))}
    if op == NOT_CONTAINS:
        return _("sender's email does not contain %(text)s") % {"text": quoted(text_of(value))}
    addresses = either(_addresses(value))
    if op == IS_NOT:
        return _("sender's email is not %(addresses)s") % {"addresses": addresses}
    return _("sender's email is %(addresses)s") % {"addresses": addresses}


def _email_q(op: str, value: Any, now: datetime) -> Q | None:
    """Any address of the ticket's customer matches: a superset of "the sender's address"
    (the sender is the customer, found by that address). The negative operators have no such
    superset in SQL; they are checked in Python."""
    if op == CONTAINS:
        lookup = Q(email__icontains=text_of(value))
    elif op == IS:
        lookup = Q()
        for address in _addresses(value):
            lookup |= Q(email__iexact=address)
        if not lookup:
            return Q(pk__in=[])
    else:
        return None
    return Q(Exists(CustomerEmail.all_objects.filter(lookup, customer_id=OuterRef("customer_id"))))


condition_register(
    ConditionType(
        key="email",
        label=gettext_lazy("Email"),
        operators=(IS, IS_NOT, CONTAINS, NOT_CONTAINS),
        widget="text",
        evaluate=_email_evaluate,
        describe=_email_describe,
        to_q=_email_q,
        clean=_email_clean,
    )
)


# --- subject, customer name ------------------------------------------------------------------


def _contains(haystack: str, value: Any) -> bool:
    needle = text_of(value).lower()
    return bool(needle) and needle in haystack.lower()


def _text_q(field: str):  # type: ignore[no-untyped-def]
    def to_q(op: str, value: Any, now: datetime) -> Q | None:
        if not text_of(value):
            return None
        q = Q(**{f"{field}__icontains": text_of(value)})
        return ~q if op == NOT_CONTAINS else q

    return to_q


def _subject_describe(op: str, value: Any) -> str:
    if op == NOT_CONTAINS:
        return _("subject does not contain %(text)s") % {"text": quoted(text_of(value))}
    return _("subject contains %(text)s") % {"text": quoted(text_of(value))}


condition_register(
    ConditionType(
        key="subject",
        label=gettext_lazy("Subject contains"),
        operators=TEXT_OPS,
        widget="text",
        evaluate=lambda ctx, op, value: apply(op, _contains(ctx.ticket.subject, value)),
        describe=_subject_describe,
        to_q=_text_q("subject"),
        clean=lambda op, value: clean_text(value),
    )
)


def _customer_name(ctx: EvalContext) -> str:
    return ctx.customer.name if ctx.customer is not None else ""


def _customer_name_describe(op: str, value: Any) -> str:
    if op == NOT_CONTAINS:
        return _("customer name does not contain %(text)s") % {"text": quoted(text_of(value))}
    return _("customer name contains %(text)s") % {"text": quoted(text_of(value))}


condition_register(
    ConditionType(
        key="customer_name",
        label=gettext_lazy("Customer name contains"),
        operators=TEXT_OPS,
        widget="text",
        evaluate=lambda ctx, op, value: apply(op, _contains(_customer_name(ctx), value)),
        describe=_customer_name_describe,
        to_q=_text_q("customer__name"),
        clean=lambda op, value: clean_text(value),
    )
)


# --- message text ------------------------------------------------------------------------------


def _message_evaluate(ctx: EvalContext, op: str, value: Any) -> bool:
    """The triggering message's text, and its subject when it is an email (timer runs: the
    ticket's latest inbound message)."""
    message = ctx.customer_message
    if message is None:
        return apply(op, False)
    text = message.body_text or ""
    if message.channel == Channel.EMAIL and message.subject:
        text = f"{message.subject}\n{text}"
    return apply(op, _contains(text, value))


def _message_describe(op: str, value: Any) -> str:
    if op == NOT_CONTAINS:
        return _("message does not contain %(text)s") % {"text": quoted(text_of(value))}
    return _("message contains %(text)s") % {"text": quoted(text_of(value))}


def _message_q(op: str, value: Any, now: datetime) -> Q | None:
    """Some inbound message of the ticket contains the phrase: a superset of "its latest one
    does". "Does not contain" is checked in Python."""
    needle = text_of(value)
    if op != CONTAINS or not needle:
        return None
    matching = Message.all_objects.filter(
        Q(body_text__icontains=needle) | Q(channel=Channel.EMAIL, subject__icontains=needle),
        ticket_id=OuterRef("pk"),
        direction=Direction.INBOUND,
    )
    return Q(Exists(matching))


condition_register(
    ConditionType(
        key="message_text",
        label=gettext_lazy("New message contains"),
        operators=TEXT_OPS,
        widget="text",
        evaluate=_message_evaluate,
        describe=_message_describe,
        to_q=_message_q,
        clean=lambda op, value: clean_text(value),
    )
)


# --- integration account ---------------------------------------------------------------------


def account_evaluate(ctx: EvalContext, op: str, value: Any) -> bool:
    return apply(op, ctx.ticket.integration_account_id in int_list(value))


def account_q(op: str, value: Any, now: datetime) -> Q:
    q = Q(integration_account_id__in=int_list(value))
    return ~q if op == IS_NOT else q


def account_clean(op: str, value: Any) -> int | list[int]:
    return clean_ids(value, many=isinstance(value, list | tuple) and len(value) > 1)


def _integration_describe(op: str, value: Any) -> str:
    accounts = either(names(IntegrationAccount, int_list(value)))
    if op == IS_NOT:
        return _("integration is not %(accounts)s") % {"accounts": accounts}
    return _("integration is %(accounts)s") % {"accounts": accounts}


condition_register(
    ConditionType(
        key="integration",
        label=gettext_lazy("Integration"),
        operators=IS_OPS,
        widget="integration",
        evaluate=account_evaluate,
        describe=_integration_describe,
        to_q=account_q,
        clean=account_clean,
    )
)
