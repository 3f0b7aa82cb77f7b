"""What the condition modules share: operators and their labels, value normalisers (strict for
``clean``, tolerant for ``evaluate`` and ``describe``, which must never raise on an old or
hand-edited row), and the pieces of the readable sentences.

Conventions every condition follows:

- ``evaluate(ctx, op, value)`` is a pure function of the context (at most one query for data
  loaded lazily, such as the ticket's tags or a team's schedule);
- ``to_q(op, value, now)`` selects, in SQL over ``Ticket``, a *superset* of the tickets on which
  ``evaluate`` holds in a timer context at ``now`` — exactly that set wherever it can. The timer
  scan evaluates every condition again in Python on each candidate, so a superset costs a
  recorded "not matched" run, never a wrong action;
- ``describe(op, value)`` is a sentence fragment in the active language ("subject contains
  “refund”"), for run logs and the ticket timeline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

IS, IS_NOT = "is", "is_not"
CONTAINS, NOT_CONTAINS = "contains", "not_contains"
BETWEEN, NOT_BETWEEN = "between", "not_between"
MORE_THAN, LESS_THAN = "more_than", "less_than"
INSIDE, OUTSIDE = "inside", "outside"

IS_OPS = (IS, IS_NOT)
TEXT_OPS = (CONTAINS, NOT_CONTAINS)
RANGE_OPS = (BETWEEN, NOT_BETWEEN)
AGE_OPS = (MORE_THAN, LESS_THAN)
HOURS_OPS = (INSIDE, OUTSIDE)
NEGATIVE_OPS = frozenset({IS_NOT, NOT_CONTAINS, NOT_BETWEEN, OUTSIDE})

# For the builder's operator drop-down.
OPERATOR_LABELS = {
    IS: gettext_lazy("is"),
    IS_NOT: gettext_lazy("is not"),
    CONTAINS: gettext_lazy("contains"),
    NOT_CONTAINS: gettext_lazy("does not contain"),
    BETWEEN: gettext_lazy("is between"),
    NOT_BETWEEN: gettext_lazy("is not between"),
    MORE_THAN: gettext_lazy("more than"),
    LESS_THAN: gettext_lazy("less than"),
    INSIDE: gettext_lazy("inside"),
    OUTSIDE: gettext_lazy("outside"),
}

MAX_TEXT = 200
MAX_HOURS = 24 * 365
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def apply(op: str, holds: bool) -> bool:
    """The positive test's result, turned round for a negative operator."""
    return not holds if op in NEGATIVE_OPS else holds


# --- tolerant readers (evaluate, describe, to_q) --------------------------------------------


def as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    return [value]


def int_list(value: Any) -> list[int]:
    ids = []
    for item in as_list(value):
        try:
            number = int(item)
        except (TypeError, ValueError):
            continue
        if number > 0 and number not in ids:
            ids.append(number)
    return ids


def str_list(value: Any) -> list[str]:
    items: list[str] = []
    for item in as_list(value):
        if isinstance(item, str | int) and str(item) not in items:
            items.append(str(item))
    return items


