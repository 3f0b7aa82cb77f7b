"""Reading one RFC 5322 message: addresses, threading headers, bodies, attachments, and whether
a machine sent it.

Mail from the outside world is often broken: wrong or unknown charsets, bad base64, missing
MIME boundaries, undecodable headers. The parser salvages what it can and records the problems
in ``ParsedEmail.defects``; it raises ``EmailParseError`` only when the mail cannot be handled at
all (no sender address). HTML bodies leave here sanitised with nh3; the plain text is kept, or
derived from the HTML when the mail has none.
"""

from __future__ import annotations

import codecs
import datetime as dt
import email
import mimetypes
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header, make_header
from email.message import Message as MimeMessage
from email.utils import getaddresses, parsedate_to_datetime
from html import escape, unescape
from html.parser import HTMLParser

import nh3
from django.utils.translation import gettext_noop

# Hostile nesting of multiparts must not exhaust the stack.
MAX_MIME_DEPTH = 30
MAX_REFERENCES = 50
MESSAGE_ID_MAX_LENGTH = 998

_MESSAGE_ID = re.compile(r"<[^<>\s]{1,996}>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class EmailParseError(Exception):
    """The mail cannot be turned into a message; ``str(error)`` is an untranslated reason."""


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content: bytes
    content_type: str
    content_id: str = ""
    inline: bool = False


@dataclass(frozen=True)
class ParsedEmail:
    from_address: str
    from_name: str
    reply_to: str
    to: list[str]
    cc: list[str]
    subject: str
    message_id: str
    in_reply_to: list[str]
    references: list[str]
    date: dt.datetime | None
    text: str
    html: str
    attachments: list[ParsedAttachment]
    sender_is_automated: bool
    automated_reason: str
    # Message-IDs of a returned message inside a bounce: they thread the bounce to its ticket.
    returned_message_ids: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    @property
    def reply_address(self) -> str:
        """Where the sender wants answers to go."""
        return self.reply_to or self.from_address

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this mail answers, nearest first."""
        ids: list[str] = []
        for mid in [*self.in_reply_to, *reversed(self.references), *self.returned_message_ids]:
            if mid not in ids:
                ids.append(mid)
        return ids[:MAX_REFERENCES]


# --- text helpers --------------------------------------------------------------------------


def clean_text(value: str) -> str:
    """No NUL or other control characters (PostgreSQL refuses NUL in text)."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def _one_line(value: str) -> str:
    return " ".join(clean_text(value).split())


def _known_charset(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


def _decode_bytes(payload: bytes, charset: str | None) -> str:
    """``payload`` in its declared charset, or the first that fits; never raises.

    A declared charset that the bytes do not fit is usually a lie of two kinds: 8-bit text
    declared as ASCII (or not declared), which reads best as UTF-8 or else Windows-1252, and a
    few stray bytes in otherwise valid text, which read best in the declared charset with the
    strays replaced."""
    declared = (charset or "").strip().strip('"').lower()
    if declared in {"gb2312", "gbk"}:
        declared = "gb18030"  # what senders mean by gb2312 in practice
    known = bool(declared) and _known_charset(declared)
    for name in ([declared] if known else []) + ["utf-8"]:
        try:
            return payload.decode(name)
        except UnicodeDecodeError:
            continue
    if known and codecs.lookup(declared).name not in {"ascii", "utf-8"}:
        return payload.decode(declared, errors="replace")
    if known and codecs.lookup(declared).name == "utf-8":
        return payload.decode("utf-8", errors="replace")
    return payload.decode("cp1252", errors="replace")


def _header(msg: MimeMessage, name: str) -> str:
    """A header's decoded value; a header the stdlib cannot parse is decoded by hand."""
    value = None
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - the stdlib's header parser raises on hostile input
        value = None
    if value is not None:
        return str(value)
    for key, raw in msg.raw_items() if hasattr(msg, "raw_items") else msg.items():
        if key.lower() == name.lower():
            try:
                return str(make_header(decode_header(str(raw))))
            except Exception:  # noqa: BLE001 - undecodable: keep the raw text
                return str(raw)
    return ""


def _message_ids(value: str) -> list[str]:
    ids: list[str] = []
    for mid in _MESSAGE_ID.findall(value):
        if mid not in ids:
            ids.append(mid)
    return ids


def _message_id(value: str) -> str:
    value = value.strip()
    ids = _message_ids(value)
    if ids:
        return ids[0]
    token = value.split()[0] if value.split() else ""
    return f"<{token.strip('<>')}>"[:MESSAGE_ID_MAX_LENGTH] if token.strip("<>") else ""


def _addresses(msg: MimeMessage, name: str) -> list[tuple[str, str]]:
    """(display name, address) pairs of an address header; entries without an @ are dropped."""
    pairs: list[tuple[str, str]] = []
    header = None
    try:
        header = msg.get(name)
    except Exception:  # noqa: BLE001 - see _header
        header = None
    addresses = getattr(header, "addresses", None) if header is not None else None
    if addresses:
        for address in addresses:
            addr = (address.addr_spec or "").strip()
            if "@" in addr and not addr.startswith("@"):
                pairs.append((_one_line(address.display_name or ""), addr))
    if not pairs:
        for display, addr in getaddresses([_header(msg, name)]):
            addr = addr.strip()
            if "@" in addr and not addr.startswith("@"):
                pairs.append((_one_line(display), addr))
    return [(display, clean_text(addr)) for display, addr in pairs]


def _date(msg: MimeMessage) -> dt.datetime | None:
    value = _header(msg, "Date")
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


# --- HTML ------------------------------------------------------------------------------------

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "center", "cite", "code", "dd", "del",
    "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "span", "strike",
    "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan", "align", "valign"},
    "th": {"colspan", "rowspan", "align", "valign", "scope"},
    "ol": {"start"},
    "*": {"dir", "lang"},
}
# ``cid:`` keeps inline images addressable (their attachments keep the Content-ID). Relative
# URLs are dropped: in a helpdesk page they would point into the helpdesk itself.
URL_SCHEMES = {"http", "https", "mailto", "cid"}

