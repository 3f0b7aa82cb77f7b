"""Shared fixtures: tenants and members, real Redis, a real Celery worker, a live ASGI server and
a real Chromium.

Redis, the worker and the browser are skipped (with the reason) where absent, except under
``CI=true``, where their absence fails the run.
"""

from __future__ import annotations

import os

os.environ.setdefault("HELPDESK_TESTING", "1")

import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from helpdesk.models import Membership, Organization, Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def skip_or_fail(reason: str) -> None:
    """Absent infrastructure: a skip on a developer's machine, a failure in CI."""
    if CI:
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """A request that switched the language (the test client runs in this thread) does not
    leak that language into the next test."""
    from django.utils import translation

    translation.activate("en-us")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> None:
    """Uploaded files of a test go to its own temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


# --- tenants and people ------------------------------------------------------------------


@pytest.fixture
def org(db: None) -> Organization:
    return OrganizationFactory(slug="acme", name="Acme", time_zone="Europe/Warsaw")


@pytest.fixture
def other_org(db: None) -> Organization:
    return OrganizationFactory(slug="other", name="Other", time_zone="America/New_York")


@pytest.fixture
def make_member(db: None) -> Callable[..., Membership]:
    def make(organization: Organization, role: str = Role.AGENT, **user: Any) -> Membership:
        return MembershipFactory(organization=organization, role=role, user=UserFactory(**user))

    return make


@pytest.fixture
def admin(org: Organization, make_member: Callable[..., Membership]) -> Membership:
    return make_member(org, Role.ADMIN, email="admin@acme.example", name="Ada Admin")


@pytest.fixture
def manager(org: Organization, make_member: Callable[..., Membership]) -> Membership:
    return make_member(org, Role.MANAGER, email="manager@acme.example", name="Max Manager")


@pytest.fixture
def agent(org: Organization, make_member: Callable[..., Membership]) -> Membership:
    return make_member(org, Role.AGENT, email="agent@acme.example", name="Alex Agent")


@pytest.fixture
def viewer(org: Organization, make_member: Callable[..., Membership]) -> Membership:
    return make_member(org, Role.VIEWER, email="viewer@acme.example", name="Vic Viewer")


@pytest.fixture
def outsider(other_org: Organization, make_member: Callable[..., Membership]) -> Membership:
    """An admin of another organization: must never see anything of ``org``."""
    return make_member(other_org, Role.ADMIN, email="admin@other.example", name="Otto Outsider")


@pytest.fixture
def client_for() -> Callable[[Membership], Client]:
    def make(membership: Membership) -> Client:
        client = Client()
        client.force_login(membership.user)
        return client

    return make


# --- Redis and a real Celery worker -------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = settings.REDIS_URL
    if not url:
        skip_or_fail("REDIS_URL is not set")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        skip_or_fail(f"Redis at {url} does not answer: {exc}")
    return url


def _worker_env() -> dict[str, str]:
    """The worker process talks to the *test* database the test is writing to."""
    env = dict(os.environ)
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        user = db.get("USER") or ""
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        auth = f"{user}{password}@" if user else ""
        host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
        env["DATABASE_URL"] = f"postgres://{auth}{host}/{db['NAME']}"
    env["CELERY_TASK_ALWAYS_EAGER"] = "false"
    env["CELERY_QUEUE"] = settings.CELERY_TASK_DEFAULT_QUEUE
    env["MEDIA_ROOT"] = str(settings.MEDIA_ROOT)
    env["HELPDESK_TESTING"] = "1"
    return env


@pytest.fixture
def celery_worker(redis_url: str, transactional_db: None) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``celery worker`` process on the real broker, against the test database."""
    from helpdesk.celery import app

    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    name = f"test-{os.getpid()}-{time.monotonic_ns()}@%h"
    log = ROOT / "test-artifacts" / "celery-worker.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "helpdesk",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "-Q",
                queue,
                "-n",
                name,
            ],
            cwd=ROOT,
            env=_worker_env(),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"the Celery worker exited early; see {log}")
            if app.control.ping(timeout=0.5):
                break
        else:
            pytest.fail(f"the Celery worker did not answer within 30 s; see {log}")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def real_celery(settings: Any, redis_url: str) -> Iterator[None]:
    """Send tasks to the broker instead of running them in the test process."""
    from helpdesk.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


