"""Keeps webhook deliveries off the networks behind the server (server-side request forgery).

Threat: an admin account (or a stolen admin token) registers `http://169.254.169.254/...` or
`http://10.0.0.5:6379/` and makes the server talk to its own cloud metadata service, database
or Redis, which trust whoever calls from inside. Defence: only http(s), and every address the
host resolves to must be public. It is checked when an endpoint is registered (a clear 422) and
again right before every attempt, because a name that was public yesterday may resolve to
127.0.0.1 today (DNS rebinding). Redirects are never followed, so a public receiver cannot
bounce the request inward. `GOOFS_WEBHOOK_ALLOW_PRIVATE=true` lifts the address rule, for
receivers on the same private network (and the tests' receiver on loopback).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from galactic_goofs.errors import Unprocessable

SCHEMES = frozenset({"http", "https"})
RESOLVE_TIMEOUT = 5.0
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedUrl(Unprocessable):
    """A URL the sender may not call."""


def parse(url: str) -> tuple[str, int]:
    """The host and port of an http(s) URL, or RefusedUrl saying what is wrong with it."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise RefusedUrl(f"the URL must be http or https, not {parts.scheme or 'nothing'!r}")
    if not parts.hostname:
        raise RefusedUrl("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise RefusedUrl("the URL may not carry a user name or password")
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        raise RefusedUrl("the URL's port is not a number between 0 and 65535") from None
    return parts.hostname, port


def refusal(address: Address) -> str | None:
    """Why the sender may not connect to `address`, or None when it is a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return refusal(address.ipv4_mapped)
    for kind, is_it in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if is_it:
            return f"{address} is a {kind} address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


def check_addresses(host: str, addresses: list[Address]) -> None:
    if not addresses:
        raise RefusedUrl(f"{host!r} does not resolve to any address")
    for address in addresses:
        if reason := refusal(address):
            raise RefusedUrl(
                f"webhooks may not point at private networks: {host!r} resolves to {reason} "
                "(set GOOFS_WEBHOOK_ALLOW_PRIVATE=true to allow it)"
            )


async def resolve(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
    except (OSError, UnicodeError, TimeoutError) as error:
        raise RefusedUrl(f"the host {host!r} could not be resolved ({error})") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


async def check(url: str, *, allow_private: bool) -> None:
    """Refuse (RefusedUrl, a 422) a URL the sender may not call."""
    host, port = parse(url)
    if allow_private:
        return
    check_addresses(host, await resolve(host, port))
