"""``/healthz``: 200 only when every configured part is up."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_health_with_only_the_database(settings) -> None:  # type: ignore[no-untyped-def]
    settings.REDIS_URL = ""
    settings.HEALTHCHECK_CELERY = False
    response = Client().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"] == {"configured": False}
    assert body["checks"]["celery"]["configured"] is False
    assert response["Cache-Control"].startswith("max-age=0")


def test_health_reports_redis_down(settings) -> None:  # type: ignore[no-untyped-def]
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.HEALTHCHECK_CELERY = False
    response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["redis"]["error"]
    assert body["checks"]["database"]["ok"] is True


def test_health_reports_a_database_error(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection

    settings.REDIS_URL = ""
    settings.HEALTHCHECK_CELERY = False

    class BrokenCursor:
        def __enter__(self):  # type: ignore[no-untyped-def]
            raise connection.Database.OperationalError("connection refused")

        def __exit__(self, *exc):  # type: ignore[no-untyped-def]
            return False

    monkeypatch.setattr(connection, "cursor", lambda: BrokenCursor())
    from helpdesk.selectors.health import health_report

    report = health_report()
    assert report["status"] == "error"
    assert report["checks"]["database"] == {"ok": False, "error": "connection refused"}


@pytest.mark.redis
def test_health_with_redis_up_and_no_worker(settings, redis_url) -> None:  # type: ignore[no-untyped-def]
    settings.REDIS_URL = redis_url
    settings.HEALTHCHECK_CELERY = True
    response = Client().get("/healthz")
    body = response.json()
    assert body["checks"]["redis"] == {"ok": True}
    assert body["checks"]["celery"] == {"ok": False, "error": "no worker answered"}
    assert response.status_code == 503
