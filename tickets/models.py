"""Tickets, messages, inboxes and what hangs off them.

Every write goes through ``tickets.services``; derived fields (``reply_status`` and the
``last_*_at`` timestamps) are kept by those services because the console filters and the
time-based workflows query them through indexes.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Customer, Team, TenantModel


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WHATSAPP = "whatsapp", _("WhatsApp")
    PHONE = "phone", _("Phone")
    CHAT = "chat", _("Chat")
    WEB_FORM = "web_form", _("Web form")
    MOBILE_APP = "mobile_app", _("Mobile app")
    INTEGRATION = "integration", _("Integration")


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    SOLVED = "solved", _("Solved")
    CLOSED = "closed", _("Closed")
    SPAM = "spam", _("Spam")


# Statuses in which a ticket still needs work (open tickets, for RLA and "mine" queues).
ACTIVE_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING)


class SystemType(models.TextChoices):
    REGULAR = "regular", _("Regular")
    RETURN = "return", _("Return")
    REVIEW = "review", _("Review")
    MISSED_CALL = "missed_call", _("Missed call")
    VOICEMAIL = "voicemail", _("Voicemail")
    CHAT = "chat", _("Chat")


class Priority(models.IntegerChoices):
    LOW = 0, _("Low")
    NORMAL = 1, _("Normal")
    HIGH = 2, _("High")
    URGENT = 3, _("Urgent")


class ReplyStatus(models.TextChoices):
    ANSWERED = "answered", _("Answered")
    NOT_ANSWERED = "not_answered", _("Not answered")


class IntegrationAccount(TenantModel):
    """An account on an outside platform (a marketplace, a shop) that tickets come through."""

    class Kind(models.TextChoices):
        INTEGRATION = "integration", _("Integration")
        MARKETPLACE = "marketplace", _("Marketplace")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    provider = models.CharField(_("provider"), max_length=50, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("integration account")
        verbose_name_plural = _("integration accounts")
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="integration_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class InboxGroup(TenantModel):
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["name"]
        verbose_name = _("inbox group")
        verbose_name_plural = _("inbox groups")
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="inbox_group_unique")
        ]

    def __str__(self) -> str:
        return self.name


def _inbox_secret() -> str:
    return secrets.token_urlsafe(24)


class Inbox(TenantModel):
    """A channel endpoint belonging to a team: an email address, a number, a chat queue, …"""

    name = models.CharField(_("name"), max_length=100)
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="inboxes", verbose_name=_("team")
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    address = models.CharField(
        _("address"),
        max_length=254,
        blank=True,
        help_text=_("The email address, phone number or account this inbox receives on."),
    )
    group = models.ForeignKey(
        InboxGroup,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inboxes",
        verbose_name=_("inbox group"),
    )
    integration_account = models.ForeignKey(
        IntegrationAccount,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inboxes",
        verbose_name=_("integration account"),
    )
    secret = models.CharField(max_length=64, default=_inbox_secret, editable=False, unique=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("inbox")
        verbose_name_plural = _("inboxes")
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="inbox_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Tag(TenantModel):
    name = models.CharField(_("name"), max_length=50)
    color = models.CharField(_("colour"), max_length=7, default="#e8ebf0")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints = [
            models.UniqueConstraint(
                "organization", models.functions.Lower("name"), name="tag_name_ci_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


class CustomStatus(TenantModel):
    """An organization's own status, shown by its name and counted as its base status."""

    name = models.CharField(_("name"), max_length=50)
    base_status = models.CharField(_("counts as"), max_length=10, choices=Status.choices)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("custom status")
        verbose_name_plural = _("custom statuses")
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="custom_status_unique")
        ]

    def __str__(self) -> str:
        return self.name


class CustomTicketType(TenantModel):
    """An organization's own ticket type; tickets store its ``key``."""

    key = models.SlugField(_("key"), max_length=40)
    name = models.CharField(_("name"), max_length=50)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("ticket type")
        verbose_name_plural = _("ticket types")
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="ticket_type_key_unique")
        ]

    def __str__(self) -> str:
        return self.name


