"""Integration: a real Celery worker process on the real broker, against the test database."""

import time

import pytest
from django.test import Client
from django.utils import timezone

from helpdesk.models import Invitation
from helpdesk.services.tenancy import invitation_create

pytestmark = [pytest.mark.redis, pytest.mark.worker]


def test_health_is_ok_with_a_worker(settings, celery_worker, redis_url) -> None:  # type: ignore[no-untyped-def]
    settings.REDIS_URL = redis_url
    settings.HEALTHCHECK_CELERY = True
    response = Client().get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["checks"]["celery"]["ok"] is True
    assert len(body["checks"]["celery"]["workers"]) >= 1


def test_a_task_sent_to_the_broker_runs_in_the_worker(  # type: ignore[no-untyped-def]
    celery_worker, real_celery, admin
) -> None:
    from helpdesk.tasks import purge_expired_invitations_task

    invitation = invitation_create(actor=admin, email="late@example.com", role="agent")
    Invitation.objects.filter(pk=invitation.pk, organization=admin.organization).update(
        expires_at=timezone.now() - timezone.timedelta(minutes=1)
    )
    purge_expired_invitations_task.delay()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if not Invitation.objects.filter(organization=admin.organization).exists():
            break
        time.sleep(0.1)
    assert not Invitation.objects.filter(organization=admin.organization).exists()
