"""Speed of the agent console's ticket list (and the ticket page) over 100,000 tickets.

Usage (PostgreSQL only; the database named by ``--database`` is dropped and created again)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk .venv/bin/python bench/ticket_list.py

It migrates a fresh database, seeds 100,000 tickets in one organization and 100,000 in another
(customers with email addresses, tags, messages) with COPY, then requests each scenario through
Django's test client (the real middleware, sessions, templates) and prints JSON: whole server
time (p50, p95), SQL time and query count per scenario, and an EXPLAIN (ANALYZE) summary of the
list and search queries showing which indexes they use. ``--reuse`` skips the seeding when the
database is already seeded (for trying index changes: run ``migrate`` first).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIRST = [
    "Anna",
    "Maria",
    "Katarzyna",
    "Agnieszka",
    "Barbara",
    "Ewa",
    "Krystyna",
    "Elżbieta",
    "Zofia",
    "Joanna",
    "Magdalena",
    "Monika",
    "Jan",
    "Piotr",
    "Krzysztof",
    "Andrzej",
    "Tomasz",
    "Paweł",
    "Michał",
    "Marcin",
    "Adam",
    "Łukasz",
    "Jakub",
    "Mateusz",
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Sophie",
    "Lucas",
    "Mia",
    "Leon",
    "Hannah",
    "Felix",
    "Lea",
    "Paul",
    "Chloé",
    "Hugo",
    "Camille",
    "Louis",
    "Léa",
    "Jules",
    "Lucía",
    "Mateo",
    "Sofía",
    "Martín",
    "Giulia",
    "Lorenzo",
    "Alice",
    "Francesco",
    "Ana",
    "João",
    "Beatriz",
    "Pedro",
    "Laura",
    "Diego",
]
LAST = [
    "Nowak",
    "Kowalski",
    "Wiśniewski",
    "Wójcik",
    "Kowalczyk",
    "Kamiński",
    "Lewandowski",
    "Zieliński",
    "Szymański",
    "Woźniak",
    "Dąbrowski",
    "Kozłowski",
    "Jankowski",
    "Mazur",
    "Kwiatkowski",
    "Krawczyk",
    "Piotrowski",
    "Grabowski",
    "Nowakowski",
    "Pawłowski",
    "Michalski",
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "Romano",
    "Colombo",
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Pereira",
    "García",
    "López",
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Moore",
    "Jackson",
    "White",
]
DOMAINS = ["example.com", "example.pl", "example.de", "example.fr", "mail.example", "shop.example"]
ITEMS = [
    "mirror",
    "lamp",
    "sofa",
    "chair",
    "table",
    "wardrobe",
    "mattress",
    "pillow",
    "curtain",
    "rug",
    "shelf",
    "desk",
    "bed",
    "cabinet",
    "dresser",
    "bookcase",
    "stool",
    "bench",
    "ottoman",
    "armchair",
    "lantern",
    "vase",
    "clock",
    "frame",
    "blanket",
    "duvet",
    "towel",
    "kettle",
    "toaster",
    "blender",
    "mixer",
    "grinder",
    "juicer",
    "fryer",
    "oven",
    "microwave",
    "fridge",
    "freezer",
    "dishwasher",
    "vacuum",
    "iron",
    "heater",
    "fan",
    "purifier",
    "humidifier",
    "speaker",
    "headphones",
    "charger",
    "cable",
    "adapter",
    "router",
    "keyboard",
    "mouse",
    "monitor",
    "printer",
    "scanner",
    "camera",
    "tripod",
    "drone",
    "watch",
    "bracelet",
    "necklace",
    "ring",
    "earrings",
    "wallet",
    "backpack",
    "suitcase",
    "umbrella",
    "jacket",
    "sweater",
    "trousers",
    "shirt",
    "dress",
    "skirt",
    "boots",
    "sneakers",
    "sandals",
    "gloves",
    "scarf",
    "hat",
    "belt",
    "sunglasses",
    "perfume",
    "shampoo",
    "razor",
    "toothbrush",
]
TEMPLATES = [
    "Broken {item} on arrival",
    "Where is my order {n}?",
    "Refund for the {item}",
    "Return request: {item}",
    "Invoice {n} is wrong",
    "The {item} does not work",
    "Question about the {item}",
    "Missing part for {item}",
    "Change delivery address for order {n}",
    "Payment failed for order {n}",
    "Wrong colour of {item}",
    "Warranty claim {item}",
    "Damaged package, {item} scratched",
    "Cancel order {n}",
    "Discount code not accepted",
    "Exchange {item} for a bigger size",
]
STATUSES = (
    ["new"] * 8
    + ["open"] * 12
    + ["pending"] * 10
    + ["solved"] * 30
    + ["closed"] * 38
    + ["spam"] * 2
)
SOURCES = (
    ["email"] * 50
    + ["web_form"] * 15
    + ["chat"] * 10
    + ["phone"] * 10
    + ["sms"] * 8
    + ["whatsapp"] * 5
    + ["mobile_app"] * 2
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="helpdesk_bench")
    parser.add_argument("--tickets", type=int, default=100_000, help="per organization")
    parser.add_argument("--customers", type=int, default=20_000, help="per organization")
    parser.add_argument("--requests", type=int, default=40, help="timed requests per scenario")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--output", help="also write the JSON to this file")
    parser.add_argument("--seed", type=int, default=20261121)
    return parser.parse_args()


# --- database ------------------------------------------------------------------------------


def database_urls(name: str, script: str = "bench/ticket_list.py") -> tuple[str, str]:
    """The server's maintenance database and the bench database ``name``, on the server of
    ``DATABASE_URL`` (PostgreSQL only)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(f"{script} measures PostgreSQL: set DATABASE_URL=postgres://… (not SQLite)")
    parts = urlsplit(url)
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))
    bench = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    return admin, bench


