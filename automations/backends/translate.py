"""A LibreTranslate-compatible translation API (``POST {url}/translate``).

Request: ``{"q", "source", "target", "format": "text", "api_key"}``; answer:
``{"translatedText": …}``, or ``{"error": …}`` with a 4xx/5xx status.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from automations.backends.http import HttpError, post_json


class TranslationError(Exception):
    """The service gave no translation; ``str(error)`` says why."""


def service_language(code: str) -> str:
    """The service's code for one of our languages: ``en-us`` → ``en``, ``pt-br`` → ``pt``
    (LibreTranslate's language codes are ISO 639-1)."""
    code = code.lower()
    return "auto" if code == "auto" else code.split("-", 1)[0]


def translate_text(
    *,
    url: str,
    text: str,
    source: str,
    target: str,
    api_key: str = "",
    timeout: float | None = None,
) -> str:
    """``text`` translated from ``source`` (a language code or "auto") into ``target``."""
    endpoint = url.rstrip("/") + "/translate"
    payload = {
        "q": text,
        "source": service_language(source),
        "target": service_language(target),
        "format": "text",
        "api_key": api_key,
    }
    seconds = timeout or float(getattr(settings, "AUTOMATION_TRANSLATE_TIMEOUT_SECONDS", 10))
    try:
        response = post_json(endpoint, payload, timeout=seconds)
    except HttpError as exc:
        raise TranslationError(_("Translation service: %(error)s") % {"error": exc}) from exc
    try:
        data = response.json()
    except ValueError:
        data = None
    if not response.ok:
        detail = data.get("error") if isinstance(data, dict) else ""
        raise TranslationError(
            _("The translation service answered %(status)s%(detail)s.")
            % {"status": response.status, "detail": f": {detail}" if detail else ""}
        )
    translated = data.get("translatedText") if isinstance(data, dict) else None
    if not isinstance(translated, str) or not translated.strip():
        raise TranslationError(_("The translation service sent no translation."))
    return translated
