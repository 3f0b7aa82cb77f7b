"""Phone numbers: everything is stored in E.164 (``+14155552671``) and compared in that form.

Numbers typed without an international prefix are read in the organization's country
(``Organization.country``), so "(415) 555-2671" in a US organization and "601 234 567" in a
Polish one both become E.164. An extension ("ext. 12") is not part of E.164 and is dropped: it
cannot identify a caller.
"""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Longer input is not a phone number; phonenumbers itself refuses more than 250 characters.
MAX_INPUT_LENGTH = 64


def _parse(raw: str, region: str) -> phonenumbers.PhoneNumber | None:
    text = raw.strip()
    if not text or len(text) > MAX_INPUT_LENGTH:
        return None
    try:
        number = phonenumbers.parse(text, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return number


def phone_parse_or_none(raw: str, *, region: str) -> str | None:
    """``raw`` in E.164, or None when it is not a valid phone number."""
    number = _parse(raw, region)
    if number is None:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_normalize(raw: str, *, region: str) -> str:
    """``raw`` in E.164; a ValidationError quoting what was typed when it is not a number."""
    e164 = phone_parse_or_none(raw, region=region)
    if e164 is None:
        raise ValidationError(
            _("“%(value)s” is not a valid phone number."),
            code="invalid_phone",
            params={"value": raw.strip()},
        )
    return e164


def phone_format(e164: str) -> str:
    """A stored E.164 number in the international format people read: ``+1 415-555-2671``."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_digits(text: str) -> str:
    """Only the digits of ``text``: what a partial phone search compares."""
    return "".join(ch for ch in text if ch in "0123456789")


def region_calling_code(region: str) -> int | None:
    """The country calling code of ``region`` (``"PL"`` → 48), or None for an unknown region."""
    code = phonenumbers.country_code_for_region((region or "").upper())
    return code or None
