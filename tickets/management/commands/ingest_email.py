"""Reads one RFC 5322 message from standard input into an inbox, for an MTA pipe:

    support: "|/srv/helpdesk/.venv/bin/python /srv/helpdesk/manage.py ingest_email --inbox 3"

Exit codes follow sysexits.h, which MTAs understand: 0 once the mail is stored (processed, a
duplicate, or failed and kept for a manager to look at); 75 (EX_TEMPFAIL) when it could not
even be stored, so the MTA keeps it and tries again; 65 (EX_DATAERR) for empty or oversized
input and 67 (EX_NOUSER) for an unknown inbox, which the MTA bounces to the sender.
"""

from __future__ import annotations

import sys
from typing import Any, BinaryIO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError

from tickets.email.inbound import email_ingest
from tickets.email.selectors import inbox_for_ingest

EX_OK = 0
EX_DATAERR = 65
EX_NOUSER = 67
EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Read one email message from standard input into an email inbox (for an MTA pipe)."
    stealth_options = ("stdin",)
    # Run once per mail by the MTA: start quickly.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--inbox", required=True, help="The inbox's id, or its email address.")

    def handle(self, *args: Any, **options: Any) -> None:
        stdin: BinaryIO = options.get("stdin") or sys.stdin.buffer
        code = self.ingest(options["inbox"], stdin)
        if code != EX_OK:
            sys.exit(code)

    def ingest(self, inbox_ref: str, stdin: BinaryIO) -> int:
        limit = settings.INBOUND_EMAIL_MAX_BYTES
        raw = stdin.read(limit + 1)
        if len(raw) > limit:
            self.stderr.write(f"rejected: the mail is larger than {limit} bytes")
            return EX_DATAERR
        if not raw.strip():
            self.stderr.write("rejected: no mail on standard input")
            return EX_DATAERR
        try:
            inboxes = inbox_for_ingest(inbox=inbox_ref)
        except DatabaseError as exc:
            self.stderr.write(f"deferred: the database is not available ({exc})")
            return EX_TEMPFAIL
        if len(inboxes) != 1:
            problem = "is ambiguous, use the inbox id" if inboxes else "is not an email inbox"
            self.stderr.write(f"rejected: {inbox_ref!r} {problem}")
            return EX_NOUSER
        inbox = inboxes[0]
        if not inbox.active:
            self.stderr.write(f"rejected: inbox {inbox.pk} is not active")
            return EX_NOUSER
        try:
            inbound = email_ingest(inbox=inbox, raw=raw)
        except (DatabaseError, OSError) as exc:
            self.stderr.write(f"deferred: the mail could not be stored ({exc})")
            return EX_TEMPFAIL
        summary = f"{inbound.state}: inbound email {inbound.pk} on inbox {inbox.pk}"
        if inbound.message is not None:
            summary += f", ticket #{inbound.message.ticket.number}"
        if inbound.error:
            summary += f" ({inbound.error})"
        self.stdout.write(summary)
        return EX_OK
