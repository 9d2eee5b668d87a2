"""How many errors an answer lists (contract section 3), what a body may hold before it is read,
and the input rules that have no place in a report table: subscription URLs, trusted proxies."""

from __future__ import annotations

import functools
import json

import pytest
from pydantic import ValidationError

from services.ingest.census import crowded_body, strings_at_least
from services.ingest.errors import MAX_ERRORS, ErrorItem, ErrorList
from shared.settings import parse_trusted_proxies
from shared.wire_alerts import SubscriptionRequest, masked_url

# Error lists -------------------------------------------------------------------------------------


def test_up_to_100_errors_are_listed_as_found() -> None:
    errors = ErrorList(ErrorItem(["body", i], "bad", f"#{i}") for i in range(MAX_ERRORS))
    assert [e.message for e in errors.listed()] == [f"#{i}" for i in range(MAX_ERRORS)]


def test_past_100_errors_the_100th_entry_says_how_many_there_were() -> None:
    errors = ErrorList()
    built: list[int] = []

    def message(i: int) -> str:
        built.append(i)
        return f"#{i}"

    for i in range(250_000):
        errors.add(["body", i], "bad", functools.partial(message, i))
    listed = errors.listed()
    assert len(listed) == MAX_ERRORS and len(errors) == 250_000
    assert [e.message for e in listed[:-1]] == [f"#{i}" for i in range(MAX_ERRORS - 1)]
    assert listed[-1] == ErrorItem(
        ["body"],
        "too_many_errors",
        "250,000 errors in all, the first 99 listed; nothing was stored",
    )
    assert len(built) == MAX_ERRORS  # no message was built for the others


def test_counted_errors_end_the_listing_so_the_listed_ones_stay_the_first() -> None:
    errors = ErrorList([ErrorItem(["body"], "a", "first")])
    errors.count(5)
    errors.add(["body"], "b", "after the counted ones")
    assert [e.code for e in errors.listed()] == ["a", "too_many_errors"]
    assert errors.listed()[-1].message.startswith("7 errors in all, the first 1 listed")


# The census of a body ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "at_least"),
    [
        ('{"a": "b"}', 2),
        ('{"a": "say \\"hi\\""}', 2),
        ('{"a\\\\": 1}', 0),  # a name ending in a backslash: undercounted, never overcounted
        ("[1, 2, 3]", 0),
    ],
)
def test_the_census_never_counts_more_strings_than_a_body_holds(text: str, at_least: int) -> None:
    json.loads(text)
    assert strings_at_least(text.encode()) == at_least


def test_a_body_with_more_strings_than_its_kind_allows_plus_the_error_cap_is_refused() -> None:
    def body(strings: int) -> bytes:
        return json.dumps({f"k{i}": 0 for i in range(strings)}).encode()

    assert crowded_body(body(10 + MAX_ERRORS), 10, "a thing") is None
    refusal = crowded_body(body(11 + MAX_ERRORS), 10, "a thing", " (a, b)")
    assert refusal is not None and refusal.status == 422
    [error] = refusal.errors
    assert (error.loc, error.code) == (["body"], "too_many_strings")
    assert "111 JSON strings" in error.message and "at most 10 (a, b)" in error.message


# Subscription URLs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["http://a..b/", f"https://{'a' * 64}.example/", "http://.example/", f"http://{'a.' * 127}b/"],
    ids=["empty label", "64-letter label", "leading dot", "name over 253"],
)
def test_a_host_dns_cannot_carry_is_refused_at_the_url(url: str) -> None:
    with pytest.raises(ValidationError) as refused:
        SubscriptionRequest.model_validate({"url": url, "secret": "s" * 16})
    [error] = refused.value.errors()
    assert (error["loc"], error["type"]) == (("url",), "invalid_host")


@pytest.mark.parametrize(
    "url",
    [
        f"https://{'a' * 63}.example/",
        "http://hooks.example./x",
        "http://[::1]:8080/",
        "http://1.2.3.4",
    ],
)
def test_hosts_within_dns_limits_and_addresses_are_accepted(url: str) -> None:
    SubscriptionRequest.model_validate({"url": url, "secret": "s" * 16})


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example/pacer", "https://hooks.example/pacer"),
        ("https://user:pw@hooks.example:8443/p?token=abc", "https://***@hooks.example:8443/p?***"),
        ("https://token@hooks.example/p#frag", "https://***@hooks.example/p#***"),
        ("http://[::1]:8080/hook?k=v", "http://[::1]:8080/hook?***"),
    ],
)
def test_the_api_shows_urls_without_credentials_or_query(url: str, shown: str) -> None:
    assert masked_url(url) == shown


# Trusted proxies ---------------------------------------------------------------------------------


def test_trusted_proxies_are_addresses_and_networks() -> None:
    assert parse_trusted_proxies("") == ()
    assert parse_trusted_proxies(" 10.0.0.5, 10.1.2.3/16 ,::1") == (
        "10.0.0.5/32",
        "10.1.0.0/16",
        "::1/128",
    )


@pytest.mark.parametrize("spec", ["*", "proxy.internal", "10.0.0.0/33"])
def test_a_trusted_proxy_that_is_not_an_address_stops_the_service(spec: str) -> None:
    with pytest.raises(ValueError, match="not an address or a CIDR"):
        parse_trusted_proxies(spec)
