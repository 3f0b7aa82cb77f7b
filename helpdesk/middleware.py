"""Request plumbing: the organization from the URL, the user's language, the org's time zone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone, translation

from helpdesk.selectors.tenancy import membership_for_slug


class TenantMiddleware:
    """Resolves ``<org>`` in ``/app/<org>/…`` to the caller's membership, or answers 404.

    The ``org`` kwarg is consumed here so no view can forget the check: views read
    ``request.organization`` and ``request.membership`` (the actor for services and selectors).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        slug = view_kwargs.pop("org", None)
        if slug is None:
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = membership_for_slug(user=request.user, slug=slug)
        if membership is None:
            raise Http404("No such organization")
        request.organization = membership.organization  # type: ignore[attr-defined]
        request.membership = membership  # type: ignore[attr-defined]
        timezone.activate(membership.organization.tz)
        if request.session.get("last_org") != slug:
            request.session["last_org"] = slug
        return None


class UserLanguageMiddleware:
    """A signed-in user's saved language applies until a language cookie says otherwise."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.language
            and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES
        ):
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
