"""Attachments on the ticket page: uploads through Django's storage with limits and clear
errors, and downloads only for the owning organization, with safe headers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from helpdesk.models import Membership, Organization, Role
from tests.factories import TeamFactory, add_team_member
from tests.tickets.factories import make_ticket
from tickets.models import Attachment, Message, MessageKind, Ticket

pytestmark = pytest.mark.django_db

ClientFor = Callable[[Membership], Client]
HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name: str, **kwargs: Any) -> str:
    return reverse(name, kwargs={"org": "acme", **kwargs})


def stored_files() -> list[Path]:
    root = Path(django_settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def team(org: Organization, agent: Membership) -> Any:
    team = TeamFactory(organization=org, name="Returns")
    add_team_member(team, agent.user)
    return team


@pytest.fixture
def ticket(org: Organization, team: Any) -> Ticket:
    return make_ticket(org, subject="Broken mirror", team=team)


def attach(ticket: Ticket, filename: str, content: bytes, content_type: str) -> Attachment:
    message = ticket.messages.first()
    assert message is not None
    attachment = Attachment(
        organization_id=ticket.organization_id,
        message=message,
        filename=filename,
        content_type=content_type,
        size=len(content),
    )
    attachment.file.save("upload", ContentFile(content), save=True)
    return attachment


# --- uploads --------------------------------------------------------------------------------


def test_reply_and_note_store_their_attachments_through_the_storage(
    org: Organization, agent: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    client = client_for(agent)
    response = client.post(
        url("ticket-reply", number=ticket.number),
        {
            "body": "Here is the label.",
            "attachments": [
                SimpleUploadedFile("label.pdf", b"%PDF-1.4 label", content_type="application/pdf"),
                SimpleUploadedFile("photo.png", b"\x89PNG photo", content_type="image/png"),
            ],
        },
    )
    assert response.status_code == 302
    reply = Message.objects.get(ticket=ticket, kind=MessageKind.MESSAGE, direction="outbound")
    files = list(reply.attachments.order_by("id"))
    assert [(a.filename, a.content_type, a.size) for a in files] == [
        ("label.pdf", "application/pdf", 14),
        ("photo.png", "image/png", 10),
    ]
    for attachment in files:
        # Under the organization, by an unguessable name, never the sender's file name.
        assert attachment.file.name.startswith(f"attachments/{org.pk}/")
        assert attachment.filename not in attachment.file.name
    assert files[0].file.read() == b"%PDF-1.4 label"

    response = client.post(
        url("ticket-note", number=ticket.number),
        {"body": "", "attachments": [SimpleUploadedFile("notes.txt", b"internal")]},
        **HTMX,
    )
    assert response.status_code == 200
    note = Message.objects.get(ticket=ticket, kind=MessageKind.NOTE)
    assert note.attachments.get().filename == "notes.txt"
    download = url("attachment-download", attachment_id=note.attachments.get().pk)
    assert f'href="{download}"' in response.content.decode()


def test_too_large_attachment_is_refused_with_a_clear_error_and_nothing_is_stored(
    agent: Membership, ticket: Ticket, client_for: ClientFor, settings: Any
) -> None:
    settings.ATTACHMENT_MAX_BYTES = 10
    before = stored_files()
    response = client_for(agent).post(
        url("ticket-reply", number=ticket.number),
        {"body": "See attached", "attachments": [SimpleUploadedFile("big.pdf", b"x" * 11)]},
    )
    assert response.status_code == 400
    assert "“big.pdf” is 11\xa0bytes; attachments can be at most 10\xa0bytes." in (
        response.content.decode()
    )
    assert not Message.objects.filter(ticket=ticket, direction="outbound").exists()
    assert stored_files() == before


def test_blocked_file_type_is_refused_with_a_clear_error_and_nothing_is_stored(
    agent: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    before = stored_files()
    response = client_for(agent).post(
        url("ticket-note", number=ticket.number),
        {
            "body": "Run this",
            "attachments": [
                SimpleUploadedFile("fine.txt", b"fine"),
                SimpleUploadedFile("setup.EXE", b"MZ..."),
            ],
        },
        **HTMX,
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert "“setup.EXE” is a .exe file; such files cannot be attached." in content
    assert 'id="note"' in content  # the note form comes back with the error, text kept
    assert ">\nRun this</textarea>" in content
    assert not Message.objects.filter(ticket=ticket, kind=MessageKind.NOTE).exists()
    assert not Attachment.objects.filter(
        organization=ticket.organization_id, filename="fine.txt"
    ).exists()
    assert stored_files() == before


def test_too_many_attachments_are_refused(
    agent: Membership, ticket: Ticket, client_for: ClientFor, settings: Any
) -> None:
    settings.ATTACHMENT_MAX_COUNT = 1
    response = client_for(agent).post(
        url("ticket-reply", number=ticket.number),
        {
            "body": "x",
            "attachments": [SimpleUploadedFile("a.txt", b"a"), SimpleUploadedFile("b.txt", b"b")],
        },
    )
    assert response.status_code == 400
    assert "At most 1 attachments per message." in response.content.decode()


# --- downloads ------------------------------------------------------------------------------


def test_download_is_an_attachment_with_safe_headers(
    agent: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    attachment = attach(ticket, "Zażółć faktura.pdf", b"%PDF-1.4", "application/pdf")
    response = client_for(agent).get(url("attachment-download", attachment_id=attachment.pk))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4"  # type: ignore[attr-defined]
    assert response["Content-Type"] == "application/pdf"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=utf-8''Za%C5%BC%C3%B3%C5%82%C4%87%20faktura.pdf" in disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "private" in response["Cache-Control"]
    assert "sandbox" in response["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [
        ("page.html", "text/html"),
        ("page.htm", ""),
        ("logo.svg", "image/svg+xml"),
        ("feed.xml", "application/xml"),
        ("script.txt", "application/javascript"),
        ("odd.bin", "text/html; charset=utf-8"),
    ],
)
def test_html_svg_and_scripts_are_never_served_as_such(
    agent: Membership, ticket: Ticket, client_for: ClientFor, filename: str, content_type: str
) -> None:
    attachment = attach(ticket, filename, b"<script>alert(1)</script>", content_type)
    response = client_for(agent).get(url("attachment-download", attachment_id=attachment.pk))
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")


def test_quotes_and_line_breaks_in_the_file_name_cannot_break_the_header(
    agent: Membership, ticket: Ticket, client_for: ClientFor
) -> None:
    attachment = attach(ticket, 'a"b\r\nX-Evil: 1.txt', b"x", "text/plain")
    response = client_for(agent).get(url("attachment-download", attachment_id=attachment.pk))
    assert response.status_code == 200
    assert "X-Evil" not in response.headers
    assert "\n" not in response["Content-Disposition"]


def test_viewer_may_download(viewer: Membership, ticket: Ticket, client_for: ClientFor) -> None:
    attachment = attach(ticket, "a.txt", b"x", "text/plain")
    response = client_for(viewer).get(url("attachment-download", attachment_id=attachment.pk))
    assert response.status_code == 200


def test_other_organization_and_agents_outside_the_team_get_404(
    org: Organization,
    ticket: Ticket,
    outsider: Membership,
    make_member: Any,
    client_for: ClientFor,
) -> None:
    attachment = attach(ticket, "secret.txt", b"secret", "text/plain")
    stranger = make_member(org, Role.AGENT, email="stranger@acme.example")
    assert (
        client_for(stranger)
        .get(url("attachment-download", attachment_id=attachment.pk))
        .status_code
        == 404
    )
    client = client_for(outsider)
    for slug in ("acme", "other"):
        path = reverse("attachment-download", kwargs={"org": slug, "attachment_id": attachment.pk})
        assert client.get(path).status_code == 404


def test_storage_path_is_not_a_public_url(
    ticket: Ticket, client_for: ClientFor, agent: Membership
) -> None:
    attachment = attach(ticket, "secret.txt", b"secret", "text/plain")
    response = Client().get(f"/media/{attachment.file.name}")
    assert response.status_code == 404
    anonymous = Client().get(url("attachment-download", attachment_id=attachment.pk))
    assert anonymous.status_code == 302  # to the sign-in page
