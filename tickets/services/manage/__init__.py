"""Writes for the manager screens: inboxes and inbox groups, tags, custom statuses, ticket
types, integration accounts and canned responses.

Names (and ticket type keys) are unique per organization. The database enforces it; these
services check first for a clear message, and turn the IntegrityError of a concurrent request
that won the race into the same ValidationError on the field.

Deleting something that tickets use never deletes tickets: a custom status hands its tickets
back to its base status, a custom ticket type turns its tickets into "regular" ones (each with a
timeline event and its domain signals), and inboxes, tags and integration accounts are simply
unlinked.
"""

from tickets.services.manage._common import POSITION_MAX
from tickets.services.manage.canned import (
    PLACEHOLDERS,
    canned_response_create,
    canned_response_delete,
    canned_response_update,
)
from tickets.services.manage.inboxes import (
    inbox_create,
    inbox_delete,
    inbox_group_create,
    inbox_group_delete,
    inbox_group_update,
    inbox_regenerate_secret,
    inbox_update,
)
from tickets.services.manage.integrations import (
    integration_account_create,
    integration_account_delete,
    integration_account_update,
)
from tickets.services.manage.labels import (
    custom_status_create,
    custom_status_delete,
    custom_status_update,
    tag_create,
    tag_delete,
    tag_update,
    ticket_type_create,
    ticket_type_delete,
    ticket_type_update,
)

__all__ = [
    "PLACEHOLDERS",
    "POSITION_MAX",
    "canned_response_create",
    "canned_response_delete",
    "canned_response_update",
    "custom_status_create",
    "custom_status_delete",
    "custom_status_update",
    "inbox_create",
    "inbox_delete",
    "inbox_group_create",
    "inbox_group_delete",
    "inbox_group_update",
    "inbox_regenerate_secret",
    "inbox_update",
    "integration_account_create",
    "integration_account_delete",
    "integration_account_update",
    "tag_create",
    "tag_delete",
    "tag_update",
    "ticket_type_create",
    "ticket_type_delete",
    "ticket_type_update",
]
