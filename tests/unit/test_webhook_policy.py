"""Which webhook destinations are refused (SSRF), without resolving anything."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError

from shared.settings import Settings
from shared.webhook_policy import AllowList, refusal

NOTHING_ALLOWED = AllowList()


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.9.9.9", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.10", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("fe80::1", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
        ("64:ff9b::a00:1", "private"),  # NAT64 around 10.0.0.1
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "private"),  # reserved (Python counts 240/4 as private too)
        ("255.255.255.255", "private"),
        ("192.0.2.10", "private"),  # documentation range
        ("198.18.0.1", "private"),  # benchmarking range
    ],
)
def test_an_internal_address_is_refused_with_its_kind_named(address: str, kind: str) -> None:
    reason = refusal("hooks.example.org", [address], NOTHING_ALLOWED)
    assert reason is not None
    assert f"a {kind} address" in reason and "PACER_WEBHOOK_ALLOWED_HOSTS" in reason


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700::6810:84e5"])
def test_a_public_address_is_allowed(address: str) -> None:
    assert refusal("hooks.example.org", [address], NOTHING_ALLOWED) is None


def test_one_internal_address_among_public_ones_is_enough_to_refuse() -> None:
    assert refusal("hooks.example.org", ["8.8.8.8", "10.0.0.5"], NOTHING_ALLOWED) is not None


def test_a_name_that_resolves_to_nothing_is_refused() -> None:
    assert refusal("hooks.example.org", [], NOTHING_ALLOWED) == (
        "hooks.example.org resolves to no address"
    )


def test_a_scoped_ipv6_address_is_judged_without_its_zone() -> None:
    assert refusal("hooks.example.org", ["fe80::1%eth0"], NOTHING_ALLOWED) is not None


def test_the_allow_list_admits_listed_names_addresses_and_networks() -> None:
    allowed = AllowList.parse(" 127.0.0.1, Alerts.Internal. ,10.0.0.0/8,[::1]")
    assert refusal("127.0.0.1", ["127.0.0.1"], allowed) is None
    assert refusal("alerts.internal", ["192.168.7.7"], allowed) is None  # by name
    assert refusal("ALERTS.internal.", ["192.168.7.7"], allowed) is None
    assert refusal("build.corp", ["10.20.30.40"], allowed) is None  # by network
    assert refusal("[::1]", ["::1"], allowed) is None
    # What is not listed stays refused.
    assert refusal("localhost", ["127.0.0.2"], allowed) is not None
    assert refusal("other.internal", ["192.168.7.7"], allowed) is not None


def test_an_allowed_name_does_not_admit_its_address_under_another_name() -> None:
    allowed = AllowList.parse("alerts.internal")
    assert refusal("rebound.example.org", ["192.168.7.7"], allowed) is not None


@pytest.mark.parametrize("spec", ["10.0.0.0/33", "hooks/x", "a b", "http://x"])
def test_a_malformed_allow_list_entry_is_an_error(spec: str) -> None:
    with pytest.raises(ValueError, match="neither a host name nor an address"):
        AllowList.parse(spec)


def test_an_empty_allow_list_allows_nothing_internal() -> None:
    assert AllowList.parse("") == AllowList()
    assert AllowList.parse(" , ") == AllowList()


def test_a_malformed_pacer_webhook_allowed_hosts_stops_the_services_at_start() -> None:
    with pytest.raises(ValidationError, match="neither a host name nor an address"):
        Settings(webhook_allowed_hosts="127.0.0.1, 10.0.0.0/33")
    assert Settings(webhook_allowed_hosts="127.0.0.1").webhook_allow_list.allows_address(
        ipaddress.ip_address("127.0.0.1")
    )
