"""Helpers every tenant view uses.

``TenantMiddleware`` has already resolved ``request.organization`` and ``request.membership``
(or answered 404); these add role checks and the htmx page-or-fragment rendering.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from helpdesk.models import Membership, Organization, Role

View = TypeVar("View", bound=Callable[..., HttpResponse])


class TenantRequest(HttpRequest):
    """For type checkers: what ``TenantMiddleware`` adds to a request."""

    organization: Organization
    membership: Membership
    htmx: Any


def require_role(role: str) -> Callable[[View], View]:
    """403 unless the caller's role in the URL's organization is at least ``role``."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            membership = getattr(request, "membership", None)
            if membership is None:
                raise PermissionDenied
            if not membership.has_role(role):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.required_role = role  # type: ignore[attr-defined]
        return cast(View, wrapped)

    return decorator


require_manager = require_role(Role.MANAGER)
require_admin = require_role(Role.ADMIN)
require_agent = require_role(Role.AGENT)


def render_page_or_partial(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    partial: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render the whole page, or only ``template#partial`` for an htmx request."""
    if partial and getattr(request, "htmx", False):
        return render(request, f"{template}#{partial}", context, status=status)
    return render(request, template, context, status=status)
