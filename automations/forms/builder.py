"""The workflow builder's state: name, description, enabled, the ALL condition rows, any number
of ANY groups of rows, and the action rows, read from a POST (or a stored workflow, or a
gallery draft) and turned into the JSON the services validate.

Posted field names: ``c-<group>-<n>-field|op|value…`` for condition rows (``group`` is
``all`` or ``any<k>``), ``groups`` (the ANY groups present, so an empty one survives),
``a-<n>-type`` and ``a-<n>-<param>…`` for action rows. Rows are read in index order, so a
row removed in the browser simply is not posted. The commands (``cmd``) that add, remove and
move rows re-render the form from the posted state: the same with htmx (a fragment) and
without JavaScript (the whole page).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.translation import gettext as _

from automations.engine.registry import ACTIONS, CONDITIONS, ConditionType
from automations.forms import widgets
from automations.forms.choices import Choices
from automations.models import Workflow

ALL = "all"
_CONDITION_KEY = re.compile(r"^c-(all|any\d+)-(\d+)-field$")
_ACTION_KEY = re.compile(r"^a-(\d+)-type$")
_GROUP_KEY = re.compile(r"^any\d+$")


def operator_label(op: str) -> str:
    """The conditions' own operator labels, else a readable form of the key."""
    from automations.conditions.common import OPERATOR_LABELS

    label = OPERATOR_LABELS.get(op)
    return str(label) if label is not None else op.replace("_", " ")


@dataclass
class ConditionRow:
    prefix: str
    field: str = ""
    op: str = ""
    value: Any = None
    errors: list[str] = dataclasses.field(default_factory=list)

    @property
    def kind(self) -> ConditionType | None:
        return CONDITIONS.get(self.field)

    def as_json(self) -> dict[str, Any]:
        return {"field": self.field, "op": self.op, "value": self.value}


@dataclass
class Group:
    key: str  # "all" or "any<k>"
    rows: list[ConditionRow] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)


@dataclass
class ActionRow:
    prefix: str
    type: str = ""
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    errors: list[str] = dataclasses.field(default_factory=list)
    param_errors: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"type": self.type, "params": self.params}


