"""The workflows of the demo organization, made from gallery templates."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from automations.models import Workflow
from automations.services import workflow_from_template
from helpdesk.models import Membership

DEMO_TEMPLATES = [
    ("first_message", True),
    ("out_of_hours", True),
    ("remind_unanswered", False),
    ("urgent_keywords", True),
]


def seed_demo_workflows(admin: Membership) -> None:
    if Workflow.objects.for_organization(admin.organization).exists():
        return
    for key, enabled in DEMO_TEMPLATES:
        try:
            workflow_from_template(actor=admin, template_key=key, enabled=enabled)
        except ValidationError:
            continue  # a template that needs choices the demo cannot make
