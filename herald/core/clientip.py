"""The address of the person behind a request: what every per-address limit counts.

Behind a reverse proxy every request comes from the proxy's address, so limits
keyed on ``REMOTE_ADDR`` would count every reporter as one. ``X-Forwarded-For``
names the client, but anyone can send that header: it is read only as far as the
proxies named in ``HERALD_TRUSTED_PROXIES`` wrote it, from the right, each proxy
having appended the address it saw:

- a number N: N proxies stand in front of Herald (``1``: one nginx); the client is
  the address the farthest of them saw;
- addresses or networks: walking from ``REMOTE_ADDR`` leftwards, the first address
  that is not one of them is the client;
- unset (or ``0``): ``REMOTE_ADDR``, the header ignored.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in trusted)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # 192.0.2.1:443
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as the trusted proxies saw it; ``REMOTE_ADDR`` without them."""
    remote = request.META.get("REMOTE_ADDR") or None
    trusted = getattr(settings, "HERALD_TRUSTED_PROXIES", 0)
    if not trusted or remote is None:  # 0, unset, or refused by check herald.E021
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    chain = [*forwarded, remote]
    if isinstance(trusted, int):
        found = _address(chain[max(0, len(chain) - 1 - trusted)])
        return str(found) if found is not None else remote
    networks = _networks(tuple(trusted))
    client = remote
    for entry in reversed(chain):
        address = _address(entry)
        if address is None:
            return client  # not written by a proxy: the last address a proxy did write
        client = str(address)
        if not any(address in network for network in networks):
            return client
    return client
