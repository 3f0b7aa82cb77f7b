"""Actions that write to the customer: send message, send translated message, AI message.

Each goes through ``automations.safety.automated_message_send`` (per-ticket hourly cap, no
automated message to an automated sender, messages marked automated so they trigger nothing)
and the ticket's outbound delivery on its channel.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from automations.actions.common import PLACEHOLDER, quote, render, text_param
from automations.backends.ai import AiError, chat_complete
from automations.backends.translate import TranslationError, translate_text
from automations.engine.registry import (
    ActionContext,
    ActionError,
    ActionType,
    ParamSpec,
    action_register,
)
from automations.safety import (
    automated_message_check,
    automated_message_send,
    automation_settings_for,
)
from helpdesk.models import Organization
from tickets.models import Direction, Message, MessageKind, Ticket

CUSTOMER_LANGUAGE = "customer"
AUTO_LANGUAGE = "auto"
AI_HISTORY = 10
AI_MESSAGE_CHARS = 4000

TEMPLATE_HELP = gettext_lazy(
    "Placeholders: {customer_name}, {agent_name}, {team_name}, {ticket_number}, {company_name}."
)


# --- send message ---------------------------------------------------------------------------


def _send_message_clean(organization: Organization, params: dict[str, Any]) -> dict[str, Any]:
    return {"template": text_param(params, "template", message=_("Write the message."))}


def _send_message_run(action: ActionContext, params: dict[str, Any]) -> str:
    message = automated_message_send(
        action=action, body_text=render(str(params.get("template") or ""), action.ctx.ticket)
    )
    return _("sent %(quote)s") % {"quote": quote(message.body_text)}


def _send_message_describe(params: dict[str, Any]) -> str:
    return _("would send %(quote)s") % {"quote": quote(str(params.get("template") or ""))}


action_register(
    ActionType(
        key="send_message",
        label=gettext_lazy("Send message"),
        params=(
            ParamSpec("template", gettext_lazy("Message"), "textarea", help_text=TEMPLATE_HELP),
        ),
        run=_send_message_run,
        describe=_send_message_describe,
        sends_message=True,
        clean=_send_message_clean,
    )
)


# --- send translated message ----------------------------------------------------------------


def language_codes() -> set[str]:
    return {code for code, _name in settings.LANGUAGES}


def language_name(code: str) -> str:
    return str(dict(settings.LANGUAGES).get(code, code))


def _translated_clean(organization: Organization, params: dict[str, Any]) -> dict[str, Any]:
    template = text_param(params, "template", message=_("Write the message."))
    codes = language_codes()
    target = str(params.get("language") or CUSTOMER_LANGUAGE).strip().lower()
    if target != CUSTOMER_LANGUAGE and target not in codes:
        raise ValidationError({"language": _("Choose a language.")})
    source = str(params.get("source_language") or "").strip().lower()
    if source and source != AUTO_LANGUAGE and source not in codes:
        raise ValidationError({"source_language": _("Choose a language.")})
    raw = params.get("translations") or {}
    if not isinstance(raw, dict):
        raise ValidationError({"translations": _("Give each translation with its language.")})
    translations: dict[str, str] = {}
    for code, text in raw.items():
        code = str(code).strip().lower()
        if code not in codes:
            raise ValidationError(
                {
                    "translations": _("“%(code)s” is not a language of this helpdesk.")
                    % {"code": code}
                }
            )
        cleaned = text_param({"text": text}, "text", required=False)
        if cleaned:
            translations[code] = cleaned
    return {
        "template": template,
        "language": target,
        "source_language": source,
        "translations": translations,
    }


def target_language(action: ActionContext, params: dict[str, Any]) -> str:
    """The language to write in: a fixed one, or the customer's (else the organization's)."""
    target = str(params.get("language") or CUSTOMER_LANGUAGE).lower()
    if target != CUSTOMER_LANGUAGE:
        return target
    customer = action.ctx.ticket.customer
    language = customer.language if customer is not None else ""
    return (language or action.ctx.organization.default_language or settings.LANGUAGE_CODE).lower()


def _token(index: int) -> str:
    return "{" + str(index) + "}"


TOKEN = re.compile(r"\{\s*(\d+)\s*\}")


def translate_template(*, template: str, source: str, target: str, organization_id: int) -> str:
    """``template`` translated by the organization's service; placeholders are replaced by
    numbered tokens that services keep as they are, and put back afterwards. A translation
    that lost one is refused rather than sent with a hole in it."""
    config = automation_settings_for(organization_id)
    names = PLACEHOLDER.findall(template)
    protected = template
    for index, name in enumerate(dict.fromkeys(names)):
        protected = protected.replace("{" + name + "}", _token(index))
    unique = list(dict.fromkeys(names))
    try:
        translated = translate_text(
            url=config.translate_url,
            api_key=config.translate_api_key,
            text=protected,
            source=source,
            target=target,
        )
    except TranslationError as exc:
        raise ActionError(
            _("not sent: the translation into %(language)s failed: %(error)s")
            % {"language": language_name(target), "error": exc}
        ) from exc
    found = {int(match) for match in TOKEN.findall(translated)}
    missing = [unique[i] for i in range(len(unique)) if i not in found]
    if missing:
        raise ActionError(
            _("not sent: the translation lost the placeholder {%(name)s}") % {"name": missing[0]}
        )

    def restore(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return "{" + unique[index] + "}" if index < len(unique) else match.group(0)

    return TOKEN.sub(restore, translated)


def _translated_run(action: ActionContext, params: dict[str, Any]) -> str:
    ticket = action.ctx.ticket
    organization = action.ctx.organization
    target = target_language(action, params)
    variants = {str(k).lower(): str(v) for k, v in (params.get("translations") or {}).items()}
    source = str(params.get("source_language") or organization.default_language).lower()
    template = str(params.get("template") or "")
    if variants.get(target, "").strip():
        text, how = variants[target], _("the written translation")
    elif source == target:
        text, how = template, _("the message as written")
    else:
        if not automation_settings_for(organization).translate_url:
            raise ActionError(
                _("not sent: no translation for %(language)s and no translation service configured")
                % {"language": language_name(target)}
            )
        # The limits first: no call to the service for a message that may not go out.
        automated_message_check(ticket)
        text = translate_template(
            template=template, source=source, target=target, organization_id=organization.pk
        )
        how = _("the translation service")
    message = automated_message_send(action=action, body_text=render(text, ticket))
    return _("sent in %(language)s (%(how)s): %(quote)s") % {
        "language": language_name(target),
        "how": how,
        "quote": quote(message.body_text),
    }


def _translated_describe(params: dict[str, Any]) -> str:
    target = str(params.get("language") or CUSTOMER_LANGUAGE).lower()
    language = (
        _("the customer's language") if target == CUSTOMER_LANGUAGE else language_name(target)
    )
    return _("would send %(quote)s in %(language)s") % {
        "quote": quote(str(params.get("template") or "")),
        "language": language,
    }


action_register(
    ActionType(
        key="send_translated_message",
        label=gettext_lazy("Send translated message"),
        params=(
            ParamSpec("template", gettext_lazy("Message"), "textarea", help_text=TEMPLATE_HELP),
            ParamSpec(
                "language",
                gettext_lazy("Send in"),
                "language",
                help_text=gettext_lazy(
                    "“customer” for the customer's language (else the organization's default), "
                    "or a fixed language."
                ),
            ),
            ParamSpec(
                "source_language",
                gettext_lazy("The message is written in"),
                "language",
                required=False,
                help_text=gettext_lazy(
                    "Empty: the organization's default language; “auto” lets the translation "
                    "service detect it."
                ),
            ),
            ParamSpec(
                "translations",
                gettext_lazy("Your own translations"),
                "translations",
                required=False,
                help_text=gettext_lazy(
                    "Used instead of the translation service for their languages."
                ),
            ),
        ),
        run=_translated_run,
        describe=_translated_describe,
        sends_message=True,
        clean=_translated_clean,
    )
)


# --- AI message (experimental) ---------------------------------------------------------------

SYSTEM_CONTEXT = (
    "You write a reply to a customer on behalf of {company}, team {team}. Reply in the "
    "customer's language. Write only the text of the message, with no subject line."
)


def ai_conversation(ticket: Ticket, instruction: str) -> list[dict[str, str]]:
    """The manager's instruction and who is writing, then the ticket's latest messages (notes
    and system events left out): the customer's as "user", ours as "assistant"."""
    team = ticket.team
    company = ticket.organization.public_name
    system = (
        instruction.strip()
        + "\n\n"
        + SYSTEM_CONTEXT.format(
            company=company, team=team.public_name if team is not None else company
        )
    )
    rows = list(
        Message.objects.for_organization(ticket.organization_id)
        .filter(ticket=ticket, kind__in=[MessageKind.MESSAGE, MessageKind.AUTOMATED])
        .exclude(body_text="")
        .order_by("-created_at", "-id")
        .values_list("direction", "body_text")[:AI_HISTORY]
    )
    conversation = [{"role": "system", "content": system}]
    for direction, body in reversed(rows):
        role = "user" if direction == Direction.INBOUND else "assistant"
        conversation.append({"role": role, "content": body[:AI_MESSAGE_CHARS]})
    return conversation


