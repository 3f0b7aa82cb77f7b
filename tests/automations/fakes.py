"""Fake HTTP services on loopback for the automation backends: a LibreTranslate server, an
OpenAI-compatible chat-completions server and a webhook receiver, each speaking the real
service's request and answer formats (including its error bodies), in a thread of the test
process (``http.server``)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from automations.webhooks import webhook_signature_valid


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-encoded unless bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (timeouts)


Handler = Callable[[Request], Reply]


class FakeServer:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        fake = self

        class RequestHandler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method="POST",
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length),
                )
                fake.requests.append(request)
                reply = fake.handler(request)
                if reply.delay:
                    time.sleep(reply.delay)
                body = (
                    reply.body
                    if isinstance(reply.body, bytes)
                    else json.dumps(reply.body).encode("utf-8")
                )
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def fake_server(handler: Handler) -> Iterator[FakeServer]:
    with FakeServer(handler) as server:
        yield server


# --- LibreTranslate ---------------------------------------------------------------------------

LIBRETRANSLATE_LANGUAGES = {"en", "fr", "de", "es", "it", "pl", "pt"}


def libretranslate(
    translate: Callable[[str, str, str], str] | None = None,
    *,
    api_key: str = "",
    delay: float = 0.0,
    status: int | None = None,
) -> Handler:
    """``POST /translate`` as LibreTranslate answers it. ``translate(q, source, target)`` gives
    the text (default: ``[target] q``); a wrong key gets 403, an unknown language 400."""

    def handle(request: Request) -> Reply:
        if request.path != "/translate":
            return Reply(404, {"error": "Not Found"})
        if status is not None:
            return Reply(status, {"error": "Slow down"}, delay=delay)
        data = request.json()
        if api_key and data.get("api_key") != api_key:
            return Reply(403, {"error": "Invalid API key"})
        for key in ("q", "source", "target"):
            if not data.get(key):
                return Reply(400, {"error": f"Invalid request: missing {key} parameter"})
        if data["target"] not in LIBRETRANSLATE_LANGUAGES:
            return Reply(400, {"error": f"{data['target']} is not supported"})
        if data.get("format", "text") not in ("text", "html"):
            return Reply(400, {"error": "Invalid format"})
        text = (translate or (lambda q, s, t: f"[{t}] {q}"))(
            data["q"], data["source"], data["target"]
        )
        body: dict[str, Any] = {"translatedText": text}
        if data["source"] == "auto":
            body["detectedLanguage"] = {"confidence": 90.0, "language": "en"}
        return Reply(200, body, delay=delay)

    return handle


# --- OpenAI chat completions ------------------------------------------------------------------


def openai_chat(
    reply: str = "Thanks for writing, we are on it.",
    *,
    api_key: str = "sk-test",
    delay: float = 0.0,
    status: int | None = None,
) -> Handler:
    """``POST /v1/chat/completions`` as OpenAI answers it (errors in its ``error`` object)."""

    def handle(request: Request) -> Reply:
        if request.path != "/v1/chat/completions":
            return Reply(404, {"error": {"message": "Not found", "type": "invalid_request_error"}})
        if request.headers.get("authorization") != f"Bearer {api_key}":
            return Reply(
                401,
                {
                    "error": {
                        "message": "Incorrect API key provided.",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "invalid_api_key",
                    }
                },
            )
        if status is not None:
            return Reply(
                status,
                {"error": {"message": "The server is overloaded.", "type": "server_error"}},
            )
        data = request.json()
        if not data.get("model") or not isinstance(data.get("messages"), list):
            return Reply(
                400, {"error": {"message": "Missing model", "type": "invalid_request_error"}}
            )
        return Reply(
            200,
            {
                "id": "chatcmpl-123",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": data["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 8, "total_tokens": 18},
            },
            delay=delay,
        )

    return handle


# --- webhook receiver -------------------------------------------------------------------------


def webhook_receiver(secret: str, statuses: list[int] | None = None) -> Handler:
    """Answers with ``statuses`` in turn (then 200); a request whose signature does not verify
    gets 401, as a careful receiver would answer."""
    queue = list(statuses or [])

    def handle(request: Request) -> Reply:
        signature = request.headers.get("x-helpdesk-signature", "")
        if not webhook_signature_valid(secret=secret, body=request.body, signature=signature):
            return Reply(401, {"error": "bad signature"})
        status = queue.pop(0) if queue else 200
        return Reply(status, {"ok": status < 300})

    return handle


# --- helpers for the action tests -------------------------------------------------------------


def customer_with_email(
    organization: Any, *, name: str = "Jan Kowalski", email: str = "jan@example.com", **extra: Any
) -> Any:
    from tests.factories import CustomerFactory, add_customer_email

    customer = CustomerFactory(organization=organization, name=name, **extra)
    add_customer_email(customer, email)
    return customer


def workflow_with(
    organization: Any,
    actions: list[dict[str, Any]],
    *,
    conditions: dict[str, Any] | None = None,
    name: str = "Auto",
) -> Any:
    """An enabled event workflow; without conditions it answers every new customer message."""
    from automations.models import Workflow

    return Workflow.objects.create(
        organization=organization,
        name=name,
        description="test",
        enabled=True,
        trigger="event",
        conditions=conditions or {},
        actions=actions,
    )


def action_context(
    ticket: Any, *, workflow_id: int = 0, name: str = "Auto", reason: str = "because"
) -> Any:
    from automations.engine.context import context_for_ticket
    from automations.engine.registry import ActionContext

    ctx = context_for_ticket(ticket, event_name="message.received")
    return ActionContext(ctx=ctx, workflow_id=workflow_id, workflow_name=name, reason=reason)


def run_action(key: str, ticket: Any, params: dict[str, Any], **context: Any) -> str:
    """Cleans ``params`` for the ticket's organization and runs the action as the engine does
    (in a savepoint, acting as the workflow)."""
    from django.db import transaction

    from automations.engine.registry import ACTIONS
    from tickets.provenance import Acting, acting_as

    kind = ACTIONS[key]
    cleaned = kind.clean(ticket.organization, params) if kind.clean else params
    action = action_context(ticket, **context)
    acting = Acting(
        workflow_id=action.workflow_id,
        label=f"Workflow “{action.workflow_name}”",
        reason=action.reason,
        depth=1,
    )
    with transaction.atomic(), acting_as(acting):
        return kind.run(action, cleaned)
