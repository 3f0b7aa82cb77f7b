"""The state of the parts the app depends on, for ``/healthz``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection


def _check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "down", reported as such
        return {"ok": False, "error": str(exc)[:200]}
    return {"ok": True, "vendor": connection.vendor}


def _check_redis() -> dict[str, Any]:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": str(exc)[:200]}
    finally:
        client.close()
    return {"ok": True}


def _check_celery() -> dict[str, Any]:
    from helpdesk.celery import app

    try:
        replies = app.control.ping(timeout=1.0) or []
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": str(exc)[:200]}
    workers = sorted(name for reply in replies for name in reply)
    if not workers:
        return {"ok": False, "error": "no worker answered"}
    return {"ok": True, "workers": workers}


def health_report() -> dict[str, Any]:
    checks: dict[str, Any] = {"database": _check_database()}
    checks["redis"] = _check_redis() if settings.REDIS_URL else {"configured": False}
    checks["celery"] = (
        _check_celery()
        if settings.HEALTHCHECK_CELERY
        else {
            "configured": False,
            "mode": "in-process" if settings.CELERY_TASK_ALWAYS_EAGER else "off",
        }
    )
    configured = [c for c in checks.values() if c.get("configured", True)]
    status = "ok" if all(c.get("ok") for c in configured) else "error"
    return {"status": status, "checks": checks}
