"""In-process stand-ins for development without Redis."""

from __future__ import annotations

from typing import Any

from celery.beat import EmbeddedService

from helpdesk.celery import app


def start_in_process_beat() -> Any:
    """Runs Celery beat in a daemon thread; with eager tasks each due task runs right there."""
    service: Any = EmbeddedService(app, thread=True, scheduler_cls="celery.beat:Scheduler")
    service.daemon = True
    service.start()
    return service
