"""Call a webhook: POST the event, the ticket and the workflow as signed JSON to a URL
(delivery, retries and signing: ``automations.webhooks``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from automations.actions.common import text_param
from automations.backends.http import (
    UnsafeUrlError,
    allow_private_addresses,
    host_is_literal_private,
    url_check,
)
from automations.engine.registry import (
    ActionContext,
    ActionError,
    ActionType,
    ParamSpec,
    action_register,
)
from automations.models import WorkflowRun
from automations.webhooks import webhook_create
from helpdesk.models import Organization

MIN_SECRET_LENGTH = 16


def _clean(organization: Organization, params: dict[str, Any]) -> dict[str, Any]:
    url = text_param(params, "url", max_length=2000, message=_("Enter the URL to call."))
    try:
        _scheme, host, _port = url_check(url)
    except UnsafeUrlError as exc:
        raise ValidationError({"url": str(exc)}) from exc
    if not allow_private_addresses() and host_is_literal_private(host):
        raise ValidationError(
            {"url": _("That is a private or local address; it cannot be called.")}
        )
    secret = text_param(params, "secret", max_length=200, message=_("Enter a secret."))
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValidationError(
            {"secret": _("Use at least %(count)s characters.") % {"count": MIN_SECRET_LENGTH}}
        )
    return {"url": url, "secret": secret}


def current_run_id(action: ActionContext) -> int | None:
    """The run this action belongs to. The engine claims the run row (with an empty reason)
    in the transaction the actions run in; no committed run has an empty reason, so the
    newest such row of this workflow and ticket is this one."""
    run_id = getattr(action, "run_id", None)
    if run_id:
        return int(run_id)
    return (
        WorkflowRun.objects.for_organization(action.ctx.organization)
        .filter(workflow_id=action.workflow_id, ticket=action.ctx.ticket, reason="")
        .order_by("-id")
        .values_list("pk", flat=True)
        .first()
    )


def _run(action: ActionContext, params: dict[str, Any]) -> str:
    url, secret = str(params.get("url") or ""), str(params.get("secret") or "")
    try:
        _scheme, host, _port = url_check(url)
    except UnsafeUrlError as exc:
        raise ActionError(str(exc)) from exc
    if not secret:
        raise ActionError(_("no secret to sign the call with"))
    delivery = webhook_create(
        ctx=action.ctx,
        url=url,
        secret=secret,
        workflow_id=action.workflow_id,
        workflow_name=action.workflow_name,
        run_id=current_run_id(action),
    )
    return _("called %(host)s (delivery %(id)s)") % {"host": host, "id": delivery.delivery_id}


def _describe(params: dict[str, Any]) -> str:
    host = urlsplit(str(params.get("url") or "")).hostname or "?"
    return _("would call the webhook at %(host)s") % {"host": host}


action_register(
    ActionType(
        key="call_webhook",
        label=gettext_lazy("Call a webhook"),
        params=(
            ParamSpec(
                "url",
                gettext_lazy("URL"),
                "url",
                help_text=gettext_lazy("We POST the event, the ticket and the workflow as JSON."),
            ),
            ParamSpec(
                "secret",
                gettext_lazy("Secret"),
                "secret",
                help_text=gettext_lazy(
                    "Signs each call: X-Helpdesk-Signature is sha256= and the HMAC-SHA256 of "
                    "the body with this secret."
                ),
            ),
        ),
        run=_run,
        describe=_describe,
        clean=_clean,
    )
)
