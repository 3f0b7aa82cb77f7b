"""Every condition a workflow can use (registered at import).

- ``message``: source, email, subject, customer name, message text, integration;
- ``triggers``: new ticket, new message, action, tag assigned, status set (event conditions);
- ``clock``: day of week, hour, working hours (read on the organization's wall clock);
- ``ticket``: last customer reply, ticket created (timer conditions), reply status, ticket
  status, marketplace account, inbox, inbox group, ticket type, ticket has tag.

``conditions_clean(organization, spec)`` validates a workflow's conditions before saving;
``OPERATOR_LABELS``, ``ACTION_CHOICES`` and ``WEEKDAY_CHOICES`` are for the builder.
"""

from automations.conditions import clock, message, ticket, triggers
from automations.conditions.clock import INSTANT, WEEKDAY_CHOICES
from automations.conditions.common import OPERATOR_LABELS
from automations.conditions.triggers import ACTION_CHOICES
from automations.conditions.validation import condition_row_clean, conditions_clean

__all__ = [
    "ACTION_CHOICES",
    "INSTANT",
    "OPERATOR_LABELS",
    "WEEKDAY_CHOICES",
    "clock",
    "condition_row_clean",
    "conditions_clean",
    "message",
    "ticket",
    "triggers",
]
