"""In-process stand-ins for development without Redis."""

from __future__ import annotations

from celery.beat import EmbeddedService

from helpdesk.celery import app


def start_in_process_beat() -> EmbeddedService:
    """Runs Celery beat in a daemon thread; with eager tasks each due task runs right there."""
    service = EmbeddedService(app, thread=True, scheduler_cls="celery.beat:Scheduler")
    service.daemon = True
    service.start()
    return service
