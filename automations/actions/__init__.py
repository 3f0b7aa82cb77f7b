"""Every action a workflow can take (registered at import)."""

from automations import tasks_webhooks  # noqa: F401  (the worker registers the tasks)
from automations.actions import assign, mail, messages, ticket, webhook  # noqa: F401