def recreate_database(admin_url: str, name: str, *, reuse: bool) -> bool:
    """Creates the bench database; returns True when it must be seeded."""
    import psycopg

    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        sys.exit(f"not a plain database name: {name}")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and reuse:
            return False
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return True


def setup_django(bench_url: str) -> None:
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("HELPDESK_TESTING", "1")  # plain static files, "testserver" host
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    import django

    django.setup()


# --- seeding with COPY ---------------------------------------------------------------------


def copy_rows(model: Any, rows: list[dict[str, Any]]) -> None:
    """COPYs ``rows`` into ``model``'s table; columns a row leaves out get the field's default
    (so a field added to the model later does not break the benchmark)."""
    from django.db import connection
    from django.db.models import NOT_PROVIDED

    if not rows:
        return
    fields = list(model._meta.concrete_fields)
    given = set(rows[0])
    constant: dict[str, Any] = {}
    per_row: dict[str, Callable[[], Any]] = {}
    for f in fields:
        if f.attname in given:
            continue
        if f.has_default() and callable(f.default):
            per_row[f.attname] = f.default
        elif f.has_default() and f.default is not NOT_PROVIDED:
            constant[f.attname] = f.default
        elif f.null:
            constant[f.attname] = None
        else:
            constant[f.attname] = f.get_default()
    json_fields = {f.attname for f in fields if f.get_internal_type() == "JSONField"}
    columns = [f.column for f in fields]
    attnames = [f.attname for f in fields]
    column_list = ", ".join(f'"{c}"' for c in columns)
    sql = f'COPY "{model._meta.db_table}" ({column_list}) FROM STDIN'
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(sql) as copy:
            for row in rows:
                values = []
                for name in attnames:
                    if name in row:
                        value = row[name]
                    elif name in per_row:
                        value = per_row[name]()
                    else:
                        value = constant[name]
                    if name in json_fields and value is not None:
                        value = json.dumps(value)
                    values.append(value)
                copy.write_row(values)


def reset_sequences(*models: Any) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f'COALESCE((SELECT MAX(id) FROM "{table}"), 1))'
            )


class Ids:
    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def take(self, name: str) -> int:
        self.next[name] = self.next.get(name, 0) + 1
        return self.next[name]