class TicketCounter(TenantModel):
    """The last ticket number of each organization; incremented under a row lock."""

    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="ticket_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.last_number}"


def _thread_token() -> str:
    return secrets.token_hex(4)


class Ticket(TenantModel):
    number = models.PositiveIntegerField(_("number"), editable=False)
    subject = models.CharField(_("subject"), max_length=255)
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("team"),
    )
    inbox = models.ForeignKey(
        Inbox,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("inbox"),
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("customer"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assignee"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.NEW
    )
    custom_status = models.ForeignKey(
        CustomStatus,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("custom status"),
    )
    ticket_type = models.CharField(_("type"), max_length=40, default=SystemType.REGULAR)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    source = models.CharField(_("source"), max_length=20, choices=Channel.choices)
    integration_account = models.ForeignKey(
        IntegrationAccount,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("integration account"),
    )
    tags = models.ManyToManyField(Tag, through="TicketTag", related_name="tickets", blank=True)
    reply_status = models.CharField(
        _("reply status"),
        max_length=15,
        choices=ReplyStatus.choices,
        default=ReplyStatus.NOT_ANSWERED,
    )
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="merged_tickets",
        verbose_name=_("merged into"),
    )
    thread_token = models.CharField(max_length=16, default=_thread_token, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    last_customer_message_at = models.DateTimeField(
        _("last customer message"), null=True, blank=True
    )
    last_agent_message_at = models.DateTimeField(_("last agent message"), null=True, blank=True)
    last_message_at = models.DateTimeField(_("last message"), null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="ticket_number_unique")
        ]
        indexes = [
            # The console's default order and its keyset pagination.
            models.Index(fields=["organization", "-updated_at", "-id"], name="ticket_org_updated"),
            models.Index(
                fields=["organization", "status", "-updated_at", "-id"], name="ticket_org_status"
            ),
            models.Index(
                fields=["organization", "assignee", "-updated_at", "-id"],
                name="ticket_org_assignee",
            ),
            models.Index(
                fields=["organization", "team", "-updated_at", "-id"], name="ticket_org_team"
            ),
            models.Index(fields=["organization", "customer"], name="ticket_org_customer"),
            # Time-based workflows: "not answered and created / last customer reply > N h".
            models.Index(
                fields=["organization", "reply_status", "last_customer_message_at"],
                name="ticket_org_reply_last",
            ),
            models.Index(
                fields=["organization", "reply_status", "created_at"],
                name="ticket_org_reply_created",
            ),
            # The timer scan (``automations.engine.timer``) walks a reply status's tickets in
            # the order of their period (last customer message, else creation) and stops after
            # one batch. The trailing columns are read from the index too (an index-only
            # scan): the timestamps for the "more / less than N hours" filters, the status for
            # "ticket status is …". Merged tickets are never candidates.
            models.Index(
                F("organization"),
                F("reply_status"),
                Coalesce("last_customer_message_at", "created_at"),
                F("id"),
                F("created_at"),
                F("last_customer_message_at"),
                F("status"),
                name="ticket_timer_period",
                condition=Q(merged_into__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def reference(self) -> str:
        """What goes in email subjects to thread replies: ``[#123-1a2b3c4d]``."""
        return f"[#{self.number}-{self.thread_token}]"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class TicketTag(TenantModel):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="ticket_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="ticket_tags")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "tag"], name="ticket_tag_unique")]
        indexes = [models.Index(fields=["tag", "ticket"], name="ticket_tag_tag")]

    def __str__(self) -> str:
        return f"{self.ticket_id}:{self.tag_id}"


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class MessageKind(models.TextChoices):
    MESSAGE = "message", _("Message")
    NOTE = "note", _("Internal note")
    SYSTEM = "system", _("System event")
    AUTOMATED = "automated", _("Automated message")


class AuthorType(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent")
    SYSTEM = "system", _("System")
    AUTOMATION = "automation", _("Automation")


class DeliveryStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    NOT_SENT = "not_sent", _("Not sent")


class Message(TenantModel):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    kind = models.CharField(
        _("kind"), max_length=10, choices=MessageKind.choices, default=MessageKind.MESSAGE
    )
    author_type = models.CharField(_("author"), max_length=12, choices=AuthorType.choices)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author_customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # What sent an automated message, for the timeline ("sent by workflow X because …").
    automation_label = models.CharField(max_length=200, blank=True)
    automation_reason = models.CharField(max_length=500, blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body_text = models.TextField(_("text"), blank=True)
    body_html = models.TextField(_("HTML"), blank=True, help_text=_("Sanitised on the way in."))
    metadata = models.JSONField(default=dict, blank=True)
    # The sender is a machine (auto-submitted, bulk, bounce, no-reply): never answer it
    # automatically; ``automated_reason`` says which.
    sender_is_automated = models.BooleanField(default=False)
    automated_reason = models.CharField(max_length=100, blank=True)
    delivery_status = models.CharField(
        _("delivery"), max_length=10, choices=DeliveryStatus.choices, blank=True
    )
    delivery_error = models.TextField(blank=True)
    delivery_attempts = models.PositiveSmallIntegerField(default=0)
    # When the next delivery attempt is due (a retry's backoff), or when the current attempt
    # started (``sending``); the beat scan re-enqueues what is overdue (``tickets.delivery``).
    delivery_due_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    idempotency_key = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [
            models.Index(fields=["ticket", "created_at", "id"], name="message_ticket_time"),
            models.Index(
                fields=["organization", "provider_message_id"],
                name="message_provider_id",
                condition=~Q(provider_message_id=""),
            ),
            # The beat scan for stuck deliveries reads only the (few) rows in flight.
            models.Index(
                fields=["delivery_status", "delivery_due_at"],
                name="message_delivery_due",
                condition=Q(delivery_status__in=[DeliveryStatus.QUEUED, DeliveryStatus.SENDING]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.ticket_id}"

    @property
    def is_note(self) -> bool:
        return self.kind == MessageKind.NOTE


def attachment_path(instance: Attachment, filename: str) -> str:
    # Unguessable, and never the sender's file name (that is kept in ``filename``).
    return f"attachments/{instance.organization_id}/{uuid.uuid4().hex}"


class Attachment(TenantModel):
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attachments", null=True, blank=True
    )
    file = models.FileField(upload_to=attachment_path, max_length=255)
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    content_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


class InboundEmail(TenantModel):
    """Every piece of mail that reached an inbox, kept raw whatever became of it."""

    class State(models.TextChoices):
        PROCESSED = "processed", _("Processed")
        FAILED = "failed", _("Failed")
        DUPLICATE = "duplicate", _("Duplicate")

    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="inbound_emails")
    raw = models.FileField(upload_to="inbound-email/%Y/%m/", max_length=255)
    message_id_header = models.CharField(max_length=998, blank=True)
    # From and Subject as far as they could be read, for the inbox's mail list.
    sender = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=10, choices=State.choices)
    error = models.TextField(blank=True)
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("inbound email")
        verbose_name_plural = _("inbound emails")
        indexes = [
            models.Index(fields=["organization", "state", "-received_at"], name="inbound_state"),
            models.Index(fields=["inbox", "-received_at", "-id"], name="inbound_inbox_time"),
        ]

    def __str__(self) -> str:
        return f"{self.inbox_id} {self.state} {self.received_at:%Y-%m-%d %H:%M}"


class CannedResponse(TenantModel):
    """A saved reply; personal (``owner``) or shared with a team (``team``)."""

    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(
        _("text"),
        help_text=_("Placeholders: {customer_name}, {agent_name}, {team_name}, {ticket_number}."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="canned_responses",
        verbose_name=_("team"),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["title"]
        verbose_name = _("canned response")
        verbose_name_plural = _("canned responses")
        constraints = [
            models.CheckConstraint(
                condition=Q(owner__isnull=False, team__isnull=True)
                | Q(owner__isnull=True, team__isnull=False),
                name="canned_response_one_scope",
            )
        ]

    def __str__(self) -> str:
        return self.title
