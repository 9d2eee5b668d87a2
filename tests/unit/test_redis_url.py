"""``PACER_REDIS_URL`` naming Redis Sentinels (contract section 2), read in one place."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.cli import supervisor
from services.cli.supervisor import Supervised
from shared.settings import Settings
from shared.store.redis_url import RedisUrlError, SentinelUrl, parse_sentinel_url
from shared.store.replication import WAIT_TIMEOUT_MS, ReplicaQuorum


@pytest.mark.parametrize(
    "url",
    ["redis://127.0.0.1:6379/0", "rediss://cache.example:6380/2", "unix:///run/redis.sock?db=1"],
)
def test_a_single_server_url_is_left_to_redis_py(url: str) -> None:
    assert parse_sentinel_url(url) is None


def test_a_sentinel_url_names_every_sentinel_the_service_and_the_database() -> None:
    parsed = parse_sentinel_url("redis+sentinel://s1:26379,s2:26380,10.0.0.3:26381/pacer/2")
    assert parsed == SentinelUrl(
        sentinels=(("s1", 26379), ("s2", 26380), ("10.0.0.3", 26381)), service_name="pacer", db=2
    )


def test_a_sentinel_without_a_port_is_on_sentinels_default_and_the_database_defaults_to_0() -> None:
    parsed = parse_sentinel_url("redis+sentinel://sentinel-1,sentinel-2:26379/pacer")
    assert parsed is not None
    assert parsed.sentinels == (("sentinel-1", 26379), ("sentinel-2", 26379))
    assert parsed.db == 0


def test_the_credentials_are_the_data_nodes_and_reach_the_brokers_server_url() -> None:
    parsed = parse_sentinel_url("redis+sentinel://:s%40cret@s1:26379,s2:26379/pacer/1")
    assert parsed is not None
    assert (parsed.username, parsed.password) == (None, "s@cret")
    assert parsed.server_url() == "redis://:s@cret@s1:26379/1"
    named = parse_sentinel_url("redis+sentinel://pacer:pw@s1/pacer/0")
    assert named is not None and (named.username, named.password) == ("pacer", "pw")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis+sentinel://s1:26379", "no service name"),
        ("redis+sentinel://s1:26379/", "no service name"),
        ("redis+sentinel://s1:26379/pacer/zero", "not a number"),
        ("redis+sentinel://s1:26379/pacer/0/extra", "expected /<service-name>/<db>"),
        ("redis+sentinel://s1:port/pacer/0", "is not a port"),
        ("redis+sentinel://s1:70000/pacer/0", "is not a port"),
        ("redis+sentinel://s1:26379,/pacer/0", "without a host"),
        ("redis+sentinel://s1:26379/pacer/0?ssl=true", "no query"),
    ],
)
def test_a_malformed_sentinel_url_is_refused_naming_the_problem(url: str, problem: str) -> None:
    with pytest.raises(RedisUrlError, match=problem):
        parse_sentinel_url(url)


def test_settings_refuse_a_malformed_sentinel_url_at_start() -> None:
    with pytest.raises(ValidationError, match="no service name") as raised:
        Settings(redis_url="redis+sentinel://:hunter2@s1:26379")
    # Our message hides the password (pydantic's input_value still shows the input).
    assert "hunter2" not in str(raised.value.errors()[0]["msg"])
    assert Settings(redis_url="redis+sentinel://s1,s2,s3/pacer/0").redis_min_replicas == 0


def test_min_replicas_cannot_be_negative(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PACER_REDIS_MIN_REPLICAS", "-1")
    with pytest.raises(ValidationError, match="redis_min_replicas"):
        Settings()
    monkeypatch.setenv("PACER_REDIS_MIN_REPLICAS", "1")
    assert Settings().redis_min_replicas == 1


def test_the_wait_answers_before_the_client_socket_gives_up() -> None:
    assert ReplicaQuorum.for_client(1, 1.5) == ReplicaQuorum(1, WAIT_TIMEOUT_MS)
    assert ReplicaQuorum.for_client(1, 0.4).timeout_ms == 200
    assert not ReplicaQuorum.for_client(0, 1.5).required
    assert ReplicaQuorum(2).met_by(2) and not ReplicaQuorum(2).met_by(1)
    assert not ReplicaQuorum(1).met_by(None)


def test_pacer_up_on_sentinels_starts_no_redis_of_its_own_and_hides_the_password(
    tmp_path: Path,
) -> None:
    """``pacer up`` hands a given URL to every service as it is (each follows the primary) and
    prints it without its password; only without PACER_REDIS_URL does it start a Redis."""
    url = "redis+sentinel://:hunter2@s1:26379,s2:26379,s3:26379/pacer/0"
    children: list[Supervised] = []
    given, banner = supervisor._redis(Settings(redis_url=url), tmp_path, children)
    assert given == url
    assert children == []
    assert banner == "redis+sentinel://:***@s1:26379,s2:26379,s3:26379/pacer/0 (PACER_REDIS_URL)"
