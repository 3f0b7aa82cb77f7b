"""Stand-in conditions and actions whose behaviour a test steers from outside the worker.

A real ``celery worker`` started with ``--include tests.automations.test_resilience_standins``
and ``AUTOMATIONS_STANDINS=1`` in its environment registers them at import; the test process
registers them with the ``standins`` fixture. Every stand-in takes a ``key`` (a fresh one per
test) naming its Redis keys:

- ``<key>:tag`` and ``<key>:hold`` count how many times that action began (rolled back or not);
- ``<key>:holding`` makes ``t_hold`` wait (inside the workflow's transaction) until deleted;
- ``<key>:fail`` is how many more evaluations of ``t_flaky_db`` raise a database error.

The effects that count are in the database (a tag added through the ticket service), in the
same transaction as the run row: a test reads those to tell "ran once" from "ran twice".
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.db import OperationalError

from automations.engine import registry

HOLD_SECONDS = 60


def _redis() -> Any:
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def _subject(ctx: Any, op: str, value: Any) -> bool:
    return (ctx.ticket.subject == value) == (op == "is")


def _bug(ctx: Any, op: str, value: Any) -> bool:
    return bool(1 // 0)  # a programming error in a condition


def _flaky_db(ctx: Any, op: str, value: Any) -> bool:
    """Raises a database OperationalError while ``<key>:fail`` is positive (as a serialization
    failure or a lost connection would), then holds."""
    if _redis().decr(f"{value}:fail") >= 0:
        raise OperationalError("could not serialize access due to concurrent update (stand-in)")
    return True


def _started(params: dict[str, Any], action: str) -> None:
    _redis().incr(f"{params['key']}:{action}")


def _tag(action: registry.ActionContext, params: dict[str, Any]) -> str:
    from tickets.services.tickets import tag_get_or_create, ticket_add_tag

    _started(params, "tag")
    tag = tag_get_or_create(organization=action.ctx.organization, name=params["name"])
    ticket_add_tag(actor=None, ticket=action.ctx.ticket, tag=tag)
    return f"tagged {params['name']}"


def _hold(action: registry.ActionContext, params: dict[str, Any]) -> str:
    """Waits while ``<key>:holding`` exists: the workflow's transaction stays open meanwhile."""
    _started(params, "hold")
    client = _redis()
    deadline = time.monotonic() + HOLD_SECONDS
    while client.exists(f"{params['key']}:holding") and time.monotonic() < deadline:
        time.sleep(0.02)
    return "held"


def _flaky_tag(action: registry.ActionContext, params: dict[str, Any]) -> str:
    """``t_tag`` that first raises a database OperationalError while ``<key>:fail`` is
    positive (after the tag is written: the error must undo it)."""
    result = _tag(action, params)
    if _redis().decr(f"{params['key']}:fail") >= 0:
        raise OperationalError("deadlock detected (stand-in)")
    return result


def _raise(action: registry.ActionContext, params: dict[str, Any]) -> str:
    raise KeyError("a bug in an action (stand-in)")


def standins() -> list[Any]:
    return [
        registry.ConditionType("t_subject", "Subject", ("is", "is_not"), "text", _subject),
        registry.ConditionType("t_bug", "Bug", ("is",), "none", _bug),
        registry.ConditionType("t_flaky_db", "Flaky database", ("is",), "text", _flaky_db),
        registry.ActionType("t_tag", "Tag", (), _tag),
        registry.ActionType("t_hold", "Hold", (), _hold),
        registry.ActionType("t_flaky_tag", "Tag, after database errors", (), _flaky_tag),
        registry.ActionType("t_raise", "Raise", (), _raise),
    ]


def standins_register() -> list[Any]:
    added = []
    for item in standins():
        if isinstance(item, registry.ConditionType):
            added.append(registry.condition_register(item))
        else:
            added.append(registry.action_register(item))
    return added


def standins_unregister(added: list[Any]) -> None:
    for item in added:
        registry.CONDITIONS.pop(item.key, None)
        registry.ACTIONS.pop(item.key, None)


def _keep_connections(tasks: int) -> None:
    """What ``CELERY_DB_REUSE_MAX`` would do: the worker keeps its database connection across
    ``tasks`` tasks instead of closing it after each (Celery's Django fixup)."""
    from helpdesk.celery import app

    for fixup in getattr(app, "_fixups", []):
        worker_fixup = getattr(fixup, "worker_fixup", None)
        if worker_fixup is not None:
            worker_fixup.db_reuse_max = tasks