def seed_organization(
    org: Any,
    *,
    tickets_count: int,
    customers_count: int,
    rng: random.Random,
    ids: Ids,
    now: dt.datetime,
    password: str | None = None,
) -> dict[str, Any]:
    """Fills an organization: 5 teams of 4 agents (``agent<n>@<slug>.example``), an inbox per
    team (email, web form, chat, phone, SMS), 30 tags, ``customers_count`` customers with an
    email address, and ``tickets_count`` tickets over two years (a sixth without a team, the
    status mix of ``STATUSES``, 0–3 tags, a customer message each and an agent reply on the
    answered ones), written with ``COPY``. Returns the row counts and the teams, agents,
    inboxes and tags it made."""
    from helpdesk.models import Customer, CustomerEmail, Membership, Role, Team, TeamMember, User
    from tickets.models import Inbox, Message, Tag, Ticket, TicketCounter, TicketTag

    slug = org.slug
    teams = [
        Team.objects.create(organization=org, name=f"Team {n}", display_name=f"Desk {n}")
        for n in range(5)
    ]
    agents = []
    for n in range(20):
        user = User.objects.create_user(f"agent{n}@{slug}.example", password, name=f"Agent {n}")
        Membership.objects.create(organization=org, user=user, role=Role.AGENT)
        TeamMember.objects.create(organization=org, team=teams[n % 5], user=user)
        agents.append(user)
    channels = ["email", "web_form", "chat", "phone", "sms"]
    inboxes = [
        Inbox.objects.create(
            organization=org,
            team=team,
            name=f"Inbox {n}",
            channel=channels[n],
            address=f"in{n}@{slug}.example" if channels[n] == "email" else "",
        )
        for n, team in enumerate(teams)
    ]
    tags = [Tag.objects.create(organization=org, name=f"tag-{n}") for n in range(30)]

    customers, emails = [], []
    base = ids.next.get("customer", 0)
    for n in range(customers_count):
        cid = ids.take("customer")
        first, last = rng.choice(FIRST), rng.choice(LAST)
        created = now - dt.timedelta(days=rng.randint(0, 900))
        customers.append(
            {
                "id": cid,
                "organization_id": org.pk,
                "name": f"{first} {last}",
                "created_at": created,
                "updated_at": created,
            }
        )
        emails.append(
            {
                "id": ids.take("email"),
                "organization_id": org.pk,
                "customer_id": cid,
                "email": f"{first}.{last}.{n}@{rng.choice(DOMAINS)}".lower(),
            }
        )
    copy_rows(Customer, customers)
    copy_rows(CustomerEmail, emails)

    tickets, links, messages = [], [], []
    for number in range(1, tickets_count + 1):
        tid = ids.take("ticket")
        created = now - dt.timedelta(seconds=rng.randint(0, 730 * 86400))
        updated = min(now, created + dt.timedelta(seconds=rng.randint(0, 5 * 86400)))
        team_index = rng.randrange(6)  # 5 teams, and tickets without a team
        team = teams[team_index] if team_index < 5 else None
        status = rng.choice(STATUSES)
        answered = status in ("pending", "solved", "closed") or rng.random() < 0.3
        assignee = rng.choice(agents) if rng.random() < 0.6 else None
        template = rng.choice(TEMPLATES)
        subject = template.format(item=rng.choice(ITEMS), n=rng.randint(10000, 99999))
        customer_id = base + rng.randint(1, customers_count)
        customer_at = created
        agent_at = created + dt.timedelta(hours=2) if answered else None
        tickets.append(
            {
                "id": tid,
                "organization_id": org.pk,
                "number": number,
                "subject": subject,
                "team_id": team.pk if team else None,
                "inbox_id": inboxes[team_index].pk if team else None,
                "customer_id": customer_id,
                "assignee_id": assignee.pk if assignee else None,
                "status": status,
                "custom_status_id": None,
                "ticket_type": "regular",
                "priority": rng.choice((0, 1, 1, 1, 2, 3)),
                "source": rng.choice(SOURCES),
                "integration_account_id": None,
                "reply_status": "answered" if answered else "not_answered",
                "merged_into_id": None,
                "thread_token": f"{rng.getrandbits(32):08x}",
                "created_at": created,
                "updated_at": updated,
                "first_response_at": agent_at,
                "last_customer_message_at": customer_at,
                "last_agent_message_at": agent_at,
                "last_message_at": agent_at or customer_at,
            }
        )
        for tag in rng.sample(tags, rng.choice((0, 1, 1, 2, 3))):
            links.append(
                {
                    "id": ids.take("tickettag"),
                    "organization_id": org.pk,
                    "ticket_id": tid,
                    "tag_id": tag.pk,
                    "added_by_id": None,
                    "added_at": created,
                }
            )
        messages.append(
            {
                "id": ids.take("message"),
                "organization_id": org.pk,
                "ticket_id": tid,
                "direction": "inbound",
                "kind": "message",
                "author_type": "customer",
                "author_user_id": None,
                "author_customer_id": customer_id,
                "channel": "email",
                "subject": subject,
                "body_text": f"Hello, about {subject.lower()}: please help. " * 3,
                "delivery_status": "received",
                "created_at": customer_at,
                "idempotency_key": uuid.UUID(int=rng.getrandbits(128)),
            }
        )
        if agent_at is not None:
            messages.append(
                {
                    "id": ids.take("message"),
                    "organization_id": org.pk,
                    "ticket_id": tid,
                    "direction": "outbound",
                    "kind": "message",
                    "author_type": "agent",
                    "author_user_id": (assignee or agents[0]).pk,
                    "author_customer_id": None,
                    "channel": "email",
                    "subject": f"Re: {subject}",
                    "body_text": "Thank you, we are on it. " * 4,
                    "delivery_status": "sent",
                    "created_at": agent_at,
                    "idempotency_key": uuid.UUID(int=rng.getrandbits(128)),
                }
            )
    copy_rows(Ticket, tickets)
    copy_rows(TicketTag, links)
    copy_rows(Message, messages)
    TicketCounter.objects.create(organization=org, last_number=tickets_count)
    reset_sequences(Customer, CustomerEmail, Ticket, TicketTag, Message)
    return {
        "tickets": len(tickets),
        "customers": len(customers),
        "ticket_tags": len(links),
        "messages": len(messages),
        "teams": teams,
        "agents": agents,
        "inboxes": inboxes,
        "tags": tags,
    }


