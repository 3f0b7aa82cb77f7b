"""What the builder's pickers offer: the organization's own tags, inboxes, teams, members, …
(every list filtered by the organization, each loaded once per request) and the fixed lists
(channels, weekdays, statuses, languages, …)."""

from __future__ import annotations

from functools import cached_property

from django.conf import settings
from django.utils.translation import gettext as _

from helpdesk.models import Membership, Organization, Team, Weekday
from tickets.models import (
    Channel,
    CustomStatus,
    CustomTicketType,
    Inbox,
    InboxGroup,
    IntegrationAccount,
    Priority,
    ReplyStatus,
    Status,
    SystemType,
    Tag,
)

Choice = tuple[str, str]

# The value that asks "assign agent" to pick among the team's available members in turn.
ROUND_ROBIN = "round_robin"


class Choices:
    """Lazily loaded choice lists for one organization; ``get(kind)`` by widget name."""

    def __init__(self, organization: Organization) -> None:
        self.organization = organization

    def get(self, kind: str) -> list[Choice]:
        method = getattr(self, f"c_{kind}", None)
        return list(method) if method is not None else []

    # --- the organization's objects (ids as strings) ---

    @cached_property
    def c_tag(self) -> list[Choice]:
        return [
            (str(pk), name)
            for pk, name in Tag.objects.for_organization(self.organization)
            .order_by("name")
            .values_list("pk", "name")
        ]

    @cached_property
    def c_inbox(self) -> list[Choice]:
        return [
            (str(pk), name)
            for pk, name in Inbox.objects.for_organization(self.organization)
            .order_by("name")
            .values_list("pk", "name")
        ]

    @cached_property
    def c_inbox_group(self) -> list[Choice]:
        return [
            (str(pk), name)
            for pk, name in InboxGroup.objects.for_organization(self.organization)
            .order_by("name")
            .values_list("pk", "name")
        ]

    @cached_property
    def _accounts(self) -> list[tuple[int, str, str]]:
        return list(
            IntegrationAccount.objects.for_organization(self.organization)
            .order_by("name")
            .values_list("pk", "name", "kind")
        )

    @cached_property
    def c_integration(self) -> list[Choice]:
        return [(str(pk), name) for pk, name, _kind in self._accounts]

    @cached_property
    def c_marketplace(self) -> list[Choice]:
        return [
            (str(pk), name)
            for pk, name, kind in self._accounts
            if kind == IntegrationAccount.Kind.MARKETPLACE
        ]

    @cached_property
    def c_team(self) -> list[Choice]:
        return [
            (str(pk), name)
            for pk, name in Team.objects.for_organization(self.organization)
            .order_by("name")
            .values_list("pk", "name")
        ]

    @cached_property
    def c_member(self) -> list[Choice]:
        rows = (
            Membership.objects.for_organization(self.organization)
            .exclude(role="viewer")
            .select_related("user")
            .order_by("user__name", "user__email")
        )
        return [(str(m.user_id), m.user.display_name) for m in rows]

    @cached_property
    def c_member_round_robin(self) -> list[Choice]:
        return [
            (ROUND_ROBIN, _("Round robin: the team's available agents in turn")),
            *self.c_member,
        ]

    @cached_property
    def c_custom_status(self) -> list[Choice]:
        return [
            (str(pk), name)
            for pk, name in CustomStatus.objects.for_organization(self.organization)
            .filter(active=True)
            .order_by("position", "name")
            .values_list("pk", "name")
        ]

    @cached_property
    def c_ticket_type(self) -> list[Choice]:
        custom = CustomTicketType.objects.for_organization(self.organization).order_by("name")
        return [(value, str(label)) for value, label in SystemType.choices] + [
            (key, name) for key, name in custom.values_list("key", "name")
        ]

    # --- fixed lists ---

    @property
    def c_channel(self) -> list[Choice]:
        return [(value, str(label)) for value, label in Channel.choices]

    @property
    def c_status(self) -> list[Choice]:
        return [(value, str(label)) for value, label in Status.choices]

    @property
    def c_reply_status(self) -> list[Choice]:
        return [(value, str(label)) for value, label in ReplyStatus.choices]

    @property
    def c_priority(self) -> list[Choice]:
        return [(str(value), str(label)) for value, label in Priority.choices]

    @property
    def c_weekdays(self) -> list[Choice]:
        return [(str(value), str(label)) for value, label in Weekday.choices]

    @property
    def c_language(self) -> list[Choice]:
        return [(code, str(name)) for code, name in settings.LANGUAGES]

    @property
    def c_language_target(self) -> list[Choice]:
        return [("customer", _("The customer's language")), *self.c_language]

    @property
    def c_language_source(self) -> list[Choice]:
        return [("auto", _("Detect automatically")), *self.c_language]

    @property
    def c_status_or_custom(self) -> list[Choice]:
        """Base statuses, then the organization's own as ``custom-<id>``."""
        return self.c_status + [(f"custom-{pk}", name) for pk, name in self.c_custom_status]

    @property
    def c_action(self) -> list[Choice]:
        return [
            ("first_customer_message", _("First customer message")),
            ("customer_message", _("Every new customer message")),
            ("return_created", _("Return created")),
        ]
