"""Walks every URL pattern of a URLconf and checks that nothing of one organization is reachable
by a member of another.

For each pattern under ``/app/<org>/`` the checker requests, as an admin of organization B:

1. organization A's URL (A's slug and A's object ids): must answer 404;
2. B's own slug with A's object ids: must answer 404 (or 405 where the method is not allowed);

with GET and with a POST carrying plausible form data, then asserts that none of A's rows
changed. Patterns outside ``/app/<org>/`` must be declared public (with the reason) in
``PUBLIC_PATTERNS``; URL kwargs must have a builder in ``KWARG_BUILDERS``. So a new URL joins
the suite by itself, and a new kind of object id fails loudly until a builder is added.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core import serializers
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from helpdesk.models import Organization, TenantModel


@dataclass(frozen=True)
class Route:
    template: str  # e.g. "app/<org>/manage/teams/<team_id>/"
    name: str | None
    kwargs: tuple[str, ...]
    namespace: str | None


def iter_routes(
    patterns: list[URLPattern | URLResolver] | None = None,
    prefix: str = "",
    namespace: str | None = None,
) -> Iterator[Route]:
    if patterns is None:
        patterns = get_resolver().url_patterns
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner_ns = entry.namespace or namespace
            yield from iter_routes(entry.url_patterns, prefix + str(entry.pattern), inner_ns)
        else:
            template = prefix + str(entry.pattern)
            yield Route(
                template=template,
                name=entry.name,
                kwargs=_kwarg_names(template),
                namespace=namespace,
            )


def _kwarg_names(template: str) -> tuple[str, ...]:
    return tuple(match.group(2) for match in re.finditer(r"<(?:(\w+):)?(\w+)>", template))


def build_path(route: Route, values: dict[str, Any]) -> str:
    def substitute(match: re.Match[str]) -> str:
        return str(values[match.group(2)])

    path = re.sub(r"<(?:(\w+):)?(\w+)>", substitute, route.template)
    if path.startswith("^"):
        raise ValueError(f"regex URL patterns are not supported: {route.template}")
    return "/" + path


# Plausible form data so that a view which forgets its access check would actually write.
HOSTILE_POST: dict[str, Any] = {
    "name": "HACKED",
    "display_name": "HACKED",
    "label": "HACKED",
    "key": "hacked",
    "email": "hacked@example.com",
    "emails": "hacked@example.com",
    "phones": "+48500600700",
    "role": "viewer",
    "enabled": "on",
    "kind": "closed",
    "starts_on": "2020-01-01",
    "recurrence": "weekly",
    "interval_weeks": "1",
    "field_type": "text",
    "company": "HACKED",
    "notes": "HACKED",
    "language": "pl",
    "time_zone": "UTC",
    "country": "PL",
    "default_language": "pl",
    "confirm": "yes",
}


def snapshot(organization: Organization) -> str:
    """Every tenant-owned row of one organization, plus the organization itself, as JSON."""
    parts = [serializers.serialize("json", [organization])]
    for model in apps.get_models():
        if issubclass(model, TenantModel):
            rows = model.all_objects.filter(organization=organization).order_by("pk")
            parts.append(serializers.serialize("json", rows))
    return json.dumps(parts)


@dataclass
class Finding:
    path: str
    method: str
    status: int
    expected: str


@dataclass
class IsolationReport:
    findings: list[Finding] = field(default_factory=list)
    missing_builders: dict[str, list[str]] = field(default_factory=dict)
    undeclared_public: list[str] = field(default_factory=list)
    checked: int = 0
    data_changed: bool = False

    @property
    def ok(self) -> bool:
        return not (
            self.findings or self.missing_builders or self.undeclared_public or self.data_changed
        )


def check_isolation(
    *,
    routes: list[Route],
    victim: Organization,
    attacker_org: Organization,
    attacker_client: Client,
    kwarg_builders: dict[str, Callable[[], Any]],
    public_patterns: dict[str, str],
    skip_namespaces: frozenset[str] = frozenset({"admin"}),
) -> IsolationReport:
    report = IsolationReport()
    before = snapshot(victim)
    for route in routes:
        if route.namespace in skip_namespaces:
            continue
        if "org" not in route.kwargs:
            if route.template not in public_patterns:
                report.undeclared_public.append(route.template)
            continue
        object_kwargs = [name for name in route.kwargs if name != "org"]
        missing = [name for name in object_kwargs if name not in kwarg_builders]
        if missing:
            for name in missing:
                report.missing_builders.setdefault(name, []).append(route.template)
            continue
        victim_ids = {name: kwarg_builders[name]() for name in object_kwargs}
        cases = [("victim org", {"org": victim.slug, **victim_ids}, {404})]
        if object_kwargs:
            cases.append(
                ("own org, victim ids", {"org": attacker_org.slug, **victim_ids}, {404, 405})
            )
        for label, values, allowed in cases:
            path = build_path(route, values)
            for method in ("GET", "POST"):
                if method == "GET":
                    response = attacker_client.get(path)
                else:
                    response = attacker_client.post(path, HOSTILE_POST)
                report.checked += 1
                if response.status_code not in allowed:
                    report.findings.append(
                        Finding(path, method, response.status_code, f"{label}: {sorted(allowed)}")
                    )
    report.data_changed = snapshot(victim) != before
    return report