COUNTS = ("tickets", "customers", "ticket_tags", "messages")


def seed(args: argparse.Namespace) -> dict[str, Any]:
    from django.db import connection, transaction

    from helpdesk.models import Membership, Organization, Role, User

    rng = random.Random(args.seed)
    ids = Ids()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    started = time.perf_counter()
    summary: dict[str, Any] = {}
    with transaction.atomic():
        for slug in ("bench", "bench-other"):
            org = Organization.objects.create(
                slug=slug, name=slug.title(), time_zone="Europe/Warsaw"
            )
            admin = User.objects.create_user(f"admin@{slug}.example", "pw", name=f"Admin {slug}")
            Membership.objects.create(organization=org, user=admin, role=Role.ADMIN)
            made = seed_organization(
                org,
                tickets_count=args.tickets,
                customers_count=args.customers,
                rng=rng,
                ids=ids,
                now=now,
                password="pw",
            )
            summary[slug] = {key: made[key] for key in COUNTS}
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    summary["seconds"] = round(time.perf_counter() - started, 1)
    return summary


# --- measuring -----------------------------------------------------------------------------


class SqlTimer:
    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start
            self.count += 1


@contextmanager
def sql_timer() -> Iterator[SqlTimer]:
    from django.db import connection

    timer = SqlTimer()
    with connection.execute_wrapper(timer):
        yield timer


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def measure(client: Any, url: str, args: argparse.Namespace, **headers: str) -> dict[str, Any]:
    for _ in range(args.warmup):
        response = client.get(url, **headers)
        assert response.status_code == 200, (url, response.status_code)
    whole, cpu, sql, counts = [], [], [], []
    rows = None
    for _ in range(args.requests):
        with sql_timer() as timer:
            start, start_cpu = time.perf_counter(), time.process_time()
            response = client.get(url, **headers)
            elapsed = time.perf_counter() - start
            cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        whole.append(elapsed * 1000)
        sql.append(timer.seconds * 1000)
        counts.append(timer.count)
        rows = response.content.count(b'id="ticket-row-')
    return {
        "url": url,
        "rows": rows,
        "whole_ms": {
            "p50": round(percentile(whole, 50), 2),
            "p95": round(percentile(whole, 95), 2),
        },
        "sql_ms": {"p50": round(percentile(sql, 50), 2), "p95": round(percentile(sql, 95), 2)},
        # The Django process's own CPU time: what the server spends, less waiting for others.
        "cpu_ms": {"p50": round(percentile(cpu, 50), 2), "p95": round(percentile(cpu, 95), 2)},
        "queries": max(counts),
    }