@dataclass
class Builder:
    name: str = ""
    description: str = ""
    enabled: bool = False
    template_key: str = ""
    all: Group = dataclasses.field(default_factory=lambda: Group(ALL))
    any: list[Group] = dataclasses.field(default_factory=list)
    actions: list[ActionRow] = dataclasses.field(default_factory=list)
    errors: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    # --- reading ----------------------------------------------------------------------

    @classmethod
    def from_post(cls, data: QueryDict) -> Builder:
        builder = cls(
            name=data.get("name", ""),
            description=data.get("description", ""),
            enabled=data.get("enabled") in ("1", "on", "true"),
            template_key=data.get("template_key", "")[:50],
        )
        groups: dict[str, Group] = {}
        for key in data.getlist("groups"):
            if _GROUP_KEY.match(key):
                groups.setdefault(key, Group(key))
        rows: list[tuple[str, int, ConditionRow]] = []
        for key in data:
            match = _CONDITION_KEY.match(key)
            if match is None:
                continue
            group_key, index = match.group(1), int(match.group(2))
            prefix = f"c-{group_key}-{index}"
            row = ConditionRow(prefix=prefix, field=data.get(key, ""))
            kind = row.kind
            if kind is not None:
                op = data.get(f"{prefix}-op", "")
                row.op = op if op in kind.operators else kind.operators[0]
                control = widgets.condition_control(kind.widget, kind.key)
                row.value = widgets.read(control, data, f"{prefix}-value")
            rows.append((group_key, index, row))
            if group_key != ALL:
                groups.setdefault(group_key, Group(group_key))
        for group_key, _index, row in sorted(rows, key=lambda r: (r[0], r[1])):
            (builder.all if group_key == ALL else groups[group_key]).rows.append(row)
        builder.any = [groups[k] for k in sorted(groups, key=lambda k: int(k[3:]))]
        actions: list[tuple[int, ActionRow]] = []
        for key in data:
            match = _ACTION_KEY.match(key)
            if match is None:
                continue
            index = int(match.group(1))
            prefix = f"a-{index}"
            action = ActionRow(prefix=prefix, type=data.get(key, ""))
            action_kind = ACTIONS.get(action.type)
            if action_kind is not None:
                for spec in action_kind.params:
                    control = widgets.param_control(spec.widget)
                    value = widgets.read(control, data, f"{prefix}-{spec.name}")
                    if value is not None and value != "":
                        action.params[spec.name] = value
            actions.append((index, action))
        builder.actions = [row for _i, row in sorted(actions, key=lambda r: r[0])]
        return builder

    @classmethod
    def from_spec(
        cls,
        *,
        name: str,
        description: str,
        enabled: bool,
        conditions: dict[str, Any],
        actions: list[dict[str, Any]],
        template_key: str = "",
    ) -> Builder:
        builder = cls(
            name=name, description=description, enabled=enabled, template_key=template_key
        )
        conditions = conditions if isinstance(conditions, dict) else {}
        for row in conditions.get("all") or []:
            builder.all.rows.append(_row_from_json(row))
        for group_rows in conditions.get("any") or []:
            group = Group("any")
            for row in group_rows if isinstance(group_rows, list) else []:
                group.rows.append(_row_from_json(row))
            builder.any.append(group)
        for row in actions if isinstance(actions, list) else []:
            row = row if isinstance(row, dict) else {}
            params = row.get("params")
            builder.actions.append(
                ActionRow(
                    prefix="",
                    type=str(row.get("type") or ""),
                    params=dict(params) if isinstance(params, dict) else {},
                )
            )
        builder.renumber()
        return builder

    @classmethod
    def from_workflow(cls, workflow: Workflow) -> Builder:
        return cls.from_spec(
            name=workflow.name,
            description=workflow.description,
            enabled=workflow.enabled,
            conditions=workflow.conditions,
            actions=workflow.actions,
            template_key=workflow.template_key,
        )

    @classmethod
    def blank(cls) -> Builder:
        builder = cls(all=Group(ALL, rows=[ConditionRow(prefix="")]))
        builder.actions.append(ActionRow(prefix=""))
        builder.renumber()
        return builder

    # --- what it stands for ---------------------------------------------------------------

    def conditions(self) -> dict[str, Any]:
        return {
            "all": [row.as_json() for row in self.all.rows],
            "any": [[row.as_json() for row in group.rows] for group in self.any],
        }

    def actions_json(self) -> list[dict[str, Any]]:
        return [row.as_json() for row in self.actions]

    def groups(self) -> list[Group]:
        return [self.all, *self.any]

    # --- commands -------------------------------------------------------------------------

    def renumber(self) -> None:
        for index, row in enumerate(self.all.rows):
            row.prefix = f"c-{ALL}-{index}"
        for number, group in enumerate(self.any):
            group.key = f"any{number}"
            for index, row in enumerate(group.rows):
                row.prefix = f"c-{group.key}-{index}"
        for index, action in enumerate(self.actions):
            action.prefix = f"a-{index}"

    def command(self, cmd: str) -> str:
        """Applies one builder command; returns the part of the form to redraw
        ("conditions" or "actions"), or "" when the command is unknown."""
        verb, _sep, target = (cmd or "").partition(":")
        if verb == "add-condition":
            group = next((g for g in self.groups() if g.key == target), None)
            if group is None:
                return ""
            group.rows.append(ConditionRow(prefix=""))
            part = "conditions"
        elif verb == "remove-condition":
            for group in self.groups():
                group.rows = [row for row in group.rows if row.prefix != target]
            part = "conditions"
        elif verb == "add-group":
            self.any.append(Group("any", rows=[ConditionRow(prefix="")]))
            part = "conditions"
        elif verb == "remove-group":
            self.any = [group for group in self.any if group.key != target]
            part = "conditions"
        elif verb == "add-action":
            self.actions.append(ActionRow(prefix=""))
            part = "actions"
        elif verb == "remove-action":
            self.actions = [row for row in self.actions if row.prefix != target]
            part = "actions"
        elif verb in ("up", "down"):
            index = next((i for i, r in enumerate(self.actions) if r.prefix == target), None)
            if index is None:
                return ""
            other = index - 1 if verb == "up" else index + 1
            if 0 <= other < len(self.actions):
                self.actions[index], self.actions[other] = self.actions[other], self.actions[index]
            part = "actions"
        else:
            return ""
        self.renumber()
        return part

    def condition_row(self, prefix: str) -> ConditionRow | None:
        return next(
            (row for group in self.groups() for row in group.rows if row.prefix == prefix), None
        )

    def action_row(self, prefix: str) -> ActionRow | None:
        return next((row for row in self.actions if row.prefix == prefix), None)

    # --- errors from the services --------------------------------------------------------

    def add_errors(self, error: ValidationError) -> None:
        """Puts each error of the services' ``ValidationError`` on its row (see
        ``automations.services.workflow_clean`` for the keys)."""
        mapping = (
            error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
        )
        for key, messages in mapping.items():
            parts = key.split(".")
            target: list[str] | None = None
            if parts[0] == "conditions" and len(parts) == 3 and parts[1] == "all":
                row = _at(self.all.rows, parts[2])
                target = row.errors if row is not None else None
            elif parts[0] == "conditions" and len(parts) == 4 and parts[1] == "any":
                group = _at(self.any, parts[2])
                row = _at(group.rows, parts[3]) if group is not None else None
                target = row.errors if row is not None else None
            elif parts[0] == "conditions" and len(parts) == 1:
                target = self.all.errors
            elif parts[0] == "actions" and len(parts) >= 2:
                action = _at(self.actions, parts[1])
                if action is not None:
                    if len(parts) == 3:
                        target = action.param_errors.setdefault(parts[2], [])
                    else:
                        target = action.errors
            if target is None:
                target = self.errors.setdefault(key if len(parts) == 1 else "__all__", [])
            target.extend(messages)

    @property
    def general_errors(self) -> list[str]:
        return self.errors.get("__all__", [])

    @property
    def has_errors(self) -> bool:
        return bool(
            self.errors
            or self.all.errors
            or any(row.errors for group in self.groups() for row in group.rows)
            or any(row.errors or row.param_errors for row in self.actions)
        )


