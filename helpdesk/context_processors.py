from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from helpdesk.selectors.tenancy import membership_list_for_user


def tenancy(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    context: dict[str, Any] = {
        "organization": getattr(request, "organization", None),
        "membership": getattr(request, "membership", None),
    }
    if user is not None and user.is_authenticated:
        context["my_memberships"] = SimpleLazyObject(
            lambda: list(membership_list_for_user(user=user))
        )
    return context
