"""``manage.py ingest_email``: one mail on standard input, as an MTA pipe delivers it."""

from __future__ import annotations

import io
import subprocess
import sys
from typing import Any

import pytest
from django.core.management import call_command

from tests.conftest import ROOT, _worker_env
from tests.factories import TeamFactory
from tests.tickets.emails import sample
from tests.tickets.factories import make_inbox
from tickets.models import Channel, InboundEmail, Ticket


@pytest.fixture
def inbox(org):  # type: ignore[no-untyped-def]
    return make_inbox(org, TeamFactory(organization=org, name="Support"))


def _ingest(inbox_ref: str, raw: bytes) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("ingest_email", inbox=inbox_ref, stdin=io.BytesIO(raw), stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_a_mail_by_inbox_id(org, inbox) -> None:  # type: ignore[no-untyped-def]
    code, out, _err = _ingest(str(inbox.pk), sample("plain"))
    ticket = Ticket.objects.for_organization(org).get()
    assert code == 0
    assert out.strip().startswith("processed: inbound email")
    assert f"ticket #{ticket.number}" in out


@pytest.mark.django_db
def test_a_mail_by_inbox_address_in_any_case(org, inbox) -> None:  # type: ignore[no-untyped-def]
    code, out, _err = _ingest("Support@ACME.example", sample("plain"))
    assert code == 0 and out.startswith("processed")


@pytest.mark.django_db
def test_duplicates_and_failed_mail_still_exit_0(org, inbox) -> None:  # type: ignore[no-untyped-def]
    assert _ingest(str(inbox.pk), sample("plain"))[0] == 0
    code, out, _err = _ingest(str(inbox.pk), sample("plain"))
    assert (code, out.split(":")[0]) == (0, "duplicate")
    code, out, _err = _ingest(str(inbox.pk), sample("garbage"))
    assert code == 0
    assert out.startswith("failed") and "no sender address" in out
    assert InboundEmail.objects.for_organization(org).count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize("ref", ["999999", "nobody@acme.example"])
def test_an_unknown_inbox_bounces(org, inbox, ref) -> None:  # type: ignore[no-untyped-def]
    code, _out, err = _ingest(ref, sample("plain"))
    assert code == 67
    assert "not an email inbox" in err
    assert not InboundEmail.objects.for_organization(org).exists()


@pytest.mark.django_db
def test_non_email_and_inactive_inboxes_bounce(org, inbox) -> None:  # type: ignore[no-untyped-def]
    sms = make_inbox(org, inbox.team, name="Texts", channel=Channel.SMS, address="+48500100200")
    assert _ingest(str(sms.pk), sample("plain"))[0] == 67
    inbox.active = False
    inbox.save()
    code, _out, err = _ingest(str(inbox.pk), sample("plain"))
    assert code == 67 and "not active" in err


@pytest.mark.django_db
def test_an_address_used_by_two_organizations_needs_the_id(org, other_org, inbox) -> None:  # type: ignore[no-untyped-def]
    make_inbox(other_org, TeamFactory(organization=other_org, name="Theirs"))
    code, _out, err = _ingest("support@acme.example", sample("plain"))
    assert code == 67 and "ambiguous" in err
    assert _ingest(str(inbox.pk), sample("plain"))[0] == 0


@pytest.mark.django_db
def test_empty_or_oversized_input_is_a_data_error(org, inbox, settings) -> None:  # type: ignore[no-untyped-def]
    assert _ingest(str(inbox.pk), b"")[0] == 65
    settings.INBOUND_EMAIL_MAX_BYTES = 100
    code, _out, err = _ingest(str(inbox.pk), sample("plain"))
    assert code == 65 and "larger than 100 bytes" in err
    assert not InboundEmail.objects.for_organization(org).exists()


@pytest.mark.django_db
def test_storage_down_is_a_temporary_failure(org, inbox, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tickets.email import inbound

    def storage_down(*args: Any, **kwargs: Any) -> None:
        raise OSError("Read-only file system")

    monkeypatch.setattr(inbound, "_store_raw", storage_down)
    code, _out, err = _ingest(str(inbox.pk), sample("plain"))
    assert code == 75
    assert "could not be stored" in err


def _run(args: list[str], raw: bytes, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "manage.py", "ingest_email", *args],
        input=raw,
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_a_real_pipe_with_the_database_down_exits_75(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The MTA keeps the mail and tries again later."""
    import os

    env = dict(os.environ)
    env["HELPDESK_TESTING"] = "1"
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/missing-dir/db.sqlite3"
    result = _run(["--inbox", "support@acme.example"], sample("plain"), env)
    assert result.returncode == 75, result.stderr.decode()
    assert b"deferred" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_a_real_pipe_delivers_into_the_inbox(org, inbox) -> None:  # type: ignore[no-untyped-def]
    result = _run(["--inbox", str(inbox.pk)], sample("plain"), _worker_env())
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().startswith("processed")
    ticket = Ticket.objects.for_organization(org).get()
    assert ticket.inbox_id == inbox.pk
    with InboundEmail.objects.for_organization(org).get().raw.open("rb") as handle:
        assert handle.read() == sample("plain")
