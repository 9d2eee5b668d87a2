"""The token bucket behind the per-token rate limit, on a clock the test moves (no sleeping)."""

from __future__ import annotations

import pytest

from services.ingest.ratelimit import Decision, TokenBuckets


def spend(buckets: TokenBuckets, key: str, times: int, now: float) -> list[bool]:
    return [buckets.take(key, now).allowed for _ in range(times)]


def test_a_burst_up_to_the_bucket_size_is_allowed_at_once_and_the_next_is_refused() -> None:
    buckets = TokenBuckets(rate=2.0, burst=5)
    assert spend(buckets, "jinan", 5, now=100.0) == [True] * 5
    refused = buckets.take("jinan", 100.0)
    assert not refused.allowed
    assert refused.retry_after_s == pytest.approx(0.5)  # one token at 2 per second


def test_the_bucket_refills_at_the_sustained_rate() -> None:
    buckets = TokenBuckets(rate=2.0, burst=5)
    spend(buckets, "jinan", 5, now=0.0)
    assert buckets.take("jinan", 0.49).allowed is False
    assert buckets.take("jinan", 0.5).allowed is True  # the refusal above spent nothing
    assert buckets.take("jinan", 0.5).allowed is False
    assert spend(buckets, "jinan", 3, now=2.0) == [True, True, True]


def test_an_idle_bucket_refills_no_further_than_the_burst() -> None:
    buckets = TokenBuckets(rate=10.0, burst=3)
    buckets.take("jinan", 0.0)
    assert spend(buckets, "jinan", 4, now=3600.0) == [True, True, True, False]


def test_each_caller_has_its_own_bucket() -> None:
    buckets = TokenBuckets(rate=1.0, burst=2)
    assert spend(buckets, "jinan", 3, now=0.0) == [True, True, False]
    assert spend(buckets, "qingdao", 2, now=0.0) == [True, True]


def test_sustained_traffic_at_the_rate_is_never_refused() -> None:
    buckets = TokenBuckets(rate=20.0, burst=1)
    assert all(buckets.take("jinan", i / 20.0).allowed for i in range(1000))


def test_a_clock_going_backwards_refills_nothing() -> None:
    buckets = TokenBuckets(rate=1.0, burst=1)
    assert buckets.take("jinan", 10.0).allowed
    assert not buckets.take("jinan", 5.0).allowed
    assert not buckets.take("jinan", 10.5).allowed


@pytest.mark.parametrize(
    ("seconds", "header"), [(0.001, "1"), (0.5, "1"), (1.0, "1"), (1.01, "2"), (59.2, "60")]
)
def test_retry_after_is_whole_seconds_and_at_least_one(seconds: float, header: str) -> None:
    assert Decision(False, seconds).retry_after_header == header


def test_memory_stays_bounded_when_many_callers_come_and_go() -> None:
    buckets = TokenBuckets(rate=1.0, burst=5, max_keys=100)
    for i in range(1000):
        buckets.take(f"address:10.0.{i // 256}.{i % 256}", now=i * 0.01)
    assert len(buckets) <= 100


def test_forgetting_full_buckets_changes_nothing_for_their_callers() -> None:
    buckets = TokenBuckets(rate=1.0, burst=2, max_keys=10)
    spend(buckets, "jinan", 2, now=0.0)
    buckets.prune(now=1.0)  # jinan has 1 of 2 tokens back: kept, still partly spent
    assert spend(buckets, "jinan", 2, now=1.0) == [True, False]
    buckets.prune(now=10.0)
    assert len(buckets) == 0
    assert spend(buckets, "jinan", 3, now=10.0) == [True, True, False]


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 10), (-1.0, 10), (1.0, 0)])
def test_a_bucket_without_rate_or_burst_is_a_configuration_error(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        TokenBuckets(rate=rate, burst=burst)