def plan_summary(queryset: Any) -> dict[str, Any]:
    """The plan's node types with the index each scan uses, and the execution time."""
    plan = queryset.explain(analyze=True, buffers=True)
    nodes = []
    for line in plan.splitlines():
        if "(cost=" not in line:
            continue
        node = line.split("(cost=")[0].strip().removeprefix("->").strip()
        nodes.append(re.sub(r"\s+", " ", node))
    execution = re.search(r"Execution Time: ([\d.]+) ms", plan)
    return {
        "nodes": nodes,
        "seq_scan_on_tickets": any("Seq Scan on tickets_ticket" in n for n in nodes),
        "execution_ms": float(execution.group(1)) if execution else None,
    }


def run(args: argparse.Namespace, seeded: dict[str, Any] | None) -> dict[str, Any]:
    import django
    from django.db import connection
    from django.test import Client

    from helpdesk.models import Customer, CustomerEmail, Membership, Organization, Team
    from tickets.models import Tag, Ticket
    from tickets.selectors.list import (
        TicketFilters,
        cursor_encode,
        ticket_list_queryset,
        ticket_rows,
    )

    load_before = [round(x, 2) for x in os.getloadavg()]
    org = Organization.objects.get(slug="bench")
    admin = Membership.objects.filter(organization=org, role="admin").select_related("user").get()
    agent = (
        Membership.objects.filter(organization=org, user__email="agent3@bench.example")
        .select_related("user", "organization")
        .get()
    )
    team = Team.objects.for_organization(org).get(name="Team 2")
    tag = Tag.objects.for_organization(org).get(name="tag-7")
    tickets = Ticket.objects.for_organization(org)
    count = tickets.count()
    sample = tickets.filter(number=count * 54 // 100).select_related("customer").get()
    active = tickets.filter(status__in=["new", "open", "pending"]).order_by("-updated_at", "-id")
    deep = active[min(20_000, count // 5)]
    numbered = tickets.filter(subject__startswith="Invoice ").order_by("id").first()
    exact_subject = numbered.subject if numbered else sample.subject
    customer_name = sample.customer.name if sample.customer else "Nowak"
    surname = customer_name.split()[-1]
    email = sample.customer.emails.first().email if sample.customer else "nowak"
    base = f"/app/{org.slug}/tickets/"

    def url(**params: str) -> str:
        return f"{base}?{urlencode(params)}" if params else base

    scenarios: dict[str, tuple[Membership, str, dict[str, str]]] = {
        # What any page of the same layout costs here (session, user, membership, base.html).
        "baseline_manage_page": (admin, f"/app/{org.slug}/manage/", {}),
        "list_default_admin": (admin, url(), {}),
        "list_default_agent": (agent, url(), {}),
        "list_200_rows": (admin, url(size="200"), {}),
        "filter_team_open": (admin, url(status="open", team=str(team.pk)), {}),
        "filter_tag": (admin, url(tag=str(tag.pk), status="all"), {}),
        "filter_mine_agent": (agent, url(assignee="mine"), {}),
        "filter_unassigned_email": (admin, url(assignee="unassigned", channel="email"), {}),
        "filter_htmx_partial": (
            admin,
            url(status="pending"),
            {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "ticket-results"},
        ),
        "deep_page_cursor_20000": (
            admin,
            url(cursor=cursor_encode(deep)),
            {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "ticket-table"},
        ),
        "search_number": (admin, url(q=f"#{sample.number}"), {}),
        "search_subject_word_rare": (admin, url(q="humidifier", status="all"), {}),
        "search_subject_word_common": (admin, url(q="refund"), {}),
        "search_subject_exact": (admin, url(q=exact_subject, status="all"), {}),
        "search_customer_name": (admin, url(q=customer_name, status="all"), {}),
        "search_customer_surname": (admin, url(q=surname), {}),
        "search_customer_email": (admin, url(q=email, status="all"), {}),
        "search_agent_subject": (agent, url(q="warranty"), {}),
    }
    results: dict[str, Any] = {}
    clients: dict[int, Any] = {}
    for name, (member, target, headers) in scenarios.items():
        client = clients.get(member.pk)
        if client is None:
            client = clients[member.pk] = Client()
            client.force_login(member.user)
        results[name] = measure(client, target, args, **headers)

    try:
        from django.urls import reverse

        detail = reverse("ticket-detail", kwargs={"org": org.slug, "number": sample.number})
    except Exception as exc:  # noqa: BLE001
        results["ticket_page"] = {"skipped": f"no ticket page yet ({exc.__class__.__name__})"}
    else:
        results["ticket_page"] = measure(clients[admin.pk], detail, args)

    plans = {}
    for name, member, filters in [
        ("list_default", admin, TicketFilters()),
        ("list_default_agent", agent, TicketFilters()),
        ("filter_team_open", admin, TicketFilters(status="open", team=team.pk)),
        ("filter_tag", admin, TicketFilters(status="all", tag=tag.pk)),
        ("search_number", admin, TicketFilters(q=f"#{sample.number}")),
        ("search_subject_word_rare", admin, TicketFilters(q="humidifier", status="all")),
        ("search_subject_word_common", admin, TicketFilters(q="refund")),
        ("search_subject_exact", admin, TicketFilters(q=exact_subject, status="all")),
        ("search_customer_name", admin, TicketFilters(q=customer_name, status="all")),
        ("search_customer_email", admin, TicketFilters(q=email, status="all")),
    ]:
        queryset = ticket_list_queryset(actor=member, filters=filters)
        plans[name] = plan_summary(ticket_rows(queryset)[:51])
    # A text search first looks up the matching customers (see tickets.selectors.list._search).
    for name, q in (("customer_lookup_name", customer_name), ("customer_lookup_email", email)):
        names = Customer.objects.for_organization(org).filter(name__icontains=q).values("pk")
        emails = (
            CustomerEmail.objects.for_organization(org)
            .filter(email__icontains=q)
            .values("customer_id")
        )
        plans[name] = plan_summary(names.order_by().union(emails.order_by())[:501])

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        shared_buffers = cursor.fetchone()[0]
    return {
        "machine": machine_facts(pg_version, shared_buffers, django.get_version()),
        "calibration_ms": calibration(),
        # 1, 5 and 15 minute load averages before and after the measurements.
        "load_average": {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]},
        "dataset": seeded or "reused",
        "settings": {"requests": args.requests, "warmup": args.warmup, "page_size": 50},
        "scenarios": results,
        "plans": plans,
    }


def calibration() -> float:
    """A fixed pure-Python workload (best of 5): how fast this machine ran during the run; the
    shared virtual machines this was written on vary by a factor of two from hour to hour."""
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        total = 0
        for n in range(1_000_000):
            total += n % 7
        best = min(best, time.process_time() - start)
    return round(best * 1000, 1)


def machine_facts(pg_version: str, shared_buffers: str, django_version: str) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) // 1024 // 1024} GiB"
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory": memory,
        "python": platform.python_version(),
        "django": django_version,
        "postgresql": pg_version,
        "shared_buffers": shared_buffers,
        "database_on": "same machine (127.0.0.1)",
    }


def main() -> None:
    args = parse_args()
    admin_url, bench_url = database_urls(args.database)
    fresh = recreate_database(admin_url, args.database, reuse=args.reuse)
    setup_django(bench_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    seeded = seed(args) if fresh else None
    report = run(args, seeded)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")


if __name__ == "__main__":
    main()
