"""Reading real-world mail: charsets, HTML, attachments, machines, broken MIME."""

from __future__ import annotations

import pytest

from tests.tickets.emails import sample
from tickets.email.parse import (
    EmailParseError,
    email_parse,
    html_inline_images,
    html_sanitize,
    html_to_text,
)


def test_plain_mail_with_encoded_headers_and_quoted_printable_body() -> None:
    parsed = email_parse(sample("plain"))
    assert parsed.from_address == "jan.kowalski@example.com"
    assert parsed.from_name == "Jan Kowalski"
    assert parsed.subject == "Zamówienie 1234 – pęknięte lustro"
    assert parsed.message_id == "<CAJx7plain0001@mail.example.com>"
    assert parsed.to == ["support@acme.example"]
    assert parsed.text.startswith("Dzień dobry,\n\nlustro z zamówienia 1234 przyszło pęknięte.")
    assert parsed.html == ""
    assert parsed.date is not None and parsed.date.utcoffset() is not None
    assert parsed.sender_is_automated is False
    assert parsed.automated_reason == ""
    assert parsed.attachments == []
    assert parsed.defects == []


def test_html_only_mail_is_sanitised_and_gets_a_plain_text() -> None:
    parsed = email_parse(sample("html_only"))
    html = parsed.html
    forbidden = ["<script", "alert(", "onclick", "onload", "onerror", "<style", "display:none"]
    forbidden += ["javascript:", "<form", "<input", "<iframe", "position:fixed", "<title"]
    for bad in forbidden:
        assert bad not in html, bad
    assert '<a href="https://shop.example/orders/42"' in html
    assert 'rel="noopener noreferrer"' in html
    # A relative link would point into the helpdesk itself.
    assert "/app/acme/manage/" not in html
    assert "<b>support</b>" in html
    assert "<li>Item one</li>" in html
    text = parsed.text
    assert "Hello support," in text
    assert "My order #42 is late." in text
    assert "- Item one" in text
    assert "Thanks & regards,\nMallory" in text
    assert "alert" not in text and "display:none" not in text and "Order" not in text


def test_multipart_with_inline_image_and_attachments() -> None:
    parsed = email_parse(sample("attachments"))
    assert parsed.text == "Hello, the photo is below and the invoice is attached."
    assert '<img src="cid:photo1@example.org" alt="photo">' in parsed.html
    assert parsed.reply_to == "ewa.orders@example.org"
    assert parsed.reply_address == "ewa.orders@example.org"
    assert parsed.cc == ["piotr@example.org"]
    by_name = {attachment.filename: attachment for attachment in parsed.attachments}
    assert set(by_name) == {"damage.png", "faktura żółta.pdf", "invoice.exe"}
    image = by_name["damage.png"]
    assert image.inline is True
    assert image.content_id == "photo1@example.org"
    assert image.content_type == "image/png"
    assert image.content.startswith(b"\x89PNG")
    pdf = by_name["faktura żółta.pdf"]
    assert pdf.inline is False and pdf.content.startswith(b"%PDF-1.4")


def test_legacy_and_unknown_charsets() -> None:
    parsed = email_parse(sample("charset"))
    assert parsed.from_name == "Zbigniew Łuczak"
    assert parsed.subject == "Reklamacja żaluzji"
    assert "Dzień dobry, żaluzja jest uszkodzona." in parsed.text
    # Declared as a charset nobody knows; the bytes are UTF-8.
    assert "Zażółć gęślą jaźń" in parsed.text


def test_bounce_is_automated_and_points_at_the_returned_message() -> None:
    parsed = email_parse(sample("bounce", original="<abc@acme.example>"))
    assert parsed.sender_is_automated is True
    assert parsed.automated_reason == "bounce (multipart/report)"
    assert parsed.returned_message_ids == ["<abc@acme.example>"]
    assert "abc@acme.example" in "".join(parsed.thread_ids)
    assert "550 5.1.1 User unknown" in parsed.text
    names = [attachment.filename for attachment in parsed.attachments]
    assert "delivery-status.txt" in names
    assert any(attachment.content_type == "message/rfc822" for attachment in parsed.attachments)


def test_out_of_office_reply_is_automated() -> None:
    parsed = email_parse(sample("out_of_office", in_reply_to="<x@acme.example>"))
    assert parsed.sender_is_automated is True
    assert parsed.automated_reason == "Auto-Submitted: auto-replied"
    assert parsed.in_reply_to == ["<x@acme.example>"]


def test_mailing_list_mail_is_automated() -> None:
    parsed = email_parse(sample("mailing_list"))
    assert parsed.sender_is_automated is True
    assert parsed.automated_reason == "Precedence: list"


