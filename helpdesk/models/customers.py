from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.models.tenancy import TenantModel, language_choices
from helpdesk.phones import phone_format


class Customer(TenantModel):
    """A contact: someone who reaches the business. Customers never sign in."""

    name = models.CharField(_("name"), max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True, choices=language_choices)
    company = models.CharField(_("company"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [models.Index(fields=["organization", "name"], name="customer_org_name")]

    def __str__(self) -> str:
        return self.name or str(_("Customer #%(id)s") % {"id": self.pk})


class CustomerEmail(TenantModel):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="emails")
    email = models.EmailField(_("email address"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("email address")
        verbose_name_plural = _("email addresses")
        constraints = [
            models.UniqueConstraint(
                "organization", Lower("email"), name="customer_email_ci_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.email


class CustomerPhone(TenantModel):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(_("phone number"), max_length=20, help_text=_("E.164"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("phone number")
        verbose_name_plural = _("phone numbers")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="customer_phone_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def display(self) -> str:
        """The number as people read it (``+1 415-555-2671``); ``number`` stays E.164."""
        return phone_format(self.number)


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")
    BOOLEAN = "boolean", _("Yes / no")


class CustomField(TenantModel):
    key = models.SlugField(_("key"), max_length=50)
    label = models.CharField(_("label"), max_length=100)
    field_type = models.CharField(_("type"), max_length=10, choices=FieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    show_in_chat = models.BooleanField(_("show in chat panel"), default=False)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="custom_field_key_unique"),
        ]

    def __str__(self) -> str:
        return self.label
