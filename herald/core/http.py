"""The one way Herald makes outbound HTTP requests (webhooks, Slack, anything else).

Guarantees: http and https only; a timeout on every socket operation and a
deadline on the whole exchange; at most ``MAX_REDIRECTS`` redirects, each
checked like the first URL; a capped response body; and private, loopback,
link-local and other non-public addresses refused unless
``HERALD_HTTP_ALLOW_NETWORKS`` lists them. The address is checked on the
resolved IP the socket connects to, not on the host name, so a name that
resolves to a public address at check time and to 127.0.0.1 at connect time
(DNS rebinding) is still refused.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urljoin, urlsplit

from django.conf import settings

MAX_REDIRECTS = 3
DEFAULT_TIMEOUT = 10.0
MAX_BODY = 256 * 1024
USER_AGENT = "Herald (security advisory desk)"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class HTTPError(Exception):
    """The request did not get a response: bad URL, refused address, network, timeout."""


class RefusedAddress(HTTPError):
    pass


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str
    redirects: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def allowed_networks() -> tuple[IPNetwork, ...]:
    """Non-public networks the operator allows (setting or environment), e.g. 127.0.0.0/8."""
    raw = getattr(settings, "HERALD_HTTP_ALLOW_NETWORKS", None)
    if raw is None:
        raw = settings.HERALD_ENV.get("HERALD_HTTP_ALLOW_NETWORKS", "")
    if isinstance(raw, str):
        raw = [part for part in raw.replace(",", " ").split() if part]
    return _parse_networks(tuple(raw))


@cache
def _parse_networks(items: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in items)


def check_address(ip: str) -> None:
    """Raise RefusedAddress unless ``ip`` is public or in an allowed network."""
    address: IPAddress = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_global and not address.is_multicast:
        return
    if any(address in net for net in allowed_networks() if net.version == address.version):
        return
    raise RefusedAddress(
        f"{address} is not a public address; outbound requests to it are refused "
        "(allow it with HERALD_HTTP_ALLOW_NETWORKS)"
    )


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    """Resolve, check every candidate address, and connect to the first that answers."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise HTTPError(f"cannot resolve {host}: {exc.strerror}") from None
    last: Exception | None = None
    for family, socktype, proto, _, sockaddr in infos:
        check_address(str(sockaddr[0]))  # refuses before any packet is sent
        sock = socket.socket(family, socktype, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    why = (getattr(last, "strerror", None) or str(last) or "no answer").lower()
    raise HTTPError(f"cannot connect to {host}:{port}: {why}")  # not "[Errno 111] ..."


class _CheckedHTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        self.sock = _connect(self.host, self.port, float(self.timeout or DEFAULT_TIMEOUT))


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    def connect(self) -> None:
        sock = _connect(self.host, self.port, float(self.timeout or DEFAULT_TIMEOUT))
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(sock, server_hostname=self.host)


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_redirects: int = MAX_REDIRECTS,
    max_body: int = MAX_BODY,
) -> Response:
    """Send one request, following up to ``max_redirects`` redirects. Raises HTTPError.

    At most ``max_body`` bytes of the answer are read (a peer cannot fill memory).
    """
    deadline = time.monotonic() + timeout
    redirects: list[str] = []
    current = url
    while True:
        parts = urlsplit(current)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HTTPError(f"{current[:200]!r} is not an http(s) URL")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise HTTPError(f"timed out after {timeout:g}s")
        conn_class = _CheckedHTTPSConnection if parts.scheme == "https" else _CheckedHTTPConnection
        conn = conn_class(parts.hostname, parts.port, timeout=remaining)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent_headers = {"User-Agent": USER_AGENT, **(headers or {})}
        try:
            conn.request(method, path, body=body, headers=sent_headers)
            raw = conn.getresponse()
            data = raw.read(max_body)
            status, response_headers = raw.status, {k.lower(): v for k, v in raw.getheaders()}
        except HTTPError:
            raise
        except (OSError, http.client.HTTPException) as exc:
            raise HTTPError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from None
        finally:
            conn.close()
        location = response_headers.get("location")
        if status in (301, 302, 303, 307, 308) and location:
            if len(redirects) >= max_redirects:
                raise HTTPError(f"more than {max_redirects} redirects")
            redirects.append(current)
            current = urljoin(current, location)
            if status == 303:
                method, body = "GET", None
            continue
        return Response(status, response_headers, data, current, redirects)