def test_no_reply_sender_is_automated() -> None:
    parsed = email_parse(sample("noreply"))
    assert parsed.sender_is_automated is True
    assert parsed.automated_reason == "no-reply sender (no-reply@parcels.example)"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ("Auto-Submitted: auto-generated\n", "Auto-Submitted: auto-generated"),
        ("Auto-Submitted: no\n", ""),
        ("Precedence: bulk\n", "Precedence: bulk"),
        ("Precedence: junk\n", "Precedence: junk"),
        ("Precedence: auto_reply\n", "Precedence: auto_reply"),
        ("Precedence: first-class\n", ""),
        ("List-Id: <news.example.com>\n", "mailing list (List-Id)"),
        ("List-Unsubscribe: <mailto:u@example.com>\n", "mailing list (List-Unsubscribe)"),
        ("X-Autoreply: yes\n", "auto-reply (X-Autoreply)"),
        ("X-Autorespond: vacation\n", "auto-reply (X-Autorespond)"),
        ("X-Auto-Response-Suppress: OOF, DR\n", "auto-reply (X-Auto-Response-Suppress)"),
        ("X-Auto-Response-Suppress: DR, RN\n", ""),
        ("Return-Path: <>\n", "bounce (empty Return-Path)"),
        ("Return-Path: <someone@example.com>\n", ""),
    ],
)
def test_automated_headers(headers: str, reason: str) -> None:
    raw = f"From: someone@example.com\n{headers}Subject: hi\n\nbody\n".encode()
    parsed = email_parse(raw)
    assert parsed.automated_reason == reason
    assert parsed.sender_is_automated is bool(reason)


@pytest.mark.parametrize(
    ("sender", "automated"),
    [
        ("noreply@shop.example", True),
        ("no-reply@shop.example", True),
        ("no_reply+orders@shop.example", True),
        ("donotreply@shop.example", True),
        ("do-not-reply@shop.example", True),
        ("bounce@lists.example", True),
        ("bounces+123@lists.example", True),
        ("MAILER-DAEMON@mx.example", True),
        ("postmaster@mx.example", True),
        ("noreen@example.com", False),
        ("reply@example.com", False),
    ],
)
def test_no_reply_senders(sender: str, automated: bool) -> None:
    parsed = email_parse(f"From: {sender}\nSubject: x\n\nbody\n".encode())
    assert parsed.sender_is_automated is automated


def test_broken_mime_is_salvaged_with_its_defects_recorded() -> None:
    parsed = email_parse(sample("malformed"))
    assert parsed.from_address == "broken@example.com"
    assert parsed.message_id == "<malformed-0001@example.com>"
    assert parsed.subject.startswith("Broken mail")
    assert parsed.date is None  # "not a date at all"
    assert "this text must survive" in parsed.text
    assert "zażółć" in parsed.text  # the valid UTF-8 around the invalid bytes is kept
    assert "\x00" not in parsed.text
    assert "A multipart without a boundary: its text is kept too." in parsed.text
    assert "CloseBoundaryNotFoundDefect" in parsed.defects
    assert "NoBoundaryInMultipartDefect" in parsed.defects
    assert [attachment.filename for attachment in parsed.attachments] == ["data.bin"]


def test_mail_without_a_sender_cannot_be_parsed() -> None:
    with pytest.raises(EmailParseError, match="no sender address"):
        email_parse(sample("garbage"))


def test_threading_headers() -> None:
    raw = (
        b"From: a@example.com\nMessage-ID: <m3@example.com>\n"
        b"In-Reply-To: <m2@example.com>\n"
        b"References: <m1@example.com>\n <m2@example.com>\nSubject: Re: x\n\nbody\n"
    )
    parsed = email_parse(raw)
    assert parsed.in_reply_to == ["<m2@example.com>"]
    assert parsed.references == ["<m1@example.com>", "<m2@example.com>"]
    assert parsed.thread_ids == ["<m2@example.com>", "<m1@example.com>"]


def test_message_id_without_brackets_is_normalised() -> None:
    parsed = email_parse(b"From: a@example.com\nMessage-ID: bare-id@example.com\n\nbody\n")
    assert parsed.message_id == "<bare-id@example.com>"


def test_sanitiser_and_text_conversion_helpers() -> None:
    assert html_sanitize('<p onclick="x()">hi<script>x()</script></p>') == "<p>hi</p>"
    assert html_sanitize('<img src="data:image/png;base64,AAAA">') == "<img>"
    assert html_to_text("<div>one</div><div>two<br>three</div>") == "one\n\ntwo\nthree"


def test_inline_images_point_at_their_attachments_for_display() -> None:
    html = email_parse(sample("attachments")).html
    shown = html_inline_images(html, {"photo1@example.org": '/a/1/?x=1&y="2'})
    assert 'src="/a/1/?x=1&amp;y=&quot;2"' in shown
    assert "cid:" not in shown
    assert 'src=""' in html_inline_images(html, {})
