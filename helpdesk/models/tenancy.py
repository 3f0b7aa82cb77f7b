"""Organizations (tenants), users, memberships, invitations, and the tenant-scoped manager.

Every tenant-owned model inherits :class:`TenantModel`. Its default manager refuses to run a
query that has not been narrowed to one organization (``for_organization(org)``, a filter on
``organization``, or a filter on another tenant-owned row, as related managers do), so a
forgotten scope is an error in tests instead of a leak in production. ``all_objects`` is the
explicit, greppable way out for platform code (admin, migrations, beat scans that fan out per
organization).
"""

from __future__ import annotations

import secrets
import zoneinfo
from collections.abc import Iterable
from typing import Any, ClassVar, Self

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UnscopedQueryError(RuntimeError):
    """A tenant-owned model was queried without narrowing it to one organization."""


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(value)s” is not a known time zone."), params={"value": value})


def language_choices() -> list[tuple[str, str]]:
    return [(code, str(name)) for code, name in settings.LANGUAGES]


class Organization(models.Model):
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    company_name = models.CharField(
        _("company name shown to customers"), max_length=200, blank=True
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    default_language = models.CharField(
        _("default language"), max_length=10, default="en-us", choices=language_choices
    )
    country = models.CharField(
        _("country for phone numbers"),
        max_length=2,
        default="US",
        help_text=_("Numbers written without an international prefix are read as this country's."),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def public_name(self) -> str:
        return self.company_name or self.name


def _is_tenant_value(value: object) -> bool:
    if isinstance(value, Organization | TenantModel):
        return value.pk is not None
    if isinstance(value, TenantQuerySet):
        return value._scoped
    if isinstance(value, list | tuple | set | frozenset):
        return bool(value) and all(_is_tenant_value(item) for item in value)
    return False


class TenantQuerySet(models.QuerySet):
    """A queryset that must be scoped to one organization before it touches the database."""

    _scoped: bool = False
    # Filters on these fields scope a query in addition to ``organization`` (``Membership``
    # lists a user's own memberships across organizations).
    extra_scope_fields: ClassVar[frozenset[str]] = frozenset()

    def for_organization(self, organization: Organization | int) -> Self:
        org_id = organization.pk if isinstance(organization, Organization) else organization
        if org_id is None:
            raise UnscopedQueryError("for_organization() needs a saved organization")
        clone = self.filter(organization_id=org_id)
        clone._scoped = True
        return clone

    def _clone(self) -> Self:
        clone = super()._clone()  # type: ignore[misc]
        clone._scoped = self._scoped
        return clone

    def _scopes(self, args: Iterable[Any], kwargs: dict[str, Any]) -> bool:
        for key, value in kwargs.items():
            field = key.split("__", 1)[0]
            if field in ("organization", "organization_id") and value is not None:
                if key in ("organization", "organization_id", "organization__pk"):
                    return True
                if key.endswith("__in") and not isinstance(value, str) and value:
                    return len(list(value)) == 1
            if field in self.extra_scope_fields and value is not None and "__" not in key:
                return True
            if _is_tenant_value(value) and not key.endswith("__isnull"):
                return True
        return any(
            isinstance(arg, Q) and self._scopes([], dict(_q_children_kv(arg))) for arg in args
        )

    def _filter_or_exclude(self, negate: bool, args: Any, kwargs: Any) -> Self:
        clone = super()._filter_or_exclude(negate, args, kwargs)  # type: ignore[misc]
        if not negate and self._scopes(args, kwargs):
            clone._scoped = True
        return clone

    def _require_scope(self) -> None:
        # Related managers and prefetches hint the (already fetched, tenant-owned) parent row
        # whose relation they filter on.
        parent = self._hints.get("instance")  # type: ignore[attr-defined]
        if isinstance(parent, Organization | TenantModel) and parent.pk is not None:
            return
        if not self._scoped:
            raise UnscopedQueryError(
                f"{self.model.__name__} was queried without an organization; use "
                f"{self.model.__name__}.objects.for_organization(org) (or all_objects in "
                "platform code that really spans tenants)."
            )

    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._require_scope()
        super()._fetch_all()

    def count(self) -> int:
        if self._result_cache is None:
            self._require_scope()
        return super().count()

    def exists(self) -> bool:
        if self._result_cache is None:
            self._require_scope()
        return super().exists()

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._require_scope()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        self._require_scope()
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._require_scope()
        return super().delete()

    def iterator(self, chunk_size: int | None = None) -> Any:
        self._require_scope()
        return super().iterator(chunk_size=chunk_size)

    def in_bulk(self, *args: Any, **kwargs: Any) -> Any:
        self._require_scope()
        return super().in_bulk(*args, **kwargs)

    def explain(self, *args: Any, **kwargs: Any) -> str:
        self._require_scope()
        return super().explain(*args, **kwargs)


def _q_children_kv(self: Q) -> list[tuple[str, Any]]:
    """The (lookup, value) pairs of an AND-ed Q, for scope detection; OR-ed Qs never scope."""
    if self.connector != Q.AND or self.negated:
        return []
    pairs: list[tuple[str, Any]] = []
    for child in self.children:
        if isinstance(child, tuple) and len(child) == 2:
            pairs.append((child[0], child[1]))
        elif isinstance(child, Q):
            pairs.extend(_q_children_kv(child))
    return pairs


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    use_in_migrations = False


class TenantModel(models.Model):
    """Base for every row that belongs to one organization."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", verbose_name=_("organization")
    )

    objects = TenantManager()
    all_objects = models.Manager()

    class Meta:
        abstract = True


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in: agents, managers, admins. Customers never have a User."""

    email = models.EmailField(_("email address"), unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True, choices=language_choices)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("platform staff"), default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["name", "email"]
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.name or self.email

    @property
    def display_name(self) -> str:
        return self.name or self.email


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    MANAGER = "manager", _("Manager")
    AGENT = "agent", _("Agent")
    VIEWER = "viewer", _("Viewer")


ROLE_RANK = {Role.VIEWER: 0, Role.AGENT: 1, Role.MANAGER: 2, Role.ADMIN: 3}


class MembershipQuerySet(TenantQuerySet):
    extra_scope_fields = frozenset({"user", "user_id"})


class MembershipManager(TenantManager):
    _queryset_class = MembershipQuerySet


class Membership(TenantModel):
    """A user's place in one organization: the *actor* every service and selector takes."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.AGENT)
    default_team = models.ForeignKey(
        "helpdesk.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("default team"),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = MembershipManager()  # type: ignore[misc]

    class Meta:
        ordering = ["user__name", "user__email"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization_id} ({self.role})"

    def has_role(self, role: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(role)]

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def can_manage(self) -> bool:
        return self.has_role(Role.MANAGER)

    @property
    def can_write(self) -> bool:
        return self.has_role(Role.AGENT)


def _invitation_token() -> str:
    return secrets.token_urlsafe(32)


class Invitation(TenantModel):
    email = models.EmailField(_("email address"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.AGENT)
    token = models.CharField(max_length=64, unique=True, default=_invitation_token, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self) -> str:
        return self.email

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.expires_at > timezone.now()
