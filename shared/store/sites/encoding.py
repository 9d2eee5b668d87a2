"""How a site is stored: the v1 text record and the compact v2 value (pure Python, no Redis).

v1 (Pacer up to December 2026): ``names.city_sites_key(city)`` hash site_id ->
``"<version>\\t<record>"`` with version ``"<as_of>/<15-digit ms>-<10-digit seq>"`` and record
``v1_record(site)`` (tab-separated status, commissioned_on, operator, repr(lat), repr(lon),
district, band), plus ``names.SITE_OWNER_KEY`` site_id -> city. 259-280 B of Redis per site.

v2 (compact): one field per site in a bucket hash ``names.site_bucket_key(bucket_of(site_id))``,
value ``<owner><version><record>``, every part printable ASCII so Lua compares them as strings:

- owner: the owning city's id, 2 base-62 characters (``names.SITE_CITY_IDS_KEY`` holds the ids);
- version: 13 characters, as_of (days since 2019-01-01, 3), stream entry ms (7) and sequence (3),
  each fixed-width base-62 in ASCII order, so comparing versions as strings orders them as v1's
  text did (as_of, then arrival);
- record: status (``i``/``d``), commissioned_on (days, 3), operator (1), lat, lon, then the
  district's and the band's ids in the city's word dictionary (``names.city_site_words_key``),
  comma-separated, empty when absent. A coordinate is 4 characters of micro-degrees above the
  bounding box's corner when it has at most 6 decimals (what survey data and every test holds),
  else ``~`` and its IEEE-754 bits (12 characters): either way it decodes to the very float the
  report sent, so "unchanged" means what it meant in v1 (equal text of ``repr``).

A bench site (17-character id) is about 31 B of value and 19 B of field in a listpack.
"""

from __future__ import annotations

import functools
import struct
import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from shared.wire import EARLIEST_DAY, SHANDONG_LAT, SHANDONG_LON, Site

BUCKETS = 0x10000
"""Bucket hashes. At the national scale (4,000,100 sites) a bucket holds 61 sites on average and
under 100 at worst, below Redis 7.0's default ``hash-max-listpack-entries`` (128), so every
bucket stays a listpack; past ~6 M sites the fullest buckets would turn into hashtables (more
memory, same answers)."""

_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
"""Base 62 in ASCII order: fixed-width numbers compare as strings the way they compare as
numbers."""
_VALUE = {c: i for i, c in enumerate(_DIGITS)}

STATUS_CODES = {"in_service": "i", "decommissioned": "d"}
OPERATOR_CODES = {
    "china_mobile": "m",
    "china_unicom": "u",
    "china_telecom": "t",
    "china_broadnet": "b",
}
_STATUS_NAMES = {code: name for name, code in STATUS_CODES.items()}
_OPERATOR_NAMES = {code: name for name, code in OPERATOR_CODES.items()}

OWNER_WIDTH = 2
VERSION_WIDTH = 13
RECORD_AT = OWNER_WIDTH + VERSION_WIDTH
_DAY_WIDTH, _MILLIS_WIDTH, _SEQUENCE_WIDTH = 3, 7, 3
_MICRO = 1_000_000
_LAT_FLOOR = round(SHANDONG_LAT[0] * _MICRO)
_LON_FLOOR = round(SHANDONG_LON[0] * _MICRO)
_FIXED_WIDTH = 4
_EXACT_MARK = "~"
_EXACT_WIDTH = 1 + 11


def base62(number: int, width: int = 1) -> str:
    if number < 0:
        raise ValueError(f"{number} is negative")
    digits = []
    while True:
        number, digit = divmod(number, 62)
        digits.append(_DIGITS[digit])
        if not number:
            break
    text = "".join(reversed(digits))
    if len(text) > width:
        if width == 1:  # variable width (ids)
            return text
        raise ValueError(f"{text!r} does not fit {width} base-62 characters")
    return text.rjust(width, "0")


def from_base62(text: str) -> int:
    number = 0
    for char in text:
        number = number * 62 + _VALUE[char]
    return number


def bucket_of(site_id: str) -> int:
    """The bucket of a site id: stable across processes and versions (``hash()`` is salted)."""
    return zlib.crc32(site_id.encode()) & (BUCKETS - 1)


def day_number(day: date) -> int:
    return (day - EARLIEST_DAY).days


def day_of(number: int) -> date:
    return EARLIEST_DAY + timedelta(days=number)


def compact_version(as_of: date, entry_id: str) -> str:
    """The v2 version of a site written by the report ``as_of`` in stream entry ``entry_id``."""
    millis, _, sequence = entry_id.partition("-")
    return (
        base62(day_number(as_of), _DAY_WIDTH)
        + base62(int(millis), _MILLIS_WIDTH)
        + base62(int(sequence or 0), _SEQUENCE_WIDTH)
    )


def preview_version(as_of: date) -> str:
    """A version later than every stored one of the same as_of: a report applied now would get a
    newer stream entry than any applied before it."""
    return base62(day_number(as_of), _DAY_WIDTH) + "z" * (_MILLIS_WIDTH + _SEQUENCE_WIDTH)


def v1_version(version: str) -> str:
    """The v1 text of a v2 version (what v1 stored and compared)."""
    as_of = day_of(from_base62(version[:_DAY_WIDTH]))
    millis = from_base62(version[_DAY_WIDTH : _DAY_WIDTH + _MILLIS_WIDTH])
    sequence = from_base62(version[_DAY_WIDTH + _MILLIS_WIDTH :])
    return f"{as_of.isoformat()}/{millis:015d}-{sequence:010d}"