_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    clean_content_tags={"script", "style", "title", "head", "noscript", "template"},
    attributes=ALLOWED_ATTRIBUTES,
    link_rel="noopener noreferrer",
    set_tag_attribute_values={"a": {"target": "_blank"}},
    url_schemes=URL_SCHEMES,
    url_relative="deny",
    strip_comments=True,
)


def html_sanitize(html: str) -> str:
    """A safe subset of ``html`` for display: no scripts, styles, event handlers or forms."""
    return _cleaner.clean(clean_text(html)).strip()


_CID_SRC = re.compile(r'src="cid:([^"]*)"')


def html_inline_images(html: str, urls: Mapping[str, str]) -> str:
    """Sanitised ``html`` with its ``cid:`` images pointing at ``urls[content_id]`` (the
    download addresses of the message's stored attachments); unknown ones lose their source.
    For display only: the stored body keeps ``cid:`` (URLs change, Content-IDs do not)."""

    def replace(match: re.Match[str]) -> str:
        url = urls.get(unescape(match.group(1)))
        return f'src="{escape(url)}"' if url else 'src=""'

    return _CID_SRC.sub(replace, html)


class _TextExtractor(HTMLParser):
    BLOCK = {
        "p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
        "pre", "table", "ul", "ol", "dl", "dt", "dd", "hr", "center",
    }  # fmt: skip
    SKIP = {"script", "style", "head", "title", "noscript", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")
            if tag == "li":
                self.parts.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(self.skipping - 1, 0)
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body (for mail that has no text part)."""
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:  # noqa: BLE001 - a broken document still has text in it
        return _one_line(unescape(re.sub(r"<[^>]*>", " ", html)))
    lines = [" ".join(line.split()) for line in "".join(extractor.parts).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# --- machines --------------------------------------------------------------------------------

_NO_REPLY_LOCAL_PARTS = {
    "noreply", "donotreply", "bounce", "bounces", "mailerdaemon", "postmaster",
}  # fmt: skip
_BULK_PRECEDENCE = {"bulk", "list", "junk", "auto_reply"}
_SUPPRESS_VALUES = {"all", "oof", "autoreply"}


def _local_part(address: str) -> str:
    local = address.rpartition("@")[0].lower().split("+", 1)[0]
    return re.sub(r"[-_.]", "", local)


def automated_reason(msg: MimeMessage, from_address: str) -> str:
    """Why this mail comes from a machine that must never get an automated reply (RFC 3834
    and what mail software does in practice), or "" for a person."""
    content_type = _header(msg, "Content-Type").lower()
    if content_type.startswith("multipart/report"):
        return "bounce (multipart/report)"
    return_path = _header(msg, "Return-Path").strip()
    if return_path and return_path.strip("<> \t") == "":
        return "bounce (empty Return-Path)"
    local = _local_part(from_address)
    if local in {"mailerdaemon", "postmaster"}:
        return f"bounce ({from_address})"[:100]
    auto_submitted = _header(msg, "Auto-Submitted").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"[:100]
    precedence = _header(msg, "Precedence").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in ("List-Id", "List-Unsubscribe"):
        if _header(msg, name).strip():
            return f"mailing list ({name})"
    for name in ("X-Autoreply", "X-Autorespond"):
        value = _header(msg, name).strip().lower()
        if value and value != "no":
            return f"auto-reply ({name})"
    suppress = {v.strip().lower() for v in _header(msg, "X-Auto-Response-Suppress").split(",")}
    if suppress & _SUPPRESS_VALUES:
        return "auto-reply (X-Auto-Response-Suppress)"
    if local in _NO_REPLY_LOCAL_PARTS or local.startswith(("noreply", "donotreply")):
        return f"no-reply sender ({from_address})"[:100]
    return ""


# --- MIME parts ------------------------------------------------------------------------------


def _leaves(part: MimeMessage, defects: list[str], depth: int = 0) -> Iterator[MimeMessage]:
    """The leaf parts in order; an attached message (message/rfc822) is one leaf."""
    if depth > MAX_MIME_DEPTH:
        defects.append("MIME parts nested too deeply; the rest was skipped")
        return
    if part.get_content_maintype() == "multipart":
        payload = part.get_payload()
        if isinstance(payload, list):
            for sub in payload:
                if isinstance(sub, MimeMessage):
                    yield from _leaves(sub, defects, depth + 1)
            return
    yield part


def _part_bytes(part: MimeMessage) -> bytes:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    inner = part.get_payload()
    if isinstance(inner, list):  # message/* parts hold messages
        chunks = []
        for sub in inner:
            if not isinstance(sub, MimeMessage):
                continue
            try:
                chunks.append(sub.as_bytes(policy=policy.SMTP.clone(linesep="\n")))
            except Exception:  # noqa: BLE001 - a broken inner message is kept as text
                chunks.append(str(sub).encode("utf-8", "replace"))
        return b"\n".join(chunks)
    if isinstance(inner, str):
        return inner.encode("utf-8", "surrogateescape")
    return b""


def _part_text(part: MimeMessage) -> str:
    try:
        charset = part.get_content_charset()
    except Exception:  # noqa: BLE001 - a broken Content-Type parameter
        charset = None
    return clean_text(_decode_bytes(_part_bytes(part), charset))


def _filename(part: MimeMessage) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:  # noqa: BLE001 - undecodable RFC 2231 parameters
        name = ""
    return _one_line(str(name))


def _guess_name(content_type: str, index: int, fallback: str = "attachment") -> str:
    extension = mimetypes.guess_extension(content_type) or ".bin"
    return f"{fallback}-{index}{extension}"


def _returned_ids(part: MimeMessage) -> list[str]:
    """Message-IDs of the original message a bounce carries."""
    content_type = part.get_content_type()
    if content_type == "message/rfc822":
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], MimeMessage):
            return _message_ids(_header(inner[0], "Message-ID"))
    if content_type == "text/rfc822-headers":
        match = re.search(r"^Message-ID:\s*(.+)$", _part_text(part), re.I | re.M)
        return _message_ids(match.group(1)) if match else []
    return []


def _content_id(part: MimeMessage) -> str:
    return _header(part, "Content-ID").strip().strip("<>")[:255]


def email_parse(raw: bytes) -> ParsedEmail:
    """Everything the helpdesk needs from ``raw``; see the module docstring."""
    msg = email.message_from_bytes(raw, policy=policy.default)
    defects = [type(defect).__name__ for defect in msg.defects]
    senders = _addresses(msg, "From") or _addresses(msg, "Sender")
    if not senders:
        raise EmailParseError(gettext_noop("The mail has no sender address."))
    from_name, from_address = senders[0]
    reply_to = _addresses(msg, "Reply-To")
    is_report = msg.get_content_type() == "multipart/report"

    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[ParsedAttachment] = []
    returned: list[str] = []
    for index, part in enumerate(_leaves(msg, defects), start=1):
        defects.extend(type(defect).__name__ for defect in part.defects if part is not msg)
        content_type = part.get_content_type()
        disposition = part.get_content_disposition()
        filename = _filename(part)
        if is_report:
            returned += [mid for mid in _returned_ids(part) if mid not in returned]
        if (
            content_type in ("text/plain", "text/html")
            and disposition != "attachment"
            and not filename
        ):
            (texts if content_type == "text/plain" else htmls).append(_part_text(part))
            continue
        if part.get_content_maintype() == "multipart":
            # A multipart whose boundary never appears: its body is all there is.
            texts.append(_part_text(part))
            continue
        content = _part_bytes(part)
        if content_type == "message/rfc822":
            filename = filename or f"message-{index}.eml"
        elif content_type == "message/delivery-status":
            filename = filename or "delivery-status.txt"
            content_type = "text/plain"
        attachments.append(
            ParsedAttachment(
                filename=filename or _guess_name(content_type, index),
                content=content,
                content_type=content_type,
                content_id=_content_id(part),
                inline=disposition == "inline" or (disposition is None and bool(_content_id(part))),
            )
        )

    text = "\n\n".join(t.strip("\n") for t in texts if t.strip())
    raw_html = "\n".join(htmls)
    html = html_sanitize(raw_html) if raw_html.strip() else ""
    if not text and raw_html.strip():
        text = html_to_text(raw_html)
    reason = automated_reason(msg, from_address)
    return ParsedEmail(
        from_address=from_address,
        from_name=from_name,
        reply_to=reply_to[0][1] if reply_to else "",
        to=[addr for _name, addr in _addresses(msg, "To")],
        cc=[addr for _name, addr in _addresses(msg, "Cc")],
        subject=_one_line(_header(msg, "Subject")),
        message_id=_message_id(_header(msg, "Message-ID")),
        in_reply_to=_message_ids(_header(msg, "In-Reply-To"))[:MAX_REFERENCES],
        references=_message_ids(_header(msg, "References"))[-MAX_REFERENCES:],
        date=_date(msg),
        text=text,
        html=html,
        attachments=attachments,
        sender_is_automated=bool(reason),
        automated_reason=reason,
        returned_message_ids=returned[:MAX_REFERENCES],
        defects=sorted(set(defects)),
    )
