"""An OpenAI-compatible chat-completions API (``POST {base_url}/chat/completions``).

Request: ``{"model", "messages": [{"role", "content"}, …]}`` with ``Authorization: Bearer``;
answer: ``{"choices": [{"message": {"role": "assistant", "content": …}}]}``, or
``{"error": {"message": …}}`` with a 4xx/5xx status.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from automations.backends.http import HttpError, post_json


class AiError(Exception):
    """The model gave no usable answer; ``str(error)`` says why."""


def chat_complete(
    *,
    base_url: str,
    model: str,
    messages: list[dict[str, str]],
    api_key: str = "",
    timeout: float | None = None,
) -> str:
    """The assistant's answer to ``messages``."""
    endpoint = base_url.rstrip("/") + "/chat/completions"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    seconds = timeout or float(getattr(settings, "AUTOMATION_AI_TIMEOUT_SECONDS", 30))
    try:
        response = post_json(
            endpoint, {"model": model, "messages": messages}, timeout=seconds, headers=headers
        )
    except HttpError as exc:
        raise AiError(_("AI endpoint: %(error)s") % {"error": exc}) from exc
    try:
        data = response.json()
    except ValueError:
        data = None
    if not response.ok:
        error = data.get("error") if isinstance(data, dict) else None
        detail = error.get("message") if isinstance(error, dict) else error
        raise AiError(
            _("The AI endpoint answered %(status)s%(detail)s.")
            % {"status": response.status, "detail": f": {detail}" if detail else ""}
        )
    try:
        content = data["choices"][0]["message"]["content"]  # type: ignore[index]
    except (KeyError, IndexError, TypeError) as exc:
        raise AiError(_("The AI endpoint's answer had no message.")) from exc
    if not isinstance(content, str) or not content.strip():
        raise AiError(_("The AI endpoint's answer was empty."))
    return content.strip()
