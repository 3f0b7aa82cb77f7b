"""Serves HTTP and websockets from one process with uvicorn.

Without a broker (no ``REDIS_URL``) Celery tasks run in-process (eager) and the beat schedule
runs in a thread here, so a developer needs nothing but Python.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from helpdesk.devserver import start_in_process_beat


class Command(BaseCommand):
    help = "Serve the app (HTTP + websockets) with uvicorn."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        import uvicorn

        from helpdesk.checks import require_secret_key

        require_secret_key()
        if settings.CELERY_TASK_ALWAYS_EAGER:
            start_in_process_beat()
            self.stdout.write("Celery: tasks and beat run in-process (no REDIS_URL set).")
        self.stdout.write(f"Serving on http://{options['host']}:{options['port']}/")
        uvicorn.run(
            "helpdesk.asgi:application",
            host=options["host"],
            port=options["port"],
            workers=options["workers"],
            lifespan="off",
            log_level="info",
        )
