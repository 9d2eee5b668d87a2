"""``PACER_REDIS_URL``, read in one place: a Redis server (``redis://``, ``rediss://``,
``unix://``, as redis-py reads them) or Redis Sentinels that name the current primary
(contract section 2)::

    redis+sentinel://[[user]:password@]host:port[,host:port...]/<service-name>/<db>

The credentials are the data nodes' (the primary's and its replicas'); the sentinels are asked
without them. A sentinel without a port is on 26379, Sentinel's own default; ``/<db>`` may be
left out for database 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from shared.url_passwords import without_password

SENTINEL_SCHEME = "redis+sentinel"
SENTINEL_DEFAULT_PORT = 26379


class RedisUrlError(ValueError):
    """A ``redis+sentinel://`` URL that cannot be read (the message says why)."""


@dataclass(frozen=True)
class SentinelUrl:
    sentinels: tuple[tuple[str, int], ...]
    service_name: str
    db: int = 0
    username: str | None = None
    password: str | None = None

    def server_url(self) -> str:
        """A ``redis://`` URL with this URL's credentials and database, the first sentinel as
        its address: what FastStream's Sentinel broker reads its options from (it asks the
        sentinels for the address itself)."""
        userinfo = ""
        if self.password is not None or self.username is not None:
            userinfo = f"{self.username or ''}:{self.password or ''}@"
        host, port = self.sentinels[0]
        shown = f"[{host}]" if ":" in host else host
        return f"redis://{userinfo}{shown}:{port}/{self.db}"


def parse_sentinel_url(url: str) -> SentinelUrl | None:
    """The sentinels, service and database of a ``redis+sentinel://`` URL; None for any other
    scheme (a single server: redis-py reads it). Raises ``RedisUrlError`` when a sentinel URL is
    malformed, so a service stops at start, naming the problem, rather than at its first call."""
    parts = urlsplit(url)
    if parts.scheme != SENTINEL_SCHEME:
        return None
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username, password = _credentials(userinfo) if userinfo else (None, None)
    sentinels = tuple(_address(entry) for entry in hosts.split(","))
    segments = [unquote(s) for s in parts.path.split("/")[1:]]
    shown = without_password(url)
    if not segments or not segments[0]:
        raise RedisUrlError(
            f"{shown}: no service name (redis+sentinel://host:port,.../<service-name>/<db>)"
        )
    if len(segments) > 2:
        raise RedisUrlError(f"{shown}: expected /<service-name>/<db> after the sentinels")
    db = 0
    if len(segments) == 2 and segments[1] != "":
        if not segments[1].isdigit():
            raise RedisUrlError(f"{shown}: the database {segments[1]!r} is not a number")
        db = int(segments[1])
    if parts.query or parts.fragment:
        raise RedisUrlError(f"{shown}: a sentinel URL takes no query or fragment")
    return SentinelUrl(sentinels, segments[0], db, username, password)


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    user, colon, password = userinfo.partition(":")
    return (unquote(user) or None, unquote(password) if colon else None)


def _address(entry: str) -> tuple[str, int]:
    entry = entry.strip()
    if entry.startswith("["):  # [IPv6]:port
        host, _, rest = entry[1:].partition("]")
        port_text = rest.removeprefix(":")
    else:
        host, _, port_text = entry.partition(":")
    if not host:
        raise RedisUrlError(f"a sentinel address without a host: {entry!r}")
    if not port_text:
        return host, SENTINEL_DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise RedisUrlError(f"sentinel {entry!r}: {port_text!r} is not a port")
    return host, int(port_text)