def _ai_clean(organization: Organization, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "instruction": text_param(params, "instruction", message=_("Tell the model what to write."))
    }


def _ai_run(action: ActionContext, params: dict[str, Any]) -> str:
    config = automation_settings_for(action.ctx.organization)
    if not config.ai_enabled:
        raise ActionError(_("not sent: AI messages are turned off for this organization"))
    if not config.ai_base_url or not config.ai_model:
        raise ActionError(_("not sent: no AI endpoint or model is configured"))
    ticket = action.ctx.ticket
    automated_message_check(ticket)
    try:
        reply = chat_complete(
            base_url=config.ai_base_url,
            model=config.ai_model,
            api_key=config.ai_api_key,
            messages=ai_conversation(ticket, str(params.get("instruction") or "")),
        )
    except AiError as exc:
        raise ActionError(_("not sent: %(error)s") % {"error": exc}) from exc
    message = automated_message_send(action=action, body_text=reply)
    return _("sent an AI-written reply: %(quote)s") % {"quote": quote(message.body_text)}


def _ai_describe(params: dict[str, Any]) -> str:
    return _("would send an AI-written reply (%(quote)s)") % {
        "quote": quote(str(params.get("instruction") or ""))
    }


action_register(
    ActionType(
        key="ai_message",
        label=gettext_lazy("AI message (experimental)"),
        params=(
            ParamSpec(
                "instruction",
                gettext_lazy("Instruction for the model"),
                "textarea",
                help_text=gettext_lazy(
                    "What the reply should do, e.g. “Thank the customer and say when we will "
                    "answer.” The ticket's latest messages are sent along."
                ),
            ),
        ),
        run=_ai_run,
        describe=_ai_describe,
        sends_message=True,
        experimental=True,
        clean=_ai_clean,
    )
)
