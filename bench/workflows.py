"""Speed of the workflow engine: events through one real Celery worker, event → auto-reply
latency, and the time-based workflows' scan over a million tickets.

Usage (PostgreSQL and Redis only; the database named by ``--database`` is dropped and created
again unless ``--reuse``)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/workflows.py --output /tmp/workflows.json

What it does:

1. Seeds (COPY and ``INSERT … SELECT``) an organization of 100,000 tickets (customers with
   email addresses, teams, inboxes, tags, one or two messages per ticket) and nine more of
   100,000 tickets each: 1,000,000 tickets in all.
2. Creates 50 enabled event workflows in the organization through the real services (a mix of
   source, subject, message, email, customer name, hour, day, tag, inbox, status, type, reply
   status and working-hours conditions with ALL and ANY groups, nearly all not matching; one
   "first customer message → send an auto-reply"), and one time-based workflow ("reply status
   is not answered AND ticket created more than 24 hours ago → add a reminder note").
3. Starts ONE ``celery worker`` process (``--pool=solo``, i.e. one process that both takes
   messages from Redis and runs them; ``--pool prefork`` for a main process and one child) on a
   queue of its own, with the same settings as production (``acks_late``, prefetch 1).
4. Measures, through that one worker, the throughput of a bare no-op task, then of the engine
   (``--events`` ``message.received`` events on existing tickets, each evaluating all 50
   workflows), then the no-op again. Each stream is written while the worker does not consume.
   The no-op tasks are timed between two marker tasks, from the first marker to the last as the
   worker runs them. The events are written the way the app writes them (the services; the
   outbox enqueues a drain of the organization on commit when none is pending) and timed from
   a marker task enqueued before the first event to the last event marked processed; the
   report gives events/s and the drain tasks it took (tasks/s).
5. Measures event → auto-reply latency on a paced stream of new tickets (``--paced`` tickets at
   ``--rate`` per second): from the ``message.received`` event row's ``created_at`` to the stored
   automated reply's ``created_at``.
6. Times the time-based workflow's scan query (``automations.engine.timer.timer_candidates``)
   and prints its ``EXPLAIN (ANALYZE, BUFFERS)``; then processes one capped batch.

``--db-reuse-max N`` makes the worker keep its database connection for N tasks (Celery's
``CELERY_DB_REUSE_MAX``; the settings keep it for 200 by default).

In the benchmark's own process it also measures the engine without the broker: 200 such events
processed one at a time (``event_process``, the per-event path) and as one drain
(``events_drain``), queries counted.

The JSON it prints is recorded in ``docs/benchmarks.md`` ("Workflow engine").
"""

from __future__ import annotations

import os
import time

from celery import shared_task

# --- tasks the worker imports (``--include bench.workflows``) ------------------------------


@shared_task(name="bench.noop")
def noop_task() -> None:
    """The limit to compare against: a task that does nothing, on the same broker and worker."""
    return None


@shared_task(name="bench.mark")
def mark_task(key: str) -> None:
    """Records when the worker reached this point of the stream."""
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.REDIS_URL).set(key, repr(time.time()), ex=3600)


def _worker_db_reuse() -> None:
    """In the worker only: keep the database connection across N tasks (what
    ``CELERY_DB_REUSE_MAX`` in the settings would do)."""
    reuse = os.environ.get("WFBENCH_DB_REUSE_MAX")
    if not reuse:
        return
    from helpdesk.celery import app

    for fixup in getattr(app, "_fixups", []):
        worker_fixup = getattr(fixup, "worker_fixup", None)
        if worker_fixup is not None:
            worker_fixup.db_reuse_max = int(reuse)


if os.environ.get("WFBENCH_WORKER") == "1":
    _worker_db_reuse()


# --- the benchmark (``python bench/workflows.py``) -------------------------------------------