def _forget_pending_drains() -> None:
    """Deletes this run's "a drain is pending" keys (``automations.engine.events``)."""
    import redis
    from django.core.cache import cache

    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(match=cache.make_key("wf-drain-pending:*"), count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _no_pending_drains(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that sends tasks to the real broker leaves no "a drain of organization N is
    pending" key behind: it would keep the next test's first event (organizations get the same
    ids again) from enqueueing its drain for a minute."""
    if "real_celery" not in request.fixturenames:
        yield
        return
    _forget_pending_drains()
    yield
    _forget_pending_drains()


class Worker:
    """A ``celery worker`` process started by ``start_worker``: it can be stopped, or killed
    (SIGKILL) with or without its pool processes, as a crash would."""

    def __init__(self, process: subprocess.Popen[bytes], name: str, log: Path) -> None:
        self.process = process
        self.name = name
        self.log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    def pool_pids(self) -> list[int]:
        """The pool's child processes (prefork), read from /proc."""
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.pid:
                children.append(int(stat.parent.name))
        return children

    def kill_pool(self) -> list[int]:
        """SIGKILLs the pool processes only (the main process notices and starts new ones)."""
        pids = self.pool_pids()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        return pids

    def kill(self) -> None:
        """SIGKILLs the worker and its pool at once, as an out-of-memory kill or a power cut
        would: nothing is acknowledged or rejected."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=15)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()


def _forget_unacked(redis_url: str, queue: str) -> None:
    """Drops the broker's record of messages a killed worker took from ``queue`` (they would
    be restored an hour later into a queue nobody reads)."""
    import json

    import redis

    client = redis.Redis.from_url(redis_url)
    for tag, raw in client.hscan_iter("unacked"):
        try:
            routing_key = json.loads(raw)[2]
        except (ValueError, IndexError, TypeError):
            continue
        if routing_key == queue:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)
    client.delete(queue)


@pytest.fixture
def start_worker(redis_url: str, transactional_db: None) -> Iterator[Callable[..., Worker]]:
    """Starts real ``celery worker`` processes on the test queue, against the test database:
    ``start_worker(pool="prefork", concurrency=1, include=("module",), env={...})``. Each runs in
    a process group of its own (so ``kill()`` takes its pool with it) and is stopped at the end;
    the call returns once that very worker answers a ping."""
    from helpdesk.celery import app

    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    started: list[Worker] = []
    log = ROOT / "test-artifacts" / "celery-worker.log"
    log.parent.mkdir(exist_ok=True)

    def start(
        *,
        pool: str = "solo",
        concurrency: int = 1,
        include: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> Worker:
        name = f"test-{os.getpid()}-{time.monotonic_ns()}@{socket.gethostname()}"
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "helpdesk",
            "worker",
            f"--pool={pool}",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-Q",
            queue,
            "-n",
            name,
        ]
        if pool != "solo":
            command.append(f"--concurrency={concurrency}")
        if include:
            command.append(f"--include={','.join(include)}")
        with log.open("ab") as log_file:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**_worker_env(), **(env or {})},
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = Worker(process, name, log)
        started.append(worker)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"the Celery worker exited early; see {log}")
            if app.control.ping(destination=[name], timeout=0.5):
                return worker
        pytest.fail(f"the Celery worker did not answer within 30 s; see {log}")

    try:
        yield start
    finally:
        for worker in started:
            worker.stop()
        _forget_unacked(redis_url, queue)


# --- live ASGI server (HTTP + websockets) and a real browser -------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    def __init__(self) -> None:
        import uvicorn

        from helpdesk.asgi import application

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            application,
            host="127.0.0.1",
            port=self.port,
            lifespan="off",
            log_level="warning",
            ws="websockets-sansio",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the live server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_app(transactional_db: None, settings: Any) -> Iterator[LiveServer]:
    """uvicorn serving ``helpdesk.asgi`` in a thread of this process, on the test database."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
    settings.SITE_URL = "http://127.0.0.1"
    server = LiveServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"Chromium is not installed at {CHROMIUM} (Debian package 'chromium')")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the tests still use Django's
    # ORM synchronously around it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        out = ROOT / "test-artifacts" / f"{request.node.name}.png"
        out.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(out), full_page=True)
    context.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Browser tests last: they are the slowest and share the session's Chromium.
    items.sort(key=lambda item: "e2e" in item.keywords)


def login(page: Any, live_app: LiveServer, email: str, password: str = "pw") -> None:  # noqa: S107
    page.goto(f"{live_app.url}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def which(name: str) -> str | None:
    return shutil.which(name)