def text_of(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def hours_of(value: Any) -> int | None:
    try:
        hours = int(value)
    except (TypeError, ValueError):
        return None
    return hours if 0 < hours <= MAX_HOURS else None


def time_of(value: Any) -> time | None:
    match = _HHMM.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    return time(int(match.group(1)), int(match.group(2)))


def range_of(value: Any) -> tuple[time, time] | None:
    if isinstance(value, dict):
        start, end = time_of(value.get("from")), time_of(value.get("to"))
    elif isinstance(value, list | tuple) and len(value) == 2:
        start, end = time_of(value[0]), time_of(value[1])
    else:
        return None
    if start is None or end is None or start == end:
        return None
    return start, end


# --- strict cleaners (clean) -------------------------------------------------------------------


def invalid(message: str, code: str = "invalid") -> ValidationError:
    return ValidationError(message, code=code)


def no_value(op: str, value: Any) -> None:
    if value not in (None, "", [], {}, True):
        raise invalid(_("This condition takes no value."))
    return None


def clean_choices(value: Any, choices: Iterable[str], *, many: bool) -> Any:
    """One choice (``many=False``) or a non-empty list of distinct choices, in the given order
    of the input."""
    allowed = [str(choice) for choice in choices]
    items = as_list(value)
    if not items:
        raise invalid(_("Choose at least one value.") if many else _("Choose a value."), "required")
    picked: list[str] = []
    for item in items:
        text = str(item) if isinstance(item, str | int) else ""
        if text not in allowed:
            raise invalid(_("“%(value)s” is not one of the choices.") % {"value": item})
        if text not in picked:
            picked.append(text)
    if many:
        return picked
    if len(picked) != 1:
        raise invalid(_("Choose one value."))
    return picked[0]


def clean_ids(value: Any, *, many: bool) -> int | list[int]:
    """Positive ids: a non-empty list (``many``) or exactly one."""
    items = as_list(value)
    if not items:
        raise invalid(_("Choose at least one value.") if many else _("Choose a value."), "required")
    ids: list[int] = []
    for item in items:
        if isinstance(item, bool):
            raise invalid(_("Choose a valid value."))
        try:
            number = int(item)
        except (TypeError, ValueError):
            raise invalid(_("Choose a valid value.")) from None
        if number <= 0:
            raise invalid(_("Choose a valid value."))
        if number not in ids:
            ids.append(number)
    if many:
        return ids
    if len(ids) != 1:
        raise invalid(_("Choose one value."))
    return ids[0]


def clean_text(value: Any) -> str:
    text = " ".join(value.split()) if isinstance(value, str) else ""
    if not text:
        raise invalid(_("Enter a phrase."), "required")
    if len(text) > MAX_TEXT:
        raise invalid(_("Enter at most %(count)d characters.") % {"count": MAX_TEXT}, "max_length")
    return text


def clean_hours(value: Any) -> int:
    if isinstance(value, bool) or value in (None, ""):
        raise invalid(_("Enter a number of hours."), "required")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise invalid(_("Enter a whole number of hours.")) from None
    if number != int(number):
        raise invalid(_("Enter a whole number of hours."))
    if not 1 <= number <= MAX_HOURS:
        raise invalid(
            _("Enter a number of hours between 1 and %(max)d.") % {"max": MAX_HOURS}, "range"
        )
    return int(number)


def clean_time(value: Any) -> str:
    parsed = time_of(value)
    if parsed is None:
        raise invalid(_("Enter a time as HH:MM, e.g. 09:00 or 17:30."))
    return f"{parsed:%H:%M}"


# --- sentences ----------------------------------------------------------------------------------


def quoted(text: str) -> str:
    return _("“%(text)s”") % {"text": text}


def either(labels: Iterable[str]) -> str:
    """``A``, ``A or B``, ``A, B or C``."""
    items = [str(label) for label in labels]
    if not items:
        return _("(nothing)")
    if len(items) == 1:
        return items[0]
    return _("%(first)s or %(last)s") % {"first": ", ".join(items[:-1]), "last": items[-1]}


def choice_labels(values: Iterable[str], choices: type[models.TextChoices]) -> list[str]:
    labels = dict(choices.choices)
    return [str(labels.get(value, value)) for value in values]


def names(model: Any, ids: Iterable[int]) -> list[str]:
    """The rows' names for a sentence, by primary key; "#12" for one that is gone.

    Platform read (``all_objects``): the ids come from a workflow whose references were checked
    against its organization when it was saved (``conditions_clean``)."""
    wanted = list(ids)
    if not wanted:
        return []
    manager = getattr(model, "all_objects", model.objects)
    found = {pk: str(row) for pk, row in manager.in_bulk(wanted).items()}
    return [found.get(pk, f"#{pk}") for pk in wanted]