@functools.lru_cache(maxsize=65536)
def version_from_v1(text: str) -> str:
    """The v2 version of a v1 one (a report's sites share theirs: cached)."""
    as_of, _, entry = text.partition("/")
    millis, _, sequence = entry.partition("-")
    return compact_version(date.fromisoformat(as_of), f"{int(millis)}-{int(sequence or 0)}")


_PAIRS = tuple(a + b for a in _DIGITS for b in _DIGITS)
"""Every 2-character base-62 number: a coordinate is two look-ups (the aggregator encodes
10,000 sites per report)."""


def _coordinate(value: float, floor: int) -> str:
    micro = round(value * _MICRO)
    # int / float divides the exact values and rounds once, as parsing "<micro>e-6" does
    if micro / _MICRO == value and floor <= micro < floor + 62**_FIXED_WIDTH:
        high, low = divmod(micro - floor, 62 * 62)
        return _PAIRS[high] + _PAIRS[low]
    (bits,) = struct.unpack(">Q", struct.pack(">d", value))
    return _EXACT_MARK + base62(bits, _EXACT_WIDTH - 1)


def _coordinate_value(text: str, floor: int) -> float:
    if text.startswith(_EXACT_MARK):
        (value,) = struct.unpack(">d", struct.pack(">Q", from_base62(text[1:])))
        return float(value)
    return float(f"{from_base62(text) + floor}e-6")


def _take_coordinate(text: str, at: int) -> tuple[str, int]:
    width = _EXACT_WIDTH if text[at] == _EXACT_MARK else _FIXED_WIDTH
    return text[at : at + width], at + width


@functools.lru_cache(maxsize=4096)
def _core_head(status: str, commissioned_on: date, operator: str) -> str:
    """The record's first 5 characters: a report's sites share a few of them."""
    return (
        STATUS_CODES[status]
        + base62(day_number(commissioned_on), _DAY_WIDTH)
        + OPERATOR_CODES[operator]
    )


def site_core(status: str, commissioned_on: date, operator: str, lat: float, lon: float) -> str:
    """A v2 record up to its words (which the city's dictionary turns into ids)."""
    return (
        _core_head(status, commissioned_on, operator)
        + _coordinate(lat, _LAT_FLOOR)
        + _coordinate(lon, _LON_FLOOR)
    )


class _Facts(Protocol):
    """What a v1 record holds: a wire ``Site`` or a ``SiteFacts``."""

    @property
    def status(self) -> str: ...
    @property
    def commissioned_on(self) -> date: ...
    @property
    def operator(self) -> str: ...
    @property
    def lat(self) -> float: ...
    @property
    def lon(self) -> float: ...
    @property
    def district(self) -> str | None: ...
    @property
    def band(self) -> str | None: ...


def v1_record(site: _Facts) -> str:
    """A site's facts as v1 Pacer stored them (tab-separated, compared as a whole): what the
    migration reads and writes back, and what the bulk benchmark's baseline writes."""
    return "\t".join(
        [
            site.status,
            site.commissioned_on.isoformat(),
            site.operator,
            repr(site.lat),
            repr(site.lon),
            site.district or "",
            site.band or "",
        ]
    )


@dataclass(frozen=True)
class SiteFacts:
    """A site's facts as a report states them (the wire ``Site`` without its id)."""

    status: str
    commissioned_on: date
    operator: str
    lat: float
    lon: float
    district: str | None
    band: str | None

    @classmethod
    def of(cls, site: Site) -> SiteFacts:
        return cls(
            site.status,
            site.commissioned_on,
            site.operator,
            site.lat,
            site.lon,
            site.district,
            site.band,
        )

    def v1_record(self) -> str:
        """v1's stored record of these facts."""
        return v1_record(self)

    @classmethod
    def from_v1_record(cls, record: str) -> SiteFacts:
        status, day, operator, lat, lon, district, band = record.split("\t")
        return cls(
            status,
            date.fromisoformat(day),
            operator,
            float(lat),
            float(lon),
            district or None,
            band or None,
        )

    def core(self) -> str:
        return site_core(self.status, self.commissioned_on, self.operator, self.lat, self.lon)


@dataclass(frozen=True)
class StoredSite:
    """One v2 value, decoded: the owner's city id, the version and (unless the site is only
    claimed) the record with its word ids."""

    owner_id: str
    version: str
    core: str
    district_id: str
    band_id: str

    @classmethod
    def decode(cls, value: str) -> StoredSite:
        owner, version = value[:OWNER_WIDTH], value[OWNER_WIDTH:RECORD_AT]
        record = value[RECORD_AT:]
        if not record:
            return cls(owner, version, "", "", "")
        _, at = _take_coordinate(record, 5)
        _, at = _take_coordinate(record, at)
        district_id, _, band_id = record[at:].partition(",")
        return cls(owner, version, record[:at], district_id, band_id)

    def facts(self, words: dict[str, str]) -> SiteFacts | None:
        """``words``: the owner's dictionary, id -> text."""
        if not self.core:
            return None
        lat, at = _take_coordinate(self.core, 5)
        lon, _ = _take_coordinate(self.core, at)
        return SiteFacts(
            _STATUS_NAMES[self.core[0]],
            day_of(from_base62(self.core[1:4])),
            _OPERATOR_NAMES[self.core[4]],
            _coordinate_value(lat, _LAT_FLOOR),
            _coordinate_value(lon, _LON_FLOOR),
            words[self.district_id] if self.district_id else None,
            words[self.band_id] if self.band_id else None,
        )


def encode_record(core: str, district_id: str, band_id: str) -> str:
    return f"{core}{district_id},{band_id}"
