"""Name resolution off the event loop, with a deadline (``getaddrinfo`` itself has none)."""

from __future__ import annotations

import asyncio
import socket


class ResolutionError(OSError):
    """The name did not resolve (unknown, or the resolver did not answer in time)."""


async def resolve(host: str, port: int, timeout_s: float = 2.0) -> list[str]:
    """The distinct addresses ``host`` resolves to for a TCP connection, in the resolver's order."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout_s):
            infos = await loop.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except TimeoutError as exc:
        raise ResolutionError(f"resolving {host} took over {timeout_s} s") from exc
    except socket.gaierror as exc:
        raise ResolutionError(f"{host} does not resolve: {exc.strerror}") from exc
    except UnicodeError as exc:  # the IDNA codec: an empty label or one over 63 characters
        raise ResolutionError(f"{host} is not a name DNS can carry: {exc}") from exc
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        if str(sockaddr[0]) not in addresses:
            addresses.append(str(sockaddr[0]))
    return addresses
