"""Phone numbers are normalised to E.164, read in the organization's country by default."""

import pytest
from django.core.exceptions import ValidationError

from helpdesk.phones import (
    phone_digits,
    phone_format,
    phone_normalize,
    phone_parse_or_none,
    region_calling_code,
)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(415) 555-2671", "US", "+14155552671"),
        ("415.555.2671", "US", "+14155552671"),
        ("415 555 2671", "US", "+14155552671"),
        ("+1 415-555-2671", "US", "+14155552671"),
        ("  +1 (415) 555 2671  ", "PL", "+14155552671"),
        ("601 234 567", "PL", "+48601234567"),
        ("601-234-567", "PL", "+48601234567"),
        ("+48 601 234 567", "US", "+48601234567"),
        ("0048 601 234 567", "PL", "+48601234567"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 20 7946 0958", "us", "+442079460958"),
        ("tel:+14155552671", "US", "+14155552671"),
    ],
)
def test_normalizes_national_and_international_input(raw: str, region: str, expected: str) -> None:
    assert phone_normalize(raw, region=region) == expected


def test_the_default_region_decides_how_a_national_number_is_read() -> None:
    # The same digits are a Polish mobile number in Poland and no valid number in the US.
    assert phone_normalize("601 234 567", region="PL") == "+48601234567"
    with pytest.raises(ValidationError):
        phone_normalize("601 234 567", region="US")


@pytest.mark.parametrize(
    "raw",
    ["12", "123", "abc", "+1 415 555 26711", "+999 123 456 789", "555", "", "   ", "1" * 80],
)
def test_invalid_and_too_short_numbers_are_rejected(raw: str) -> None:
    with pytest.raises(ValidationError) as caught:
        phone_normalize(raw, region="US")
    assert caught.value.code == "invalid_phone"


def test_the_error_message_quotes_what_was_typed() -> None:
    with pytest.raises(ValidationError) as caught:
        phone_normalize(" 12 ", region="US")
    assert caught.value.messages == ["“12” is not a valid phone number."]


def test_a_national_number_without_a_region_is_invalid() -> None:
    assert phone_parse_or_none("415 555 2671", region="") is None
    assert phone_parse_or_none("+1 415 555 2671", region="") == "+14155552671"


def test_an_extension_is_dropped() -> None:
    assert phone_normalize("415 555 2671 ext. 12", region="US") == "+14155552671"


def test_format_for_people_and_digits_for_search() -> None:
    assert phone_format("+14155552671") == "+1 415-555-2671"
    assert phone_format("+48601234567") == "+48 601 234 567"
    assert phone_format("not a number") == "not a number"
    assert phone_digits("+48 (601) 234-567") == "48601234567"
    assert phone_digits("٣٤٥ 12") == "12"  # only ASCII digits are phone digits
    assert region_calling_code("PL") == 48
    assert region_calling_code("ZZ") is None