if os.environ.get("AUTOMATIONS_STANDINS") == "1":  # in the worker process only
    standins_register()
    if os.environ.get("AUTOMATIONS_STANDINS_KEEP_CONNECTIONS"):
        _keep_connections(int(os.environ["AUTOMATIONS_STANDINS_KEEP_CONNECTIONS"]))

STANDINS_MODULE = __name__
# The worker shares this process's cache keys (its own test run would get a prefix of its own):
# the outbox's "a drain is pending" key is set here and deleted by the worker's drain.
WORKER_ENV = {
    "AUTOMATIONS_STANDINS": "1",
    "CACHE_PREFIX": str(settings.CACHES["default"].get("KEY_PREFIX", "")),
}


class Keys:
    """The Redis keys of one test's stand-ins."""

    def __init__(self, redis_url: str) -> None:
        import redis

        self.key = f"standin-{uuid.uuid4().hex}"
        self.client = redis.Redis.from_url(redis_url)

    def started(self, action: str) -> int:
        """How many times the stand-in action ``action`` ("tag", "hold") began."""
        return int(self.client.get(f"{self.key}:{action}") or 0)

    def hold(self) -> None:
        self.client.set(f"{self.key}:holding", 1, ex=HOLD_SECONDS * 2)

    def release(self) -> None:
        self.client.delete(f"{self.key}:holding")

    def fail_next(self, times: int) -> None:
        self.client.set(f"{self.key}:fail", times, ex=600)

    def cleanup(self) -> None:
        self.client.delete(*(f"{self.key}:{name}" for name in ("tag", "hold", "holding", "fail")))


def keys_for(redis_url: str) -> Iterator[Keys]:
    """For a test module's ``keys`` fixture: fresh keys, cleaned up afterwards."""
    made = Keys(redis_url)
    yield made
    made.release()
    made.cleanup()


def registered_standins() -> Iterator[None]:
    """For a test module's fixture: the stand-ins registered in the test process too (the
    services validate workflows against the registry)."""
    added = standins_register()
    yield
    standins_unregister(added)


# --- helpers shared by the worker tests ------------------------------------------------------


def wait_for(check: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def worker_idle(name: str) -> bool:
    """The worker named ``name`` runs no task, holds none in reserve, and the queue is empty."""
    import redis

    from helpdesk.celery import app

    if redis.Redis.from_url(settings.REDIS_URL).llen(settings.CELERY_TASK_DEFAULT_QUEUE):
        return False
    inspect = app.control.inspect(destination=[name], timeout=1)
    active, reserved, scheduled = inspect.active(), inspect.reserved(), inspect.scheduled()
    if not active or not reserved or scheduled is None:
        return False  # did not answer (busy in a task: a solo worker answers between tasks)
    return not active.get(name) and not reserved.get(name) and not scheduled.get(name)


def workflow_make(
    organization: Any,
    actions: list[dict[str, Any]],
    *,
    conditions: list[dict[str, Any]] | None = None,
    name: str = "Stand-in",
) -> Any:
    from django.utils import timezone

    from automations.models import Workflow

    return Workflow.objects.create(
        organization=organization,
        name=name,
        description="A stand-in workflow of the engine's tests.",
        enabled=True,
        trigger="event",
        conditions={"all": conditions or [{"field": "t_subject", "op": "is", "value": "Help"}]},
        actions=actions,
        updated_at=timezone.now(),
    )


def tag_action(keys: Keys, name: str) -> dict[str, Any]:
    return {"type": "t_tag", "params": {"name": name, "key": keys.key}}


def hold_action(keys: Keys) -> dict[str, Any]:
    return {"type": "t_hold", "params": {"key": keys.key}}


def tag_links(ticket: Any, name: str) -> int:
    from tickets.models import TicketTag

    return TicketTag.objects.filter(ticket=ticket, tag__name=name).count()


def received_event(ticket: Any) -> Any:
    from automations.models import Event

    return Event.objects.get(ticket=ticket, name="message.received")


def processed(event: Any) -> bool:
    event.refresh_from_db()
    return event.processed_at is not None


def broker_for(redis_url: str) -> Iterator[Any]:
    """For a ``broker`` fixture: the broker's Redis, with this run's queue emptied."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    yield client
    client.delete(settings.CELERY_TASK_DEFAULT_QUEUE)


def queued_tasks(broker: Any) -> list[tuple[str, list[Any]]]:
    """The (task name, args) of the messages waiting in this run's queue, oldest first."""
    import base64
    import json

    found = []
    for raw in reversed(broker.lrange(settings.CELERY_TASK_DEFAULT_QUEUE, 0, -1)):
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        found.append((message["headers"]["task"], args))
    return found