if __name__ == "__main__":
    import argparse
    import contextlib
    import datetime as dt
    import json
    import random
    import re
    import signal
    import socket
    import subprocess
    import sys
    import uuid
    from pathlib import Path
    from typing import Any

    ROOT = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(ROOT))

    from bench.ticket_list import (
        COUNTS,
        ITEMS,
        Ids,
        calibration,
        machine_facts,
        percentile,
        recreate_database,
        reset_sequences,
        seed_organization,
    )
    from bench.ticket_list import database_urls as postgres_urls

    def parse_args() -> argparse.Namespace:
        parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
        parser.add_argument("--database", default="helpdesk_wfbench")
        parser.add_argument("--tickets", type=int, default=100_000, help="in the organization")
        parser.add_argument("--other-orgs", type=int, default=9, help="more organizations")
        parser.add_argument("--customers", type=int, default=20_000)
        parser.add_argument("--workflows", type=int, default=50, help="enabled event workflows")
        parser.add_argument("--events", type=int, default=2000, help="throughput stream")
        parser.add_argument("--noop", type=int, default=2000, help="no-op tasks per run")
        parser.add_argument("--paced", type=int, default=200, help="latency stream")
        parser.add_argument("--rate", type=float, default=5.0, help="latency stream, per s")
        parser.add_argument("--pool", default="solo", choices=["solo", "prefork"])
        parser.add_argument("--db-reuse-max", type=int, default=0)
        parser.add_argument("--batch", type=int, default=500, help="timer batch size")
        parser.add_argument("--reuse", action="store_true", help="keep a seeded database")
        parser.add_argument("--skip", default="", help="comma-separated: engine,latency,timer")
        parser.add_argument("--output", help="also write the JSON to this file")
        parser.add_argument("--seed", type=int, default=20261122)
        return parser.parse_args()

    # --- database and Django ---------------------------------------------------------------

    def database_urls(name: str) -> tuple[str, str]:
        if not os.environ.get("REDIS_URL", "").startswith("redis://"):
            sys.exit("bench/workflows.py needs the real broker: set REDIS_URL=redis://…")
        return postgres_urls(name, "bench/workflows.py")

    QUEUE = f"wfbench-{os.getpid()}"

    def environment(bench_url: str) -> dict[str, str]:
        """The settings of the bench process and of its worker: production's, on the bench
        database and a queue of their own; mail goes nowhere."""
        return {
            "DATABASE_URL": bench_url,
            "CELERY_QUEUE": QUEUE,
            # The outbox's "a drain is pending" keys of this run, shared by the worker.
            "CACHE_PREFIX": QUEUE,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "HELPDESK_TESTING": "0",
            "DEBUG": "0",
            "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-" + uuid.uuid4().hex,
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
        }

    def setup_django(env: dict[str, str]) -> None:
        os.environ.update(env)
        import django

        django.setup()

    # --- seeding ---------------------------------------------------------------------------

    def seed(args: argparse.Namespace) -> dict[str, Any]:
        from django.db import connection, transaction

        from helpdesk.models import Membership, Organization, Role, User

        rng = random.Random(args.seed)
        ids = Ids()
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        started = time.perf_counter()
        with transaction.atomic():
            org = Organization.objects.create(
                slug="wfbench", name="Workflow bench", time_zone="Europe/Warsaw"
            )
            manager = User.objects.create_user("manager@wfbench.example", None, name="Manager")
            Membership.objects.create(organization=org, user=manager, role=Role.MANAGER)
            made = seed_organization(
                org,
                tickets_count=args.tickets,
                customers_count=args.customers,
                rng=rng,
                ids=ids,
                now=now,
            )
            others = _seed_other_organizations(args, org)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        return {
            "organization": {key: made[key] for key in COUNTS},
            "other_organizations": others,
            "seconds": round(time.perf_counter() - started, 1),
        }

    def _seed_other_organizations(args: argparse.Namespace, org: Any) -> dict[str, int]:
        """Copies of the organization's tickets (without customers, teams or people) in
        ``--other-orgs`` more organizations: what the scan's index must skip."""
        from django.db import connection

        from helpdesk.models import Organization
        from tickets.models import Ticket, TicketCounter

        fields = Ticket._meta.concrete_fields
        columns = ", ".join(f'"{f.column}"' for f in fields)
        total = 0
        with connection.cursor() as cursor:
            cursor.execute('SELECT MAX(id) FROM "tickets_ticket"')
            offset = int(cursor.fetchone()[0])
            for n in range(args.other_orgs):
                other = Organization.objects.create(
                    slug=f"wfbench-other-{n}", name=f"Other {n}", time_zone="America/New_York"
                )
                values = []
                for f in fields:
                    if f.attname == "id":
                        values.append(f'"id" + {offset * (n + 1)}')
                    elif f.attname == "organization_id":
                        values.append(str(other.pk))
                    elif f.is_relation and f.null:
                        values.append("NULL")
                    else:
                        values.append(f'"{f.column}"')
                cursor.execute(
                    f'INSERT INTO "tickets_ticket" ({columns}) SELECT {", ".join(values)} '
                    f'FROM "tickets_ticket" WHERE "organization_id" = %s',
                    [org.pk],
                )
                total += cursor.rowcount
                TicketCounter.objects.create(organization=other, last_number=args.tickets)
        reset_sequences(Ticket)
        return {"organizations": args.other_orgs, "tickets": total}

    # --- the workflows ---------------------------------------------------------------------

    def row(field: str, op: str, value: Any = None) -> dict[str, Any]:
        return {"field": field, "op": op, "value": value}

    def act(kind: str, **params: Any) -> dict[str, Any]:
        return {"type": kind, "params": params}

    def workflow_specs(org: Any, count: int) -> list[tuple[str, dict[str, Any], list[Any]]]:
        """``count`` event workflows that all listen to ``message.received``: the auto-reply,
        and a rotation of realistic ones that (nearly) never match the stream."""
        from helpdesk.models import Team
        from tickets.models import Inbox, Tag

        teams = list(Team.objects.for_organization(org).order_by("id"))
        inboxes = list(Inbox.objects.for_organization(org).order_by("id"))
        tags = list(Tag.objects.for_organization(org).order_by("id"))
        today = dt.datetime.now(org.tz).weekday()
        other_days = [(today + 2) % 7, (today + 4) % 7]

        def rotation(n: int) -> tuple[dict[str, Any], list[Any]]:
            kinds = [
                (
                    {"all": [row("source", "is", ["sms", "whatsapp"])]},
                    [act("set_priority", priority=2)],
                ),
                (
                    {"all": [row("subject", "contains", f"zqx{n} order")]},
                    [act("assign_tag", tag=None, tag_name=f"flag-{n}")],
                ),
                (
                    {
                        "all": [
                            row("new_message", "is"),
                            row("hour", "between", {"from": "03:00", "to": "03:01"}),
                        ]
                    },
                    [act("add_note", body="Written at night.")],
                ),
                (
                    {"all": [row("weekday", "is", other_days), row("source", "is", ["chat"])]},
                    [act("set_status", status="pending")],
                ),
                (
                    {
                        "all": [
                            row("tag", "is", [tags[n % len(tags)].pk]),
                            row("message_text", "contains", f"refund now {n}"),
                        ]
                    },
                    [act("set_priority", priority=3)],
                ),
                (
                    {"all": [row("email", "contains", f"@vip{n}.example")]},
                    [act("assign_tag", tag=None, tag_name="VIP"), act("set_priority", priority=2)],
                ),
                (
                    {"all": [row("customer_name", "contains", f"Zbigniew{n}")]},
                    [act("assign_team", team=teams[n % len(teams)].pk)],
                ),
                (
                    {
                        "all": [
                            row("working_hours", "outside", {"ticket_team": True}),
                            row("source", "is", ["whatsapp"]),
                        ]
                    },
                    [act("send_message", template="We are away; we will answer tomorrow.")],
                ),
                (
                    {"all": [row("ticket_status", "is", ["spam"])]},
                    [act("set_status", status="closed")],
                ),
                (
                    {
                        "all": [row("inbox", "is", [inboxes[n % len(inboxes)].pk])],
                        "any": [
                            [
                                row("subject", "contains", f"urgent {n}"),
                                row("message_text", "contains", f"asap {n}"),
                            ]
                        ],
                    },
                    [act("set_priority", priority=3), act("add_note", body="Urgent.")],
                ),
                (
                    {"all": [row("ticket_type", "is", ["return"])]},
                    [act("assign_team", team=teams[0].pk)],
                ),
                (
                    {
                        "all": [
                            row("reply_status", "is", "answered"),
                            row("ticket_created", "less_than", 1),
                        ]
                    },
                    [act("add_note", body="A quick follow-up.")],
                ),
            ]
            return kinds[n % len(kinds)]  # type: ignore[return-value]

        specs = [
            (
                "Auto-reply to the first message",
                {"all": [row("action", "is", "first_customer_message")]},
                [
                    act(
                        "send_message",
                        template="Hello {customer_name}, thank you for writing to "
                        "{company_name}. We have your message (ticket #{ticket_number}).",
                    )
                ],
            )
        ]
        for n in range(1, count):
            conditions, actions = rotation(n)
            specs.append((f"Workflow {n}", conditions, actions))
        return specs

    def workflows_create(org: Any, count: int) -> dict[str, Any]:
        from automations import services
        from automations.engine.registry import listens_to
        from automations.models import Workflow
        from helpdesk.models import Membership

        Workflow.objects.for_organization(org).delete()
        manager = Membership.objects.for_organization(org).get(role="manager")
        created = []
        for name, conditions, actions in workflow_specs(org, count):
            conditions.setdefault("any", [])
            created.append(
                services.workflow_create(
                    actor=manager,
                    name=name,
                    description="bench",
                    conditions=conditions,
                    actions=actions,
                    enabled=True,
                )
            )
        timer = services.workflow_create(
            actor=manager,
            name="Remind about unanswered tickets",
            description="bench",
            conditions={
                "all": [
                    row("reply_status", "is", "not_answered"),
                    row("ticket_created", "more_than", 24),
                ],
                "any": [],
            },
            actions=[act("add_note", body="Reminder: unanswered for more than 24 hours.")],
            enabled=True,
        )
        assert all(w.trigger == "event" for w in created), [w.name for w in created]
        assert all("message.received" in listens_to(w.conditions) for w in created)
        assert timer.trigger == "time", timer.trigger
        return {"event_workflows": len(created), "timer_workflow": timer.pk}

    # --- the worker ------------------------------------------------------------------------

    class Worker:
        def __init__(self, args: argparse.Namespace, env: dict[str, str]) -> None:
            self.name = f"wfbench-{os.getpid()}@{socket.gethostname()}"
            command = [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "helpdesk",
                "worker",
                f"--pool={args.pool}",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "--include=bench.workflows",
                "-Q",
                QUEUE,
                "-n",
                self.name,
            ]
            if args.pool == "prefork":
                command.append("--concurrency=1")
            worker_env = {**os.environ, **env, "WFBENCH_WORKER": "1"}
            if args.db_reuse_max:
                worker_env["WFBENCH_DB_REUSE_MAX"] = str(args.db_reuse_max)
            self.log = Path("/tmp") / f"wfbench-worker-{os.getpid()}.log"
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=worker_env,
                stdout=self.log.open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            from helpdesk.celery import app

            self.app = app
            deadline = time.monotonic() + 60
            while not app.control.ping(destination=[self.name], timeout=0.5):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"the worker did not start; see {self.log}")

        def consume(self, on: bool) -> None:
            control = self.app.control
            if on:
                control.add_consumer(QUEUE, destination=[self.name], reply=True, timeout=5)
            else:
                control.cancel_consumer(QUEUE, destination=[self.name], reply=True, timeout=5)

        def cpu_seconds(self) -> float:
            """User + system CPU of the worker's processes (and its children's)."""
            total = 0.0
            pids = [self.process.pid] + [
                int(p.parent.name)
                for p in Path("/proc").glob("[0-9]*/stat")
                if _ppid(p) == self.process.pid
            ]
            for pid in pids:
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            return total

        def stop(self) -> None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)

    def _ppid(stat: Path) -> int:
        try:
            return int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return -1

    def broker() -> Any:
        import redis
        from django.conf import settings

        return redis.Redis.from_url(settings.REDIS_URL)

    def wait_for_key(key: str, seconds: float = 600) -> float:
        client = broker()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = client.get(key)
            if value is not None:
                return float(value)
            time.sleep(0.01)
        raise TimeoutError(key)

    def stream(worker: Worker, label: str, enqueue: Any, count: int) -> dict[str, Any]:
        """Enqueues ``count`` tasks between two markers while the worker does not consume, then
        times the worker draining them (first marker → last marker)."""
        run = uuid.uuid4().hex[:8]
        start_key, end_key = f"wfbench:{run}:start", f"wfbench:{run}:end"
        worker.consume(False)
        time.sleep(0.3)
        produced = time.perf_counter()
        mark_task.delay(start_key)
        enqueue()
        mark_task.delay(end_key)
        produce_seconds = time.perf_counter() - produced
        cpu_before = worker.cpu_seconds()
        worker.consume(True)
        started = wait_for_key(start_key)
        ended = wait_for_key(end_key)
        cpu = worker.cpu_seconds() - cpu_before
        seconds = ended - started
        return {
            "stream": label,
            "tasks": count,
            "seconds": round(seconds, 3),
            "per_second": round(count / seconds, 1),
            "ms_per_task": round(seconds * 1000 / count, 3),
            "worker_cpu_ms_per_task": round(cpu * 1000 / count, 3),
            "enqueue_per_second": round((count + 2) / produce_seconds, 1),
        }

    # --- measurements ----------------------------------------------------------------------

    def open_tickets(org: Any, count: int, rng: random.Random) -> list[Any]:
        from tickets.models import Ticket

        pks = list(
            Ticket.objects.for_organization(org)
            .filter(status__in=["new", "open"], customer__isnull=False)
            .values_list("pk", flat=True)
        )
        chosen = rng.sample(pks, count)
        return list(Ticket.objects.for_organization(org).filter(pk__in=chosen))

    def sender_metadata(address: str) -> dict[str, Any]:
        """What email intake stores with a message (the engine reads the sender from it)."""
        return {"email": {"from": address, "to": ["in0@wfbench.example"]}}

    def receive(ticket: Any, text: str) -> Any:
        from helpdesk.models import CustomerEmail
        from tickets.services.messages import InboundMessage, message_receive

        address = (
            CustomerEmail.objects.for_organization(ticket.organization_id)
            .filter(customer_id=ticket.customer_id)
            .values_list("email", flat=True)
            .first()
        ) or "someone@example.com"
        return message_receive(
            ticket=ticket,
            customer=None,
            inbound=InboundMessage(
                channel="email",
                body_text=text,
                subject=ticket.subject,
                metadata=sender_metadata(address),
            ),
        )

    def tasks_run(worker: Worker) -> dict[str, int]:
        """How many tasks of each name the worker ran so far (its own count)."""
        inspect = worker.app.control.inspect(destination=[worker.name], timeout=5)
        stats: dict[str, Any] = inspect.stats() or {}
        return dict((stats.get(worker.name) or {}).get("total") or {})

    def drain_stream(
        worker: Worker, label: str, produce: Any, count: int, org: Any
    ) -> dict[str, Any]:
        """The engine's rate: ``count`` events written the way the app writes them (the
        services; the outbox enqueues drains on commit, deduplicated) while the worker does not
        consume, then timed from the worker reaching the stream (a marker task enqueued before
        the first event) to the last event marked processed."""
        from automations.models import Event

        run = uuid.uuid4().hex[:8]
        start_key = f"wfbench:{run}:start"
        last = Event.objects.for_organization(org).order_by("-id").values_list("pk", flat=True)
        before_id = last.first() or 0
        worker.consume(False)
        time.sleep(0.3)
        tasks_before = tasks_run(worker)
        produced = time.perf_counter()
        mark_task.delay(start_key)
        produce()
        produce_seconds = time.perf_counter() - produced
        events = Event.objects.for_organization(org).filter(pk__gt=before_id)
        written = events.count()
        cpu_before = worker.cpu_seconds()
        worker.consume(True)
        started = wait_for_key(start_key)
        deadline = time.monotonic() + 600
        while events.filter(processed_at__isnull=True).exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{label}: events left unprocessed")
            time.sleep(0.02)
        cpu = worker.cpu_seconds() - cpu_before
        ended = max(events.values_list("processed_at", flat=True)).timestamp()
        time.sleep(0.5)  # the drains enqueued by the last events find nothing, and end
        tasks_after = tasks_run(worker)
        drains = tasks_after.get(DRAIN, 0) - tasks_before.get(DRAIN, 0)
        others = sum(tasks_after.values()) - sum(tasks_before.values()) - drains - 1
        seconds = ended - started
        return {
            "stream": label,
            "events": written,
            "messages_received": count,
            "seconds": round(seconds, 3),
            "per_second": round(written / seconds, 1),
            "ms_per_event": round(seconds * 1000 / written, 3),
            "worker_cpu_ms_per_event": round(cpu * 1000 / written, 3),
            "drain_tasks": drains,
            "drain_tasks_per_second": round(drains / seconds, 2),
            "events_per_drain_task": round(written / max(drains, 1), 1),
            "other_tasks": others,
            "enqueue_per_second": round(written / produce_seconds, 1),
        }

    DRAIN = "automations.tasks.drain_events_task"

    def measure_throughput(
        args: argparse.Namespace, worker: Worker, org: Any, rng: random.Random
    ) -> dict[str, Any]:
        from automations.models import Event

        tickets = open_tickets(org, args.events + 200, rng)
        warm, timed = tickets[:200], tickets[200:]

        def noop_stream() -> None:
            for _ in range(args.noop):
                noop_task.delay()

        def event_stream(chosen: list[Any]) -> Any:
            def produce() -> None:
                for ticket in chosen:
                    receive(ticket, "Any news about my order? Thank you.")

            return produce

        # Warm-up: imports, compiled workflows, connections.
        stream(worker, "warm-up no-op", noop_stream, args.noop)
        drain_stream(worker, "warm-up engine", event_stream(warm), len(warm), org)

        first_event = Event.objects.for_organization(org).order_by("-id").first()
        results = [stream(worker, "no-op", noop_stream, args.noop)]
        results.append(drain_stream(worker, "engine", event_stream(timed), len(timed), org))
        results.append(stream(worker, "no-op (again)", noop_stream, args.noop))
        events = Event.objects.for_organization(org).filter(pk__gt=first_event.pk)
        unprocessed = events.filter(processed_at__isnull=True).count()
        names = sorted(set(events.values_list("name", flat=True)))
        # Against the faster of the two no-op runs: the stricter comparison.
        noop = max(r["per_second"] for r in results if r["stream"].startswith("no-op"))
        engine = results[1]["per_second"]
        return {
            "streams": results,
            "events": {"names": names, "count": events.count(), "unprocessed": unprocessed},
            "engine_vs_noop": round(engine / noop, 3),
        }

    @contextlib.contextmanager
    def outbox_paused() -> Any:
        """Events are written but no drain is enqueued (the in-process measurements)."""
        from automations.engine import events as outbox

        enqueue = outbox.drain_enqueue
        outbox.drain_enqueue = lambda organization_id: outbox.DrainEnqueued.PENDING  # type: ignore[assignment]
        try:
            yield
        finally:
            outbox.drain_enqueue = enqueue  # type: ignore[assignment]

    def measure_in_process(org: Any, rng: random.Random, count: int = 200) -> dict[str, Any]:
        """The engine's own cost, without broker and connection setup: the same kind of events
        processed in this process (a persistent connection), queries counted — one at a time
        (``event_process``, the per-event path) and as drains of ``count`` events."""
        from django.db import connection, transaction
        from django.test.utils import CaptureQueriesContext

        from automations.engine.batch import events_drain
        from automations.engine.evaluate import event_process
        from automations.models import Event, WorkflowRun

        tickets = open_tickets(org, count, rng)
        event_ids = []
        with outbox_paused():
            for ticket in tickets:
                with transaction.atomic():
                    message = receive(ticket, "Is there any news?")
                event_ids.append(
                    Event.objects.for_organization(org)
                    .filter(ticket=ticket, payload__message=message.pk)
                    .values_list("pk", flat=True)
                    .get()
                )
        scope = Event.objects.for_organization(org).filter(pk__in=event_ids)

        def reset() -> None:
            WorkflowRun.objects.for_organization(org).filter(event_id__in=event_ids).delete()
            scope.update(processed_at=None, attempts=0)

        single_times, single_queries = [], []
        reset()
        scope.update(processed_at=timezone_now())
        for pk in event_ids:
            Event.objects.for_organization(org).filter(pk=pk).update(processed_at=None)
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                event_process(organization_id=org.pk, event_id=pk)
                single_times.append((time.perf_counter() - started) * 1000)
            single_queries.append(len(captured))
        batch_runs = []
        for _ in range(5):
            reset()
            with CaptureQueriesContext(connection) as captured:
                started, cpu = time.perf_counter(), time.process_time()
                done = events_drain(organization_id=org.pk, batch_size=count, time_budget=60)
                seconds = time.perf_counter() - started
                cpu = time.process_time() - cpu
            assert done == count, (done, count)
            batch_runs.append(
                {
                    "ms_per_event": round(seconds * 1000 / count, 3),
                    "cpu_ms_per_event": round(cpu * 1000 / count, 3),
                    "queries": len(captured),
                    "runs_statement_ms": max(
                        float(q["time"]) * 1000
                        for q in captured.captured_queries
                        if q["sql"].startswith('WITH "processed"')
                    ),
                }
            )
        per_event = sorted(run["ms_per_event"] for run in batch_runs)
        return {
            "single_event": {
                "events": count,
                "ms_per_event": {
                    "p50": round(percentile(single_times, 50), 3),
                    "p95": round(percentile(single_times, 95), 3),
                },
                "queries_per_event": {"min": min(single_queries), "max": max(single_queries)},
            },
            "drain": {
                "events_per_batch": count,
                "runs": batch_runs,
                "ms_per_event_median": per_event[len(per_event) // 2],
            },
        }

    def timezone_now() -> Any:
        from django.utils import timezone

        return timezone.now()

    def measure_latency(
        args: argparse.Namespace, worker: Worker, org: Any, rng: random.Random
    ) -> dict[str, Any]:
        from automations.models import Event
        from helpdesk.models import Customer
        from tickets.models import Inbox, Message, MessageKind
        from tickets.services.messages import InboundMessage, message_receive
        from tickets.services.tickets import ticket_create

        inbox = Inbox.objects.for_organization(org).filter(channel="email").first()
        customers = list(Customer.objects.for_organization(org).order_by("?")[: args.paced])
        interval = 1 / args.rate
        tickets = []
        start = time.perf_counter()
        for n, customer in enumerate(customers):
            due = start + n * interval
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            ticket = ticket_create(
                organization=org,
                subject=f"Question {n} about my {rng.choice(ITEMS)}",
                source="email",
                customer=customer,
                inbox=inbox,
            )
            message_receive(
                ticket=ticket,
                customer=customer,
                inbound=InboundMessage(
                    channel="email",
                    body_text="Hello, I have a question about my order.",
                    subject=ticket.subject,
                    metadata=sender_metadata(customer.emails.first().email),
                ),
            )
            tickets.append(ticket.pk)
        offered = len(tickets) / (time.perf_counter() - start)

        def replies() -> dict[int, Any]:
            return dict(
                Message.objects.for_organization(org)
                .filter(ticket_id__in=tickets, kind=MessageKind.AUTOMATED)
                .values_list("ticket_id", "created_at")
            )

        deadline = time.monotonic() + 120
        while len(replies()) < len(tickets) and time.monotonic() < deadline:
            time.sleep(0.2)
        stored = replies()
        events = dict(
            Event.objects.for_organization(org)
            .filter(ticket_id__in=tickets, name="message.received")
            .values_list("ticket_id", "created_at")
        )
        latencies = [
            (stored[pk] - events[pk]).total_seconds() * 1000 for pk in tickets if pk in stored
        ]
        return {
            "tickets": len(tickets),
            "offered_per_second": round(offered, 1),
            "auto_replies": len(stored),
            "latency_ms": {
                "p50": round(percentile(latencies, 50), 1),
                "p95": round(percentile(latencies, 95), 1),
                "max": round(max(latencies), 1),
            },
        }

    def plan_nodes(plan: str) -> list[str]:
        nodes = []
        for line in plan.splitlines():
            if "(cost=" in line:
                node = line.split("(cost=")[0].strip()
                nodes.append(re.sub(r"\s+", " ", node.removeprefix("->").strip()))
        return nodes

    def measure_timer(args: argparse.Namespace, org: Any, timer_id: int) -> dict[str, Any]:
        from django.db import connection

        from automations.engine import timer
        from automations.models import Workflow, WorkflowRun
        from tickets.models import Ticket

        workflow = (
            Workflow.objects.for_organization(org).select_related("organization").get(pk=timer_id)
        )
        now = dt.datetime.now(dt.UTC)
        WorkflowRun.objects.for_organization(org).filter(workflow=workflow).delete()

        def timed(runs: int = 20) -> dict[str, float]:
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                rows = list(timer.timer_candidates(workflow, now, batch_size=args.batch))
                times.append((time.perf_counter() - started) * 1000)
            return {
                "rows": len(rows),
                "p50_ms": round(percentile(times, 50), 2),
                "p95_ms": round(percentile(times, 95), 2),
            }

        def explain() -> dict[str, Any]:
            queryset = timer.timer_candidates(workflow, now, batch_size=args.batch)
            plan = queryset.explain(analyze=True, buffers=True)
            execution = re.search(r"Execution Time: ([\d.]+) ms", plan)
            nodes = plan_nodes(plan)
            return {
                "execution_ms": float(execution.group(1)) if execution else None,
                "seq_scan_on_tickets": "Seq Scan on tickets_ticket" in plan,
                "nodes": nodes,
                "plan": plan,
            }

        qualifying = (
            Ticket.objects.for_organization(org)
            .filter(reply_status="not_answered", created_at__lt=now - dt.timedelta(hours=24))
            .count()
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM tickets_ticket")
            all_tickets = cursor.fetchone()[0]
        first = {"query": timed(), "explain": explain()}
        started = time.perf_counter()
        runs = timer.timer_workflow_scan(workflow, now, batch_size=args.batch)
        batch_seconds = time.perf_counter() - started
        second = {"query": timed(), "explain": explain()}
        # Steady state: every qualifying ticket already had its run for its period, so each
        # minute's scan walks all of them to find the few new ones (here: none).
        run_table = WorkflowRun._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f'INSERT INTO "{run_table}" ("organization_id", "workflow_id", "ticket_id", '
                '"period_at", "outcome", "reason", "actions", "created_at") '
                'SELECT "organization_id", %s, "id", '
                'COALESCE("last_customer_message_at", "created_at"), %s, %s, %s, now() '
                'FROM "tickets_ticket" WHERE "organization_id" = %s AND "reply_status" = %s '
                'AND "created_at" < %s AND "merged_into_id" IS NULL ON CONFLICT DO NOTHING',
                [
                    workflow.pk,
                    "not_matched",
                    "bench: looked at",
                    "[]",
                    org.pk,
                    "not_answered",
                    now - dt.timedelta(hours=24),
                ],
            )
            cursor.execute(f'ANALYZE "{run_table}"')
        steady = {"query": timed(), "explain": explain()}
        return {
            "tickets_in_database": all_tickets,
            "qualifying_in_organization": qualifying,
            "batch_size": args.batch,
            "first_scan": first,
            "one_batch_processed": {"runs": runs, "seconds": round(batch_seconds, 2)},
            "next_scan": second,
            "steady_state_scan": steady,
        }

    def main() -> None:
        args = parse_args()
        skip = set(filter(None, args.skip.split(",")))
        admin_url, bench_url = database_urls(args.database)
        fresh = recreate_database(admin_url, args.database, reuse=args.reuse)
        env = environment(bench_url)
        setup_django(env)
        import django
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection

        from helpdesk.models import Organization

        call_command("migrate", verbosity=0)
        seeded = seed(args) if fresh else "reused"
        org = Organization.objects.get(slug="wfbench")
        made = workflows_create(org, args.workflows)
        rng = random.Random(args.seed + 1)
        load_before = [round(x, 2) for x in os.getloadavg()]
        report: dict[str, Any] = {
            "dataset": seeded,
            "workflows": made,
            "worker": {
                "pool": args.pool,
                "concurrency": 1,
                "db_reuse_max": args.db_reuse_max or settings.CELERY_DB_REUSE_MAX,
                "prefetch_multiplier": 1,
                "acks_late": True,
            },
        }
        worker = Worker(args, env)
        try:
            if "engine" not in skip:
                report["throughput"] = measure_throughput(args, worker, org, rng)
            if "latency" not in skip:
                report["latency"] = measure_latency(args, worker, org, rng)
        finally:
            worker.stop()
        if "engine" not in skip:
            report["in_process"] = measure_in_process(org, rng)
        if "timer" not in skip:
            report["timer"] = measure_timer(args, org, made["timer_workflow"])
        broker().delete(QUEUE)
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            pg_version = cursor.fetchone()[0]
            cursor.execute("SHOW shared_buffers")
            shared_buffers = cursor.fetchone()[0]
        report["machine"] = machine_facts(pg_version, shared_buffers, django.get_version())
        report["calibration_ms"] = calibration()
        report["load_average"] = {
            "before": load_before,
            "after": [round(x, 2) for x in os.getloadavg()],
        }
        text = json.dumps(report, indent=2, ensure_ascii=False, default=str)
        print(text)
        if args.output:
            Path(args.output).write_text(text + "\n")

    main()