def _at(items: list[Any], index: str) -> Any:
    return items[int(index)] if index.isdigit() and int(index) < len(items) else None


def _row_from_json(row: Any) -> ConditionRow:
    row = row if isinstance(row, dict) else {}
    return ConditionRow(
        prefix="",
        field=str(row.get("field") or ""),
        op=str(row.get("op") or ""),
        value=row.get("value"),
    )


# --- drawing ----------------------------------------------------------------------------------


def condition_fields() -> list[tuple[str, str]]:
    return sorted(((key, str(kind.label)) for key, kind in CONDITIONS.items()), key=lambda c: c[1])


def action_types() -> list[tuple[str, str]]:
    return sorted(((key, str(kind.label)) for key, kind in ACTIONS.items()), key=lambda c: c[1])


def condition_view(row: ConditionRow, number: int, choices: Choices) -> dict[str, Any]:
    kind = row.kind
    view: dict[str, Any] = {
        "row": row,
        "number": number,
        "fields": [
            {"value": key, "label": label, "selected": key == row.field}
            for key, label in condition_fields()
        ],
        "operators": [],
        "widget": None,
    }
    if kind is not None:
        op = row.op if row.op in kind.operators else kind.operators[0]
        view["operators"] = [
            {"value": o, "label": operator_label(o), "selected": o == op} for o in kind.operators
        ]
        control = widgets.condition_control(kind.widget, kind.key)
        view["widget"] = widgets.view(
            control,
            name=f"{row.prefix}-value",
            label=_("Hours") if control.template == "number" else _("Value"),
            label_suffix=_("of condition %(number)s") % {"number": number},
            value=row.value,
            choices=choices,
        )
    return view


def action_view(row: ActionRow, number: int, choices: Choices) -> dict[str, Any]:
    kind = ACTIONS.get(row.type)
    params = []
    if kind is not None:
        for spec in kind.params:
            control = widgets.param_control(spec.widget)
            params.append(
                widgets.view(
                    control,
                    name=f"{row.prefix}-{spec.name}",
                    label=str(spec.label),
                    label_suffix=_("of action %(number)s") % {"number": number},
                    row=row.prefix,
                    value=row.params.get(spec.name),
                    choices=choices,
                    required=spec.required,
                    help_text=str(spec.help_text),
                    errors=row.param_errors.get(spec.name),
                )
            )
    return {
        "row": row,
        "number": number,
        "types": [
            {"value": key, "label": label, "selected": key == row.type}
            for key, label in action_types()
        ],
        "experimental": bool(kind and kind.experimental),
        "params": params,
    }


def builder_view(builder: Builder, choices: Choices) -> dict[str, Any]:
    """Everything the builder templates draw, numbered as the manager sees it."""
    counter = 0
    groups = []
    for group in builder.groups():
        rows = []
        for row in group.rows:
            counter += 1
            rows.append(condition_view(row, counter, choices))
        groups.append({"group": group, "rows": rows, "is_all": group.key == ALL})
    return {
        "builder": builder,
        "all_group": groups[0],
        "any_groups": groups[1:],
        "actions": [
            action_view(row, number, choices) for number, row in enumerate(builder.actions, 1)
        ],
    }
