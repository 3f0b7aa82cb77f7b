"""Sample mail (``*.eml``) and a fake SMTP server on loopback for the email tests."""

from __future__ import annotations

import socket
from collections import deque
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def sample(name: str, **replace: str) -> bytes:
    """The bytes of ``<name>.eml``, with ``REPLACE-<KEY>`` placeholders filled in."""
    raw = (HERE / f"{name}.eml").read_bytes()
    for key, value in replace.items():
        raw = raw.replace(f"REPLACE-{key.upper().replace('_', '-')}".encode(), value.encode())
    # The files are stored with LF line ends; mail on the wire has CRLF.
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SMTPHandler:
    """Answers RCPT and DATA with the queued replies (then 250) and keeps what it accepted."""

    rcpt_replies: deque[str] = field(default_factory=deque)
    data_replies: deque[str] = field(default_factory=deque)
    received: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    attempts: int = 0

    async def handle_RCPT(  # aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.rcpt_replies.popleft() if self.rcpt_replies else "250 OK"
        if reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return reply

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.attempts += 1
        reply = self.data_replies.popleft() if self.data_replies else "250 2.0.0 Ok: queued"
        if reply.startswith("250"):
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            message = message_from_bytes(envelope.original_content, policy=policy.default)
            assert isinstance(message, EmailMessage)
            self.received.append(message)
        return reply


class FakeSMTPServer:
    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.handler = SMTPHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[EmailMessage]:
        return self.handler.received
