"""How each condition value and action parameter is entered and read back.

A widget name comes from the registry (``ConditionType.widget``, ``ParamSpec.widget``); this
module says which control shows it, which choices it offers (always the organization's own,
``Choices``), how the posted fields become the stored value, and which of the choices a stored
value selects. Values are then cleaned by the registry kinds and checked by the services.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _

from automations.forms.choices import ROUND_ROBIN, Choices


@dataclass(frozen=True)
class Control:
    template: str  # none, text, textarea, number, hours, select, multi, checkboxes, pair, …
    choices: str = ""  # a ``Choices`` list name
    ints: bool = False  # the stored values are numbers (ids, weekdays, priorities)
    input_type: str = "text"


# Condition value widgets (``ConditionType.widget``).
CONDITION_CONTROLS: dict[str, Control] = {
    "none": Control("none"),
    "text": Control("text"),
    "number": Control("number"),
    "hours": Control("number"),
    "hours_range": Control("hours"),
    "weekdays": Control("checkboxes", "weekdays", ints=True),
    "channel": Control("multi", "channel"),
    "status": Control("multi", "status"),
    "reply_status": Control("select", "reply_status"),
    "ticket_type": Control("multi", "ticket_type"),
    "tag": Control("multi", "tag", ints=True),
    "inbox": Control("multi", "inbox", ints=True),
    "inbox_group": Control("multi", "inbox_group", ints=True),
    "integration": Control("multi", "integration", ints=True),
    "marketplace": Control("multi", "marketplace", ints=True),
    "member_or_team": Control("member_or_team"),
    "action": Control("select", "action"),
}

# Action parameter widgets (``ParamSpec.widget``).
PARAM_CONTROLS: dict[str, Control] = {
    "text": Control("text"),
    "textarea": Control("textarea"),
    "email": Control("text", input_type="email"),
    "url": Control("text", input_type="url"),
    "secret": Control("text", input_type="password"),
    "number": Control("number"),
    "hours": Control("number"),
    # Required: a fixed language or the customer's; optional (the language a template is
    # written in): the organization's default (empty), detected, or a fixed one.
    "language": Control("select", "language_target"),
    "member": Control("select", "member", ints=True),
    "round_robin_or_member": Control("select", "member_round_robin", ints=True),
    "agent": Control("select", "member", ints=True),
    "status": Control("select", "status_or_custom"),
    "tag": Control("select", "tag", ints=True),
    "team": Control("select", "team", ints=True),
    "priority": Control("select", "priority", ints=True),
    "channel": Control("select", "channel"),
    "translations": Control("translations", "language"),
    "checkbox": Control("checkbox"),
}

TRANSLATION_ROWS_EXTRA = 1
# Working hours of the ticket's own team (``{"ticket_team": true}``).
TICKET_TEAM = "ticket_team"  # empty rows offered for another language


def _as_int(text: str) -> int | str:
    text = text.strip()
    return int(text) if text.lstrip("-").isdigit() else text


def read(control: Control, data: QueryDict, name: str) -> Any:
    """The value the posted fields named ``name``/``name-…`` stand for."""
    kind = control.template
    if kind == "none":
        return None
    if kind in ("text", "textarea"):
        return data.get(name, "")
    if kind == "number":
        raw = data.get(name, "").strip()
        return _as_int(raw) if raw else None
    if kind == "checkbox":
        return data.get(name) in ("1", "on", "true")
    if kind == "hours":
        return {"from": data.get(f"{name}-from", ""), "to": data.get(f"{name}-to", "")}
    if kind == "select":
        raw = data.get(name, "")
        if raw == "":
            return None
        return _as_int(raw) if control.ints and raw != ROUND_ROBIN else raw
    if kind in ("multi", "checkboxes"):
        values = [v for v in data.getlist(name) if v != ""]
        return [_as_int(v) for v in values] if control.ints else values
    if kind == "member_or_team":
        raw = data.get(name, "")
        if raw == TICKET_TEAM:
            return {TICKET_TEAM: True}
        who, _sep, pk = raw.partition(":")
        if who in ("team", "user") and pk.isdigit():
            return {who: int(pk)}
        return None
    if kind == "translations":
        mapping: dict[str, str] = {}
        index = 0
        while f"{name}-lang-{index}" in data:
            lang = data.get(f"{name}-lang-{index}", "").strip()
            text = data.get(f"{name}-text-{index}", "")
            if lang and text.strip():
                mapping[lang] = text
            index += 1
        return mapping
    return data.get(name, "")


def _selected(value: Any) -> set[str]:
    if value is None or value == "":
        return set()
    if isinstance(value, list | tuple | set):
        return {str(v) for v in value}
    if isinstance(value, dict):
        if value.get(TICKET_TEAM):
            return {TICKET_TEAM}
        return {f"{k}:{v}" for k, v in value.items() if k in ("team", "user")}
    return {str(value)}


def view(
    control: Control,
    *,
    name: str,
    label: str,
    value: Any,
    choices: Choices,
    label_suffix: str = "",
    row: str = "",
    required: bool = True,
    help_text: str = "",
    errors: list[str] | None = None,
) -> dict[str, Any]:
    """What the widget template needs to draw the control with ``value`` filled in."""
    context: dict[str, Any] = {
        "template": control.template,
        "name": name,
        "id": f"id_{name}",
        "label": label,
        "label_suffix": label_suffix,
        "row": row,
        "required": required,
        "help_text": help_text,
        "input_type": control.input_type,
        "errors": errors or [],
    }
    kind = control.template
    if kind in ("text", "textarea", "number"):
        if isinstance(value, list | tuple):  # e.g. the addresses of "email is"
            value = ", ".join(str(item) for item in value)
        context["value"] = "" if value is None else value
    elif kind == "checkbox":
        context["value"] = bool(value)
    elif kind == "hours":
        value = value if isinstance(value, dict) else {}
        context["from"] = value.get("from", "") or ""
        context["to"] = value.get("to", "") or ""
    elif kind in ("select", "multi", "checkboxes"):
        selected = _selected(value)
        source = control.choices
        if source == "language_target" and not required:
            source = "language_source"
        context["choices"] = [
            {"value": v, "label": lab, "selected": v in selected} for v, lab in choices.get(source)
        ]
        context["has_selection"] = bool(selected)
        # A stored id that is no longer offered (deleted tag, …) stays visible, so saving
        # does not silently drop it; the service then says it is not a valid choice.
        offered = {c["value"] for c in context["choices"]}
        for missing in sorted(selected - offered):
            label = _("(deleted) %(id)s") % {"id": missing}
            context["choices"].append({"value": missing, "label": label, "selected": True})
    elif kind == "member_or_team":
        selected = _selected(value)
        context["ticket_team"] = {
            "value": TICKET_TEAM,
            "label": _("The ticket's team"),
            "selected": TICKET_TEAM in selected,
        }
        context["has_selection"] = bool(selected)
        context["groups"] = [
            (
                _("Team"),
                [
                    {"value": f"team:{v}", "label": lab, "selected": f"team:{v}" in selected}
                    for v, lab in choices.get("team")
                ],
            ),
            (
                _("Agent"),
                [
                    {"value": f"user:{v}", "label": lab, "selected": f"user:{v}" in selected}
                    for v, lab in choices.get("member")
                ],
            ),
        ]
    elif kind == "translations":
        mapping = value if isinstance(value, dict) else {}
        languages = choices.get(control.choices)
        rows = [{"lang": k, "text": v} for k, v in mapping.items()]
        rows += [{"lang": "", "text": ""}] * TRANSLATION_ROWS_EXTRA
        context["rows"] = [
            {
                "index": i,
                "text": row["text"],
                "choices": [
                    {"value": v, "label": lab, "selected": v == row["lang"]} for v, lab in languages
                ],
            }
            for i, row in enumerate(rows)
        ]
    return context


# Conditions whose value is one choice where their widget usually takes several.
SINGLE_VALUE = frozenset({"tag_added", "status_set"})


def condition_control(widget: str, key: str = "") -> Control:
    control = CONDITION_CONTROLS.get(widget, Control("text"))
    if key in SINGLE_VALUE and control.template == "multi":
        return Control("select", control.choices, ints=control.ints)
    return control


def param_control(widget: str) -> Control:
    return PARAM_CONTROLS.get(widget, Control("text"))
