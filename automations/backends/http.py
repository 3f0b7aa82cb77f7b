"""A small, strict HTTP client for the calls workflows make to the outside world (translation,
AI, webhooks).

- Only ``http`` and ``https`` URLs; no redirects followed; no proxies from the environment.
- Private, loopback, link-local and other non-public addresses are refused unless the
  deployment allows them (``AUTOMATION_WEBHOOK_ALLOW_PRIVATE``): a tenant must not be able to
  make the server call its own internal network. The host is resolved once, every address is
  checked, and the connection goes to a checked address (no second lookup that could answer
  differently: DNS rebinding).
- One timeout bounds connecting and each read; the body read is capped in size.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

MAX_RESPONSE_BYTES = 2 * 1024 * 1024
USER_AGENT = "Helpdesk-Automations/1.0"


class HttpError(Exception):
    """A call that did not get a usable answer; ``str(error)`` says why, for the run log."""

    retryable = False
    status: int | None = None


class UnsafeUrlError(HttpError):
    """The URL is not one the server may call (scheme, or a private address)."""


class HttpTimeoutError(HttpError):
    retryable = True


class HttpConnectionError(HttpError):
    retryable = True


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        """Worth trying again: the server is overloaded or failing, not refusing the request."""
        return self.status >= 500 or self.status in (408, 425, 429)


def allow_private_addresses() -> bool:
    """Deployments that call services on their own network (a self-hosted LibreTranslate, an
    internal webhook receiver) and the tests turn this on. The environment variable is read
    when the settings module does not define it (a worker started by the tests)."""
    value = getattr(settings, "AUTOMATION_WEBHOOK_ALLOW_PRIVATE", None)
    if value is None:
        value = os.environ.get("AUTOMATION_WEBHOOK_ALLOW_PRIVATE", "").lower() in {
            "1",
            "true",
            "yes",
        }
    return bool(value)


def _address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def url_check(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an allowed URL's syntax; raises UnsafeUrlError. Does not
    resolve the host (see ``resolve``)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrlError(_("That is not a valid URL.")) from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeUrlError(_("Only http:// and https:// addresses can be called."))
    host = parts.hostname or ""
    if not host:
        raise UnsafeUrlError(_("The URL has no host."))
    if parts.username or parts.password:
        raise UnsafeUrlError(_("Put credentials in the secret, not in the URL."))
    return scheme, host, port or (443 if scheme == "https" else 80)


def host_is_literal_private(host: str) -> bool:
    """Whether ``host`` is an IP address that is not public (no DNS lookup)."""
    try:
        return not _address_is_public(host)
    except ValueError:
        return host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(
            ".localhost"
        )


def resolve(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The addresses to connect to, each checked; raises UnsafeUrlError or
    HttpConnectionError."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise HttpConnectionError(
            _("Could not resolve %(host)s (%(error)s).") % {"host": host, "error": exc}
        ) from exc
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = str(sockaddr[0])
        if not allow_private and not _address_is_public(address):
            raise UnsafeUrlError(
                _("%(host)s is a private or local address; it cannot be called.") % {"host": host}
            )
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise HttpConnectionError(_("Could not resolve %(host)s.") % {"host": host})
    return addresses


def _connect(address: str, port: int, timeout: float) -> socket.socket:
    return socket.create_connection((address, port), timeout=timeout)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = _connect(self._address, self.port, self.timeout)  # type: ignore[arg-type]


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = _connect(self._address, self.port, self.timeout)  # type: ignore[arg-type]
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post_json(
    url: str,
    payload: Any,
    *,
    timeout: float,
    headers: dict[str, str] | None = None,
    allow_private: bool | None = None,
) -> HttpResponse:
    """POSTs ``payload`` (JSON-encoded, or ``bytes`` sent as they are) and returns the answer,
    whatever its status. Raises UnsafeUrlError, HttpTimeoutError, HttpConnectionError."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
    scheme, host, port = url_check(url)
    allow = allow_private_addresses() if allow_private is None else allow_private
    addresses = resolve(host, port, allow_private=allow)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    send_headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
        **(headers or {}),
    }
    deadline = time.monotonic() + timeout
    last_error: HttpError | None = None
    for address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
        connection = connection_class(host, port, address, remaining)
        try:
            connection.request("POST", target, body=body, headers=send_headers)
            response = connection.getresponse()
            data = response.read(MAX_RESPONSE_BYTES + 1)
            if len(data) > MAX_RESPONSE_BYTES:
                raise HttpError(_("The answer was too large."))
            return HttpResponse(
                status=response.status,
                body=data,
                headers={key.lower(): value for key, value in response.getheaders()},
            )
        except TimeoutError as exc:
            raise HttpTimeoutError(
                _("%(host)s did not answer within %(seconds)s seconds.")
                % {"host": host, "seconds": f"{timeout:g}"}
            ) from exc
        except ssl.SSLError as exc:
            raise HttpError(
                _("The secure connection to %(host)s failed (%(error)s).")
                % {"host": host, "error": exc.reason or exc}
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            last_error = HttpConnectionError(
                _("Could not reach %(host)s (%(error)s).")
                % {"host": host, "error": str(exc) or exc.__class__.__name__}
            )
        finally:
            connection.close()
    if last_error is None:
        last_error = HttpTimeoutError(
            _("%(host)s did not answer within %(seconds)s seconds.")
            % {"host": host, "seconds": f"{timeout:g}"}
        )
    raise last_error
